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


def files_of(project: Path) -> dict[str, File]:
    """Every regular file of a rendered project except slsgen's records, by POSIX path."""
    found: dict[str, File] = {}
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project).as_posix()
        if path.is_file() and not path.is_symlink() and not is_bookkeeping(relative):
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
    """The snapshot's files; ValueError when it is not one (damaged, or from a newer slsgen)."""
    try:
        document = json.loads(gzip.decompress(data))
    except (OSError, EOFError, ValueError) as exc:
        raise ValueError(f"not a readable snapshot ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT or not isinstance(document["files"], dict):
        raise ValueError(f"not a snapshot of format {FORMAT}")
    files: dict[str, File] = {}
    for relative, entry in document["files"].items():
        text, encoded = entry.get("text"), entry.get("base64")
        data_bytes = text.encode("utf-8") if isinstance(text, str) else base64.b64decode(str(encoded))
        files[relative] = File(data_bytes, bool(entry.get("executable")))
    return files


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
