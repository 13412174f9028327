"""`start-api`: a local HTTP endpoint in front of one function, shaped like API Gateway or a function URL.

Each HTTP request becomes the event the function's trigger would deliver (REST API payload 1.0, HTTP API
payload 2.0 or 1.0, or a function URL's 2.0 shape, built by `events.py` so that the shapes cannot drift from
`event` and the generated `events/*.json`), is routed by the `Path`/`Method` of the template's `Api`/`HttpApi`
events as API Gateway routes it, and the function's result is mapped back to HTTP the way the service maps it.

Like one Lambda execution environment, the function handles one request at a time: HTTP connections are
accepted concurrently (with keep-alive), but invocations are queued to the thread that called `serve` and run
through a single warm in-process invoker. That thread is normally the main thread, which the in-process mode
needs for its timeout signal. Before each request the code folder's `.py` files are checked; an edited file
closes the invoker, so the next request is a cold start with the new code, without restarting the server.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import secrets
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

from .errors import RunnerError
from .http_events import (
    HttpRequest,
    function_url_event,
    http_api_event,
    match_route,
    rest_api_event,
    route_specificity,
)
from .invoke import Invocation, Invoker, open_invoker
from .template import FunctionConfig, Resolver, load_template, merge_globals

REST, HTTP, URL = "rest", "http", "url"
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# What API Gateway answers itself, without calling the function.
_NOT_FOUND = (404, {"message": "Not Found"})
_MISSING_TOKEN = (403, {"message": "Missing Authentication Token"})  # a REST API's answer to an unknown route
_REST_FAILURE = (502, {"message": "Internal server error"})
_HTTP_FAILURE = (502, {"message": "Internal Server Error"})
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", ".aws-sam", "venv"})


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


@dataclass
class HttpResponse:
    """What goes back to the HTTP client."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


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


class CodeWatcher:
    """Notices edits to the function's code: the modification times and sizes of its `.py` files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.state = self._scan()

    def _scan(self) -> dict[str, tuple[int, int]]:
        state = {}
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = [name for name in dirs if name not in _SKIPPED_DIRS and not name.startswith(".")]
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    try:
                        info = os.stat(path)
                    except OSError:  # deleted while scanning
                        continue
                    state[path] = (info.st_mtime_ns, info.st_size)
        return state

    def changed(self) -> bool:
        """Whether any `.py` file was added, removed or edited since the last call."""
        current = self._scan()
        if current == self.state:
            return False
        self.state = current
        return True


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, from Content-Length or chunked transfer encoding."""
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _trace_header() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"


class QuietHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that prints no traceback when a client drops its connection (a browser, or a
    runtime process killed at its timeout); other errors in a request handler are still reported."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class _Job:
    route: Route
    event: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    invocation: Invocation | None = None
    failure: str | None = None


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
    ) -> None:
        self.function = function
        self.routes = routes
        self.env_overrides = env_overrides
        self.log = log
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._invoker: Invoker | None = None
        self._watcher = CodeWatcher(function.code_dir)
        try:
            self._httpd = QuietHTTPServer((host, port), _handler_class(self))
        except OSError as exc:
            raise RunnerError(f"cannot listen on {host}:{port} ({exc.strerror}): pass another --port") from None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._httpd.server_address[0]}:{self.port}"

    def stop(self) -> None:
        self._jobs.put(None)

    def submit(self, route: Route, event: dict[str, Any]) -> _Job:
        """Queue one invocation for the serving thread and wait for it (called from connection threads)."""
        job = _Job(route, event)
        self._jobs.put(job)
        job.done.wait()
        return job

    def run(self, ready: Callable[[LocalApi], None] | None) -> None:
        """Serve until `stop()` or Ctrl-C; invocations run here, one at a time."""
        # A short poll interval lets `stop()` and Ctrl-C end the server at once rather than within half a second.
        thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="start-api", daemon=True)
        thread.start()
        print(f"{self.function.logical_id} is served at {self.url}", file=self.log)
        for route in self.routes:
            print(f"  {route.describe()}", file=self.log)
        print("Edits to the code are picked up on the next request. Ctrl-C stops.", file=self.log)
        self.log.flush()
        if ready is not None:
            ready(self)
        try:
            while True:
                try:
                    job = self._jobs.get(timeout=0.5)  # a timeout keeps Ctrl-C responsive
                except queue.Empty:
                    continue
                if job is None:
                    break
                self._run_job(job)
        except KeyboardInterrupt:
            pass
        finally:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._fail_waiting()
            self._drop_invoker()

    def _run_job(self, job: _Job) -> None:
        try:
            if self._watcher.changed() and self._invoker is not None:
                print("Code changed: the next invocation is a cold start.", file=self.log)
                self._drop_invoker()
            if self._invoker is None:
                self._invoker = open_invoker(
                    self.function, mode="inprocess", env_overrides=self.env_overrides, log=self.log
                )
            job.invocation = self._invoker.invoke(json.dumps(job.event).encode())
        except RunnerError as exc:
            job.failure = str(exc)
        except Exception:  # a fault of the runner itself: report it, answer 502, keep serving from a cold start
            job.failure = "the runner failed:\n" + traceback.format_exc()
            with contextlib.suppress(Exception):
                self._drop_invoker()
        finally:
            job.done.set()

    def _drop_invoker(self) -> None:
        invoker, self._invoker = self._invoker, None
        if invoker is not None:
            invoker.close()

    def _fail_waiting(self) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                job.failure = "the server is stopping"
                job.done.set()


