"""The watcher that lets `start-api` pick up edits of the code and the template (`watch.py`)."""

from __future__ import annotations

import os
from pathlib import Path

from lambda_runner.local.watch import CodeWatcher


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _code(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "app.py").write_text("A = 1\n")
    (root / "pkg" / "__init__.py").write_text("")
    return root


def _touch_later(path: Path, text: str) -> None:
    """Write `text` and move the modification time on, so that even a coarse clock sees the edit."""
    path.write_text(text)
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 5_000_000_000))


def test_watcher_sees_edits_additions_and_removals_at_once(tmp_path: Path) -> None:
    root = _code(tmp_path / "code")
    clock = Clock()
    watcher = CodeWatcher(root, clock=clock)
    assert not watcher.changed()
    _touch_later(root / "app.py", "A = 2\n")
    assert watcher.changed()
    assert not watcher.changed()
    (root / "pkg" / "new.py").write_text("")
    assert watcher.changed()
    (root / "pkg" / "sub").mkdir()
    (root / "pkg" / "sub" / "deep.py").write_text("")
    assert watcher.changed()
    (root / "pkg" / "new.py").unlink()
    assert watcher.changed()
    assert clock.now == 100.0  # all of it without waiting for the periodic walk


def test_watcher_ignores_other_files_and_skipped_folders(tmp_path: Path) -> None:
    root = _code(tmp_path / "code")
    watcher = CodeWatcher(root, clock=Clock())
    (root / ".app.py.swp").write_text("editor")
    (root / "notes.txt").write_text("text")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "app.cpython-311.py").write_text("")
    assert not watcher.changed()


def test_watcher_walks_the_folder_at_most_every_full_scan_interval(tmp_path: Path) -> None:
    root = _code(tmp_path / "code")
    clock = Clock()
    watcher = CodeWatcher(root, full_scan_s=0.5, clock=clock)
    for _ in range(50):
        assert not watcher.changed()
    assert watcher.scans == 1  # nothing changed: only the known files and folders were looked at
    clock.now += 0.6
    assert not watcher.changed()
    assert watcher.scans == 2
    assert not watcher.changed()
    assert watcher.scans == 2


def test_watcher_sees_an_edit_of_a_watched_file_outside_the_folder(tmp_path: Path) -> None:
    root = _code(tmp_path / "code")
    template = tmp_path / "template.yaml"
    template.write_text("Resources: {}\n")
    clock = Clock()
    watcher = CodeWatcher(root, also=[template], clock=clock)
    assert not watcher.changed()
    _touch_later(template, "Resources: {A: 1}\n")
    assert watcher.changed()  # before the next full walk is due
    assert not watcher.changed()
    template.unlink()
    assert watcher.changed()
    template.write_text("Resources: {}\n")
    assert watcher.changed()
