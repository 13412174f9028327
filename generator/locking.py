"""A project's `uv.lock`, when it costs nothing: locked offline from uv's cache, else by its next `make install`.

uv.lock pins every dependency of a project with its hashes (the first function's `[project] dependencies`, each added
function's group `function-NAME`, each tool's dependency group, the runner's wheel by its path and hash), and each
function's `requirements.txt` (src/, functions/NAME/src/), what `sam build` installs, is its export of that
function's pins. `slsgen new` locks a new project; `slsgen add` locks a project that has a lock again, since the
function's dependencies changed pyproject.toml (a stale lock would fail CI).

Locking needs uv, which slsgen does not depend on, and the package index's pages for every dependency:
a lock from the network takes about a second even from a warm cache, most of `slsgen new`'s own time again. So a
generation locks only offline (`uv lock --offline`: uv's cache must already hold every page, as after an earlier
project's `make install`), with the runtime's own Python (a lock is for one `requires-python`), and builds nothing
(`--no-build`: a blueprint's `pyproject.toml` is input and may not make slsgen run code). Anything missing, and the
project's next `make install` locks instead and says to commit the lock. These files are the project's, made from
its `pyproject.toml`: never recorded, snapshotted or merged by slsgen (`settings.DERIVED_FILES`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from . import children, settings

LOCK = settings.LOCK_FILE
TIMEOUT_S = 30


def exports(project: Path) -> list[tuple[Path, tuple[str, ...]]]:
    """Each function's requirements.txt and the `uv export` that writes it from the lock, as the project's Makefile
    runs it (`requirements`: the same command, so the same bytes): src/'s and each functions/NAME/src/'s."""
    from lambda_runner.config.template import FUNCTIONS_DIR, lock_selection

    folders = ["", *sorted(path.parent.name for path in (project / FUNCTIONS_DIR).glob("*/src") if path.is_dir())]
    return [
        (
            project / (f"{FUNCTIONS_DIR}/{folder}/src" if folder else "src") / "requirements.txt",
            ("export", "--quiet", "--frozen", *lock_selection(folder)),
        )
        for folder in folders
    ]


def available() -> bool:
    """Whether uv is on PATH (the CLI's `--lock` default)."""
    return shutil.which("uv") is not None


def runtime_python(version: str) -> str | None:
    """The CPython of the runtime (`3.13`), as the project's Makefile finds it: pyenv's build, else `pythonX.Y` on
    PATH. A pyenv shim is skipped: it fails when that version is not the active one, after a slow start."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    built = sorted(root.glob(f"{version}*/bin/python{version}"), reverse=True)
    if built:
        return str(built[0])
    found = shutil.which(f"python{version}")
    return found if found and "shims" not in Path(found).parts else None


def lock(project: Path, python_version: str, *, later: str = "the first `make install` locks them") -> str:
    """Lock `project` offline and export each function's requirements; one line saying what happened, for the user.
    A lock the project had stays as it was when this fails (`later` says what brings it in step)."""
    later = f"{later} (commit uv.lock then)"
    had_lock = (project / LOCK).is_file()
    undone = "not in step with pyproject.toml" if had_lock else "not made"
    uv = shutil.which("uv")
    if uv is None:
        return f"{LOCK}: {undone}, uv is not on PATH: {later}"
    python = runtime_python(python_version)
    if python is None:
        return f"{LOCK}: {undone}, no Python {python_version} found to lock for: {later}"
    environment = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    environment.pop("UV_LOCKED", None)  # slsgen writes the lock; CI's check is for later installs
    environment.pop("UV_FROZEN", None)
    command = [uv, "lock", "--offline", "--no-build", "--quiet", "--python", python]
    written: dict[Path, str] = {}
    try:
        result = children.run(command, cwd=project, capture_output=True, text=True, env=environment, timeout=TIMEOUT_S)
        for requirements, export in exports(project) if result.returncode == 0 else []:
            result = children.run(
                [uv, *export], cwd=project, capture_output=True, text=True, env=environment, timeout=TIMEOUT_S
            )
            if result.returncode != 0:
                break
            written[requirements] = result.stdout
    except (OSError, subprocess.TimeoutExpired):
        result = subprocess.CompletedProcess(command, 1)
    if result.returncode != 0:
        if not had_lock:
            (project / LOCK).unlink(missing_ok=True)
        return f"{LOCK}: {undone}, uv's cache lacks some dependency and slsgen stays offline: {later}"
    for requirements, text in written.items():
        requirements.write_text(text, encoding="utf-8")
    return f"{LOCK}: every dependency pinned with its hashes, from uv's cache (README.md, Locked dependencies: updates)"
