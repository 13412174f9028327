"""The merge base of `slsgen update`: a compact snapshot of the files a generation wrote, kept in the project.

A later update needs the project exactly as slsgen generated it (the base of the three-way merge). Re-rendering
the recorded blueprint version is not enough: a built-in blueprint's older version is gone once slsgen is
upgraded, and a git tag may move. So every generation stores its pristine files in `.slsgen/base.json.gz`,
committed with the project: gzip'd JSON (text as text, other files as base64, the executable bit), written
deterministically so that regenerating the same project gives the same bytes and git sees no change.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
from dataclasses import dataclass
from pathlib import Path

from . import settings

FOLDER = ".slsgen"
SNAPSHOT = f"{FOLDER}/base.json.gz"
# An update stopped by conflicts keeps its new records here until `slsgen update --continue`.
PENDING = f"{FOLDER}/pending"
FORMAT = 1


@dataclass(frozen=True)
class File:
    """One generated file: its bytes and whether it is executable."""

    data: bytes
    executable: bool = False


def is_bookkeeping(relative: str) -> bool:
    """slsgen's own records (`.slsgen.json`, `.slsgen/`): never merged as project files."""
    return relative == settings.RECORD_NAME or relative.startswith(FOLDER + "/")


def is_derived(relative: str) -> bool:
    """A file the project's tools make from its pyproject.toml (uv.lock and its exports): never slsgen's to merge."""
    return settings.DERIVED_FILES.fullmatch(relative) is not None


def files_of(project: Path) -> dict[str, File]:
    """Every regular file of a rendered project except slsgen's records and the derived files, by POSIX path."""
    found: dict[str, File] = {}
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project).as_posix()
        if path.is_file() and not path.is_symlink() and not is_bookkeeping(relative) and not is_derived(relative):
            found[relative] = File(path.read_bytes(), os.access(path, os.X_OK))
    return found


def encode(files: dict[str, File]) -> bytes:
    entries: dict[str, dict[str, object]] = {}
    for relative, file in sorted(files.items()):
        try:
            entry: dict[str, object] = {"text": file.data.decode("utf-8")}
        except UnicodeDecodeError:
            entry = {"base64": base64.b64encode(file.data).decode("ascii")}
        if file.executable:
            entry["executable"] = True
        entries[relative] = entry
    payload = json.dumps({"format": FORMAT, "files": entries}, indent=0, sort_keys=True).encode("utf-8")
    return gzip.compress(payload, compresslevel=9, mtime=0)


def decode(data: bytes) -> dict[str, File]:
    """The snapshot's files; ValueError naming the field when it is not one (damaged, edited, or from a newer
    slsgen): a snapshot in a cloned project is input, checked entry by entry before a merge relies on it."""
    try:
        document = json.loads(gzip.decompress(data))
    except (OSError, EOFError, ValueError) as exc:
        raise ValueError(f"not a readable snapshot ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else document
        raise ValueError(f"format must be {FORMAT}, not {found!r} (a snapshot from another slsgen, or damaged)")
    entries = document.get("files")
    if not isinstance(entries, dict):
        raise ValueError(f"files must be a mapping of paths to entries, not {entries!r}"[:200])
    files: dict[str, File] = {}
    for relative, entry in entries.items():
        files[relative] = _entry(relative, entry)
    return files


def _entry(relative: str, entry: object) -> File:
    """One snapshot entry: exactly one of `text` (a string) and `base64`, and an optional boolean `executable`."""
    where = f"files[{relative!r}]"
    if not isinstance(entry, dict) or set(entry) - {"text", "base64", "executable"}:
        raise ValueError(f"{where} must be a mapping of text or base64, and executable"[:200])
    text, encoded, executable = entry.get("text"), entry.get("base64"), entry.get("executable", False)
    if not isinstance(executable, bool):
        raise ValueError(f"{where}.executable must be true or false, not {executable!r}"[:200])
    if isinstance(text, str) and encoded is None:
        try:
            return File(text.encode("utf-8"), executable)
        except UnicodeEncodeError:
            raise ValueError(f"{where}.text holds a lone surrogate, not text") from None
    if isinstance(encoded, str) and text is None:
        try:
            return File(base64.b64decode(encoded, validate=True), executable)
        except ValueError:
            raise ValueError(f"{where}.base64 is not valid base64") from None
    raise ValueError(f"{where} needs exactly one of text (a string) and base64 (a string)")


def write(project: Path) -> None:
    """Store the rendered project's files as its merge base (called once the project is complete)."""
    target = project / SNAPSHOT
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(encode(files_of(project)))


def read(project: Path) -> dict[str, File] | None:
    """The project's merge base, or None when it has no snapshot (generated before slsgen kept one)."""
    path = project / SNAPSHOT
    if not path.is_file():
        return None
    return decode(path.read_bytes())
