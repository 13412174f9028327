"""{{ cookiecutter.project_name }}: an Alexa custom skill, built with ask-sdk-core.

Alexa calls `{{ cookiecutter.handler_function }}(event, context)` once per turn of a conversation with a request
envelope (LaunchRequest, IntentRequest or SessionEndedRequest) and speaks the response envelope it returns. The
request handlers below are tried in registration order; the intent reflector comes last and answers intents that
have no handler of their own, so a new intent in the model is heard, not silent, until it gets one.

Every answer is spoken in the request's locale, from `locales/<locale>.json` (else another locale of the same
language, else the skill's default locale). Any error inside a handler becomes a spoken apology, never a failed
request: Alexa would otherwise say "There was a problem with the requested skill's response". Requests for
another skill id are refused before any handler runs, and Lambda reports them as errors, without speech.
{%- if cookiecutter.tracing %}

With X-Ray tracing on (`Tracing: Active`), Powertools' Tracer records each request and the greeting as subsegments.
{%- endif %}
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, cast
from xml.sax.saxutils import escape

from ask_sdk_core.dispatch_components import (
    AbstractExceptionHandler,
    AbstractRequestHandler,
    AbstractRequestInterceptor,
    AbstractResponseInterceptor,
)
from ask_sdk_core.exceptions import AskSdkException
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.skill_builder import CustomSkillBuilder
from ask_sdk_core.utils import get_intent_name, get_locale, get_request_type, get_slot, is_intent_name, is_request_type
from ask_sdk_model import Response
{%- if cookiecutter.tracing %}
from aws_lambda_powertools import Tracer
{%- endif %}

logger = logging.getLogger(__name__)
# With the JSON log format, Lambda sets the log level from LoggingConfig; with the text format it is
# Python's default (WARNING), which would hide the INFO lines below.
if "AWS_LAMBDA_LOG_LEVEL" not in os.environ:
    logger.setLevel(logging.INFO)

{%- if cookiecutter.tracing %}
tracer = Tracer()  # X-Ray subsegments, sent with Lambda's trace id (Tracing: Active in template.yaml)
{%- endif %}

DEFAULT_LOCALE = "{{ cookiecutter.locales[0] }}"
# Every spoken string, per locale, read once per execution environment.
SPEECH: dict[str, dict[str, str]] = {
    path.stem: json.loads(path.read_text(encoding="utf-8"))
    for path in sorted((Path(__file__).parent / "locales").glob("*.json"))
}


class LambdaContext(Protocol):
    """The parts of Lambda's context object this function uses."""

    aws_request_id: str


# --- speech -----------------------------------------------------------------------------------------------------


def strings_for_locale(locale: str | None) -> dict[str, str]:
    """The strings of `locale`, else of another locale of its language, else of the default locale."""
    if locale in SPEECH:
        return SPEECH[locale]
    language = (locale or "").split("-")[0]
    same_language = [known for known in SPEECH if known.split("-")[0] == language]
    return SPEECH[same_language[0] if same_language else DEFAULT_LOCALE]


def localized(handler_input: HandlerInput, key: str, **values: str) -> str:
    """The localized string `key` as SSML text: the values filled in, and escaped as SSML needs."""
    strings = cast("dict[str, str]", handler_input.attributes_manager.request_attributes["speech"])
    return escape(strings[key]).format(**{name: escape(value) for name, value in values.items()})


# --- request handlers, in the order they are tried --------------------------------------------------------------


class LaunchRequestHandler(AbstractRequestHandler):
    """A launch ("Alexa, open <invocation name>"): the welcome, and the session stays open for an answer."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("LaunchRequest")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return (
            handler_input.response_builder.speak(localized(handler_input, "welcome"))
            .ask(localized(handler_input, "welcome_reprompt"))
            .response
        )


class HelloWorldIntentHandler(AbstractRequestHandler):
    """Hello ("say hello", "say hello to Ada"): greets the name in the optional `name` slot, then ends the session."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name("HelloWorldIntent")(handler_input)
{% if cookiecutter.tracing %}
    @tracer.capture_method
{%- endif %}
    def handle(self, handler_input: HandlerInput) -> Response:
        slot = get_slot(handler_input, "name")
        name = (slot.value or "").strip() if slot is not None else ""
        text = localized(handler_input, "hello_name", name=name) if name else localized(handler_input, "hello")
        return handler_input.response_builder.speak(text).set_should_end_session(True).response


class HelpIntentHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name("AMAZON.HelpIntent")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return (
            handler_input.response_builder.speak(localized(handler_input, "help"))
            .ask(localized(handler_input, "help_reprompt"))
            .response
        )


class CancelOrStopIntentHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name("AMAZON.CancelIntent")(handler_input) or is_intent_name("AMAZON.StopIntent")(
            handler_input
        )

    def handle(self, handler_input: HandlerInput) -> Response:
        return handler_input.response_builder.speak(localized(handler_input, "goodbye")).set_should_end_session(True).response


class FallbackIntentHandler(AbstractRequestHandler):
    """What users said matched no intent: say what the skill can do, and listen again."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name("AMAZON.FallbackIntent")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return (
            handler_input.response_builder.speak(localized(handler_input, "fallback"))
            .ask(localized(handler_input, "help_reprompt"))
            .response
        )


class NavigateHomeIntentHandler(AbstractRequestHandler):
    """Home ("go home", on a device with a screen): back to the start of the skill, the welcome."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name("AMAZON.NavigateHomeIntent")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return (
            handler_input.response_builder.speak(localized(handler_input, "welcome"))
            .ask(localized(handler_input, "welcome_reprompt"))
            .response
        )


