"""End to end: generate alexa-skill projects, then run in each what its user runs, down to spoken answers.

Each case renders into a temporary folder and runs `ruff check`, `ruff format --check`, the project's own pytest
suite (dialog tests through `lambda_handler`, and the model check), `cfn-lint template.yaml` and the local runner on
every sample event, asserting what Alexa would say. Two cases go through the project's Makefile in a fresh virtual
environment on the runtime's own Python, with ask-sdk-core from PyPI. Refused answers (invocation names that break
Alexa's rules, unknown locales, a model the check refuses) exit 2 with one line and write nothing.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from lambda_runner.config.template import load_template

from helpers import check_project, function_properties, generate, invoke, refused, require_python, response, run

pytestmark = pytest.mark.e2e
EVENTS = {
    "events/launch.json": "welcome",
    "events/hello.json": "hello_name",
    "events/hello-no-name.json": "hello",
    "events/help.json": "help",
    "events/cancel.json": "goodbye",
    "events/stop.json": "goodbye",
    "events/fallback.json": "fallback",
    "events/navigate-home.json": "welcome",
    "events/session-ended.json": None,
}
ENDS_SESSION = {"hello_name": True, "hello": True, "goodbye": True, "welcome": False, "help": False, "fallback": False}
DEFAULT_SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000000"


def strings(project: Path, locale: str) -> dict[str, str]:
    return json.loads((project / "src" / "locales" / f"{locale}.json").read_text(encoding="utf-8"))


def spoken(answer: dict) -> str:
    return re.fullmatch(r"<speak>(.*)</speak>", answer["outputSpeech"]["ssml"], re.DOTALL).group(1)


def assert_every_event_is_answered(project: Path, locale: str) -> None:
    """The runner on every sample event: what `make invoke` runs, in the project's default locale."""
    texts = strings(project, locale)
    assert sorted(path.relative_to(project).as_posix() for path in (project / "events").glob("*.json")) == sorted(
        EVENTS
    )
    for event, key in EVENTS.items():
        answer = response(invoke(project, event))["response"]
        if key is None:  # SessionEndedRequest: Alexa takes no speech
            assert answer == {}
            continue
        assert spoken(answer) == escape(texts[key]).format(name="Ada"), event  # SSML: & is &amp;
        assert answer["shouldEndSession"] is ENDS_SESSION[key], event
        assert ("reprompt" in answer) is (not ENDS_SESSION[key]), event


def model(project: Path, locale: str) -> dict:
    path = project / "skill-package" / "interactionModels" / "custom" / f"{locale}.json"
    return json.loads(path.read_text(encoding="utf-8"))["interactionModel"]["languageModel"]


def test_default_project(tmp_path):
    project = generate(tmp_path, "alexa-skill", "hello-skill")
    # ruff, its tests (every AWS call allowed by its role) and cfn-lint: test_readmes' run of its CI commands
    assert_every_event_is_answered(project, "en-US")
    assert strings(project, "en-US")["welcome"].startswith("Welcome to Hello Helper.")

    props = function_properties(project, "SkillFunction")
    assert (props["MemorySize"], props["Timeout"], props["Handler"]) == (256, 8, "lambda_function.lambda_handler")
    assert props["Events"] == {"AlexaSkill": {"Type": "AlexaSkill", "Properties": {"SkillId": {"Ref": "SkillId"}}}}
    assert props["Environment"]["Variables"]["SKILL_ID"] == {"Ref": "SkillId"}
    template = load_template(project / "template.yaml")
    assert template["Parameters"]["SkillId"]["Default"] == DEFAULT_SKILL_ID
    assert template["Outputs"]["SkillEndpoint"]["Value"] == {"Fn::GetAtt": ["SkillFunction", "Arn"]}
    events = [json.loads(path.read_text()) for path in (project / "events").glob("*.json")]
    assert {event["context"]["System"]["application"]["applicationId"] for event in events} == {DEFAULT_SKILL_ID}

    # The ASK CLI v2 layout, one locale.
    models = project / "skill-package/interactionModels/custom"
    assert sorted(path.name for path in models.iterdir()) == ["en-US.json"]
    assert model(project, "en-US")["invocationName"] == "hello helper"
    manifest = json.loads((project / "skill-package/skill.json").read_text())["manifest"]
    listing = manifest["publishingInformation"]["locales"]["en-US"]
    assert listing["name"] == "Hello Helper"
    assert listing["examplePhrases"][0] == "Alexa, open hello helper"
    assert manifest["apis"]["custom"]["endpoint"]["uri"].endswith(":function:hello-skill")
    resources = json.loads((project / "ask-resources.json").read_text())
    assert resources["profiles"]["default"]["skillMetadata"] == {"src": "./skill-package"}
    assert '"ask-sdk-core>=1.19,<2",' in (project / "pyproject.toml").read_text()  # the function's dependencies
    assert not (project / "l10n.jinja").exists()

    # The model check, as `make check-model` runs it.
    check = run([sys.executable, "scripts/check_model.py"], project)
    assert check.stdout.strip() == "model check passed: 1 locale"


