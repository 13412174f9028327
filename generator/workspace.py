"""Work the command line does around the library: gather answers from flags and prompts, find a project.

`generate` turns the `new` command's flags into one `new_project` call (prompting in a terminal for what is
missing); `run_in_project` runs the project's own copy of the local runner with the project's own interpreter,
so that a function always runs with its project's dependencies, never with slsgen's.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import settings
from .errors import InvalidOption, NotAProject
from .options import parse_pairs

if TYPE_CHECKING:
    from .blueprints import Blueprint


def generate(
    blueprint: str | None,
    name: str | None,
    *,
    output_dir: Path,
    flags: Mapping[str, Any],
    set_pairs: list[str],
    env_pairs: list[str],
    force: bool,
    interactive: bool,
) -> tuple[Path, Blueprint]:
    """Collect the answers of `slsgen new` and generate the project; return it and the blueprint used."""
    from .blueprints import builtin_names, load_blueprint
    from .project import new_project, parse_env

    options = {key: value for key, value in flags.items() if value is not None}
    for key, value in parse_pairs(set_pairs, "--set").items():
        if key in options:
            raise InvalidOption(f"{key} is given twice (as a flag and with --set); keep one")
        options[key] = value
    env = parse_env(env_pairs)
    if blueprint is None:
        if not interactive:
            raise InvalidOption(
                f"name a blueprint: slsgen new BLUEPRINT NAME, with one of {', '.join(builtin_names())}"
            )
        from .console import choose_blueprint

        blueprint = choose_blueprint()
    loaded = load_blueprint(blueprint)
    ask = None
    if interactive:
        from .console import ask_name, ask_question

        ask = ask_question
        if name is None:
            name = ask_name(f"my-{loaded.name}", loaded.max_name_length)
    if name is None:
        raise InvalidOption(f"name the project: slsgen new {blueprint} NAME (lowercase letters, digits, hyphens)")
    project = new_project(loaded, name, output_dir=output_dir, options=options, env=env, force=force, ask=ask)
    return project, loaded


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


def run_in_project(command: str, args: list[str]) -> int:
    """Run `python -m lambda_runner COMMAND ARGS` in the project, with the project's interpreter."""
    project = find_project(Path.cwd())
    argv = [project_python(project), "-m", settings.RUNNER_PACKAGE, command, *args]
    if os.name == "posix":
        os.chdir(project)
        os.execv(argv[0], argv)  # noqa: S606 - replaces slsgen: signals and exit codes are the runner's own
    import subprocess

    return subprocess.call(argv, cwd=project)
