"""End to end: generate data-processing projects for every trigger, then run in each what its user runs.

Each case renders into a temporary folder, runs `ruff check`, `ruff format --check`, the project's own pytest suite
(moto, warnings as errors) and `cfn-lint template.yaml`, checks the template's settings for that trigger, then runs
`make invoke`: every sample event through the runner's local AWS mode (a moto server holding the template's
tables), asserting each response. The Makefile runs with this interpreter's tools (`BIN=`), and `-o
.venv/.installed` tells make not to build the project's own virtual environment; one case does build it, with
`make install lint test validate invoke` on the runtime's Python.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from lambda_runner.config.template import load_template

from helpers import BIN, check_project, function_properties, generate, refused, run

pytestmark = pytest.mark.e2e
MAKE = ["make", f"BIN={BIN}", "-o", ".venv/.installed"]


def responses(stdout: str) -> dict[str, Any]:
    """`make invoke` prints `== events/<name>`, then the function's response as indented JSON, for each event."""
    parts = re.split(r"^== (events/\S+)\n", stdout, flags=re.MULTILINE)[1:]
    return {name: json.loads(body) for name, body in zip(parts[::2], parts[1::2], strict=True)}


def resources(project: Path) -> dict[str, Any]:
    return load_template(project / "template.yaml")["Resources"]


def statements(project: Path) -> list[dict[str, Any]]:
    (policy,) = resources(project)["FunctionRole"]["Properties"]["Policies"]
    return policy["PolicyDocument"]["Statement"]


def failures(response: dict[str, Any]) -> int:
    return len(response["batchItemFailures"])


# trigger -> (sample event -> what its response must be), and the trigger's event source in template.yaml
CASES = {
    "sqs": ({"events/message.json": 0, "events/batch-with-poison.json": 1}, "SQS"),
    "sqs-fifo": ({"events/message.json": 0, "events/batch-with-poison.json": 1}, "SQS"),
    "kinesis": ({"events/records.json": 0, "events/records-with-poison.json": 2}, "Kinesis"),
    "dynamodb": ({"events/insert.json": 0, "events/modify.json": 0, "events/remove.json": 0}, "DynamoDB"),
}


QUEUES = {"sqs": "{}-InputQueue", "sqs-fifo": "{}-input.fifo"}


@pytest.mark.parametrize("trigger", list(CASES))
def test_batch_triggers(tmp_path: Path, trigger: str) -> None:
    project = generate(tmp_path, "data-processing", f"dp-{trigger}", "--set", f"trigger={trigger}")
    # ruff, its tests (every AWS call allowed by its role) and cfn-lint: test_readmes' run of its CI commands

    function = function_properties(project, "ProcessFunction")
    assert (function["MemorySize"], function["Timeout"]) == (512, 60)
    expected, source_type = CASES[trigger]
    (event,) = function["Events"].values()
    assert event["Type"] == source_type
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["BatchSize"] == 10

    invoked = run([*MAKE, "invoke"], project)
    by_event = responses(invoked.stdout)
    assert {name: failures(response) for name, response in by_event.items()} == expected
    assert f"[local-aws] items in table dp-{trigger}-OutputTable: " in invoked.stderr

    if trigger.startswith("sqs"):
        # Through the local queue: the runner polls it as Lambda's event source mapping does. The sample's third
        # line is not JSON and its fifth has no id; in a FIFO queue's single group the third holds back the rest.
        local = run([*MAKE, "invoke-local"], project).stderr
        assert f"[local-aws] sent 6 messages to {QUEUES[trigger].format(project.name)}" in local
        written = 4 if trigger == "sqs" else 2
        assert f"[local-aws] batch of 6: {written} deleted, {6 - written} left in the queue" in local
        assert f"[local-aws] items in table dp-{trigger}-OutputTable: {written}" in local
    elif trigger == "kinesis":
        # Through the local stream: the fourth record is not JSON; retried from its sequence number, then skipped.
        local = run([*MAKE, "invoke-local"], project).stderr
        assert f"[local-aws] put 4 records on dp-{trigger}-InputStream; reading its stream in batches of 10" in local
        assert "[local-aws] batch of 4: 3 processed, retrying from sequence number " in local
        assert "[local-aws] batch of 1: failed after 3 retries: 1 record skipped, sent to" in local
        assert f"[local-aws] messages in queue dp-{trigger}-FailedRecordsQueue (1):" in local
        assert f"[local-aws] items in table dp-{trigger}-OutputTable: 3" in local
        assert '"id": "reading-103", "source": "shardId-' in local
    else:
        # Through the input table's stream: the third line rewrites the first item (a MODIFY).
        local = run([*MAKE, "invoke-local"], project).stderr
        assert f"[local-aws] wrote 3 items to dp-{trigger}-InputTable; reading its stream in batches of 10" in local
        assert "[local-aws] batch of 3: 3 processed, checkpoint after it" in local
        assert f"[local-aws] items in table dp-{trigger}-OutputTable: 2" in local
        assert '{"data": {"name": "Ada", "plan": "enterprise", "seats": 50}, "id": "customer-101"' in local


