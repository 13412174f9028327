"""`--emulate`: the real awslambdaric in a child process, against the runner's local Runtime API."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambda_runner.config.template import read_functions
from lambda_runner.errors import RunnerError
from lambda_runner.sandboxes.choose import open_invoker
from lambda_runner.sandboxes.emulate import EmulatedInvoker

HANDLER = """\
import os
import time

print("init ran")


def handler(event, context):
    print("handling", event["action"])
    if event["action"] == "fail":
        raise ValueError("boom")
    if event["action"] == "sleep":
        time.sleep(10)
    if event["action"] == "exit":
        os._exit(3)
    if event["action"] == "hog":
        hog = "x" * 400_000_000
        time.sleep(10)
        return len(hog)
    return {
        "pid": os.getpid(),
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "memory": context.memory_limit_in_mb,
        "remaining_ok": 0 < context.get_remaining_time_in_millis() <= 1000,
        "custom": context.client_context.custom if context.client_context else None,
        "task_root": os.environ["LAMBDA_TASK_ROOT"],
        "event": event,
    }
"""

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: emulated-worker
      Handler: {handler}
      Runtime: python3.12
      CodeUri: src/
      Timeout: 1
      MemorySize: 128
"""


def _function(root: Path, handler: str = "app.handler"):
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text(HANDLER)
    (root / "template.yaml").write_text(TEMPLATE.format(handler=handler))
    return read_functions(root / "template.yaml")["Worker"]


@pytest.fixture
def emulated(tmp_path: Path) -> Iterator[tuple[EmulatedInvoker, io.StringIO]]:
    log = io.StringIO()
    invoker = open_invoker(_function(tmp_path / "worker"), mode="emulate", log=log)
    assert isinstance(invoker, EmulatedInvoker)
    try:
        yield invoker, log
    finally:
        invoker.close()


def _call(invoker: EmulatedInvoker, action: str, **extra):
    return invoker.invoke(json.dumps({"action": action, **extra}).encode(), client_context=extra.get("context"))


def test_success_then_warm_invocation(emulated, tmp_path: Path) -> None:
    invoker, log = emulated
    first = _call(invoker, "ok", context={"custom": {"tenant": "t1"}})
    assert first.ok
    assert first.status == "success"
    assert first.error is None
    assert first.init_ms is not None
    assert first.init_ms > 0
    body = json.loads(first.payload)
    assert body == {
        "pid": body["pid"],
        "request_id": first.request_id,
        "function_name": "emulated-worker",
        "memory": "128",
        "remaining_ok": True,
        "custom": {"tenant": "t1"},
        "task_root": str(tmp_path / "worker" / "src"),
        "event": {"action": "ok", "context": {"custom": {"tenant": "t1"}}},
    }
    assert first.max_memory_mb > 0
    second = _call(invoker, "ok")
    assert second.ok
    assert second.init_ms is None  # warm: no INIT phase
    assert json.loads(second.payload)["pid"] == body["pid"]  # the same process served both
    lines = log.getvalue().splitlines()
    assert lines.count("init ran") == 1
    start = lines.index(f"START RequestId: {first.request_id} Version: $LATEST")
    assert lines[start + 1 : start + 3] == ["handling ok", f"END RequestId: {first.request_id}"]
    report = lines[start + 3]
    assert report.startswith(f"REPORT RequestId: {first.request_id}\tDuration: ")
    assert report.endswith(f"\tInit Duration: {first.init_ms:.2f} ms")
    second_report = next(line for line in lines if line.startswith(f"REPORT RequestId: {second.request_id}"))
    assert "Init Duration" not in second_report


def test_exception_gives_awslambdaric_error_json(emulated) -> None:
    invoker, log = emulated
    result = _call(invoker, "fail")
    assert result.status == "error"
    assert result.payload is None
    assert list(result.error) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert result.error["errorMessage"] == "boom"
    assert result.error["errorType"] == "ValueError"
    assert result.error["requestId"] == result.request_id
    assert 'raise ValueError("boom")' in result.error["stackTrace"][-1]
    lines = log.getvalue().splitlines()
    assert "[ERROR] ValueError: boom" in lines
    assert "Traceback (most recent call last):" in lines  # awslambdaric's "\r"-joined record, one line each
    assert _call(invoker, "ok").init_ms is None  # an exception does not end the environment


def test_import_error_is_an_init_error_and_the_next_call_retries_init(tmp_path: Path) -> None:
    log = io.StringIO()
    invoker = open_invoker(_function(tmp_path / "broken", "missing.handler"), mode="emulate", log=log)
    try:
        result = invoker.invoke(b"{}")
        assert result.status == "error"
        assert result.error == {
            "errorMessage": "Unable to import module 'missing': No module named 'missing'",
            "errorType": "Runtime.ImportModuleError",
            "requestId": result.request_id,
            "stackTrace": [],
        }
        assert result.init_ms is not None
        assert "[ERROR] Runtime.ImportModuleError: Unable to import module 'missing'" in log.getvalue()
        assert invoker.invoke(b"{}").init_ms is not None
    finally:
        invoker.close()


def test_timeout_kills_the_process_and_the_next_call_is_cold(emulated) -> None:
    invoker, log = emulated
    pid = json.loads(_call(invoker, "ok").payload)["pid"]
    result = _call(invoker, "sleep")
    assert result.status == "timeout"
    assert result.error["errorType"] == "Sandbox.Timedout"
    assert result.error["errorMessage"].endswith(f" {result.request_id} Task timed out after 1.00 seconds")
    assert result.duration_ms >= 1000
    assert result.error["errorMessage"] in log.getvalue()
    after = _call(invoker, "ok")
    assert after.init_ms is not None
    assert json.loads(after.payload)["pid"] != pid


def test_runtime_exit_is_reported_as_lambda_does(emulated) -> None:
    invoker, _ = emulated
    result = _call(invoker, "exit")
    assert result.status == "error"
    assert result.error == {
        "errorMessage": f"RequestId: {result.request_id} Error: Runtime exited with error: exit status 3",
        "errorType": "Runtime.ExitError",
    }
    assert _call(invoker, "ok").init_ms is not None


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="memory is measured through /proc")
def test_memory_limit_kills_the_process(emulated) -> None:
    invoker, _ = emulated
    result = _call(invoker, "hog")
    assert result.status == "oom"
    assert result.error["errorMessage"].endswith("Runtime exited with error: signal: killed")
    assert result.max_memory_mb == 128


def test_missing_awslambdaric_is_a_user_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "awslambdaric", None)
    with pytest.raises(RunnerError, match=r"^--emulate needs awslambdaric: pip install awslambdaric$"):
        EmulatedInvoker(_function(tmp_path / "w"))
