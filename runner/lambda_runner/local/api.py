"""`start-api`: a local HTTP endpoint in front of the template's functions, shaped like API Gateway or function URLs.

The standard library's threading HTTP server parses the requests; each request borrows an execution environment
from a pool and invokes the function there, as Lambda scales out: at most `max_concurrency` environments, each
a warm child process (the isolated sandbox of `invoke --isolated`), started when a request finds none idle (a
cold start) and kept warm afterwards; the most recently used idle one serves next, as Lambda reuses warm ones.
Beyond `max_concurrency` a request waits for an environment (Lambda would throttle instead).

What Lambda enforces from outside the function, the sandbox enforces: it kills an environment at its Timeout or
over its MemorySize, and notices one that exits or crashes; the invocation is reported in Lambda's words, the
client gets API Gateway's 502, and the next request in that environment is a cold start, so the server keeps
serving. Before each request the code folder and the template are checked (`watch.py`): after an edit every
environment is retired, so the next requests are cold starts with the new code and configuration.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO, cast

from ..config.template import FunctionConfig, load_template, read_functions
from ..errors import RunnerError
from ..events.http_events import HttpRequest
from ..runtime.result import Invocation
from ..sandboxes.isolated import IsolatedSandbox
from ..sandboxes.process import kill
from ..service.invoke import PayloadTooLarge, PlatformInvoker
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
    combine_routes,
    event_for,
    failure_answer,
    find_routes,
    json_response,
    map_response,
    select_route,
)
from .watch import CodeWatcher

DEFAULT_MAX_CONCURRENCY = 4  # warm environments at once when the template reserves no concurrency
SOCKET_TIMEOUT_S = 30.0  # a client that stalls mid-request is dropped after this long without a byte
LENGTH_REQUIRED = (411, {"message": "Length Required: send the body with a Content-Length"})


def max_concurrency_of(function: FunctionConfig, requested: int | None) -> int:
    """`--max-concurrency` if given, else the function's ReservedConcurrentExecutions, else a small default."""
    if requested is not None:
        if requested < 1:
            raise RunnerError(f"--max-concurrency must be at least 1, not {requested}")
        return requested
    reserved = function.properties.get("ReservedConcurrentExecutions")
    if reserved is None:
        return DEFAULT_MAX_CONCURRENCY
    try:
        reserved = int(reserved)
    except (TypeError, ValueError):
        raise RunnerError(
            f"{function.logical_id}: ReservedConcurrentExecutions must be a number, not {reserved!r}"
        ) from None
    if reserved < 1:
        raise RunnerError(
            f"{function.logical_id} has ReservedConcurrentExecutions {reserved}: Lambda throttles every invocation;"
            " pass --max-concurrency N to serve it locally anyway"
        )
    return reserved


class _Lines(io.TextIOBase):
    """One environment's log: complete lines only, written under a lock shared by all, so lines never mix."""

    def __init__(self, log: TextIO, lock: threading.Lock) -> None:
        self.log = log
        self.lock = lock
        self.partial = ""

    def write(self, text: str) -> int:
        self.partial += text
        cut = self.partial.rfind("\n") + 1
        if cut:
            with self.lock:
                self.log.write(self.partial[:cut])
                self.log.flush()
            self.partial = self.partial[cut:]
        return len(text)

    def flush(self) -> None:
        """Complete lines are written at once; a partial one waits for its end."""


