"""Generate a project: resolve every answer, render into a temporary folder, then move the result into place.

Nothing is written before every answer has passed its check, and the target is only touched once the whole
project has rendered; placing it is all or nothing (`placement`), so a failure leaves the folder as it was. With
`force`, files the blueprint produces replace those at the same paths; of the files it does not produce, only an
earlier generation's unchanged ones are removed. Every file-system error becomes a `WriteFailed`, one line.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from . import settings
from . import trust as trusted
from .blueprints import Blueprint, load_blueprint
from .errors import InvalidOption, OutputDirInvalid, SlsgenError, TargetExists, WriteFailed
from .options import Question, check_env, check_project_name
from .placement import new_workdir, open_journal, place, recover, remove_workdir
from .render import evaluate, render
from .snapshot import PENDING
from .vcs import GitResult, init_repository

Ask = Callable[[Question], Any]
P = ParamSpec("P")
T = TypeVar("T")


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


def check_output_dir(output_dir: Path) -> None:
    """Refuse an output folder that is a file, or lies under one: it could never hold the project."""
    for folder in [output_dir, *output_dir.parents]:
        if os.path.lexists(folder):
            if folder.is_symlink() and not folder.exists():
                raise OutputDirInvalid(
                    f"output folder {folder} is a symbolic link to {os.readlink(folder)}, which does not exist: "
                    "create that folder or choose another --output-dir"
                )
            if not folder.is_dir():
                raise OutputDirInvalid(
                    f"output folder {folder} is a file, not a folder: choose a folder with --output-dir"
                )
            return


def check_target(target: Path, force: bool) -> None:
    """Refuse a target that holds anything, unless forced; refuse a file or a dangling link in any case."""
    if target.is_symlink() and not target.exists():
        raise TargetExists(
            f"{target} is a symbolic link to {os.readlink(target)}, which does not exist: remove the link or choose "
            "another name"
        )
    if target.exists() and not target.is_dir():
        raise TargetExists(f"{target} is a file: choose another project name or --output-dir")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise TargetExists(
            f"{target} exists and is not empty: choose another name or --output-dir, or pass --force to overwrite "
            "the files this blueprint generates (other files are kept)"
        )
    added = added_functions(target)
    if added:
        raise TargetExists(
            f"{target} has functions added with slsgen add ({', '.join(added)}), which a new generation would drop: "
            "bring the project up to date with `slsgen update` instead"
        )


def added_functions(target: Path) -> list[str]:
    """The names of the functions `slsgen add` added to the project in `target` (none when it has no record)."""
    try:
        record = json.loads((target / settings.RECORD_NAME).read_text(encoding="utf-8"))
        return [str(function["name"]) for function in record.get("functions", [])]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return []


@dataclass(frozen=True)
class Generation:
    """A generated project: its folder, and under --force the earlier generation's files it removed or kept.

    `kept` lists files an earlier generation made that the new one does not, and that were changed since: they
    are left for the user to delete or keep. `notes` are one-line facts for the user (a pending update discarded).
    """

    path: Path
    removed: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    git: GitResult | None = None
    notes: tuple[str, ...] = ()


def generate_project(
    blueprint: str | Blueprint,
    name: str | None,
    *,
    output_dir: str | os.PathLike[str] = ".",
    options: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    force: bool = False,
    ask: Ask | None = None,
    git: bool = False,
    trust: bool = False,
) -> Generation:
    """Render `blueprint` into `output_dir/name`; return the project's folder and the stale files it handled.

    `options` holds answers by question name (runtime settings such as `memory` and the blueprint's own
    questions alike); `env` the function's environment variables. `ask` prompts for what is not given (and for
    `name`, when it is None). A blueprint from an untrusted source that
    would run code (its `checks`) is refused unless `trust` (see `trust.require`). With `git`, the project becomes
    a repository with one first commit before it is moved into place (`vcs`: a problem there is a note in
    `Generation.git`, never an error). Raises an `SlsgenError` subclass, with nothing written,
    on any bad input and on any failure of the file system.
    """
    loaded = blueprint if isinstance(blueprint, Blueprint) else load_blueprint(blueprint)
    trusted.require(loaded.name, loaded.chain, trusted.blueprint_code(loaded), trust)  # before any prompt
    project = project_name(loaded, name, ask)
    answers = resolve_answers(loaded, options, env, ask)
    return generate_into(
        output_dir, project, lambda workdir: render(loaded, project, answers, workdir), force=force, git=git
    )


def project_name(blueprint: Blueprint, name: str | None, ask: Ask | None) -> str:
    """The project's name: `name` checked, else asked (`ask`: it is a question like the others), else refused."""
    if name is not None:
        return check_project_name(name, blueprint.max_name_length)
    if ask is None:
        raise InvalidOption(f"name the project: slsgen new {blueprint.name} NAME (lowercase letters, digits, hyphens)")

    def check(value: str) -> None:
        check_project_name(value, blueprint.max_name_length)

    question = Question("project_name", "str", f"my-{blueprint.name}", "Project name", check=check)
    answer: str = ask(question)
    return answer