def test_several_locales_another_handler_and_python312(tmp_path):
    locales = ["de-DE", "en-US", "en-GB", "fr-FR", "es-ES", "ja-JP", "pt-BR"]
    project = generate(
        tmp_path,
        "alexa-skill",
        "polyglot",
        "--set", f"locales={','.join(locales)}",
        "--set", "invocation_name=polyglot greeter",
        "--set", "skill_name=Tom & Jerry's Greeter",
        "--set", "skill_id=amzn1.ask.skill.12345678-abcd-4abc-8abc-1234567890ab",
        "--handler", "skill.main",
        "--runtime", "python3.12",
    )  # fmt: skip
    assert (project / "src/skill.py").is_file()
    check_project(project)  # includes one dialog per locale after the first
    assert_every_event_is_answered(project, "de-DE")  # the sample events speak the first locale
    hello = response(invoke(project, "events/hello.json"))["response"]
    assert spoken(hello) == "Hallo Ada! Schön, dich kennenzulernen."

    custom = project / "skill-package/interactionModels/custom"
    assert sorted(path.stem for path in custom.iterdir()) == sorted(locales)
    assert {model(project, locale)["invocationName"] for locale in locales} == {"polyglot greeter"}
    assert (
        "hallo {name}"
        in next(i for i in model(project, "de-DE")["intents"] if i["name"] == "HelloWorldIntent")["samples"]
    )
    welcomes = {locale: strings(project, locale)["welcome"] for locale in locales}
    assert welcomes["en-US"] == welcomes["en-GB"]
    assert len({welcomes[locale] for locale in locales}) == len(locales) - 1  # no English copies in other languages
    assert all("Tom & Jerry's Greeter" in welcome for welcome in welcomes.values())
    listing = json.loads((project / "skill-package/skill.json").read_text())["manifest"]["publishingInformation"]
    assert sorted(listing["locales"]) == sorted(locales)
    assert listing["locales"]["ja-JP"]["examplePhrases"][0] == "アレクサ、polyglot greeterを開いて"

    props = load_template(project / "template.yaml")
    assert props["Resources"]["SkillFunction"]["Properties"]["Handler"] == "skill.main"
    assert props["Parameters"]["SkillId"]["Default"] == "amzn1.ask.skill.12345678-abcd-4abc-8abc-1234567890ab"
    check = run([sys.executable, "scripts/check_model.py"], project)
    assert check.stdout.strip() == "model check passed: 7 locales"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("hello helper 2", "spell numbers out: '2' must be written as a word"),
        ("Hello Helper", "use lowercase letters, spaces, apostrophes and periods only"),
        ("hello-helper tips", "use lowercase letters, spaces, apostrophes and periods only"),
        ("helper", "use at least two words"),
        ("hello  helper", "use at least two words, separated by single spaces"),
        ("'hello helper", "use apostrophes only for possessives"),
        ("hello.world tips", "use periods only in abbreviations"),
        ("open sesame", "must not contain the launch word 'open'"),
        ("talk to me", "must not contain the launch word 'talk'"),
        ("please start helper", "must not contain the launch word 'start'"),
        ("salt and pepper", "must not contain the connecting word 'and'"),
        ("the oracle", "a two-word name must not have an article or a preposition"),
        ("bicycle for", "a two-word name must not have an article or a preposition"),
        ("echo chamber", "must not contain the wake word or reserved word 'echo'"),
        ("alexa's friend", "must not contain the wake word or reserved word 'alexa'"),
        ("weather app", "must not contain the wake word or reserved word 'app'"),
        ("fun skill", "must not contain the wake word or reserved word 'skill'"),
    ],
)
def test_invocation_names_breaking_alexas_rules_are_refused(tmp_path, name, message):
    line = refused(tmp_path, "alexa-skill", "--set", f"invocation_name={name}")
    assert line.startswith(f"error: invocation_name {name!r} is not valid: ")
    assert message in line