class Pool:
    """Up to `size` warm environments of the function; `environment()` lends one to a request."""

    def __init__(
        self,
        function: FunctionConfig,
        env_overrides: dict[str, str],
        log: TextIO,
        size: int,
        log_lock: threading.Lock | None = None,
    ) -> None:
        self.function = function
        self.env_overrides = env_overrides
        self.log = log
        self.size = size
        self._lock = threading.Lock()
        self._log_lock = log_lock or threading.Lock()  # the server's: its lines and the environments' never mix
        self._free = threading.BoundedSemaphore(size)
        self._idle: list[PlatformInvoker] = []  # the most recently used last
        self._sandboxes: set[IsolatedSandbox] = set()  # every environment, idle or busy, for `close()`
        self._generation = 0  # bumped by `retire()`: environments of an older one are not reused

    @contextlib.contextmanager
    def environment(self) -> Iterator[PlatformInvoker]:
        self._free.acquire()
        try:
            with self._lock:
                invoker = self._idle.pop() if self._idle else None
                generation, function = self._generation, self.function
            if invoker is None:
                lines = cast(TextIO, _Lines(self.log, self._log_lock))
                sandbox = IsolatedSandbox(function, self.env_overrides, lines)
                with self._lock:
                    self._sandboxes.add(sandbox)
                invoker = PlatformInvoker(function, sandbox, lines, cost=False)
            try:
                yield invoker
            finally:
                with self._lock:
                    keep = generation == self._generation
                    if keep:
                        self._idle.append(invoker)
                if not keep:
                    self._end(invoker)
        finally:
            self._free.release()

    def retire(self, function: FunctionConfig) -> None:
        """Serve `function` from new environments: idle ones end now, busy ones when their request is done."""
        with self._lock:
            self._generation += 1
            self.function = function
            idle, self._idle = self._idle, []
        for invoker in idle:
            self._end(invoker)

    def _end(self, invoker: PlatformInvoker) -> None:
        invoker.close()
        with self._lock:
            self._sandboxes.discard(cast(IsolatedSandbox, invoker.sandbox))

    def close(self) -> None:
        """End every environment: idle ones, and busy ones too (their requests get API Gateway's 502)."""
        self.retire(self.function)
        with self._lock:
            busy = list(self._sandboxes)
        for sandbox in busy:
            if sandbox.process is not None:
                kill(sandbox.process)


class _Served:
    """One function behind the server: its configuration, its pool of environments and its code watcher."""

    def __init__(
        self,
        function: FunctionConfig,
        env_overrides: dict[str, str],
        log: TextIO,
        log_lock: threading.Lock,
        max_concurrency: int | None,
        template_path: Path | None,
    ) -> None:
        self.function = function
        self.max_concurrency = max_concurrency_of(function, max_concurrency)
        self.pool = Pool(function, env_overrides, log, self.max_concurrency, log_lock)
        self.watcher = CodeWatcher(function.code_dir, also=(template_path,) if template_path else ())


