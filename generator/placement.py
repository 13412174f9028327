"""Move a rendered project into its target folder as one transaction, and retire an earlier generation's leftovers.

A generation either lands whole or not at all: every conflict is found before the first write, and each step
that changes the target is journaled, so that a failure midway (a read-only sub-folder, a full disk) is undone
and the folder is exactly as it was. Files the generation replaces, and stale files it removes, are moved aside
into `backup` (inside the temporary work folder, on the same file system) rather than deleted, which makes the
undo a rename back.

A new target takes the project in one rename that never replaces what stands there (a folder that appeared while
the project rendered, another run's project): the run fails with one line instead. An existing target (`--force`,
`slsgen update`) is locked while files are moved into it, so two runs never interleave their steps.

The journal is also written to disk, each step before it is taken (`JOURNAL_NAME` in the work folder, which
the generating process holds locked). A generation killed midway (SIGKILL, a power cut of the terminal) leaves
that folder behind; the next run for the same target finds it unlocked and `recover`s: it undoes the steps of an
unfinished placement, or just removes the folder when the placement had finished or never began. The journal
records the digest of each file placed, so an undo removes only a file it can prove it placed: a file the user
changed or created since the crash is kept, and named.

Stale files are those an earlier generation produced (its `.slsgen.json` records a SHA-256 per file) that the
new one does not. A stale file still holding what the earlier generation wrote is removed; one the user has
changed since is kept and reported, never deleted. Nothing under a version-control folder (`.git`...) is ever
written, moved or removed, whatever a record says.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TextIO

from . import settings
from .errors import TargetConflict, TargetExists, UnsafePath, WriteFailed

JOURNAL_NAME = "journal"
DONE = "done"  # the placement finished: nothing to undo
UNDONE = "undone"  # it was undone (in its own process or by a recovery); originals left in the backup stay there

# One journal entry: (what was done, the path relative to the target, the digest of a placed file or "").
Step = tuple[str, str, str]


@dataclass(frozen=True)
class Retired:
    """The earlier generation's files that the new one does not make: removed (unchanged) or kept (changed)."""

    removed: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()


@dataclass
class Undo:
    """What undoing a placement left: paths changed since it was placed (kept as they are), paths whose original
    could not be put back (it stays in the backup), and OS errors."""

    kept: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.kept and not self.failed


@dataclass
class Journal:
    """What the placement changed so far, in order, so that it can be undone (in this process or the next run)."""

    target: Path
    backup: Path
    steps: list[Step] = field(default_factory=list)
    log: TextIO | None = None  # the journal on disk: each step is written before it is taken

    def record(self, action: str, relative: str, digest: str = "") -> None:
        """Note a step about to be taken; undoing a step that was never taken is harmless."""
        self.steps.append((action, relative, digest))
        if self.log is not None:
            self.log.write(json.dumps([action, relative, digest] if digest else [action, relative]) + "\n")
            self.log.flush()  # the page cache survives a killed process; no fsync needed for that

    def move_aside(self, relative: str) -> None:
        """Move the target's file at `relative` into the backup, where an undo finds it."""
        kept = self.backup / relative
        kept.parent.mkdir(parents=True, exist_ok=True)
        self.record("aside", relative)
        os.replace(self.target / relative, kept)

    def undo(self) -> Undo:
        """Revert every step, newest first, changing only what this placement can prove it made."""
        result = Undo()
        for action, relative, digest in reversed(self.steps):
            path = self.target / relative
            try:
                if action == "placed":
                    if os.path.lexists(path) and (path.is_symlink() or not path.is_file() or sha256(path) != digest):
                        result.kept.append(relative)  # not what was placed: the user's since
                    else:
                        path.unlink(missing_ok=True)
                elif action == "aside":
                    if os.path.lexists(self.backup / relative):
                        if os.path.lexists(path):
                            result.failed.append(relative)  # the user's file stands there: the original stays aside
                            continue
                        path.parent.mkdir(parents=True, exist_ok=True)
                        os.replace(self.backup / relative, path)
                elif action == "mkdir":
                    if path.is_dir() and not path.is_symlink():
                        if any(path.iterdir()):
                            result.kept.append(relative + "/")  # holds files made since
                        else:
                            path.rmdir()
                elif action == "rmdir":
                    path.mkdir(exist_ok=True)
            except OSError:
                result.failed.append(relative)
        self.steps.clear()
        return result


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


