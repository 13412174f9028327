"""Dialog tests, offline: request envelopes as Alexa sends them, through the handler template.yaml names.

Each test starts from a sample event in events/ (built like a real request: the skill id in the session and in
context.System), changes what the turn needs, and checks what Alexa would say: the speech, the reprompt, and
whether the session ends.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from ask_sdk_core.exceptions import AskSdkException

LOCALES = Path(__file__).resolve().parent.parent / "src" / "locales"
DEFAULT_LOCALE = "{{ cookiecutter.locales[0] }}"


def strings(locale: str = DEFAULT_LOCALE) -> dict[str, str]:
    """The locale's strings as the skill speaks them: SSML-escaped (a skill name may hold an &)."""
    return {key: escape(text) for key, text in json.loads((LOCALES / f"{locale}.json").read_text("utf-8")).items()}


@pytest.fixture
def ask(handler, lambda_context, load_event):
    """Send one request: `ask("hello.json", intent=..., slots=..., locale=...)` returns the `response` part."""

    def send(event_name, *, intent=None, slots=None, locale=None, skill_id=None):
        event = load_event(event_name)
        if intent is not None:
            event["request"]["intent"] = {"name": intent, "confirmationStatus": "NONE"}
        if slots is not None:
            # As Alexa sends them: every slot of the intent, with a value only when the user said one.
            event["request"]["intent"]["slots"] = {
                name: {"name": name, "confirmationStatus": "NONE", **({"value": value} if value else {})}
                for name, value in slots.items()
            }
        if locale is not None:
            event["request"]["locale"] = locale
        if skill_id is not None:
            event["session"]["application"]["applicationId"] = skill_id
            event["context"]["System"]["application"]["applicationId"] = skill_id
        envelope = handler(event, lambda_context)
        assert envelope["version"] == "1.0"
        return envelope["response"]

    return send


def speech(response) -> str:
    ssml = response["outputSpeech"]["ssml"]
    assert ssml.startswith("<speak>")
    assert ssml.endswith("</speak>")
    return ssml.removeprefix("<speak>").removesuffix("</speak>")


def reprompt(response) -> str | None:
    if "reprompt" not in response:
        return None
    return speech(response["reprompt"])


def test_launch_welcomes_and_listens(ask):
    response = ask("launch.json")
    assert speech(response) == strings()["welcome"]
    assert reprompt(response) == strings()["welcome_reprompt"]
    assert response["shouldEndSession"] is False


def test_hello_with_a_name(ask):
    response = ask("hello.json")
    assert speech(response) == strings()["hello_name"].format(name="Ada")
    assert reprompt(response) is None
    assert response["shouldEndSession"] is True


@pytest.mark.parametrize("slots", [None, {"name": None}, {"name": "  "}])
def test_hello_without_a_name(ask, slots):
    response = ask("hello-no-name.json", intent="HelloWorldIntent", slots=slots)
    assert speech(response) == strings()["hello"]
    assert reprompt(response) is None
    assert response["shouldEndSession"] is True


def test_a_name_is_escaped_for_ssml(ask):
    response = ask("hello.json", intent="HelloWorldIntent", slots={"name": "Tom & <Jerry>"})
    assert speech(response) == strings()["hello_name"].format(name="Tom &amp; &lt;Jerry&gt;")


def test_help(ask):
    response = ask("help.json")
    assert speech(response) == strings()["help"]
    assert reprompt(response) == strings()["help_reprompt"]
    assert response["shouldEndSession"] is False


@pytest.mark.parametrize("event_name", ["stop.json", "cancel.json"])
def test_stop_and_cancel_say_goodbye_and_end(ask, event_name):
    response = ask(event_name)
    assert speech(response) == strings()["goodbye"]
    assert reprompt(response) is None
    assert response["shouldEndSession"] is True


def test_fallback_says_what_the_skill_can_do(ask):
    response = ask("fallback.json")
    assert speech(response) == strings()["fallback"]
    assert reprompt(response) == strings()["help_reprompt"]
    assert response["shouldEndSession"] is False


def test_navigate_home_goes_back_to_the_welcome(ask):
    response = ask("navigate-home.json")
    assert speech(response) == strings()["welcome"]
    assert reprompt(response) == strings()["welcome_reprompt"]
    assert response["shouldEndSession"] is False


