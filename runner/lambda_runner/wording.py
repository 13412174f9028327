"""How the runner words a count: `1 file`, `3 files`, never `1 files` or `file(s)`."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`counted(1, "file")` is "1 file", `counted(2, "file")` "2 files"; `plural` when it is not `noun` + s."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
