{%- set trigger = cookiecutter.trigger -%}
{%- set queue = trigger in ('sqs', 'sqs-fifo') -%}
{%- set stream = trigger in ('kinesis', 'dynamodb') -%}
{%- set batch = queue or stream -%}
"""{{ cookiecutter.project_name }}: {{ {
    'sqs': 'processes the messages of an SQS queue',
    'sqs-fifo': 'processes the messages of an SQS FIFO queue, in order within each message group',
    'kinesis': 'processes the records of a Kinesis data stream, in order',
    'dynamodb': 'processes the changes of a DynamoDB table (DynamoDB Streams), in order',
    's3': 'processes the CSV and JSON Lines files uploaded to an S3 bucket, row by row',
    'schedule': 'runs a job on an EventBridge Scheduler schedule',
}[trigger] }}.
{% if batch %}
Lambda polls the {{ 'queue' if queue else 'stream' }} and calls `{{ cookiecutter.handler_function }}(event, context)` with a batch of records.
Each record is validated and turned into one item of the output table (`to_item`: put your own rules there).
A record that fails is reported in `batchItemFailures` (a partial batch response) and does not fail the others;
{%- if trigger == 'sqs' %}
SQS makes only the failed messages visible again, and after `maxReceiveCount` receives moves them to the
dead-letter queue.
{%- elif trigger == 'sqs-fifo' %}
the rest of its message group is reported too, unprocessed, so that a group's order is kept; other groups go on.
After `maxReceiveCount` receives SQS moves the failed messages to the dead-letter queue.
{%- else %}
the records after it are reported too, unprocessed, so that changes to one key are never applied out of order.
Lambda retries from the first failed record, splitting the batch, and after `MaximumRetryAttempts` sends a
description of what it gave up on to the on-failure queue.
{%- endif %}

Delivery is at least once, so every record is applied once: its id ({{ {'sqs': 'the message id', 'sqs-fifo': 'the message id', 'kinesis': 'the event id: shard and sequence number', 'dynamodb': 'the stream event id'}[trigger] }}) is
recorded in the idempotency table (Powertools idempotency), and a record delivered again is skipped and counted
as a duplicate. A batch in which every record fails raises `BatchProcessingError`: the invocation fails and
Lambda retries the whole batch (the `Errors` metric shows it). An empty batch, which Lambda never sends, is
answered with no failures.
{%- elif trigger == 's3' %}
S3 calls `{{ cookiecutter.handler_function }}(event, context)` asynchronously for each `.csv` or `.jsonl` object created under
SOURCE_PREFIX. The object is streamed, never read whole, so a file of any size fits in the function's memory:
each row becomes one item of the output table (`to_item`: put your own rules there), written in batches of 25.
A row that is not valid is counted, logged with its line number and reported in the result; the other rows go on.

Delivery is at least once, so a file is processed once: the object's bucket, key and sequencer (one per upload)
are recorded in the idempotency table, and an event delivered again is skipped. Rows are upserts by id, so a file
processed again after a crash mid-way (the idempotency record is then released) writes the same items again.
{%- else %}
EventBridge Scheduler invokes the function asynchronously with the schedule's JSON input, in which it has filled in
the scheduled time. Delivery is at least once (and a failed run is retried), so each scheduled time runs once: the
schedule and its scheduled time are recorded in the idempotency table, and a second delivery returns the first
run's result without running the job again. A run that fails is not recorded, so its retry runs the job.
{%- endif %}
"""

from __future__ import annotations
{% if trigger == 'kinesis' %}
import base64
import binascii
{%- endif %}
{%- if trigger == 's3' %}
import csv
import io
{%- endif %}
import json
import os
{%- if trigger == 'schedule' %}
from datetime import datetime
{%- endif %}
{%- if trigger == 's3' %}
from collections.abc import Iterator
{%- endif %}
from decimal import Decimal
from typing import Any
{%- if trigger == 's3' %}
from urllib.parse import unquote_plus
{%- endif %}

