"""Realistic sample events for every trigger a generated project uses, from one source.

Two callers share these shapes: `python -m lambda_runner event SOURCE KIND --field value` (a developer wants a
payload to invoke with) and slsgen's generator, which writes each new project's `events/*.json` by calling
`build_event` at generation time. The local HTTP server (`api.py`) reuses the HTTP builders below for every real
request, so a handler sees the same shape whether it is invoked from a file or through `start-api`.

Output is deterministic unless a field says otherwise: ids, timestamps and request ids are fixed (or derived
from the record's position), so generated projects and their tests are reproducible. The region is the one the
runner pretends to be in (`template.region()`), so ARNs agree with the names the local AWS mode creates.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote_plus, unquote

from .errors import RunnerError
from .template import ACCOUNT_ID, region

FIXED_TIME = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
FIXED_REQUEST_ID = "c0ffee00-0000-4000-8000-000000000001"
API_ID = "a1b2c3d4e5"  # API Gateway ids are 10 lowercase alphanumerics
URL_ID = "abcdefghijklmnopqrstuvwxyz234567"  # function URL ids are 32 lowercase alphanumerics
SAMPLE_USER_AGENT = "curl/8.5.0"
_ID_NAMESPACE = uuid.UUID("5e1f0d6c-3a1b-4c2d-9e8f-7a6b5c4d3e2f")

# Content types API Gateway HTTP APIs and function URLs pass as text; every other body arrives base64-encoded.
_TEXT_TYPES = ("application/json", "application/javascript", "application/xml", "application/graphql")
_TEXT_SUFFIXES = ("+json", "+xml")


def stable_id(*parts: object) -> str:
    """A UUID that depends only on `parts`: distinct per record, identical on every run."""
    return str(uuid.uuid5(_ID_NAMESPACE, ":".join(str(part) for part in parts)))


def _iso_millis(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _iso_seconds(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _clf_time(moment: datetime) -> str:
    """API Gateway's request time, in the Common Log Format: `01/Jan/2026:12:00:00 +0000`."""
    return moment.astimezone(timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")


# --------------------------------------------------------------------------------------------------- HTTP events


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
        for key, value in self.headers:
            if key.lower() == name.lower():
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
    for key, value in parse_qsl(request.query, keep_blank_values=True):
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
        "time": _clf_time(request.time),
        "timeEpoch": _epoch_ms(request.time),
    }
    event["requestContext"] = context
    body, is_base64 = _encode_body(request.body, not is_text_content(request.header("content-type")))
    if body is not None:
        event["body"] = body
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
    if route_key != "$default":
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
    for key, value in parse_qsl(request.query, keep_blank_values=True):
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
            "pathParameters": match_route(resource, request.decoded_path) or None,
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
                "requestTime": _clf_time(request.time),
                "requestTimeEpoch": _epoch_ms(request.time),
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


# ------------------------------------------------------------------------------------------ storage and streams


@dataclass
class S3Object:
    """One object an S3 notification is about; `key` is the real key (the event carries it URL-encoded)."""

    bucket: str
    key: str
    size: int = 0
    etag: str = ""


def s3_key_in_event(key: str) -> str:
    """Encode a key the way S3 notifications do: spaces become `+`, `+` becomes `%2B`, slashes stay."""
    return quote_plus(key, safe="/")


