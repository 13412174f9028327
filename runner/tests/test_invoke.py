"""`invoke`: the response, the log lines, and every handler failure reported as the Lambda Python runtime does."""

from __future__ import annotations

import json
import re
import sys

import pytest

from lambda_project import START, mode_flags, reports, response, runner, write_project

HELLO = """\
import logging

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def handler(event, context):
    print("hello from print")
    logger.info("got %s", event)
    return {"statusCode": 200, "body": event.get("name", "world"), "text": "héllo"}
"""


def test_success_prints_response_on_stdout_and_lambda_lines_on_stderr(tmp_path, mode):
    project = write_project(tmp_path, HELLO)
    (project / "event.json").write_text('{"name": "Ada"}')

    result = runner(project, "invoke", "-e", "event.json", *mode_flags(mode))

    assert result.returncode == 0, result.stderr
    assert response(result) == {"statusCode": 200, "body": "Ada", "text": "héllo"}
    lines = result.stderr.splitlines()
    request_id = START.search(result.stderr)["id"]
    assert lines.index(f"START RequestId: {request_id} Version: $LATEST") < lines.index("hello from print")
    assert lines.index("hello from print") < lines.index(f"END RequestId: {request_id}")
    info = re.compile(rf"^\[INFO\]\t\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{request_id}\tgot {{'name': 'Ada'}}$")
    assert any(info.match(line) for line in lines), lines
    (report,) = reports(result.stderr)
    assert report["id"] == request_id
    assert report["memory"] == "128"
    assert int(report["used"]) > 5
    assert report["init"] is not None
    assert lines[lines.index(report.group(0)) - 1] == f"END RequestId: {request_id}"
    assert lines[lines.index(report.group(0)) + 1].startswith("COST $")


def test_response_keeps_non_ascii_and_decimal_numbers(tmp_path, mode):
    project = write_project(
        tmp_path,
        """\
        from decimal import Decimal

        def handler(event, context):
            return {"price": Decimal("1.10"), "name": "Zoë"}
        """,
    )
    result = runner(project, "invoke", "--quiet", *mode_flags(mode))
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"price": 1.1, "name": "Zoë"}
    assert result.stderr == ""


def test_exception_gives_lambda_error_json_and_error_log(tmp_path, mode):
    project = write_project(
        tmp_path,
        """\
        def helper(value):
            raise ValueError(f"bad value {value}")


        def handler(event, context):
            return helper(42)
        """,
    )

    result = runner(project, "invoke", *mode_flags(mode))

    assert result.returncode == 1
    error = response(result)
    request_id = START.search(result.stderr)["id"]
    assert list(error) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert error["errorMessage"] == "bad value 42"
    assert error["errorType"] == "ValueError"
    assert error["requestId"] == request_id
    app = str(project / "src" / "app.py")
    assert error["stackTrace"] == [
        f'  File "{app}", line 6, in handler\n    return helper(42)\n',
        f'  File "{app}", line 2, in helper\n    raise ValueError(f"bad value {{value}}")\n',
    ]
    nbsp = "\u00a0"
    assert (
        "[ERROR] ValueError: bad value 42\nTraceback (most recent call last):\n"
        f'{nbsp * 2}File "{app}", line 6, in handler\n{nbsp * 4}return helper(42)\n'
    ) in result.stderr
    assert len(reports(result.stderr)) == 1


@pytest.mark.parametrize(
    ("handler", "code", "files", "error_type", "message"),
    [
        (
            "handler",
            "def handler(event, context):\n    return 1\n",
            {},
            "Runtime.MalformedHandlerName",
            "Bad handler 'handler': not enough values to unpack (expected 2, got 1)",
        ),
        (
            "sys.handler",
            "",
            {},
            "Runtime.BuiltInModuleConflict",
            "Cannot use built-in module sys as a handler module",
        ),
        (
            "missing.handler",
            "",
            {},
            "Runtime.ImportModuleError",
            "Unable to import module 'missing': No module named 'missing'",
        ),
        (
            "app.handler",
            "import requests_that_are_not_installed\n",
            {},
            "Runtime.ImportModuleError",
            "Unable to import module 'app': No module named 'requests_that_are_not_installed'",
        ),
        (
            "app.handler",
            "def other(event, context):\n    return 1\n",
            {},
            "Runtime.HandlerNotFound",
            "Handler 'handler' missing on module 'app'",
        ),
        (
            "app.handler",
            "raise RuntimeError('no config at import time')\n",
            {},
            "RuntimeError",
            "no config at import time",
        ),
    ],
)
def test_handler_resolution_failures(tmp_path, mode, handler, code, files, error_type, message):
    project = write_project(tmp_path, code, handler=handler, files=files)

    result = runner(project, "invoke", *mode_flags(mode))

    assert result.returncode == 1
    error = response(result)
    assert error["errorType"] == error_type
    assert error["errorMessage"] == message
    assert error["requestId"] == START.search(result.stderr)["id"]
    assert f"[ERROR] {error_type}: {message}" in result.stderr
    assert "LAMBDA_WARNING: Unhandled exception." in result.stderr
    (report,) = reports(result.stderr)
    assert report["init"] is not None