class LocalApi:
    """The running server: its URL, and `stop()`, which any thread but the serving one may call.

    It serves the routes of every function given, each from that function's own pool of environments (sized by
    its own `max_concurrency_of`); a method and path two functions both declare goes to the first one.
    """

    def __init__(
        self,
        functions: list[FunctionConfig],
        routes: list[Route],
        *,
        host: str,
        port: int,
        env_overrides: dict[str, str] | None,
        log: TextIO,
        template_path: Path | None = None,
        max_concurrency: int | None = None,
        function_overrides: Mapping[str, dict[str, str]] | None = None,
    ) -> None:
        self.template_path = template_path
        self.log = log
        self._log_lock = threading.Lock()
        self.served = {
            function.logical_id: _Served(
                function,
                {**(function_overrides or {}).get(function.logical_id, {}), **(env_overrides or {})},
                log,
                self._log_lock,  # one lock for all the server's lines, so that they never mix
                max_concurrency,
                template_path,
            )
            for function in functions
        }
        self.routes, self.shadowed = combine_routes(routes)
        self._watch_lock = threading.Lock()
        try:
            self._server = ThreadingHTTPServer((host, port), _handler_class(self))
        except OSError as exc:
            raise RunnerError(f"cannot listen on {host}:{port} ({exc.strerror}): pass another --port") from None
        self._server.daemon_threads = True
        self._host, self._port = str(self._server.server_address[0]), int(self._server.server_address[1])

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    def stop(self) -> None:
        self._server.shutdown()

    def run(self, ready: Callable[[LocalApi], None] | None) -> None:
        """Serve until `stop()` or Ctrl-C."""
        several = len(self.served) > 1
        names = ", ".join(self.served)
        self.write(f"{names} {'are' if several else 'is'} served at {self.url}")
        for route in self.routes:
            self.write(f"  {route.describe()}" + (f"  -> {route.function}" if several else ""))
        for route, first in self.shadowed:
            self.write(
                f"  note: {route.function}'s {route.method} {route.path or '/*'} is not served: {first.function} has "
                f"it too (start-api {route.function} serves it)"
            )
        sizes = {served.max_concurrency for served in self.served.values()}
        if len(sizes) == 1:
            at_once = f"Up to {sizes.pop()} requests at once{' for each function' if several else ''}"
        else:
            at_once = "Up to " + ", ".join(
                f"{served.max_concurrency} for {name}" for name, served in self.served.items()
            )
            at_once += " requests at once"
        self.write(
            f"{at_once}, each in a warm environment of its own (a child process)."
            " Edits to the code and the template are picked up on the next request. Ctrl-C stops."
        )
        if ready is not None:
            ready(self)
        try:
            self._server.serve_forever(poll_interval=0.1)
        except KeyboardInterrupt:
            pass
        finally:
            self._server.server_close()
            for served in self.served.values():
                served.pool.close()

    def write(self, line: str) -> None:
        with self._log_lock:
            self.log.write(line + "\n")
            self.log.flush()

    def respond(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, peer: str) -> HttpResponse:
        """One HTTP request: the event of its route, the invocation, and the HTTP response of its result."""
        self._pick_up_edits()
        raw_path, _, query = target.partition("?")
        request = HttpRequest(
            method=method,
            path=raw_path or "/",
            query=query,
            headers=[
                *headers,
                ("X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"),
                ("X-Forwarded-For", peer),
                ("X-Forwarded-Port", str(self.port)),
                ("X-Forwarded-Proto", "http"),
            ],
            body=body,
            source_ip=peer,
            request_id=str(uuid.uuid4()),
            time=datetime.now(timezone.utc),
        )
        routes = self.routes
        route = select_route(routes, method, request.decoded_path)
        if route is None:
            all_rest = all(candidate.api == REST for candidate in routes)
            response = json_response(MISSING_TOKEN if all_rest else NOT_FOUND)
        elif route.api != URL and len(body) > API_BODY_LIMIT:
            response = _body_too_large()
        else:
            domain = request.header("host") or f"127.0.0.1:{self.port}"
            event = json.dumps(event_for(route, request, domain)).encode()
            invocation = self._invoke(self.served[route.function].pool, event)
            if isinstance(invocation, Invocation):
                response = map_response(route, invocation, cast(TextIO, _Lines(self.log, self._log_lock)))
            else:  # the invocation was refused (500) or the runner failed (502): API Gateway's answers
                response = json_response((invocation, failure_answer(route.api)[1]))
        request_id_header = "x-amzn-RequestId" if route is None or route.api == REST else "Apigw-Requestid"
        response.headers.append((request_id_header, request.request_id))
        return response

    def _invoke(self, pool: Pool, event: bytes) -> Invocation | int:
        """Invoke the function; else the HTTP status of the failure, logged.

        API Gateway answers 500 when Lambda refuses the invocation (a payload over 6 MB) and 502 when it fails.
        """
        try:
            with pool.environment() as invoker:
                return invoker.invoke(event)
        except PayloadTooLarge as exc:
            self.write(f"start-api: Lambda refused the invocation: {exc}")
            return 500
        except RunnerError as exc:
            self.write(f"start-api: {exc}")
            return 502

    def _pick_up_edits(self) -> None:
        """After an edit of a function's code or of the template, serve that function from new environments (with
        the new configuration); the routes follow the template."""
        with self._watch_lock:
            changed = [served for served in self.served.values() if served.watcher.changed()]
            if not changed:
                return
            if self.template_path is not None:
                try:
                    functions = read_functions(self.template_path)
                    template = load_template(self.template_path)
                    updated = {name: functions[name] for name in self.served}
                    routes = [route for function in updated.values() for route in find_routes(function, template)]
                except (RunnerError, KeyError) as exc:
                    problem = f"{exc.args[0]} is gone" if isinstance(exc, KeyError) else str(exc)
                    self.write(f"start-api: the edited template cannot be used ({problem}): serving the last one")
                    return
                for served in changed:
                    function = updated[served.function.logical_id]
                    function.platform_log_json = served.function.platform_log_json
                    if function.code_dir != served.function.code_dir:
                        served.watcher = CodeWatcher(function.code_dir, also=(self.template_path,))
                    served.function = function
                if routes:
                    self.routes, self.shadowed = combine_routes(routes)
            self.write("Code or template changed: the next invocations are cold starts.")
            for served in changed:
                served.pool.retire(served.function)


def _body_too_large() -> HttpResponse:
    status, content_type, text = BODY_TOO_LARGE
    return HttpResponse(status, [("Content-Type", content_type)], text.encode())


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


