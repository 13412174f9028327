"""Writes confined to one folder while a blueprint renders: checked at the moment each one happens.

Rendering hands paths that a blueprint controls to code slsgen does not own (cookiecutter joins a rendered name to
the project folder and opens it; an absolute name discards the folder). Checking names before and after rendering
leaves the moment of the write unchecked, and any way of producing a name the checks did not foresee (a custom
delimiter, a random filename, a context changed midway) writes wherever it points. So while `confined(root)` is
active, a Python audit hook (PEP 578) sees every file-system change the rendering thread makes (open for writing,
mkdir, rename, remove, copy, chmod, link) and refuses any whose resolved path is not inside `root`: the write never
happens, and the block ends with one `UnsafePath` line naming the path.

The hook is added once per process and does nothing outside a `confined` block, nor in other threads. It does not
see child processes (git, ruff, a trusted blueprint's hooks and checks): those are not the blueprint's data.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

from .errors import UnsafePath

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
# The audited events that change the file system, and the positions of the paths they change.
CHANGES: dict[str, tuple[int, ...]] = {
    "os.mkdir": (0,),
    "os.rename": (0, 1),
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.symlink": (1,),
    "os.link": (1,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.utime": (0,),
    "os.truncate": (0,),
    "os.setxattr": (0,),
    "os.removexattr": (0,),
    "os.mkfifo": (0,),
    "os.mknod": (0,),
    "shutil.copyfile": (1,),
    "shutil.copymode": (1,),
    "shutil.copystat": (1,),
    "shutil.copytree": (1,),
    "shutil.move": (0, 1),
    "shutil.rmtree": (0,),
    "shutil.chown": (0,),
}
# Events whose last argument is a folder descriptor the path is relative to (-1 or None: none).
RELATIVE_TO_FD = {"os.mkdir", "os.remove", "os.rmdir", "os.symlink", "os.chmod", "os.chown", "os.utime"}


class EscapingWrite(PermissionError):
    """Raised inside a `confined` block by a write outside its folder; the block turns it into `UnsafePath`."""


class _State(threading.local):
    root: str | None = None
    refused: list[str]

    def __init__(self) -> None:
        self.refused = []


_state = _State()


@contextlib.contextmanager
def confined(root: os.PathLike[str] | str, blueprint: str) -> Iterator[None]:
    """While the block runs, this thread may change files only inside `root` (which must exist).

    A refused write raises `EscapingWrite` where it happens; whoever catches it, the block then raises
    `UnsafePath` naming the first refused path. Bytecode is not written meanwhile: the import system would
    otherwise try to write caches of modules first imported inside the block (outside `root`).
    """
    _install()
    outer, outer_refused, bytecode = _state.root, _state.refused, sys.dont_write_bytecode
    _state.root, _state.refused = os.path.realpath(root), []
    sys.dont_write_bytecode = True
    try:
        yield
    except BaseException:
        if _state.refused:
            raise _unsafe(_state.refused[0], blueprint) from None
        raise
    else:
        if _state.refused:
            raise _unsafe(_state.refused[0], blueprint)
    finally:
        _state.root, _state.refused, sys.dont_write_bytecode = outer, outer_refused, bytecode


@contextlib.contextmanager
def released() -> Iterator[None]:
    """Lift the confinement while the block runs: for a trusted template's hooks, which cookiecutter renders
    into a temporary file of the system's and runs as a child process. They are code the user chose to trust;
    confinement holds the blueprint's data (names and templates) to its project, not its code."""
    root = _state.root
    _state.root = None
    try:
        yield
    finally:
        _state.root = root


def _unsafe(path: str, blueprint: str) -> UnsafePath:
    return UnsafePath(f"blueprint {blueprint} would write {path}, outside the project; refused, nothing was written")


@functools.cache
def _install() -> None:
    sys.addaudithook(_audit)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    root = _state.root
    if root is None:
        return
    if event == "open":
        path, _, flags = args
        if isinstance(flags, int) and flags & WRITE_FLAGS:
            _check(root, path, None, follow=True)
        return
    positions = CHANGES.get(event)
    if positions is None:
        return
    fd = args[-1] if event in RELATIVE_TO_FD else None
    for position in positions:
        _check(root, args[position], fd, follow=False)


def _check(root: str, path: Any, fd: Any, *, follow: bool) -> None:
    """Refuse `path` unless it resolves inside `root`; `follow`: through a final symbolic link too (an open)."""
    if isinstance(path, int) or path is None:  # an open descriptor: its open was checked
        return
    name = os.fsdecode(path)
    if isinstance(fd, int) and fd >= 0 and not os.path.isabs(name):
        folder = f"/proc/self/fd/{fd}"
        if not os.path.isdir(folder):  # no /proc: only shutil.rmtree walks by descriptor, its root was checked
            return
        name = os.path.join(os.readlink(folder), name)
    absolute = os.path.abspath(name)
    resolved = (
        os.path.realpath(absolute)
        if follow
        else os.path.join(os.path.realpath(os.path.dirname(absolute)), os.path.basename(absolute))
    )
    if resolved != root and not resolved.startswith(root.rstrip(os.sep) + os.sep):
        _state.refused.append(absolute)
        raise EscapingWrite(f"{absolute} is outside {root}")
