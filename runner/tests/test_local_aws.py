"""`--local-aws`: resources from a real template, under the resolver's names; seeds; the report of what was written."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from pathlib import Path
from urllib.parse import unquote_plus

import boto3
import pytest

from lambda_runner.config.template import read_functions
from lambda_runner.errors import RunnerError
from lambda_runner.local.local_aws import local_aws, parse_seed, seed_event
from lambda_runner.sandboxes.choose import open_invoker

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  SourceBucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${AWS::StackName}-source-${AWS::AccountId}"
  ThumbnailBucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${AWS::StackName}-thumbs-${AWS::AccountId}"
  JobsQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 60
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt JobsDeadLetters.Arn
        maxReceiveCount: 3
  JobsDeadLetters:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-dlq"
      MessageRetentionPeriod: 1209600
  Results:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: N}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
        - {AttributeName: sk, KeyType: RANGE}
  Audit:
    Type: AWS::Serverless::SimpleTable
  Clicks:
    Type: AWS::Kinesis::Stream
    Properties:
      ShardCount: 2
  ResizeFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: src/
      Environment:
        Variables:
          DEST_BUCKET: !Ref ThumbnailBucket
          QUEUE_URL: !Ref JobsQueue
          TABLE_NAME: !Ref Results
      Events:
        Upload:
          Type: S3
          Properties:
            Bucket: !Ref SourceBucket
            Events: s3:ObjectCreated:*
"""

SOURCE = "thumbs-source-123456789012"
DEST = "thumbs-thumbs-123456789012"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    root = tmp_path / "thumbs"  # the folder name is the stack name
    (root / "src").mkdir(parents=True)
    (root / "template.yaml").write_text(TEMPLATE)
    (root / "photo one.jpg").write_bytes(b"\xff\xd8\xff fake jpeg")
    return root


def _session(env: dict[str, str]) -> boto3.session.Session:
    """A session built only from the yielded overrides, as the function's SDK would build it."""
    return boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env["AWS_SESSION_TOKEN"],
        region_name=env["AWS_DEFAULT_REGION"],
    )