def _handler_class(api: LocalApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "slsgen-start-api"
        protocol_version = "HTTP/1.1"  # keep-alive
        # Status line, headers and body in one write (http.server flushes after each request), sent at once.
        wbufsize = -1
        disable_nagle_algorithm = True
        timeout = SOCKET_TIMEOUT_S

        def version_string(self) -> str:
            return self.server_version  # not "slsgen-start-api Python/3.13": no trailing space, no version

        def _handle(self) -> None:
            started = time.perf_counter()
            response, close = self._answer()
            self._send(response, close=close)
            api.write(f'"{self.command} {self.path}" {response.status} {(time.perf_counter() - started) * 1000:.1f} ms')

        def _answer(self) -> tuple[HttpResponse, bool]:
            """The response, and whether the connection closes after it (its body could not be read)."""
            chunked = self.headers.get("Transfer-Encoding", "").lower() not in ("", "identity")
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if chunked:
                # Like API Gateway without a length: 411. The body is read and dropped first (bounded), as for a
                # 413: a client still sending it would get a broken pipe instead of the answer.
                self._drain_chunked()
                return json_response(LENGTH_REQUIRED), True
            if length < 0:
                return json_response((400, {"message": "Bad Request: Content-Length is not a number"})), True
            if length > API_BODY_LIMIT:
                remaining = length if length <= DRAIN_LIMIT else 0
                while remaining > 0 and (chunk := self.rfile.read(min(remaining, 1 << 20))):
                    remaining -= len(chunk)
                return _body_too_large(), True
            body = self.rfile.read(length) if length > 0 else b""
            return api.respond(self.command, self.path, list(self.headers.items()), body, self.client_address[0]), False

        def _drain_chunked(self) -> None:
            """Read a chunked body to its end, at most DRAIN_LIMIT bytes; a malformed one is left unread."""
            left = DRAIN_LIMIT
            with contextlib.suppress(OSError, ValueError):
                while left > 0:
                    size = int(self.rfile.readline(1024).split(b";", 1)[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return
                    left -= size
                    self.rfile.read(min(size, max(left, 0)) + 2)

        def _send(self, response: HttpResponse, *, close: bool = False) -> None:
            self.send_response_only(response.status)
            self.send_header("Server", self.version_string())
            self.send_header("Date", self.date_time_string())
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
            """http.server's own refusals (a malformed request line, headers too long) as the runner's JSON errors.

            An unknown method or HTTP version is a malformed request: 400, as API Gateway answers.
            """
            if code in (501, 505):
                code, message = 400, "Bad Request"
                self.request_version = "HTTP/1.1"  # not yet set for a bad version: the answer needs its status line
            self.close_connection = True
            text = message or self.responses.get(code, ("Error",))[0]
            self._send(json_response((code, {"message": text})), close=True)
            command = getattr(self, "command", None) or "-"
            api.write(f'"{command} {getattr(self, "path", "-")}" {code} 0.0 ms')

        def log_message(self, format: str, *args: Any) -> None:
            """Each request is logged by `_handle`, with its time."""

    for method in ANY_METHOD:
        setattr(Handler, f"do_{method}", Handler._handle)
    return Handler


def serve(
    functions: FunctionConfig | list[FunctionConfig],
    *,
    host: str = "127.0.0.1",
    port: int = 3000,
    env_overrides: dict[str, str] | None = None,
    template_path: Path | None = None,
    log: TextIO = sys.stderr,
    ready: Callable[[LocalApi], None] | None = None,
    max_concurrency: int | None = None,
    function_overrides: Mapping[str, dict[str, str]] | None = None,
) -> None:
    """Serve the functions over HTTP until stopped; `ready(api)` is called once it listens (port 0 picks one).

    Of several functions, those with HTTP events are served, on one server. The template, when given, supplies
    the stage names and BinaryMediaTypes of the APIs the events refer to, and is watched for edits.
    `function_overrides` (by logical id) apply to one function, `env_overrides` to every one (and win: the
    local AWS endpoint). Binds to 127.0.0.1
    unless told otherwise: whoever can reach the server can run the developer's code.
    """
    given = [functions] if isinstance(functions, FunctionConfig) else list(functions)
    template = load_template(template_path) if template_path is not None else None
    routes = {function.logical_id: find_routes(function, template) for function in given}
    served = [function for function in given if routes[function.logical_id]]
    if not served:
        if len(given) == 1:
            name = given[0].logical_id
            raise RunnerError(
                f"{name} has no Api or HttpApi event and no FunctionUrlConfig: nothing to serve over HTTP"
            )
        raise RunnerError("no function has an Api or HttpApi event or a FunctionUrlConfig: nothing to serve over HTTP")
    api = LocalApi(
        served,
        [route for function in served for route in routes[function.logical_id]],
        host=host,
        port=port,
        env_overrides=env_overrides,
        log=log,
        template_path=template_path,
        max_concurrency=max_concurrency,
        function_overrides=function_overrides,
    )
    api.run(ready)
