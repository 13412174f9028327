"""`--emulate`: run the function under AWS's own runtime interface client, against a local Runtime API.

The in-process and isolated modes reproduce the Python runtime; this mode runs the real one: `python -m
awslambdaric <handler>`, the client that Lambda's managed Python runtimes and container images use, in a
separate process. The runner plays the Lambda service's side of the Runtime API on 127.0.0.1 (`/next` hands out
one event with its headers, `/response`, `/error` and `/init/error` take the results), so handler resolution,
error JSON, logging and marshalling are awslambdaric's, not an imitation of them.

The platform's part is shared with the other modes (`invoke.PlatformInvoker`: request ids, size limits,
START/END/REPORT, timeout and exit errors); this module is only the sandbox: it keeps the process warm between
invocations, measures Init Duration from process start to the runtime's first `/next`, and enforces Timeout and
MemorySize from outside by killing the process, after which the next invocation is a cold start. It needs a
POSIX system (the runtime's output and the Runtime API's events are awaited with `select` on pipes), as does
awslambdaric itself.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO

from ..config.environment import lambda_environment
from ..config.template import FunctionConfig
from ..errors import RunnerError
from ..runtime.function import Request
from ..runtime.result import Invocation
from ..service.invoke import PlatformInvoker
from ..service.sandbox import EXITED
from .process import exit_reason, kill, peak_rss_mb, supervise

AWSLAMBDARIC_MISSING = "--emulate needs awslambdaric: pip install awslambdaric"
API_PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"


class QuietHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that prints no traceback when a client drops its connection (a runtime process
    killed at its timeout); other errors in a request handler are still reported."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class _Invoke:
    """The event waiting for (or handed to) the runtime, and what the runtime answered."""

    request_id: str
    body: bytes
    headers: dict[str, str]
    delivered_at: float | None = None
    answered_at: float | None = None
    response: bytes | None = None
    error: dict[str, Any] | None = None


@dataclass
class _Channel:
    """State shared by the Runtime API's request threads and the sandbox, for one process lifetime."""

    wake_fd: int  # written to on every state change, so the supervising thread can select() on it
    condition: threading.Condition = field(default_factory=threading.Condition)
    first_next_at: float | None = None
    init_error: dict[str, Any] | None = None
    pending: _Invoke | None = None
    closed: bool = False

    def changed(self) -> None:
        """Wake every waiter; call with `condition` held. A closed channel's pipe may be gone: never write to it."""
        self.condition.notify_all()
        if not self.closed:
            with contextlib.suppress(OSError):
                os.write(self.wake_fd, b"!")


def _error_body(data: bytes, error_type: str | None) -> dict[str, Any]:
    """The error JSON the runtime posted; a body that is not JSON is kept as the message."""
    try:
        error = json.loads(data)
    except ValueError:
        error = None
    if isinstance(error, dict):
        return error
    return {"errorMessage": data.decode("utf-8", errors="replace"), "errorType": error_type or "Unknown"}


