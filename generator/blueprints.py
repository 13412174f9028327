"""Blueprints are data: a `blueprint.yaml` manifest plus only the template files that differ from the skeleton.

A blueprint may `extend` another (a team's blueprint extends a built-in one): questions are merged by name (the
child's entry wins, with its rules), runtime defaults are merged, dependencies, events, exclusions, constraints and
checks add up, and the template files form layers — skeleton, then each blueprint from the base outwards — in
which a later file replaces an earlier one at the same path or `{% extends "<layer>/<path>" %}` it to change
only some of its blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import paths, settings, sources
from .errors import BlueprintInvalid, InvalidOption
from .expressions import check_syntax
from .manifest import Check, Event, Exclude, Manifest, Repeat, read_manifest
from .options import (
    MAX_NAME_LENGTH,
    RESERVED_NAMES,
    SETTINGS_CONSTRAINTS,
    Constraint,
    Question,
    check_constraints,
    runtime_questions,
)

SKELETON_LAYER = "skeleton"


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
    events: list[Event]
    exclude: list[Exclude]
    next_steps: list[str]
    max_name_length: int = MAX_NAME_LENGTH
    repeat: list[Repeat] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    layers: list[Layer] = field(default_factory=list)
    commit: str | None = None  # a git blueprint's: the commit fetched; with ref and directory, finds it again
    ref: str | None = None
    directory: str | None = None
    chain: list[str] = field(default_factory=list)  # the sources of the blueprints it extends, then its own
    # The blueprint of the chain that set each question's entry or runtime default (for `slsgen config show`).
    defined_by: dict[str, str] = field(default_factory=dict)

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

    def check_answers(self, answers: dict[str, Any]) -> None:
        """The rules across answers: slsgen's settings rules, then the blueprint's constraints, in order."""
        check_constraints([*SETTINGS_CONSTRAINTS, *self.constraints], answers)


def builtin_names() -> list[str]:
    return sources.builtin_names()


def list_blueprints() -> list[Blueprint]:
    """Every built-in blueprint, loaded, in name order."""
    return [load_blueprint(name) for name in builtin_names()]


@dataclass(frozen=True)
class Listed:
    """One row of `slsgen list`: a built-in or a configured (search-path) blueprint, and where it comes from."""

    name: str
    trigger: str
    description: str
    source: str


def catalog() -> list[Listed]:
    """The built-in blueprints, then the search path's (config file and SLSGEN_BLUEPRINTS), with their source."""
    rows = [Listed(b.name, b.trigger, b.description, "built-in") for b in list_blueprints()]
    problems: list[tuple[str, str]] = []
    for name, entry in sources.configured(problems):
        resolved = sources.resolve(entry)
        if resolved.kind == "cookiecutter":
            rows.append(Listed(name, "-", "cookiecutter template", entry))
            continue
        try:
            loaded = load_blueprint(resolved)
        except BlueprintInvalid as exc:
            rows.append(Listed(name, "-", f"invalid: {exc}", entry))
            continue
        rows.append(Listed(name, loaded.trigger, loaded.description, entry))
    return rows + [Listed("-", "-", f"unavailable: {why}", entry) for entry, why in problems]


def locate(reference: str) -> tuple[Path, str]:
    """Find a blueprint folder: a built-in name, a folder, a git repository or a search-path name."""
    resolved = sources.resolve(reference)
    return resolved.path, resolved.source


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
        exclude=[Exclude(path=path, when=when) for path, when in settings.SKELETON_EXCLUDE],
        next_steps=[],
        layers=[Layer(SKELETON_LAYER, paths.skeleton_dir())],
    )


def _check_manifest(manifest: Manifest, origin: str) -> None:
    """What the types cannot say: reserved question names, runtime keys, and expressions that compile."""
    for question in manifest.questions:
        if question.name in RESERVED_NAMES or question.name.startswith("_"):
            raise BlueprintInvalid(f"{origin}: question name {question.name!r} is reserved by slsgen; rename it")
    valid_runtime = {question.name for question in runtime_questions()}
    if set(manifest.runtime) - valid_runtime:
        raise BlueprintInvalid(f"{origin}: unknown runtime keys {sorted(set(manifest.runtime) - valid_runtime)}")
    expressions = [
        *((f"question {q.name!r} when", q.when) for q in manifest.questions),
        *((f"event {e.file!r} when", e.when) for e in manifest.events),
        *((f"exclude {x.path!r} when", x.when) for x in manifest.exclude),
        *((f"repeat {r.source!r} when", r.when) for r in manifest.repeat),
        *((f"constraint {c.message!r} require", c.require) for c in manifest.constraints),
    ]
    templates = [
        *((f"constraint {c.require!r} message", c.message) for c in manifest.constraints),
        *((f"repeat {r.source!r} target", r.target) for r in manifest.repeat),
    ]
    checked = [(what, text, False) for what, text in expressions if text is not None]
    for what, text, is_template in [*checked, *((what, text, True) for what, text in templates)]:
        try:
            check_syntax(text, template=is_template)
        except ValueError as exc:
            raise BlueprintInvalid(f"{origin}: {what}: {exc}".splitlines()[0]) from None


