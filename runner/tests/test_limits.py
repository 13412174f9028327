"""Lambda's limits: Timeout, MemorySize, runtime exits, payload sizes, and a flood of output."""

from __future__ import annotations

import json
import re
import time

import pytest

from lambda_project import START, mode_flags, reports, response, runner, write_project

LOOP_FOREVER = """\
def handler(event, context):
    print("looping")
    while True:
        pass
"""


def test_infinite_loop_times_out_and_next_invocation_is_cold(tmp_path, mode):
    project = write_project(tmp_path, LOOP_FOREVER, properties="Timeout: 1\n")

    started = time.monotonic()
    result = runner(project, "invoke", "--repeat", "2", *mode_flags(mode))
    elapsed = time.monotonic() - started

    assert result.returncode == 1
    assert elapsed < 6
    first, second = reports(result.stderr)
    assert first["duration"] == "1000.00"
    assert (first["status"], first["error_type"]) == ("timeout", None)
    assert first["init"] is not None
    assert second["init"] is not None  # the environment was discarded
    assert int(first["billed"]) == -(-(1000 + float(first["init"])) // 1)
    timeout_line = re.compile(
        rf"^\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z {first['id']} Task timed out after 1\.00 seconds$", re.M
    )
    line = timeout_line.search(result.stderr)
    assert line is not None
    # As Lambda writes it: the timeout line, then END, then REPORT with the status.
    assert result.stderr[line.end() :].startswith(f"\nEND RequestId: {first['id']}\n{first.group(0)}\n")
    errors = [re.sub(r"^\S+ ", "<ts> ", json.loads(text)["errorMessage"]) for text in result.stdout.splitlines()]
    assert errors == [
        f"<ts> {first['id']} Task timed out after 1.00 seconds",
        f"<ts> {second['id']} Task timed out after 1.00 seconds",
    ]
    assert '"errorType": "Sandbox.Timedout"' in result.stdout


@pytest.mark.modes("isolated", "emulate")  # in-process, a signal handler cannot interrupt code blocked in C
def test_timeout_stops_code_blocked_in_c(tmp_path, mode):
    project = write_project(
        tmp_path,
        """\
        import threading

        def handler(event, context):
            threading.Event().wait()  # blocks in C, where no signal handler runs
        """,
        properties="Timeout: 1\n",
    )
    result = runner(project, "invoke", *mode_flags(mode))
    assert result.returncode == 1
    assert response(result)["errorType"] == "Sandbox.Timedout"


@pytest.mark.modes("isolated", "emulate")  # in-process, the runner cannot limit its own memory
def test_memory_hog_is_killed_like_lambda(tmp_path, mode):
    project = write_project(
        tmp_path,
        """\
        def handler(event, context):
            hoard = []
            while True:
                hoard.append(bytearray(4 * 1024 * 1024))
        """,
        properties="MemorySize: 128\nTimeout: 20\n",
    )

    started = time.monotonic()
    result = runner(project, "invoke", *mode_flags(mode))

    assert time.monotonic() - started < 10
    assert result.returncode == 1
    request_id = START.search(result.stderr)["id"]
    assert response(result) == {
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
        "errorType": "Runtime.ExitError",
    }
    (report,) = reports(result.stderr)
    assert report["used"] == "128"
    assert (report["status"], report["error_type"]) == ("error", "Runtime.OutOfMemory")
    lines = result.stderr.splitlines()
    assert lines[lines.index(report.group(0)) - 3 : lines.index(report.group(0)) + 1] == [
        f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
        "Runtime.ExitError",
        f"END RequestId: {request_id}",
        report.group(0),
    ]


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        ("sys.exit(3)", "Runtime exited with error: exit status 3"),
        ("sys.exit()", "Runtime exited without providing a reason"),
    ],
)
def test_sys_exit_in_handler_is_a_runtime_exit_error(tmp_path, mode, call, reason):
    project = write_project(tmp_path, f"import sys\n\ndef handler(event, context):\n    {call}\n")

    result = runner(project, "invoke", "--repeat", "2", *mode_flags(mode))

    assert result.returncode == 1
    first, second = reports(result.stderr)
    assert result.stdout.splitlines()[0] == (
        f'{{"errorMessage": "RequestId: {first["id"]} Error: {reason}", "errorType": "Runtime.ExitError"}}'
    )
    assert (first["status"], first["error_type"]) == ("error", "Runtime.ExitError")
    assert f"RequestId: {first['id']} Error: {reason}\nRuntime.ExitError\nEND RequestId: {first['id']}\n" in (
        result.stderr
    )
    assert second["init"] is not None  # the runtime exited: a new environment


def test_flood_of_prints_is_never_blocked_and_stays_in_order(tmp_path, mode):
    """200,000 lines fill any pipe many times over: a runner that stopped draining it would block the function
    until its Timeout (then the answer is not "done"). How fast it goes is bench/'s business, not a test's."""
    project = write_project(
        tmp_path,
        """\
        def handler(event, context):
            for number in range(200_000):
                print(f"line {number}")
            return "done"
        """,
        properties="Timeout: 60\n",  # far beyond what the lines take even on a busy machine
    )

    result = runner(project, "invoke", *mode_flags(mode))

    assert result.returncode == 0
    assert response(result) == "done"
    lines = result.stderr.splitlines()
    first = lines.index("line 0")
    assert lines[first : first + 200_000] == [f"line {number}" for number in range(200_000)]
    assert lines[first + 200_000].startswith("END RequestId: ")


def test_request_over_6_mb_is_refused_before_running(tmp_path):
    project = write_project(tmp_path, "print('init ran')\ndef handler(event, context):\n    return 1\n")
    (project / "big.json").write_text('"' + "x" * 6_291_455 + '"')

    result = runner(project, "invoke", "-e", "big.json")

    assert result.returncode == 2
    assert result.stderr == (
        "error: RequestEntityTooLargeException: Request must be smaller than 6291456 bytes for the InvokeFunction"
        " operation (this event is 6291457 bytes)\n"
    )


def test_async_request_over_1_mb_is_refused(tmp_path):
    project = write_project(tmp_path, "def handler(event, context):\n    return 1\n")
    (project / "big.json").write_text('"' + "x" * 1_048_575 + '"')

    result = runner(project, "invoke", "-e", "big.json", "--invocation-type", "Event")

    assert result.returncode == 2
    assert "Request must be smaller than 1048576 bytes" in result.stderr
    assert result.stdout == ""


def test_response_over_6_mb_is_function_response_size_too_large(tmp_path, mode):
    # 6291557 bytes once encoded: one over the figure Lambda's error names.
    project = write_project(tmp_path, "def handler(event, context):\n    return 'x' * 6_291_555\n")

    result = runner(project, "invoke", *mode_flags(mode))

    assert result.returncode == 1
    assert response(result) == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
