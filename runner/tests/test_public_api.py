"""The runner's public API, as a generated project's code and tests use it: `invoke`, `build_event`,
`read_function`, `LambdaContext` and the pytest plugin's fixtures."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import lambda_runner
from lambda_runner.events.catalog import build_event as catalog_build_event

from lambda_project import write_project

pytest_plugins = ["pytester"]

GREETER = """\
import base64
import json
import os


def handler(event, context):
    print("greeting", event.get("name"))
    if event.get("fail"):
        raise ValueError("asked to fail")
    greeting = f"{os.environ['GREETING']}, {event.get('name', 'world')}!"
    return {"greeting": greeting, "left": context.get_remaining_time_in_millis() > 0}
"""
PROPERTIES = """\
Timeout: 7
MemorySize: 256
Environment:
  Variables:
    GREETING: Hi
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = write_project(tmp_path / "greeter", GREETER, properties=PROPERTIES)
    (root / "events").mkdir()
    (root / "events" / "hello.json").write_text('{"name": "Ada"}\n')
    return root


def test_the_package_exports_the_public_names_and_loads_them_on_first_use() -> None:
    code = (
        "import sys, lambda_runner as r; loaded = 'lambda_runner.public' in sys.modules; "
        "print(loaded, sorted(r.__all__), r.LambdaContext.__name__, 'lambda_runner.public' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    names = ["FunctionConfig", "InvokeResult", "LambdaContext", "RunnerError", "build_event", "invoke", "read_function"]
    assert result.stdout.strip() == f"False {names} LambdaContext True"
    with pytest.raises(AttributeError, match="has no attribute 'open_invoker'"):
        _ = lambda_runner.open_invoker


def test_read_function_reads_the_template(project: Path) -> None:
    function = lambda_runner.read_function(project)
    assert (function.logical_id, function.handler, function.timeout, function.memory_size) == (
        "Fn",
        "app.handler",
        7,
        256,
    )
    assert function.environment == {"GREETING": "Hi"}
    assert function.code_dir == (project / "src").resolve()
    assert function.name == "greeter-Fn"
    assert lambda_runner.read_function(project, "Fn").arn == function.arn


def test_read_function_refuses_an_unknown_function_or_project(project: Path, tmp_path: Path) -> None:
    with pytest.raises(lambda_runner.RunnerError, match=r"no function 'Other' in template\.yaml; choose one of: Fn"):
        lambda_runner.read_function(project, "Other")
    with pytest.raises(lambda_runner.RunnerError, match=r"no template\.yaml in "):
        lambda_runner.read_function(tmp_path / "nowhere")


def test_build_event_takes_fields_as_keywords_of_any_plain_type() -> None:
    event = lambda_runner.build_event("s3", "put", bucket="photos", key=["a b.jpg", "c.png"], size=2048)
    assert event == catalog_build_event("s3", "put", {"bucket": "photos", "key": ["a b.jpg", "c.png"], "size": "2048"})
    assert [record["s3"]["object"]["key"] for record in event["Records"]] == ["a+b.jpg", "c.png"]
    assert {record["s3"]["object"]["size"] for record in event["Records"]} == {2048}
    request = lambda_runner.build_event("apigw-http", "request", method="POST", path="/items", body={"id": 1})
    assert (request["requestContext"]["http"]["method"], json.loads(request["body"])) == ("POST", {"id": 1})


def test_build_event_names_the_valid_choices() -> None:
    with pytest.raises(lambda_runner.RunnerError, match="s3 events have no field 'colour'; choose from: bucket, key"):
        lambda_runner.build_event("s3", "put", colour="red")
    with pytest.raises(lambda_runner.RunnerError, match="unknown event source 'ftp'"):
        lambda_runner.build_event("ftp", "put")


def test_invoke_returns_the_response_and_the_logs(project: Path, mode: str) -> None:
    result = lambda_runner.invoke({"name": "Ada"}, project=project, mode=mode)
    assert isinstance(result, lambda_runner.InvokeResult)
    assert (result.ok, result.status, result.error) == (True, "success", None)
    assert result.response == {"greeting": "Hi, Ada!", "left": True}
    assert f"START RequestId: {result.request_id} Version: $LATEST" in result.logs
    assert "greeting Ada" in result.logs
    assert f"REPORT RequestId: {result.request_id}\tDuration: " in result.logs
    assert result.billed_ms >= 1
    assert result.max_memory_mb > 0


def test_invoke_reports_a_failure_without_raising(project: Path) -> None:
    result = lambda_runner.invoke(b'{"fail": true}', project=project, function="Fn", env={"GREETING": "Yo"})
    assert (result.ok, result.status, result.response) == (False, "error", None)
    assert result.error is not None
    assert (result.error["errorType"], result.error["errorMessage"]) == ("ValueError", "asked to fail")
    assert "[ERROR] ValueError: asked to fail\nTraceback (most recent call last):" in result.logs


def test_invoke_applies_env_overrides(project: Path) -> None:
    assert lambda_runner.invoke(project=project, env={"GREETING": "Yo"}).response == {
        "greeting": "Yo, world!",
        "left": True,
    }


def test_invoke_refuses_an_unknown_mode(project: Path) -> None:
    with pytest.raises(lambda_runner.RunnerError, match="unknown mode 'docker'"):
        lambda_runner.invoke({}, project=project, mode="docker")


def test_lambda_context_reads_the_function_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "greeter-Fn")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
    deadline_ms = int(time.time() * 1000) + 5000
    arn = "arn:aws:lambda:us-east-1:123456789012:function:greeter-Fn"
    context = lambda_runner.LambdaContext("id-1", deadline_ms, arn, client_context={"custom": {"a": "b"}})
    assert (context.aws_request_id, context.function_name, context.memory_limit_in_mb) == ("id-1", "greeter-Fn", "256")
    assert context.invoked_function_arn == arn
    assert context.client_context is not None
    assert context.client_context.custom == {"a": "b"}
    assert 4000 < context.get_remaining_time_in_millis() <= 5000
    assert lambda_runner.LambdaContext("id-2", 0, arn).get_remaining_time_in_millis() == 0


