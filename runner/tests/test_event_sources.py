"""`invoke --local-aws --send FILE`: the runner as Lambda's SQS event source mapping, on a local queue."""

from __future__ import annotations

import base64
import io
import json
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambda_runner.config.template import Resolver, load_template, read_functions
from lambda_runner.errors import RunnerError
from lambda_runner.local.event_sources import (
    SqsPoller,
    SqsSource,
    StreamPoller,
    StreamSource,
    read_bodies,
    sqs_source,
    stream_source,
)
from lambda_runner.local.local_aws import collect_written, report_written

from lambda_project import response, runner, write_project

SERVICES = ("s3", "sqs", "dynamodb", "kinesis")
QUEUE_EVENT = """\
Events:
  Jobs:
    Type: SQS
    Properties:
      Queue: !GetAtt JobsQueue.Arn
      BatchSize: {batch_size}
      FunctionResponseTypes:
        - ReportBatchItemFailures
"""
QUEUE = """\
JobsQueue:
  Type: AWS::SQS::Queue
  Properties:
    VisibilityTimeout: 30
"""
# Fails the messages whose body says "fail", reports them, and records every body it saw in a file.
HANDLER = """\
import json, os

def handler(event, context):
    bodies = [record["body"] for record in event["Records"]]
    with open(os.environ["SEEN"], "a") as seen:
        seen.write(json.dumps(bodies) + "\\n")
    failed = [record["messageId"] for record in event["Records"] if record["body"] == "fail"]
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
"""


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def poller(sqs: Any, *, batch_size: int = 10, partial: bool = True, fifo: bool = False) -> SqsPoller:
    name = "jobs.fifo" if fifo else "jobs"
    sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"} if fifo else {})
    return SqsPoller(sqs, SqsSource(name, batch_size, partial))


def visible(sqs: Any, poller: SqsPoller) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=poller.url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_batches_have_lambdas_shape_and_size(sqs: Any) -> None:
    source = poller(sqs, batch_size=12)
    source.send([json.dumps({"n": n}) for n in range(15)])
    first = source.next_batch()
    assert first is not None
    assert len(first["Records"]) == 12  # more than one ReceiveMessage call of at most 10
    record = first["Records"][0]
    assert set(record) == {
        "messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody", "eventSource",
        "eventSourceARN", "awsRegion",
    }  # fmt: skip
    assert (record["eventSource"], record["eventSourceARN"]) == ("aws:sqs", "arn:aws:sqs:us-east-1:123456789012:jobs")
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert source.settle(True, b'{"batchItemFailures": []}') == []
    second = source.next_batch()
    assert second is not None
    assert len(second["Records"]) == 3
    source.settle(True, None)
    assert source.next_batch() is None
    assert visible(sqs, source) == 0


def test_partial_failures_stay_in_the_queue(sqs: Any) -> None:
    source = poller(sqs)
    source.send(["a", "b", "c"])
    batch = source.next_batch()
    assert batch is not None
    failed = batch["Records"][1]["messageId"]
    response_body = json.dumps({"batchItemFailures": [{"itemIdentifier": failed}]}).encode()
    assert source.settle(True, response_body) == [failed]
    assert visible(sqs, source) == 1
    assert source.next_batch() is None  # invisible for the visibility timeout, as on AWS


@pytest.mark.parametrize(
    "body",
    [b'{"batchItemFailures": [{"itemIdentifier": ""}]}', b'{"batchItemFailures": [{"itemIdentifier": "other"}]}',
     b"not json", b'{"batchItemFailures": "x"}'],
)  # fmt: skip
def test_a_malformed_partial_response_fails_the_whole_batch(sqs: Any, body: bytes) -> None:
    source = poller(sqs)
    source.send(["a", "b"])
    assert source.next_batch() is not None
    assert len(source.settle(True, body)) == 2
    assert visible(sqs, source) == 2


def test_a_failed_invocation_keeps_every_message(sqs: Any) -> None:
    source = poller(sqs)
    source.send(["a", "b"])
    assert source.next_batch() is not None
    assert len(source.settle(False, None)) == 2
    assert visible(sqs, source) == 2


def test_without_partial_responses_a_success_deletes_all(sqs: Any) -> None:
    source = poller(sqs, partial=False)
    source.send(["a"])
    batch = source.next_batch()
    assert batch is not None
    ignored = json.dumps({"batchItemFailures": [{"itemIdentifier": batch["Records"][0]["messageId"]}]}).encode()
    assert source.settle(True, ignored) == []  # Lambda ignores the response without ReportBatchItemFailures
    assert visible(sqs, source) == 0


def test_fifo_keeps_the_file_order_and_equal_lines(sqs: Any) -> None:
    source = poller(sqs, fifo=True)
    source.send(["1", "2", "2", "3"])
    batch = source.next_batch()
    assert batch is not None
    assert [record["body"] for record in batch["Records"]] == ["1", "2", "2", "3"]
    assert batch["Records"][0]["attributes"]["MessageGroupId"] == "local"