import boto3
from aws_lambda_powertools import Logger, Metrics{% if cookiecutter.tracing %}, Tracer{% endif %}
from aws_lambda_powertools.metrics import MetricUnit
{%- if batch %}
from aws_lambda_powertools.utilities.batch import (
    {%- if trigger == 'sqs-fifo' %}
    SqsFifoPartialProcessor,
    {%- else %}
    BatchProcessor,
    EventType,
    {%- endif %}
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
{%- endif %}
{%- if queue %}
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
{%- elif trigger == 'kinesis' %}
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
{%- elif trigger == 'dynamodb' %}
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
{%- endif %}
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()  # JSON lines with the request id, and the record being processed as the correlation id
metrics = Metrics()  # CloudWatch embedded metric format: namespace and service from the environment
{%- if cookiecutter.tracing %}
tracer = Tracer()  # X-Ray subsegments for the invocation, each record or file, and each AWS request (boto3 patched)
{%- endif %}

MAX_ID_LENGTH = 1024  # characters of an item id; DynamoDB allows 2048 bytes in a partition key
{%- if trigger == 's3' %}
LOGGED_BAD_ROWS = 100  # per file: enough to fix the data, without flooding the log for a file that is all bad
REPORTED_BAD_ROWS = 10  # per file, in the result
{%- endif %}

OUTPUT_TABLE = boto3.resource("dynamodb").Table(os.environ["OUTPUT_TABLE"])


class InvalidRecord(ValueError):
    """A record that can never be processed as it is: reported, never applied."""


# --- counts, published as metrics once per invocation ---------------------------------------------------------

COUNTS = {"processed": 0, "duplicate": 0, "failed": 0{% if batch %}, "skipped": 0{% endif %}}


def count_duplicate(response: Any, data_record: DataRecord) -> Any:
    """Powertools calls this when it finds a record already done: the stored result is returned as it was."""
    COUNTS["duplicate"] += 1
    logger.info("duplicate skipped", extra={"idempotency_key": data_record.idempotency_key})
    return response


def publish_counts() -> None:
    """Every count, always, so that dashboards and alarms see zeros too.
{%- if batch %}

    A skipped record did not fail: it came after a failed one{% if trigger == 'sqs-fifo' %} of its group{% endif %} and was handed back unprocessed, to keep the
    order; it is not in FailedRecords, which the alarm watches.
{%- endif %}
    """
    metrics.add_metric(name="ProcessedRecords", unit=MetricUnit.Count, value=COUNTS["processed"])
    metrics.add_metric(name="DuplicateRecords", unit=MetricUnit.Count, value=COUNTS["duplicate"])
    metrics.add_metric(name="FailedRecords", unit=MetricUnit.Count, value=COUNTS["failed"])
{%- if batch %}
    metrics.add_metric(name="SkippedRecords", unit=MetricUnit.Count, value=COUNTS["skipped"])
{%- endif %}


idempotency = IdempotencyConfig(
{%- if trigger == 'sqs' or trigger == 'sqs-fifo' %}
    event_key_jmespath="messageId",
{%- elif stream %}
    event_key_jmespath="eventID",
{%- elif trigger == 'schedule' %}
    event_key_jmespath="[schedule_arn, scheduled_time]",
{%- endif %}
    raise_on_no_idempotency_key=True,
    expires_after_seconds=int(os.environ["IDEMPOTENCY_TTL_SECONDS"]),
    response_hook=count_duplicate,
)
persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])


# --- one record: validate and transform --------------------------------------------------------------------


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number DynamoDB can store")


def parse_json(text: str | bytes) -> Any:
    """JSON with decimals kept exact (DynamoDB stores numbers as decimals, and refuses floats, NaN and Infinity)."""
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError) as exc:  # json.JSONDecodeError is a ValueError
        raise InvalidRecord(f"not valid JSON: {exc}") from None


def to_item(data: Any) -> dict[str, Any]:
    """Validate one record's data and shape its output item: `{"id": ..., "data": {the other fields}}`.

    The record must be an object with an `id`, a non-empty string or a whole number. Put your own validation and
    transformation here; raise InvalidRecord for data that no retry can fix.
    """
    if not isinstance(data, dict):
        raise InvalidRecord(f"expected a JSON object, got {type(data).__name__}")
    key = data.get("id")
    if isinstance(key, Decimal) and key == key.to_integral_value():
        key = int(key)
    if isinstance(key, int) and not isinstance(key, bool):
        key = str(key)
    if not isinstance(key, str) or not key.strip():
        raise InvalidRecord("'id' is missing: it must be a non-empty string or a whole number")
    if len(key) > MAX_ID_LENGTH:
        raise InvalidRecord(f"'id' has {len(key)} characters; at most {MAX_ID_LENGTH} are allowed")
    return {"id": key, "data": {name: value for name, value in data.items() if name != "id"}}
{%- if batch %}


