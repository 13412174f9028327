"""The blueprint manifest (`blueprint.yaml`) as typed dataclasses, checked entry by entry when it loads.

Every entry is parsed by `typed.parse`, so that a malformed one is refused with one line naming the file, the
entry and the fix, before anything renders; the same classes give the JSON Schema published as
`blueprint.schema.json` (`python -m generator.manifest` prints it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import settings
from .errors import BlueprintInvalid
from .options import MAX_NAME_LENGTH, Constraint, Question
from .typed import json_schema, parse

NAME = re.compile(r"^[a-z][a-z0-9-]*$")
VERSION = re.compile(r"^\d+\.\d+\.\d+([.-]?\w+)?$")
SCHEMA_FILE = "blueprint.schema.json"
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when PyYAML was built with it


def _relative(path: str, what: str) -> None:
    """Refuse a path that could leave the project: absolute, or with `..`."""
    if not path or path.startswith(("/", "\\")) or ".." in Path(path).parts:
        raise ValueError(f"{what} {path!r} must be a relative path inside the project, without '..'")


@dataclass(frozen=True, kw_only=True)
class Event:
    """A sample event file: built by the runner's event builder `source`/`kind` with `fields`, or a `literal`."""

    file: str = field(metadata={"help": "path of the event in the project, e.g. events/get.json"})
    source: str | None = field(default=None, metadata={"help": "event source, as in `slsgen event SOURCE KIND`"})
    kind: str | None = None
    fields: dict[str, Any] = field(default_factory=dict, metadata={"help": "builder fields (Jinja templates)"})
    literal: Any = field(default=None, metadata={"help": "the event itself, instead of source and kind"})
    when: str | None = field(default=None, metadata={"help": "Jinja expression: write the file only when true"})

    def __post_init__(self) -> None:
        _relative(self.file, "file")
        if (self.source is None or self.kind is None) == (self.literal is None):
            raise ValueError("an event needs either source and kind (with optional fields), or literal")


@dataclass(frozen=True, kw_only=True)
class Exclude:
    """Files left out of the project: those matching `path` (a glob), when `when` holds (always without it)."""

    path: str = field(metadata={"help": "glob relative to the project root, e.g. docs/*"})
    when: str | None = None


@dataclass(frozen=True, kw_only=True)
class Repeat:
    """One file per item of a list answer: `source` rendered with the item as `as`, written to `target`."""

    source: str = field(metadata={"help": "template file of the blueprint, not rendered by itself"})
    for_each: str = field(metadata={"help": "name of a list question"})
    alias: str = field(metadata={"key": "as", "help": "the item's variable name in source and target"})
    target: str = field(metadata={"help": "Jinja template of the output path"})
    when: str | None = None

    def __post_init__(self) -> None:
        _relative(self.source, "source")


@dataclass(frozen=True, kw_only=True)
class Check:
    """A Python script of the rendered project, run with slsgen's Python in the project's root before it is
    moved into place; a non-zero exit refuses the generation with the script's last line."""

    run: str = field(metadata={"help": "path of a .py file of the rendered project"})
    help: str = field(default="", metadata={"help": "what the check makes sure of"})

    def __post_init__(self) -> None:
        _relative(self.run, "run")
        if not self.run.endswith(".py"):
            raise ValueError(f"run {self.run!r} must name a Python file (.py) of the project")


@dataclass(frozen=True, kw_only=True)
class Manifest:
    """A blueprint's `blueprint.yaml`."""

    name: str = field(metadata={"help": "lowercase slug", "schema": {"pattern": NAME.pattern}})
    title: str
    description: str
    version: str = field(metadata={"help": "semantic version, e.g. 1.2.0", "schema": {"pattern": VERSION.pattern}})
    trigger: str | None = field(default=None, metadata={"help": "what invokes the function, as `slsgen list` shows"})
    extends: str | None = field(default=None, metadata={"help": "a built-in blueprint name or a folder"})
    function_id: str | None = field(default=None, metadata={"help": "logical id of the function in template.yaml"})
    runtime: dict[str, Any] = field(default_factory=dict, metadata={"help": "defaults for the runtime settings"})
    dependencies: list[str] = field(
        default_factory=list,
        metadata={"help": "the function's requirements (each a Jinja template over the answers; empty: left out)"},
    )
    dev_dependencies: list[str] = field(
        default_factory=list, metadata={"help": "the project's test group (Jinja templates, as dependencies)"}
    )
    questions: list[Question] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    exclude: list[Exclude] = field(default_factory=list)
    repeat: list[Repeat] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list, metadata={"help": "cross-answer checks, in order"})
    checks: list[Check] = field(default_factory=list, metadata={"help": "scripts run in the rendered project"})
    next_steps: list[str] = field(default_factory=list)
    max_name_length: int = field(default=MAX_NAME_LENGTH, metadata={"help": "longest project name allowed"})

    def __post_init__(self) -> None:
        for key in ("name", "title", "description", "version"):
            if not getattr(self, key):
                raise ValueError(f"{key!r} is required and must be text")
        if not NAME.match(self.name):
            raise ValueError(f"name {self.name!r} must be lowercase letters, digits and hyphens")
        if not VERSION.match(self.version):
            raise ValueError(f"version {self.version!r} must look like 1.2.3")


def read_manifest(folder: Path) -> Manifest:
    """Load and check `folder/blueprint.yaml`; every problem is one BlueprintInvalid line naming the file."""
    path = folder / settings.MANIFEST_NAME
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise BlueprintInvalid(f"{path} is not valid YAML: {exc}".splitlines()[0]) from None
    except UnicodeDecodeError as exc:
        raise BlueprintInvalid(f"{path} is not UTF-8 text (offset {exc.start}): save it as UTF-8") from None
    if not isinstance(data, dict):
        raise BlueprintInvalid(f"{path} must be a mapping of manifest keys")
    return parse(Manifest, data, str(path))


def schema() -> dict[str, Any]:
    """The manifest's JSON Schema, for editors (`# yaml-language-server: $schema=...`) and for the tests."""
    return json_schema(Manifest, "slsgen blueprint manifest (blueprint.yaml)")


def schema_text() -> str:
    return json.dumps(schema(), indent=2) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
