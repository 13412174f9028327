"""Render a blueprint into a folder, with cookiecutter's context and generate functions.

The layers (skeleton, then each blueprint) are assembled into one temporary cookiecutter template whose
`cookiecutter.json` holds answers slsgen has already asked and checked, so cookiecutter never prompts and never
writes replay files into the user's home. Every layer is also reachable from Jinja as `<layer>/<path>`, which is
how a blueprint file `{% extends %}` the file it replaces. After rendering come the steps cookiecutter has no
notion of: manifest exclusions, sample events from the runner's single source, the runner's wheel (a
development dependency of the project, with its hash pin), the `.slsgen.json` record, and ruff, so that every
generated project passes `ruff check` and `ruff format --check`.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from . import __version__, children, deploy_role, paths, settings, snapshot, trust
from .blueprints import Blueprint
from .confine import confined
from .errors import BlueprintInvalid, InvalidOption, RenderError
from .expressions import evaluate, sandbox
from .handler_check import check_rendered_handler
from .manifest import SAFE_LOADER, Event
from .options import DerivedContext

__all__ = ["evaluate", "render"]

BINARY_GLOBS = ["*.png", "*.jpg", "*.jpeg", "*.gif", "*.webp", "*.ico", "*.zip", "*.gz", "*.pdf", "*.mp3"]
PROJECT_DIR = "{{cookiecutter.project_name}}"
CHECK_TIMEOUT_S = 120


def requirements(entries: list[str], answers: dict[str, Any]) -> list[str]:
    """A manifest's `dependencies` (or `dev_dependencies`) for these answers: each entry is a sandboxed Jinja
    template over them (`cookiecutter.<answer>`), and one that renders empty is left out."""
    env = sandbox()
    rendered = (env.from_string(entry).render(cookiecutter=answers).strip() for entry in entries)
    return [entry for entry in rendered if entry]


def with_tracer(dependencies: list[str], tracing: bool) -> list[str]:
    """The function's requirements with Powertools' Tracer when tracing is on: the `tracer` extra on the
    blueprint's own Powertools requirement, else slsgen's (settings.TRACER_REQUIREMENT)."""
    if not tracing:
        return dependencies
    name = re.compile(rf"^{re.escape(settings.POWERTOOLS)}(?![\w.-])(\[[^\]]*\])?", re.IGNORECASE)
    traced = []
    for dependency in dependencies:
        match = name.match(dependency.replace("_", "-"))
        if match is None:
            traced.append(dependency)
            continue
        extras = {extra.strip() for extra in (match.group(1) or "[]")[1:-1].split(",") if extra.strip()}
        traced.append(f"{settings.POWERTOOLS}[{','.join(sorted(extras | {'tracer'}))}]{dependency[match.end() :]}")
    if not any(name.match(dependency) for dependency in traced):
        traced.append(settings.TRACER_REQUIREMENT)
    return traced


def build_context(blueprint: Blueprint, project_name: str, answers: dict[str, Any]) -> dict[str, Any]:
    """Everything templates can use: the answers plus values derived from them once, here."""
    module, function = answers["handler"].rsplit(".", 1)
    variables = {**answers, "project_name": project_name}
    derived: DerivedContext = {
        "project_name": project_name,
        "description": blueprint.description,
        "blueprint": blueprint.name,
        "blueprint_title": blueprint.title,
        "blueprint_version": blueprint.version,
        "slsgen_version": __version__,
        "function_id": blueprint.function_id,
        "handler_module": module,
        "handler_function": function,
        "python_version": answers["runtime"].removeprefix("python"),
        "wheel_arch": settings.WHEEL_ARCH[answers["architecture"]],
        "log_format_cfn": "JSON" if answers["log_format"] == "json" else "Text",
        "log_retention_days": settings.LOG_RETENTION_DAYS,
        "dependencies": with_tracer(requirements(blueprint.dependencies, variables), answers["tracing"]),
        "dev_dependencies": requirements(blueprint.dev_dependencies, variables),
        "events": [event.file for event in applicable_events(blueprint, answers)],
        "runner": settings.RUNNER_PACKAGE,
        "runner_distribution": settings.RUNNER_DISTRIBUTION,
        "runner_version": runner_version(),
        "runner_wheel": f"{settings.RUNNER_WHEELS}/{paths.runner_wheel().name}",
        "runner_wheels": settings.RUNNER_WHEELS,
    }
    return {**answers, **derived}


def applicable_events(blueprint: Blueprint, answers: dict[str, Any]) -> list[Event]:
    return [event for event in blueprint.events if event.when is None or evaluate(event.when, answers)]


def assemble(blueprint: Blueprint, stage: Path, context: dict[str, Any]) -> None:
    """Lay the layers into one cookiecutter template in `stage`, each layer copied once: into `templates/<layer>`,
    where `{% extends "<layer>/<path>" %}` finds it. The project folder cookiecutter renders is made of hard links
    to the files that win (a later layer's replaces an earlier one's at the same path), without the files the
    manifest excludes for these answers and those a `repeat` renders itself: nothing is rendered to be deleted."""
    ignore = shutil.ignore_patterns(
        settings.MANIFEST_NAME, settings.AUTHOR_NOTES, "__pycache__", "*.pyc", *settings.VCS_NAMES
    )
    winners: dict[str, Path] = {}
    for layer in blueprint.layers:
        copy = stage / "templates" / layer.name
        shutil.copytree(layer.path, copy, ignore=ignore)
        winners.update((path.relative_to(copy).as_posix(), path) for path in copy.rglob("*") if path.is_file())
    repeated = {rule.source for rule in blueprint.repeat}
    leave_out = exclusions(blueprint, context)
    project = stage / PROJECT_DIR
    for relative, source in sorted(winners.items()):
        if relative in repeated or leave_out(rendered_name(relative, context)):
            continue
        target = project / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(source, target)
    cookiecutter_json = {**context, "_copy_without_render": BINARY_GLOBS}
    (stage / "cookiecutter.json").write_text(json.dumps(cookiecutter_json), encoding="utf-8")


def exclusions(blueprint: Blueprint, answers: dict[str, Any]) -> Callable[[str], bool]:
    """Whether a project path is left out: it, or a folder it is in, matches an `exclude` rule that applies."""
    globs = [rule.path for rule in blueprint.exclude if rule.when is None or evaluate(rule.when, answers)]

    def excluded(relative: str) -> bool:
        paths = [relative, *(folder.as_posix() for folder in PurePosixPath(relative).parents if folder.parts)]
        return any(fnmatch.fnmatch(path, glob) for glob in globs for path in paths)

    return excluded


def rendered_name(relative: str, context: dict[str, Any]) -> str:
    """A template file's path as cookiecutter will name it (`src/{{cookiecutter.handler_module}}.py`: `src/app.py`);
    a name that does not render is left for cookiecutter to report."""
    if "{" not in relative:
        return relative
    try:
        return sandbox().from_string(relative).render(cookiecutter=context)
    except Exception:  # reported by cookiecutter, with its context, when it renders the name
        return relative


def layer_file(blueprint: Blueprint, relative: str) -> str:
    """The blueprint file a staged file came from: the last layer that has it."""
    for layer in reversed(blueprint.layers):
        if (layer.path / relative).is_file():
            return str(layer.path / relative)
    return relative


def run_cookiecutter(stage: Path, output_dir: Path) -> Path:
    """Render the assembled template with cookiecutter's library (no prompts, no hooks, no replay)."""
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.generate import generate_context, generate_files
    from jinja2 import TemplateError

    try:
        context = generate_context(context_file=str(stage / "cookiecutter.json"))
        with trust.sandboxed_cookiecutter():
            project = generate_files(
                repo_dir=str(stage), context=context, output_dir=str(output_dir), accept_hooks=False
            )
    except (CookiecutterException, TemplateError) as exc:
        cause = getattr(exc, "error", None) or exc
        raise RenderError(f"rendering the blueprint failed: {describe_failure(cause)}; nothing was written") from None
    except RecursionError as exc:
        raise RenderError(f"rendering the blueprint failed: {recursion_message(exc)}; nothing was written") from None
    except UnicodeDecodeError as exc:  # a file reached through {% extends %} / {% include %}: not checked before
        raise BlueprintInvalid(undecodable(exc, stage / "templates")) from None
    return Path(project)


