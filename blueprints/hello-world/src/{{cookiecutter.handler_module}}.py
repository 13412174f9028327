{%- set http = cookiecutter.trigger != 'none' -%}
{%- set powertools = cookiecutter.powertools -%}
{%- set tracing = cookiecutter.tracing -%}
{#- The handler's decorators: Logger's request context, Tracer's subsegment, Metrics' flush (the order of hello-pt). -#}
{%- macro handler_decorators(logger_options) -%}
{%- if powertools %}
@logger.inject_lambda_context({{ logger_options }})
{%- endif %}
{%- if tracing %}
@tracer.capture_lambda_handler
{%- endif %}
{%- if powertools %}
@metrics.log_metrics(capture_cold_start_metric=True)
{%- endif %}
{%- endmacro -%}
{%- if not http -%}
"""{{ cookiecutter.project_name }}: a function invoked directly with a JSON event, answering with a greeting.

Lambda calls `{{ cookiecutter.handler_function }}(event, context)` with the event as sent (the console's test
event, `aws lambda invoke`, another service). An event it cannot use raises `ValueError`: for a direct
invocation, an error is how the caller learns that the input was wrong (`FunctionError` in the response).
{%- else -%}
"""{{ cookiecutter.project_name }}: answers `GET /hello?name=...` with a JSON greeting.

Lambda calls `{{ cookiecutter.handler_function }}(event, context)` once per HTTP request, with the request as a
payload format 2.0 event. Bad input gets a 4xx JSON answer, never an exception: an exception would reach the
client as a bare 500 with no explanation.
{%- endif %}
{%- if powertools %}

Powertools for AWS Lambda: Logger writes JSON lines with the request id, Metrics publishes the `Greetings` and
`Rejected` counts (CloudWatch embedded metric format, and `ColdStart`){% if tracing %}, and Tracer records the
invocation and the greeting as X-Ray subsegments{% endif %}.
{%- elif tracing %}

Powertools for AWS Lambda's Tracer records the invocation and the greeting as X-Ray subsegments.
{%- endif %}
"""

from __future__ import annotations

{% if http -%}
import json
{% endif -%}
{% if not powertools -%}
import logging
{% endif -%}
import os
import re
from typing import {% if http %}Any, NotRequired, {% endif %}{% if not powertools %}Protocol, {% endif %}TypedDict
{% if powertools or tracing %}
from aws_lambda_powertools import {{ ((['Logger', 'Metrics'] if powertools else []) + (['Tracer'] if tracing else [])) | join(', ') }}
{%- if powertools %}
{%- if http %}
from aws_lambda_powertools.logging import correlation_paths
{%- endif %}
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
{%- endif %}
{% endif %}
{%- if powertools %}
logger = Logger()  # JSON lines with the request id; the service is POWERTOOLS_SERVICE_NAME (template.yaml)
metrics = Metrics()  # the namespace is POWERTOOLS_METRICS_NAMESPACE
{%- else %}
logger = logging.getLogger(__name__)
# With the JSON log format, Lambda sets the log level from LoggingConfig; with the text format it is
# Python's default (WARNING), which would hide the INFO lines below.
if "AWS_LAMBDA_LOG_LEVEL" not in os.environ:
    logger.setLevel(logging.INFO)
{%- endif %}
{%- if tracing %}
tracer = Tracer()  # X-Ray subsegments, sent with Lambda's trace id (Tracing: Active in template.yaml)
{%- endif %}

# Read once per execution environment, not once per request.
GREETING = os.environ.get("GREETING", "{{ cookiecutter.greeting }}")
DEFAULT_NAME = "World"
# A name: words of letters (any alphabet) joined by one space, hyphen or apostrophe, or by a dot ("Dr. Who").
NAME = re.compile(r"[^\W\d_]+(?:(?:[ '-]|\. ?)[^\W\d_]+)*\.?")
MAX_NAME_LENGTH = 64
{%- if not powertools %}


class LambdaContext(Protocol):
    """The parts of Lambda's context object this function uses."""

    aws_request_id: str

    def get_remaining_time_in_millis(self) -> int: ...
{%- endif %}
{%- if powertools %}


def count(outcome: str) -> None:
    """One `Greetings` or `Rejected` count per invocation: every invocation publishes a metric."""
    metrics.add_metric(name=outcome, unit=MetricUnit.Count, value=1)
{%- endif %}


{% if tracing -%}
@tracer.capture_method
{% endif -%}
def greet(name: str) -> str:
    return f"{GREETING}, {name}!"
{%- if not http %}


class GreetingEvent(TypedDict, total=False):
    """The event this function expects: `{"name": "Ada"}`; without a name it greets the world."""

    name: str


class Greeting(TypedDict):
    message: str


{{ handler_decorators("clear_state=True") }}
def {{ cookiecutter.handler_function }}(event: GreetingEvent, context: LambdaContext) -> Greeting:
    """Greet `event["name"]`; raise ValueError for an event that is not a JSON object or a bad name."""
    if not isinstance(event, dict):
{%- if powertools %}
        count("Rejected")
{%- endif %}
        raise ValueError(f"the event must be a JSON object with a name, not {type(event).__name__}")
    name = event.get("name", DEFAULT_NAME)
    if not isinstance(name, str) or len(name.strip()) > MAX_NAME_LENGTH or not NAME.fullmatch(name.strip()):
{%- if powertools %}
        count("Rejected")
{%- endif %}
        raise ValueError(f"name must be 1-{MAX_NAME_LENGTH} letters, spaces, hyphens or apostrophes")
    name = name.strip()
    logger.info("greeting", extra={"name_length": len(name)})
{%- if powertools %}
    count("Greetings")
{%- endif %}
    return {"message": greet(name)}
{%- else %}


class HttpContext(TypedDict):
    method: str
    path: str
    sourceIp: str


class RequestContext(TypedDict):
    requestId: str
    http: HttpContext


class HttpEvent(TypedDict):
    """The fields this function reads from a payload format 2.0 event (HTTP API or function URL)."""

    rawPath: str
    requestContext: RequestContext
    queryStringParameters: NotRequired[dict[str, str]]


class HttpResponse(TypedDict):
    statusCode: int
    headers: dict[str, str]
    body: str


def respond(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> HttpResponse:
    """A JSON response in the shape API Gateway and function URLs turn into an HTTP response."""
{%- if powertools %}
    count("Greetings" if status == 200 else "Rejected")
{%- endif %}
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": json.dumps(body, ensure_ascii=False),
    }


{{ handler_decorators("correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True") }}
def {{ cookiecutter.handler_function }}(event: HttpEvent, context: LambdaContext) -> HttpResponse:
    """Answer `GET /hello?name=...` with `{"message": "<greeting>, <name>!"}`."""
    http = event["requestContext"]["http"]
{%- if cookiecutter.trigger == 'function-url' %}
    # A function URL sends every path and method here; API Gateway would have routed them away.
    if http["path"].rstrip("/") != "/hello":
        return respond(404, {"error": f"no route {http['path']}; try GET /hello?name=Ada"})
{%- endif %}
    if http["method"] != "GET":
        return respond(405, {"error": f"method {http['method']} is not allowed; use GET"}, {"allow": "GET"})
    # Payload format 2.0 joins repeated parameters with commas, which NAME rejects.
    name = (event.get("queryStringParameters") or {}).get("name", DEFAULT_NAME).strip()
    if len(name) > MAX_NAME_LENGTH or not NAME.fullmatch(name):
        logger.warning("rejected name", extra={"name_length": len(name), "source_ip": http["sourceIp"]})
        return respond(
            400,
            {"error": f"name must be 1-{MAX_NAME_LENGTH} letters, spaces, hyphens or apostrophes"},
        )
    logger.info("greeting", extra={"name_length": len(name), "source_ip": http["sourceIp"]})
    return respond(200, {"message": greet(name)})
{%- endif %}