def test_an_intent_without_a_handler_is_reflected(ask, caplog):
    caplog.set_level("WARNING")
    response = ask("help.json", intent="OrderPizzaIntent")
    assert speech(response) == strings()["reflect"].format(intent="OrderPizzaIntent")
    assert reprompt(response) == strings()["help_reprompt"]
    assert response["shouldEndSession"] is False
    assert any(getattr(record, "intent", None) == "OrderPizzaIntent" for record in caplog.records)


def test_session_end_gets_an_empty_response(ask):
    response = ask("session-ended.json")
    assert "outputSpeech" not in response
    assert "reprompt" not in response
    assert "shouldEndSession" not in response


def test_a_session_ended_by_an_error_logs_the_error(handler, lambda_context, load_event, caplog):
    event = load_event("session-ended.json")
    event["request"]["reason"] = "ERROR"
    event["request"]["error"] = {"type": "INVALID_RESPONSE", "message": "The response is invalid"}
    caplog.set_level("INFO")
    assert handler(event, lambda_context)["response"] == {}
    (record,) = [record for record in caplog.records if record.getMessage() == "session ended"]
    assert (record.reason, record.error_type, record.error_message) == (
        "ERROR",
        "INVALID_RESPONSE",
        "The response is invalid",
    )


def test_a_request_for_another_skill_is_refused_without_speech(handler, lambda_context, load_event, caplog):
    event = load_event("launch.json")
    other = "amzn1.ask.skill.11111111-2222-3333-4444-555555555555"
    event["session"]["application"]["applicationId"] = other
    event["context"]["System"]["application"]["applicationId"] = other
    with pytest.raises(AskSdkException, match="Skill ID Verification failed"):
        handler(event, lambda_context)
    assert any(getattr(record, "application_id", None) == other for record in caplog.records)


def test_a_handler_that_raises_gets_a_spoken_apology(ask, handler, monkeypatch, caplog):
    module = sys.modules[handler.__module__]

    def broken(self, handler_input):
        raise RuntimeError("the database is down")

    monkeypatch.setattr(module.HelloWorldIntentHandler, "handle", broken)
    caplog.set_level("ERROR")
    response = ask("hello.json")
    assert speech(response) == strings()["error"]
    assert reprompt(response) == strings()["help_reprompt"]
    assert response["shouldEndSession"] is False
    (record,) = [record for record in caplog.records if record.getMessage() == "request failed"]
    assert record.alexa_request_id.startswith("amzn1.echo-api.request.")
    assert "the database is down" in caplog.text


def test_requests_are_logged_without_personal_data(ask, caplog):
    caplog.set_level("INFO")
    ask("hello.json")
    (request,) = [record for record in caplog.records if record.getMessage() == "alexa request"]
    assert (request.request_type, request.intent, request.slots) == ("IntentRequest", "HelloWorldIntent", ["name"])
    assert "Ada" not in caplog.text
    assert "LOCALTESTUSER" not in caplog.text
    (answer,) = [record for record in caplog.records if record.getMessage() == "alexa response"]
    assert answer.should_end_session is True


def test_an_unknown_locale_falls_back_to_its_language_or_the_default(ask):
    language = DEFAULT_LOCALE.split("-")[0]
    assert speech(ask("launch.json", locale=f"{language}-ZZ")) == strings()["welcome"]
    assert speech(ask("launch.json", locale="xx-XX")) == strings()["welcome"]

{%- if cookiecutter.locales | length > 1 %}


@pytest.mark.parametrize("locale", {{ cookiecutter.locales[1:] | list | tojson }})
def test_dialog_in_each_other_locale(ask, locale):
    """Launch, greet a name, stop: every answer in the locale's own language."""
    texts = strings(locale)
    # Another language speaks its own words, not English copies.
    assert (texts == strings()) is (locale.split("-")[0] == DEFAULT_LOCALE.split("-")[0])
    launch = ask("launch.json", locale=locale)
    assert (speech(launch), reprompt(launch)) == (texts["welcome"], texts["welcome_reprompt"])
    hello = ask("hello.json", locale=locale)
    assert (speech(hello), hello["shouldEndSession"]) == (texts["hello_name"].format(name="Ada"), True)
    stop = ask("stop.json", locale=locale)
    assert (speech(stop), stop["shouldEndSession"]) == (texts["goodbye"], True)
{%- endif %}
