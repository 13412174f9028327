"""The model check (scripts/check_model.py) passes for this skill, and fails for the mistakes it exists to catch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from scripts import check_model

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "skill-package" / "interactionModels" / "custom"


def test_the_skill_passes_its_model_check():
    assert check_model.problems() == []


@pytest.fixture
def copy(tmp_path):
    """A copy of the skill's package and code, and its default locale's model to break."""
    for folder in ("skill-package", "src"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    path = sorted((tmp_path / "skill-package/interactionModels/custom").glob("*.json"))[0]
    return tmp_path, path, json.loads(path.read_text(encoding="utf-8"))


def intent(model, name):
    return next(item for item in model["interactionModel"]["languageModel"]["intents"] if item["name"] == name)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda model: intent(model, "HelloWorldIntent")["samples"].append("say hello to {friend}"), "does not declare"),
        (lambda model: intent(model, "HelloWorldIntent")["samples"].append("hello, world!"), "samples hold letters"),
        (lambda model: intent(model, "HelloWorldIntent")["samples"].append("say hello 2 times"), "spell numbers out"),
        (lambda model: model["interactionModel"]["languageModel"]["intents"].append({"name": "NewIntent"}), "no handler"),
        (lambda model: model["interactionModel"]["languageModel"]["intents"].pop(0), "AMAZON.CancelIntent is missing"),
        (lambda model: intent(model, "HelloWorldIntent")["slots"][0].update(type="FriendType"), "neither built in"),
        (
            lambda model: intent(model, "HelloWorldIntent")["samples"].append(intent(model, "HelloWorldIntent")["samples"][0].upper()),
            "repeats",
        ),
        (lambda model: model["interactionModel"]["languageModel"].update(invocationName="open sesame"), "launch word 'open'"),
    ],
)
def test_the_check_catches(copy, change, expected):
    root, path, model = copy
    change(model)
    path.write_text(json.dumps(model, ensure_ascii=False), encoding="utf-8")
    found = check_model.problems(root)
    assert any(expected in problem for problem in found), found


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("hello helper", None),
        ("molly's a.w.s. guide", None),
        ("Hello Helper", "lowercase letters"),
        ("helper", "at least two words"),
        ("hello 2 you", "spell numbers out ('2')"),
        ("ask the oracle", "launch word 'ask'"),
        ("talk to me", "launch word 'talk'"),
        ("salt and pepper", "connecting word 'and'"),
        ("the oracle", "a two-word name must not have an article"),
        ("quiz for", "a two-word name must not have an article"),
        ("the daily oracle", None),
        ("alexa's friend", "wake word or reserved word 'alexa'"),
        ("weather app", "wake word or reserved word 'app'"),
        ("my.helper tips", "periods only"),
    ],
)
def test_invocation_name_rules(name, expected):
    problem = check_model.invocation_problem(name)
    assert problem == expected if expected is None else expected in problem