def test_sqs_template(tmp_path: Path) -> None:
    project = generate(
        tmp_path, "data-processing", "orders", "--set", "batch_size=500", "--set", "batch_window=20",
        "--set", "max_receive_count=3", "--timeout", "90",
    )  # fmt: skip
    template = resources(project)
    queue = template["InputQueue"]["Properties"]
    assert queue["VisibilityTimeout"] == 6 * 90 + 20  # at least 6 x the function timeout, plus the batching window
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
        "maxReceiveCount": 3,
    }
    assert template["DeadLetterQueue"]["Properties"]["MessageRetentionPeriod"] == 1209600
    (event,) = template["ProcessFunction"]["Properties"]["Events"].values()
    assert (event["Properties"]["BatchSize"], event["Properties"]["MaximumBatchingWindowInSeconds"]) == (500, 20)
    assert template["IdempotencyTable"]["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expiration",
        "Enabled": True,
    }
    run([str(BIN / "cfn-lint"), "template.yaml"], project)


@pytest.mark.parametrize("trigger", ["sqs", "sqs-fifo", "kinesis", "dynamodb", "s3", "schedule"])
def test_least_privilege(tmp_path: Path, trigger: str) -> None:
    """Every statement names this stack's resources: no `*` action, no `*` resource (logs included)."""
    project = generate(tmp_path, "data-processing", f"lp-{trigger}", "--set", f"trigger={trigger}")
    function = resources(project)["ProcessFunction"]["Properties"]
    assert function["Role"] == {"Fn::GetAtt": ["FunctionRole", "Arn"]}  # not SAM's role with managed policies
    assert "Policies" not in function
    for statement in statements(project):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions), statement
        assert statement["Resource"] != "*", statement
    by_sid = {statement["Sid"]: statement for statement in statements(project)}
    assert by_sid["Idempotency"]["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}
    assert by_sid["WriteOutput"]["Resource"] == {"Fn::GetAtt": ["OutputTable", "Arn"]}


def test_s3_project(tmp_path: Path) -> None:
    project = generate(
        tmp_path, "data-processing", "uploads", "--set", "trigger=s3", "--set", "source_prefix=in/orders/"
    )
    check_project(project)
    template = resources(project)
    events = template["ProcessFunction"]["Properties"]["Events"]
    assert {name: event["Properties"]["Filter"]["S3Key"]["Rules"] for name, event in events.items()} == {
        "CsvUpload": [{"Name": "prefix", "Value": "in/orders/"}, {"Name": "suffix", "Value": ".csv"}],
        "JsonLinesUpload": [{"Name": "prefix", "Value": "in/orders/"}, {"Name": "suffix", "Value": ".jsonl"}],
    }
    read = {statement["Sid"]: statement for statement in statements(project)}["ReadUploads"]
    assert (read["Action"], read["Resource"]) == (
        "s3:GetObject",
        {"Fn::Sub": "arn:${AWS::Partition}:s3:::${AWS::StackName}-${AWS::AccountId}/in/orders/*"},
    )
    assert template["ProcessFunction"]["Properties"]["EventInvokeConfig"]["MaximumRetryAttempts"] == 2

    by_event = responses(run([*MAKE, "invoke"], project).stdout)
    for name, key in (
        ("events/upload-csv.json", "in/orders/orders.csv"),
        ("events/upload-jsonl.json", "in/orders/orders.jsonl"),
    ):
        (processed,) = by_event[name]["files"]
        assert (processed["key"], processed["rows"], processed["bad_rows"]) == (key, 3, 2)
        assert len(processed["errors"]) == 2

    # Through the local bucket: the upload's notification, then the rows in the local output table.
    local = run([*MAKE, "invoke-local", "FILE=samples/orders.jsonl"], project).stderr
    assert "[local-aws] seeded s3://uploads-123456789012/in/orders/orders.jsonl from samples/orders.jsonl" in local
    assert "[local-aws] items in table uploads-OutputTable: 3" in local


def test_schedule_project(tmp_path: Path) -> None:
    project = generate(
        tmp_path, "data-processing", "nightly", "--set", "trigger=schedule", "--set", "schedule=cron(0 2 * * ? *)",
        "--set", "job_name=compact",
    )  # fmt: skip
    check_project(project)
    (event,) = resources(project)["ProcessFunction"]["Properties"]["Events"].values()
    properties = event["Properties"]
    assert (event["Type"], properties["ScheduleExpression"]) == ("ScheduleV2", "cron(0 2 * * ? *)")
    assert json.loads(properties["Input"]) == {
        "job": "compact",
        "schedule_arn": "<aws.scheduler.schedule-arn>",
        "scheduled_time": "<aws.scheduler.scheduled-time>",
        "attempt": "<aws.scheduler.attempt-number>",
    }
    assert properties["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ScheduleDeadLetterQueue", "Arn"]}}
    assert properties["RetryPolicy"]["MaximumRetryAttempts"] == 5
    (response,) = responses(run([*MAKE, "invoke"], project).stdout).values()
    assert response["duplicate"] is False


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["trigger=sqs-fifo", "batch_size=11"], "batch_size 11 is too large for a FIFO queue"),
        (["batch_size=100"], "batch_size 100 needs a batching window"),
        (["batch_size=10001", "batch_window=5"], "batch_size must be between 1 and 10000; 10001 is outside"),
        (["trigger=kinesis", "batch_size=0"], "batch_size must be between 1 and 10000; 0 is outside"),
        (["trigger=dynamodb", "batch_window=301"], "batch_window must be between 0 and 300; 301 is outside"),
        (["trigger=sqs-fifo", "batch_window=5"], "option batch_window applies only when trigger in"),
        (["trigger=s3", "batch_size=5"], "option batch_size applies only when trigger in"),
        (["max_receive_count=0"], "max_receive_count must be between 1 and 1000; 0 is outside"),
        (["trigger=kinesis", "max_record_age=30"], "max_record_age must be between 60 and 604800; 30 is outside"),
        (["trigger=kinesis", "max_record_age=604800"], "idempotency_hours 24 is shorter than max_record_age"),
        (["trigger=schedule", "schedule=every hour"], "schedule 'every hour' is not valid: write rate(1 hour)"),
        (["trigger=s3", "source_prefix=/in"], "source_prefix '/in' is not valid"),
        (["trigger=kafka"], "trigger must be one of sqs, sqs-fifo, kinesis, dynamodb, s3, schedule"),
    ],
)
def test_limits_are_refused_before_anything_is_written(tmp_path: Path, options: list[str], message: str) -> None:
    sets = [argument for option in options for argument in ("--set", option)]
    assert message in refused(tmp_path, "data-processing", *sets)
