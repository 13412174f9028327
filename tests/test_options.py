"""Option parsing and validation: every rule a user's answer meets before anything is written."""

from __future__ import annotations

import pytest

from generator.errors import BlueprintInvalid, InvalidOption, InvalidProjectName
from generator.options import (
    Question,
    check_env,
    check_handler,
    check_project_name,
    parse_pairs,
    runtime_questions,
)
from generator.typed import parse


def question_from_manifest(data, origin):
    return parse(Question, data, origin)


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


@pytest.mark.parametrize("handler", ["lambda_function.lambda_handler", "app.main", "handlers.get"])
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
        ("app.main.x", "names a module inside a package; .* e.g. app_main.x"),
        ("handlers.api.get", "names a module inside a package"),
        ("app.print", "would shadow Python's builtin print"),
        ("app.len", "builtin len"),
    ],
)
def test_invalid_handlers(handler, message):
    with pytest.raises(InvalidOption, match=message):
        check_handler(handler)


def test_environment_rules():
    check_env({"TABLE_NAME": "orders", "LOG_SAMPLE": "0.1"})
    with pytest.raises(InvalidOption, match="reserved by Lambda"):
        check_env({"AWS_REGION": "eu-west-1"})
    with pytest.raises(InvalidOption, match="'1BAD' must start with a letter"):
        check_env({"1BAD": "x"})
    with pytest.raises(InvalidOption, match="'ÉTÉ' must start with a letter"):
        check_env({"ÉTÉ": "x"})
    with pytest.raises(InvalidOption, match="'MY-KEY' may hold only letters, digits and _"):
        check_env({"MY-KEY": "x"})
    with pytest.raises(InvalidOption, match="'A' is too short: Lambda needs at least 2 characters"):
        check_env({"A": "x"})
    with pytest.raises(InvalidOption, match=r"'A\\n' may hold only"):
        check_env({"A\n": "x"})
    with pytest.raises(InvalidOption) as caught:
        check_env({"_HANDLER": "x"})
    assert str(caught.value) == (
        "environment variable _HANDLER is reserved by Lambda, and names start with a letter; choose another name"
    )
    with pytest.raises(InvalidOption, match="'_PRIVATE' must start with a letter"):
        check_env({"_PRIVATE": "x"})
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
    assert question_from_manifest({"name": "x", "choices": ["a", "b"], "default": "a"}, "m.yaml").type == "choice"
    with pytest.raises(BlueprintInvalid, match=r"m\.yaml: unknown key 'defualt'"):
        question_from_manifest({"name": "x", "default": 1, "defualt": 2}, "m.yaml")
    with pytest.raises(BlueprintInvalid, match="'default' is required"):
        question_from_manifest({"name": "x"}, "m.yaml")
    with pytest.raises(BlueprintInvalid, match="needs a default"):
        question_from_manifest({"name": "x", "default": None}, "m.yaml")
    with pytest.raises(BlueprintInvalid, match="type 'float'"):
        question_from_manifest({"name": "x", "type": "float", "default": 1}, "m.yaml")
    with pytest.raises(BlueprintInvalid, match="is not valid"):
        question_from_manifest({"name": "x", "default": "lower", "pattern": "[A-Z]+"}, "m.yaml")
    with pytest.raises(BlueprintInvalid, match="min must be a whole number, not '1'"):
        question_from_manifest({"name": "x", "type": "int", "default": 1, "min": "1"}, "m.yaml")
    with pytest.raises(BlueprintInvalid, match="not a valid regular expression"):
        question_from_manifest({"name": "x", "default": "a", "pattern": "[a-"}, "m.yaml")


INVOCATION_NAME = {
    "name": "invocation_name",
    "type": "str",
    "default": "hello helper",
    "rules": [
        {"match": "[a-z .']+", "message": "use lowercase letters, spaces, apostrophes and periods only"},
        {"reject": r"\b(alexa|amazon|echo|computer|skill|app)\b", "message": "must not contain the word '{found}'"},
    ],
}


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("Open Sesame", "invocation_name 'Open Sesame' is not valid: use lowercase letters"),
        ("ask 2 friends", "invocation_name 'ask 2 friends' is not valid: use lowercase letters"),
        ("open amazon helper", "invocation_name 'open amazon helper' is not valid: must not contain the word 'amazon'"),
        ("my skill", "must not contain the word 'skill'"),
    ],
)
def test_question_rules_are_checked_in_order_with_the_blueprints_words(answer, message):
    question = question_from_manifest(INVOCATION_NAME, "m.yaml")
    assert question.convert("space facts") == "space facts"
    assert question.convert("skilled helper") == "skilled helper"  # reject searches whole words here
    with pytest.raises(InvalidOption, match=message):
        question.convert(answer)


def test_show_describes_a_question_by_its_first_match_rule():
    question = question_from_manifest(INVOCATION_NAME, "m.yaml")
    assert question.describe_allowed() == "use lowercase letters, spaces, apostrophes and periods only"


def test_rules_apply_to_each_item_of_a_list_answer():
    locales = question_from_manifest(
        {"name": "names", "type": "list", "default": ["a"], "rules": [{"reject": "x+", "message": "no {found}"}]},
        "m.yaml",
    )
    assert locales.convert("a,b") == ["a", "b"]
    with pytest.raises(InvalidOption, match="names 'bxx' is not valid: no xx"):
        locales.convert("a,bxx")


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"message": "m"}, "exactly one of match or reject"),
        ({"match": "a", "reject": "b", "message": "m"}, "exactly one of match or reject"),
        ({"match": "a"}, "'message' is required"),
        ({"match": "(", "message": "m"}, "not a valid regular expression"),
        ({"match": "a", "message": "m", "when": "x"}, "unknown key 'when'"),
    ],
)
def test_malformed_rules_are_refused_when_the_manifest_loads(rule, message):
    with pytest.raises(BlueprintInvalid, match=message):
        question_from_manifest({"name": "x", "default": "a", "rules": [rule]}, "m.yaml")


def test_a_default_must_pass_the_rules():
    with pytest.raises(BlueprintInvalid, match="x 'A' is not valid: lowercase"):
        question_from_manifest(
            {"name": "x", "default": "A", "rules": [{"match": "[a-z]+", "message": "lowercase"}]}, ""
        )
