"""`start-api`: a local HTTP endpoint in front of one function, shaped like API Gateway or a function URL.

Each HTTP request becomes the event the function's trigger would deliver (REST API payload 1.0, HTTP API
payload 2.0 or 1.0, or a function URL's 2.0 shape, built by `events.py` so that the shapes cannot drift from
`event` and the generated `events/*.json`), is routed by the `Path`/`Method` of the template's `Api`/`HttpApi`
events as API Gateway routes it, and the function's result is mapped back to HTTP the way the service maps it.

The server is the standard library's `ThreadingHTTPServer` (HTTP/1.1 with keep-alive; its parsing is
CPython's): each connection has a thread, and each request borrows a warm execution environment from a pool
(`EnvironmentPool`), as Lambda scales out: environments run in child processes (the isolated mode, so a stuck
or crashed function is killed and replaced and the server keeps serving), one request at a time each, at most
`max_concurrency` of them; a request waits for a free one beyond that. Before each request the code folder and
the template are checked (`watch.py`); an edit retires every environment, so the next requests are cold
starts with the new code or configuration, without restarting the server.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

from ..config.template import FunctionConfig, Resolver, load_template, merge_globals, read_functions
from ..errors import RunnerError
from ..events.http_events import (
    HttpRequest,
    function_url_event,
    http_api_event,
    match_route,
    rest_api_event,
    route_specificity,
)
from ..sandboxes.choose import open_invoker
from ..service.invoke import Invocation, Invoker, PayloadTooLarge
from .watch import CodeWatcher

REST, HTTP, URL = "rest", "http", "url"
# What API Gateway answers itself, without calling the function.
_NOT_FOUND = (404, {"message": "Not Found"})
_MISSING_TOKEN = (403, {"message": "Missing Authentication Token"})  # a REST API's answer to an unknown route
_REST_FAILURE = (502, {"message": "Internal server error"})
_HTTP_FAILURE = (502, {"message": "Internal Server Error"})
API_BODY_LIMIT = 10_485_760  # bytes: the request payload quota of REST and HTTP APIs (10 MB), not adjustable
_DRAIN_LIMIT = 8 * API_BODY_LIMIT  # a body over API Gateway's limit is still read (and dropped) up to this size
# API Gateway's own answer to a body over that quota, as it sends it (plain text, not its usual JSON).
_BODY_TOO_LARGE = (413, "text; charset=utf-8", f"HTTP content length exceeded {API_BODY_LIMIT} bytes.")
DEFAULT_MAX_CONCURRENCY = 4  # warm environments at once when the template reserves no concurrency
_ANY_METHOD = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@dataclass
class HttpResponse:
    """What goes back to the HTTP client; Content-Length, Date and Server are added when it is sent."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass(frozen=True)
class Route:
    """One way into the function: an `Api`/`HttpApi` event, or the function URL."""

    api: str  # REST, HTTP or URL
    method: str  # GET, POST... or ANY
    path: str | None  # None: the catch-all (`$default` of an HTTP API, or a function URL)
    payload: str  # "1.0" or "2.0"
    stage: str
    binary_media_types: tuple[str, ...] = ()
    auth_type: str = "NONE"

    @property
    def route_key(self) -> str:
        return "$default" if self.path is None else f"{self.method} {self.path}"

    def describe(self) -> str:
        kind = {REST: "REST API", HTTP: f"HTTP API, payload {self.payload}", URL: "function URL"}[self.api]
        return f"{self.method:<7} {self.path or '/*'}  ({kind})"


def _ref_target(node: Any) -> str | None:
    return str(node["Ref"]) if isinstance(node, dict) and "Ref" in node else None


def _api_settings(template: dict[str, Any], api_id: Any, global_key: str) -> dict[str, Any]:
    """An API's properties merged over `Globals.Api`/`Globals.HttpApi` (the implicit API has only the globals)."""
    globals_props = (template.get("Globals") or {}).get(global_key) or {}
    target = _ref_target(api_id)
    own = ((template.get("Resources") or {}).get(target) or {}).get("Properties") or {} if target else {}
    return merge_globals(globals_props, own)