def s3_event(
    objects: Sequence[S3Object], *, event_name: str = "ObjectCreated:Put", time: datetime = FIXED_TIME
) -> dict[str, Any]:
    """An S3 event notification with one record per object (deletions carry no size or ETag)."""
    records = []
    for index, obj in enumerate(objects):
        s3_object: dict[str, Any] = {"key": s3_key_in_event(obj.key)}
        if event_name.startswith("ObjectCreated"):
            s3_object["size"] = obj.size
            s3_object["eTag"] = obj.etag or hashlib.md5(obj.key.encode(), usedforsecurity=False).hexdigest()
        s3_object["sequencer"] = f"{0x0A1B2C3D4E5F678900 + index:018X}"
        records.append(
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region(),
                "eventTime": _iso_millis(time),
                "eventName": event_name,
                "userIdentity": {"principalId": "AWS:AIDAEXAMPLELOCALUSER"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": stable_id("s3", obj.bucket, obj.key).replace("-", "")[:16].upper(),
                    "x-amz-id-2": base64.b64encode(hashlib.sha256(obj.key.encode()).digest()).decode(),
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "local-notification",
                    "bucket": {
                        "name": obj.bucket,
                        "ownerIdentity": {"principalId": "A3LOCALOWNER"},
                        "arn": f"arn:aws:s3:::{obj.bucket}",
                    },
                    "object": s3_object,
                },
            }
        )
    return {"Records": records}


def sqs_event(queue: str, bodies: Sequence[str], *, time: datetime = FIXED_TIME) -> dict[str, Any]:
    """An SQS batch, one record per body; a `.fifo` queue adds the group, deduplication and sequence numbers."""
    sent = _epoch_ms(time)
    records = []
    for index, body in enumerate(bodies):
        message_id = stable_id("sqs", queue, index)
        attributes = {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(sent + index),
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": str(sent + index + 2),
        }
        if queue.endswith(".fifo"):
            attributes["SequenceNumber"] = str(18849496460467696128 + index)
            attributes["MessageGroupId"] = "1"
            attributes["MessageDeduplicationId"] = hashlib.sha256(f"{index}:{body}".encode()).hexdigest()
        records.append(
            {
                "messageId": message_id,
                "receiptHandle": "AQEB" + base64.b64encode(f"{queue}:{message_id}".encode()).decode(),
                "body": body,
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{region()}:{ACCOUNT_ID}:{queue}",
                "awsRegion": region(),
            }
        )
    return {"Records": records}


def kinesis_event(
    stream: str, payloads: Sequence[bytes], *, partition_key: str = "1", time: datetime = FIXED_TIME
) -> dict[str, Any]:
    """A Kinesis Data Streams batch; each record's `data` is the base64 of its payload, as Lambda delivers it."""
    records = []
    for index, payload in enumerate(payloads):
        sequence = str(49590338271490256608559692538361571095921575989136588898 + index)
        records.append(
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": partition_key,
                    "sequenceNumber": sequence,
                    "data": base64.b64encode(payload).decode("ascii"),
                    "approximateArrivalTimestamp": round(time.timestamp() + index / 1000, 3),
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"shardId-000000000000:{sequence}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT_ID}:role/lambda-role",
                "awsRegion": region(),
                "eventSourceARN": f"arn:aws:kinesis:{region()}:{ACCOUNT_ID}:stream/{stream}",
            }
        )
    return {"Records": records}


