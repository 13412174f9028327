"""Move a rendered project into its target folder as one transaction, and retire an earlier generation's leftovers.

A generation either lands whole or not at all: every conflict is found before the first write, and each step
that changes the target is journaled, so that a failure midway (a read-only sub-folder, a full disk) is undone
and the folder is exactly as it was. Files the generation replaces, and stale files it removes, are moved aside
into `backup` (inside the temporary work folder, on the same file system) rather than deleted, which makes the
undo a rename back.

The journal is also written to disk, each step before it is taken (`JOURNAL_NAME` in the work folder, which
the generating process holds locked). A generation killed midway (SIGKILL, a power cut of the terminal) leaves
that folder behind; the next run for the same target finds it unlocked and `recover`s: it undoes the steps of an
unfinished placement, or just removes the folder when the placement had finished or never began.

Stale files are those an earlier generation produced (its `.slsgen.json` records a SHA-256 per file) that the
new one does not. A stale file still holding what the earlier generation wrote is removed; one the user has
changed since is kept and reported, never deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TextIO

from . import settings
from .errors import TargetConflict, WriteFailed

JOURNAL_NAME = "journal"
DONE = "done"  # the placement finished: nothing to undo
UNDONE = "undone"  # it failed and was undone in its own process; originals left in the backup stay there

# One journal entry: (what was done, the path relative to the target). Undone in reverse order.
Step = tuple[str, str]


@dataclass(frozen=True)
class Retired:
    """The earlier generation's files that the new one does not make: removed (unchanged) or kept (changed)."""

    removed: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()


@dataclass
class Journal:
    """What the placement changed so far, in order, so that it can be undone (in this process or the next run)."""

    target: Path
    backup: Path
    steps: list[Step] = field(default_factory=list)
    log: TextIO | None = None  # the journal on disk: each step is written before it is taken

    def record(self, action: str, relative: str) -> None:
        """Note a step about to be taken; undoing a step that was never taken is harmless."""
        self.steps.append((action, relative))
        if self.log is not None:
            self.log.write(json.dumps([action, relative]) + "\n")
            self.log.flush()  # the page cache survives a killed process; no fsync needed for that

    def move_aside(self, relative: str) -> None:
        """Move the target's file at `relative` into the backup, where an undo finds it."""
        kept = self.backup / relative
        kept.parent.mkdir(parents=True, exist_ok=True)
        self.record("aside", relative)
        os.replace(self.target / relative, kept)

    def undo(self) -> list[str]:
        """Revert every step, newest first; return the paths that could not be restored."""
        failed: list[str] = []
        for action, relative in reversed(self.steps):
            path = self.target / relative
            try:
                if action == "placed":
                    path.unlink(missing_ok=True)
                elif action == "aside":
                    if os.path.lexists(self.backup / relative):
                        path.parent.mkdir(parents=True, exist_ok=True)
                        os.replace(self.backup / relative, path)
                elif action == "mkdir":
                    if path.is_dir() and not path.is_symlink():
                        path.rmdir()
                elif action == "rmdir":
                    path.mkdir(exist_ok=True)
            except OSError:
                failed.append(relative)
        self.steps.clear()
        return failed


def open_journal(workdir: Path, target: Path) -> TextIO:
    """Start the on-disk journal of a placement into `target`: its first line names the target."""
    log = (workdir / JOURNAL_NAME).open("w", encoding="utf-8")
    log.write(json.dumps({"target": str(target)}) + "\n")
    log.flush()
    return log


def remove_workdir(workdir: Path) -> None:
    """Remove a work folder, its journal last: a run killed meanwhile leaves a folder the next run can judge.

    Removed in directory order, the journal could go before the originals in `replaced`; a folder holding
    originals but no journal looks like a failed undo's, and would be kept for good.
    """
    for path in sorted(workdir.iterdir()) if workdir.is_dir() else []:
        if path.name == JOURNAL_NAME:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    with contextlib.suppress(OSError):
        (workdir / JOURNAL_NAME).unlink()
    shutil.rmtree(workdir, ignore_errors=True)


