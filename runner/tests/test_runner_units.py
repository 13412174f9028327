"""The runner's pieces on their own: billing and prices, line formats, encoding, env files, sandboxes."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import textwrap
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from lambda_runner.config.environment import read_dotenv, read_env_vars_file
from lambda_runner.config.template import read_functions
from lambda_runner.errors import RunnerError
from lambda_runner.runtime.context import LambdaContext
from lambda_runner.runtime.serialize import escapes_non_ascii, marshal_response
from lambda_runner.sandboxes import inprocess
from lambda_runner.sandboxes.choose import open_invoker
from lambda_runner.sandboxes.isolated import Output
from lambda_runner.sandboxes.process import exit_reason
from lambda_runner.sandboxes.worker import sync_marker
from lambda_runner.service.dryrun import check_handler
from lambda_runner.service.pricing import cost_line, invocation_cost
from lambda_runner.service.reports import PlatformLog, billed_ms
from lambda_runner.service.summary import percentile

from lambda_project import write_project


def test_billed_duration_rounds_up_and_includes_init_on_a_cold_start():
    assert billed_ms(15.74, 130.49) == 147  # the AWS documentation's example
    assert billed_ms(15.74) == 16
    assert billed_ms(2.0) == 2
    assert billed_ms(0.01) == 1


def test_report_line_is_tab_separated_with_init_last():
    platform = PlatformLog(json_format=False)
    line = platform.report(
        "8f507cfc-xmpl-4697-b07a-ac58fc914c95",
        duration_ms=15.74,
        billed=147,
        memory_size=128,
        max_memory_mb=56,
        init_ms=130.49,
        status="success",
    )
    assert line == (
        "REPORT RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95\tDuration: 15.74 ms\tBilled Duration: 147 ms"
        "\tMemory Size: 128 MB\tMax Memory Used: 56 MB\tInit Duration: 130.49 ms"
    )
    warm = platform.report("r", duration_ms=1, billed=1, memory_size=128, max_memory_mb=56, init_ms=None, status="")
    assert warm.endswith("\tMax Memory Used: 56 MB")
    # A function error leaves the environment as it is: no status. A timeout or a crash ends it: status last.
    failed = {"duration_ms": 1, "billed": 1, "memory_size": 128, "max_memory_mb": 56, "init_ms": None}
    assert platform.report("r", **failed, status="error", error_type="ValueError").endswith("56 MB")
    assert platform.report("r", **failed, status="timeout", error_type="Sandbox.Timedout", ended=True).endswith(
        "\tMax Memory Used: 56 MB\tStatus: timeout"
    )
    crashed = platform.report(
        "r", **{**failed, "init_ms": 80.0}, status="error", error_type="Runtime.ExitError", ended=True
    )
    assert crashed.endswith("\tInit Duration: 80.00 ms\tStatus: error\tError Type: Runtime.ExitError")
    assert platform.start("r") == "START RequestId: r Version: $LATEST"
    assert platform.end("r", "success") == "END RequestId: r"
    assert not PlatformLog(json_format=True, system_log_level="WARN").enabled


def test_json_platform_records_have_the_telemetry_api_shape():
    platform = PlatformLog(json_format=True)
    failed = json.loads(platform.end("r", "error", duration_ms=1.23456, produced_bytes=0, error_type="ValueError"))
    assert failed["type"] == "platform.runtimeDone"
    assert failed["record"] == {
        "requestId": "r",
        "status": "error",
        "errorType": "ValueError",
        "metrics": {"durationMs": 1.235, "producedBytes": 0},
    }
    # A timeout carries no errorType, in either record.
    timed_out = json.loads(platform.end("r", "timeout", duration_ms=3001.5, error_type="Sandbox.Timedout"))
    assert "errorType" not in timed_out["record"]
    report = json.loads(
        platform.report(
            "r",
            duration_ms=3000,
            billed=3000,
            memory_size=128,
            max_memory_mb=40,
            init_ms=None,
            status="timeout",
            error_type="Sandbox.Timedout",
        )
    )
    assert report["record"] == {
        "requestId": "r",
        "metrics": {"durationMs": 3000, "billedDurationMs": 3000, "memorySizeMB": 128, "maxMemoryUsedMB": 40},
        "status": "timeout",
    }


def test_invocation_cost_uses_lambda_prices():
    assert invocation_cost(128, 147) == pytest.approx(0.0000002 + 0.125 * 0.147 * 0.0000166667, rel=1e-12)
    assert invocation_cost(1024, 1000, "arm64") == pytest.approx(0.0000002 + 0.0000133334, rel=1e-12)
    assert invocation_cost(1024, 1000, "x86_64", ephemeral_mb=1536) == pytest.approx(
        0.0000002 + 0.0000166667 + 0.0000000309, rel=1e-12
    )
    assert cost_line(1024, 1000, "arm64") == (
        "COST $0.0000135334 (1000 ms billed x 1024 MB arm64 + request)"
        "\t$13.53 for 1M such invocations a month, before the free tier"
    )


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.95) == 95
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([], 0.5) == 0.0


def test_marshalling_matches_the_runtime(monkeypatch):
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.13")
    assert not escapes_non_ascii()
    assert marshal_response({"n": Decimal("1.10"), "nan": float("nan"), "text": "Zoë"}, ascii_only=False) == (
        '{"n": 1.10, "nan": NaN, "text": "Zoë"}'.encode()
    )
    assert marshal_response(b"\x00raw") == b"\x00raw"
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.11")
    assert escapes_non_ascii()
    assert marshal_response("Zoë") == b'"Zo\\u00eb"'


def test_exit_reasons_use_lambda_words():
    assert exit_reason(0) == "exit status 0"
    assert exit_reason(3) == "exit status 3"
    assert exit_reason(-signal.SIGKILL) == "signal: killed"
    assert exit_reason(-signal.SIGSEGV) == "signal: segmentation fault"


def test_env_files(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text('# comment\nexport A=1\nB="two words"\nC=three # note\nD=\n')
    assert read_dotenv(dotenv) == {"A": "1", "B": "two words", "C": "three", "D": ""}
    dotenv.write_text("not a pair\n")
    with pytest.raises(RunnerError, match=r"\.env line 1: expected KEY=value"):
        read_dotenv(dotenv)

    project = write_project(tmp_path / "p", "")
    function = read_functions(project / "template.yaml")["Fn"]
    env_json = tmp_path / "env.json"
    env_json.write_text('{"Parameters": {"A": "p", "B": true}, "Fn": {"A": "f"}, "Other": {"C": "x"}}')
    assert read_env_vars_file(env_json, function) == {"A": "f", "B": "true"}
    env_json.write_text('{"Fn": {"A": }}')
    with pytest.raises(RunnerError, match=r"env\.json: not valid JSON at line 1 column 14"):
        read_env_vars_file(env_json, function)


def test_context_objects_like_the_runtime(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
    context = LambdaContext(
        "id-1",
        int(time.time() * 1000) + 2000,
        "arn:aws:lambda:us-east-1:123456789012:function:f",
        client_context={"custom": {"a": 1}, "env": {"platform": "ios"}, "client": {"app_title": "Shop"}},
        identity={"cognitoIdentityId": "us-east-1:abc", "cognitoIdentityPoolId": "pool"},
    )
    assert context.memory_limit_in_mb == "512"
    assert context.client_context.custom == {"a": 1}
    assert context.client_context.env == {"platform": "ios"}
    assert context.client_context.client.app_title == "Shop"
    assert context.client_context.client.installation_id is None
    assert (context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id) == (
        "us-east-1:abc",
        "pool",
    )
    assert 1900 < context.get_remaining_time_in_millis() <= 2000
    expired = LambdaContext("id-2", 0, "arn")
    assert expired.get_remaining_time_in_millis() == 0
    assert expired.client_context is None
    assert expired.identity.cognito_identity_id is None


def test_output_copy_finds_markers_split_across_reads():
    read_fd, write_fd = os.pipe()
    log = io.StringIO()
    output = Output(read_fd, log)
    marker = sync_marker(1)
    os.write(write_fd, b"before \xc3")
    output.copy()
    os.write(write_fd, b"\xa9 " + marker[:5])
    output.copy()
    assert output.seen == 0
    os.write(write_fd, marker[5:] + b"after\n")
    output.copy_until(lambda: output.seen >= 1, 5)
    assert output.seen == 1
    os.close(write_fd)
    output.copy_until(lambda: False, 5)
    assert output.closed
    assert log.getvalue() == "before é after\n"


def test_dry_run_check_finds_problems_without_importing(tmp_path):
    source = tmp_path / "src"
    (source / "pkg").mkdir(parents=True)
    (source / "pkg" / "__init__.py").write_text("raise RuntimeError('must not run')\n")
    (source / "pkg" / "mod.py").write_text("from .helpers import handler as main\n")
    (source / "broken.py").write_text("def handler(:\n")
    assert check_handler("pkg/mod.main", source) is None
    assert check_handler("pkg.mod.other", source)["errorType"] == "Runtime.HandlerNotFound"
    assert check_handler("pkg.nothere.main", source)["errorMessage"] == (
        "Unable to import module 'pkg.nothere': No module named 'pkg.nothere'"
    )
    assert check_handler("broken.handler", source)["errorType"] == "Runtime.UserCodeSyntaxError"
    assert check_handler("sys.handler", source)["errorType"] == "Runtime.BuiltInModuleConflict"


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="needs the main thread")
def test_in_process_reopen_is_a_real_cold_start_and_restores_the_process(tmp_path):
    code = """\
    import os

    STARTED = "first"

    def handler(event, context):
        print("in handler")
        return {"version": STARTED, "cwd": os.getcwd(), "region": os.environ["AWS_REGION"]}
    """
    project = write_project(tmp_path, code, files={"helper_module_xyz.py": ""})
    function = read_functions(project / "template.yaml")["Fn"]
    before = (dict(os.environ), list(sys.path), os.getcwd())
    log = io.StringIO()

    invoker = open_invoker(function, log=log)
    first = invoker.invoke(b"{}")
    warm = invoker.invoke(b"{}")
    invoker.close()

    assert (dict(os.environ), list(sys.path), os.getcwd()) == before
    assert "app" not in sys.modules
    assert first.init_ms is not None
    assert warm.init_ms is None
    assert first.payload == f'{{"version": "first", "cwd": "{project / "src"}", "region": "us-east-1"}}'.encode()
    assert log.getvalue().count("in handler") == 2
    assert inprocess.InProcessSandbox.warm is None

    (project / "src" / "app.py").write_text(textwrap.dedent(code).replace('"first"', '"second"'))
    invoker = open_invoker(function, log=log)
    try:
        again = invoker.invoke(b"{}")
    finally:
        invoker.close()
    assert again.init_ms is not None
    assert b'"version": "second"' in again.payload


def test_in_process_timeout_discards_the_environment(tmp_path):
    project = write_project(
        tmp_path,
        "import time\n\ndef handler(event, context):\n    time.sleep(event['sleep'])\n    return 'ok'\n",
        properties="Timeout: 1\n",
    )
    function = read_functions(Path(project / "template.yaml"))["Fn"]
    invoker = open_invoker(function, log=io.StringIO())
    try:
        timed_out = invoker.invoke(b'{"sleep": 5}')
        after = invoker.invoke(b'{"sleep": 0}')
    finally:
        invoker.close()
    assert timed_out.status == "timeout"
    assert timed_out.error["errorType"] == "Sandbox.Timedout"
    assert timed_out.duration_ms == 1000.0
    assert timed_out.billed_ms == billed_ms(1000.0, timed_out.init_ms)
    assert timed_out.payload is None
    assert after.ok
    assert after.init_ms is not None
