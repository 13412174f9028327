"""A new project's `uv.lock`, when it costs nothing: locked offline from uv's cache, else by its first `make install`.

uv.lock pins every dependency of a project with its hashes (the function's `[project] dependencies` and each
dependency group's, the runner's wheel by its path and hash), and `src/requirements.txt`, what `sam build` installs,
is its export. Locking needs uv, which slsgen does not depend on, and the package index's pages for every dependency:
a lock from the network takes about a second even from a warm cache, most of `slsgen new`'s own time again. So a
generation locks only offline (`uv lock --offline`: uv's cache must already hold every page, as after an earlier
project's `make install`), with the runtime's own Python (a lock is for one `requires-python`), and builds nothing
(`--no-build`: a blueprint's `pyproject.toml` is input and may not make slsgen run code). Anything missing, and the
project's first `make install` locks instead and says to commit the lock. Both files are the project's, made from
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
# The export `make` writes (templates/Makefile, `requirements`): the same command, so the same bytes.
EXPORT = ("export", "--quiet", "--frozen", "--no-default-groups")


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


def lock(project: Path, python_version: str) -> str:
    """Lock `project` offline and export its requirements; one line saying what happened, for the user."""
    later = "the first `make install` locks them (commit uv.lock then)"
    uv = shutil.which("uv")
    if uv is None:
        return f"{LOCK}: not made, uv is not on PATH: {later}"
    python = runtime_python(python_version)
    if python is None:
        return f"{LOCK}: not made, no Python {python_version} found to lock for: `make lock` makes it where one is"
    environment = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    environment.pop("UV_LOCKED", None)  # a generation writes the lock; CI's check is for later installs
    command = [uv, "lock", "--offline", "--no-build", "--quiet", "--python", python]
    try:
        locked = children.run(command, cwd=project, capture_output=True, text=True, env=environment, timeout=TIMEOUT_S)
        exported = (
            children.run([uv, *EXPORT], cwd=project, capture_output=True, text=True, env=environment, timeout=TIMEOUT_S)
            if locked.returncode == 0
            else locked
        )
    except (OSError, subprocess.TimeoutExpired):
        locked = exported = subprocess.CompletedProcess(command, 1)
    if locked.returncode != 0 or exported.returncode != 0:
        (project / LOCK).unlink(missing_ok=True)
        return f"{LOCK}: not made, uv's cache lacks some dependency and generation stays offline: {later}"
    (project / settings.EXPORTED_REQUIREMENTS).write_text(exported.stdout, encoding="utf-8")
    return f"{LOCK}: every dependency pinned with its hashes, from uv's cache (`make lock UPGRADE=1`: the newest)"
