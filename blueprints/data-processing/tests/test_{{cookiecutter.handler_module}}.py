{%- set trigger = cookiecutter.trigger -%}
{%- set queue = trigger in ('sqs', 'sqs-fifo') -%}
{%- set stream = trigger in ('kinesis', 'dynamodb') -%}
{%- set batch = queue or stream -%}
"""Tests of {{ cookiecutter.handler }} on moto's in-memory DynamoDB{{ ' and S3' if trigger == 's3' else '' }}: no AWS account, warnings are errors.

The runner's `local_aws` fixture creates template.yaml's resources under the names the function uses (its
OUTPUT_TABLE and IDEMPOTENCY_TABLE, with the key schema the template declares), and events come from the same
builders as events/*.json.
"""

from __future__ import annotations
{% if trigger == 'kinesis' %}
import base64
{%- endif %}
{%- if trigger == 's3' %}
import io
{%- endif %}
{%- if trigger == 'sqs' %}
import importlib.util
{%- endif %}
import json
import sys
{%- if trigger == 's3' %}
import tracemalloc
{%- endif %}
from collections.abc import Callable
from decimal import Decimal
from types import ModuleType
from typing import Any

import boto3
import pytest
{%- if trigger == 'sqs' %}
from aws_lambda_powertools.utilities import idempotency as idempotency_utility
{%- endif %}
{%- if batch %}
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
{%- endif %}
{%- if trigger == 'sqs' %}
from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
{%- endif %}
{%- if trigger == 's3' %}
from botocore.response import StreamingBody
{%- endif %}
{%- if trigger != 'schedule' %}
from {{ cookiecutter.runner }} import build_event
{%- endif %}

pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture
def function(handler: Callable[..., Any]) -> ModuleType:
    """The handler's module: its settings, clients and counters."""
    return sys.modules[handler.__module__]


@pytest.fixture
def aws(local_aws: Any, function_environment: dict[str, str]) -> Any:
    """moto's in-memory AWS holding template.yaml's tables{{ ', queues' if trigger in ('sqs', 'sqs-fifo', 'kinesis', 'dynamodb', 'schedule') else '' }}{{ ' and bucket' if trigger == 's3' else '' }}, under the names the function uses."""
    return boto3.resource("dynamodb", region_name=function_environment["AWS_REGION"])


@pytest.fixture
def output(aws: Any, function_environment: dict[str, str]) -> Any:
    return aws.Table(function_environment["OUTPUT_TABLE"])


def items(table: Any) -> dict[str, dict[str, Any]]:
    """Every item of a table, by id."""
    return {item["id"]: item for item in table.scan()["Items"]}


def metrics_printed(capsys: pytest.CaptureFixture[str]) -> dict[str, float]:
    """The counts the last invocation published, read from its embedded-metric-format line on stdout."""
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert lines, "no metrics were published"
    counts = {name: lines[-1][name][0] for name in ("ProcessedRecords", "DuplicateRecords", "FailedRecords")}
{%- if batch %}
    skipped = lines[-1]["SkippedRecords"][0]
    if skipped:  # reported unprocessed after a failure, to keep the order: only where they can be
        counts["SkippedRecords"] = skipped
{%- endif %}
    return counts


def test_settings_come_from_template_yaml(function: ModuleType, function_environment: dict[str, str]) -> None:
    assert function.OUTPUT_TABLE.name == function_environment["OUTPUT_TABLE"]
    assert function.persistence.table_name == function_environment["IDEMPOTENCY_TABLE"]
    assert function.idempotency.expires_after_seconds == int(function_environment["IDEMPOTENCY_TTL_SECONDS"])


@pytest.mark.parametrize(
    ("data", "item"),
    [
        ({"id": "a-1", "total": Decimal("2.50")}, {"id": "a-1", "data": {"total": Decimal("2.50")}}),
        ({"id": 42}, {"id": "42", "data": {}}),
        ({"id": Decimal(7)}, {"id": "7", "data": {}}),
    ],
)
def test_to_item(function: ModuleType, data: dict[str, Any], item: dict[str, Any]) -> None:
    assert function.to_item(data) == item


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ([1, 2], "expected a JSON object, got list"),
        ({"total": 1}, "'id' is missing"),
        ({"id": ""}, "'id' is missing"),
        ({"id": True}, "'id' is missing"),
        ({"id": 1.5}, "'id' is missing"),
        ({"id": "x" * 1025}, "'id' has 1025 characters"),
    ],
)
def test_to_item_refuses(function: ModuleType, data: Any, reason: str) -> None:
    with pytest.raises(function.InvalidRecord, match=reason):
        function.to_item(data)