def new_workdir(parent: Path, prefix: str) -> tuple[Path, int | None]:
    """A fresh work folder in `parent`, held locked (`lock`); returns it and the descriptor to close.

    A concurrent run's `recover` may remove the folder in the instant between its creation and its lock (unlocked
    and empty, it looks abandoned); the folder is then made again, so a run never works in a removed folder.
    """
    for _ in range(20):
        workdir = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        try:
            held = lock(workdir)
        except FileNotFoundError:
            continue
        if held is None:
            return workdir, held
        try:
            if os.fstat(held).st_ino == os.stat(workdir).st_ino:
                return workdir, held
        except FileNotFoundError:
            pass
        os.close(held)
    raise OSError(errno.EAGAIN, "no work folder could be held (other runs removed each one made)", str(parent))


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold an existing target folder locked while the block changes it: another slsgen run waits its turn."""
    held = lock(folder) if folder.is_dir() else None
    try:
        yield
    finally:
        if held is not None:
            os.close(held)


def work_folders(parent: Path, name: str) -> list[Path]:
    """The work folders of runs for the target `name` in `parent` (`.{name}.slsgen-*`)."""
    return [path for path in sorted(parent.glob(f".{name}.slsgen-*")) if path.is_dir() and not path.is_symlink()]


def recover(parent: Path, name: str, target: Path) -> None:
    """Clean up the work folders that killed runs for `target` left beside it, undoing an unfinished placement.

    Only folders nobody holds locked are touched: a generation still running keeps its own. A placement that
    did not finish is undone from its journal, so the target is as it was before that run, except for what the
    user changed since (kept and named in the error, with where the originals are).
    """
    if sys.platform == "win32":
        return
    import fcntl

    for workdir in work_folders(parent, name):
        try:
            descriptor = os.open(workdir, os.O_RDONLY)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # in use by a running generation
            with locked(target):
                undone = undo_from_disk(workdir, target)
            if undone is None:
                continue  # an undo that kept files in its run (which named this folder), or another target's
            if undone.complete:
                remove_workdir(workdir)
                continue
            with (workdir / JOURNAL_NAME).open("a", encoding="utf-8") as log:
                log.write(json.dumps(UNDONE) + "\n")  # judged: the next run leaves this folder to the user
            raise WriteFailed(unfinished_message(target, workdir, undone))
        finally:
            os.close(descriptor)


def unfinished_message(target: Path, workdir: Path, undone: Undo) -> str:
    changed = ", ".join((undone.kept + undone.failed)[:5])
    return (
        f"an earlier run of slsgen was stopped while placing files into {target}; its changes were undone except "
        f"{changed}, which changed since or could not be put back (kept as they are; the files they replaced are in "
        f"{workdir / 'replaced'}): review them, then remove {workdir} and run again"
    )


def unfinished(parent: Path, name: str, target: Path) -> Path | None:
    """The work folder of a placement into `target` that was stopped midway and not yet undone, if any: what
    `recover` would undo (for `--dry-run` and `--check`, which change nothing, not even by recovering)."""
    if sys.platform == "win32":
        return None
    import fcntl

    for workdir in work_folders(parent, name):
        descriptor = os.open(workdir, os.O_RDONLY)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue
            state = journal_state(workdir, target)
            if state is not None and state[0] == "unfinished":
                return workdir
        finally:
            os.close(descriptor)
    return None


def journal_state(workdir: Path, target: Path) -> tuple[str, list[Step]] | None:
    """How a work folder's placement into `target` ended: ("done" | "undone" | "unfinished" | "none", its steps);
    None when its journal is another target's. "none": killed before its journal began."""
    try:
        lines = (workdir / JOURNAL_NAME).read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, UnicodeDecodeError):
        lines = []
    if not lines:
        return "none", []
    try:
        header = json.loads(lines[0])
    except ValueError:
        return None
    if not isinstance(header, dict) or header.get("target") != str(target):
        return None  # another target's (a link to a folder named otherwise): that target's next run recovers it
    steps: list[Step] = []
    for line in lines[1:]:
        try:
            step = json.loads(line)
        except ValueError:
            continue  # a line cut short by the kill: its step was never taken
        if (
            isinstance(step, list)
            and len(step) in (2, 3)
            and step[0] in ("placed", "aside", "mkdir", "rmdir")
            and all(isinstance(part, str) for part in step)
            and is_inside(step[1])
        ):
            steps.append((step[0], step[1], step[2] if len(step) == 3 else ""))
    last = lines[-1]
    if last == json.dumps(DONE):
        return "done", steps
    if last == json.dumps(UNDONE):
        return "undone", steps
    return "unfinished", steps


def undo_from_disk(workdir: Path, target: Path) -> Undo | None:
    """Undo the journaled steps of an unfinished placement into `target`.

    None: the folder must stay: its placement was undone already and left originals in its backup (the user's to
    judge), or it holds originals with no journal to say what they were, or the journal is another target's.
    """
    state = journal_state(workdir, target)
    if state is None:
        return None
    how, steps = state
    holds = any(path.is_file() for path in (workdir / "replaced").rglob("*"))
    if how == "done":
        return Undo()
    if how in ("undone", "none"):
        return None if holds else Undo()
    journal = Journal(target, workdir / "replaced", steps=steps)
    return journal.undo()


