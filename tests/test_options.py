"""Option parsing and validation: every rule a user's answer meets before anything is written."""

from __future__ import annotations

import pytest

from generator.errors import InvalidOption, InvalidProjectName
from generator.options import (
    Question,
    check_env,
    check_handler,
    check_project_name,
    parse_pairs,
    question_from_manifest,
    runtime_questions,
)


def runtime_question(name: str) -> Question:
    return next(question for question in runtime_questions() if question.name == name)


@pytest.mark.parametrize("name", ["my-api", "a", "api2", "image-resize-prod"])
def test_project_names_that_are_slugs_pass(name):
    assert check_project_name(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("My_Api", "not a slug"),
        ("2api", "not a slug"),
        ("my--api", "not a slug"),
        ("api-", "not a slug"),
        ("x" * 49, "has 49 characters; this blueprint allows at most 48"),
        ("../evil", "not a path"),
        ("a/b", "not a path"),
        ("..", "not a path"),
        ("", "the project name is empty"),
    ],
)
def test_bad_project_names_are_refused_with_the_fix(name, message):
    with pytest.raises(InvalidProjectName, match=message):
        check_project_name(name)


@pytest.mark.parametrize(("value", "expected"), [("128", 128), (10240, 10240), (" 512 ", 512)])
def test_memory_within_lambda_limits(value, expected):
    assert runtime_question("memory").convert(value) == expected


@pytest.mark.parametrize("value", ["127", "10241", "0", "-5"])
def test_memory_outside_lambda_limits(value):
    with pytest.raises(InvalidOption, match=r"memory must be between 128 and 10240 MB, Lambda's limits"):
        runtime_question("memory").convert(value)


@pytest.mark.parametrize("value", ["0", "901"])
def test_timeout_outside_lambda_limits(value):
    with pytest.raises(InvalidOption, match=r"timeout must be between 1 and 900 seconds"):
        runtime_question("timeout").convert(value)


def test_non_numbers_are_refused():
    with pytest.raises(InvalidOption, match="whole number"):
        runtime_question("memory").convert("lots")


@pytest.mark.parametrize(
    ("runtime", "date"), [("python3.11", "2026-06-30"), ("python3.10", "2026-06-30"), ("python3.9", "2025-12-15")]
)
def test_deprecated_runtimes_are_refused_with_their_date(runtime, date):
    with pytest.raises(InvalidOption, match=f"{runtime} was deprecated on {date}.*python3.12, python3.13"):
        runtime_question("runtime").convert(runtime)


def test_unknown_runtime():
    with pytest.raises(InvalidOption, match="not supported"):
        runtime_question("runtime").convert("nodejs22.x")


@pytest.mark.parametrize("handler", ["lambda_function.lambda_handler", "app.main", "handlers.api.get"])
def test_valid_handlers(handler):
    check_handler(handler)


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        ("lambda_handler", "module.function"),
        ("app.", "module.function"),
        ("my-app.main", "module.function"),
        ("app.class", "module.function"),
        ("json.handler", "shadow"),
        ("sys.handler", "shadow"),
        ("boto3.main", "shadow"),
    ],
)
def test_invalid_handlers(handler, message):
    with pytest.raises(InvalidOption, match=message):
        check_handler(handler)


def test_environment_rules():
    check_env({"TABLE_NAME": "orders", "LOG_SAMPLE": "0.1"})
    with pytest.raises(InvalidOption, match="reserved by Lambda"):
        check_env({"AWS_REGION": "eu-west-1"})
    with pytest.raises(InvalidOption, match="not valid"):
        check_env({"1BAD": "x"})
    with pytest.raises(InvalidOption, match="Lambda allows 4096"):
        check_env({"BIG": "x" * 4100})


def test_pairs_need_an_equals_sign():
    assert parse_pairs(["a=1", "b=x=y", "c="], "--set") == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(InvalidOption, match="write it as --env KEY=VALUE"):
        parse_pairs(["novalue"], "--env")
    with pytest.raises(InvalidOption, match="malformed"):
        parse_pairs(["=1"], "--set")


def test_bool_and_list_questions():
    flag = Question("tracing", "bool", False)
    assert flag.convert("yes") is True
    assert flag.convert("off") is False
    with pytest.raises(InvalidOption, match="yes or no"):
        flag.convert("maybe")
    sizes = Question("sizes", "list", ["128x128"], pattern=r"\d+x\d+", pattern_help="use WIDTHxHEIGHT")
    assert sizes.convert("128x128, 640x480") == ["128x128", "640x480"]
    with pytest.raises(InvalidOption, match="use WIDTHxHEIGHT"):
        sizes.convert("128x128,big")


def test_manifest_questions_are_checked_strictly():
    question = question_from_manifest({"name": "greeting", "default": "Hi", "pattern": "[A-Z][a-z]+"}, "m.yaml")
    assert question.type == "str"
    with pytest.raises(InvalidOption, match="unknown keys"):
        question_from_manifest({"name": "x", "default": 1, "defualt": 2}, "m.yaml")
    with pytest.raises(InvalidOption, match="needs a default"):
        question_from_manifest({"name": "x"}, "m.yaml")
    with pytest.raises(InvalidOption, match="type 'float'"):
        question_from_manifest({"name": "x", "type": "float", "default": 1}, "m.yaml")
    with pytest.raises(InvalidOption, match="is not valid"):
        question_from_manifest({"name": "x", "default": "lower", "pattern": "[A-Z]+"}, "m.yaml")
