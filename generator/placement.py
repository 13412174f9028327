"""Move a rendered project into its target folder as one transaction, and retire an earlier generation's leftovers.

A generation either lands whole or not at all: every conflict is found before the first write, and each step
that changes the target is journaled, so that a failure midway (a read-only sub-folder, a full disk) is undone
and the folder is exactly as it was. Files the generation replaces, and stale files it removes, are moved aside
into `backup` (inside the temporary work folder, on the same file system) rather than deleted, which makes the
undo a rename back.

Stale files are those an earlier generation produced (its `.slsgen.json` records a SHA-256 per file) that the
new one does not. A stale file still holding what the earlier generation wrote is removed; one the user has
changed since is kept and reported, never deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from . import settings
from .errors import TargetConflict, WriteFailed

# One journal entry: (what was done, the path relative to the target). Undone in reverse order.
Step = tuple[str, str]


@dataclass(frozen=True)
class Retired:
    """The earlier generation's files that the new one does not make: removed (unchanged) or kept (changed)."""

    removed: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()


@dataclass
class Journal:
    """What the placement changed so far, in order, so that it can be undone."""

    target: Path
    backup: Path
    steps: list[Step] = field(default_factory=list)

    def move_aside(self, relative: str) -> None:
        """Move the target's file at `relative` into the backup, where an undo finds it."""
        kept = self.backup / relative
        kept.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.target / relative, kept)
        self.steps.append(("aside", relative))

    def undo(self) -> list[str]:
        """Revert every step, newest first; return the paths that could not be restored."""
        failed: list[str] = []
        for action, relative in reversed(self.steps):
            path = self.target / relative
            try:
                if action == "placed":
                    path.unlink()
                elif action == "aside":
                    path.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(self.backup / relative, path)
                elif action == "mkdir":
                    path.rmdir()
                elif action == "rmdir":
                    path.mkdir(exist_ok=True)
            except OSError:
                failed.append(relative)
        self.steps.clear()
        return failed


def read_record(folder: Path) -> dict[str, str]:
    """The file digests an earlier generation recorded in `folder`; empty when there is none or it is unreadable.

    An unreadable or hand-edited record cannot say which files are stale, so none are: nothing is removed on a
    guess. Paths that are absolute or climb out of the folder are ignored, so a record can never reach outside it.
    """
    try:
        record = json.loads((folder / settings.RECORD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = record.get("files") if isinstance(record, dict) else None
    if not isinstance(files, dict):
        return {}
    return {
        name: digest
        for name, digest in files.items()
        if isinstance(name, str) and isinstance(digest, str) and is_inside(name)
    }


def is_inside(relative: str) -> bool:
    """A recorded path that stays inside the project: relative, no `..`, no backslashes or drive letters."""
    path = PurePosixPath(relative)
    return (
        bool(relative)
        and not path.is_absolute()
        and ".." not in path.parts
        and "\\" not in relative
        and ":" not in relative
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def retired_files(rendered: Path, target: Path) -> Retired:
    """Sort the earlier generation's files that the new one drops into removable (unchanged) and kept (changed)."""
    earlier = read_record(target)
    if not earlier:
        return Retired()
    now = read_record(rendered)
    removed: list[str] = []
    kept: list[str] = []
    for relative in sorted(set(earlier) - set(now)):
        path = target / relative
        if not os.path.lexists(path):
            continue
        folders = [folder for folder in PurePosixPath(relative).parents if folder.parts]
        through_link = any((target / folder).is_symlink() for folder in folders)  # it may live outside the project
        if through_link or path.is_symlink() or not path.is_file() or sha256(path) != earlier[relative]:
            kept.append(relative)
        else:
            removed.append(relative)
    return Retired(tuple(removed), tuple(kept))


def find_conflicts(rendered: Path, target: Path, removable: set[str]) -> list[str]:
    """Every path in the target that stands where the rendered project has the other kind of entry."""
    conflicts: list[str] = []
    for source in sorted(rendered.rglob("*")):
        relative = source.relative_to(rendered).as_posix()
        destination = target / relative
        if source.is_dir():
            in_the_way = os.path.lexists(destination) and (destination.is_symlink() or not destination.is_dir())
            if in_the_way and relative not in removable:
                kind = "a symbolic link" if destination.is_symlink() else "a file"
                conflicts.append(f"{relative} is {kind} where the blueprint makes a folder")
        elif destination.is_dir() and not destination.is_symlink():
            conflicts.append(f"{relative} is a folder where the blueprint makes a file")
    return conflicts


def place(rendered: Path, target: Path, backup: Path) -> Retired:
    """Move the rendered project into `target`, all or nothing; return the stale files removed and kept.

    A new target (or an empty real folder) takes the project in one rename. Otherwise files are moved one by one,
    replacing those at the same paths; on any failure every step is undone before the error propagates.
    """
    if not os.path.lexists(target):
        os.replace(rendered, target)
        return Retired()
    if not target.is_symlink() and target.is_dir() and not any(target.iterdir()):
        target.rmdir()
        try:
            os.replace(rendered, target)
        except OSError:
            target.mkdir(exist_ok=True)
            raise
        return Retired()
    retired = retired_files(rendered, target)
    conflicts = find_conflicts(rendered, target, set(retired.removed))
    if conflicts:
        raise TargetConflict(
            f"{target} is in the way: {'; '.join(conflicts)}; move them away and run again (nothing was written)"
        )
    journal = Journal(target, backup)
    try:
        remove_retired(journal, retired.removed, rendered)
        for source in sorted(rendered.rglob("*")):
            relative = source.relative_to(rendered).as_posix()
            destination = target / relative
            if source.is_dir():
                if not destination.is_dir():
                    destination.mkdir()
                    journal.steps.append(("mkdir", relative))
                continue
            if os.path.lexists(destination):
                journal.move_aside(relative)
            os.replace(source, destination)
            journal.steps.append(("placed", relative))
    except BaseException as exc:
        failed = journal.undo()
        if failed:
            raise WriteFailed(
                f"placing the project failed ({exc}), and putting back {', '.join(failed[:5])} failed too: the "
                f"originals are in {backup}"
            ) from None
        raise
    return retired


def remove_retired(journal: Journal, removed: tuple[str, ...], rendered: Path) -> None:
    """Move the unchanged stale files aside, then remove the folders they leave empty (not the new project's)."""
    folders: set[PurePosixPath] = set()
    for relative in removed:
        journal.move_aside(relative)
        folders.update(PurePosixPath(relative).parents)
    for folder in sorted(folders, key=lambda item: len(item.parts), reverse=True):
        relative = folder.as_posix()
        path = journal.target / relative
        if relative == "." or (rendered / relative).is_dir() or path.is_symlink() or not path.is_dir():
            continue
        if not any(path.iterdir()):
            path.rmdir()
            journal.steps.append(("rmdir", relative))
