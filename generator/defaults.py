"""Layered answers: flags > `--set` > preset > config defaults > blueprint defaults > slsgen's defaults.

The config file's defaults and a preset's values become the blueprint's question defaults (`apply`), so they are
also what a prompt offers; flags and `--set` are answers. Each value is checked by its question as it is
applied, and a bad one is reported with the config file's line. A configured key that the blueprint does not
ask is left unused (one config file serves every blueprint); `slsgen config show` lists it as such. But a key
close to one of the blueprint's questions (`memroy`) is most likely a typo: it gets a warning naming the question
(a warning, not an error, since the same key may be another blueprint's question); and in the blueprint's own
table (`[defaults.hello-world]`), where it can be meant for no other, an unknown key is an error. `env` tables
hold environment variables (`env.KEY` answers), under `--env`.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from .blueprints import Blueprint
from .errors import ConfigInvalid, InvalidOption
from .options import check_env, parse_pairs
from .userconfig import ENV_KEY, UserConfig, Value


@dataclass(frozen=True)
class Effective:
    """One answer as `slsgen config show` prints it: its value and where it came from."""

    name: str
    value: Any
    origin: str


def configured(config: UserConfig, blueprint: str, preset: str | None) -> dict[str, Value]:
    """The config's values for `blueprint`: defaults, its own defaults table, then the preset's (later wins)."""
    values = {**config.defaults, **config.blueprint_defaults.get(blueprint, {})}
    if preset is not None:
        if preset not in config.presets:
            known = ", ".join(sorted(config.presets)) or f"none yet: add a [presets.{preset}] table"
            raise InvalidOption(f"unknown preset {preset!r} in {config.path}; presets: {known}")
        preset_values = {
            **config.presets[preset],
            **config.preset_blueprint_defaults.get(preset, {}).get(blueprint, {}),
        }
        for key, item in preset_values.items():
            values[key] = Value(item.value, f"preset {preset} ({item.origin})")
    return values


def apply(blueprint: Blueprint, values: Mapping[str, Value]) -> Blueprint:
    """The blueprint with `values` as its defaults; a value its question refuses is a config error, one line."""
    runtime_names = {question.name for question in blueprint.all_questions()} - {q.name for q in blueprint.questions}
    runtime_defaults = dict(blueprint.runtime_defaults)
    questions = list(blueprint.questions)
    for name, item in values.items():
        try:
            if name in runtime_names:
                question = next(q for q in blueprint.all_questions() if q.name == name)
                runtime_defaults[name] = question.convert(item.value)
            elif any(question.name == name for question in questions):
                questions = [
                    dataclasses.replace(question, default=item.value) if question.name == name else question
                    for question in questions
                ]
        except InvalidOption as exc:
            raise ConfigInvalid(f"{item.origin}: {name}: {exc}") from None
    return dataclasses.replace(blueprint, runtime_defaults=runtime_defaults, questions=questions)


def answers(flags: Mapping[str, Any], set_pairs: list[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The command line's answers (flags win over `--set`), and the origin of each."""
    given: dict[str, Any] = dict(parse_pairs(set_pairs, "--set"))
    origins = dict.fromkeys(given, "--set")
    for key, value in flags.items():
        if value is not None:
            given[key] = value
            origins[key] = f"flag --{ {'architecture': 'arch'}.get(key, key).replace('_', '-') }"
    return given, origins


def effective(
    blueprint: Blueprint, config: UserConfig, preset: str | None, flags: Mapping[str, Any], set_pairs: list[str]
) -> list[Effective]:
    """Every question's value for `slsgen config show`, and configured keys the blueprint does not ask."""
    values = configured(config, blueprint.name, preset)
    layered = apply(blueprint, values)
    given, origins = answers(flags, set_pairs)
    rows = []
    for question in layered.all_questions():
        if question.name in given:
            rows.append(Effective(question.name, question.convert(given[question.name]), origins[question.name]))
        elif question.name in values:
            rows.append(Effective(question.name, question.default, values[question.name].origin))
        elif question.name in blueprint.defined_by:
            rows.append(Effective(question.name, question.default, f"blueprint {blueprint.defined_by[question.name]}"))
        else:
            rows.append(Effective(question.name, question.default, "slsgen default"))
    asked = {row.name for row in rows}
    check_keys(config, blueprint.name, preset, asked)
    return rows + unasked_rows(values, asked, blueprint.name)


def unasked_rows(values: Mapping[str, Value], asked: Collection[str], blueprint: str) -> list[Effective]:
    """`config show`'s rows for configured environment variables and for the keys `blueprint` does not ask."""
    environment(values)
    rows = []
    for name, item in values.items():
        if name.startswith(f"{ENV_KEY}."):
            rows.append(Effective(name, item.value, item.origin))
        elif name not in asked:
            hint = typo_hint(name, asked)
            rows.append(
                Effective(name, item.value, f"{item.origin}, not asked by {blueprint}{': ' + hint if hint else ''}")
            )
    return rows


def environment(values: Mapping[str, Value]) -> dict[str, str]:
    """The configured environment variables (`env = {...}` tables), checked as `--env` is, with their line."""
    env = {key.removeprefix(f"{ENV_KEY}."): item for key, item in values.items() if key.startswith(f"{ENV_KEY}.")}
    for name, item in env.items():
        try:
            check_env({name: item.value})
        except InvalidOption as exc:
            raise ConfigInvalid(f"{item.origin}: {ENV_KEY}.{name}: {exc}") from None
    result = {name: str(item.value) for name, item in env.items()}
    check_env(result)
    return result


def check_keys(config: UserConfig, blueprint: str, preset: str | None, asked: Collection[str]) -> list[str]:
    """Warnings for shared keys that look like typos of `asked` questions; ConfigInvalid for a key of the
    blueprint's own tables that it does not ask (see the module's docstring)."""
    own = [config.blueprint_defaults.get(blueprint, {})]
    shared = [config.defaults]
    if preset is not None and preset in config.presets:
        own.append(config.preset_blueprint_defaults.get(preset, {}).get(blueprint, {}))
        shared.append(config.presets[preset])
    for table in own:
        for key, item in table.items():
            if key not in asked and not key.startswith(f"{ENV_KEY}."):
                close = difflib.get_close_matches(key, list(asked), n=1)
                fix = f"did you mean {close[0]}?" if close else f"its questions: {', '.join(asked)}"
                raise ConfigInvalid(f"{item.origin}: {key}: {blueprint} has no question {key}; {fix}")
    warnings = []
    for table in shared:
        for key, item in table.items():
            hint = typo_hint(key, asked)
            if hint:
                warnings.append(f"{item.origin}: {key} is not a question of {blueprint} ({hint}); it is left unused")
    return warnings


def typo_hint(key: str, asked: Collection[str]) -> str | None:
    """`did you mean X?` when `key` is not asked but close to a question that is."""
    if key in asked or key.startswith(f"{ENV_KEY}."):
        return None
    close = difflib.get_close_matches(key, list(asked), n=1, cutoff=0.75)
    return f"did you mean {close[0]}?" if close else None