def read_record(folder: Path) -> dict[str, str]:
    """The file digests an earlier generation recorded in `folder`; empty when there is none or it is unreadable.

    An unreadable or hand-edited record cannot say which files are stale, so none are: nothing is removed on a
    guess. Paths that are absolute, climb out of the folder or lie under version-control metadata are ignored, so
    a record can never reach outside the project or into its repository.
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
        if isinstance(name, str) and isinstance(digest, str) and is_project_file(name)
    }


def is_inside(relative: str) -> bool:
    """A path that stays inside the project: relative, no `..`, no backslashes or drive letters."""
    path = PurePosixPath(relative)
    return (
        bool(relative)
        and not path.is_absolute()
        and ".." not in path.parts
        and "\\" not in relative
        and ":" not in relative
    )


def is_project_file(relative: str) -> bool:
    """A path a record, a snapshot or a blueprint may name: inside the project and not under version-control
    metadata (`.git/...`), which no record or blueprint may make slsgen write, move or remove."""
    return is_inside(relative) and not settings.VCS_NAMES.intersection(PurePosixPath(relative).parts)


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
    for relative in sorted(set(earlier) - set(now)):  # an older record's requirements.txt too: `make` exports it now
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


def place_new(rendered: Path, target: Path) -> Retired:
    """Move the rendered project to a target that does not exist (or is an empty folder), in one rename that never
    replaces anything: if a file or a non-empty folder appeared there meanwhile, nothing is written."""
    if os.name == "nt" and target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
        target.rmdir()  # Windows renames onto nothing that exists; POSIX replaces an empty folder by itself
    try:
        os.rename(rendered, target)
    except OSError as exc:
        if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
            raise
        raise TargetExists(
            f"{target} appeared while the project was rendered (another run, or a file made meanwhile): choose "
            "another name or --output-dir, or pass --force to write into it; nothing was written"
        ) from None
    return Retired()


def place(
    rendered: Path,
    target: Path,
    backup: Path,
    log: TextIO | None = None,
    *,
    discard: tuple[str, ...] = (),
    force: bool = True,
) -> Retired:
    """Move the rendered project into `target`, all or nothing; return the stale files removed and kept.

    A new target (or an empty real folder) takes the project in one rename (`place_new`); without `force`, that
    is the only way in. Otherwise the target is locked and files are moved one by one, replacing those at the
    same paths; on any failure every step is undone before the error propagates. `discard` names paths of the
    target (files or folders) that go away in the same transaction (a pending update's records): moved aside like
    a replaced file, so an undo puts them back.
    """
    empty = target.is_dir() and not target.is_symlink() and not any(target.iterdir())
    if not os.path.lexists(target) or empty or not force:
        return place_new(rendered, target)
    with locked(target):
        return place_files(rendered, target, backup, log, discard)


def is_placeable(relative: str, target: Path) -> bool:
    """A rendered path may be placed when it is a project file, or lies in a version-control folder that the
    target does not have at all (the new repository of `--git`): never into an existing one."""
    if is_project_file(relative):
        return True
    top = PurePosixPath(relative).parts[0]
    return is_inside(relative) and top in settings.VCS_NAMES and not os.path.lexists(target / top)


def place_files(rendered: Path, target: Path, backup: Path, log: TextIO | None, discard: tuple[str, ...]) -> Retired:
    retired = retired_files(rendered, target)
    conflicts = find_conflicts(rendered, target, set(retired.removed))
    if conflicts:
        raise TargetConflict(
            f"{target} is in the way: {'; '.join(conflicts)}; move them away and run again (nothing was written)"
        )
    placed = [(source, source.relative_to(rendered).as_posix()) for source in sorted(rendered.rglob("*"))]
    outside = [relative for _, relative in placed if not is_placeable(relative, target)] + [
        relative for relative in discard if not is_project_file(relative)
    ]
    if outside:
        raise UnsafePath(f"{outside[0]} is not a path slsgen may write in a project; refused, nothing was written")
    journal = Journal(target, backup, log=log)
    try:
        remove_retired(journal, retired.removed, rendered)
        for relative in discard:
            if os.path.lexists(target / relative):
                journal.move_aside(relative)
        for source, relative in placed:
            destination = target / relative
            if source.is_dir():
                if not destination.is_dir():
                    journal.record("mkdir", relative)
                    destination.mkdir()
                continue
            if os.path.lexists(destination):
                journal.move_aside(relative)
            journal.record("placed", relative, "" if source.is_symlink() else sha256(source))
            os.replace(source, destination)
        if log is not None:
            log.write(json.dumps(DONE) + "\n")
            log.flush()
    except BaseException as exc:
        undone = journal.undo()
        if log is not None:
            log.write(json.dumps(UNDONE) + "\n")
            log.flush()
        if not undone.complete:
            raise WriteFailed(
                f"placing the project failed ({exc}), and putting back {', '.join((undone.kept + undone.failed)[:5])} "
                f"failed too: the originals are in {backup}"
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