def describe_failure(exc: BaseException) -> str:
    """cookiecutter's exception as the fact it stands for (some carry no message, or hide the missing key)."""
    from cookiecutter.exceptions import FailedHookException, NonTemplatedInputDirException, UndefinedVariableInTemplate

    if isinstance(exc, NonTemplatedInputDirException):
        return (
            "it has no templated folder (a folder beside cookiecutter.json named like {{cookiecutter.project_slug}}, "
            "which cookiecutter renders into the project): add one"
        )
    if isinstance(exc, UndefinedVariableInTemplate):
        detail = str(getattr(exc.error, "message", None) or exc.error)
        found = re.search(r"has no attribute '([^']+)'|'([^']+)' is undefined", detail)
        missing = next((group for group in found.groups() if group), None) if found else None
        what = f"it uses {missing!r}, which its context does not define" if missing else detail
        return f"{exc.message}: {what}; add {missing or 'it'} to cookiecutter.json or fix the template"
    if isinstance(exc, FailedHookException):
        hook = frame_value(exc, "run_hook_from_repo_dir", "hook_name") or "a"
        return f"its {hook} hook failed ({exc}; the hook's own output is above)"
    text = str(getattr(exc, "message", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def undecodable(exc: UnicodeDecodeError, root: Path) -> str:
    """The one line for a template Jinja could not read as UTF-8, named as templates name it (`<layer>/<path>`)."""
    filename = frame_value(exc, "get_source", "filename")
    shown = (
        Path(filename).relative_to(root).as_posix() if filename and Path(filename).is_relative_to(root) else filename
    )
    return f"the template {shown or '(unknown)'} is not UTF-8 text (offset {exc.start}): save it as UTF-8"


def check_text_files(template: Path, context: dict[str, Any], label: str, fix: str, layers: Any = None) -> None:
    """Refuse, before cookiecutter renders anything, a file it would render as text that is not UTF-8 (Jinja
    reads templates as UTF-8): one line naming the file and `fix`. Files cookiecutter copies as they are stay
    allowed: those `_copy_without_render` lists, and binary ones (`binaryornot`, cookiecutter's own test).
    `layers(relative)` names the blueprint file a staged file came from."""
    from binaryornot.check import is_binary
    from cookiecutter.generate import is_copy_only_path

    for current, dirs, files in os.walk(template):
        folder = Path(current).relative_to(template)
        dirs[:] = [name for name in dirs if not is_copy_only_path(os.path.normpath(folder / name), context)]
        for name in files:
            relative = os.path.normpath(folder / name)
            path = Path(current) / name
            if is_copy_only_path(relative, context):
                continue
            data = path.read_bytes()
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                if is_binary(str(path)):
                    continue
                shown = layers(relative) if layers is not None else relative
                raise BlueprintInvalid(
                    f"{label}: {shown} is not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start}): {fix}"
                ) from None


def frame_value(exc: BaseException, function: str, name: str) -> Any:
    """The local `name` of the innermost call of `function` in the traceback of `exc` (None when there is none):
    which file cookiecutter was rendering, or which hook it ran, when its exception does not say."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == function:
            found = tb.tb_frame.f_locals.get(name, found)
        tb = tb.tb_next
    return found


def recursion_message(exc: RecursionError) -> str:
    """A template that never ends rendering: a file that `{% extends %}` or `{% include %}`s itself (directly,
    or through a layer of the same name), or a macro that calls itself."""
    infile = frame_value(exc, "generate_file", "infile")
    where = f"{infile}: " if infile else ""
    return (
        f"{where}a template that never ends: a file that extends or includes itself (directly or through others), "
        "or a macro that calls itself; fix that template"
    )


def render_repeats(blueprint: Blueprint, stage: Path, project: Path, context: dict[str, Any]) -> None:
    """Render each `repeat` template once per item of a list answer (one interaction model per locale, say)."""
    if not blueprint.repeat:
        return
    from jinja2 import FileSystemLoader, TemplateError

    env = trust.sandboxed_environment({"cookiecutter": context}, keep_trailing_newline=True)
    env.loader = FileSystemLoader(str(stage / "templates"))
    leave_out = exclusions(blueprint, context)
    for rule in blueprint.repeat:
        if rule.when is not None and not evaluate(rule.when, context):
            continue
        items = context[rule.for_each]  # a list question's answer (checked when the blueprint loaded)
        layer = next(layer for layer in reversed(blueprint.layers) if (layer.path / rule.source).is_file())
        try:
            template = env.get_template(f"{layer.name}/{rule.source}")
            for item in items:
                variables = {"cookiecutter": context, rule.alias: item}
                relative = env.from_string(rule.target).render(**variables)
                trust.check_path(relative, blueprint.name)
                if leave_out(relative):
                    continue
                target = project / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(template.render(**variables), encoding="utf-8")
        except TemplateError as exc:
            raise RenderError(f"blueprint {blueprint.name}: repeat {rule.source}: {exc}; nothing was written") from None
        except UnicodeDecodeError as exc:
            raise BlueprintInvalid(f"blueprint {blueprint.name}: {undecodable(exc, stage / 'templates')}") from None


def write_events(blueprint: Blueprint, project: Path, context: dict[str, Any]) -> None:
    """Sample events come from the runner's event builders: the same source as `lambda_runner event`."""
    from lambda_runner import RunnerError
    from lambda_runner.events.catalog import build_event

    env = sandbox()
    for event in applicable_events(blueprint, context):
        fields = {key: env.from_string(str(value)).render(cookiecutter=context) for key, value in event.fields.items()}
        try:
            literal = event.literal is not None
            payload = event.literal if literal else build_event(str(event.source), str(event.kind), fields)
        except RunnerError as exc:
            raise RenderError(f"blueprint {blueprint.name}: event {event.file}: {exc}") from None
        target = project / event.file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def runner_version() -> str:
    """The version of the runner's wheel: `slsgen_runner-1.1.0-py3-none-any.whl` gives 1.1.0."""
    return paths.runner_wheel().name.split("-")[1]


def add_runner_wheel(project: Path) -> None:
    """The runner's wheel in `.slsgen/wheels/`, and its pin with the wheel's hash, which the installers check.

    The project depends on the runner (its test group names `slsgen-runner==<version>`); until the runner is on
    the package index the wheel travels with the project. `requirements.txt` beside it is the pin pip and uv
    verify (`--find-links .slsgen/wheels -r .slsgen/wheels/requirements.txt`), so the wheel can be neither
    swapped nor stale; `[tool.uv.sources]` names the same file for `uv sync` and a lock.
    """
    wheel = paths.runner_wheel()
    folder = project / settings.RUNNER_WHEELS
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(wheel, folder / wheel.name)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (folder / "requirements.txt").write_text(
        "# The local runner, from the wheel beside this file; its hash is checked at every install (see README.md).\n"
        f"{settings.RUNNER_DISTRIBUTION}=={runner_version()} --hash=sha256:{digest}\n",
        encoding="utf-8",
    )


def format_python(project: Path) -> None:
    """Format the generated Python with ruff and the project's own configuration (its target Python version).

    Templates must already pass `ruff check` unchanged: the end-to-end tests check every blueprint, which keeps
    generation to one ruff process.
    """
    from ruff.__main__ import find_ruff_bin

    command = [find_ruff_bin(), "format", "--no-cache", "--quiet", "."]
    result = children.run(command, cwd=project, capture_output=True, text=True)
    if result.returncode != 0:
        raise RenderError(f"ruff could not format the generated project: {result.stderr.strip()[-300:]}")


def _mapping_value(node: Any, key: str) -> Any:
    """The value node of `key` in a composed YAML mapping node, or None."""
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((value for name, value in node.value if getattr(name, "value", None) == key), None)


def check_environment(blueprint: Blueprint, project: Path, env: dict[str, str]) -> None:
    """Refuse an `--env` key the blueprint's template sets itself: YAML would hold the key twice (cfn-lint E0000).

    The template is composed, not loaded: composing keeps both keys and needs no constructor for `!Ref` and co.
    """
    template = project / "template.yaml"
    if not env or not template.is_file():
        return
    node = yaml.compose(template.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    for key in ("Resources", blueprint.function_id, "Properties", "Environment", "Variables"):
        node = _mapping_value(node, key)
    keys = [getattr(name, "value", None) for name, _ in node.value] if isinstance(node, yaml.MappingNode) else []
    for key in sorted(env):
        if keys.count(key) > 1:
            raise InvalidOption(
                f"--env {key}: the {blueprint.name} blueprint sets {key} itself in template.yaml; choose another "
                f"name, or change the blueprint's value through its options (`slsgen show {blueprint.name}`)"
            )


def run_checks(blueprint: Blueprint, project: Path) -> None:
    """Run the manifest's `checks` in the rendered project; the first failure refuses the generation."""
    for check in blueprint.checks:
        script = project / check.run
        if not script.is_file():
            last = f"{check.run} is not a file of the rendered project"
        else:
            environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
            try:
                result = children.run(
                    [sys.executable, str(script)],
                    cwd=project,
                    capture_output=True,
                    text=True,
                    env=environment,
                    timeout=CHECK_TIMEOUT_S,
                )
            except subprocess.TimeoutExpired:
                last = f"it did not finish within {CHECK_TIMEOUT_S} seconds"
            else:
                if result.returncode == 0:
                    continue
                lines = [line.strip() for line in (result.stderr or result.stdout).splitlines() if line.strip()]
                lines = lines or [line.strip() for line in result.stdout.splitlines() if line.strip()]
                last = lines[-1] if lines else f"exit code {result.returncode}"
        raise RenderError(f"blueprint {blueprint.name}: check {check.run} failed: {last}; nothing was written")


def file_digests(project: Path) -> dict[str, str]:
    return {
        path.relative_to(project).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(project.rglob("*"))
        if path.is_file() and path.name != settings.RECORD_NAME
    }


def write_record(blueprint: Blueprint, project: Path, answers: dict[str, Any]) -> None:
    """`.slsgen.json`: what generated this project, so that later blueprint changes can be merged into it."""
    record = {
        "slsgen_version": __version__,
        "blueprint": {
            "name": blueprint.name,
            "version": blueprint.version,
            "source": blueprint.source,
            # a git blueprint's: sources.resolve(source, ref=commit, directory=directory) finds these files again
            **{key: value for key in ("ref", "directory", "commit") if (value := getattr(blueprint, key))},
        },
        "project_name": project.name,
        "answers": answers,
        "files": file_digests(project),
    }
    (project / settings.RECORD_NAME).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def render(blueprint: Blueprint, project_name: str, answers: dict[str, Any], workdir: Path) -> Path:
    """Render the whole project into `workdir/<project_name>` and return that folder."""
    context = build_context(blueprint, project_name, answers)
    stage = workdir / "stage"
    stage.mkdir()
    for layer in blueprint.layers:
        trust.check_layer(layer.path, blueprint.name)
    assemble(blueprint, stage, context)
    trust.check_template_paths(stage / PROJECT_DIR, context, blueprint.name)
    check_text_files(
        stage / PROJECT_DIR,
        {"cookiecutter": {"_copy_without_render": BINARY_GLOBS}},
        f"blueprint {blueprint.name}",
        "save it as UTF-8 (a binary file is copied as it is)",
        lambda relative: layer_file(blueprint, relative),
    )
    output = workdir / "out"
    output.mkdir()
    with confined(output, blueprint.name):  # what the blueprint's names and templates write stays in the project
        project = run_cookiecutter(stage, output)
        check_environment(blueprint, project, answers.get("env") or {})
        render_repeats(blueprint, stage, project, context)
        write_events(blueprint, project, context)
    if (project / "template.yaml").is_file():
        deploy_role.write_role(project, answers["ci"])  # computed from the rendered template, as it will deploy
    add_runner_wheel(project)
    format_python(project)
    check_rendered_handler(project, context["handler_module"], context["handler_function"], answers["handler"])
    trust.check_tree(project, blueprint.name)
    run_checks(blueprint, project)
    write_record(blueprint, project, answers)
    if sys.platform != "win32":
        for script in project.glob("scripts/*"):
            script.chmod(0o755)
    snapshot.write(project)  # the merge base of a later `slsgen update`
    return project
