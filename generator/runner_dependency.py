"""The local runner as a project's dependency, through `slsgen update`: its wheel follows the pin, and a project
made when the runner was copied into it (`lambda_runner/`) moves to the dependency.

The wheel and its hash pin live in `.slsgen/wheels/`, slsgen's own part of the project, so they are never merged:
an update writes the new version's files, and the old wheel goes with the record that listed it (placement
removes a recorded file the new generation no longer makes, unless it was changed). The pin in pyproject.toml
is an ordinary line of the blueprint's file and merges like any other. An older project's vendored runner files
are files the blueprint no longer makes: unchanged ones are removed, changed ones kept and named, and one hint
says what to do with them.
"""

from __future__ import annotations

from pathlib import Path

from . import settings, snapshot

VENDORED = settings.RUNNER_PACKAGE + "/"


def wheel_files(rendered: Path) -> dict[str, snapshot.File]:
    """The runner's wheel and hash pin of a rendered project, by path: what an update writes besides the merge."""
    folder = rendered / settings.RUNNER_WHEELS
    if not folder.is_dir():
        return {}
    return {
        path.relative_to(rendered).as_posix(): snapshot.File(path.read_bytes())
        for path in sorted(folder.iterdir())
        if path.is_file()
    }


def hints(kept_changed: list[str], wheels: dict[str, snapshot.File]) -> list[str]:
    """One line for the vendored runner files an update kept because the user changed them, if any."""
    kept = [path for path in kept_changed if path.startswith(VENDORED)]
    if not kept:
        return []
    wheel = next((Path(path).name for path in wheels if path.endswith(".whl")), settings.RUNNER_DISTRIBUTION)
    version = wheel.split("-")[1] if wheel.endswith(".whl") else ""
    shadows = f"{VENDORED}__init__.py" in kept
    effect = f"until it goes, {VENDORED} hides the installed runner" if shadows else "the project no longer runs them"
    return [
        f"hint: {', '.join(kept)}: your edits of the runner slsgen used to copy into the project; it now runs "
        f"{settings.RUNNER_DISTRIBUTION} {version} (pyproject.toml's test group) and {effect}: port the edits "
        f"(or drop them) and delete {VENDORED}"
    ]
