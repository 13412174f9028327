"""A generated project's records, read back: `.slsgen.json`, the snapshot `.slsgen/base.json.gz` and a pending
update's state, each checked field by field when it is read, as a manifest is.

A record is input like any other: a cloned project's `.slsgen.json` may have been edited by hand or by a tool,
damaged in a merge, or written by a newer slsgen. So it is parsed into the dataclasses below (`typed.parse`, the
manifest's parser) and every problem is one `RecordInvalid` line naming the file, the field and the fix, before
`update` acts on any of it. Callers keep the record as the mapping it is on disk (it is written back unchanged).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import settings, snapshot
from .errors import BlueprintInvalid, InvalidOption, NotAProject, RecordInvalid
from .options import check_project_name
from .placement import is_inside
from .sources import is_git
from .typed import parse

KINDS = ("slsgen", "cookiecutter")
COMMIT = re.compile(r"^[0-9a-f]{40}$")
DIGEST = re.compile(r"^[0-9a-f]{64}$")
LOGICAL_ID = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,254}$")
FIX = "restore it from version control (git checkout -- {name}), or regenerate with `slsgen new --force`"


@dataclass(frozen=True, kw_only=True)
class RecordedSource:
    """What generated the project: a blueprint (with its version) or a cookiecutter template, and where it is."""

    name: str
    source: str
    kind: str = "slsgen"
    version: str | None = None
    ref: str | None = None
    directory: str | None = None
    commit: str | None = None
    template: str | None = None  # a cookiecutter template's source as the user gave it (its `_template`)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if not self.name or not self.source:
            raise ValueError("name and source must be non-empty text")
        if not (is_git(self.source) or self.source.startswith("builtin:") or Path(self.source).is_absolute()):
            # a relative folder would be read from wherever `slsgen update` runs
            raise ValueError(f"source must be builtin:NAME, an absolute folder or a git URL, not {self.source!r}")
        if self.kind == "slsgen" and not self.version:
            raise ValueError("'version' is required for a blueprint")
        if self.commit is not None and not COMMIT.match(self.commit):
            raise ValueError(f"commit must be a full git commit id (40 hex digits), not {self.commit!r}")
        for key in ("ref", "directory"):
            value = getattr(self, key)
            if value is not None and (not value or value.startswith("-")):
                raise ValueError(f"{key} {value!r} must be a git ref or folder name, not empty or an option")


@dataclass(frozen=True, kw_only=True)
class FunctionRecord:
    """A function `slsgen add` added: its name (its folder, `functions/<name>/`), its logical id in template.yaml,
    and the blueprint and answers it was made from (what `slsgen update` renders it from again)."""

    name: str
    id: str
    blueprint: RecordedSource
    answers: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            check_project_name(self.name)
        except InvalidOption as exc:
            raise ValueError(f"name: {exc}") from None
        if not LOGICAL_ID.match(self.id):
            raise ValueError(f"id {self.id!r} must be a CloudFormation logical id (letters and digits)")
        if self.blueprint.kind != "slsgen":
            raise ValueError("blueprint: a function is made from an slsgen blueprint, not a cookiecutter template")


@dataclass(frozen=True, kw_only=True)
class Record:
    """A project's `.slsgen.json`: the blueprint the project was generated from, and the functions added since."""

    slsgen_version: str
    blueprint: RecordedSource
    project_name: str
    answers: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    functions: list[FunctionRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.blueprint.kind == "slsgen":
            try:
                check_project_name(self.project_name)
            except InvalidOption as exc:
                raise ValueError(f"project_name: {exc}") from None
            env = self.answers.get("env", {})
            if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
                raise ValueError(f"answers.env must be a mapping of variable names to text, not {env!r}")
        elif not self.project_name or not is_inside(self.project_name) or "/" in self.project_name:
            raise ValueError(f"project_name must be a folder name, not {self.project_name!r}")
        for relative, digest in self.files.items():
            if not is_inside(relative) or not DIGEST.match(digest):
                raise ValueError(f"files: {relative!r}: {digest!r} is not a path inside the project and its sha256")


@dataclass(frozen=True, kw_only=True)
class PendingState:
    """`.slsgen/pending/state.json`: the files an update left with conflicts, and those it removes on --continue."""

    conflicts: list[str]
    removed: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        outside = [path for path in [*self.conflicts, *self.removed] if not is_inside(path)]
        if outside:
            raise ValueError(f"{outside[0]!r} is not a path inside the project")


def load_json(path: Path, what: str) -> Any:
    """The JSON document in `path`; RecordInvalid when it cannot be read or parsed."""
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise RecordInvalid(f"{path} is not readable JSON ({exc}): {what}") from None


def parse_record(data: Any, path: Path, fix: str | None = None) -> dict[str, Any]:
    """Check a `.slsgen.json` document; return it as the mapping it is."""
    fix = fix or FIX.format(name=path.name)
    try:
        parse(Record, data, str(path))
    except BlueprintInvalid as exc:
        raise RecordInvalid(f"{exc}; {fix}") from None
    result: dict[str, Any] = data
    return result


def read_record(project: Path) -> dict[str, Any]:
    """The project's `.slsgen.json`, checked; NotAProject when there is none."""
    path = project / settings.RECORD_NAME
    if not path.is_file():
        raise NotAProject(f"{project} has no {settings.RECORD_NAME}: run slsgen update in a project slsgen generated")
    return parse_record(load_json(path, FIX.format(name=settings.RECORD_NAME)), path)


def read_snapshot(project: Path) -> dict[str, snapshot.File] | None:
    """The project's merge base (None when it has none), checked as it is decoded."""
    path = project / snapshot.SNAPSHOT
    fix = FIX.format(name=snapshot.SNAPSHOT)
    try:
        files = snapshot.read(project)
    except ValueError as exc:
        raise RecordInvalid(f"{path}: {exc}; {fix}") from None
    outside = [relative for relative in files or {} if not is_inside(relative)]
    if outside:
        raise RecordInvalid(f"{path}: files: {outside[0]!r} is not a path inside the project; {fix}")
    return files


def read_pending(folder: Path) -> tuple[PendingState, bytes, dict[str, Any], bytes]:
    """A pending update's state, new record (bytes and checked mapping) and new snapshot, from `folder`."""
    fix = f"remove {folder} and run `slsgen update` again"
    try:
        state = parse(PendingState, load_json(folder / "state.json", fix), str(folder / "state.json"))
        record_bytes = (folder / "record.json").read_bytes()
        base = (folder / "base.json.gz").read_bytes()
    except BlueprintInvalid as exc:
        raise RecordInvalid(f"{exc}; {fix}") from None
    except OSError as exc:
        raise RecordInvalid(f"{folder} is incomplete ({exc.strerror}: {exc.filename}); {fix}") from None
    try:
        snapshot.decode(base)
    except ValueError as exc:
        raise RecordInvalid(f"{folder / 'base.json.gz'}: {exc}; {fix}") from None
    record = parse_record(load_json(folder / "record.json", fix), folder / "record.json", fix)
    return state, record_bytes, record, base