@pytest.mark.parametrize("name", ["molly's horoscope", "a.w.s. news digest", "the daily oracle"])
def test_valid_invocation_names_are_accepted(tmp_path, name):
    project = generate(tmp_path, "alexa-skill", "ok-skill", "--set", f"invocation_name={name}")
    assert model(project, "en-US")["invocationName"] == name


def test_the_longest_names_still_pass_lint(tmp_path):
    """Names go into JSON, Markdown and the store listing, never into a line of Python that could grow too long."""
    project = generate(
        tmp_path,
        "alexa-skill",
        "a" * 48,
        "--set", "skill_name=" + "Long Skill Name " * 3 + "Ab",
        "--set", "invocation_name=" + " ".join(["lengthy"] * 12),
        "--set", "locales=en-US,de-DE",
    )  # fmt: skip
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], project)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], project)
    run([sys.executable, "scripts/check_model.py"], project)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("locales=en-US,en-NZ", "locales must be one of ar-SA, de-DE, en-AU"),
        ("locales=english", "not 'english'"),
        ("skill_id=amzn1.ask.skill.123", "skill_id 'amzn1.ask.skill.123' is not valid: copy it from the developer"),
        ('skill_name=Say "hi"', "skill_name 'Say \"hi\"' is not valid"),
    ],
)
def test_bad_locales_skill_ids_and_names_are_refused(tmp_path, option, message):
    assert message in refused(tmp_path, "alexa-skill", "--set", option)


def test_a_model_the_check_refuses_is_never_written(tmp_path):
    """A team's blueprint adds an intent without a handler: the model check fails at generation time."""
    team = tmp_path / "team-skill"
    models = team / "skill-package" / "interactionModels" / "custom"
    models.mkdir(parents=True)
    (team / "blueprint.yaml").write_text(
        "name: team-skill\ntitle: Team skill\ndescription: alexa-skill with an order intent\nversion: 1.0.0\n"
        "extends: alexa-skill\n",
        encoding="utf-8",
    )
    (models / "model.json").write_text(
        textwrap.dedent(
            """\
            {"interactionModel": {"languageModel": {
              "invocationName": "{{ cookiecutter.invocation_name }}",
              "intents": [
                {"name": "AMAZON.CancelIntent", "samples": []}, {"name": "AMAZON.HelpIntent", "samples": []},
                {"name": "AMAZON.StopIntent", "samples": []}, {"name": "AMAZON.NavigateHomeIntent", "samples": []},
                {"name": "AMAZON.FallbackIntent", "samples": []},
                {"name": "HelloWorldIntent", "slots": [{"name": "name", "type": "AMAZON.FirstName"}],
                 "samples": ["hello", "say hello to {name}"]},
                {"name": "OrderPizzaIntent", "samples": ["order a pizza"]}]}}}
            """
        ),
        encoding="utf-8",
    )
    # a folder's blueprint is untrusted: the checks it inherits run in a project whose files it changes (--trust)
    line = refused(tmp_path, str(team), "--trust")
    assert line == (
        "error: blueprint team-skill: check scripts/check_model.py failed: model check failed: en-US: intent "
        "OrderPizzaIntent has no handler in src/ (is_intent_name('OrderPizzaIntent')); nothing was written"
    )


def test_makefile_in_a_fresh_venv_on_another_runtime_python(tmp_path):
    """`make install lint test validate invoke check-model` as a new user runs them, ask-sdk-core from PyPI (the
    default runtime's run is test_ci_files's).

    The bytecode cache stays off (PYTHONDONTWRITEBYTECODE=1), as on a clean checkout: ask-sdk-model's invalid
    escape sequences must not fail the project's warnings-as-errors test run.
    """
    runtime = "python3.12"
    version = runtime.removeprefix("python")
    require_python(version)
    project = generate(tmp_path, "alexa-skill", "fresh-skill", "--runtime", runtime, "--set", "locales=en-US,fr-FR")
    outputs = {}
    for target in ("install", "lint", "test", "validate", "invoke", "check-model"):
        outputs[target] = run(["make", target], project, timeout=600, env={"PYTHONDONTWRITEBYTECODE": "1"}).stdout
    assert outputs["invoke"].count("== events/") == len(EVENTS)
    assert "Hello, Ada! Nice to meet you." in outputs["invoke"]
    assert re.search(r"\b\d+ passed\b", outputs["test"])
    assert "model check passed: 2 locales" in outputs["check-model"]
    version_out = run([str(project / ".venv/bin/python"), "--version"], project).stdout
    assert version_out.startswith(f"Python {version}.")