# --- the batch --------------------------------------------------------------------------------------------------
{%- set source = {
    'sqs': {
        'processor': 'BatchProcessor(event_type=EventType.SQS)',
        'note': '',
        'record': 'SQSRecord',
        'doc': "Write one message's item; runs once per message id (a redelivery returns this result, stored).",
        'data': 'parse_json(record.body)',
        'id': 'message_id',
        'id_fallback': '',
    },
    'sqs-fifo': {
        'processor': 'SqsFifoPartialProcessor(skip_group_on_error=True)',
        'note': '# A failed message stops the rest of its message group in this batch (reported, unprocessed); other groups go on.\n',
        'record': 'SQSRecord',
        'doc': "Write one message's item; runs once per message id (a redelivery returns this result, stored).",
        'data': 'parse_json(record.body)',
        'id': 'message_id',
        'id_fallback': '',
    },
    'kinesis': {
        'processor': 'BatchProcessor(event_type=EventType.KinesisDataStreams)',
        'note': '',
        'record': 'KinesisStreamRecord',
        'doc': "Write one record's item; runs once per shard and sequence number (a replay returns this result, stored).",
        'data': 'parse_json(payload)',
        'id': 'event_id',
        'id_fallback': '',
    },
    'dynamodb': {
        'processor': 'BatchProcessor(event_type=EventType.DynamoDBStreams)',
        'note': '',
        'record': 'DynamoDBRecord',
        'doc': "Mirror one change: INSERT and MODIFY write the new image's item, REMOVE deletes it; once per event id.",
        'data': 'image',
        'id': 'event_id',
        'id_fallback': ' or ""',
    },
}[trigger] %}

{{ source.note }}processor = {{ source.processor }}


