"""`start-api`: a local HTTP endpoint in front of one function, shaped like API Gateway or a function URL.

Each HTTP request becomes the event the function's trigger would deliver (REST API payload 1.0, HTTP API
payload 2.0 or 1.0, or a function URL's 2.0 shape, built by `events.py` so that the shapes cannot drift from
`event` and the generated `events/*.json`), is routed by the `Path`/`Method` of the template's `Api`/`HttpApi`
events as API Gateway routes it, and the function's result is mapped back to HTTP the way the service maps it.

Like one Lambda execution environment, the function handles one request at a time: `http_server.py` serves
HTTP/1.1 (keep-alive, pipelining) from one event loop on the thread that called `serve`, and each complete
request is invoked there, in turn, through a single warm in-process invoker. That thread is normally the main
thread, which the in-process mode needs for its timeout signal. Before each invocation the code folder is
checked (`watch.py`); an edited file closes the invoker, so the next request is a cold start with the new
code, without restarting the server.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from ..config.template import FunctionConfig, Resolver, load_template, merge_globals
from ..errors import RunnerError
from ..events.http_events import (
    HttpRequest,
    event_size_bound,
    function_url_event,
    http_api_event,
    match_route,
    rest_api_event,
    route_specificity,
)
from ..runtime.serialize import EventPayload
from ..sandboxes.choose import open_invoker
from ..service.invoke import Invocation, Invoker, PayloadTooLarge
from .http_server import HttpServer, Request, Response
from .watch import CodeWatcher

REST, HTTP, URL = "rest", "http", "url"
# What API Gateway answers itself, without calling the function.
_NOT_FOUND = (404, {"message": "Not Found"})
_MISSING_TOKEN = (403, {"message": "Missing Authentication Token"})  # a REST API's answer to an unknown route
_REST_FAILURE = (502, {"message": "Internal server error"})
_HTTP_FAILURE = (502, {"message": "Internal Server Error"})
HttpResponse = Response  # what goes back to the HTTP client


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


def _is_str_map(value: Any) -> bool:
    return type(value) is dict and all(type(key) is str and type(item) is str for key, item in value.items())


def _is_str_list(value: Any) -> bool:
    return type(value) is list and all(type(item) is str for item in value)


def _is_plain_proxy_result(result: dict[str, Any]) -> bool:
    """Whether API Gateway would read the same from `result` as from its JSON: the fields it reads are plain.

    Strings, whole numbers, booleans and None come back from JSON unchanged; any other type (a header value
    that is a number, a Decimal, a tuple) is read from the JSON, as the service reads it.
    """
    get = result.get
    status, headers, body = get("statusCode"), get("headers"), get("body")
    if status is not None and type(status) is not int:
        return False
    if headers is not None and not _is_str_map(headers):
        return False
    if body is not None and type(body) is not str:
        return False
    encoded = get("isBase64Encoded")
    if encoded is not None and type(encoded) is not bool:
        return False
    cookies, multi = get("cookies"), get("multiValueHeaders")
    if cookies is not None and not _is_str_list(cookies):
        return False
    return multi is None or (
        type(multi) is dict and all(type(key) is str and _is_str_list(items) for key, items in multi.items())
    )


def map_response(route: Route, invocation: Invocation, log: TextIO) -> HttpResponse:
    """Turn the function's result into the HTTP response API Gateway (or the function URL) would send.

    The service reads the JSON of the result. When the handler ran in this process and returned a dict whose
    fields the service reads are plain (the usual `{"statusCode": 200, "headers": {...}, "body": "..."}`),
    that dict reads the same, and decoding the JSON again is skipped: it cost more than the rest of this.
    """
    failure = _REST_FAILURE if route.api == REST else _HTTP_FAILURE
    if not invocation.ok or invocation.response is None:
        return _json_response(failure)
    returned = invocation.returned
    if returned is not None and _is_plain_proxy_result(returned):
        result: Any = returned
    else:
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
        self._invoker: Invoker | None = None
        self._watcher = CodeWatcher(function.code_dir)
        self._all_rest = all(route.api == REST for route in routes)
        self._route_cache: dict[tuple[str, str], Route | None] = {}  # (method, path) -> select_route's answer
        try:
            self._server = HttpServer(host, port, self._respond)
        except OSError as exc:
            raise RunnerError(f"cannot listen on {host}:{port} ({exc.strerror}): pass another --port") from None
        self._port_text = str(self.port)

    @property
    def port(self) -> int:
        return int(self._server.address[1])

    @property
    def url(self) -> str:
        return f"http://{self._server.address[0]}:{self.port}"

    def stop(self) -> None:
        self._server.stop()

    def run(self, ready: Callable[[LocalApi], None] | None) -> None:
        """Serve until `stop()` or Ctrl-C; invocations run here, one at a time."""
        print(f"{self.function.logical_id} is served at {self.url}", file=self.log)
        for route in self.routes:
            print(f"  {route.describe()}", file=self.log)
        print("Edits to the code are picked up on the next request. Ctrl-C stops.", file=self.log)
        self.log.flush()
        if ready is not None:
            ready(self)
        try:
            self._server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._server.close()
            self._drop_invoker()

    def _respond(self, incoming: Request) -> Response:
        """One HTTP request: the event of its route, the invocation, and the HTTP response of its result."""
        started = time.perf_counter()
        raw_path, _, query = incoming.target.partition("?")
        peer = incoming.peer
        trace = _trace_header()
        request = HttpRequest(
            method=incoming.method,
            path=raw_path or "/",
            query=query,
            headers=[
                *incoming.headers,
                ("X-Amzn-Trace-Id", trace),
                ("X-Forwarded-For", peer),
                ("X-Forwarded-Port", self._port_text),
                ("X-Forwarded-Proto", "http"),
            ],
            body=incoming.body,
            source_ip=peer,
            request_id=str(uuid.uuid4()),
            time=datetime.now(timezone.utc),
        )
        route = self._route(incoming.method, request.decoded_path)
        if route is None:
            response = _json_response(_MISSING_TOKEN if self._all_rest else _NOT_FOUND)
        else:
            domain = incoming.header("host") or f"127.0.0.1:{self.port}"
            bound = event_size_bound(
                incoming.size, domain, route.route_key, route.stage, route.path or "", trace, peer, self._port_text
            )
            invocation = self._invoke(EventPayload(event_for(route, request, domain), bound))
            if isinstance(invocation, Invocation):
                response = map_response(route, invocation, self.log)
            else:  # the invocation was refused (500) or the runner failed (502): API Gateway's answers
                message = (_REST_FAILURE if route.api == REST else _HTTP_FAILURE)[1]
                response = _json_response((invocation, message))
        request_id_header = "x-amzn-RequestId" if route is None or route.api == REST else "Apigw-Requestid"
        response.headers.append((request_id_header, request.request_id))
        elapsed = (time.perf_counter() - started) * 1000
        self.log.write(f'"{incoming.method} {incoming.target}" {response.status} {elapsed:.1f} ms\n')
        return response

    def _route(self, method: str, path: str) -> Route | None:
        """`select_route`, remembered: the routes never change while serving, and most paths come back."""
        key = (method, path)
        try:
            return self._route_cache[key]
        except KeyError:
            pass
        if len(self._route_cache) >= 4096:  # many distinct paths (ids): start again rather than grow
            self._route_cache.clear()
        route = self._route_cache[key] = select_route(self.routes, method, path)
        return route

    def _invoke(self, event: EventPayload) -> Invocation | int:
        """Invoke the function warm (cold after a code change); else the HTTP status of the failure, logged.

        API Gateway answers 500 when Lambda refuses the invocation (a payload over 6 MB) and 502 when it fails.
        """
        status = 502
        try:
            if self._watcher.changed() and self._invoker is not None:
                self.log.write("Code changed: the next invocation is a cold start.\n")
                self._drop_invoker()
            if self._invoker is None:
                self._invoker = open_invoker(
                    self.function, mode="inprocess", env_overrides=self.env_overrides, log=self.log, serving=True
                )
            return self._invoker.invoke(event)
        except PayloadTooLarge as exc:
            status, failure = 500, f"Lambda refused the invocation: {exc}"
        except RunnerError as exc:
            failure = str(exc)
        except Exception:  # a fault of the runner itself: report it, answer 502, keep serving from a cold start
            import traceback

            failure = "the runner failed:\n" + traceback.format_exc()
            with contextlib.suppress(Exception):  # the failure above is the one to report
                self._drop_invoker()
        self.log.write(f"start-api: {failure}\n")
        return status

    def _drop_invoker(self) -> None:
        invoker, self._invoker = self._invoker, None
        if invoker is not None:
            invoker.close()


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