def find_routes(function: FunctionConfig, template: dict[str, Any] | None = None) -> list[Route]:
    """Every HTTP entry into `function`: its `Api` and `HttpApi` events, and its `FunctionUrlConfig`."""
    template = template or {"Resources": {}}
    resolver = Resolver(template, "local")
    routes = []
    for name, event in function.events.items():
        kind = event.get("Type") if isinstance(event, dict) else None
        props = (event.get("Properties") or {}) if isinstance(event, dict) else {}
        if kind == "Api":
            if "Path" not in props or "Method" not in props:
                raise RunnerError(f"{function.logical_id}: the Api event {name} needs both Path and Method")
            settings = _api_settings(template, props.get("RestApiId"), "Api")
            binary = tuple(resolver.value(item).replace("~1", "/") for item in settings.get("BinaryMediaTypes") or [])
            stage = resolver.value(settings.get("StageName", "Prod"))
            routes.append(Route(REST, str(props["Method"]).upper(), str(props["Path"]), "1.0", stage, binary))
        elif kind == "HttpApi":
            settings = _api_settings(template, props.get("ApiId"), "HttpApi")
            stage = resolver.value(settings.get("StageName", "$default"))
            payload = str(props.get("PayloadFormatVersion", "2.0"))
            path = str(props["Path"]) if "Path" in props else None
            method = str(props.get("Method", "ANY")).upper()
            routes.append(Route(HTTP, "ANY" if path is None else method, path, payload, stage))
    url_config = function.properties.get("FunctionUrlConfig")
    if isinstance(url_config, dict):
        routes.append(Route(URL, "ANY", None, "2.0", "$default", auth_type=str(url_config.get("AuthType", "NONE"))))
    return routes


def select_route(routes: list[Route], method: str, path: str) -> Route | None:
    """The route API Gateway would pick: the most specific matching path, a method before ANY, catch-alls last."""
    matching = [
        route
        for route in routes
        if route.path is not None and route.method in (method, "ANY") and match_route(route.path, path) is not None
    ]
    if matching:
        return min(matching, key=lambda route: (route_specificity(route.path or ""), route.method == "ANY"))
    catch_alls = [route for route in routes if route.path is None]
    return catch_alls[0] if catch_alls else None


def event_for(route: Route, request: HttpRequest, domain_name: str) -> dict[str, Any]:
    """The event `route`'s integration delivers for `request`."""
    if route.api == URL:
        return function_url_event(request, domain_name=domain_name, auth_type=route.auth_type)
    if route.api == HTTP and route.payload == "2.0":
        return http_api_event(request, route_key=route.route_key, stage=route.stage, domain_name=domain_name)
    return rest_api_event(
        request,
        resource=route.path or route.route_key,
        stage=route.stage,
        domain_name=domain_name,
        binary_media_types=route.binary_media_types,
        payload_version="1.0" if route.api == HTTP else None,
    )


def _json_response(status_and_body: tuple[int, dict[str, str]]) -> HttpResponse:
    status, body = status_and_body
    return HttpResponse(status, [("Content-Type", "application/json")], json.dumps(body).encode())


def _body_bytes(result: dict[str, Any]) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        body = json.dumps(body)
    return base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")