@pytest.mark.parametrize("text", ['{"id": "a", "total": NaN}', '{"id": "a"', "", "\xff"])
def test_parse_json_refuses_what_dynamodb_cannot_store(function: ModuleType, text: str) -> None:
    with pytest.raises(function.InvalidRecord, match="not valid JSON"):
        function.parse_json(text)
{%- if queue %}


# --- SQS{{ ' FIFO' if trigger == 'sqs-fifo' else '' }} ------------------------------------------------------------------------------------------------

QUEUE = "{{ cookiecutter.project_name }}-{{ 'input.fifo' if trigger == 'sqs-fifo' else 'InputQueue' }}"


def batch(bodies: list[str]) -> dict[str, Any]:
    """An SQS event with one message per body{{ ', each in its own message group' if trigger == 'sqs-fifo' else '' }}."""
    event = build_event("sqs", "message", queue=QUEUE, body=bodies)
{%- if trigger == 'sqs-fifo' %}
    for number, record in enumerate(event["Records"]):
        record["attributes"]["MessageGroupId"] = f"group-{number}"
{%- endif %}
    return event


def order(number: int, **fields: Any) -> str:
    return json.dumps({"id": f"order-{number}", "total": 10 + number / 100, **fields})


def test_good_batch_writes_one_item_per_message(handler, lambda_context, output, capsys) -> None:
    event = batch([order(1), order(2, note="gift"), order(3)])
    assert handler(event, lambda_context) == {"batchItemFailures": []}
    stored = items(output)
    assert sorted(stored) == ["order-1", "order-2", "order-3"]
    assert stored["order-2"]["data"] == {"total": Decimal("10.02"), "note": "gift"}  # exact decimals, no floats
    assert stored["order-1"]["source"] == event["Records"][0]["messageId"]
    assert metrics_printed(capsys) == {"ProcessedRecords": 3, "DuplicateRecords": 0, "FailedRecords": 0}


def test_poison_message_is_reported_and_the_others_are_written(handler, lambda_context, output, capsys) -> None:
    event = batch([order(1), '{"id": "order-2", "total": ', order(3), '{"total": 5}', order(5)])
    response = handler(event, lambda_context)
    poison = [event["Records"][1]["messageId"], event["Records"][3]["messageId"]]
    assert response == {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in poison]}
    assert sorted(items(output)) == ["order-1", "order-3", "order-5"]
    assert metrics_printed(capsys) == {"ProcessedRecords": 3, "DuplicateRecords": 0, "FailedRecords": 2}


def test_same_batch_delivered_twice_is_applied_once(handler, lambda_context, output, capsys) -> None:
    event = batch([order(1), order(2)])
    handler(event, lambda_context)
    output.delete_item(Key={"id": "order-1"})  # were the message applied again, the item would come back
    capsys.readouterr()
    assert handler(event, lambda_context) == {"batchItemFailures": []}
    assert sorted(items(output)) == ["order-2"]
    assert metrics_printed(capsys) == {"ProcessedRecords": 0, "DuplicateRecords": 2, "FailedRecords": 0}


def test_a_failed_message_runs_again_when_redelivered(handler, lambda_context, output, function, monkeypatch) -> None:
    """A failure releases the idempotency record: the retry applies the message (only success is remembered)."""
    event = batch([order(1)])
    real_put = function.OUTPUT_TABLE.put_item

    def throttled(**request: Any) -> Any:
        raise RuntimeError("ProvisionedThroughputExceededException")

    monkeypatch.setattr(function.OUTPUT_TABLE, "put_item", throttled)
    with pytest.raises(BatchProcessingError):  # every record failed: the invocation fails
        handler(event, lambda_context)
    monkeypatch.setattr(function.OUTPUT_TABLE, "put_item", real_put)
    assert handler(event, lambda_context) == {"batchItemFailures": []}
    assert sorted(items(output)) == ["order-1"]


