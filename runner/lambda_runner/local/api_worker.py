"""One execution environment of `start-api`: a child process that answers the HTTP requests handed to it.

The supervisor (`api.py`) hands an environment a client connection that has a request waiting, passing the
socket itself over a Unix socket (SCM_RIGHTS). The environment reads the request with the standard library's
`http.server` (HTTP parsing stays CPython's), builds the event of its route (`routes.py`), invokes the function
in this very process, maps the result to HTTP and answers. This process is the execution environment: the
function's memory is its memory, and killing it ends the environment as Lambda ends one. Nothing crosses a
process boundary per request, so an environment answers about as fast as a bare `http.server` calling the
handler, plus Lambda's own per-request work (the event, START/END/REPORT); several environments answer at once
on several cores.

It keeps the connection while the client sends its next request at once (so a keep-alive client pays no
hand-over per request), and hands it back to the supervisor when the client pauses (`LINGER_S`), when other
connections wait for an environment (the shared table's flag), or when the supervisor retires it (an edit).

Limits are enforced from outside, as Lambda's are: before its INIT phase and each invocation the environment
writes its deadline and ids into its slot (`slots.py`); the supervisor kills it past the deadline or over
MemorySize, reports it in Lambda's words and answers the client itself. A function that exits (`sys.exit`,
`os._exit`, a crash) ends this process, which the supervisor reports the same way.

Messages on the Unix socket are 9 bytes, an operation and a connection number: `C` (serve this connection: its
socket comes with the message) and `Q` (quit) from the supervisor; `B` (handed back, keep-alive), `X` (closed)
from the environment, or `b`/`x` when the environment ends after it (it cannot be used again).
"""

from __future__ import annotations

import io
import json
import mmap
import os
import pickle
import select
import socket
import struct
import sys
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, TextIO, cast

from ..config.template import FunctionConfig
from ..errors import RunnerError
from ..events.http_events import HttpRequest
from ..runtime.function import FunctionRuntime, Request, Unbuffered, lambda_sys_path
from ..sandboxes.process import peak_rss_mb
from ..sandboxes.worker import die_of
from ..service.invoke import Invocation, PayloadTooLarge, PlatformInvoker
from ..service.sandbox import Step
from .routes import (
    ANY_METHOD,
    API_BODY_LIMIT,
    BODY_TOO_LARGE,
    DRAIN_LIMIT,
    MISSING_TOKEN,
    NOT_FOUND,
    REST,
    URL,
    HttpResponse,
    Route,
    event_for,
    failure_answer,
    json_response,
    map_response,
    select_route,
)
from .slots import INIT, INVOKE, SlotWriter, is_waiting, table_size

MESSAGE = struct.Struct("<cQ")  # operation, connection number
LINGER_S = 0.002  # how long a served connection is kept for its client's next request
SOCKET_TIMEOUT_S = 30.0  # a client that stalls mid-request is dropped after this long without a byte


class EnvironmentConfig:
    """What the supervisor sends a new environment (pickled: both ends are this package)."""

    def __init__(self, function: FunctionConfig, routes: list[Route], port: int, slots: int) -> None:
        self.function = function
        self.routes = routes
        self.port = port
        self.slots = slots


class _DirectSandbox:
    """The function in this process: the platform (`PlatformInvoker`) drives it, the supervisor limits it."""

    def __init__(self, handler: str, slot: SlotWriter, started: float) -> None:
        self.handler = handler
        self.slot = slot
        self.started = started  # when the process was started: the first INIT includes the interpreter's start-up
        self.runtime: FunctionRuntime | None = None
        self.init_ms: float | None = None  # reported with the first invocation after INIT

    def init(self, limit_s: float) -> Step:
        self.slot.enter(INIT, limit_s, memory_mb=peak_rss_mb() or 0)
        self.runtime = FunctionRuntime(self.handler)
        outcome = self.runtime.init()
        self.slot.leave()
        duration = (time.monotonic() - self.started) * 1000
        self.init_ms = duration
        return Step(outcome.error, duration, memory_mb=peak_rss_mb() or 0)

    def run(self, event: bytes, request: Request, timeout_s: float) -> Step:
        runtime = self.runtime
        if runtime is None:
            raise RuntimeError("run() before init()")
        self.slot.enter(
            INVOKE, timeout_s, memory_mb=peak_rss_mb() or 0, trace_id=request.trace_id or "", init_ms=self.init_ms
        )
        self.init_ms = None
        outcome = runtime.invoke(event, request)
        self.slot.leave()
        return Step(outcome.error, outcome.duration_ms, outcome.response, memory_mb=peak_rss_mb() or 0)

    def reset(self) -> None:
        if self.runtime is not None:
            self.runtime.shutdown()
            self.runtime = None


def _trace_header() -> str:
    return f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()}"


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