def test_source_from_the_template(tmp_path: Path) -> None:
    project = write_project(
        tmp_path, HANDLER, properties=QUEUE_EVENT.format(batch_size=25), resources=QUEUE, handler="app.handler"
    )
    template = project / "template.yaml"
    function = read_functions(template)["Fn"]
    source = sqs_source(function, Resolver(load_template(template), project.name))
    assert (source.queue, source.batch_size, source.partial) == (f"{project.name}-JobsQueue", 25, True)
    function.events = {}
    with pytest.raises(RunnerError, match="--send needs an event of Type SQS on Fn"):
        sqs_source(function, Resolver(load_template(template), project.name))


def test_read_bodies(tmp_path: Path) -> None:
    messages = tmp_path / "messages.jsonl"
    messages.write_text('{"a": 1}\n\n  \n{"b": 2}\n')
    assert read_bodies(messages) == ['{"a": 1}', '{"b": 2}']
    messages.write_text("\n")
    with pytest.raises(RunnerError, match="no messages in it"):
        read_bodies(messages)
    with pytest.raises(RunnerError, match="cannot read it"):
        read_bodies(tmp_path / "missing.jsonl")


def test_send_end_to_end(tmp_path: Path) -> None:
    """`invoke --local-aws --send FILE`: batches of BatchSize until the queue is drained; failures stay."""
    project = write_project(
        tmp_path / "proj", HANDLER, properties=QUEUE_EVENT.format(batch_size=2), resources=QUEUE,
        globals_="Environment:\n  Variables:\n    SEEN: " + str(tmp_path / "seen.jsonl"),
    )  # fmt: skip
    (project / "messages.jsonl").write_text("one\nfail\nthree\n")
    result = runner(project, "invoke", "--send", "messages.jsonl", timeout=120)
    assert result.returncode == 0, result.stderr
    seen = [json.loads(line) for line in (tmp_path / "seen.jsonl").read_text().splitlines()]
    assert seen == [["one", "fail"], ["three"]]
    assert "[local-aws] sent 3 messages to proj-JobsQueue; polling it in batches of 2" in result.stderr
    assert "[local-aws] batch of 2: 1 deleted, 1 left in the queue" in result.stderr
    assert "[local-aws] batch of 1: 1 deleted, 0 left in the queue" in result.stderr
    last = result.stdout[result.stdout.rindex("{\n") :]
    assert response(type(result)(result.args, 0, last, "")) == {"batchItemFailures": []}


def test_send_of_a_missing_file_fails_before_starting(tmp_path: Path) -> None:
    project = write_project(tmp_path, HANDLER, properties=QUEUE_EVENT.format(batch_size=2), resources=QUEUE)
    result = runner(project, "invoke", "--send", "nope.jsonl")
    assert result.returncode == 2
    assert result.stderr.strip().endswith("--send nope.jsonl: cannot read it: No such file or directory")
    assert "[local-aws]" not in result.stderr