@pytest.mark.parametrize("body", ["not json", '{"id": "a",}', "[1, 2]", '{"id": "a", "total": Infinity}'])
def test_malformed_json_is_a_failed_record(handler, lambda_context, output, body, caplog) -> None:
    event = batch([order(1), body])
    response = handler(event, lambda_context)
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    assert sorted(items(output)) == ["order-1"]


def test_every_record_failing_fails_the_invocation(handler, lambda_context, output, capsys) -> None:
    """Lambda then retries the whole batch, and the function's Errors metric shows it."""
    with pytest.raises(BatchProcessingError):
        handler(batch(["nope", "{}"]), lambda_context)
    assert items(output) == {}
    assert metrics_printed(capsys)["FailedRecords"] == 2


def test_empty_batch_succeeds_with_nothing_to_do(handler, lambda_context, output) -> None:
    assert handler({"Records": []}, lambda_context) == {"batchItemFailures": []}
    assert items(output) == {}


def test_log_lines_carry_the_request_and_message_ids(handler, lambda_context, aws, function, capsys, monkeypatch):
    monkeypatch.setattr(function.logger.registered_handler, "stream", sys.stdout)  # capsys's, for this test
    event = batch(["not json", order(2)])
    handler(event, lambda_context)
    logs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"level"')]
    (warning,) = [line for line in logs if line["message"] == "invalid record"]
    assert warning["correlation_id"] == event["Records"][0]["messageId"]
    assert warning["function_request_id"] == lambda_context.aws_request_id
    assert warning["reason"].startswith("not valid JSON")


def test_sample_events(handler, lambda_context, load_event, output) -> None:
    """events/*.json, as `make invoke` runs them."""
    assert handler(load_event("message.json"), lambda_context) == {"batchItemFailures": []}
    event = load_event("batch-with-poison.json")
    response = handler(event, lambda_context)
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    assert sorted(items(output)) == ["order-1001", "order-1002", "order-1004"]
{%- if trigger == 'sqs-fifo' %}