{% if cookiecutter.tracing -%}
@tracer.capture_method
{% endif -%}
@idempotent_function(data_keyword_argument="record", config=idempotency, persistence_store=persistence)
def apply_record(record: {{ source.record }}) -> dict[str, str]:
    """{{ source.doc }}"""
{%- if trigger == 'kinesis' %}
    try:
        payload = base64.b64decode(record.kinesis.data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRecord("data is not valid base64") from None
{%- elif trigger == 'dynamodb' %}
    change = record.dynamodb
    if change is None:
        raise InvalidRecord("the record has no 'dynamodb' change")
    try:
        if record.event_name is not None and record.event_name.name == "REMOVE":
            item = to_item(change.keys)
            OUTPUT_TABLE.delete_item(Key={"id": item["id"]})
            return {"id": item["id"], "deleted": "true"}
        image = change.new_image
    except (TypeError, KeyError, ValueError, AttributeError) as exc:  # malformed DynamoDB JSON
        raise InvalidRecord(f"not valid DynamoDB JSON: {exc!r}") from None
    if not image:
        raise InvalidRecord("no NewImage: the stream's view type must be NEW_IMAGE or NEW_AND_OLD_IMAGES")
{%- endif %}
    item = to_item({{ source.data }})
    OUTPUT_TABLE.put_item(Item={**item, "source": record.{{ source.id }}})
    return {"id": item["id"]}


def record_id(record: {{ source.record }}) -> str:
    return record.{{ source.id }}{{ source.id_fallback }}
{%- if stream %}


class SkippedAfterFailure(Exception):
    """A record after a failed one: left for the retry, which starts at the failed record, to keep the order."""


FAILED_BEFORE = {"record": ""}  # the first failed record of this batch, if any
{%- endif %}


def record_handler(record: {{ source.record }}) -> dict[str, str]:
    """Process one record with its id as the log's correlation id; raising marks it failed in the response."""
    logger.set_correlation_id(record_id(record))
{%- if stream %}
    if FAILED_BEFORE["record"]:
        raise SkippedAfterFailure(f"not processed: the earlier record {FAILED_BEFORE['record']} failed")
{%- endif %}
    try:
        return apply_record(record=record)
    except InvalidRecord as exc:
        logger.warning("invalid record", extra={"reason": str(exc)})
        COUNTS["failed"] += 1
{%- if stream %}
        FAILED_BEFORE["record"] = record_id(record)
{%- endif %}
        raise
    except Exception:
        logger.exception("record failed")
        COUNTS["failed"] += 1
{%- if stream %}
        FAILED_BEFORE["record"] = record_id(record)
{%- endif %}
        raise


@logger.inject_lambda_context(clear_state=True)
{% if cookiecutter.tracing -%}
@tracer.capture_lambda_handler
{% endif -%}
@metrics.log_metrics
def {{ cookiecutter.handler_function }}(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Process a batch; the response lists the records that failed, for Lambda to retry."""
    idempotency.register_lambda_context(context)  # an in-progress record expires when the invocation would
    COUNTS.update(processed=0, duplicate=0, failed=0, skipped=0)
{%- if stream %}
    FAILED_BEFORE["record"] = ""
{%- endif %}
    if isinstance(event, dict) and event.get("Records") == []:
        logger.warning("empty batch: nothing to process")
        publish_counts()
        return {"batchItemFailures": []}
    try:
        return dict(process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context))
    except BatchProcessingError:
        logger.error("every record of the batch failed: the invocation fails and Lambda retries the batch")
        raise
    finally:
        # Reported but never processed: the records after a failure (the failed ones counted themselves).
        COUNTS["skipped"] = len(processor.fail_messages) - COUNTS["failed"]
        COUNTS["processed"] = len(processor.success_messages) - COUNTS["duplicate"]
        publish_counts()
        logger.set_correlation_id(None)
        logger.info("batch done", extra=dict(COUNTS))
{%- elif trigger == 's3' %}


# --- one file, streamed -----------------------------------------------------------------------------------------

S3 = boto3.client("s3")
SOURCE_PREFIX = os.environ["SOURCE_PREFIX"]
SUFFIXES = (".csv", ".jsonl")


def rows(body: Any, key: str) -> Iterator[tuple[int, dict[str, Any] | InvalidRecord]]:
    """(line number, row) for each row of a CSV (with a header) or JSON Lines body, read as a stream.

    A row that cannot be parsed is yielded as an InvalidRecord, so that the caller counts it and goes on.
    """
    text = io.TextIOWrapper(body, encoding="utf-8-sig", newline="")
    if key.endswith(".csv"):
        reader = csv.DictReader(text, restkey="", restval=None, strict=True)
        header = reader.fieldnames or []
        if "id" not in header:
            yield 1, InvalidRecord(f"the header has no 'id' column: {header}")
            return
        for row in reader:
            if "" in row or None in row.values():
                yield reader.line_num, InvalidRecord(f"expected {len(header)} fields, as in the header")
            else:
                yield reader.line_num, {name: value for name, value in row.items() if value != ""}
        return
    for number, line in enumerate(text, start=1):
        if line.strip():
            try:
                yield number, parse_json(line.strip())
            except InvalidRecord as exc:
                yield number, exc


{% if cookiecutter.tracing -%}
@tracer.capture_method
{% endif -%}
@idempotent_function(data_keyword_argument="upload", config=idempotency, persistence_store=persistence)
def process_file(upload: dict[str, str]) -> dict[str, Any]:
    """Stream one object into the output table; runs once per upload (a redelivery returns this result, stored)."""
    bucket, key = upload["bucket"], upload["key"]
    body = S3.get_object(Bucket=bucket, Key=key)["Body"]
    result: dict[str, Any] = {"bucket": bucket, "key": key, "rows": 0, "bad_rows": 0, "errors": []}
    with OUTPUT_TABLE.batch_writer(overwrite_by_pkeys=["id"]) as writer:
        for line, row in rows(body, key):
            try:
                if isinstance(row, InvalidRecord):
                    raise row
                item = to_item(row)
            except InvalidRecord as exc:
                result["bad_rows"] += 1
                if result["bad_rows"] <= LOGGED_BAD_ROWS:
                    logger.warning("bad row", extra={"key": key, "line": line, "reason": str(exc)})
                if len(result["errors"]) < REPORTED_BAD_ROWS:
                    result["errors"].append({"line": line, "reason": str(exc)})
                continue
            writer.put_item(Item={**item, "source": f"s3://{bucket}/{key}#{line}"})
            result["rows"] += 1
    body.close()
    return result


def skip_reason(key: str, event_name: str) -> str:
    """Why an S3 record is not a file to process, or "" when it is."""
    if not event_name.startswith("ObjectCreated:"):
        return f"{event_name} is not an upload"
    if not key.startswith(SOURCE_PREFIX):
        return f"outside {SOURCE_PREFIX}"
    if not key.endswith(SUFFIXES):
        return f"not a {' or '.join(SUFFIXES)} file"
    return ""


@logger.inject_lambda_context(clear_state=True)
{% if cookiecutter.tracing -%}
@tracer.capture_lambda_handler
{% endif -%}
@metrics.log_metrics
def {{ cookiecutter.handler_function }}(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Process each uploaded file; the result counts its rows and reports its bad ones."""
    idempotency.register_lambda_context(context)
    COUNTS.update(processed=0, duplicate=0, failed=0)
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        raise ValueError("not an S3 event notification: expected a 'Records' list")
    files, skipped = [], []
    try:
        for record in records:
            bucket = record["s3"]["bucket"]["name"]
            key = unquote_plus(record["s3"]["object"]["key"])  # S3 URL-encodes keys: a space arrives as "+"
            reason = skip_reason(key, record.get("eventName", ""))
            if reason:
                logger.info("object skipped", extra={"bucket": bucket, "key": key, "reason": reason})
                skipped.append({"bucket": bucket, "key": key, "reason": reason})
                continue
            logger.set_correlation_id(f"s3://{bucket}/{key}")
            upload = {"bucket": bucket, "key": key, "sequencer": record["s3"]["object"].get("sequencer", "")}
            duplicates = COUNTS["duplicate"]
            result = process_file(upload=upload)
            if COUNTS["duplicate"] == duplicates:
                COUNTS["processed"] += result["rows"]
                COUNTS["failed"] += result["bad_rows"]
                logger.info("file processed", extra={"rows": result["rows"], "bad_rows": result["bad_rows"]})
            files.append({**result, "duplicate": COUNTS["duplicate"] > duplicates})
    finally:
        publish_counts()
        logger.set_correlation_id(None)
    return {"files": files, "skipped": skipped}
{%- else %}


# --- one run per scheduled time ---------------------------------------------------------------------------------


def scheduled_run(event: Any) -> dict[str, str]:
    """The run this event asks for: the schedule's input with the scheduled time Scheduler filled in."""
    if not isinstance(event, dict):
        raise InvalidRecord("the event must be the schedule's JSON input (an object)")
    run = {name: event.get(name) for name in ("job", "schedule_arn", "scheduled_time")}
    missing = [name for name, value in run.items() if not isinstance(value, str) or not value]
    if missing:
        raise InvalidRecord(f"the schedule input lacks {', '.join(missing)}: see the ScheduleV2 Input in template.yaml")
    try:
        datetime.fromisoformat(str(run["scheduled_time"]).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRecord(f"scheduled_time {run['scheduled_time']!r} is not an ISO 8601 time") from None
    return {name: str(value) for name, value in run.items()}


{% if cookiecutter.tracing -%}
@tracer.capture_method
{% endif -%}
@idempotent_function(data_keyword_argument="run", config=idempotency, persistence_store=persistence)
def run_job(run: dict[str, str]) -> dict[str, Any]:
    """The job, once per scheduled time: replace the body with your own work (a redelivery returns this result).

    This one records the run in the output table.
    """
    item = {"id": f"run#{run['job']}#{run['scheduled_time']}", "data": dict(run)}
    OUTPUT_TABLE.put_item(Item=item)
    return {"job": run["job"], "scheduled_time": run["scheduled_time"], "item": item["id"]}


@logger.inject_lambda_context(clear_state=True)
{% if cookiecutter.tracing -%}
@tracer.capture_lambda_handler
{% endif -%}
@metrics.log_metrics
def {{ cookiecutter.handler_function }}(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Run the job for the event's scheduled time, unless that time already ran."""
    idempotency.register_lambda_context(context)
    COUNTS.update(processed=0, duplicate=0, failed=0)
    try:
        run = scheduled_run(event)
        logger.set_correlation_id(f"{run['job']}@{run['scheduled_time']}")
        result = run_job(run=run)
        COUNTS["processed"] = 1 - COUNTS["duplicate"]
    except Exception:
        COUNTS["failed"] = 1
        logger.exception("run failed: Lambda retries it (twice), then sends the event to the failed-events queue")
        raise
    finally:
        publish_counts()
    logger.info("run done", extra={"duplicate": bool(COUNTS["duplicate"])})
    return {**result, "duplicate": bool(COUNTS["duplicate"])}
{%- endif %}
