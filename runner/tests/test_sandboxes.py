"""Timeouts and crashes end the environment, never the runner, in every mode, as on Lambda.

Whatever the handler does (catch the timeout, call `os._exit`, raise KeyboardInterrupt), the invocation reports
Lambda's error, the environment is replaced, and the next invocation is a cold start.
"""

from __future__ import annotations

import io
import re
import time

import pytest

from lambda_runner.config.template import read_functions
from lambda_runner.sandboxes.choose import open_invoker

from lambda_project import reports, runner, write_project

ALL_MODES = ["inprocess", "isolated", "emulate"]
LEFT_BEHIND = "note: the function did not stop at its timeout"

STUBBORN_LOOP = """\
import time

def handler(event, context):
    while True:
        try:
            time.sleep(0.01)
        except BaseException:
            pass
"""


def flags(mode: str) -> list[str]:
    return {"inprocess": [], "isolated": ["--isolated"], "emulate": ["--emulate"]}[mode]


def exit_lines(request_id: str, reason: str) -> str:
    return f"RequestId: {request_id} Error: Runtime exited with error: {reason}\nRuntime.ExitError\n"


@pytest.mark.parametrize("mode", ALL_MODES)
def test_a_handler_that_catches_the_timeout_still_times_out_and_the_next_call_is_cold(tmp_path, mode):
    project = write_project(tmp_path, STUBBORN_LOOP, properties="Timeout: 1\n")

    started = time.monotonic()
    result = runner(project, "invoke", "--repeat", "2", *flags(mode), timeout=60)

    assert time.monotonic() - started < 20
    assert result.returncode == 1
    timeouts = re.findall(r"^\S+Z (\S+) Task timed out after 1\.00 seconds$", result.stderr, re.MULTILINE)
    found = reports(result.stderr)
    assert timeouts == [report["id"] for report in found]  # each after its REPORT, for both invocations
    assert [report["init"] is not None for report in found] == [True, True]  # the second is a cold start
    assert [report["duration"] for report in found] == ["1000.00", "1000.00"]  # billed for the whole timeout
    # In process, the thread that would not stop is left behind: the next environment is a child process.
    assert (LEFT_BEHIND in result.stderr) == (mode == "inprocess")


def test_in_process_a_handler_that_stops_at_the_timeout_keeps_the_in_process_mode(tmp_path):
    code = "def handler(event, context):\n    while True:\n        pass\n"
    project = write_project(tmp_path, code, properties="Timeout: 1\n")

    result = runner(project, "invoke", "--repeat", "2")

    assert result.stderr.count("Task timed out after 1.00 seconds") == 2
    assert LEFT_BEHIND not in result.stderr
    assert [report["init"] is not None for report in reports(result.stderr)] == [True, True]


@pytest.mark.parametrize("mode", ALL_MODES)
def test_os_exit_is_a_runtime_exit_error_and_the_runner_carries_on(tmp_path, mode):
    code = "import os\n\ndef handler(event, context):\n    print('bye', flush=True)\n    os._exit(5)\n"
    project = write_project(tmp_path, code)

    result = runner(project, "invoke", "--repeat", "2", *flags(mode))

    assert result.returncode == 1
    found = reports(result.stderr)
    assert [report["init"] is not None for report in found] == [True, True]  # the runner survived; cold again
    for report in found:
        assert exit_lines(report["id"], "exit status 5") in result.stderr
        assert f'"RequestId: {report["id"]} Error: Runtime exited with error: exit status 5"' in result.stdout
    assert result.stdout.count('"errorType": "Runtime.ExitError"') == 2
    assert result.stderr.count("bye\n") == 2


def test_in_process_os_exit_from_another_thread_of_the_function_ends_the_environment(tmp_path):
    code = (
        "import os, threading, time\n\n"
        "def handler(event, context):\n"
        "    threading.Thread(target=os._exit, args=(3,)).start()\n"
        "    time.sleep(5)\n"
    )
    project = write_project(tmp_path, code, properties="Timeout: 10\n")

    started = time.monotonic()
    result = runner(project, "invoke")

    assert time.monotonic() - started < 5
    assert exit_lines(reports(result.stderr)[0]["id"], "exit status 3") in result.stderr


def test_in_process_os_exit_in_a_forked_child_of_the_function_is_the_childs_own(tmp_path):
    code = (
        "import os\n\n"
        "def handler(event, context):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        os._exit(7)\n"
        "    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])\n"
    )
    project = write_project(tmp_path, code)

    result = runner(project, "invoke")

    assert (result.returncode, result.stdout.strip()) == (0, "7")


@pytest.mark.parametrize("mode", ALL_MODES)
def test_keyboard_interrupt_raised_by_the_handler_ends_the_runtime_as_it_ends_python(tmp_path, mode):
    code = "def handler(event, context):\n    raise KeyboardInterrupt\n"
    project = write_project(tmp_path, code)

    result = runner(project, "invoke", "--repeat", "2", *flags(mode))

    assert result.returncode == 1
    found = reports(result.stderr)
    assert [report["init"] is not None for report in found] == [True, True]
    for report in found:
        assert f"END RequestId: {report['id']}\n" in result.stderr
        assert exit_lines(report["id"], "signal: interrupt") in result.stderr
    traceback = result.stderr[result.stderr.index("Traceback") : result.stderr.index("END RequestId")]
    assert 'app.py", line 2, in handler' in traceback
    assert "KeyboardInterrupt" in traceback
    if mode != "emulate":  # the runner's own frames are not the function's business (awslambdaric shows its own)
        assert "runner/lambda_runner" not in traceback


def test_in_process_output_of_c_code_goes_to_the_log(tmp_path):
    code = "import os\n\ndef handler(event, context):\n    os.write(1, b'from C level\\n')\n    return 'ok'\n"
    function = read_functions(write_project(tmp_path, code) / "template.yaml")["Fn"]
    log_path = tmp_path / "run.log"
    with open(log_path, "w") as log:
        invoker = open_invoker(function, log=log)
        try:
            assert invoker.invoke(b"{}").ok
        finally:
            invoker.close()
    lines = log_path.read_text().splitlines()
    assert lines.index("from C level") > next(i for i, line in enumerate(lines) if line.startswith("START"))


def test_in_process_environment_is_restored_after_a_left_behind_function(tmp_path):
    function = read_functions(write_project(tmp_path, STUBBORN_LOOP, properties="Timeout: 1\n") / "template.yaml")
    import os
    import sys

    before = dict(os.environ), os.getcwd(), list(sys.path), os._exit
    log = io.StringIO()
    invoker = open_invoker(function["Fn"], log=log)
    try:
        assert invoker.invoke(b"{}").status == "timeout"
        assert (dict(os.environ), os.getcwd(), list(sys.path), os._exit) == before
    finally:
        invoker.close()
    assert LEFT_BEHIND in log.getvalue()