def test_fifo_failure_stops_its_message_group_only(handler, lambda_context, output, capsys) -> None:
    event = batch([order(1), "poison", order(3), order(4)])
    groups = ["a", "b", "b", "a"]
    for record, group in zip(event["Records"], groups, strict=True):
        record["attributes"]["MessageGroupId"] = group
    response = handler(event, lambda_context)
    # order-3 comes after the poison message in group b: left unprocessed, for the retry, in order.
    failed = [event["Records"][1]["messageId"], event["Records"][2]["messageId"]]
    assert response == {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
    assert sorted(items(output)) == ["order-1", "order-4"]
    assert metrics_printed(capsys) == {
        "ProcessedRecords": 2,
        "DuplicateRecords": 0,
        "FailedRecords": 1,
        "SkippedRecords": 1,
    }
{%- endif %}
{%- if trigger == 'sqs' %}


class MemoryPersistence(BasePersistenceLayer):
    """Powertools' idempotency records in a dict, through its extension point for other stores: a
    `BasePersistenceLayer` implementing the four record methods that `DynamoDBPersistenceLayer` implements.

    Used only for the 10,000-record batch: on moto each record costs three DynamoDB requests of several
    milliseconds, which would make this one test take minutes. The other tests use moto.
    """

    def __init__(self, **settings: Any) -> None:  # DynamoDBPersistenceLayer's (table_name=...): no table here
        super().__init__()
        self.records: dict[str, DataRecord] = {}

    def _get_record(self, idempotency_key: str) -> DataRecord:
        if idempotency_key not in self.records:
            raise IdempotencyItemNotFoundError
        return self.records[idempotency_key]

    def _put_record(self, data_record: DataRecord) -> None:
        if data_record.idempotency_key in self.records:
            raise IdempotencyItemAlreadyExistsError(old_data_record=self.records[data_record.idempotency_key])
        self.records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        self.records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        self.records.pop(data_record.idempotency_key, None)


@pytest.fixture
def in_memory(function_config: Any, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The handler's module imported anew, with its idempotency records in a `MemoryPersistence`.

    The module builds its store from Powertools' `DynamoDBPersistenceLayer` when it is imported, and the decorated
    functions keep that store: so the public name is replaced before a second copy of the module is loaded (the
    one the other tests use keeps its DynamoDB store).
    """
    monkeypatch.setattr(idempotency_utility, "DynamoDBPersistenceLayer", MemoryPersistence)
    module_name = function_config.handler.rsplit(".", 1)[0]
    source = function_config.code_dir / f"{module_name}.py"
    spec = importlib.util.spec_from_file_location(f"{module_name}_in_memory", source)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert isinstance(module.persistence, MemoryPersistence)
    return module


def test_ten_thousand_message_batch(in_memory, function_config, lambda_context, monkeypatch, capsys) -> None:
    """The largest batch SQS sends (BatchSize 10,000, with a batching window), with poison messages among it."""
    handler = getattr(in_memory, function_config.handler.rsplit(".", 1)[1])
    written: dict[str, dict[str, Any]] = {}
    monkeypatch.setattr(in_memory.OUTPUT_TABLE, "put_item", lambda Item: written.__setitem__(Item["id"], Item))
    poison = set(range(7, 10_000, 1_000))
    bodies = ["{broken" if number in poison else order(number) for number in range(10_000)]
    event = batch(bodies)
    assert len(json.dumps(event)) < 6 * 1024 * 1024  # what Lambda can deliver in one synchronous invocation

    response = handler(event, lambda_context)
    assert [failure["itemIdentifier"] for failure in response["batchItemFailures"]] == [
        event["Records"][number]["messageId"] for number in sorted(poison)
    ]
    assert len(written) == 10_000 - len(poison)
    assert metrics_printed(capsys) == {"ProcessedRecords": 9_990, "DuplicateRecords": 0, "FailedRecords": 10}

    written.clear()
    handler(event, lambda_context)  # redelivered: nothing is applied twice, the poison messages fail again
    assert written == {}
    assert metrics_printed(capsys) == {"ProcessedRecords": 0, "DuplicateRecords": 9_990, "FailedRecords": 10}
{%- endif %}
{%- elif stream %}


# --- {{ 'Kinesis' if trigger == 'kinesis' else 'DynamoDB Streams' }} ------------------------------------------------------------------------------------------------
{%- if trigger == 'kinesis' %}

STREAM = "{{ cookiecutter.project_name }}-InputStream"


def reading(number: int, **fields: Any) -> bytes:
    return json.dumps({"id": f"reading-{number}", "celsius": 20 + number / 10, **fields}).encode()


def batch(*payloads: bytes) -> dict[str, Any]:
    """A Kinesis batch, one record per payload. `build_event` takes text, so each record's data is then set to
    its payload's exact bytes, base64-encoded as Kinesis delivers them (a payload that is not UTF-8 too)."""
    texts = [payload.decode("utf-8", "replace") for payload in payloads]
    event = build_event("kinesis", "record", stream=STREAM, data=texts, partition_key="sensor-7")
    for record, payload in zip(event["Records"], payloads, strict=True):
        record["kinesis"]["data"] = base64.b64encode(payload).decode("ascii")
    return event


def test_good_batch_writes_one_item_per_record(handler, lambda_context, output, capsys) -> None:
    event = batch(reading(1), reading(2, sensor="s-2"))
    assert handler(event, lambda_context) == {"batchItemFailures": []}
    stored = items(output)
    assert stored["reading-2"]["data"] == {"celsius": Decimal("20.2"), "sensor": "s-2"}
    assert stored["reading-1"]["source"] == event["Records"][0]["eventID"]
    assert metrics_printed(capsys) == {"ProcessedRecords": 2, "DuplicateRecords": 0, "FailedRecords": 0}


def test_bad_base64_is_reported_with_the_records_after_it(handler, lambda_context, output, capsys) -> None:
    event = batch(reading(1), reading(2), reading(3))
    event["Records"][1]["kinesis"]["data"] = "not base64!"
    response = handler(event, lambda_context)
    # Lambda retries from the first failed sequence number; the records after it wait, to keep their order.
    sequences = [record["kinesis"]["sequenceNumber"] for record in event["Records"]]
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in sequences[1:]]}
    assert sorted(items(output)) == ["reading-1"]
    assert metrics_printed(capsys) == {
        "ProcessedRecords": 1,
        "DuplicateRecords": 0,
        "FailedRecords": 1,
        "SkippedRecords": 1,
    }


@pytest.mark.parametrize("payload", [b"not json", b'{"id": "r",}', b"[]", b"\xff\xfe", b'{"celsius": 1}'])
def test_malformed_json_is_a_failed_record(handler, lambda_context, output, payload) -> None:
    event = batch(reading(1), payload)
    response = handler(event, lambda_context)
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["kinesis"]["sequenceNumber"]}]}
    assert sorted(items(output)) == ["reading-1"]


