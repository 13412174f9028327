"""Tests of {{ cookiecutter.handler }}: the handler is loaded as template.yaml names it (see conftest.py)."""

from __future__ import annotations
{% if cookiecutter.trigger == 'none' %}
{%- if cookiecutter.powertools %}
import json
import sys
{% endif %}
import pytest
{%- if cookiecutter.powertools %}


@pytest.fixture
def function(handler):
    """The handler's module: its Powertools logger."""
    return sys.modules[handler.__module__]
{%- endif %}


def test_greets_by_name(handler, lambda_context, load_event):
    assert handler(load_event("hello.json"), lambda_context) == {"message": "{{ cookiecutter.greeting }}, Ada!"}


def test_greets_the_world_without_a_name(handler, lambda_context, load_event):
    assert handler(load_event("hello-no-name.json"), lambda_context) == {
        "message": "{{ cookiecutter.greeting }}, World!"
    }


def test_accepts_names_in_any_alphabet(handler, lambda_context):
    assert handler({"name": " José-María "}, lambda_context)["message"].endswith(", José-María!")


@pytest.mark.parametrize("name", ["", "<script>", "Ada,Grace", "R2D2", "x" * 65, 42, None])
def test_rejects_a_bad_name(handler, lambda_context, name):
    with pytest.raises(ValueError, match="name must be"):
        handler({"name": name}, lambda_context)


@pytest.mark.parametrize("event", [[], "Ada", 3])
def test_rejects_an_event_that_is_not_an_object(handler, lambda_context, event):
    with pytest.raises(ValueError, match="JSON object"):
        handler(event, lambda_context)


{%- if cookiecutter.powertools %}
def test_logs_one_structured_line_and_counts_the_greeting(handler, lambda_context, function, capsys, monkeypatch):
    monkeypatch.setattr(function.logger.registered_handler, "stream", sys.stdout)  # capsys's, for this test
    handler({"name": "Ada"}, lambda_context)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    (greeting,) = [line for line in lines if line.get("message") == "greeting"]
    assert (greeting["name_length"], greeting["function_request_id"]) == (3, lambda_context.aws_request_id)
    (published,) = [line for line in lines if "Greetings" in line]
    assert published["Greetings"] == [1.0]
{%- else %}
def test_logs_one_structured_line(handler, lambda_context, caplog):
    caplog.set_level("INFO")
    handler({"name": "Ada"}, lambda_context)
    (record,) = [record for record in caplog.records if record.getMessage() == "greeting"]
    assert record.name_length == 3
{%- endif %}
{%- else %}
import json
{%- if cookiecutter.powertools %}
import sys
{%- endif %}

import pytest
{%- if cookiecutter.powertools %}


@pytest.fixture
def function(handler):
    """The handler's module: its Powertools logger."""
    return sys.modules[handler.__module__]
{%- endif %}


def body(response):
    assert response["headers"]["content-type"] == "application/json"
    return json.loads(response["body"])


def test_greets_by_name(handler, lambda_context, load_event):
    response = handler(load_event("hello.json"), lambda_context)
    assert response["statusCode"] == 200
    assert body(response) == {"message": "{{ cookiecutter.greeting }}, Ada!"}

{% if cookiecutter.trigger == 'http-api' %}
def test_greets_the_world_without_a_name(handler, lambda_context, load_event):
    response = handler(load_event("hello-no-name.json"), lambda_context)
    assert response["statusCode"] == 200
    assert body(response) == {"message": "{{ cookiecutter.greeting }}, World!"}

{% endif %}
def test_bad_query_gets_a_400_json_error(handler, lambda_context, load_event):
    response = handler(load_event("bad-query.json"), lambda_context)
    assert response["statusCode"] == 400
    assert "name must be" in body(response)["error"]


@pytest.mark.parametrize("name", ["José", "Mary-Jane", "O'Brien", "Dr. Who", "张伟"])
def test_accepts_names_in_any_alphabet(handler, lambda_context, load_event, name):
    event = load_event("hello.json")
    event["queryStringParameters"] = {"name": name}
    response = handler(event, lambda_context)
    assert response["statusCode"] == 200
    assert body(response)["message"] == "{{ cookiecutter.greeting }}, " + name + "!"


@pytest.mark.parametrize("name", ["", "   ", "<b>", "Ada,Grace", "R2D2", "x" * 65, "Ada  Lovelace"])
def test_rejects_bad_names(handler, lambda_context, load_event, name):
    event = load_event("hello.json")
    event["queryStringParameters"] = {"name": name}
    response = handler(event, lambda_context)
    assert response["statusCode"] == 400
    assert set(body(response)) == {"error"}


def test_other_methods_get_a_405(handler, lambda_context, load_event):
    event = load_event("hello.json")
    event["requestContext"]["http"]["method"] = "POST"
    response = handler(event, lambda_context)
    assert response["statusCode"] == 405
    assert response["headers"]["allow"] == "GET"

{% if cookiecutter.trigger == 'function-url' %}
def test_other_paths_get_a_404(handler, lambda_context, load_event):
    event = load_event("hello.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/admin"
    assert handler(event, lambda_context)["statusCode"] == 404


def test_wrong_method_event_gets_a_405(handler, lambda_context, load_event):
    assert handler(load_event("wrong-method.json"), lambda_context)["statusCode"] == 405

{% endif %}
{%- if cookiecutter.powertools %}
def test_logs_one_structured_line_and_counts_the_request(
    handler, lambda_context, load_event, function, capsys, monkeypatch
):
    monkeypatch.setattr(function.logger.registered_handler, "stream", sys.stdout)  # capsys's, for this test
    event = load_event("hello.json")
    handler(event, lambda_context)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    (greeting,) = [line for line in lines if line.get("message") == "greeting"]
    assert greeting["name_length"] == 3
    assert greeting["correlation_id"] == event["requestContext"]["requestId"]
    (published,) = [line for line in lines if "Greetings" in line]
    assert published["Greetings"] == [1.0]
{%- else %}
def test_logs_one_structured_line(handler, lambda_context, load_event, caplog):
    caplog.set_level("INFO")
    handler(load_event("hello.json"), lambda_context)
    (record,) = [record for record in caplog.records if record.getMessage() == "greeting"]
    assert record.name_length == 3
{%- endif %}
{%- endif %}
