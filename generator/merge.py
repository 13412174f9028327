"""Three-way merge of one file, with `git merge-file` semantics: the base, the user's version and the new one.

Changes on one side only are taken; the same change on both sides is taken once; different changes to the same
lines are a conflict, left in the text between standard markers (`<<<<<<<`, `=======`, `>>>>>>>`) that editors,
IDEs and `git diff --check` recognize. `git merge-file` does the work when git is installed (its conflict hunks
are the ones users know); otherwise a small diff3 over difflib's matching lines gives the same markers.
"""

from __future__ import annotations

import difflib
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import children

MARKER = 7


@dataclass(frozen=True)
class Merged:
    """The merged text and how many conflict hunks it holds (0: a clean merge)."""

    text: bytes
    conflicts: int


def merge(base: bytes, ours: bytes, theirs: bytes, labels: tuple[str, str, str], *, use_git: bool = True) -> Merged:
    """Merge `ours` and `theirs`, both changed from `base`; `labels` name (ours, base, theirs) in the markers."""
    if theirs in (ours, base):
        return Merged(ours, 0)
    if ours == base:
        return Merged(theirs, 0)
    git = shutil.which("git") if use_git else None
    if git is not None:
        return merge_with_git(git, base, ours, theirs, labels)
    return diff3(base, ours, theirs, labels)


def merge_with_git(git: str, base: bytes, ours: bytes, theirs: bytes, labels: tuple[str, str, str]) -> Merged:
    """`git merge-file -p`: its exit code is the number of conflicts, negative on an error."""
    with tempfile.TemporaryDirectory(prefix="slsgen-merge-") as folder:
        files = []
        for name, content in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(folder) / name
            path.write_bytes(content)
            files.append(str(path))
        command = [git, "merge-file", "-p", "-L", labels[0], "-L", labels[1], "-L", labels[2], *files]
        result = children.run(command, capture_output=True)
    if result.returncode < 0 or result.returncode > 127:
        return diff3(base, ours, theirs, labels)  # git failed (not a conflict): merge here instead
    return Merged(result.stdout, result.returncode)


def _matches(base: Sequence[bytes], other: Sequence[bytes]) -> dict[int, int]:
    """Base line index -> the other's index, for the lines the longest matching blocks pair up."""
    matcher = difflib.SequenceMatcher(None, base, other, autojunk=False)
    pairs: dict[int, int] = {}
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            pairs[block.a + offset] = block.b + offset
    return pairs


def diff3(base: bytes, ours: bytes, theirs: bytes, labels: tuple[str, str, str]) -> Merged:
    """A line-based three-way merge: stable runs (unchanged on both sides) separate the chunks to decide."""
    old, mine, new = (text.splitlines(keepends=True) for text in (base, ours, theirs))
    to_mine, to_new = _matches(old, mine), _matches(old, new)
    out: list[bytes] = []
    conflicts = 0
    i = j = k = 0
    while i < len(old) or j < len(mine) or k < len(new):
        while i < len(old) and to_mine.get(i) == j and to_new.get(i) == k:
            out.append(old[i])
            i, j, k = i + 1, j + 1, k + 1
        sync = next((o for o in range(i, len(old)) if o in to_mine and o in to_new), None)
        o, jj, kk = (len(old), len(mine), len(new)) if sync is None else (sync, to_mine[sync], to_new[sync])
        chunk_old, chunk_mine, chunk_new = old[i:o], mine[j:jj], new[k:kk]
        if chunk_mine == chunk_old:
            out.extend(chunk_new)
        elif chunk_new in (chunk_old, chunk_mine):
            out.extend(chunk_mine)
        else:
            conflicts += 1
            out.extend(_conflict(chunk_mine, chunk_new, labels))
        i, j, k = o, jj, kk
    return Merged(b"".join(out), conflicts)


def _conflict(mine: list[bytes], new: list[bytes], labels: tuple[str, str, str]) -> list[bytes]:
    """A conflict hunk, with the lines both sides share at its ends moved out of it (as git does)."""
    head: list[bytes] = []
    while mine and new and mine[0] == new[0]:
        head.append(mine.pop(0))
        new.pop(0)
    tail: list[bytes] = []
    while mine and new and mine[-1] == new[-1]:
        tail.insert(0, mine.pop())
        new.pop()

    def ended(lines: list[bytes]) -> list[bytes]:
        return [*lines[:-1], lines[-1] + b"\n"] if lines and not lines[-1].endswith(b"\n") else lines

    return [
        *head,
        b"<" * MARKER + b" " + labels[0].encode() + b"\n",
        *ended(mine),
        b"=" * MARKER + b"\n",
        *ended(new),
        b">" * MARKER + b" " + labels[2].encode() + b"\n",
        *tail,
    ]


def has_markers(text: bytes) -> bool:
    """Whether a file still holds a conflict: a line starting with seven `<` then a space."""
    return any(line.startswith(b"<" * MARKER + b" ") for line in text.splitlines())