def test_retry_from_the_failed_record_applies_each_record_once(handler, lambda_context, output, capsys) -> None:
    event = batch(reading(1), b"poison", reading(3))
    handler(event, lambda_context)
    output.delete_item(Key={"id": "reading-1"})  # were reading-1 applied again, it would come back
    capsys.readouterr()
    event["Records"][1]["kinesis"]["data"] = base64.b64encode(reading(2)).decode()  # fixed upstream, say
    assert handler(event, lambda_context) == {"batchItemFailures": []}  # Lambda replays the same batch
    assert sorted(items(output)) == ["reading-2", "reading-3"]
    assert metrics_printed(capsys) == {"ProcessedRecords": 2, "DuplicateRecords": 1, "FailedRecords": 0}


def sample_ids() -> tuple[str, ...]:
    return ("records.json", "records-with-poison.json")
{%- else %}

TABLE = "{{ cookiecutter.project_name }}-InputTable"


def change(kind: str, number: int, new: dict[str, Any] | None = None, old: dict[str, Any] | None = None) -> dict:
    """One stream record; its event id and sequence number follow `number`, as a stream's do."""
    images = {name: image for name, image in (("new_image", new), ("old_image", old)) if image is not None}
    (record,) = build_event("dynamodb", kind, table=TABLE, keys={"id": f"customer-{number}"}, **images)["Records"]
    record["eventID"] = f"{kind}-{number:04d}"
    record["dynamodb"]["SequenceNumber"] = f"{111100000000000000000000 + number}"
    return record


def batch(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def test_inserts_and_modifies_write_the_new_image(handler, lambda_context, output, capsys) -> None:
    event = batch(
        change("insert", 1, {"plan": "pro", "seats": 5}),
        change("insert", 2, {"plan": "free"}),
        change("modify", 1, {"plan": "enterprise", "seats": 50}, {"plan": "pro", "seats": 5}),
    )
    assert handler(event, lambda_context) == {"batchItemFailures": []}
    stored = items(output)
    assert stored["customer-1"]["data"] == {"plan": "enterprise", "seats": Decimal(50)}
    assert stored["customer-2"]["source"] == "insert-0002"
    assert metrics_printed(capsys) == {"ProcessedRecords": 3, "DuplicateRecords": 0, "FailedRecords": 0}


def test_remove_deletes_the_item(handler, lambda_context, output) -> None:
    handler(batch(change("insert", 1, {"plan": "pro"})), lambda_context)
    assert handler(batch(change("remove", 1, old={"plan": "pro"})), lambda_context) == {"batchItemFailures": []}
    assert items(output) == {}


def test_poison_record_is_reported_with_the_records_after_it(handler, lambda_context, output, capsys) -> None:
    poison = change("insert", 2, {"plan": "free"})
    poison["dynamodb"]["NewImage"]["plan"] = {"Q": "no such DynamoDB type"}
    event = batch(change("insert", 1, {"plan": "pro"}), poison, change("insert", 3, {"plan": "pro"}))
    response = handler(event, lambda_context)
    # Lambda retries from the first failed sequence number; the records after it wait, to keep their order.
    sequences = [record["dynamodb"]["SequenceNumber"] for record in event["Records"]]
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in sequences[1:]]}
    assert sorted(items(output)) == ["customer-1"]
    assert metrics_printed(capsys) == {
        "ProcessedRecords": 1,
        "DuplicateRecords": 0,
        "FailedRecords": 1,
        "SkippedRecords": 1,
    }


def test_keys_only_stream_is_a_failed_record(handler, lambda_context, output) -> None:
    record = change("insert", 1, {"plan": "pro"})
    del record["dynamodb"]["NewImage"]
    with pytest.raises(BatchProcessingError):  # its only record failed
        handler(batch(record), lambda_context)
    assert items(output) == {}


def test_same_batch_delivered_twice_is_applied_once(handler, lambda_context, output, capsys) -> None:
    event = batch(change("insert", 1, {"plan": "pro"}), change("insert", 2, {"plan": "free"}))
    handler(event, lambda_context)
    output.delete_item(Key={"id": "customer-1"})  # were the change applied again, the item would come back
    capsys.readouterr()
    assert handler(event, lambda_context) == {"batchItemFailures": []}
    assert sorted(items(output)) == ["customer-2"]
    assert metrics_printed(capsys) == {"ProcessedRecords": 0, "DuplicateRecords": 2, "FailedRecords": 0}


