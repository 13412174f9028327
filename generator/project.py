"""Generate a project: resolve every answer, render into a temporary folder, then move the result into place.

Nothing is written before every answer has passed its check, and the target is only touched once the whole
project has rendered: a failure leaves no partial folder. With `force`, files the blueprint produces replace
those at the same paths; files it does not produce are never deleted.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .blueprints import Blueprint, load_blueprint
from .errors import InvalidOption, TargetExists
from .options import Question, check_env, check_project_name, parse_pairs
from .render import evaluate, render

Ask = Callable[[Question], Any]


def resolve_answers(
    blueprint: Blueprint,
    given: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    ask: Ask | None = None,
) -> dict[str, Any]:
    """Every question's answer: given, else asked (when `ask` is set and the question prompts), else its default.

    Unknown keys are refused with the list of valid ones (a typo must never pass silently), and so is an answer
    to a question that does not apply given the others (its `when`).
    """
    given = dict(given or {})
    questions = blueprint.all_questions()
    valid = [question.name for question in questions]
    unknown = [key for key in given if key not in valid]
    if unknown:
        raise InvalidOption(f"unknown option {unknown[0]!r} for {blueprint.name}; valid options: {', '.join(valid)}")
    answers: dict[str, Any] = {}
    for question in questions:
        applies = question.when is None or evaluate(question.when, answers)
        if not applies:
            if question.name in given:
                raise InvalidOption(f"option {question.name} applies only when {question.when}; drop it")
            answers[question.name] = question.default
        elif question.name in given:
            answers[question.name] = question.convert(given[question.name])
        elif ask is not None and question.prompt:
            answers[question.name] = ask(question)
        else:
            answers[question.name] = question.default
    blueprint.check_answers(answers)
    environment = dict(env or {})
    check_env(environment)
    answers["env"] = environment
    return answers


def check_target(target: Path, force: bool) -> None:
    """Refuse a target that holds anything, unless forced; refuse a target that is a file in any case."""
    if target.exists() and not target.is_dir():
        raise TargetExists(f"{target} is a file: choose another project name or --output-dir")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise TargetExists(
            f"{target} exists and is not empty: choose another name or --output-dir, or pass --force to overwrite "
            "the files this blueprint generates (other files are kept)"
        )


def place(rendered: Path, target: Path) -> None:
    """Move the rendered project to its target: one rename when the target is new, else file by file."""
    if not target.exists() or (target.is_dir() and not any(target.iterdir())):
        if target.exists():
            target.rmdir()
        os.replace(rendered, target)
        return
    for source in sorted(rendered.rglob("*")):
        destination = target / source.relative_to(rendered)
        if source.is_dir():
            if destination.exists() and not destination.is_dir():
                raise TargetExists(f"{destination} is a file where the blueprint makes a folder; move it away")
            destination.mkdir(exist_ok=True)
        else:
            if destination.is_dir():
                raise TargetExists(f"{destination} is a folder where the blueprint makes a file; move it away")
            os.replace(source, destination)


def new_project(
    blueprint: str | Blueprint,
    name: str,
    *,
    output_dir: str | os.PathLike[str] = ".",
    options: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    force: bool = False,
    ask: Ask | None = None,
) -> Path:
    """Render `blueprint` into `output_dir/name` and return the project's path.

    `options` holds answers by question name (runtime settings such as `memory` and the blueprint's own
    questions alike); `env` the function's environment variables. Raises an `SlsgenError` subclass, with nothing
    written, on any bad input.
    """
    loaded = blueprint if isinstance(blueprint, Blueprint) else load_blueprint(blueprint)
    check_project_name(name, loaded.max_name_length)
    answers = resolve_answers(loaded, options, env, ask)
    parent = Path(output_dir).expanduser().resolve()
    target = parent / name
    check_target(target, force)
    created = [folder for folder in [parent, *parent.parents] if not folder.exists()]
    parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f".{name}.slsgen-", dir=parent))
    try:
        rendered = render(loaded, name, answers, workdir)
        place(rendered, target)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        for folder in created:
            if folder.exists() and not any(folder.iterdir()):
                folder.rmdir()
        raise
    shutil.rmtree(workdir, ignore_errors=True)
    return target


def parse_env(pairs: list[str]) -> dict[str, str]:
    """`--env KEY=VALUE` flags as a dict, checked as Lambda checks them."""
    env = parse_pairs(pairs, "--env")
    check_env(env)
    return env
