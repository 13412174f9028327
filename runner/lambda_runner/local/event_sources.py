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
from datetime import datetime
from pathlib import Path
from typing import Any

from ..account import ACCOUNT_ID, region
from ..config.template import FunctionConfig, Resolver
from ..errors import RunnerError
from ..events.record_events import dynamodb_event, kinesis_event, to_dynamodb_json
from ..wording import counted

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


# --- Kinesis and DynamoDB Streams -------------------------------------------------------------------------------
# `--send FILE` on a function whose event is of Type Kinesis puts each line on the stream as one record (partition
# key `local`: one shard keeps the file's order); of Type DynamoDB it writes each line, a JSON object, as an item of
# the table whose stream the event reads. The runner then reads the stream from TRIM_HORIZON and plays Lambda's
# stream event source mapping, simplified: batches of up to BatchSize records of one shard; a successful invocation
# checkpoints past the batch, or, with ReportBatchItemFailures, just before the first (lowest) sequence number the
# response reports; a failed invocation checkpoints nothing. A batch that fails again without the checkpoint moving
# is retried up to MaximumRetryAttempts times (-1, "forever" on AWS, is capped at _FOREVER here), then its records
# are skipped and a Lambda-style invocation record naming them goes to the OnFailure SQS queue, if any.
# BisectBatchOnFunctionError, batching windows, record age and parallelization are not played. The exit status is
# 0 once the stream is read to its end (Lambda moves on too), 1 if records were skipped with no OnFailure queue.

_FOREVER = 10  # local retries for MaximumRetryAttempts: -1


class StreamSource:
    """The stream a function's Kinesis or DynamoDB event reads, and how Lambda batches and retries it."""

    __slots__ = ("batch_size", "kind", "name", "on_failure", "partial", "retries")

    def __init__(
        self, kind: str, name: str, batch_size: int, partial: bool, retries: int, on_failure: str | None
    ) -> None:
        self.kind = kind  # "Kinesis" or "DynamoDB"
        self.name = name  # the stream's name, or the table's whose stream it is
        self.batch_size = batch_size
        self.partial = partial
        self.retries = retries if retries >= 0 else _FOREVER
        self.on_failure = on_failure  # queue name


def stream_source(function: FunctionConfig, resolver: Resolver) -> StreamSource | None:
    """The function's (first) Kinesis or DynamoDB event source from template.yaml, or None if it has none."""
    for event in function.events.values():
        if isinstance(event, dict) and event.get("Type") in ("Kinesis", "DynamoDB"):
            props = event.get("Properties") or {}
            arn = resolver.value(props.get("Stream"))
            name = arn.split(":stream/", 1)[-1] if event["Type"] == "Kinesis" else arn.split(":table/", 1)[-1]
            destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
            queue = resolver.value(destination).rsplit(":", 1)[-1] if destination else None
            return StreamSource(
                event["Type"],
                name.split("/", 1)[0],
                int(props.get("BatchSize", 100)),
                "ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                int(props.get("MaximumRetryAttempts", -1)),
                queue,
            )
    return None