def sample_ids() -> tuple[str, ...]:
    return ("insert.json", "modify.json", "remove.json")
{%- endif %}


def test_every_record_failing_fails_the_invocation(handler, lambda_context, output) -> None:
    """Lambda then retries the whole batch (bisecting it), and the function's Errors metric shows it."""
    with pytest.raises(BatchProcessingError):
        handler({"Records": [json.loads(json.dumps(record)) for record in batch_of_poison()["Records"]]}, lambda_context)
    assert items(output) == {}


def batch_of_poison() -> dict[str, Any]:
{%- if trigger == 'kinesis' %}
    return batch(b"poison", b"{}")
{%- else %}
    poison = change("insert", 1, {"plan": "pro"})
    poison["dynamodb"]["NewImage"] = {"id": {"S": ""}}
    return batch(poison)
{%- endif %}


def test_empty_batch_succeeds_with_nothing_to_do(handler, lambda_context, output) -> None:
    assert handler({"Records": []}, lambda_context) == {"batchItemFailures": []}
    assert items(output) == {}


@pytest.mark.parametrize("name", sample_ids())
def test_sample_events(handler, lambda_context, load_event, output, name) -> None:
    """events/*.json, as `make invoke` runs them."""
    event = load_event(name)
    failures = handler(event, lambda_context)["batchItemFailures"]
    assert len(failures) == (2 if "poison" in name else 0)
{%- elif trigger == 's3' %}


# --- S3 files ------------------------------------------------------------------------------------------------

PREFIX = "{{ cookiecutter.source_prefix }}"
BUCKET = "{{ cookiecutter.project_name }}-123456789012"  # `${AWS::StackName}-${AWS::AccountId}`, as resolved locally
HEADER = "id,customer,total,currency\n"


@pytest.fixture
def s3(aws: Any, function_environment: dict[str, str]) -> Any:
    """An S3 client on the local AWS, whose InputBucket template.yaml declares."""
    return boto3.client("s3", region_name=function_environment["AWS_REGION"])


@pytest.fixture
def upload(s3: Any) -> Callable[..., dict[str, Any]]:
    """Put files in the bucket and return the S3 event announcing them (keys URL-encoded, as S3 sends them)."""

    def put(*files: tuple[str, str | bytes]) -> dict[str, Any]:
        for key, body in files:
            s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode() if isinstance(body, str) else body)
        return build_event("s3", "put", bucket=BUCKET, key=[key for key, _ in files])

    return put


def test_csv_rows_become_items(handler, lambda_context, upload, output, capsys) -> None:
    csv_text = HEADER + "o-1,ada,25.50,EUR\no-2,grace,12.00,EUR\n"
    result = handler(upload((f"{PREFIX}day 1/orders.csv", csv_text)), lambda_context)
    (processed,) = result["files"]
    assert (processed["key"], processed["rows"], processed["bad_rows"]) == (f"{PREFIX}day 1/orders.csv", 2, 0)
    stored = items(output)
    assert stored["o-1"]["data"] == {"customer": "ada", "total": "25.50", "currency": "EUR"}
    assert stored["o-2"]["source"] == f"s3://{BUCKET}/{PREFIX}day 1/orders.csv#3"
    assert metrics_printed(capsys) == {"ProcessedRecords": 2, "DuplicateRecords": 0, "FailedRecords": 0}


def test_bad_rows_are_counted_logged_with_their_line_and_reported(handler, lambda_context, upload, output, caplog):
    csv_text = HEADER + "o-1,ada,1,EUR\no-2,grace,2,EUR,extra\n,nobody,3,EUR\no-4,alan\no-5,linus,5,EUR\n"
    (processed,) = handler(upload((f"{PREFIX}orders.csv", csv_text)), lambda_context)["files"]
    assert (processed["rows"], processed["bad_rows"]) == (2, 3)
    assert [error["line"] for error in processed["errors"]] == [3, 4, 5]
    assert sorted(items(output)) == ["o-1", "o-5"]
    bad = [(record.line, record.key) for record in caplog.records if record.getMessage() == "bad row"]
    assert bad == [(3, f"{PREFIX}orders.csv"), (4, f"{PREFIX}orders.csv"), (5, f"{PREFIX}orders.csv")]