class Environment:
    """This process's side of start-api: see the module docstring."""

    def __init__(
        self, config: EnvironmentConfig, control: socket.socket, table: mmap.mmap, index: int, spawned_at: float
    ) -> None:
        self.function = config.function
        self.routes = config.routes
        self.port = config.port
        self.control = control
        self.table = table
        self.log: TextIO = sys.stderr
        self.slot = SlotWriter(table, index)
        self.invoker = PlatformInvoker(
            self.function, _DirectSandbox(self.function.handler, self.slot, spawned_at), self.log
        )

    def serve(self) -> None:
        """Serve the connections the supervisor hands over, until it says quit or this environment is spent."""
        while True:
            data, fds, _flags, _address = socket.recv_fds(self.control, MESSAGE.size, 1)
            if len(data) < MESSAGE.size or data[:1] != b"C" or not fds:
                return  # Q, or the supervisor is gone
            number = MESSAGE.unpack(data)[1]
            connection = socket.socket(fileno=fds[0])
            try:
                closed = self._serve_connection(connection)
            finally:
                connection.close()
            spent = not self.invoker.warm  # INIT failed: the next request starts a new process, a real cold start
            operation = (b"X" if closed else b"B") if not spent else (b"x" if closed else b"b")
            self.control.sendall(MESSAGE.pack(operation, number))
            if spent:
                return

    def _serve_connection(self, connection: socket.socket) -> bool:
        """Answer the requests of `connection` while its client keeps them coming; whether it is closed now.

        A client that goes away mid-answer closes the connection, not the environment (the function's own errors
        never get here: the runtime reports them).
        """
        try:
            connection.settimeout(SOCKET_TIMEOUT_S)
            handler = _handler_class(self)(connection, connection.getpeername(), cast(Any, None))  # no server object
        except OSError:
            return True
        return bool(handler.close_connection)

    def next_request_ready(self, handler: BaseHTTPRequestHandler) -> bool:
        """Whether to answer the connection's next request here, rather than hand the connection back."""
        if not self.invoker.warm:
            return False
        connection = handler.connection
        connection.setblocking(False)  # read what is buffered, or what has arrived, without waiting
        try:
            pending = cast(io.BufferedReader, handler.rfile).peek(1)
        except OSError:
            pending = b""
        finally:
            connection.settimeout(SOCKET_TIMEOUT_S)
        if pending:
            return True  # already read from the socket: it must be answered here
        if is_waiting(self.table):
            return False
        ready = select.select([connection, self.control], [], [], LINGER_S)[0]
        return connection in ready and self.control not in ready

    def respond(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, peer: str) -> HttpResponse:
        """One HTTP request: the event of its route, the invocation, and the HTTP response of its result."""
        started = time.perf_counter()
        raw_path, _, query = target.partition("?")
        request = HttpRequest(
            method=method,
            path=raw_path or "/",
            query=query,
            headers=[
                *headers,
                ("X-Amzn-Trace-Id", _trace_header()),
                ("X-Forwarded-For", peer),
                ("X-Forwarded-Port", str(self.port)),
                ("X-Forwarded-Proto", "http"),
            ],
            body=body,
            source_ip=peer,
            request_id=str(uuid.uuid4()),
            time=datetime.now(timezone.utc),
        )
        route = select_route(self.routes, method, request.decoded_path)
        if route is None:
            all_rest = all(candidate.api == REST for candidate in self.routes)
            response = json_response(MISSING_TOKEN if all_rest else NOT_FOUND)
        elif route.api != URL and len(body) > API_BODY_LIMIT:
            status, content_type, text = BODY_TOO_LARGE
            response = HttpResponse(status, [("Content-Type", content_type)], text.encode())
        else:
            domain = request.header("host") or f"127.0.0.1:{self.port}"
            self.slot.request(f"{method} {target}", rest=route.api == REST, request_id=str(uuid.uuid4()))
            event = json.dumps(event_for(route, request, domain)).encode()
            invocation = self._invoke(event)
            if isinstance(invocation, Invocation):
                response = map_response(route, invocation, self.log)
            else:  # the invocation was refused (500) or the runner failed (502): API Gateway's answers
                response = json_response((invocation, failure_answer(route.api)[1]))
        request_id_header = "x-amzn-RequestId" if route is None or route.api == REST else "Apigw-Requestid"
        response.headers.append((request_id_header, request.request_id))
        self.log_access(method, target, response.status, started)
        return response

    def log_access(self, method: str, target: str, status: int, started: float) -> None:
        """The request's last line in the log: after it, nothing more is written about the request."""
        self.log.write(f'"{method} {target}" {status} {(time.perf_counter() - started) * 1000:.1f} ms\n')

    def _invoke(self, event: bytes) -> Invocation | int:
        """Invoke the function; else the HTTP status of the failure, logged.

        API Gateway answers 500 when Lambda refuses the invocation (a payload over 6 MB) and 502 when it fails.
        """
        try:
            return self.invoker.invoke(event, request_id=self.slot.request_id)
        except PayloadTooLarge as exc:
            self.log.write(f"start-api: Lambda refused the invocation: {exc}\n")
            return 500
        except RunnerError as exc:
            self.log.write(f"start-api: {exc}\n")
            return 502


