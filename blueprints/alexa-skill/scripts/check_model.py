{% raw -%}
"""Check the skill's interaction models against its handlers and Alexa's rules: `python scripts/check_model.py`.

What it checks, for every model in skill-package/interactionModels/custom/:
- the invocation name is the same in every locale and follows Alexa's invocation-name requirements;
- the built-in intents every skill needs are there (help, cancel, stop, navigate home, fallback);
- every intent has a handler in src/ (an `is_intent_name("...")` there), unless it is listed below as deliberately
  left to the intent reflector;
- every `{slot}` a sample uses is declared by its intent, and every slot type is built in or defined;
- samples are unique in the model, and hold only letters, spaces, apostrophes, periods, hyphens and {slots};
- skill.json lists the same locales, and every locale has its spoken strings in src/locales/ with the same keys.

Stdlib only: slsgen runs it when it generates the project, and the project's tests run it again.
Exit status 0 when all is well; otherwise 1, with one line per problem and a summary as the last line.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import unicodedata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODELS = Path("skill-package/interactionModels/custom")
REQUIRED_INTENTS = (
    "AMAZON.CancelIntent",
    "AMAZON.HelpIntent",
    "AMAZON.StopIntent",
    "AMAZON.NavigateHomeIntent",
    "AMAZON.FallbackIntent",
)
# Intents you leave to IntentReflectorHandler on purpose while you build them; empty for a skill you publish.
DELIBERATELY_REFLECTED: frozenset[str] = frozenset()

# Alexa's invocation-name requirements, as developer.amazon.com states them ("Choose the Invocation Name for a
# Custom Skill", Invocation Name Requirements; launch phrases from "Understanding How Users Invoke Custom Skills").
# The same rules refuse a bad name when slsgen generates the project.
INVOCATION_RULES: tuple[tuple[str, str, bool], ...] = (
    # (pattern, message, True = must match the whole name / False = must not be found)
    (r"[0-9]", "spell numbers out ('{found}')", False),
    (r"[a-z .']+", "use lowercase letters, spaces, apostrophes and periods only", True),
    (r"[a-z.']+(?: [a-z.']+)+", "use at least two words, separated by single spaces", True),
    (r"(?<![a-z])'|'[a-z]{2,}", "use apostrophes only for possessives (molly's, james')", False),
    (r"(?:^|[^a-z])\.|[a-z]{2,}\.", "use periods only in abbreviations spelled letter by letter (a.w.s.)", False),
    (
        r"\b(?:ask|tell|open|launch|begin|load|play|resume|run|start|talk|use|enable|do)\b",
        "must not contain the launch word '{found}'",
        False,
    ),
    (r"\b(?:to|from|by|if|and|whether)\b", "must not contain the connecting word '{found}'", False),
    (
        r"^(?:(?:the|a|an|for|to|of) [a-z.']+|[a-z.']+ (?:the|a|an|for|to|of))$",
        "a two-word name must not have an article or a preposition (the, a, an, for, to, of) as a word",
        False,
    ),
    (r"\b(?:alexa|amazon|echo|computer|skill|app)\b", "must not contain the wake word or reserved word '{found}'", False),
)
SLOT_REFERENCE = re.compile(r"\{([^{}]*)\}")


def invocation_problem(name: str) -> str | None:
    """The first requirement `name` breaks, or None."""
    for pattern, message, must_match in INVOCATION_RULES:
        if must_match and not re.fullmatch(pattern, name):
            return message
        found = None if must_match else re.search(pattern, name)
        if found:
            return message.format(found=found.group(0))
    return None


def sample_problem(sample: str) -> str | None:
    """Why Alexa would refuse `sample` as written, or None."""
    if sample != sample.strip() or "  " in sample:
        return "has leading, trailing or double spaces"
    text = SLOT_REFERENCE.sub("", sample)
    for character in text:
        category = unicodedata.category(character)
        if category[0] == "N":
            return f"has the digit {character!r}: spell numbers out"
        if category[0] not in "LM" and character not in " .'-":
            return f"has {character!r}: samples hold letters, spaces, apostrophes, periods and hyphens only"
    if not text.strip() and not SLOT_REFERENCE.search(sample):
        return "is empty"
    return None


def handled_intents(source: Path) -> set[str]:
    """The intent names the code under `source` handles: every `is_intent_name("<name>")` call."""
    names: set[str] = set()
    for path in sorted(source.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "is_intent_name"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                names.add(node.args[0].value)
    return names


def model_problems(locale: str, model: dict[str, Any], handled: set[str]) -> list[str]:
    """What is wrong with one locale's interaction model."""
    problems: list[str] = []
    language_model = model.get("interactionModel", {}).get("languageModel", {})
    intents = language_model.get("intents") or []
    names = [intent.get("name") for intent in intents]
    for required in REQUIRED_INTENTS:
        if required not in names:
            problems.append(f"{locale}: the built-in intent {required} is missing")
    defined_types = {slot_type.get("name") for slot_type in language_model.get("types") or []}
    seen: dict[str, str] = {}
    for intent in intents:
        name = intent.get("name")
        if name not in handled and name not in DELIBERATELY_REFLECTED:
            problems.append(f"{locale}: intent {name} has no handler in src/ (is_intent_name({name!r}))")
        slots = {slot.get("name"): slot.get("type") for slot in intent.get("slots") or []}
        for slot, slot_type in slots.items():
            if not str(slot_type).startswith("AMAZON.") and slot_type not in defined_types:
                problems.append(f"{locale}: slot {slot} of {name} has type {slot_type}, neither built in nor defined")
        for sample in intent.get("samples") or []:
            problem = sample_problem(sample)
            if problem:
                problems.append(f"{locale}: sample {sample!r} of {name} {problem}")
            for used in SLOT_REFERENCE.findall(sample):
                if used not in slots:
                    problems.append(f"{locale}: sample {sample!r} of {name} uses {{{used}}}, which {name} does not declare")
            key = " ".join(sample.lower().split())
            if key in seen:
                problems.append(f"{locale}: sample {sample!r} of {name} repeats one of {seen[key]}")
            seen.setdefault(key, name)
    return problems