def map_response(route: Route, invocation: Invocation, log: TextIO) -> HttpResponse:
    """Turn the function's result into the HTTP response API Gateway (or the function URL) would send."""
    failure = _REST_FAILURE if route.api == REST else _HTTP_FAILURE
    if not invocation.ok or invocation.response is None:
        return _json_response(failure)
    try:
        result = json.loads(invocation.response)
    except ValueError:
        result = None
    structured = isinstance(result, dict) and "statusCode" in result
    if route.payload == "2.0" and not structured:
        # Payload 2.0 infers the format: any JSON result is the body of a 200 application/json response.
        return HttpResponse(200, [("Content-Type", "application/json")], invocation.response)
    if not structured:
        print(f"Malformed Lambda proxy response: a {route.payload} payload needs statusCode", file=log)
        return _json_response(failure)
    try:
        status = int(result["statusCode"])
        body = _body_bytes(result)
    except (TypeError, ValueError) as exc:
        print(f"Malformed Lambda proxy response: {exc}", file=log)
        return _json_response(failure)
    headers = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
    if route.payload == "1.0":  # multiValueHeaders win over headers of the same name
        multi = result.get("multiValueHeaders") or {}
        lowered = {name.lower() for name in multi}
        headers = [(name, value) for name, value in headers if name.lower() not in lowered]
        headers += [(str(name), str(value)) for name, values in multi.items() for value in values]
    else:
        headers += [("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or []]
    return HttpResponse(status, headers, body)


def _trace_header() -> str:
    return f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()}"


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


@dataclass(eq=False)
class _Environment:
    invoker: Invoker
    generation: int  # the pool's generation it was opened in: older ones are retired when returned


class EnvironmentPool:
    """Warm execution environments of one function, each in a child process, each lent to one request at a time.

    As Lambda does, a request takes an idle warm environment if there is one, else a new one (a cold start) while
    fewer than `limit` exist; beyond that it waits for one to come back (Lambda would throttle instead). An
    environment whose function timed out or crashed is restarted by its invoker on its next request.
    `renew()` retires them all (an edit of the code or the template): busy ones are closed when returned.
    `close()` ends them all, busy ones too (their requests fail): no child process outlives the server.
    """

    def __init__(self, function: FunctionConfig, env_overrides: dict[str, str], log: TextIO, limit: int) -> None:
        self.function = function
        self.env_overrides = env_overrides
        self.log = log
        self.limit = limit
        self._idle: list[_Environment] = []
        self._busy: list[_Environment] = []
        self._count = 0  # environments lent out or idle, or being opened
        self._generation = 0
        self._closed = False
        self._condition = threading.Condition()

    def acquire(self) -> _Environment:
        with self._condition:
            while not self._idle and self._count >= self.limit and not self._closed:
                self._condition.wait()
            if self._closed:
                raise RunnerError("the server is stopping")
            if self._idle:
                environment = self._idle.pop()
                self._busy.append(environment)
                return environment
            self._count += 1
            function, generation = self.function, self._generation
        try:
            invoker = open_invoker(function, mode="isolated", env_overrides=self.env_overrides, log=self.log)
        except BaseException:
            self._forget()
            raise
        environment = _Environment(invoker, generation)
        with self._condition:
            self._busy.append(environment)
        return environment

    def release(self, environment: _Environment) -> None:
        with self._condition:
            if environment in self._busy:
                self._busy.remove(environment)
            if not self._closed and environment.generation == self._generation:
                self._idle.append(environment)
                self._condition.notify()
                return
        environment.invoker.close()
        self._forget()

    def _forget(self) -> None:
        with self._condition:
            self._count -= 1
            self._condition.notify()

    def renew(self, function: FunctionConfig) -> None:
        """Serve `function` (the same one, edited) from new environments from now on."""
        with self._condition:
            self.function = function
            self._generation += 1
            retired, self._idle = self._idle, []
        for environment in retired:
            environment.invoker.close()
            self._forget()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            busy, self._busy = self._busy, []
            self._condition.notify_all()
        self.renew(self.function)
        for environment in busy:  # its request thread then fails, and the process exits without it
            with contextlib.suppress(Exception):
                environment.invoker.close()


class _Server(ThreadingHTTPServer):
    """A thread per connection; no traceback when a client goes away mid-answer."""

    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 makes a burst of clients wait on SYN retries (tests/runner/test_soak)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


def _request_handler(api: LocalApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "slsgen-start-api"
        sys_version = ""
        protocol_version = "HTTP/1.1"  # keep-alive
        disable_nagle_algorithm = True  # headers and body go out in two writes: no delayed-ACK stall

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
                # API Gateway's answer. The body is read and dropped first (a client still sending it would get a
                # broken pipe instead of the answer), unless it is too large even for that.
                remaining = length if length <= _DRAIN_LIMIT else 0
                while remaining > 0 and (chunk := self.rfile.read(min(remaining, 1 << 20))):
                    remaining -= len(chunk)
                status, content_type, text = _BODY_TOO_LARGE
                self._send(HttpResponse(status, [("Content-Type", content_type)], text.encode()), close=True)
                return
            body = self.rfile.read(length) if length > 0 else b""
            self._send(api.respond(self.command, self.path, list(self.headers.items()), body, self.client_address[0]))

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
            """Each request is logged by `LocalApi.respond`, with its time."""

    for method in _ANY_METHOD:
        setattr(Handler, f"do_{method}", Handler._handle)
    return Handler


class LocalApi:
    """The running server: its URL, and `stop()`, which any thread may call."""

    def __init__(
        self,
        function: FunctionConfig,
        routes: list[Route],
        *,
        host: str,
        port: int,
        env_overrides: dict[str, str] | None,
        log: TextIO,
        template_path: Path | None = None,
        max_concurrency: int | None = None,
    ) -> None:
        self.function = function
        self.routes = routes
        self.template_path = template_path
        self.log = log
        limit = max_concurrency_of(function, max_concurrency)
        self._pool = EnvironmentPool(function, env_overrides or {}, log, limit)
        self._watch_lock = threading.Lock()
        self._watcher = CodeWatcher(function.code_dir, also=(template_path,) if template_path else ())
        try:
            self._server = _Server((host, port), _request_handler(self))
        except OSError as exc:
            raise RunnerError(f"cannot listen on {host}:{port} ({exc.strerror}): pass another --port") from None

    @property
    def max_concurrency(self) -> int:
        return self._pool.limit

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = self._server.server_address[0]
        return f"http://{host if isinstance(host, str) else host.decode()}:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()

    def run(self, ready: Callable[[LocalApi], None] | None) -> None:
        """Serve until `stop()` or Ctrl-C."""
        print(f"{self.function.logical_id} is served at {self.url}", file=self.log)
        for route in self.routes:
            print(f"  {route.describe()}", file=self.log)
        print(
            f"Up to {self.max_concurrency} requests at once, each in a warm environment of its own (a child process)."
            " Edits to the code and the template are picked up on the next request. Ctrl-C stops.",
            file=self.log,
        )
        self.log.flush()
        if ready is not None:
            ready(self)
        try:
            self._server.serve_forever(poll_interval=0.1)
        except KeyboardInterrupt:
            pass
        finally:
            self._server.server_close()
            self._pool.close()

    def respond(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, peer: str) -> HttpResponse:
        """One HTTP request: the event of its route, the invocation, and the HTTP response of its result."""
        started = time.perf_counter()
        self._pick_up_edits()
        raw_path, _, query = target.partition("?")
        trace = _trace_header()
        request = HttpRequest(
            method=method,
            path=raw_path or "/",
            query=query,
            headers=[
                *headers,
                ("X-Amzn-Trace-Id", trace),
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
            response = _json_response(_MISSING_TOKEN if all_rest else _NOT_FOUND)
        elif route.api != URL and len(body) > API_BODY_LIMIT:
            status, content_type, text = _BODY_TOO_LARGE
            response = HttpResponse(status, [("Content-Type", content_type)], text.encode())
        else:
            domain = request.header("host") or f"127.0.0.1:{self.port}"
            event = json.dumps(event_for(route, request, domain)).encode()
            invocation = self._invoke(event)
            if isinstance(invocation, Invocation):
                response = map_response(route, invocation, self.log)
            else:  # the invocation was refused (500) or the runner failed (502): API Gateway's answers
                message = (_REST_FAILURE if route.api == REST else _HTTP_FAILURE)[1]
                response = _json_response((invocation, message))
        request_id_header = "x-amzn-RequestId" if route is None or route.api == REST else "Apigw-Requestid"
        response.headers.append((request_id_header, request.request_id))
        elapsed = (time.perf_counter() - started) * 1000
        self.log.write(f'"{method} {target}" {response.status} {elapsed:.1f} ms\n')
        self.log.flush()
        return response

    def _pick_up_edits(self) -> None:
        """After an edit of the code or the template, serve from new environments (with the new configuration)."""
        with self._watch_lock:
            if not self._watcher.changed():
                return
            function = self.function
            if self.template_path is not None:
                try:
                    function = read_functions(self.template_path)[self.function.logical_id]
                    routes = find_routes(function, load_template(self.template_path))
                except (RunnerError, KeyError) as exc:
                    problem = f"{self.function.logical_id} is gone" if isinstance(exc, KeyError) else str(exc)
                    self.log.write(f"start-api: the edited template cannot be used ({problem}): serving the last one\n")
                    return
                function.platform_log_json = self.function.platform_log_json
                if function.code_dir != self.function.code_dir:
                    self._watcher = CodeWatcher(function.code_dir, also=(self.template_path,))
                self.function, self.routes = function, routes or self.routes
            self.log.write("Code or template changed: the next invocations are cold starts.\n")
            self._pool.renew(function)

    def _invoke(self, event: bytes) -> Invocation | int:
        """Invoke the function in a free environment; else the HTTP status of the failure, logged.

        API Gateway answers 500 when Lambda refuses the invocation (a payload over 6 MB) and 502 when it fails.
        """
        status = 502
        try:
            environment = self._pool.acquire()
        except RunnerError as exc:
            self.log.write(f"start-api: {exc}\n")
            return status
        try:
            return environment.invoker.invoke(event)
        except PayloadTooLarge as exc:
            status, failure = 500, f"Lambda refused the invocation: {exc}"
        except RunnerError as exc:
            failure = str(exc)
        except Exception:  # a fault of the runner itself: report it, answer 502, keep serving from a cold start
            import traceback

            failure = "the runner failed:\n" + traceback.format_exc()
            with contextlib.suppress(Exception):  # the failure above is the one to report
                environment.invoker.close()
        finally:
            self._pool.release(environment)
        self.log.write(f"start-api: {failure}\n")
        return status


def serve(
    function: FunctionConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 3000,
    env_overrides: dict[str, str] | None = None,
    template_path: Path | None = None,
    log: TextIO = sys.stderr,
    ready: Callable[[LocalApi], None] | None = None,
    max_concurrency: int | None = None,
) -> None:
    """Serve `function` over HTTP until stopped; `ready(api)` is called once it listens (port 0 picks one).

    The template, when given, supplies the stage names and BinaryMediaTypes of the APIs the events refer to, and
    is watched for edits. Binds to 127.0.0.1 unless told otherwise: whoever can reach the server can run the
    developer's code.
    """
    routes = find_routes(function, load_template(template_path) if template_path is not None else None)
    if not routes:
        raise RunnerError(
            f"{function.logical_id} has no Api or HttpApi event and no FunctionUrlConfig: nothing to serve over HTTP"
        )
    api = LocalApi(
        function,
        routes,
        host=host,
        port=port,
        env_overrides=env_overrides,
        log=log,
        template_path=template_path,
        max_concurrency=max_concurrency,
    )
    api.run(ready)
