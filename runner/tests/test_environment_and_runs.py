"""What the function sees (context, environment) and runs of many invocations: warm starts, async, DryRun."""

from __future__ import annotations

import json
import re

from lambda_project import RUNTIME, START, mode_flags, reports, response, runner, write_project

CONTEXT = """\
import time


def handler(event, context):
    context.log("written by context.log\\n")
    first = context.get_remaining_time_in_millis()
    time.sleep(0.2)
    second = context.get_remaining_time_in_millis()
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "identity": [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],
        "client_context": context.client_context,
        "tenant_id": context.tenant_id,
        "remaining": [first, second],
    }
"""


def test_context_has_every_attribute_and_counts_down(tmp_path, mode):
    project = write_project(tmp_path / "shop", CONTEXT, properties="Timeout: 5\n")

    result = runner(project, "invoke", *mode_flags(mode))

    assert result.returncode == 0, result.stderr
    context = response(result)
    name = "shop-Fn"
    assert context["function_name"] == name
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    assert context["memory_limit_in_mb"] == "128"
    assert context["aws_request_id"] == START.search(result.stderr)["id"]
    assert context["log_group_name"] == f"/aws/lambda/{name}"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", context["log_stream_name"])
    assert context["identity"] == [None, None]
    assert context["client_context"] is None
    assert context["tenant_id"] is None
    first, second = context["remaining"]
    assert 4500 < first <= 5000
    assert 150 <= first - second < 1000
    assert "\nwritten by context.log\n" in result.stderr


ENVIRONMENT = """\
import os


def handler(event, context):
    return {name: os.environ.get(name) for name in event["names"]}
"""


def test_environment_variables_layers(tmp_path, mode):
    project = write_project(
        tmp_path / "shop",
        ENVIRONMENT,
        globals_="Environment:\n  Variables:\n    FROM_GLOBALS: g\n    OVERRIDDEN: template\n",
        properties="""\
        MemorySize: 256
        Environment:
          Variables:
            BUCKET: !Ref Uploads
            QUEUE_URL: !GetAtt Jobs.QueueUrl
            FROM_DOTENV: template
        LoggingConfig:
          LogFormat: JSON
          ApplicationLogLevel: DEBUG
        """,
        resources="Uploads:\n  Type: AWS::S3::Bucket\nJobs:\n  Type: AWS::SQS::Queue\n",
    )
    (project / ".env").write_text("# local\nexport FROM_DOTENV='dotenv'\nOVERRIDDEN=dotenv\n")
    (project / "env.json").write_text(json.dumps({"Parameters": {"OVERRIDDEN": "parameters"}, "Fn": {"EXTRA": 1}}))
    names = [
        "FROM_GLOBALS", "OVERRIDDEN", "BUCKET", "QUEUE_URL", "FROM_DOTENV", "EXTRA",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV", "_HANDLER", "LAMBDA_TASK_ROOT",
        "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_FORMAT",
        "AWS_LAMBDA_LOG_LEVEL", "TZ", "AWS_SAM_LOCAL", "AWS_ACCESS_KEY_ID",
    ]  # fmt: skip
    (project / "event.json").write_text(json.dumps({"names": [*names, "_X_AMZN_TRACE_ID"]}))

    result = runner(project, "invoke", "-e", "event.json", "--env-vars", "env.json", *mode_flags(mode))

    assert result.returncode == 0, result.stderr
    environment = response(result)
    trace = environment.pop("_X_AMZN_TRACE_ID")
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", trace)
    assert environment == {
        "FROM_GLOBALS": "g",
        "OVERRIDDEN": "parameters",
        "BUCKET": "shop-uploads",
        "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/shop-Jobs",
        "FROM_DOTENV": "dotenv",
        "EXTRA": "1",
        "AWS_LAMBDA_FUNCTION_NAME": "shop-Fn",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{RUNTIME}",
        "_HANDLER": "app.handler",
        "LAMBDA_TASK_ROOT": str(project / "src"),
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/shop-Fn",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_LEVEL": "DEBUG",
        "TZ": "UTC",
        "AWS_SAM_LOCAL": "true",
        "AWS_ACCESS_KEY_ID": "local-dummy-credentials",
    }
    assert "Memory Size: 256 MB" in result.stderr  # MemorySize from the function, over Globals


