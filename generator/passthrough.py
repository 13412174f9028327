"""Project commands: run the project's own copy of the local runner with the project's own interpreter.

A function must run with its project's dependencies, never with slsgen's, so `slsgen invoke` and `slsgen
start-api` find the project (the nearest folder holding template.yaml and the runner) and replace themselves
with `<project python> -m lambda_runner ...`. This module imports only what that needs: it runs before the
command line is parsed (see `entry.py`), with `os.path` rather than `pathlib`, whose imports (re, urllib) would be
most of what slsgen loads before it hands over (measured in bench/README.md).
"""

from __future__ import annotations

import os
import sys

from . import settings
from .errors import NotAProject


def find_project(start: str) -> str:
    """The generated project that holds `start`: the nearest folder with template.yaml and the runner."""
    folder = os.path.abspath(start)
    while True:
        if os.path.isfile(os.path.join(folder, "template.yaml")) and os.path.isdir(
            os.path.join(folder, settings.RUNNER_PACKAGE)
        ):
            return folder
        if os.path.dirname(folder) == folder:
            raise NotAProject(
                f"no generated project here ({start}): run this inside a folder made by `slsgen new`, which holds "
                f"template.yaml and {settings.RUNNER_PACKAGE}/"
            )
        folder = os.path.dirname(folder)


def project_python(project: str) -> str:
    """The project's interpreter: its .venv, else the active virtual environment."""
    for candidate in (
        os.path.join(project, ".venv", "bin", "python"),
        os.path.join(project, ".venv", "Scripts", "python.exe"),
    ):
        if os.path.exists(candidate):
            return candidate
    active = os.environ.get("VIRTUAL_ENV")
    if active and os.path.realpath(active) != os.path.realpath(sys.prefix):
        for candidate in (os.path.join(active, "bin", "python"), os.path.join(active, "Scripts", "python.exe")):
            if os.path.exists(candidate):
                return candidate
    raise NotAProject(
        f"{project} has no .venv and no other virtual environment is active: run `make install` there first"
    )


# Commands about the whole project take the project's folder first: `slsgen validate path/to/project`.
TAKES_FOLDER = frozenset({"package", "validate"})


def run_in_project(command: str, args: list[str]) -> int:
    """Run `python -m lambda_runner COMMAND ARGS` in the project, with the project's interpreter."""
    start = os.getcwd()
    if command in TAKES_FOLDER and args and not args[0].startswith("-") and os.path.isdir(args[0]):
        start, args = os.path.abspath(args[0]), args[1:]
    project = find_project(start)
    argv = [project_python(project), "-m", settings.RUNNER_PACKAGE, command, *args]
    if os.name == "posix":
        os.chdir(project)
        os.execv(argv[0], argv)  # noqa: S606 - replaces slsgen: signals and exit codes are the runner's own
    import subprocess

    return subprocess.call(argv, cwd=project)