def to_dynamodb_json(value: Any) -> dict[str, Any]:
    """Plain JSON data in DynamoDB's typed form (`"Ada"` -> `{"S": "Ada"}`, `3` -> `{"N": "3"}`)."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, (int, float)):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list):
        return {"L": [to_dynamodb_json(item) for item in value]}
    if isinstance(value, dict):
        return {"M": {key: to_dynamodb_json(item) for key, item in value.items()}}
    raise RunnerError(f"cannot express {value!r} as a DynamoDB attribute value")


_DYNAMODB_NAMES = {"insert": "INSERT", "modify": "MODIFY", "remove": "REMOVE"}


def dynamodb_event(
    table: str,
    change: str,
    keys: Mapping[str, Any],
    new_image: Mapping[str, Any] | None,
    old_image: Mapping[str, Any] | None,
    *,
    view_type: str = "NEW_AND_OLD_IMAGES",
    time: datetime = FIXED_TIME,
) -> dict[str, Any]:
    """A DynamoDB Streams record for an `insert`, `modify` or `remove` (images hold the keys too, as in AWS)."""
    record: dict[str, Any] = {"ApproximateCreationDateTime": int(time.timestamp())}
    record["Keys"] = {key: to_dynamodb_json(value) for key, value in keys.items()}
    if new_image is not None and view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
        record["NewImage"] = {key: to_dynamodb_json(value) for key, value in {**keys, **new_image}.items()}
    if old_image is not None and view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        record["OldImage"] = {key: to_dynamodb_json(value) for key, value in {**keys, **old_image}.items()}
    record["SequenceNumber"] = "111100000000000000000001"
    record["SizeBytes"] = len(json.dumps([record.get("Keys"), record.get("NewImage"), record.get("OldImage")]))
    record["StreamViewType"] = view_type
    stream_label = _iso_millis(time).rstrip("Z")
    return {
        "Records": [
            {
                "eventID": stable_id("dynamodb", table, change).replace("-", ""),
                "eventName": _DYNAMODB_NAMES[change],
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": region(),
                "dynamodb": record,
                "eventSourceARN": f"arn:aws:dynamodb:{region()}:{ACCOUNT_ID}:table/{table}/stream/{stream_label}",
            }
        ]
    }


def eventbridge_event(
    source: str, detail_type: str, detail: Any, *, resources: Sequence[str] = (), time: datetime = FIXED_TIME
) -> dict[str, Any]:
    """An EventBridge event as a rule target receives it (scheduled rules use `aws.events`/`Scheduled Event`)."""
    return {
        "version": "0",
        "id": stable_id("eventbridge", source, detail_type),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT_ID,
        "time": _iso_seconds(time),
        "region": region(),
        "resources": list(resources),
        "detail": detail,
    }


def sns_event(topic: str, message: str, subject: str | None, *, time: datetime = FIXED_TIME) -> dict[str, Any]:
    """An SNS notification delivered to a subscribed function."""
    topic_arn = f"arn:aws:sns:{region()}:{ACCOUNT_ID}:{topic}"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:{stable_id('sns-subscription', topic)}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": stable_id("sns", topic, message),
                    "TopicArn": topic_arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": _iso_millis(time),
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": f"https://sns.{region()}.amazonaws.com/SimpleNotificationService-local.pem",
                    "UnsubscribeUrl": f"https://sns.{region()}.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }


# ------------------------------------------------------------------------------------------------------- Alexa


def alexa_event(
    request_type: str,
    *,
    skill_id: str,
    locale: str = "en-US",
    intent: str | None = None,
    slots: Mapping[str, str] | None = None,
    reason: str = "USER_INITIATED",
    new_session: bool = True,
    time: datetime = FIXED_TIME,
) -> dict[str, Any]:
    """An Alexa Skills Kit request envelope (LaunchRequest, IntentRequest or SessionEndedRequest)."""
    user_id = "amzn1.ask.account.LOCALTESTUSER"
    application = {"applicationId": skill_id}
    request: dict[str, Any] = {
        "type": request_type,
        "requestId": f"amzn1.echo-api.request.{stable_id('alexa', request_type, intent)}",
        "timestamp": _iso_seconds(time),
        "locale": locale,
    }
    if request_type == "IntentRequest":
        request["dialogState"] = "COMPLETED"
        request["intent"] = {"name": intent, "confirmationStatus": "NONE"}
        if slots:
            request["intent"]["slots"] = {
                name: {"name": name, "value": value, "confirmationStatus": "NONE"} for name, value in slots.items()
            }
    elif request_type == "SessionEndedRequest":
        request["reason"] = reason
        if reason == "ERROR":
            request["error"] = {"type": "INVALID_RESPONSE", "message": "The skill's response was not valid"}
    return {
        "version": "1.0",
        "session": {
            "new": new_session,
            "sessionId": f"amzn1.echo-api.session.{stable_id('alexa-session', skill_id)}",
            "application": application,
            "attributes": {},
            "user": {"userId": user_id},
        },
        "context": {
            "System": {
                "application": dict(application),
                "user": {"userId": user_id},
                "device": {"deviceId": "amzn1.ask.device.LOCALTESTDEVICE", "supportedInterfaces": {}},
                "apiEndpoint": "https://api.amazonalexa.com",
                "apiAccessToken": "local-test-access-token",
            }
        },
        "request": request,
    }


# ------------------------------------------------------------------------------------- the `event` command's table


@dataclass(frozen=True)
class _Field:
    default: str
    help: str
    repeatable: bool = False


_HTTP_FIELDS = {
    "method": _Field("GET", "HTTP method"),
    "path": _Field("/", "request path, percent-encoded as sent"),
    "query": _Field("", "raw query string, e.g. a=1&b=2"),
    "body": _Field("", "request body; @FILE reads it from a file"),
    "header": _Field("", "'Name: value'; repeat the field, or put one header per line", repeatable=True),
    "cookie": _Field("", "cookies as in a Cookie header: 'a=1; b=2'"),
    "source-ip": _Field("127.0.0.1", "client address"),
}

_SPECS: dict[str, dict[str, _Field]] = {
    "apigw-http": {
        **_HTTP_FIELDS,
        "route": _Field("$default", "route key: $default, or 'GET /items/{id}' to fill pathParameters"),
        "stage": _Field("$default", "stage name"),
    },
    "apigw-rest": {
        **_HTTP_FIELDS,
        "resource": _Field("", "resource path, e.g. /items/{id} (default: the path)"),
        "stage": _Field("Prod", "stage name (SAM's implicit API uses Prod)"),
        "binary-types": _Field("", "the API's BinaryMediaTypes, comma-separated, e.g. image/png,*/*"),
    },
    "function-url": {
        **_HTTP_FIELDS,
        "auth-type": _Field("NONE", "the URL's AuthType: NONE or AWS_IAM (adds requestContext.authorizer.iam)"),
    },
    "s3": {
        "bucket": _Field("my-bucket", "bucket name"),
        "key": _Field(
            "uploads/photo.jpg",
            "object key, unencoded (the event carries it URL-encoded); repeat the field, or put one key per line, "
            "for one record per key",
            repeatable=True,
        ),
        "size": _Field("1024", "object size in bytes (put only)"),
        "etag": _Field("", "object ETag (put only; default: derived from the key)"),
    },
    "sqs": {
        "body": _Field('{"message": "hello"}', "message body (always a string in the event)"),
        "queue": _Field("my-queue", "queue name; a name ending in .fifo adds FIFO attributes"),
        "count": _Field("1", "number of records, each with its own messageId"),
    },
    "kinesis": {
        "data": _Field('{"message": "hello"}', "record payload; the event carries it base64-encoded"),
        "stream": _Field("my-stream", "stream name"),
        "partition-key": _Field("1", "partition key"),
        "count": _Field("1", "number of records"),
    },
    "dynamodb": {
        "table": _Field("my-table", "table name"),
        "keys": _Field('{"id": "1"}', "primary key as plain JSON"),
        "new-image": _Field('{"message": "hello"}', "new item as plain JSON (insert, modify)"),
        "old-image": _Field('{"message": "hi"}', "old item as plain JSON (modify, remove)"),
        "view-type": _Field(
            "NEW_AND_OLD_IMAGES", "StreamViewType: KEYS_ONLY, NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES"
        ),
    },
    "schedule": {
        "rule": _Field("my-schedule", "EventBridge rule name"),
    },
    "eventbridge": {
        "source": _Field("com.example.app", "event source"),
        "detail-type": _Field("Example Event", "event detail-type"),
        "detail": _Field("{}", "event detail as JSON"),
    },
    "sns": {
        "message": _Field('{"message": "hello"}', "message text"),
        "subject": _Field("", "message subject (default: none)"),
        "topic": _Field("my-topic", "topic name"),
    },
    "alexa": {
        "intent": _Field("HelloWorldIntent", "intent name (intent only)"),
        "slots": _Field("", "slot values, comma-separated: name=Ada,city=Paris (intent only)"),
        "locale": _Field("en-US", "request locale"),
        "skill-id": _Field(
            "amzn1.ask.skill.00000000-0000-0000-0000-000000000000",
            "skill id (session.application and context.System.application)",
        ),
        "reason": _Field("USER_INITIATED", "why the session ended: USER_INITIATED, ERROR, EXCEEDED_MAX_REPROMPTS"),
        "new-session": _Field("true", "whether session.new is true"),
    },
}

FIELDS: dict[str, dict[str, str]] = {
    source: {name: f"{spec.help} (default: {spec.default!r})" for name, spec in specs.items()}
    for source, specs in _SPECS.items()
}
"""Per source: each `--field` the `event` command accepts, with what it means and its default."""


class _Fields:
    """The user's `--field value` pairs for one source, checked against its table, with defaults filled in."""

    def __init__(self, source: str, given: Mapping[str, str | Sequence[str]]) -> None:
        self.source = source
        self.specs = _SPECS[source]
        self.values: dict[str, list[str]] = {}
        for raw_name, value in given.items():
            name = raw_name.replace("_", "-").lstrip("-")
            if name not in self.specs:
                raise RunnerError(f"{source} events have no field {raw_name!r}; choose from: {', '.join(self.specs)}")
            values = [value] if isinstance(value, str) else list(value)
            if len(values) > 1 and not self.specs[name].repeatable:
                raise RunnerError(f"--{name} was given {len(values)} times; it takes one value")
            self.values[name] = values

    def text(self, name: str) -> str:
        return self.values.get(name, [self.specs[name].default])[-1]

    def lines(self, name: str) -> list[str]:
        found = self.values.get(name, [self.specs[name].default])
        return [line for value in found for line in value.splitlines() if line.strip()]

    def integer(self, name: str, minimum: int = 0) -> int:
        text = self.text(name)
        if not text.strip().isdigit() or int(text) < minimum:
            raise RunnerError(f"--{name} must be a whole number of at least {minimum}, not {text!r}")
        return int(text)

    def flag(self, name: str) -> bool:
        text = self.text(name).strip().lower()
        if text not in ("true", "false", "yes", "no", "1", "0"):
            raise RunnerError(f"--{name} must be true or false, not {text!r}")
        return text in ("true", "yes", "1")

    def json(self, name: str) -> Any:
        text = self.text(name)
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise RunnerError(f"--{name} must be JSON ({exc.msg}): {text!r}") from None

    def json_object(self, name: str) -> dict[str, Any]:
        value = self.json(name)
        if not isinstance(value, dict):
            raise RunnerError(f"--{name} must be a JSON object like {self.specs[name].default}")
        return value


