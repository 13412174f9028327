"""Project commands: run the project's own copy of the local runner with the project's own interpreter.

A function must run with its project's dependencies, never with slsgen's, so `slsgen invoke` and `slsgen
start-api` find the project (the nearest folder holding template.yaml and the runner) and replace themselves
with `<project python> -m lambda_runner ...`. This module imports only what that needs: it runs before the
command line is parsed (see `entry.py`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from . import settings
from .errors import NotAProject


def find_project(start: Path) -> Path:
    """The generated project that holds `start`: the nearest folder with template.yaml and the runner."""
    for folder in [start, *start.parents]:
        if (folder / "template.yaml").is_file() and (folder / settings.RUNNER_PACKAGE).is_dir():
            return folder
    raise NotAProject(
        f"no generated project here ({start}): run this inside a folder made by `slsgen new`, which holds "
        f"template.yaml and {settings.RUNNER_PACKAGE}/"
    )


def project_python(project: Path) -> str:
    """The project's interpreter: its .venv, else the active virtual environment."""
    for candidate in (project / ".venv" / "bin" / "python", project / ".venv" / "Scripts" / "python.exe"):
        if candidate.exists():
            return str(candidate)
    active = os.environ.get("VIRTUAL_ENV")
    if active and Path(active).resolve() != Path(sys.prefix).resolve():
        for candidate in (Path(active) / "bin" / "python", Path(active) / "Scripts" / "python.exe"):
            if candidate.exists():
                return str(candidate)
    raise NotAProject(
        f"{project} has no .venv and no other virtual environment is active: run `make install` there first"
    )


# Commands about the whole project take the project's folder first: `slsgen validate path/to/project`.
TAKES_FOLDER = frozenset({"package", "validate"})


def run_in_project(command: str, args: list[str]) -> int:
    """Run `python -m lambda_runner COMMAND ARGS` in the project, with the project's interpreter."""
    start = Path.cwd()
    if command in TAKES_FOLDER and args and not args[0].startswith("-") and Path(args[0]).is_dir():
        start, args = Path(args[0]).resolve(), args[1:]
    project = find_project(start)
    argv = [project_python(project), "-m", settings.RUNNER_PACKAGE, command, *args]
    if os.name == "posix":
        os.chdir(project)
        os.execv(argv[0], argv)  # noqa: S606 - replaces slsgen: signals and exit codes are the runner's own
    import subprocess

    return subprocess.call(argv, cwd=project)
