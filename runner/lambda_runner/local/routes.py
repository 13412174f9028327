"""What API Gateway and function URLs do around a function: routes, the events they deliver, their answers.

`start-api` (`api.py`) serves HTTP with these rules, for every function of the template at once. Each HTTP
request becomes the event the function's trigger would deliver (REST API payload 1.0, HTTP API payload 2.0 or
1.0, or a function URL's 2.0 shape, built by `events/http_events.py` so that the shapes cannot drift from
`event` and the generated `events/*.json`), is routed by the `Path`/`Method` of the template's `Api`/`HttpApi`
events as API Gateway routes it, and the function's result is mapped back to HTTP the way the service maps it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..config.template import FunctionConfig, Resolver, merge_globals
from ..errors import RunnerError
from ..events.http_events import (
    HttpRequest,
    function_url_event,
    http_api_event,
    match_route,
    rest_api_event,
    route_specificity,
)
from ..runtime.result import Invocation

REST, HTTP, URL = "rest", "http", "url"
# What API Gateway answers itself, without calling the function.
NOT_FOUND = (404, {"message": "Not Found"})
MISSING_TOKEN = (403, {"message": "Missing Authentication Token"})  # a REST API's answer to an unknown route
REST_FAILURE = (502, {"message": "Internal server error"})
HTTP_FAILURE = (502, {"message": "Internal Server Error"})
API_BODY_LIMIT = 10_485_760  # bytes: the request payload quota of REST and HTTP APIs (10 MB), not adjustable
DRAIN_LIMIT = 8 * API_BODY_LIMIT  # a body over API Gateway's limit is still read (and dropped) up to this size
# API Gateway's own answer to a body over that quota, as it sends it (plain text, not its usual JSON).
BODY_TOO_LARGE = (413, "text; charset=utf-8", f"HTTP content length exceeded {API_BODY_LIMIT} bytes.")
ANY_METHOD = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


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
    function: str = ""  # the logical id of the function it leads to

    @property
    def key(self) -> tuple[str, str | None]:
        """What two routes on one local server cannot share: the method and path (None: the catch-all)."""
        return (self.method, self.path)

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
            method = str(props["Method"]).upper()
            routes.append(Route(REST, method, str(props["Path"]), "1.0", stage, binary, function=function.logical_id))
        elif kind == "HttpApi":
            settings = _api_settings(template, props.get("ApiId"), "HttpApi")
            stage = resolver.value(settings.get("StageName", "$default"))
            payload = str(props.get("PayloadFormatVersion", "2.0"))
            path = str(props["Path"]) if "Path" in props else None
            method = str(props.get("Method", "ANY")).upper()
            routes.append(
                Route(HTTP, "ANY" if path is None else method, path, payload, stage, function=function.logical_id)
            )
    url_config = function.properties.get("FunctionUrlConfig")
    if isinstance(url_config, dict):
        auth_type = str(url_config.get("AuthType", "NONE"))
        routes.append(Route(URL, "ANY", None, "2.0", "$default", auth_type=auth_type, function=function.logical_id))
    return routes


def combine_routes(routes: list[Route]) -> tuple[list[Route], list[tuple[Route, Route]]]:
    """Several functions' routes on one local server: each method and path goes to the first function that has
    it (in template order); the routes left out, each with the one that takes its place."""
    first_of: dict[tuple[str, str | None], Route] = {}
    kept, shadowed = [], []
    for route in routes:
        first = first_of.setdefault(route.key, route)
        if first.function != route.function:
            shadowed.append((route, first))
        else:
            kept.append(route)  # within one function, `select_route` picks the first of the same key anyway
    return kept, shadowed


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


def failure_answer(api: str) -> tuple[int, dict[str, str]]:
    """API Gateway's 502 when the function fails: its body differs between REST and the others."""
    return REST_FAILURE if api == REST else HTTP_FAILURE


def json_response(status_and_body: tuple[int, dict[str, str]]) -> HttpResponse:
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
    failure = failure_answer(route.api)
    if not invocation.ok or invocation.payload is None:
        return json_response(failure)
    try:
        result = json.loads(invocation.payload)
    except ValueError:
        result = None
    structured = isinstance(result, dict) and "statusCode" in result
    if route.payload == "2.0" and not structured:
        # Payload 2.0 infers the format: any JSON result is the body of a 200 application/json response.
        return HttpResponse(200, [("Content-Type", "application/json")], invocation.payload)
    if not structured:
        print(f"Malformed Lambda proxy response: a {route.payload} payload needs statusCode", file=log)
        return json_response(failure)
    try:
        status = int(result["statusCode"])
        body = _body_bytes(result)
    except (TypeError, ValueError) as exc:
        print(f"Malformed Lambda proxy response: {exc}", file=log)
        return json_response(failure)
    headers = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
    if route.payload == "1.0":  # multiValueHeaders win over headers of the same name
        multi = result.get("multiValueHeaders") or {}
        lowered = {name.lower() for name in multi}
        headers = [(name, value) for name, value in headers if name.lower() not in lowered]
        headers += [(str(name), str(value)) for name, values in multi.items() for value in values]
    else:
        headers += [("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or []]
    return HttpResponse(status, headers, body)