def test_repeat_runs_warm_after_one_cold_start_and_summarises(tmp_path, mode):
    project = write_project(
        tmp_path,
        """\
        calls = 0

        def handler(event, context):
            global calls
            calls += 1
            if calls == 2:
                raise KeyError("second")
            return calls
        """,
    )

    result = runner(project, "invoke", "--repeat", "4", *mode_flags(mode))

    assert result.returncode == 1  # one of them failed
    lines = result.stdout.splitlines()
    assert [json.loads(line) for line in (lines[0], lines[2], lines[3])] == [1, 3, 4]
    assert json.loads(lines[1])["errorType"] == "KeyError"
    found = reports(result.stderr)
    assert [report["init"] is not None for report in found] == [True, False, False, False]
    costs = re.findall(r"^COST \$\d\.\d{10} \((\d+) ms billed x 128 MB x86_64 \+ request\)", result.stderr, re.M)
    assert costs == [report["billed"] for report in found]
    summary = [line for line in result.stderr.splitlines() if line.startswith("SUMMARY")]
    assert summary[0] == "SUMMARY Invocations: 4\tErrors: 1\tCold Starts: 1"
    peak = max(int(report["used"]) for report in found)
    assert re.fullmatch(
        r"SUMMARY Duration p50: \d+\.\d\d ms\tp95: \d+\.\d\d ms\tmax: \d+\.\d\d ms"
        rf"\tPeak Memory Used: {peak} MB of 128 MB",
        summary[1],
    )
    assert re.fullmatch(r"SUMMARY Total Cost: \$\d\.\d{10}\t\$\d+\.\d\d for 1M invocations a month.*", summary[2])


def test_events_file_runs_each_event_in_one_environment(tmp_path):
    project = write_project(tmp_path, "def handler(event, context):\n    return event['n'] * 2\n")
    (project / "events.jsonl").write_text('{"n": 1}\n\n{"n": 2}\n{"n": 3}\n')

    result = runner(project, "invoke", "--events", "events.jsonl")

    assert result.returncode == 0
    assert result.stdout.splitlines() == ["2", "4", "6"]
    assert len(reports(result.stderr)) == 3
    assert "SUMMARY Invocations: 3\tErrors: 0\tCold Starts: 1" in result.stderr


ALWAYS_FAILS = "def handler(event, context):\n    raise RuntimeError('downstream is down')\n"


def test_event_invocation_retries_twice_then_goes_to_on_failure_destination(tmp_path):
    project = write_project(
        tmp_path / "shop",
        ALWAYS_FAILS,
        properties="""\
        EventInvokeConfig:
          DestinationConfig:
            OnFailure:
              Type: SQS
              Destination: !GetAtt Failures.Arn
        """,
        resources="Failures:\n  Type: AWS::SQS::Queue\n",
    )

    result = runner(project, "invoke", "--invocation-type", "Event", "-e", "-", stdin=b'{"order": 7}')

    assert result.returncode == 1
    assert json.loads(result.stdout) == {"StatusCode": 202}
    assert len(START.findall(result.stderr)) == 3
    request_ids = set(re.findall(r"^START RequestId: (\S+)", result.stderr, re.M))
    assert len(request_ids) == 1  # the retries of an event keep the request id of its first attempt
    assert "ASYNC Attempt 1 of 3 failed; Lambda retries after about 1 minute, here at once" in result.stderr
    assert "ASYNC Attempt 2 of 3 failed; Lambda retries after about 2 minutes, here at once" in result.stderr
    destination = "arn:aws:sqs:us-east-1:123456789012:shop-Failures"
    assert (
        f"ASYNC Failed after 3 attempts; the invocation record goes to the OnFailure destination {destination}\n"
    ) in result.stderr
    record = json.loads(result.stderr.split("ASYNC Invocation record: ", 1)[1].splitlines()[0])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert {record["requestContext"]["requestId"]} == request_ids
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"] == {"order": 7}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorMessage"] == "downstream is down"


def test_event_invocation_without_destination_is_dropped(tmp_path):
    project = write_project(tmp_path, ALWAYS_FAILS, properties="EventInvokeConfig:\n  MaximumRetryAttempts: 0\n")

    result = runner(project, "invoke", "--invocation-type", "Event")

    assert result.returncode == 1
    assert len(START.findall(result.stderr)) == 1
    assert (
        "ASYNC Failed after 1 attempt; no OnFailure destination or DeadLetterQueue is configured: the event is dropped"
    ) in result.stderr


def test_event_invocation_that_succeeds_runs_once(tmp_path):
    project = write_project(tmp_path, "def handler(event, context):\n    return 1\n")
    result = runner(project, "invoke", "--invocation-type", "Event")
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"StatusCode": 202}
    assert len(START.findall(result.stderr)) == 1


def test_dry_run_checks_the_handler_without_running_init(tmp_path):
    code = "print('init ran')\n\nif True:\n    def handler(event, context):\n        return 1\n"
    project = write_project(tmp_path / "ok", code)
    result = runner(project, "invoke", "--invocation-type", "DryRun")
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"StatusCode": 204}
    assert "init ran" not in result.stderr
    assert "START" not in result.stderr

    broken = write_project(tmp_path / "broken", "print('init ran')\n", handler="app.main")
    result = runner(broken, "invoke", "--invocation-type", "DryRun")
    assert result.returncode == 1
    assert response(result)["errorType"] == "Runtime.HandlerNotFound"
    assert (
        result.stderr
        == "DryRun: the handler would fail: Runtime.HandlerNotFound: Handler 'main' missing on module 'app'\n"
    )