def _sample_request(fields: _Fields, host: str) -> HttpRequest:
    """An HttpRequest from `--method/--path/...`, with the headers a curl call through the gateway would carry."""
    body_text = fields.text("body")
    if body_text.startswith("@"):
        try:
            body = Path(body_text[1:]).read_bytes()
        except OSError as exc:
            raise RunnerError(f"--body {body_text}: cannot read {exc.filename}: {exc.strerror}") from None
    else:
        body = body_text.encode("utf-8")
    path = fields.text("path")
    if not path.startswith("/"):
        raise RunnerError(f"--path must start with '/', not {path!r}")
    headers = [("Host", host), ("User-Agent", SAMPLE_USER_AGENT), ("Accept", "*/*")]
    own: list[tuple[str, str]] = []
    for line in fields.lines("header"):
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise RunnerError(f"--header must look like 'Name: value', not {line!r}")
        own.append((name.strip(), value.strip()))
    own_names = {name.lower() for name, _ in own}
    headers = [(name, value) for name, value in headers if name.lower() not in own_names] + own
    if fields.text("cookie"):
        headers.append(("Cookie", fields.text("cookie")))
    if body and "content-type" not in own_names:
        try:
            json.loads(body)
            headers.append(("Content-Type", "application/json"))
        except ValueError:
            headers.append(("Content-Type", "text/plain; charset=utf-8"))
    if body:
        headers.append(("Content-Length", str(len(body))))
    headers += [
        ("X-Amzn-Trace-Id", "Root=1-695661c0-0123456789abcdef01234567"),
        ("X-Forwarded-For", fields.text("source-ip")),
        ("X-Forwarded-Port", "443"),
        ("X-Forwarded-Proto", "https"),
    ]
    return HttpRequest(
        method=fields.text("method").upper(),
        path=path,
        query=fields.text("query").lstrip("?"),
        headers=headers,
        body=body,
        source_ip=fields.text("source-ip"),
    )


