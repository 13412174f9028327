"""Blueprints are data: a `blueprint.yaml` manifest plus only the template files that differ from the skeleton.

A blueprint may `extend` another (a team's blueprint extends a built-in one): questions are merged by name (the
child's entry wins), runtime defaults are merged, dependencies, events and exclusions add up, and the template
files form layers — skeleton, then each blueprint from the base outwards — in which a later file replaces an
earlier one at the same path or `{% extends "<layer>/<path>" %}` it to change only some of its blocks.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import paths, settings
from .errors import BlueprintInvalid, BlueprintNotFound, InvalidOption
from .options import MAX_NAME_LENGTH, RESERVED_NAMES, Question, question_from_manifest, runtime_questions

MANIFEST_KEYS = {
    "name",
    "title",
    "description",
    "version",
    "trigger",
    "extends",
    "function_id",
    "runtime",
    "dependencies",
    "dev_dependencies",
    "questions",
    "events",
    "max_name_length",
    "repeat",
    "exclude",
    "next_steps",
}
REPEAT_KEYS = {"source", "for_each", "as", "target", "when"}
SKELETON_LAYER = "skeleton"
NAME = re.compile(r"^[a-z][a-z0-9-]*$")
VERSION = re.compile(r"^\d+\.\d+\.\d+([.-]?\w+)?$")


@dataclass(frozen=True)
class Layer:
    """One folder of template files, and the name under which later layers can `{% extends %}` its files."""

    name: str
    path: Path


@dataclass
class Blueprint:
    """A loaded blueprint with its `extends` chain already merged in."""

    name: str
    title: str
    description: str
    version: str
    trigger: str
    source: str
    function_id: str
    questions: list[Question]
    runtime_defaults: dict[str, Any]
    dependencies: list[str]
    dev_dependencies: list[str]
    events: list[dict[str, Any]]
    exclude: list[dict[str, Any]]
    next_steps: list[str]
    max_name_length: int = MAX_NAME_LENGTH
    repeat: list[dict[str, Any]] = field(default_factory=list)
    layers: list[Layer] = field(default_factory=list)

    def question(self, name: str) -> Question:
        return next(question for question in self.all_questions() if question.name == name)

    def all_questions(self) -> list[Question]:
        """slsgen's runtime questions (with this blueprint's defaults), then the blueprint's own."""
        merged = []
        for question in runtime_questions():
            if question.name in self.runtime_defaults:
                question.default = question.convert(self.runtime_defaults[question.name])
            merged.append(question)
        return merged + self.questions


def builtin_names() -> list[str]:
    root = paths.builtin_blueprints_dir()
    return sorted(child.name for child in root.iterdir() if (child / settings.MANIFEST_NAME).is_file())


def list_blueprints() -> list[Blueprint]:
    """Every built-in blueprint, loaded, in name order."""
    return [load_blueprint(name) for name in builtin_names()]