def test_report_shows_the_first_items_of_each_table(sqs: Any) -> None:
    """What `make invoke-local` prints at the end: the items written, as plain JSON, ten per table at most."""
    clients = SimpleNamespace(**{name: boto3.client(name, region_name="us-east-1") for name in SERVICES})
    clients.dynamodb.create_table(
        TableName="out",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table = boto3.resource("dynamodb", region_name="us-east-1").Table("out")
    table.put_item(Item={"id": "a", "total": Decimal("2.50"), "count": 3, "tags": {"x", "y"}, "note": None})
    for number in range(11):
        table.put_item(Item={"id": f"n{number:02d}"})
    log = io.StringIO()
    report_written(collect_written(clients, {}), log)
    lines = log.getvalue().splitlines()
    assert lines[0] == "[local-aws] items in table out: 12"
    assert len(lines) == 1 + 10 + 1
    assert '  {"count": 3, "id": "a", "note": null, "tags": ["x", "y"], "total": 2.5}' in lines
    assert lines[-1] == "  ... and 2 more"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield SimpleNamespace(
            **{
                name: boto3.client(name, region_name="us-east-1")
                for name in ("kinesis", "dynamodb", "dynamodbstreams", "sqs")
            }
        )


def test_kinesis_checkpoints_at_the_first_failure_then_gives_up(aws: Any) -> None:
    """Batches of BatchSize from TRIM_HORIZON; a reported failure checkpoints before it; retries end on the queue."""
    aws.kinesis.create_stream(StreamName="readings", ShardCount=1)
    aws.sqs.create_queue(QueueName="failed")
    poller = StreamPoller(aws, StreamSource("Kinesis", "readings", 2, True, 1, "failed"))
    poller.send(["a", "b", "c"])
    first = poller.next_batch()
    assert first is not None
    records = first["Records"]
    assert [base64.b64decode(record["kinesis"]["data"]) for record in records] == [b"a", b"b"]
    assert {record["eventSource"] for record in records} == {"aws:kinesis"}
    assert records[0]["eventSourceARN"] == "arn:aws:kinesis:us-east-1:123456789012:stream/readings"
    assert records[0]["eventID"].endswith(":" + records[0]["kinesis"]["sequenceNumber"])
    failed_b = records[1]["kinesis"]["sequenceNumber"]
    outcome = poller.settle(True, json.dumps({"batchItemFailures": [{"itemIdentifier": failed_b}]}).encode())
    assert outcome == f"1 processed, retrying from sequence number {failed_b}"
    second = poller.next_batch()
    assert second is not None
    assert [base64.b64decode(record["kinesis"]["data"]) for record in second["Records"]] == [b"b", b"c"]
    assert poller.settle(False, None).startswith("failed after 1 retries: 2 records skipped, sent to failed")
    assert poller.next_batch() is None
    url = aws.sqs.get_queue_url(QueueName="failed")["QueueUrl"]
    (message,) = aws.sqs.receive_message(QueueUrl=url)["Messages"]
    info = json.loads(message["Body"])["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["batchSize"]) == (failed_b, 2)


def test_kinesis_success_moves_past_the_batch(aws: Any) -> None:
    aws.kinesis.create_stream(StreamName="readings", ShardCount=1)
    poller = StreamPoller(aws, StreamSource("Kinesis", "readings", 10, False, 0, None))
    poller.send(["a", "b"])
    batch = poller.next_batch()
    assert batch is not None
    assert len(batch["Records"]) == 2
    assert (
        poller.settle(True, b'{"batchItemFailures": [{"itemIdentifier": "x"}]}') == "2 processed, checkpoint after it"
    )
    assert poller.next_batch() is None
    assert poller.dropped == []


@pytest.fixture
def aws_server(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A moto server, as `--local-aws` runs: in-process mocks route DynamoDB Streams' DescribeStream to DynamoDB."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
    endpoint = f"http://{host}:{port}"
    yield SimpleNamespace(
        **{name: boto3.client(name, endpoint_url=endpoint, **credentials) for name in ("dynamodb", "dynamodbstreams")}
    )
    server.stop()


def test_dynamodb_items_become_stream_records(aws_server: Any) -> None:
    aws = aws_server
    aws.dynamodb.create_table(
        TableName="customers",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    poller = StreamPoller(aws, StreamSource("DynamoDB", "customers", 10, True, 3, None))
    poller.send(['{"id": "c-1", "seats": 5}', '{"id": "c-1", "seats": 50}'])
    batch = poller.next_batch()
    assert batch is not None
    insert, modify = batch["Records"]
    assert (insert["eventName"], modify["eventName"]) == ("INSERT", "MODIFY")
    assert insert["eventSource"] == "aws:dynamodb"
    assert insert["eventSourceARN"].startswith("arn:aws:dynamodb:us-east-1:123456789012:table/customers/stream/")
    assert modify["dynamodb"]["NewImage"] == {"id": {"S": "c-1"}, "seats": {"N": "50"}}
    assert modify["dynamodb"]["OldImage"] == {"id": {"S": "c-1"}, "seats": {"N": "5"}}
    assert isinstance(insert["dynamodb"]["ApproximateCreationDateTime"], int)
    failed = modify["dynamodb"]["SequenceNumber"]
    outcome = poller.settle(True, json.dumps({"batchItemFailures": [{"itemIdentifier": failed}]}).encode())
    assert outcome == f"1 processed, retrying from sequence number {failed}"
    with pytest.raises(RunnerError, match="line 1 is not a JSON object"):
        poller.send(["[1]"])


def test_stream_source_from_the_template(tmp_path: Path) -> None:
    events = """\
Events:
  Readings:
    Type: Kinesis
    Properties:
      Stream: !GetAtt Readings.Arn
      StartingPosition: TRIM_HORIZON
      BatchSize: 7
      MaximumRetryAttempts: -1
      DestinationConfig:
        OnFailure:
          Destination: !GetAtt Failed.Arn
"""
    resources = "Readings:\n  Type: AWS::Kinesis::Stream\nFailed:\n  Type: AWS::SQS::Queue\n"
    project = write_project(tmp_path, HANDLER, properties=events, resources=resources, handler="app.handler")
    template = project / "template.yaml"
    function = read_functions(template)["Fn"]
    source = stream_source(function, Resolver(load_template(template), project.name))
    assert source is not None
    assert (source.kind, source.name, source.batch_size, source.partial) == (
        "Kinesis", f"{project.name}-Readings", 7, False
    )  # fmt: skip
    assert (source.retries, source.on_failure) == (10, f"{project.name}-Failed")  # -1 is capped locally
    function.events = {}
    assert stream_source(function, Resolver(load_template(template), project.name)) is None