def _build_http_api(fields: _Fields, _kind: str) -> dict[str, Any]:
    route = fields.text("route")
    if route != "$default" and " " not in route:
        raise RunnerError(f"--route must be $default or 'METHOD /path', not {route!r}")
    request = _sample_request(fields, f"{API_ID}.execute-api.{region()}.amazonaws.com")
    return http_api_event(request, route_key=route, stage=fields.text("stage"))


def _build_http_api_v1(fields: _Fields, _kind: str) -> dict[str, Any]:
    route = fields.text("route")
    resource = route.split(" ", 1)[-1] if route != "$default" else None
    request = _sample_request(fields, f"{API_ID}.execute-api.{region()}.amazonaws.com")
    return rest_api_event(request, resource=resource, stage=fields.text("stage"), payload_version="1.0")


def _build_rest_api(fields: _Fields, _kind: str) -> dict[str, Any]:
    request = _sample_request(fields, f"{API_ID}.execute-api.{region()}.amazonaws.com")
    binary = [item.strip() for item in fields.text("binary-types").split(",") if item.strip()]
    resource = fields.text("resource") or None
    if resource and match_route(resource, request.decoded_path) is None:
        raise RunnerError(f"--path {request.path} does not match --resource {resource}")
    return rest_api_event(request, resource=resource, stage=fields.text("stage"), binary_media_types=binary)