def locate(reference: str) -> tuple[Path, str]:
    """Find a blueprint folder: a built-in name, or a path to a folder holding a blueprint.yaml."""
    builtin = paths.builtin_blueprints_dir() / reference
    if NAME.match(reference) and (builtin / settings.MANIFEST_NAME).is_file():
        return builtin, f"builtin:{reference}"
    folder = Path(reference).expanduser()
    if (folder / settings.MANIFEST_NAME).is_file():
        return folder.resolve(), str(folder.resolve())
    if folder.is_dir():
        raise BlueprintNotFound(f"{reference} has no {settings.MANIFEST_NAME}: a blueprint folder needs a manifest")
    if "/" in reference or "\\" in reference or reference.startswith((".", "~")):
        raise BlueprintNotFound(
            f"blueprint folder {reference} not found: check the path (`slsgen list` shows the built-in ones)"
        )
    close = difflib.get_close_matches(reference, builtin_names(), n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"choose one of: {', '.join(builtin_names())}"
    raise BlueprintNotFound(f"unknown blueprint {reference!r}: {hint} (`slsgen list` shows them all)")


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / settings.MANIFEST_NAME
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BlueprintInvalid(f"{path} is not valid YAML: {exc}".splitlines()[0]) from None
    if not isinstance(data, dict):
        raise BlueprintInvalid(f"{path} must be a mapping of manifest keys")
    unknown = set(data) - MANIFEST_KEYS
    if unknown:
        raise BlueprintInvalid(f"{path}: unknown keys {sorted(unknown)}; known: {sorted(MANIFEST_KEYS)}")
    for key in ("name", "title", "description", "version"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise BlueprintInvalid(f"{path}: {key!r} is required and must be text")
    if not NAME.match(data["name"]):
        raise BlueprintInvalid(f"{path}: name {data['name']!r} must be lowercase letters, digits and hyphens")
    if not VERSION.match(data["version"]):
        raise BlueprintInvalid(f"{path}: version {data['version']!r} must look like 1.2.3")
    return data


def _merge_questions(inherited: list[Question], own: list[Question]) -> list[Question]:
    by_name = {question.name: question for question in inherited}
    order = [question.name for question in inherited]
    for question in own:
        if question.name not in by_name:
            order.append(question.name)
        by_name[question.name] = question
    return [by_name[name] for name in order]


def skeleton() -> Blueprint:
    """The base every blueprint extends in the end: the shared skeleton, with no questions of its own."""
    return Blueprint(
        name=SKELETON_LAYER,
        title="slsgen skeleton",
        description="The files every project shares.",
        version="1.0.0",
        trigger="none",
        source="builtin:skeleton",
        function_id="Function",
        questions=[],
        runtime_defaults={},
        dependencies=[],
        dev_dependencies=[],
        events=[],
        exclude=[],
        next_steps=[],
        layers=[Layer(SKELETON_LAYER, paths.skeleton_dir())],
    )


def load_blueprint(reference: str, _seen: tuple[str, ...] = ()) -> Blueprint:
    """Load a blueprint by name or folder, with its `extends` chain merged."""
    folder, source = locate(reference)
    if source in _seen:
        raise BlueprintInvalid(f"blueprint {reference!r} extends itself through {' -> '.join(_seen)}")
    data = read_manifest(folder)
    origin = str(folder / settings.MANIFEST_NAME)
    try:
        own_questions = [question_from_manifest(entry, origin) for entry in data.get("questions") or []]
    except InvalidOption as exc:
        raise BlueprintInvalid(str(exc)) from None
    for question in own_questions:
        if question.name in RESERVED_NAMES:
            raise BlueprintInvalid(f"{origin}: question name {question.name!r} is reserved by slsgen; rename it")
    runtime = data.get("runtime") or {}
    valid_runtime = {question.name for question in runtime_questions()}
    if set(runtime) - valid_runtime:
        raise BlueprintInvalid(f"{origin}: unknown runtime keys {sorted(set(runtime) - valid_runtime)}")

    parent = load_blueprint(str(data["extends"]), (*_seen, source)) if data.get("extends") else skeleton()
    own_files = {event.get("file") for event in data.get("events") or []}
    events = [event for event in parent.events if event.get("file") not in own_files] + list(data.get("events") or [])
    repeat = [*parent.repeat, *(data.get("repeat") or [])]
    for event in events:
        if "file" not in event or not ({"source", "kind"} <= set(event) or "literal" in event):
            raise BlueprintInvalid(
                f"{origin}: every event needs a file and either source and kind, or literal: {event}"
            )
    for rule in repeat:
        if set(rule) - REPEAT_KEYS or not {"source", "for_each", "as", "target"} <= set(rule):
            raise BlueprintInvalid(f"{origin}: a repeat rule needs source, for_each, as and target (and may have when)")
    blueprint = Blueprint(
        name=data["name"],
        title=data["title"],
        description=data["description"],
        version=data["version"],
        trigger=str(data.get("trigger") or parent.trigger),
        source=source,
        function_id=str(data.get("function_id") or parent.function_id),
        questions=_merge_questions(parent.questions, own_questions),
        runtime_defaults={**parent.runtime_defaults, **runtime},
        dependencies=[*parent.dependencies, *(data.get("dependencies") or [])],
        dev_dependencies=[*parent.dev_dependencies, *(data.get("dev_dependencies") or [])],
        events=events,
        exclude=[*parent.exclude, *(data.get("exclude") or [])],
        next_steps=list(data.get("next_steps") or parent.next_steps),
        max_name_length=min(int(data.get("max_name_length", MAX_NAME_LENGTH)), parent.max_name_length),
        repeat=repeat,
        layers=[*parent.layers, Layer(data["name"], folder)],
    )
    try:
        blueprint.all_questions()  # the manifest's runtime defaults must themselves be valid
    except InvalidOption as exc:
        raise BlueprintInvalid(f"{origin}: runtime default: {exc}") from None
    return blueprint