# ------------------------------------------------------------------------------------------------ the pytest plugin

CONFTEST = '"""The plugin loads itself: installing the runner registers it (a pytest11 entry point)."""\n'
PYPROJECT = '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["src", "."]\n'


def _run(pytester: pytest.Pytester, project: Path, tests: str, *args: str) -> pytest.RunResult:
    """The project's own tests, run by pytest in a child process; the project is `proj` (a short stack name)."""
    root = pytester.path / "proj"
    for path in project.rglob("*"):
        if path.is_file():
            target = root / path.relative_to(project)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "tests").mkdir(exist_ok=True)
    (root / "tests" / "conftest.py").write_text(CONFTEST)
    (root / "tests" / "test_function.py").write_text(textwrap.dedent(tests))
    options = ["-p", "no:xdist", "-p", "no:cacheprovider", "-c", "proj/pyproject.toml", "--rootdir", "proj"]
    return pytester.runpytest_subprocess(*options, *args, "proj/tests")


def test_plugin_fixtures_give_the_function_as_the_template_describes_it(
    pytester: pytest.Pytester, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production")  # must never reach a test
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY")
    tests = """\
        import os
        import sys


        def test_function_config(function_config):
            assert (function_config.handler, function_config.timeout) == ("app.handler", 7)
            assert function_config.memory_size == 256


        def test_function_environment_is_lambdas(function_environment):
            assert "AWS_PROFILE" not in os.environ
            assert os.environ["GREETING"] == function_environment["GREETING"] == "Hi"
            assert os.environ["AWS_ACCESS_KEY_ID"] != "AKIAREALKEY"  # dummy credentials
            assert os.environ["AWS_LAMBDA_FUNCTION_NAME"].endswith("-Fn")
            assert os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
            assert os.environ["_HANDLER"] == "app.handler"


        def test_handler_with_a_context_and_a_sample_event(handler, lambda_context, load_event, function_config):
            assert handler(load_event("hello.json"), lambda_context) == {"greeting": "Hi, Ada!", "left": True}
            assert lambda_context.function_name == os.environ["AWS_LAMBDA_FUNCTION_NAME"]
            assert lambda_context.memory_limit_in_mb == "256"
            assert lambda_context.invoked_function_arn == function_config.arn
            assert 6000 < lambda_context.get_remaining_time_in_millis() <= 7000


        def test_load_event_gives_a_fresh_copy_each_time(load_event):
            load_event("hello.json")["name"] = "changed"
            assert load_event("hello.json") == {"name": "Ada"}


        def test_neither_moto_nor_boto3_is_imported_without_local_aws():
            assert "moto" not in sys.modules and "boto3" not in sys.modules
        """
    result = _run(pytester, project, tests)
    result.assert_outcomes(passed=5)


def test_local_aws_creates_the_templates_resources_before_the_handler_makes_its_clients(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    code = """\
        import os

        import boto3

        S3 = boto3.client("s3")  # at import time, as handlers do


        def handler(event, context):
            S3.put_object(Bucket=os.environ["BUCKET"], Key=event["key"], Body=b"written")
            return {"written": event["key"]}
        """
    resources = """\
        Uploads:
          Type: AWS::S3::Bucket
        Jobs:
          Type: AWS::SQS::Queue
        Items:
          Type: AWS::DynamoDB::Table
          Properties:
            BillingMode: PAY_PER_REQUEST
            AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
            KeySchema: [{AttributeName: id, KeyType: HASH}]
        Notes:
          Type: AWS::Serverless::SimpleTable
        Alerts:
          Type: AWS::SNS::Topic
        """
    properties = "Environment:\n  Variables:\n    BUCKET: !Ref Uploads\n    QUEUE: !GetAtt Jobs.Arn\n"
    project = write_project(tmp_path / "writer", code, properties=properties, resources=resources)
    tests = """\
        import os

        import boto3


        def test_the_handler_module_is_imported_before_any_aws_exists(handler):
            assert handler.__module__ == "app"


        def test_the_handler_writes_to_the_local_bucket(handler, lambda_context, local_aws):
            assert handler({"key": "a.txt"}, lambda_context) == {"written": "a.txt"}
            s3 = boto3.client("s3")
            assert s3.get_object(Bucket=local_aws.names["Uploads"], Key="a.txt")["Body"].read() == b"written"


        def test_names_and_arns_by_logical_id(local_aws):
            assert set(local_aws.names) == {"Uploads", "Jobs", "Items", "Notes", "Alerts"}
            assert local_aws.names["Uploads"] == os.environ["BUCKET"]
            assert local_aws.arns["Jobs"] == os.environ["QUEUE"]
            assert local_aws.arns["Items"].endswith(":table/" + local_aws.names["Items"])
            assert local_aws.arns["Notes"].startswith("arn:aws:dynamodb:")
            boto3.client("s3").head_bucket(Bucket=local_aws.names["Uploads"])
            boto3.client("sqs").get_queue_url(QueueName=local_aws.names["Jobs"])
            for table in ("Items", "Notes"):
                boto3.client("dynamodb").describe_table(TableName=local_aws.names[table])
            topics = boto3.client("sns").list_topics()["Topics"]
            assert [topic["TopicArn"] for topic in topics] == [local_aws.arns["Alerts"]]


        def test_each_test_gets_a_fresh_aws(local_aws):
            assert boto3.client("s3").list_objects_v2(Bucket=local_aws.names["Uploads"]).get("KeyCount") == 0
        """
    result = _run(pytester, project, tests)
    result.assert_outcomes(passed=4)


def test_build_event_gives_a_batch_of_one_record_per_value() -> None:
    sqs = lambda_runner.build_event("sqs", "message", queue="jobs", body=['{"id": 1}', '{"id": 2}'])
    assert [record["body"] for record in sqs["Records"]] == ['{"id": 1}', '{"id": 2}']
    assert len({record["messageId"] for record in sqs["Records"]}) == 2
    kinesis = lambda_runner.build_event("kinesis", "record", stream="s", data=["a", "b"], count=2)
    decoded = [base64.b64decode(record["kinesis"]["data"]) for record in kinesis["Records"]]
    assert decoded == [b"a", b"b", b"a", b"b"]