def generate_into(
    output_dir: str | os.PathLike[str],
    name: str | None,
    render_into: Callable[[Path], Path],
    *,
    force: bool,
    git: bool,
) -> Generation:
    """Render with `render_into(workdir)` in a locked work folder beside the target, then place the result there.

    `name` is the target folder's; None when the renderer names it (a cookiecutter template's project folder):
    then the target is checked once it is known, before anything is placed. Whatever killed runs left for the
    target is recovered first (`placement.recover`). Under `force`, an update waiting for `--continue` in the
    target is discarded in the same transaction: the new generation's records replace it.
    """
    requested = Path(output_dir).expanduser()
    try:
        check_output_dir(requested)
        where = requested.resolve()  # where the target's name stands; `home` is the folder written (a link's)
        created = [folder for folder in [where, *where.parents] if not folder.exists()]
        home = prepare_target(where, name, force) if name is not None else None
        parent = home.parent if home is not None else where
    except OSError as exc:  # a folder on the way that cannot be read
        raise WriteFailed(f"cannot use {requested}: {describe(exc)}; choose another --output-dir") from None
    try:
        parent.mkdir(parents=True, exist_ok=True)
        workdir, held = new_workdir(parent, f".{name}.slsgen-" if name else ".slsgen-")  # locked: in use
    except OSError as exc:
        remove_created(created)
        raise WriteFailed(
            f"cannot write into {parent}: {exc.strerror or exc}; choose another --output-dir (nothing was written)"
        ) from None
    step = "rendering the blueprint"
    try:
        rendered = render_into(workdir)
        if home is None:  # named by the renderer: the work folder takes the name too, so recovery can find it
            named = workdir.with_name(f".{rendered.name}{workdir.name}")
            os.rename(workdir, named)
            rendered, workdir = named / rendered.relative_to(workdir), named
            name, home = rendered.name, prepare_target(where, rendered.name, force)
        pending = force and (home / PENDING).is_dir()
        repository = init_repository(rendered, home) if git else None
        step = "placing the project"
        with open_journal(workdir, home) as log:
            retired = place(
                rendered, home, workdir / "replaced", log, discard=(PENDING,) if pending else (), force=force
            )
    except BaseException as exc:
        if not holds_files(workdir / "replaced"):  # an undo that failed leaves the user's originals there
            remove_workdir(workdir)
        remove_created(created)
        if isinstance(exc, OSError):
            raise WriteFailed(f"{step} failed: {describe(exc)}; nothing was written") from None
        raise
    finally:
        if held is not None:
            os.close(held)
    remove_workdir(workdir)
    notes = (f"discarded the update of {home.name} that waited for `slsgen update --continue`",) if pending else ()
    return Generation(where / str(name), retired.removed, retired.kept, repository, notes)


def in_workdir(project: Path, task: str, doing: str, action: Callable[[Path], T]) -> T:
    """Run `action` with a temporary folder beside the existing `project` (`.NAME.slsgen-TASK-*`: the same file
    system, so placing is renames; the name recovery looks for).

    The folder is held locked while it is in use, so that a run that starts meanwhile leaves it alone, and
    removed afterwards, unless a placement failed and could not put everything back: then it holds the user's
    originals, and the error names it. An OSError is one line, `doing` what failed.
    """
    try:
        workdir, held = new_workdir(project.parent, f".{project.name}.slsgen-{task}-")
    except OSError as exc:
        raise WriteFailed(f"cannot write beside {project}: {describe(exc)}; nothing was changed") from None
    try:
        result = action(workdir)
    except BaseException as exc:
        if not holds_files(workdir / "replaced"):
            remove_workdir(workdir)
        if isinstance(exc, OSError) and not isinstance(exc, SlsgenError):
            raise WriteFailed(f"{doing} failed: {describe(exc)}; nothing was changed") from None
        raise
    finally:
        if held is not None:
            os.close(held)
    remove_workdir(workdir)  # the placement is done: the originals it replaced are history
    return result


def prepare_target(parent: Path, name: str, force: bool) -> Path:
    """The folder a project named `name` goes to in `parent` (a link's target, when the name is a link to a folder),
    after what killed runs for it left is recovered; refused when it holds anything and `force` is not given."""
    target = parent / name
    home = target.resolve() if target.is_symlink() else target  # a link to a folder: write into that folder
    if home.parent.is_dir():
        recover(home.parent, name, home)  # what killed runs left: their work folders, a half-placed project
    check_target(target, force)
    return home


def _path_only(generate: Callable[P, Generation]) -> Callable[P, Path]:
    """`generate` returning only the project's folder: its parameters are `generate`'s, declared once there, so
    the two public functions can never drift apart (type checkers see them through P, `help()` through
    `__signature__`)."""

    def new_project(*args: P.args, **kwargs: P.kwargs) -> Path:
        """Render `blueprint` into `output_dir/name` and return the project's path (see `generate_project`)."""
        return generate(*args, **kwargs).path

    new_project.__signature__ = inspect.signature(generate).replace(return_annotation="Path")  # type: ignore[attr-defined]
    return new_project


new_project = _path_only(generate_project)


def describe(exc: OSError) -> str:
    """An operating-system error as one short line: the path and the reason (shutil's errors come as lists)."""
    problems = exc.args[0] if isinstance(exc, shutil.Error) and exc.args else None
    if isinstance(problems, list) and problems and len(problems[0]) == 3:
        source, _, why = problems[0]
        return f"{source}: {why}"
    reason = exc.strerror or str(exc).splitlines()[0][:200]
    return f"{exc.filename}: {reason}" if exc.filename else reason


def holds_files(folder: Path) -> bool:
    return any(path.is_file() for path in folder.rglob("*"))


def remove_created(created: list[Path]) -> None:
    """Remove the output folders this generation created, when they are still empty."""
    for folder in created:
        try:
            if folder.exists() and not any(folder.iterdir()):
                folder.rmdir()
        except OSError:
            continue
