"""Noticing edits to a function's code (and its template), cheaply enough to ask before every `start-api` request.

`start-api` promises that an edit is picked up by the next request. Walking the code folder (`os.walk`, a
`stat` per file) on every request costs a good part of a warm request. So `changed()` looks only at
what the last walk found: the `.py` files (modification time and size) and the folders themselves (a folder's
modification time changes when an entry is added, removed or renamed in it). That is a `stat` per known file
and folder, a few microseconds for a typical function, and it notices the same edits the walk does: a new
module, a deleted one, a new sub-package, an edited file. A full walk still runs whenever that check sees a
change, and on the first check `full_scan_s` seconds or more after the previous walk (so, under load, about
twice a second at most), as a backstop for file systems with coarse timestamps. Files named in `also` (the
template) are watched the same way, wherever they are.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", ".aws-sam", "venv"})


class CodeWatcher:
    """Notices edits to the function's code: the modification times and sizes of its `.py` files (and of `also`)."""

    def __init__(
        self,
        root: Path,
        *,
        also: Iterable[Path] = (),
        full_scan_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = root
        self.also = [str(path) for path in also]
        self.full_scan_s = full_scan_s
        self._clock = clock
        self.files, self.folders = self._scan()
        self._next_full = clock() + full_scan_s
        self.scans = 1  # full walks so far (for tests and curious readers)

    def _scan(self) -> tuple[dict[str, tuple[int, int]], dict[str, int]]:
        """The `.py` files (path -> modification time in ns, size) and the folders (path -> modification time)."""
        files: dict[str, tuple[int, int]] = {}
        folders: dict[str, int] = {}
        for folder, dirs, names in os.walk(self.root):
            dirs[:] = [name for name in dirs if name not in SKIPPED_DIRS and not name.startswith(".")]
            try:
                folders[folder] = os.stat(folder).st_mtime_ns
            except OSError:  # deleted while scanning
                continue
            for name in names:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    try:
                        info = os.stat(path)
                    except OSError:
                        continue
                    files[path] = (info.st_mtime_ns, info.st_size)
        for path in self.also:
            try:
                info = os.stat(path)
            except OSError:
                files[path] = (-1, -1)  # missing: its return is a change too
                continue
            files[path] = (info.st_mtime_ns, info.st_size)
        return files, folders

    def _unchanged(self) -> bool:
        """Whether every known file and folder still has the modification time (and size) the last walk saw."""
        stat = os.stat
        try:
            for path, mtime_ns in self.folders.items():
                if stat(path).st_mtime_ns != mtime_ns:
                    return False
            for path, (mtime_ns, size) in self.files.items():
                if mtime_ns < 0:
                    if os.path.exists(path):
                        return False
                    continue
                info = stat(path)
                if info.st_mtime_ns != mtime_ns or info.st_size != size:
                    return False
        except OSError:
            return False
        return True

    def changed(self) -> bool:
        """Whether any `.py` file was added, removed or edited since the last call.

        A folder that changed for another reason (an editor's swap file, a new `__pycache__`) costs one walk,
        and is not a change of the code.
        """
        now = self._clock()
        if now < self._next_full and self._unchanged():
            return False
        self._next_full = now + self.full_scan_s
        self.scans += 1
        files, self.folders = self._scan()
        if files == self.files:
            return False
        self.files = files
        return True