def _build_function_url(fields: _Fields, _kind: str) -> dict[str, Any]:
    auth_type = fields.text("auth-type").upper()
    if auth_type not in ("NONE", "AWS_IAM"):
        raise RunnerError(f"--auth-type must be NONE or AWS_IAM, not {auth_type!r}")
    request = _sample_request(fields, f"{URL_ID}.lambda-url.{region()}.on.aws")
    return function_url_event(request, auth_type=auth_type)


def _build_s3(fields: _Fields, kind: str) -> dict[str, Any]:
    bucket, size, etag = fields.text("bucket"), fields.integer("size"), fields.text("etag")
    objects = [S3Object(bucket, key, size, etag) for key in fields.lines("key")]
    event_name = "ObjectCreated:Put" if kind == "put" else "ObjectRemoved:Delete"
    return s3_event(objects, event_name=event_name)


def _build_sqs(fields: _Fields, _kind: str) -> dict[str, Any]:
    return sqs_event(fields.text("queue"), [fields.text("body")] * fields.integer("count", minimum=1))


def _build_kinesis(fields: _Fields, _kind: str) -> dict[str, Any]:
    payloads = [fields.text("data").encode("utf-8")] * fields.integer("count", minimum=1)
    return kinesis_event(fields.text("stream"), payloads, partition_key=fields.text("partition-key"))


def _build_dynamodb(fields: _Fields, kind: str) -> dict[str, Any]:
    view_type = fields.text("view-type").upper()
    if view_type not in ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        raise RunnerError(f"--view-type must be KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES, not {view_type}")
    new_image = fields.json_object("new-image") if kind in ("insert", "modify") else None
    old_image = fields.json_object("old-image") if kind in ("modify", "remove") else None
    return dynamodb_event(
        fields.text("table"), kind, fields.json_object("keys"), new_image, old_image, view_type=view_type
    )


def _build_schedule(fields: _Fields, _kind: str) -> dict[str, Any]:
    rule_arn = f"arn:aws:events:{region()}:{ACCOUNT_ID}:rule/{fields.text('rule')}"
    return eventbridge_event("aws.events", "Scheduled Event", {}, resources=[rule_arn])


def _build_eventbridge(fields: _Fields, _kind: str) -> dict[str, Any]:
    return eventbridge_event(fields.text("source"), fields.text("detail-type"), fields.json("detail"))


