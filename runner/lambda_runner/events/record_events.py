"""Events of storage, queues, streams, schedules and Alexa: the records a function reads in a batch.

ARNs use the region the runner pretends to be in (`account.region()`) and the local account id, so that they
agree with the names the local AWS mode creates.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

from ..account import ACCOUNT_ID, region
from ..errors import RunnerError
from .samples import FIXED_TIME, epoch_ms, iso_millis, iso_seconds, stable_id


@dataclass
class S3Object:
    """One object an S3 notification is about; `key` is the real key (the event carries it URL-encoded)."""

    bucket: str
    key: str
    size: int = 0
    etag: str = ""


def s3_key_in_event(key: str) -> str:
    """Encode a key the way S3 notifications do: spaces become `+`, `+` becomes `%2B`, slashes stay."""
    return quote_plus(key, safe="/")


def s3_event(
    objects: Sequence[S3Object], *, event_name: str = "ObjectCreated:Put", time: datetime = FIXED_TIME
) -> dict[str, Any]:
    """An S3 event notification with one record per object (deletions carry no size or ETag)."""
    records = []
    for index, obj in enumerate(objects):
        s3_object: dict[str, Any] = {"key": s3_key_in_event(obj.key)}
        if event_name.startswith("ObjectCreated"):
            s3_object["size"] = obj.size
            s3_object["eTag"] = obj.etag or hashlib.md5(obj.key.encode(), usedforsecurity=False).hexdigest()
        s3_object["sequencer"] = f"{0x0A1B2C3D4E5F678900 + index:018X}"
        records.append(
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region(),
                "eventTime": iso_millis(time),
                "eventName": event_name,
                "userIdentity": {"principalId": "AWS:AIDAEXAMPLELOCALUSER"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": stable_id("s3", obj.bucket, obj.key).replace("-", "")[:16].upper(),
                    "x-amz-id-2": base64.b64encode(hashlib.sha256(obj.key.encode()).digest()).decode(),
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "local-notification",
                    "bucket": {
                        "name": obj.bucket,
                        "ownerIdentity": {"principalId": "A3LOCALOWNER"},
                        "arn": f"arn:aws:s3:::{obj.bucket}",
                    },
                    "object": s3_object,
                },
            }
        )
    return {"Records": records}


def sqs_event(queue: str, bodies: Sequence[str], *, time: datetime = FIXED_TIME) -> dict[str, Any]:
    """An SQS batch, one record per body; a `.fifo` queue adds the group, deduplication and sequence numbers."""
    sent = epoch_ms(time)
    records = []
    for index, body in enumerate(bodies):
        message_id = stable_id("sqs", queue, index)
        attributes = {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(sent + index),
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": str(sent + index + 2),
        }
        if queue.endswith(".fifo"):
            attributes["SequenceNumber"] = str(18849496460467696128 + index)
            attributes["MessageGroupId"] = "1"
            attributes["MessageDeduplicationId"] = hashlib.sha256(f"{index}:{body}".encode()).hexdigest()
        records.append(
            {
                "messageId": message_id,
                "receiptHandle": "AQEB" + base64.b64encode(f"{queue}:{message_id}".encode()).decode(),
                "body": body,
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{region()}:{ACCOUNT_ID}:{queue}",
                "awsRegion": region(),
            }
        )
    return {"Records": records}


def kinesis_event(
    stream: str, payloads: Sequence[bytes], *, partition_key: str = "1", time: datetime = FIXED_TIME
) -> dict[str, Any]:
    """A Kinesis Data Streams batch; each record's `data` is the base64 of its payload, as Lambda delivers it."""
    records = []
    for index, payload in enumerate(payloads):
        sequence = str(49590338271490256608559692538361571095921575989136588898 + index)
        records.append(
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": partition_key,
                    "sequenceNumber": sequence,
                    "data": base64.b64encode(payload).decode("ascii"),
                    "approximateArrivalTimestamp": round(time.timestamp() + index / 1000, 3),
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"shardId-000000000000:{sequence}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT_ID}:role/lambda-role",
                "awsRegion": region(),
                "eventSourceARN": f"arn:aws:kinesis:{region()}:{ACCOUNT_ID}:stream/{stream}",
            }
        )
    return {"Records": records}


def to_dynamodb_json(value: Any) -> dict[str, Any]:
    """Plain JSON data in DynamoDB's typed form (`"Ada"` -> `{"S": "Ada"}`, `3` -> `{"N": "3"}`)."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, (int, float)):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list):
        return {"L": [to_dynamodb_json(item) for item in value]}
    if isinstance(value, dict):
        return {"M": {key: to_dynamodb_json(item) for key, item in value.items()}}
    raise RunnerError(f"cannot express {value!r} as a DynamoDB attribute value")


_DYNAMODB_NAMES = {"insert": "INSERT", "modify": "MODIFY", "remove": "REMOVE"}


def dynamodb_event(
    table: str,
    change: str,
    keys: Mapping[str, Any],
    new_image: Mapping[str, Any] | None,
    old_image: Mapping[str, Any] | None,
    *,
    view_type: str = "NEW_AND_OLD_IMAGES",
    time: datetime = FIXED_TIME,
) -> dict[str, Any]:
    """A DynamoDB Streams record for an `insert`, `modify` or `remove` (images hold the keys too, as in AWS)."""
    record: dict[str, Any] = {"ApproximateCreationDateTime": int(time.timestamp())}
    record["Keys"] = {key: to_dynamodb_json(value) for key, value in keys.items()}
    if new_image is not None and view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
        record["NewImage"] = {key: to_dynamodb_json(value) for key, value in {**keys, **new_image}.items()}
    if old_image is not None and view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        record["OldImage"] = {key: to_dynamodb_json(value) for key, value in {**keys, **old_image}.items()}
    record["SequenceNumber"] = "111100000000000000000001"
    record["SizeBytes"] = len(json.dumps([record.get("Keys"), record.get("NewImage"), record.get("OldImage")]))
    record["StreamViewType"] = view_type
    stream_label = iso_millis(time).rstrip("Z")
    return {
        "Records": [
            {
                "eventID": stable_id("dynamodb", table, change).replace("-", ""),
                "eventName": _DYNAMODB_NAMES[change],
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": region(),
                "dynamodb": record,
                "eventSourceARN": f"arn:aws:dynamodb:{region()}:{ACCOUNT_ID}:table/{table}/stream/{stream_label}",
            }
        ]
    }


def eventbridge_event(
    source: str, detail_type: str, detail: Any, *, resources: Sequence[str] = (), time: datetime = FIXED_TIME
) -> dict[str, Any]:
    """An EventBridge event as a rule target receives it (scheduled rules use `aws.events`/`Scheduled Event`)."""
    return {
        "version": "0",
        "id": stable_id("eventbridge", source, detail_type),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT_ID,
        "time": iso_seconds(time),
        "region": region(),
        "resources": list(resources),
        "detail": detail,
    }


def sns_event(topic: str, message: str, subject: str | None, *, time: datetime = FIXED_TIME) -> dict[str, Any]:
    """An SNS notification delivered to a subscribed function."""
    topic_arn = f"arn:aws:sns:{region()}:{ACCOUNT_ID}:{topic}"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:{stable_id('sns-subscription', topic)}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": stable_id("sns", topic, message),
                    "TopicArn": topic_arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": iso_millis(time),
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": f"https://sns.{region()}.amazonaws.com/SimpleNotificationService-local.pem",
                    "UnsubscribeUrl": f"https://sns.{region()}.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }
