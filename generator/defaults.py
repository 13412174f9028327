"""Layered answers: flags > `--set` > preset > config defaults > blueprint defaults > slsgen's defaults.

The config file's defaults and a preset's values become the blueprint's question defaults (`apply`), so they are
also what a prompt offers; flags and `--set` are answers. Each value is checked by its question as it is
applied, and a bad one is reported with the config file's line. A configured key that the blueprint does not
ask is left unused (one config file serves every blueprint); `slsgen config show` lists it as such.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .blueprints import Blueprint
from .errors import ConfigInvalid, InvalidOption
from .options import parse_pairs
from .userconfig import UserConfig, Value


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
        elif question.name in blueprint.runtime_defaults or question in blueprint.questions:
            rows.append(Effective(question.name, question.default, f"blueprint {blueprint.name}"))
        else:
            rows.append(Effective(question.name, question.default, "slsgen default"))
    asked = {row.name for row in rows}
    rows += [
        Effective(name, item.value, f"{item.origin}, not asked by {blueprint.name}")
        for name, item in values.items()
        if name not in asked
    ]
    return rows