def test_json_lines(handler, lambda_context, upload, output) -> None:
    lines = '{"id": "e-1", "n": 1.5}\n\n{"id": "e-2", "tags": ["a"]}\n{"id": "e-3",\n[1]\n'
    (processed,) = handler(upload((f"{PREFIX}events.jsonl", lines)), lambda_context)["files"]
    assert (processed["rows"], processed["bad_rows"]) == (2, 2)
    assert [(error["line"], error["reason"][:14]) for error in processed["errors"]] == [
        (4, "not valid JSON"),
        (5, "expected a JSO"),
    ]
    assert items(output)["e-1"]["data"] == {"n": Decimal("1.5")}


def test_csv_without_an_id_column_is_one_bad_row(handler, lambda_context, upload, output) -> None:
    (processed,) = handler(upload((f"{PREFIX}x.csv", "name,total\na,1\n")), lambda_context)["files"]
    assert (processed["rows"], processed["bad_rows"]) == (0, 1)
    assert "no 'id' column" in processed["errors"][0]["reason"]


def test_file_delivered_twice_is_processed_once(handler, lambda_context, upload, output, capsys) -> None:
    event = upload((f"{PREFIX}orders.csv", HEADER + "o-1,ada,1,EUR\n"))
    handler(event, lambda_context)
    output.delete_item(Key={"id": "o-1"})  # were the file processed again, the item would come back
    capsys.readouterr()
    result = handler(event, lambda_context)
    assert result["files"][0]["duplicate"] is True
    assert items(output) == {}
    assert metrics_printed(capsys) == {"ProcessedRecords": 0, "DuplicateRecords": 1, "FailedRecords": 0}


def test_other_keys_and_events_are_skipped(handler, lambda_context, upload, output) -> None:
    event = upload(("elsewhere/a.csv", HEADER), (f"{PREFIX}notes.txt", "hello"))
    event["Records"] += build_event("s3", "delete", bucket=BUCKET, key=f"{PREFIX}old.csv")["Records"]
    reasons = [skipped["reason"] for skipped in handler(event, lambda_context)["skipped"]]
    assert reasons == [f"outside {PREFIX}", "not a .csv or .jsonl file", "ObjectRemoved:Delete is not an upload"]


def test_sample_events(handler, lambda_context, load_event, s3, output) -> None:
    """events/*.json with samples/ at their keys, as `make invoke` runs them."""
    for name in ("orders.csv", "orders.jsonl"):
        with open(f"samples/{name}", "rb") as sample:
            s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}{name}", Body=sample.read())
    for name in ("upload-csv.json", "upload-jsonl.json"):
        (processed,) = handler(load_event(name), lambda_context)["files"]
        assert (processed["rows"], processed["bad_rows"]) == (3, 2)
    assert len(items(output)) == 6


def big_csv(rows: int) -> bytes:
    """A CSV of `rows` orders, about 32 bytes a row, one in a thousand of them bad."""
    lines = [HEADER]
    for number in range(rows):
        if number % 1000 == 999:
            lines.append(f"o-{number},too,many,fields,here\n")
        else:
            lines.append(f"o-{number},customer-{number % 977},{number * 7919 % 99_999 / 100},EUR\n")
    return "".join(lines).encode()


def peak_memory(handler, lambda_context, function, monkeypatch, data: bytes) -> tuple[int, dict[str, Any]]:
    """Peak bytes allocated while one file is processed, the file's body streamed from a local buffer.

    The items go to a counting writer, and the body to a stream over bytes that exist before the measurement:
    what is measured is the function's own memory, which must not depend on the file's size.
    """
    written = {"items": 0}

    class Writer:
        def __enter__(self) -> Any:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def put_item(self, Item: dict[str, Any]) -> None:
            written["items"] += 1

    monkeypatch.setattr(function.OUTPUT_TABLE, "batch_writer", lambda **options: Writer())
    monkeypatch.setattr(
        function.S3, "get_object", lambda **request: {"Body": StreamingBody(io.BytesIO(data), len(data))}
    )
    event = build_event("s3", "put", bucket=BUCKET, key=f"{PREFIX}big-{len(data)}.csv", size=len(data))
    tracemalloc.start()
    try:
        result = handler(event, lambda_context)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written["items"] == result["files"][0]["rows"]
    return peak, result


