"""HTTP request events: API Gateway HTTP API (payload 2.0 and 1.0), REST API (1.0) and function URLs.

The sample files (`event apigw-http request`) and the local HTTP server (`start-api`) build their events here,
so that a handler sees the same shape whether it is invoked from a file or through a real HTTP request.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from ..account import ACCOUNT_ID, region
from .samples import API_ID, FIXED_REQUEST_ID, FIXED_TIME, URL_ID, clf_time, epoch_ms

# Content types API Gateway HTTP APIs and function URLs pass as text; every other body arrives base64-encoded.
_TEXT_TYPES = ("application/json", "application/javascript", "application/xml", "application/graphql")
_TEXT_SUFFIXES = ("+json", "+xml")


@dataclass
class HttpRequest:
    """One HTTP request as the client sent it; the builders below turn it into each integration's event."""

    method: str = "GET"
    path: str = "/"  # as sent, still percent-encoded
    query: str = ""  # the raw query string, without "?"
    headers: list[tuple[str, str]] = field(default_factory=list)  # in order, names as sent, repeats kept
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    request_id: str = FIXED_REQUEST_ID
    time: datetime = FIXED_TIME
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        """The last value of a header, case-insensitively, as API Gateway's single-value maps keep it."""
        found = None
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                found = value
        return found

    @property
    def decoded_path(self) -> str:
        return unquote(self.path)


def is_text_content(content_type: str | None) -> bool:
    """Whether HTTP APIs and function URLs pass a body with this content type as text rather than base64."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media in _TEXT_TYPES or media.endswith(_TEXT_SUFFIXES)


def _media_matches(content_type: str | None, patterns: Sequence[str]) -> bool:
    """Whether a content type is one of a REST API's `BinaryMediaTypes` (`*/*` and `image/*` wildcards work)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    for pattern in patterns:
        kind, _, sub = pattern.lower().partition("/")
        m_kind, _, m_sub = media.partition("/")
        if kind in ("*", m_kind) and sub in ("*", m_sub):
            return True
    return False


def _encode_body(body: bytes, as_binary: bool) -> tuple[str | None, bool]:
    if not body:
        return None, False
    if as_binary:
        return base64.b64encode(body).decode("ascii"), True
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def _route_segments(pattern: str) -> list[str]:
    stripped = pattern.strip("/")
    return stripped.split("/") if stripped else []


def match_route(pattern: str, path: str) -> dict[str, str] | None:
    """Match a decoded request path against an API Gateway route path: the path parameters, or None.

    `{name}` takes one segment; a final `{name+}` takes one or more (so `/{proxy+}` does not match `/`).
    """
    wanted = _route_segments(pattern)
    parts = _route_segments(path)
    params: dict[str, str] = {}
    for index, segment in enumerate(wanted):
        is_param = segment.startswith("{") and segment.endswith("}")
        if is_param and segment.endswith("+}"):
            if index != len(wanted) - 1 or len(parts) <= index:
                return None
            params[segment[1:-2]] = "/".join(parts[index:])
            return params
        if index >= len(parts):
            return None
        if is_param:
            params[segment[1:-1]] = parts[index]
        elif segment != parts[index]:
            return None
    return params if len(parts) == len(wanted) else None


def route_specificity(pattern: str) -> tuple[int, ...]:
    """A sort key: lower is more specific (literal segments before `{param}`, `{param}` before `{proxy+}`)."""
    ranks = []
    for segment in _route_segments(pattern):
        if segment.endswith("+}"):
            ranks.append(2)
        elif segment.startswith("{"):
            ranks.append(1)
        else:
            ranks.append(0)
    return (*ranks, 3)


def _query_pairs(query: str) -> list[tuple[str, str]]:
    """`parse_qsl(query, keep_blank_values=True)`, split here in a third of the time when nothing needs decoding."""
    if "%" in query or "+" in query:
        return parse_qsl(query, keep_blank_values=True)
    return [(name, value) for name, _, value in (part.partition("=") for part in query.split("&") if part)]


