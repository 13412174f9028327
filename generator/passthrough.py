"""Project commands: run the project's own local runner with the project's own interpreter.

A function must run with its project's dependencies, never with slsgen's, so `slsgen invoke` and `slsgen
start-api` find the project (the nearest folder holding template.yaml), and replace themselves with `<project
python> -m lambda_runner ...`: the runner installed in the project's environment (its test dependency group),
which names itself `slsgen` in its usage lines. This module imports only what that needs: it runs before the
command line is parsed (see `entry.py`), with `os.path` rather than `pathlib`, whose imports (re, urllib) would be
most of what slsgen loads before it hands over.
"""

from __future__ import annotations

import os
import sys

from . import settings
from .errors import NotAProject

TEMPLATES = ("template.yaml", "template.yml")
# The runner's command line reads this for its usage lines: `slsgen invoke`, not `python -m lambda_runner invoke`.
PROG_VARIABLE = "LAMBDA_RUNNER_PROG"


def find_project(start: str) -> str:
    """The project that holds `start`: the nearest folder with a SAM template."""
    folder = os.path.abspath(start)
    while True:
        if any(os.path.isfile(os.path.join(folder, name)) for name in TEMPLATES):
            return folder
        if os.path.dirname(folder) == folder:
            raise NotAProject(
                f"no project here ({start}): run this inside a folder made by `slsgen new` (or any folder holding "
                "a SAM template.yaml)"
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


def has_runner(python: str) -> bool:
    """Whether the environment of `python` (a venv's) holds the runner (installed, or editable: its dist-info);
    True when that cannot be told offhand (no site-packages found, or the venv sees the system's packages)."""
    prefix = os.path.dirname(os.path.dirname(python))
    try:
        with open(os.path.join(prefix, "pyvenv.cfg"), encoding="utf-8") as config:
            if "include-system-site-packages = true" in config.read().lower():
                return True
    except OSError:
        return True
    libraries = [os.path.join(prefix, "Lib", "site-packages")]
    lib = os.path.join(prefix, "lib")
    if os.path.isdir(lib):
        libraries += [os.path.join(lib, name, "site-packages") for name in os.listdir(lib)]
    found = [folder for folder in libraries if os.path.isdir(folder)]
    marker = settings.RUNNER_DISTRIBUTION.replace("-", "_") + "-"
    return not found or any(
        name.startswith(marker) and name.endswith(".dist-info") for folder in found for name in os.listdir(folder)
    )


# The commands the runner answers, in the order `slsgen --help` lists them, each with that list's line and its examples:
# the one table of them (`entry.py` hands them over before Typer is imported, `cli.py` lists them). All but `event`
# run in the project's environment; `event` builds a sample event, which needs no project: slsgen's own runner does.
RUNNER_COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "invoke": (
        "Invoke the project's function locally, as Lambda would (run inside a generated project).",
        ("slsgen invoke -e events/hello.json", "slsgen invoke --repeat 100", "slsgen invoke --help"),
    ),
    "start-api": (
        "Serve the project's HTTP API locally on 127.0.0.1 (run inside a generated project).",
        ("slsgen start-api --port 3000",),
    ),
    "package": (
        "Build the project's deployable zip, dist/<project>.zip, for Lambda's platform, without Docker: [DIR].",
        ("slsgen package", "slsgen package path/to/project"),
    ),
    "validate": (
        "Check the project offline (template, SAM transform, handler, limits, IAM, events, CI files): [DIR].",
        ("slsgen validate", "slsgen validate path/to/project"),
    ),
    "event": (
        "Print a realistic sample event: SOURCE KIND [--field value ...].",
        ('slsgen event s3 put --bucket photos --key "uploads/my photo.jpg"', "slsgen event --help"),
    ),
}
NEEDS_NO_PROJECT = frozenset({"event"})
# Commands about the whole project take the project's folder first: `slsgen validate path/to/project`.
TAKES_FOLDER = frozenset({"package", "validate"})


def run(command: str, args: list[str]) -> int:
    """Run one of `RUNNER_COMMANDS` with `args`: in the project's environment, or (`event`) with slsgen's runner."""
    if command in NEEDS_NO_PROJECT:
        from lambda_runner.cli import main as runner_main

        return runner_main([command, *args], prog="slsgen")
    return run_in_project(command, args)


def run_in_project(command: str, args: list[str]) -> int:
    """Run `python -m lambda_runner COMMAND ARGS` in the project, with the project's interpreter.

    `--help` is answered wherever slsgen runs: outside a project, by slsgen's own copy of the runner.
    """
    start = os.getcwd()
    if command in TAKES_FOLDER and args and not args[0].startswith("-") and os.path.isdir(args[0]):
        start, args = os.path.abspath(args[0]), args[1:]
    wants_help = "-h" in args or "--help" in args
    try:
        project = find_project(start)
        python = project_python(project)
        if not has_runner(python):
            raise NotAProject(
                f"the environment of {python} has no {settings.RUNNER_DISTRIBUTION}: run `make install` in "
                f"{project} (or add {settings.RUNNER_DISTRIBUTION} to its development dependencies)"
            )
    except NotAProject:
        if not wants_help:
            raise
        from lambda_runner.cli import main as runner_main

        return runner_main([command, *args], prog="slsgen")
    argv = [python, "-m", settings.RUNNER_PACKAGE, command, *args]
    os.environ[PROG_VARIABLE] = "slsgen"
    if os.name == "posix":
        os.chdir(project)
        os.execv(argv[0], argv)  # noqa: S606 - replaces slsgen: signals and exit codes are the runner's own
    import subprocess

    return subprocess.call(argv, cwd=project)