def lock(workdir: Path) -> int | None:
    """Hold `workdir` locked while this process uses it (released by the OS however the process ends).

    Returns the descriptor to close when done; None where advisory locks do not exist (Windows), where stale
    work folders are then left for the user to delete.
    """
    if sys.platform == "win32":
        return None
    import fcntl

    descriptor = os.open(workdir, os.O_RDONLY)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    return descriptor


def recover(parent: Path, name: str, target: Path) -> None:
    """Clean up the work folders that killed runs for `target` left beside it, undoing an unfinished placement.

    Only folders nobody holds locked are touched: a generation still running keeps its own. A placement that
    did not finish is undone from its journal, so the target is as it was before that run; if that fails, the
    folder (with the originals in its backup) is kept and the error names it.
    """
    if sys.platform == "win32":
        return
    import fcntl

    for workdir in sorted(parent.glob(f".{name}.slsgen-*")):
        if workdir.is_symlink() or not workdir.is_dir():
            continue
        try:
            descriptor = os.open(workdir, os.O_RDONLY)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # in use by a running generation
            failed = undo_from_disk(workdir, target)
            if failed is None:
                continue  # an undo that failed in its run (which named this folder), or another target's
            if failed:
                raise WriteFailed(
                    f"an earlier run of slsgen was stopped while placing files into {target}, and putting back "
                    f"{', '.join(failed[:5])} failed: the originals are in {workdir / 'replaced'}; restore them "
                    f"by hand, then remove {workdir}"
                )
            remove_workdir(workdir)
        finally:
            os.close(descriptor)


def undo_from_disk(workdir: Path, target: Path) -> list[str] | None:
    """Undo the journaled steps of an unfinished placement into `target`; return the paths not restored.

    None: the folder must stay: the placement's own process undid it and could not restore everything, or the
    journal is another target's.
    """
    try:
        lines = (workdir / JOURNAL_NAME).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    if not lines:  # killed before the journal's first line: nothing placed, unless unjournaled originals are kept
        return None if any(path.is_file() for path in (workdir / "replaced").rglob("*")) else []
    try:
        header = json.loads(lines[0])
        steps = [json.loads(line) for line in lines[1:] if line.endswith("]")]
    except ValueError:
        return ["the journal (unreadable)"]
    if not isinstance(header, dict) or header.get("target") != str(target):
        return None  # another target's (a link to a folder named otherwise): that target's next run recovers it
    if lines[-1] == json.dumps(DONE):
        return []
    if lines[-1] == json.dumps(UNDONE):
        holds = any(path.is_file() for path in (workdir / "replaced").rglob("*"))
        return None if holds else []
    journal = Journal(target, workdir / "replaced")
    for step in steps:
        if (
            isinstance(step, list)
            and len(step) == 2
            and step[0] in ("placed", "aside", "mkdir", "rmdir")
            and isinstance(step[1], str)
            and is_inside(step[1])
        ):
            journal.steps.append((step[0], step[1]))
    return journal.undo()


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


def place(
    rendered: Path, target: Path, backup: Path, log: TextIO | None = None, *, discard: tuple[str, ...] = ()
) -> Retired:
    """Move the rendered project into `target`, all or nothing; return the stale files removed and kept.

    A new target (or an empty real folder) takes the project in one rename. Otherwise files are moved one by one,
    replacing those at the same paths; on any failure every step is undone before the error propagates.
    `discard` names paths of the target (files or folders) that go away in the same transaction (`slsgen update
    --continue`'s pending records): moved aside like a replaced file, so an undo puts them back.
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
    journal = Journal(target, backup, log=log)
    try:
        remove_retired(journal, retired.removed, rendered)
        for relative in discard:
            if os.path.lexists(target / relative):
                journal.move_aside(relative)
        for source in sorted(rendered.rglob("*")):
            relative = source.relative_to(rendered).as_posix()
            destination = target / relative
            if source.is_dir():
                if not destination.is_dir():
                    journal.record("mkdir", relative)
                    destination.mkdir()
                continue
            if os.path.lexists(destination):
                journal.move_aside(relative)
            journal.record("placed", relative)
            os.replace(source, destination)
        if log is not None:
            log.write(json.dumps(DONE) + "\n")
            log.flush()
    except BaseException as exc:
        failed = journal.undo()
        if log is not None:
            log.write(json.dumps(UNDONE) + "\n")
            log.flush()
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
            journal.record("rmdir", relative)
            path.rmdir()