def test_peak_memory_does_not_grow_with_the_file(handler, lambda_context, function, monkeypatch, aws) -> None:
    small, large = big_csv(20_000), big_csv(200_000)
    small_peak, _ = peak_memory(handler, lambda_context, function, monkeypatch, small)
    large_peak, result = peak_memory(handler, lambda_context, function, monkeypatch, large)
    (processed,) = result["files"]
    assert (processed["rows"], processed["bad_rows"]) == (199_800, 200)
    assert len(large) > 6_000_000
    peaks = f"peak {large_peak:,} bytes for {len(large):,} bytes of CSV, {small_peak:,} for {len(small):,}"
    assert large_peak < len(large) / 20, peaks  # a small fraction of the file: it was never read whole
    assert large_peak < small_peak * 1.5 + 256 * 1024, peaks  # ten times the rows, about the same memory
{%- else %}


# --- schedule ------------------------------------------------------------------------------------------------

SCHEDULE = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/{{ cookiecutter.project_name }}-{{ cookiecutter.job_name }}"


def run_event(scheduled_time: str = "2026-01-01T10:00:00Z", attempt: str = "1") -> dict[str, str]:
    """The schedule's input, as Scheduler sends it with its context attributes filled in (see template.yaml)."""
    return {"job": "{{ cookiecutter.job_name }}", "schedule_arn": SCHEDULE, "scheduled_time": scheduled_time, "attempt": attempt}


def test_a_run_records_itself(handler, lambda_context, output, capsys) -> None:
    result = handler(run_event(), lambda_context)
    assert result == {
        "job": "{{ cookiecutter.job_name }}",
        "scheduled_time": "2026-01-01T10:00:00Z",
        "item": "run#{{ cookiecutter.job_name }}#2026-01-01T10:00:00Z",
        "duplicate": False,
    }
    assert sorted(items(output)) == [result["item"]]
    assert metrics_printed(capsys) == {"ProcessedRecords": 1, "DuplicateRecords": 0, "FailedRecords": 0}


def test_a_schedule_delivered_twice_runs_once(handler, lambda_context, output, capsys) -> None:
    first = handler(run_event(), lambda_context)
    output.delete_item(Key={"id": first["item"]})  # were the job run again, the item would come back
    capsys.readouterr()
    second = handler(run_event(attempt="2"), lambda_context)  # a retry of the same scheduled time
    assert second == {**first, "duplicate": True}
    assert items(output) == {}
    assert metrics_printed(capsys) == {"ProcessedRecords": 0, "DuplicateRecords": 1, "FailedRecords": 0}


def test_each_scheduled_time_runs(handler, lambda_context, output) -> None:
    for hour in ("10", "11", "12"):
        assert handler(run_event(f"2026-01-01T{hour}:00:00Z"), lambda_context)["duplicate"] is False
    assert len(items(output)) == 3


def test_a_failed_run_runs_again_on_retry(handler, lambda_context, output, function, monkeypatch) -> None:
    real_put = function.OUTPUT_TABLE.put_item

    def failing(**request: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(function.OUTPUT_TABLE, "put_item", failing)
    with pytest.raises(RuntimeError, match="boom"):
        handler(run_event(), lambda_context)  # Lambda retries it: the run was not recorded as done
    monkeypatch.setattr(function.OUTPUT_TABLE, "put_item", real_put)
    assert handler(run_event(attempt="2"), lambda_context)["duplicate"] is False
    assert len(items(output)) == 1


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"job": "x", "schedule_arn": SCHEDULE}, "lacks scheduled_time"),
        ({**run_event(), "scheduled_time": "<aws.scheduler.scheduled-time>"}, "is not an ISO 8601 time"),
        (["not", "an", "object"], "must be the schedule's JSON input"),
    ],
)
def test_bad_input_fails(handler, lambda_context, function, output, event, message) -> None:
    with pytest.raises(function.InvalidRecord, match=message):
        handler(event, lambda_context)
    assert items(output) == {}


def test_sample_event(handler, lambda_context, load_event, output) -> None:
    """events/scheduled-run.json, as `make invoke` runs it."""
    assert handler(load_event("scheduled-run.json"), lambda_context)["duplicate"] is False
{%- endif %}