def _handler_class(environment: Environment) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "slsgen-start-api"
        sys_version = ""
        protocol_version = "HTTP/1.1"  # keep-alive
        # Status line, headers and body in one write (http.server flushes after each request), sent at once (no
        # Nagle): 7% more requests/s and 6% less CPU per request than two writes (bench/README.md, part 3).
        wbufsize = -1
        disable_nagle_algorithm = True
        timeout = SOCKET_TIMEOUT_S

        def handle(self) -> None:
            """This connection's requests, while its client sends them at once (see the module docstring)."""
            self.handle_one_request()
            while not self.close_connection and environment.next_request_ready(self):
                self.handle_one_request()

        def _handle(self) -> None:
            if self.headers.get("Transfer-Encoding", "").lower() not in ("", "identity"):
                self.send_error(411, "Length Required", "send the body with a Content-Length")
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                self.send_error(400, "Bad Content-Length")
                return
            if length < 0:
                self.send_error(400, "Bad Content-Length")
                return
            if length > API_BODY_LIMIT:
                started = time.perf_counter()
                # API Gateway's answer. The body is read and dropped first (a client still sending it would get a
                # broken pipe instead of the answer), unless it is too large even for that.
                remaining = length if length <= DRAIN_LIMIT else 0
                while remaining > 0 and (chunk := self.rfile.read(min(remaining, 1 << 20))):
                    remaining -= len(chunk)
                status, content_type, text = BODY_TOO_LARGE
                self._send(HttpResponse(status, [("Content-Type", content_type)], text.encode()), close=True)
                environment.log_access(self.command, self.path, status, started)
                return
            body = self.rfile.read(length) if length > 0 else b""
            peer = self.client_address[0]
            self._send(environment.respond(self.command, self.path, list(self.headers.items()), body, peer))

        def _send(self, response: HttpResponse, *, close: bool = False) -> None:
            self.send_response(response.status)
            if close:
                self.send_header("Connection", "close")  # and http.server closes it after this response
            for name, value in response.headers:
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    # A header of the function's cannot split the response (http.server writes it as given).
                    self.send_header(_one_line(name), _one_line(value))
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            """A request line with an unknown method or HTTP version is malformed: 400, as API Gateway answers."""
            if code in (501, 505):
                code, explain = 400, message
                message = "Bad Request"
                self.request_version = "HTTP/1.1"  # not yet set for a bad version: the answer needs its status line
            super().send_error(code, message, explain)

        def log_message(self, format: str, *args: Any) -> None:
            """Each request is logged by `Environment.respond`, with its time."""

    for method in ANY_METHOD:
        setattr(Handler, f"do_{method}", Handler._handle)
    return Handler


def _receive_config(control: socket.socket) -> EnvironmentConfig:
    size = struct.unpack("<I", _receive_exactly(control, 4))[0]
    config = pickle.loads(_receive_exactly(control, size))  # noqa: S301  # nosec B301  # sent by our own supervisor
    assert isinstance(config, EnvironmentConfig)
    return config


def _receive_exactly(control: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = control.recv(size - len(data))
        if not chunk:
            raise SystemExit(0)  # the supervisor went away before the environment started
        data += chunk
    return data


def _die_with_the_server() -> None:
    """On Linux, be killed when the server dies, even by SIGKILL (elsewhere, an idle environment sees its socket end).

    Without it a function stuck in a loop would outlive a killed server.
    """
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)


def main(control_fd: int, table_fd: int, index: int, spawned_at: float) -> None:
    """The environment process: set up as Lambda's, then serve until told to quit (see the module docstring).

    SystemExit from the function ends the process with its status, as in Lambda; any other BaseException (a
    KeyboardInterrupt the handler raises) ends it as an uncaught exception ends Python.
    """
    _die_with_the_server()
    control = socket.socket(fileno=control_fd)
    config = _receive_config(control)
    table = mmap.mmap(table_fd, table_size(config.slots))
    sys.stdout = Unbuffered(sys.stdout)
    sys.stderr = Unbuffered(sys.stderr)
    sys.path[:] = lambda_sys_path(Path(os.environ["LAMBDA_TASK_ROOT"]), sys.path)
    environment = Environment(config, control, table, index, spawned_at)
    try:
        environment.serve()
    except SystemExit:
        raise
    except BaseException as exc:  # the function's own: the runtime dies of it
        die_of(exc)