def problems(root: Path = ROOT) -> list[str]:
    """Every problem of the skill in `root`, in a stable order; empty when the skill is ready."""
    found: list[str] = []
    paths = sorted((root / MODELS).glob("*.json"))
    if not paths:
        return [f"no interaction model in {MODELS}/: add one <locale>.json per locale"]
    handled = handled_intents(root / "src")
    invocation_names: dict[str, str] = {}
    for path in paths:
        locale = path.stem
        try:
            model = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            found.append(f"{locale}: {MODELS / path.name} is not valid JSON: {exc}")
            continue
        invocation_names[locale] = model.get("interactionModel", {}).get("languageModel", {}).get("invocationName", "")
        found += model_problems(locale, model, handled)
    for name in sorted(set(invocation_names.values())):
        problem = invocation_problem(name)
        if problem:
            found.append(f"invocation name {name!r} is not valid: {problem}")
    if len(set(invocation_names.values())) > 1:
        found.append(f"the locales' invocation names differ: {invocation_names}")
    manifest = json.loads((root / "skill-package/skill.json").read_text(encoding="utf-8"))
    listed = set(manifest["manifest"]["publishingInformation"]["locales"])
    if listed != set(invocation_names):
        found.append(f"skill.json lists the locales {sorted(listed)}, the models are {sorted(invocation_names)}")
    strings = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in (root / "src/locales").glob("*.json")}
    keys = set().union(*(set(table) for table in strings.values())) if strings else set()
    for locale in sorted(invocation_names):
        if locale not in strings:
            found.append(f"{locale}: no spoken strings in src/locales/{locale}.json")
        elif set(strings[locale]) != keys:
            found.append(f"{locale}: src/locales/{locale}.json lacks {sorted(keys - set(strings[locale]))}")
    return found


def main() -> int:
    found = problems()
    for problem in found:
        print(problem, file=sys.stderr)
    if found:
        more = f" (and {len(found) - 1} more above)" if len(found) > 1 else ""
        print(f"model check failed: {found[0]}{more}", file=sys.stderr)
        return 1
    count = len(list((ROOT / MODELS).glob("*.json")))
    print(f"model check passed: {count} locale{'s' if count != 1 else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
{% endraw %}