def _build_sns(fields: _Fields, _kind: str) -> dict[str, Any]:
    return sns_event(fields.text("topic"), fields.text("message"), fields.text("subject") or None)


_ALEXA_TYPES = {"launch": "LaunchRequest", "intent": "IntentRequest", "session-ended": "SessionEndedRequest"}


def _build_alexa(fields: _Fields, kind: str) -> dict[str, Any]:
    slots: dict[str, str] = {}
    for item in fields.text("slots").split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise RunnerError(f"--slots must look like name=Ada,city=Paris, not {item!r}")
        slots[name.strip()] = value.strip()
    reason = fields.text("reason").upper()
    if reason not in ("USER_INITIATED", "ERROR", "EXCEEDED_MAX_REPROMPTS"):
        raise RunnerError(f"--reason must be USER_INITIATED, ERROR or EXCEEDED_MAX_REPROMPTS, not {reason}")
    return alexa_event(
        _ALEXA_TYPES[kind],
        skill_id=fields.text("skill-id"),
        locale=fields.text("locale"),
        intent=fields.text("intent") if kind == "intent" else None,
        slots=slots if kind == "intent" else None,
        reason=reason,
        new_session=fields.flag("new-session"),
    )


_BUILDERS: dict[str, dict[str, tuple[str, Callable[[_Fields, str], dict[str, Any]]]]] = {
    "apigw-http": {
        "request": ("API Gateway HTTP API request, payload format 2.0", _build_http_api),
        "request-v1": ("API Gateway HTTP API request, payload format 1.0", _build_http_api_v1),
    },
    "apigw-rest": {"request": ("API Gateway REST API proxy request (payload 1.0)", _build_rest_api)},
    "function-url": {"request": ("Lambda function URL request (payload 2.0)", _build_function_url)},
    "s3": {
        "put": ("S3 ObjectCreated:Put notification", _build_s3),
        "delete": ("S3 ObjectRemoved:Delete notification", _build_s3),
    },
    "sqs": {"message": ("SQS batch of messages", _build_sqs)},
    "kinesis": {"record": ("Kinesis Data Streams batch of records", _build_kinesis)},
    "dynamodb": {
        "insert": ("DynamoDB Streams INSERT record", _build_dynamodb),
        "modify": ("DynamoDB Streams MODIFY record", _build_dynamodb),
        "remove": ("DynamoDB Streams REMOVE record", _build_dynamodb),
    },
    "schedule": {"event": ("EventBridge scheduled rule event (SAM Type: Schedule)", _build_schedule)},
    "eventbridge": {"event": ("EventBridge custom event delivered by a rule", _build_eventbridge)},
    "sns": {"notification": ("SNS notification", _build_sns)},
    "alexa": {
        "launch": ("Alexa LaunchRequest", _build_alexa),
        "intent": ("Alexa IntentRequest with slots", _build_alexa),
        "session-ended": ("Alexa SessionEndedRequest", _build_alexa),
    },
}

SOURCES: dict[str, dict[str, str]] = {
    source: {kind: description for kind, (description, _) in kinds.items()} for source, kinds in _BUILDERS.items()
}
"""Every event the `event` command builds: source -> kind -> one-line description."""


def build_event(source: str, kind: str, fields: Mapping[str, str | Sequence[str]] | None = None) -> dict[str, Any]:
    """A sample event for `source`/`kind`; `fields` override the defaults listed in `FIELDS[source]`.

    Field names may use dashes or underscores. A repeatable field (`header`) takes a list of values.
    """
    if source not in _BUILDERS:
        raise RunnerError(f"unknown event source {source!r}; choose from: {', '.join(_BUILDERS)}")
    kinds = _BUILDERS[source]
    if kind not in kinds:
        raise RunnerError(f"unknown {source} event kind {kind!r}; choose from: {', '.join(kinds)}")
    _, builder = kinds[kind]
    return builder(_Fields(source, fields or {}), kind)
