"""`invoke --local-aws --send FILE`: the runner plays Lambda's event source mapping for an SQS queue.

Each non-empty line of FILE becomes a message in the queue the function's `SQS` event reads (template.yaml). The
runner then polls that queue as Lambda does: it receives up to the event's BatchSize messages, invokes the function
with them as an SQS event, and deletes the messages that succeeded: all of them when the invocation succeeds and
the event has no `FunctionResponseTypes: [ReportBatchItemFailures]`, else those not listed in the response's
`batchItemFailures`; none when the invocation fails. It goes on until no message is visible. Failed messages stay
in the queue, invisible for its visibility timeout, as on AWS, and the exit report lists them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..account import ACCOUNT_ID, region
from ..config.template import FunctionConfig, Resolver
from ..errors import RunnerError

_RECEIVE_MAX = 10  # messages per ReceiveMessage call, SQS's limit


class SqsSource:
    """The queue a function's SQS event reads, and how Lambda batches it."""

    __slots__ = ("batch_size", "partial", "queue")

    def __init__(self, queue: str, batch_size: int, partial: bool) -> None:
        self.queue = queue
        self.batch_size = batch_size
        self.partial = partial


def sqs_source(function: FunctionConfig, resolver: Resolver) -> SqsSource:
    """The function's (first) SQS event source from template.yaml."""
    for event in function.events.values():
        if isinstance(event, dict) and event.get("Type") == "SQS":
            props = event.get("Properties") or {}
            arn = resolver.value(props.get("Queue"))
            responses = props.get("FunctionResponseTypes") or []
            return SqsSource(
                arn.rsplit(":", 1)[-1], int(props.get("BatchSize", 10)), "ReportBatchItemFailures" in responses
            )
    raise RunnerError(f"--send needs an event of Type SQS on {function.logical_id} in template.yaml")


def read_bodies(path: Path) -> list[str]:
    """One message body per non-empty line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise RunnerError(f"--send {path}: cannot read it: {exc.strerror}") from None
    bodies = [line for line in lines if line.strip()]
    if not bodies:
        raise RunnerError(f"--send {path}: no messages in it (one message body per line)")
    return bodies


class SqsPoller:
    """Sends messages to the local queue, then hands out batches in Lambda's event shape and settles them."""

    def __init__(self, sqs: Any, source: SqsSource) -> None:
        self.sqs = sqs
        self.source = source
        self.url: str = sqs.get_queue_url(QueueName=source.queue)["QueueUrl"]
        self.arn = f"arn:aws:sqs:{region()}:{ACCOUNT_ID}:{source.queue}"
        self.receipts: dict[str, str] = {}  # message id -> receipt handle, for the batch in flight

    def send(self, bodies: list[str]) -> None:
        fifo = self.source.queue.endswith(".fifo")
        for index, body in enumerate(bodies):
            options = {}
            if fifo:  # one group keeps the file's order; the deduplication id lets equal lines through
                digest = hashlib.sha256(f"{index}:{body}".encode()).hexdigest()
                options = {"MessageGroupId": "local", "MessageDeduplicationId": digest}
            self.sqs.send_message(QueueUrl=self.url, MessageBody=body, **options)

    def next_batch(self) -> dict[str, Any] | None:
        """Up to BatchSize visible messages as an SQS event, or None when the queue shows none."""
        messages: list[dict[str, Any]] = []
        while len(messages) < self.source.batch_size:
            received = self.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=min(_RECEIVE_MAX, self.source.batch_size - len(messages)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not received:
                break
            messages += received
        if not messages:
            return None
        self.receipts = {message["MessageId"]: message["ReceiptHandle"] for message in messages}
        return {"Records": [self._record(message) for message in messages]}

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in (message.get("MessageAttributes") or {}).items()
        }
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes") or {},
            "messageAttributes": attributes,
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.arn,
            "awsRegion": region(),
        }

    def settle(self, ok: bool, response: bytes | None) -> list[str]:
        """Delete what succeeded; return the ids of the messages left in the queue."""
        failed = set(self.receipts) if not ok else set()
        if ok and self.source.partial:
            failed = _reported_failures(response, set(self.receipts))
        for message_id, receipt in self.receipts.items():
            if message_id not in failed:
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=receipt)
        self.receipts = {}
        return sorted(failed)


def _reported_failures(response: bytes | None, in_batch: set[str]) -> set[str]:
    """The message ids a partial batch response reports; a malformed response fails the whole batch, as on AWS."""
    try:
        payload = json.loads(response or b"null")
    except ValueError:
        return in_batch
    if payload is None:
        return set()
    failures = payload.get("batchItemFailures") if isinstance(payload, dict) else None
    if failures is None:
        return set()
    ids = (
        {failure.get("itemIdentifier") for failure in failures if isinstance(failure, dict)}
        if isinstance(failures, list)
        else {None}
    )
    if not ids <= in_batch:  # an empty, null or unknown identifier: Lambda treats the whole batch as failed
        return in_batch
    return {identifier for identifier in ids if identifier is not None}