def _read_shards(client: Any, shards: list[dict[str, Any]], **stream: str) -> list[tuple[str, dict[str, Any]]]:
    """Every record of every shard from TRIM_HORIZON, shard after shard, in sequence order."""
    records = []
    for shard in shards:
        iterator = client.get_shard_iterator(ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON", **stream)
        iterator = iterator["ShardIterator"]
        while iterator:
            page = client.get_records(ShardIterator=iterator)
            records += [(shard["ShardId"], record) for record in page["Records"]]
            iterator = page.get("NextShardIterator") if page["Records"] else None
    return records


class StreamPoller:
    """Fills the local stream, then hands out batches in Lambda's event shape and checkpoints them."""

    def __init__(self, clients: Any, source: StreamSource) -> None:
        self.clients = clients  # an object with .kinesis, .dynamodb, .dynamodbstreams and .sqs boto3 clients
        self.source = source
        self.arn = ""
        self.records: list[tuple[str, dict[str, Any]]] = []  # (shard id, record) in reading order
        self.position = 0  # the checkpoint: index of the next record to send
        self.batch: list[tuple[str, dict[str, Any]]] = []
        self.failures = 0  # failed attempts of the batch at the checkpoint
        self.dropped: list[str] = []  # sequence numbers sent to the on-failure destination

    def send(self, lines: list[str]) -> None:
        if self.source.kind == "Kinesis":
            kinesis = self.clients.kinesis
            for line in lines:
                kinesis.put_record(StreamName=self.source.name, Data=line.encode(), PartitionKey="local")
            self.arn = kinesis.describe_stream_summary(StreamName=self.source.name)["StreamDescriptionSummary"][
                "StreamARN"
            ]
            shards = kinesis.list_shards(StreamName=self.source.name)["Shards"]
            self.records = _read_shards(kinesis, shards, StreamName=self.source.name)
            return
        for number, line in enumerate(lines, 1):
            try:
                item = json.loads(line)
            except ValueError:
                item = None
            if not isinstance(item, dict):
                raise RunnerError(f"--send: line {number} is not a JSON object (one table item per line)")
            self.clients.dynamodb.put_item(
                TableName=self.source.name, Item={key: to_dynamodb_json(value) for key, value in item.items()}
            )
        streams = self.clients.dynamodbstreams.list_streams(TableName=self.source.name)["Streams"]
        if not streams:
            raise RunnerError(f"--send: table {self.source.name} has no stream (StreamSpecification in template.yaml)")
        self.arn = streams[0]["StreamArn"]
        described = self.clients.dynamodbstreams.describe_stream(StreamArn=self.arn)["StreamDescription"]
        self.records = _read_shards(self.clients.dynamodbstreams, described["Shards"], StreamArn=self.arn)

    def next_batch(self) -> dict[str, Any] | None:
        """Up to BatchSize records of one shard from the checkpoint, as Lambda's event; None at the end."""
        if self.position >= len(self.records):
            return None
        shard = self.records[self.position][0]
        self.batch = [
            entry for entry in self.records[self.position : self.position + self.source.batch_size] if entry[0] == shard
        ]
        return {"Records": [self._record(shard, record) for shard, record in self.batch]}

    def _record(self, shard: str, record: dict[str, Any]) -> dict[str, Any]:
        if self.source.kind == "Kinesis":
            records = kinesis_event(self.source.name, [record["Data"]], partition_key=record["PartitionKey"])["Records"]
            event: dict[str, Any] = records[0]
            event["kinesis"]["sequenceNumber"] = record["SequenceNumber"]
            event["kinesis"]["approximateArrivalTimestamp"] = round(
                record["ApproximateArrivalTimestamp"].timestamp(), 3
            )
            event["eventID"] = f"{shard}:{record['SequenceNumber']}"
            event["eventSourceARN"] = self.arn
            return event
        change = record["eventName"].lower()
        event = dynamodb_event(self.source.name, change, {}, None, None)["Records"][0]
        change_record = dict(record["dynamodb"])
        created = change_record.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            change_record["ApproximateCreationDateTime"] = int(created.timestamp())
        event.update(eventID=record["eventID"], dynamodb=change_record, eventSourceARN=self.arn)
        return event

    def _sequence(self, entry: tuple[str, dict[str, Any]]) -> str:
        record = entry[1]
        return str(record["SequenceNumber"] if self.source.kind == "Kinesis" else record["dynamodb"]["SequenceNumber"])

    def settle(self, ok: bool, response: bytes | None) -> str:
        """Move the checkpoint as Lambda does; say what happened, for the log."""
        sequences = [self._sequence(entry) for entry in self.batch]
        failed = set(sequences) if not ok else set()
        if ok and self.source.partial:
            failed = _reported_failures(response, set(sequences))
        if not failed:
            self.position += len(self.batch)
            self.failures = 0
            return f"{len(sequences)} processed, checkpoint after it"
        first = min(index for index, sequence in enumerate(sequences) if sequence in failed)
        if first:
            self.position += first
            self.failures = 1
            return f"{first} processed, retrying from sequence number {sequences[first]}"
        self.failures += 1
        if self.failures <= self.source.retries:
            return f"failed (attempt {self.failures}), retrying from sequence number {sequences[0]}"
        where = self._send_to_destination(sequences)
        self.position += len(self.batch)
        self.failures = 0
        self.dropped += sequences
        return f"failed after {self.source.retries} retries: {counted(len(sequences), 'record')} skipped{where}"

    def _send_to_destination(self, sequences: list[str]) -> str:
        """An invocation record naming the skipped records, as Lambda sends to a stream's OnFailure queue."""
        if not self.source.on_failure:
            return ""
        info = "KinesisBatchInfo" if self.source.kind == "Kinesis" else "DDBStreamBatchInfo"
        record = {
            "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": self.failures},
            info: {
                "shardId": self.batch[0][0],
                "startSequenceNumber": sequences[0],
                "endSequenceNumber": sequences[-1],
                "batchSize": len(sequences),
                "streamArn": self.arn,
            },
        }
        sqs = self.clients.sqs
        url = sqs.get_queue_url(QueueName=self.source.on_failure)["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
        return f", sent to {self.source.on_failure}"