def test_syntax_error_names_file_and_line(tmp_path, mode):
    project = write_project(tmp_path, "def handler(event, context):\n    return (1\n")

    result = runner(project, "invoke", *mode_flags(mode))

    assert result.returncode == 1
    error = response(result)
    assert error["errorType"] == "Runtime.UserCodeSyntaxError"
    assert error["errorMessage"].startswith("Syntax error in module 'app': ")
    assert "(app.py, line 2)" in error["errorMessage"]
    assert error["stackTrace"] == [f'  File "{project / "src" / "app.py"}" Line 2\n        return (1\n']


def test_handler_path_with_slashes_or_dots_resolves_the_same_module(tmp_path, mode):
    nested = {"pkg/__init__.py": "", "pkg/handlers.py": "def main(event, context):\n    return __name__\n"}
    for handler in ("pkg/handlers.main", "pkg.handlers.main"):
        project = write_project(tmp_path / handler.replace("/", "_"), "", handler=handler, files=nested)
        result = runner(project, "invoke", "--quiet", *mode_flags(mode))
        assert result.returncode == 0, result.stdout
        assert json.loads(result.stdout) == "pkg.handlers"


def test_unserializable_result_is_a_marshal_error(tmp_path, mode):
    project = write_project(tmp_path, "def handler(event, context):\n    return {'items': {1, 2}}\n")

    result = runner(project, "invoke", *mode_flags(mode))

    assert result.returncode == 1
    error = response(result)
    assert error["errorType"] == "Runtime.MarshalError"
    assert error["errorMessage"] == "Unable to marshal response: Object of type set is not JSON serializable"
    assert error["stackTrace"] == []


def test_event_file_that_is_not_json_is_a_one_line_error(tmp_path):
    project = write_project(tmp_path, HELLO)
    (project / "bad.json").write_text('{"name": "Ada",\n  "age": }\n')

    result = runner(project, "invoke", "-e", "bad.json")

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "error: bad.json: not valid JSON at line 2 column 10: Expecting value\n"


def test_events_file_error_names_the_line(tmp_path):
    project = write_project(tmp_path, HELLO)
    (project / "events.jsonl").write_text('{"name": "a"}\n\n{"name": \n')

    result = runner(project, "invoke", "--events", "events.jsonl")

    assert result.returncode == 2
    assert result.stderr == "error: events.jsonl: not valid JSON at line 3 column 10: Expecting value\n"


def test_event_from_stdin_and_missing_template(tmp_path):
    project = write_project(tmp_path, HELLO)
    result = runner(project, "invoke", "-e", "-", "--quiet", stdin=b'{"name": "stdin"}')
    assert result.returncode == 0
    assert response(result)["body"] == "stdin"

    missing = runner(tmp_path, "invoke", "--template", "nowhere.yaml")
    assert missing.returncode == 2
    assert missing.stderr == f"error: no nowhere.yaml in {tmp_path}: run from the project folder or pass --template\n"


def test_quiet_prints_only_the_response(tmp_path):
    project = write_project(tmp_path, HELLO)
    result = runner(project, "invoke", "--quiet")
    assert result.returncode == 0
    assert result.stderr == ""
    assert response(result)["body"] == "world"