def _runtime_api_handler(channel: _Channel) -> type[BaseHTTPRequestHandler]:
    class RuntimeApi(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # the runtime client keeps its connection open
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

        def _reply(self, status: int, body: bytes = b'{"status":"OK"}', headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path != f"{API_PREFIX}/invocation/next":
                self._reply(404, b'{"errorType":"NotFound"}')
                return
            with channel.condition:
                if channel.first_next_at is None:
                    channel.first_next_at = time.perf_counter()  # the end of the INIT phase
                channel.changed()
                channel.condition.wait_for(
                    lambda: channel.closed or (channel.pending is not None and channel.pending.delivered_at is None)
                )
                if channel.closed or channel.pending is None:
                    self.close_connection = True
                    self._reply(410, b'{"errorType":"EnvironmentShutDown"}')
                    return
                invoke = channel.pending
                invoke.delivered_at = time.perf_counter()
            self._reply(200, invoke.body, invoke.headers)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parts = self.path.removeprefix(API_PREFIX + "/").split("/")
            with channel.condition:
                if parts == ["init", "error"]:
                    channel.init_error = _error_body(body, self.headers.get(ERROR_TYPE_HEADER))
                    channel.changed()
                    self._reply(202)
                    return
                invoke = channel.pending
                if len(parts) != 3 or parts[0] != "invocation" or parts[2] not in ("response", "error"):
                    self._reply(404, b'{"errorType":"NotFound"}')
                    return
                if invoke is None or parts[1] != invoke.request_id or invoke.answered_at is not None:
                    self._reply(400, b'{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}')
                    return
                if parts[2] == "response":
                    invoke.response = body
                else:
                    invoke.error = _error_body(body, self.headers.get(ERROR_TYPE_HEADER))
                invoke.answered_at = time.perf_counter()
                channel.changed()
            self._reply(202)

        def log_message(self, format: str, *args: Any) -> None:
            """The Runtime API's traffic is the runner's business, not the function's log."""

    return RuntimeApi


def _invocation_headers(request: Request) -> dict[str, str]:
    """The headers `/next` carries, from which awslambdaric builds the context object."""
    headers = {
        "Lambda-Runtime-Aws-Request-Id": request.request_id,
        "Lambda-Runtime-Deadline-Ms": str(request.deadline_ms),
        "Lambda-Runtime-Invoked-Function-Arn": request.invoked_function_arn,
    }
    if request.trace_id:
        headers["Lambda-Runtime-Trace-Id"] = request.trace_id
    if request.client_context is not None:
        headers["Lambda-Runtime-Client-Context"] = json.dumps(request.client_context)
    if request.identity is not None:
        headers["Lambda-Runtime-Cognito-Identity"] = json.dumps(request.identity)
    if request.tenant_id:
        headers["Lambda-Runtime-Aws-Tenant-Id"] = request.tenant_id
    return headers


class EmulatedSandbox:
    """An awslambdaric process and the Runtime API it talks to; see the module docstring."""

    def __init__(self, function: FunctionConfig, env_overrides: dict[str, str], log: TextIO) -> None:
        self.function = function
        self.env_overrides = env_overrides
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.channel: _Channel | None = None
        self.server: QuietHTTPServer | None = None
        self.output_fd = self.wake_read = self.wake_write = -1
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.peak_mb = 0

    # -- the process and its output

    def _start(self) -> subprocess.Popen[bytes]:
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_read, False)
        self.channel = _Channel(self.wake_write)
        self.server = QuietHTTPServer(("127.0.0.1", 0), _runtime_api_handler(self.channel))
        threading.Thread(target=self.server.serve_forever, args=(0.05,), name="runtime-api", daemon=True).start()
        environment = lambda_environment(self.function, self.env_overrides)
        environment["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{self.server.server_address[1]}"
        environment["PYTHONPATH"] = os.pathsep.join(
            part for part in (str(self.function.code_dir), environment.get("PYTHONPATH", "")) if part
        )
        output_read, output_write = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "awslambdaric", self.function.handler],
                stdin=subprocess.DEVNULL,
                stdout=output_write,
                stderr=output_write,
                cwd=self.function.code_dir,
                env=environment,
                start_new_session=True,  # Ctrl-C reaches the runner, which then ends the runtime itself
            )
        finally:
            os.close(output_write)
        os.set_blocking(output_read, False)
        self.output_fd = output_read
        return self.process

    def _copy_output(self) -> None:
        """Copy whatever the process has written so far to the log (it writes before it answers, so all of it)."""
        while self.output_fd >= 0:
            try:
                chunk = os.read(self.output_fd, 1 << 16)
            except BlockingIOError:
                return
            if not chunk:
                self.log.write(self.decoder.decode(b"", final=True))
                os.close(self.output_fd)
                self.output_fd = -1
                return
            # awslambdaric joins the lines of one log record with "\r" (one CloudWatch event); a terminal would
            # overwrite the line with the next, so they are shown as the separate lines they stand for.
            self.log.write(self.decoder.decode(chunk).replace("\r\n", "\n").replace("\r", "\n"))
            self.log.flush()

    def _waiter(self, done: Callable[[_Channel], bool]) -> Callable[[float], bool]:
        """An `until` for `process.supervise`: wait for output or a Runtime API event, copy output, test `done`."""

        def until(wait_s: float) -> bool:
            watched = [fd for fd in (self.output_fd, self.wake_read) if fd >= 0]
            ready = select.select(watched, [], [], wait_s)[0] if watched else []
            if self.wake_read in ready:
                with contextlib.suppress(BlockingIOError):
                    os.read(self.wake_read, 4096)
            self._copy_output()
            if self.process is not None:
                self.peak_mb = max(self.peak_mb, peak_rss_mb(self.process.pid) or 0)
            channel = self.channel
            assert channel is not None
            with channel.condition:
                return bool(done(channel))

        return until

    def _ended(self, ended: str | None, elapsed_ms: float) -> Invocation:
        """The process died (killed at a limit, or exited on its own): collect its last output and say how."""
        process = self.process
        assert process is not None
        process.wait()
        self._copy_output()
        reason = exit_reason(process.returncode)
        return Invocation(None, None, elapsed_ms, ended=ended or EXITED, exit_reason=reason, max_memory_mb=self.peak_mb)

    # -- the Sandbox protocol

    def init(self, limit_s: float) -> Invocation:
        """Start the runtime; INIT ends at its first `/next`, or with the error it posts to `/init/error`."""
        start = time.perf_counter()
        process = self._start()
        ended = supervise(
            process,
            timeout_s=limit_s,
            memory_mb=self.function.memory_size,
            until=self._waiter(lambda channel: channel.first_next_at is not None or channel.init_error is not None),
        )
        channel = self.channel
        assert channel is not None
        if ended is not None:
            return self._ended(ended, (time.perf_counter() - start) * 1000)
        if channel.init_error is not None:
            return Invocation(
                None, channel.init_error, (time.perf_counter() - start) * 1000, max_memory_mb=self.peak_mb
            )
        assert channel.first_next_at is not None
        return Invocation(None, None, (channel.first_next_at - start) * 1000, max_memory_mb=self.peak_mb)

    def run(self, event: bytes, request: Request, timeout_s: float) -> Invocation:
        """Hand `event` to the waiting `/next` and wait for the response or error, within the timeout."""
        process, channel = self.process, self.channel
        if process is None or channel is None:
            raise RuntimeError("run() before init()")
        invoke = _Invoke(request.request_id, event, _invocation_headers(request))
        start = time.perf_counter()
        with channel.condition:
            channel.pending = invoke
            channel.changed()
        ended = supervise(
            process,
            timeout_s=timeout_s,
            memory_mb=self.function.memory_size,
            until=self._waiter(lambda _: invoke.answered_at is not None),
        )
        if ended is not None:
            return self._ended(ended, (time.perf_counter() - start) * 1000)
        self._copy_output()
        assert invoke.delivered_at is not None
        assert invoke.answered_at is not None
        duration = (invoke.answered_at - invoke.delivered_at) * 1000
        return Invocation(invoke.response, invoke.error, duration, max_memory_mb=self.peak_mb)

    def reset(self) -> None:
        """End the environment: kill the runtime, release waiting `/next` calls, stop the Runtime API."""
        process, self.process = self.process, None
        if process is not None:
            kill(process)
            if hasattr(os, "killpg"):  # and whatever the handler started: Lambda ends the whole sandbox
                with contextlib.suppress(OSError):
                    os.killpg(process.pid, signal.SIGKILL)
            self._copy_output()
        if self.channel is not None:
            with self.channel.condition:
                self.channel.closed = True
                self.channel.changed()
            self.channel = None
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        for fd in (self.output_fd, self.wake_read, self.wake_write):
            if fd >= 0:
                os.close(fd)
        self.output_fd = self.wake_read = self.wake_write = -1
        self.decoder.reset()
        self.peak_mb = 0


class EmulatedInvoker(PlatformInvoker):
    """An Invoker whose function runs under awslambdaric in a warm child process."""

    def __init__(
        self, function: FunctionConfig, env_overrides: dict[str, str] | None = None, log: TextIO = sys.stderr
    ) -> None:
        try:
            import awslambdaric  # noqa: F401 - only to tell the user early that it is missing
        except ImportError:
            raise RunnerError(AWSLAMBDARIC_MISSING) from None
        super().__init__(function, EmulatedSandbox(function, env_overrides or {}, log), log)