def load_blueprint(
    reference: str | sources.ResolvedSource,
    ref: str | None = None,
    directory: str | None = None,
    _seen: tuple[str, ...] = (),
) -> Blueprint:
    """Load a blueprint (a name, folder, git URL, or an already resolved source) with its `extends` chain merged.

    A relative `extends:` is found beside the extending blueprint first, so a repository of blueprints can
    extend each other whatever the user's current folder.
    """
    resolved = reference if isinstance(reference, sources.ResolvedSource) else None
    resolved = resolved or sources.resolve(str(reference), ref, directory)
    folder, source = resolved.path, resolved.source
    if resolved.kind != "slsgen":
        raise BlueprintInvalid(
            f"{reference} is a cookiecutter template, not an slsgen blueprint: `slsgen new` renders it as it is"
        )
    key = f"{source}#{resolved.directory or ''}"
    if key in _seen:
        raise BlueprintInvalid(f"blueprint {reference!r} extends itself through {' -> '.join(_seen)}")
    manifest = read_manifest(folder)
    origin = str(folder / settings.MANIFEST_NAME)
    _check_manifest(manifest, origin)

    if manifest.extends:
        parent = load_blueprint(sources.resolve_extends(manifest.extends, resolved), _seen=(*_seen, key))
    else:
        parent = skeleton()
    taken = next((layer for layer in parent.layers if layer.name == manifest.name), None)
    if taken is not None:
        whose = "slsgen's skeleton" if taken.name == SKELETON_LAYER else f"the blueprint it extends ({taken.path})"
        raise BlueprintInvalid(
            f"{origin}: name {manifest.name!r} is also the name of {whose}: templates reach each layer by its name "
            f'({{% extends "{manifest.name}/README.md" %}}), so the two cannot be told apart; rename this blueprint'
        )
    own_files = {event.file for event in manifest.events}
    blueprint = Blueprint(
        name=manifest.name,
        title=manifest.title,
        description=manifest.description,
        version=manifest.version,
        trigger=manifest.trigger or parent.trigger,
        source=source,
        commit=resolved.commit,
        ref=resolved.ref,
        directory=resolved.directory,
        chain=[*parent.chain, source],
        function_id=manifest.function_id or parent.function_id,
        questions=_merge_questions(parent.questions, manifest.questions),
        runtime_defaults={**parent.runtime_defaults, **manifest.runtime},
        dependencies=[*parent.dependencies, *manifest.dependencies],
        dev_dependencies=[*parent.dev_dependencies, *manifest.dev_dependencies],
        events=[event for event in parent.events if event.file not in own_files] + manifest.events,
        exclude=[*parent.exclude, *manifest.exclude],
        next_steps=manifest.next_steps or parent.next_steps,
        max_name_length=min(manifest.max_name_length, parent.max_name_length),
        repeat=[*parent.repeat, *manifest.repeat],
        constraints=[*parent.constraints, *manifest.constraints],
        checks=[*parent.checks, *manifest.checks],
        layers=[*parent.layers, Layer(manifest.name, folder)],
        defined_by={
            **parent.defined_by,
            **dict.fromkeys([question.name for question in manifest.questions], manifest.name),
            **dict.fromkeys(manifest.runtime, manifest.name),
        },
    )
    try:
        blueprint.all_questions()  # the manifest's runtime defaults must themselves be valid
    except InvalidOption as exc:
        raise BlueprintInvalid(f"{origin}: runtime default: {exc}") from None
    _check_repeats(blueprint, manifest.repeat, origin)
    return blueprint


def _check_repeats(blueprint: Blueprint, repeats: list[Repeat], origin: str) -> None:
    """A repeat names a list question of the merged blueprint and a template file one of its layers has."""
    lists = [question.name for question in blueprint.questions if question.type == "list"]
    for rule in repeats:
        if rule.for_each not in lists:
            choices = ", ".join(lists) or "none: add a question of type list"
            raise BlueprintInvalid(
                f"{origin}: repeat {rule.source!r}: for_each {rule.for_each!r} is not a list question ({choices})"
            )
        if not any((layer.path / rule.source).is_file() for layer in blueprint.layers):
            raise BlueprintInvalid(f"{origin}: repeat source {rule.source!r} is not a file of the blueprint")