def test_json_log_format_for_function_and_platform(tmp_path, mode):
    project = write_project(
        tmp_path,
        """\
        import logging

        def handler(event, context):
            logging.getLogger("orders").debug("hidden")
            logging.getLogger("orders").info("saved", extra={"order": 7})
            return "ok"
        """,
        properties="LoggingConfig:\n  LogFormat: JSON\n",
    )

    text = runner(project, "invoke", *mode_flags(mode))
    result = runner(project, "invoke", "--json-platform-logs", *mode_flags(mode))

    # By default the platform lines stay readable text while the function's own logs follow LogFormat.
    assert text.returncode == 0
    text_lines = [line.split(" ", 1)[0] for line in text.stderr.splitlines() if not line.startswith("note:")]
    assert text_lines[:4] == ["START", '{"timestamp":', "END", "REPORT"]
    assert result.returncode == 0
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    kinds = [record.get("type") or record.get("level") for record in records]
    assert kinds == ["platform.start", "INFO", "platform.runtimeDone", "platform.report"]
    log = records[1]
    assert log["message"] == "saved"
    assert log["logger"] == "orders"
    assert log["order"] == 7
    assert log["requestId"] == records[0]["record"]["requestId"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", log["timestamp"])
    metrics = records[3]["record"]["metrics"]
    assert set(metrics) == {"durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB", "initDurationMs"}
    done = records[2]["record"]
    assert list(done) == ["requestId", "status", "metrics"]
    assert done["metrics"]["producedBytes"] == len(b'"ok"')  # the response payload
    assert list(records[3]["record"]) == ["requestId", "metrics", "status"]


def test_functions_lists_the_template(tmp_path):
    project = write_project(
        tmp_path, HELLO, properties="Runtime: python3.13\nMemorySize: 512\nArchitectures: [arm64]\n"
    )
    result = runner(project, "functions")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "LOGICAL ID  HANDLER      RUNTIME     ARCH   MEMORY  TIMEOUT  CODE",
        "Fn          app.handler  python3.13  arm64  512 MB  3 s      src",
    ]


def test_runtime_is_checked_against_the_template(tmp_path):
    project = write_project(tmp_path / "old", HELLO, properties="Runtime: python3.9\n")
    result = runner(project, "invoke")
    assert result.returncode == 0
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert result.stderr.startswith(f"note: Fn has Runtime python3.9; running it with {here}\n")

    node = write_project(tmp_path / "node", HELLO, properties="Runtime: nodejs22.x\n")
    result = runner(node, "invoke")
    assert result.returncode == 2
    assert result.stderr == "error: Fn has Runtime 'nodejs22.x': this runner runs Python functions\n"


def test_several_functions_need_a_name(tmp_path):
    project = write_project(
        tmp_path,
        HELLO,
        resources="""\
        Other:
          Type: AWS::Serverless::Function
          Properties:
            CodeUri: src/
            Handler: app.handler
        """,
    )
    result = runner(project, "invoke")
    assert result.returncode == 2
    assert result.stderr == "error: template.yaml has several functions; name one of: Fn, Other\n"
    assert runner(project, "invoke", "Other", "--quiet").returncode == 0


def test_event_command_passes_fields_to_the_event_builders(tmp_path):
    result = runner(tmp_path, "event", "sqs", "message", "--body", "hi", "--queue=orders", "--count", "2")
    assert result.returncode == 0, result.stderr
    event = json.loads(result.stdout)
    assert [record["body"] for record in event["Records"]] == ["hi", "hi"]
    assert event["Records"][0]["eventSourceARN"].endswith(":orders")

    listing = runner(tmp_path, "event")
    assert listing.returncode == 0
    # Every source with its kinds, then its fields, with what they mean and their defaults.
    assert "sqs message: SQS batch of messages\n  --body   message body" in listing.stdout
    assert "  --count  how many times the bodies repeat, each record with its own messageId (default: '1')\n" in (
        listing.stdout
    )
    assert "s3 delete: S3 ObjectRemoved:Delete notification\n  --bucket" in listing.stdout
    one = runner(tmp_path, "event", "s3")
    assert one.returncode == 0
    assert one.stdout.startswith("s3 put: S3 ObjectCreated:Put notification\ns3 delete:")
    assert "sqs" not in one.stdout
    unknown = runner(tmp_path, "event", "sq")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: unknown event source 'sq'; choose from: apigw-http, ")

    bad = runner(tmp_path, "event", "sqs", "message", "--body")
    assert bad.returncode == 2
    assert bad.stderr == "error: --body needs a value\n"