def _handler_class(api: LocalApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: a browser or test client reuses one connection
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
        server_version = "slsgen-start-api"

        def _serve(self) -> None:
            started = time.perf_counter()
            raw_path, _, query = self.path.partition("?")
            body = read_body(self)
            request = HttpRequest(
                method=self.command,
                path=raw_path or "/",
                query=query,
                headers=[
                    *self.headers.items(),
                    ("X-Amzn-Trace-Id", _trace_header()),
                    ("X-Forwarded-For", self.client_address[0]),
                    ("X-Forwarded-Port", str(api.port)),
                    ("X-Forwarded-Proto", "http"),
                ],
                body=body,
                source_ip=self.client_address[0],
                request_id=str(uuid.uuid4()),
                time=datetime.now(timezone.utc),
            )
            route = select_route(api.routes, self.command, request.decoded_path)
            if route is None:
                all_rest = all(candidate.api == REST for candidate in api.routes)
                response = _json_response(_MISSING_TOKEN if all_rest else _NOT_FOUND)
            else:
                domain = self.headers.get("Host") or f"127.0.0.1:{api.port}"
                job = api.submit(route, event_for(route, request, domain))
                if job.invocation is None:
                    print(f"start-api: {job.failure}", file=api.log)
                    response = _json_response(_REST_FAILURE if route.api == REST else _HTTP_FAILURE)
                else:
                    response = map_response(route, job.invocation, api.log)
            request_id_header = "x-amzn-RequestId" if route is None or route.api == REST else "Apigw-Requestid"
            response.headers.append((request_id_header, request.request_id))
            elapsed = (time.perf_counter() - started) * 1000
            print(f'"{self.command} {self.path}" {response.status} {elapsed:.1f} ms', file=api.log)
            self._send(response)

        def _send(self, response: HttpResponse) -> None:
            self.send_response(response.status)
            for name, value in response.headers:
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the default access log: `_serve` prints one line per request, with the timing."""

    for method in _METHODS:
        setattr(Handler, f"do_{method}", Handler._serve)
    return Handler


def serve(
    function: FunctionConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 3000,
    env_overrides: dict[str, str] | None = None,
    template_path: Path | None = None,
    log: TextIO = sys.stderr,
    ready: Callable[[LocalApi], None] | None = None,
) -> None:
    """Serve `function` over HTTP until stopped; `ready(api)` is called once it listens (port 0 picks one).

    The template, when given, supplies the stage names and BinaryMediaTypes of the APIs the events refer to.
    Binds to 127.0.0.1 unless told otherwise: whoever can reach the server can run the developer's code.
    """
    routes = find_routes(function, load_template(template_path) if template_path is not None else None)
    if not routes:
        raise RunnerError(
            f"{function.logical_id} has no Api or HttpApi event and no FunctionUrlConfig: nothing to serve over HTTP"
        )
    LocalApi(function, routes, host=host, port=port, env_overrides=env_overrides, log=log).run(ready)
