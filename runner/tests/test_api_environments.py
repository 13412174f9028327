"""`start-api`'s environments: limits enforced from outside, connections handed over and back, no orphans."""

from __future__ import annotations

import http.client
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_api import _project, request, running

REPO = Path(__file__).resolve().parents[1]  # runner/: the folder that holds lambda_runner/

HANDLER = """\
import os
import sys
import time


def handler(event, context):
    path = event["rawPath"]
    if path == "/hog":
        hoard = []
        while True:
            hoard.append(bytearray(8 * 1024 * 1024))
            time.sleep(0.001)
    if path == "/stuck":
        with open(os.environ["PID_FILE"], "w") as pid_file:
            pid_file.write(str(os.getpid()))
        print("looping now", flush=False)
        while True:
            try:
                time.sleep(0.01)
            except BaseException:
                pass
    return {"statusCode": 200, "headers": {"X-Pid": str(os.getpid())}, "body": path}
"""

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  WebFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: src/
      Timeout: {timeout}
      MemorySize: 128
      Environment:
        Variables:
          PID_FILE: {pid_file}
      Events:
        All: {Type: HttpApi, Properties: {Path: "/{proxy+}", Method: ANY}}
"""


def _web(root: Path, timeout: int = 1) -> Path:
    template = _project(
        root, TEMPLATE.replace("{pid_file}", str(root / "stuck.pid")).replace("{timeout}", str(timeout))
    )
    (root / "src" / "app.py").write_text(HANDLER)
    return template


def _exchange(port: int, raw: bytes) -> bytes:
    """Send `raw` on one connection, then read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_function_over_its_memory_size_is_killed_and_answered_502(tmp_path: Path) -> None:
    with running(_web(tmp_path / "web"), max_concurrency=1) as (api, log):
        status, _, body = request(api, "GET", "/hog")
        assert (status, body) == (502, b'{"message": "Internal Server Error"}')
        assert request(api, "GET", "/hello")[0] == 200  # a new environment
    reports = [line for line in log.getvalue().splitlines() if line.startswith("REPORT")]
    assert "Memory Size: 128 MB\tMax Memory Used: 128 MB" in reports[0]
    assert reports[0].endswith("Status: error\tError Type: Runtime.OutOfMemory")
    assert "Init Duration" in reports[1]
    assert '"GET /hog" 502' in log.getvalue()


def test_a_waiting_client_is_not_starved_by_a_busy_keep_alive_client(tmp_path: Path) -> None:
    """One environment, and a client that always has its next request queued on its connection: another client
    still gets in, in about the time of a request."""
    with running(_web(tmp_path / "web"), max_concurrency=1) as (api, _):
        answered = 0
        stop = threading.Event()

        def busy_client() -> None:
            nonlocal answered
            request_bytes = b"GET /busy HTTP/1.1\r\nHost: localhost\r\n\r\n"
            with socket.create_connection(("127.0.0.1", api.port), timeout=10) as sock:
                sock.sendall(request_bytes * 8)  # eight in flight: the next one is always waiting
                while not stop.is_set():
                    new = sock.recv(65536).count(b"HTTP/1.1 200 OK")
                    answered += new
                    sock.sendall(request_bytes * new)

        thread = threading.Thread(target=busy_client)
        thread.start()
        try:
            while answered < 20:  # the busy client holds the environment
                time.sleep(0.01)
            for _ in range(5):
                started = time.monotonic()
                assert request(api, "GET", "/other")[0] == 200
                assert time.monotonic() - started < 5.0  # not held behind the busy client, which never lets go
        finally:
            stop.set()
            thread.join(15)
        assert answered > 20


def test_pipelined_and_paused_requests_on_one_connection(tmp_path: Path) -> None:
    """Requests sent together are all answered; after a pause the connection is served again, warm."""
    with running(_web(tmp_path / "web")) as (api, log):
        get = b"GET /%s HTTP/1.1\r\nHost: localhost\r\n\r\n"
        answer = _exchange(api.port, get % b"one" + get % b"two" + b"GET /three HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert answer.count(b"HTTP/1.1 200 OK") == 3
        assert answer.index(b"/one") < answer.index(b"/two") < answer.index(b"/three")
        connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
        try:
            pids = []
            for _ in range(3):
                connection.request("GET", "/again")
                response = connection.getresponse()
                response.read()
                pids.append(response.headers["X-Pid"])
                time.sleep(0.1)  # longer than an environment keeps a quiet connection
        finally:
            connection.close()
    assert len(set(pids)) == 1  # the warm environment, each time
    reports = [line for line in log.getvalue().splitlines() if line.startswith("REPORT")]
    assert ["Init Duration" in line for line in reports] == [True] + [False] * 5


@contextmanager
def _cli_server(template: Path, log_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`start-api` through the CLI, its log a file: the process and its port."""
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "lambda_runner", "start-api", "-t", str(template), "--port", "0"],
            stdout=log,
            stderr=log,
            cwd=REPO,
        )
    try:
        deadline = time.monotonic() + 20
        while not (found := re.search(r"served at http://127\.0\.0\.1:(\d+)", log_path.read_text())):
            assert server.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        yield server, int(found.group(1))
    finally:
        server.kill()
        server.wait()


def test_in_the_log_file_the_functions_output_comes_before_the_platform_lines_about_it(tmp_path: Path) -> None:
    log_path = tmp_path / "start-api.log"
    with _cli_server(_web(tmp_path / "web"), log_path) as (_, port):
        answer = _exchange(port, b"GET /stuck HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 502 ")
        text = log_path.read_text()
    assert text.index("looping now") < text.index("Task timed out after 1.00 seconds") < text.index("END RequestId")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_an_environment_stuck_in_a_request_dies_with_a_killed_server(tmp_path: Path) -> None:
    pid_file = tmp_path / "web" / "stuck.pid"
    with _cli_server(_web(tmp_path / "web", timeout=60), tmp_path / "start-api.log") as (server, port):
        threading.Thread(target=lambda: _exchange(port, b"GET /stuck HTTP/1.1\r\n\r\n"), daemon=True).start()
        deadline = time.monotonic() + 20
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        stuck = int(pid_file.read_text())
        server.send_signal(signal.SIGKILL)  # no chance to clean up
        server.wait()
    deadline = time.monotonic() + 5
    while Path(f"/proc/{stuck}").exists() and "zombie" not in Path(f"/proc/{stuck}/status").read_text():
        assert time.monotonic() < deadline, "the stuck environment outlived the killed server"
        time.sleep(0.05)