def test_event_help_names_the_command_as_the_user_runs_it(tmp_path):
    result = runner(tmp_path, "event", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: python -m lambda_runner event [-h] [SOURCE] [KIND]\n")
    assert "  event                                       list the sources, kinds and fields\n" in result.stdout


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_event_that_is_not_strict_json_is_refused_as_the_invoke_api_does(tmp_path, text):
    project = write_project(tmp_path, HELLO)
    (project / "event.json").write_text(f'{{"note": "NaN is fine in a string",\n  "ratio": {text}}}')
    (project / "events.jsonl").write_text(f'{{"ok": 1}}\n{{"ratio": {text}}}\n')

    single = runner(project, "invoke", "-e", "event.json")
    many = runner(project, "invoke", "--events", "events.jsonl")

    prefix = "InvalidRequestContentException: Could not parse request body into json: Could not parse payload into json"
    assert (single.returncode, single.stdout) == (2, "")
    assert single.stderr == (
        f"error: event.json: {prefix}: Non-standard token '{text}' at line 2 column 12 "
        "(Lambda accepts strict JSON only: write null or a string)\n"
    )
    assert (many.returncode, many.stdout) == (2, "")
    assert many.stderr.startswith(f"error: events.jsonl: {prefix}: Non-standard token '{text}' at line 2 column 11 ")


def test_repeat_with_quiet_keeps_the_summary(tmp_path):
    project = write_project(tmp_path, HELLO)

    result = runner(project, "invoke", "--repeat", "3", "-q")

    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 3
    summary = result.stderr.splitlines()
    assert summary[0] == "SUMMARY Invocations: 3\tErrors: 0\tCold Starts: 1"
    assert summary[1].startswith("SUMMARY Duration p50: ")
    assert summary[2].startswith("SUMMARY Total Cost: $")
    assert len(summary) == 3  # and nothing else: no START/END/REPORT, no function output


@pytest.mark.parametrize("port", ["99999", "-1", "65536"])
def test_start_api_port_out_of_range_is_one_line(tmp_path, port):
    project = write_project(tmp_path, HELLO)

    result = runner(project, "start-api", "--port", port)

    assert result.returncode == 2
    assert result.stderr == f"error: --port {port} is not a TCP port: choose one from 1 to 65535 (0: any free port)\n"


@pytest.mark.parametrize(("runtime", "escaped"), [("python3.11", True), ("python3.12", False)])
def test_json_error_log_encodes_text_as_the_runtime_does(tmp_path, mode, runtime, escaped):
    project = write_project(
        tmp_path,
        "def handler(event, context):\n    raise ValueError('Zoë')\n",
        properties=f"Runtime: {runtime}\nLoggingConfig:\n  LogFormat: JSON\n",
    )

    result = runner(project, "invoke", *mode_flags(mode))

    assert result.returncode == 1
    (record,) = [line for line in result.stderr.splitlines() if line.startswith('{"timestamp"')]
    assert json.loads(record)["errorMessage"] == "Zoë"
    # awslambdaric encodes the record as it encodes responses: \u escapes before python3.12, UTF-8 from then on.
    assert ('"errorMessage": "Zo\\u00eb"' in record) is escaped
    assert ('"errorMessage": "Zoë"' in record) is not escaped


def test_init_logs_of_a_new_environment_carry_no_request_id(tmp_path, mode):
    project = write_project(
        tmp_path,
        """\
        import logging
        import sys

        logging.getLogger().warning("importing")


        def handler(event, context):
            sys.exit(1)  # ends the environment: the next invocation runs INIT again
        """,
    )

    result = runner(project, "invoke", "--repeat", "2", *mode_flags(mode))

    assert result.returncode == 1
    inits = [line for line in result.stderr.splitlines() if line.endswith("\timporting")]
    assert len(inits) == 2
    assert all(re.fullmatch(r"\[WARNING\]\t\S+Z\t\timporting", line) for line in inits), inits


def test_json_init_failure_records_are_the_runtimes(tmp_path, mode):
    project = write_project(
        tmp_path, "raise ValueError('at import')\n", properties="LoggingConfig:\n  LogFormat: JSON\n"
    )

    result = runner(project, "invoke", *mode_flags(mode))

    assert result.returncode == 1
    warning, error = [json.loads(line) for line in result.stderr.splitlines() if line.startswith('{"timestamp"')]
    assert list(warning) == ["timestamp", "level", "message", "logger", "requestId"]
    assert warning["message"].startswith("LAMBDA_WARNING: Unhandled exception. ")
    assert warning["message"].endswith("/runtimes-update.html\r")
    assert (warning["level"], warning["logger"], warning["requestId"]) == ("WARNING", "root", "")
    assert list(error) == ["timestamp", "level", "errorMessage", "errorType", "requestId", "stackTrace"]
    assert (error["errorType"], error["errorMessage"], error["requestId"]) == ("ValueError", "at import", "")


ECHO = """\
def handler(event, context):
    return event
"""


def test_without_an_event_the_first_sample_event_is_used_and_said(tmp_path):
    project = write_project(tmp_path, ECHO)
    (project / "events").mkdir()
    (project / "events" / "b.json").write_text('{"from": "b"}')
    (project / "events" / "a.json").write_text('{"from": "a"}')
    result = runner(project, "invoke")
    assert result.returncode == 0, result.stderr
    assert response(result) == {"from": "a"}  # name order: a stable choice
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: no event given")]
    assert notes == [
        "note: no event given: using events/a.json, the first sample event (-e FILE for another, -e - for stdin)"
    ]
    empty = runner(project, "invoke", "-e", "-", stdin=b"{}")  # the empty event stays one flag away
    assert response(empty) == {}
    assert "no event given" not in empty.stderr
    repeated = runner(project, "invoke", "--repeat", "3", "-q")
    assert "Errors: 0" in repeated.stderr
    assert [json.loads(line) for line in repeated.stdout.splitlines()] == [{"from": "a"}] * 3
    (project / "events" / "a.json").unlink()
    (project / "events" / "b.json").unlink()
    assert response(runner(project, "invoke")) == {}  # no sample event: {} as before


REACHES_FOR_AWS = """\
def handler(event, context):
    raise type("EndpointConnectionError", (Exception,), {})(
        'Could not connect to the endpoint URL: "https://dynamodb.us-east-1.amazonaws.com/"'
    )
"""


def test_a_function_that_cannot_reach_aws_gets_one_line_naming_local_aws(tmp_path):
    project = write_project(tmp_path, REACHES_FOR_AWS)
    result = runner(project, "invoke", "-e", "-", stdin=b"{}")
    assert result.returncode == 1
    assert response(result)["errorType"] == "EndpointConnectionError"  # Lambda's error JSON stays the result
    hints = [line for line in result.stderr.splitlines() if line.startswith("hint: ")]
    assert hints == [
        "hint: the function reached for AWS and failed (EndpointConnectionError): run with --local-aws to give it "
        "the template's resources in a local, in-memory AWS (moto)"
    ]
    repeated = runner(project, "invoke", "-e", "-", "--repeat", "5", "-q", stdin=b"{}")
    assert sum(line.startswith("hint: ") for line in repeated.stderr.splitlines()) == 1  # once a run
    other = write_project(tmp_path / "other", 'def handler(event, context):\n    raise ValueError("no")\n')
    assert "hint:" not in runner(other, "invoke", "-e", "-", stdin=b"{}").stderr


NOISY_IMPORT = """\
import warnings

warnings.warn_explicit("invalid escape sequence", SyntaxWarning, "noisy_sdk/model.py", 3, module="noisy_sdk.model")
warnings.warn_explicit("kept: another warning", SyntaxWarning, "other.py", 1, module="other")


def handler(event, context):
    return "ok"
"""


@pytest.mark.modes("inprocess", "isolated")  # awslambdaric imports the handler itself
def test_the_projects_ignored_warnings_are_ignored_by_invoke_too(tmp_path, mode):
    project = write_project(tmp_path, NOISY_IMPORT)
    (project / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\n"
        'filterwarnings = ["error", "ignore:invalid escape sequence:SyntaxWarning:.*noisy_sdk"]\n'
    )
    result = runner(project, "invoke", "-e", "-", *mode_flags(mode), stdin=b"{}")
    assert result.returncode == 0, result.stderr
    assert "invalid escape sequence" not in result.stderr
    assert "kept: another warning" in result.stderr  # only the project's own `ignore` entries apply