class SessionEndedRequestHandler(AbstractRequestHandler):
    """The session ended (the user left, or an error or silence ended it): Alexa takes no speech here."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("SessionEndedRequest")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        request = handler_input.request_envelope.request
        error = getattr(request, "error", None)
        logger.info(
            "session ended",
            extra={
                "reason": getattr(getattr(request, "reason", None), "value", None),
                "error_type": getattr(getattr(error, "object_type", None), "value", None) if error else None,
                "error_message": getattr(error, "message", None) if error else None,
            },
        )
        return handler_input.response_builder.response


class IntentReflectorHandler(AbstractRequestHandler):
    """Any intent without a handler above: says its name, so that a new intent is heard while it is built.

    Registered last. `scripts/check_model.py` fails for an intent of the model that reaches it, unless the intent
    is listed there as deliberately reflected.
    """

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("IntentRequest")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        intent = str(get_intent_name(handler_input))
        logger.warning("intent without a handler", extra={"intent": intent})
        return (
            handler_input.response_builder.speak(localized(handler_input, "reflect", intent=intent))
            .ask(localized(handler_input, "help_reprompt"))
            .response
        )


class CatchAllExceptionHandler(AbstractExceptionHandler):
    """Any error in a handler or an interceptor: logged with its request id, then a spoken apology."""

    def can_handle(self, handler_input: HandlerInput, exception: Exception) -> bool:
        return True

    def handle(self, handler_input: HandlerInput, exception: Exception) -> Response:
        logger.error(
            "request failed",
            exc_info=exception,
            extra={"alexa_request_id": getattr(handler_input.request_envelope.request, "request_id", None)},
        )
        if "speech" not in handler_input.attributes_manager.request_attributes:  # the interceptor itself failed
            handler_input.attributes_manager.request_attributes["speech"] = strings_for_locale(DEFAULT_LOCALE)
        return (
            handler_input.response_builder.speak(localized(handler_input, "error"))
            .ask(localized(handler_input, "help_reprompt"))
            .response
        )


# --- interceptors ---------------------------------------------------------------------------------------------


class LocalizationInterceptor(AbstractRequestInterceptor):
    """Chooses the strings of the request's locale once, before any handler runs."""

    def process(self, handler_input: HandlerInput) -> None:
        handler_input.attributes_manager.request_attributes["speech"] = strings_for_locale(str(get_locale(handler_input)))


class RequestLogger(AbstractRequestInterceptor):
    """One structured line per request; slot values and user ids are personal data and stay out of the log."""

    def process(self, handler_input: HandlerInput) -> None:
        request = handler_input.request_envelope.request
        intent = getattr(request, "intent", None)
        logger.info(
            "alexa request",
            extra={
                "alexa_request_id": getattr(request, "request_id", None),
                "request_type": get_request_type(handler_input),
                "intent": getattr(intent, "name", None),
                "slots": sorted(getattr(intent, "slots", None) or {}),
                "locale": get_locale(handler_input),
            },
        )


class ResponseLogger(AbstractResponseInterceptor):
    def process(self, handler_input: HandlerInput, response: Response | None) -> None:
        logger.info(
            "alexa response",
            extra={
                "alexa_request_id": getattr(handler_input.request_envelope.request, "request_id", None),
                "should_end_session": getattr(response, "should_end_session", None),
                "reprompt": getattr(response, "reprompt", None) is not None,
            },
        )


def build_skill() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The skill: its handlers in the order they are tried, and the id of the only skill it answers."""
    skill_id = os.environ.get("SKILL_ID", "").strip()
    if not skill_id:
        raise RuntimeError("SKILL_ID is not set: template.yaml sets it from the SkillId parameter")
    builder = CustomSkillBuilder()
    builder.skill_id = skill_id  # a request for another skill raises AskSdkException before any handler runs
    for handler in (
        LaunchRequestHandler(),
        HelloWorldIntentHandler(),
        HelpIntentHandler(),
        CancelOrStopIntentHandler(),
        FallbackIntentHandler(),
        NavigateHomeIntentHandler(),
        SessionEndedRequestHandler(),
        IntentReflectorHandler(),  # last: it matches every intent
    ):
        builder.add_request_handler(handler)
    builder.add_exception_handler(CatchAllExceptionHandler())
    builder.add_global_request_interceptor(LocalizationInterceptor())
    builder.add_global_request_interceptor(RequestLogger())
    builder.add_global_response_interceptor(ResponseLogger())
    return cast("Callable[[dict[str, Any], Any], dict[str, Any]]", builder.lambda_handler())


SKILL_INVOKER = build_skill()


{% if cookiecutter.tracing -%}
@tracer.capture_lambda_handler
{% endif -%}
def {{ cookiecutter.handler_function }}(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Answer one Alexa request envelope with a response envelope."""
    try:
        return SKILL_INVOKER(event, context)
    except AskSdkException:
        application = (event.get("context") or {}).get("System", {}).get("application", {})
        logger.warning(
            "request refused: not for this skill, or not a request envelope",
            extra={"application_id": application.get("applicationId")},
        )
        raise