def test_resources_seeds_and_report(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    template = project / "template.yaml"
    functions = read_functions(template)
    env_vars = functions["ResizeFunction"].environment
    seed = f"s3://{SOURCE}/uploads/photo one.jpg={project / 'photo one.jpg'}"
    log = io.StringIO()
    downloads = tmp_path / "out"
    with local_aws(template, functions, [seed], log, download_to=downloads) as env:
        assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
        # The function's SDK gets nothing but these variables: AWS_ENDPOINT_URL must route every client locally.
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        session = boto3.session.Session()
        s3, sqs = session.client("s3"), session.client("sqs")
        dynamodb, kinesis = session.client("dynamodb"), session.client("kinesis")

        assert sorted(b["Name"] for b in s3.list_buckets()["Buckets"]) == [SOURCE, DEST]
        assert env_vars["DEST_BUCKET"] == DEST
        seeded = s3.get_object(Bucket=SOURCE, Key="uploads/photo one.jpg")
        assert seeded["Body"].read() == b"\xff\xd8\xff fake jpeg"
        assert seeded["ContentType"] == "image/jpeg"

        queues = sorted(url.rsplit("/", 1)[-1] for url in sqs.list_queues()["QueueUrls"])
        assert queues == ["thumbs-JobsQueue", "thumbs-dlq"]
        jobs_url = sqs.get_queue_url(QueueName="thumbs-JobsQueue")["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=jobs_url, AttributeNames=["All"])["Attributes"]
        assert attributes["VisibilityTimeout"] == "60"
        assert json.loads(attributes["RedrivePolicy"]) == {
            "deadLetterTargetArn": "arn:aws:sqs:eu-west-1:123456789012:thumbs-dlq",
            "maxReceiveCount": 3,
        }

        table = dynamodb.describe_table(TableName=env_vars["TABLE_NAME"])["Table"]
        assert table["TableName"] == "thumbs-Results"
        assert table["KeySchema"] == [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        audit = dynamodb.describe_table(TableName="thumbs-Audit")["Table"]
        assert audit["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
        stream = kinesis.describe_stream_summary(StreamName="thumbs-Clicks")["StreamDescriptionSummary"]
        assert stream["OpenShardCount"] == 2

        # What the function would do, through the names its environment gives it.
        s3.put_object(
            Bucket=env_vars["DEST_BUCKET"], Key="thumbs/photo one.jpg", Body=b"small", ContentType="image/jpeg"
        )
        s3.put_object(Bucket=SOURCE, Key="uploads/photo one.jpg", Body=b"rewritten")
        sqs.send_message(QueueUrl=env_vars["QUEUE_URL"], MessageBody='{"done": "photo one.jpg"}')
        dynamodb.put_item(TableName=env_vars["TABLE_NAME"], Item={"pk": {"S": "photo"}, "sk": {"N": "1"}})
        kinesis.put_record(StreamName="thumbs-Clicks", Data=b"click", PartitionKey="a")

    lines = log.getvalue().splitlines()
    assert lines[0] == f"[local-aws] seeded s3://{SOURCE}/uploads/photo one.jpg from {project / 'photo one.jpg'}"
    assert lines[1].startswith("[local-aws] AWS at http://127.0.0.1:")
    assert lines[1].endswith(
        f": bucket {SOURCE}, bucket {DEST}, queue thumbs-JobsQueue, queue thumbs-dlq, stream thumbs-Clicks,"
        " table thumbs-Results, table thumbs-Audit"
    )
    assert lines[2:5] == [
        f"[local-aws] ResizeFunction: DEST_BUCKET={DEST}",
        "[local-aws] ResizeFunction: QUEUE_URL=https://sqs.eu-west-1.amazonaws.com/123456789012/thumbs-JobsQueue",
        "[local-aws] ResizeFunction: TABLE_NAME=thumbs-Results",
    ]
    assert lines[5:] == [
        "[local-aws] S3 objects written (2):",
        f"  s3://{SOURCE}/uploads/photo one.jpg  9 bytes  binary/octet-stream",
        f"  s3://{DEST}/thumbs/photo one.jpg  5 bytes  image/jpeg",
        "[local-aws] messages in queue thumbs-JobsQueue (1):",
        '  {"done": "photo one.jpg"}',
        "[local-aws] items in table thumbs-Results: 1",
        '  {"pk": "photo", "sk": 1}',
        "[local-aws] records in stream thumbs-Clicks: 1",
        f"[local-aws] downloaded 2 objects to {downloads}",
    ]
    assert (downloads / DEST / "thumbs" / "photo one.jpg").read_bytes() == b"small"
    assert (downloads / SOURCE / "uploads" / "photo one.jpg").read_bytes() == b"rewritten"


RESIZE = """\
import os
from urllib.parse import unquote_plus

import boto3

s3 = boto3.client("s3")


def handler(event, context):
    record = event["Records"][0]["s3"]
    key = unquote_plus(record["object"]["key"])
    data = s3.get_object(Bucket=record["bucket"]["name"], Key=key)["Body"].read()
    target = "thumbs/" + key.rsplit("/", 1)[-1]
    s3.put_object(Bucket=os.environ["DEST_BUCKET"], Key=target, Body=data[:4], ContentType="image/jpeg")
    return {"written": target}
"""


def test_seeded_invocation_end_to_end(project: Path) -> None:
    """`invoke --local-aws --seed ...` without an event: the seed's put event, the real handler, the report."""
    (project / "src" / "app.py").write_text(RESIZE)
    template = project / "template.yaml"
    functions = read_functions(template)
    seeds = [f"s3://{SOURCE}/uploads/photo one.jpg={project / 'photo one.jpg'}"]
    log = io.StringIO()
    with local_aws(template, functions, seeds, log) as env:
        invoker = open_invoker(functions["ResizeFunction"], mode="inprocess", env_overrides=env, log=log)
        try:
            result = invoker.invoke(json.dumps(seed_event(seeds)).encode())
        finally:
            invoker.close()
    assert result.status == "success", result.error
    assert json.loads(result.payload) == {"written": "thumbs/photo one.jpg"}
    assert log.getvalue().splitlines()[-2:] == [
        "[local-aws] S3 objects written (1):",
        f"  s3://{DEST}/thumbs/photo one.jpg  4 bytes  image/jpeg",
    ]


def test_a_profile_of_the_users_is_not_read(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Local AWS is never the user's: an AWS_PROFILE that ~/.aws/config lacks (botocore raises ProfileNotFound
    for it) changes nothing, and is set again afterwards."""
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(project / "no-config"))
    (project / "src" / "app.py").write_text(RESIZE)
    template = project / "template.yaml"
    functions = read_functions(template)
    seeds = [f"s3://{SOURCE}/uploads/photo one.jpg={project / 'photo one.jpg'}"]
    with local_aws(template, functions, seeds, io.StringIO()) as env:
        invoker = open_invoker(functions["ResizeFunction"], mode="inprocess", env_overrides=env, log=io.StringIO())
        try:
            result = invoker.invoke(json.dumps(seed_event(seeds)).encode())
        finally:
            invoker.close()
    assert result.status == "success", result.error
    assert os.environ["AWS_PROFILE"] == "no-such-profile"


def test_nothing_written_and_undeclared_seed_bucket(project: Path) -> None:
    template = project / "template.yaml"
    log = io.StringIO()
    seed = f"s3://elsewhere/a.jpg={project / 'photo one.jpg'}"
    with local_aws(template, read_functions(template), [seed], log) as env:
        s3 = _session(env).client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
        s3.delete_object(Bucket="elsewhere", Key="a.jpg")
    lines = log.getvalue().splitlines()
    assert lines[0] == "[local-aws] note: bucket elsewhere is not in template.yaml; created it for --seed"
    assert lines[-2:] == ["[local-aws] S3 objects deleted (1):", "  s3://elsewhere/a.jpg"]


def test_report_says_when_nothing_was_written(project: Path) -> None:
    template = project / "template.yaml"
    log = io.StringIO()
    with local_aws(template, read_functions(template), [], log):
        pass
    assert log.getvalue().splitlines()[-1] == "[local-aws] the function wrote nothing to S3, SQS, DynamoDB or Kinesis"


def test_seed_specs(project: Path) -> None:
    photo = project / "photo one.jpg"
    seed = parse_seed(f"s3://b/year=2026/x.jpg={photo}")
    assert (seed.bucket, seed.key, seed.path) == ("b", "year=2026/x.jpg", photo)
    for bad in ("b/x.jpg=./f", f"s3://b={photo}", f"s3://b/={photo}", "s3://b/x.jpg", "s3://b/x.jpg="):
        with pytest.raises(RunnerError, match=r"is not of the form s3://BUCKET/KEY=\./FILE"):
            parse_seed(bad)
    with pytest.raises(RunnerError, match=r"--seed 's3://b/x=nope.jpg': no file nope.jpg"):
        parse_seed("s3://b/x=nope.jpg")


def test_bad_seed_fails_before_moto_starts(project: Path) -> None:
    template = project / "template.yaml"
    with pytest.raises(RunnerError, match="is not of the form"), local_aws(template, {}, ["oops"], io.StringIO()):
        pytest.fail("the context must not be entered")


def test_seed_event_is_an_s3_put_for_each_seed(project: Path) -> None:
    photo = project / "photo one.jpg"
    event = seed_event([f"s3://{SOURCE}/uploads/photo one.jpg={photo}", f"s3://{SOURCE}/b+c.jpg={photo}"])
    first, second = event["Records"]
    assert first["eventName"] == "ObjectCreated:Put"
    assert first["s3"]["bucket"]["name"] == SOURCE
    assert first["s3"]["object"]["key"] == "uploads/photo+one.jpg"
    assert unquote_plus(second["s3"]["object"]["key"]) == "b+c.jpg"
    assert first["s3"]["object"]["size"] == photo.stat().st_size
    assert first["s3"]["object"]["eTag"] == hashlib.md5(photo.read_bytes()).hexdigest()
    with pytest.raises(RunnerError, match=r"no event given and no --seed"):
        seed_event([])


def test_missing_moto_is_a_user_error(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "moto.server", None)
    template = project / "template.yaml"
    with (
        pytest.raises(RunnerError, match=r"^--local-aws needs moto\[server\]: pip install 'moto\[server\]'$"),
        local_aws(template, {}, [], io.StringIO()),
    ):
        pytest.fail("the context must not be entered")