def _v2_common(request: HttpRequest) -> tuple[dict[str, str], list[str], dict[str, str]]:
    """Payload 2.0 headers (lowercase, repeats joined by commas), cookies, and query parameters."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    query: dict[str, str] = {}
    for key, value in _query_pairs(request.query):
        query[key] = f"{query[key]},{value}" if key in query else value
    return headers, cookies, query


def _v2_event(
    request: HttpRequest, *, route_key: str, api_id: str, domain_name: str, stage: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    headers, cookies, query = _v2_common(request)
    event: dict[str, Any] = {"version": "2.0", "routeKey": route_key, "rawPath": request.path}
    event["rawQueryString"] = request.query
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if query:
        event["queryStringParameters"] = query
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": api_id,
        "domainName": domain_name,
        "domainPrefix": domain_name.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request.request_id,
        "routeKey": route_key,
        "stage": stage,
        "time": clf_time(request.time),
        "timeEpoch": epoch_ms(request.time),
    }
    event["requestContext"] = context
    if request.body:
        body, is_base64 = _encode_body(request.body, not is_text_content(request.header("content-type")))
        event["body"] = body
    else:
        is_base64 = False
    event["isBase64Encoded"] = is_base64
    return event, context


def http_api_event(
    request: HttpRequest,
    *,
    route_key: str = "$default",
    stage: str = "$default",
    api_id: str = API_ID,
    domain_name: str | None = None,
    stage_variables: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API event, payload format 2.0; `route_key` is `$default` or `"GET /items/{id}"`."""
    domain = domain_name or f"{api_id}.execute-api.{region()}.amazonaws.com"
    event, _ = _v2_event(request, route_key=route_key, api_id=api_id, domain_name=domain, stage=stage)
    if "{" in route_key:  # a route without {parameters} has no pathParameters
        params = match_route(route_key.split(" ", 1)[-1], request.decoded_path)
        if params:
            event["pathParameters"] = params
    if stage_variables:
        event["stageVariables"] = dict(stage_variables)
    return event


def function_url_event(
    request: HttpRequest, *, url_id: str = URL_ID, domain_name: str | None = None, auth_type: str = "NONE"
) -> dict[str, Any]:
    """A Lambda function URL event: payload 2.0 with the URL's own request context (no routes, no stages)."""
    domain = domain_name or f"{url_id}.lambda-url.{region()}.on.aws"
    event, context = _v2_event(request, route_key="$default", api_id=url_id, domain_name=domain, stage="$default")
    context["authentication"] = None
    context["authorizer"] = None
    if auth_type == "AWS_IAM":
        context["authorizer"] = {
            "iam": {
                "accessKey": "AKIAIOSFODNN7EXAMPLE",
                "accountId": ACCOUNT_ID,
                "callerId": "AIDACKCEVSQ6C2EXAMPLE",
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": f"arn:aws:iam::{ACCOUNT_ID}:user/local-developer",
                "userId": "AIDACKCEVSQ6C2EXAMPLE",
            }
        }
    event["pathParameters"] = None
    event["stageVariables"] = None
    return event


def rest_api_event(
    request: HttpRequest,
    *,
    resource: str | None = None,
    stage: str = "Prod",
    api_id: str = API_ID,
    domain_name: str | None = None,
    binary_media_types: Sequence[str] = (),
    stage_variables: Mapping[str, str] | None = None,
    payload_version: str | None = None,
) -> dict[str, Any]:
    """An API Gateway REST API proxy event (payload 1.0); `payload_version="1.0"` gives an HTTP API's 1.0 form.

    REST APIs pass bodies as text unless the content type is one of the API's `BinaryMediaTypes`.
    """
    resource = resource or request.decoded_path
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for key, value in _query_pairs(request.query):
        query[key] = value
        multi_query.setdefault(key, []).append(value)
    domain = domain_name or f"{api_id}.execute-api.{region()}.amazonaws.com"
    user_agent = request.header("user-agent")
    in_stage_path = request.path if stage == "$default" else f"/{stage}{request.path}"
    event: dict[str, Any] = {"version": payload_version} if payload_version else {}
    event.update(
        {
            "resource": resource,
            "path": request.decoded_path,
            "httpMethod": request.method,
            "headers": headers or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": (match_route(resource, request.decoded_path) or None) if "{" in resource else None,
            "stageVariables": dict(stage_variables) if stage_variables else None,
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "apiId": api_id,
                "domainName": domain,
                "domainPrefix": domain.split(".", 1)[0],
                "extendedRequestId": base64.b32encode(request.request_id.encode())[:16].decode(),
                "httpMethod": request.method,
                "identity": {
                    "accessKey": None,
                    "accountId": None,
                    "caller": None,
                    "cognitoAuthenticationProvider": None,
                    "cognitoAuthenticationType": None,
                    "cognitoIdentityId": None,
                    "cognitoIdentityPoolId": None,
                    "principalOrgId": None,
                    "sourceIp": request.source_ip,
                    "user": None,
                    "userAgent": user_agent,
                    "userArn": None,
                },
                "path": in_stage_path,
                "protocol": request.protocol,
                "requestId": request.request_id,
                "requestTime": clf_time(request.time),
                "requestTimeEpoch": epoch_ms(request.time),
                "resourceId": hashlib.sha256(resource.encode()).hexdigest()[:6],
                "resourcePath": resource,
                "stage": stage,
            },
        }
    )
    as_binary = _media_matches(request.header("content-type"), binary_media_types)
    if as_binary or not request.body:
        body, is_base64 = _encode_body(request.body, as_binary)
    else:  # API Gateway reads a non-binary body as UTF-8 text, whatever it really is
        body, is_base64 = request.body.decode("utf-8", errors="replace"), False
    event["body"] = body
    event["isBase64Encoded"] = is_base64
    return event
