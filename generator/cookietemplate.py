"""Plain cookiecutter templates (a `cookiecutter.json`, such as the AWS SAM app templates), rendered as they are.

A team's existing templates keep working: cookiecutter asks their own questions (defaults under --no-input) and
renders them, but inside slsgen's rules: in a sandbox, with hooks and Jinja extensions only when the source is
trusted, every path checked before it is written, into a temporary folder that is moved into place all or
nothing, with a `.slsgen.json` record like a blueprint's.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from . import __version__, settings, trust
from .confine import confined
from .errors import InvalidOption, RenderError, WriteFailed
from .project import Generation, describe, generate_into
from .render import file_digests
from .sources import ResolvedSource


def questions(template: Path) -> dict[str, Any]:
    """The template's cookiecutter.json (its questions and their defaults)."""
    try:
        data = json.loads((template / "cookiecutter.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RenderError(f"{template / 'cookiecutter.json'} cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise RenderError(f"{template / 'cookiecutter.json'} must be a JSON object of questions")
    return data


def extra_context(
    template: Path, name: str | None, given: Mapping[str, Any], configured: Mapping[str, Any]
) -> dict[str, Any]:
    """The answers slsgen passes: configured defaults the template asks, then --set (checked), then NAME."""
    asked = [key for key in questions(template) if not key.startswith("_")]
    unknown = [key for key in given if key not in asked]
    if unknown:
        raise InvalidOption(
            f"unknown option {unknown[0]!r} for the cookiecutter template {template.name}; its questions: "
            f"{', '.join(asked)} (set them with --set KEY=VALUE)"
        )
    extra = {key: value for key, value in configured.items() if key in asked}
    extra.update(given)
    if name is not None:
        if "project_name" not in asked:
            raise InvalidOption(f"{template.name} has no project_name question: drop NAME and answer its questions")
        extra["project_name"] = name
    return {key: value if isinstance(value, (str, list, dict)) else str(value) for key, value in extra.items()}


def generate_template(
    resolved: ResolvedSource,
    name: str | None,
    *,
    output_dir: Path,
    given: Mapping[str, Any],
    configured: Mapping[str, Any],
    no_input: bool,
    force: bool,
    trusted: bool,
    git: bool = False,
) -> Generation:
    """Render a cookiecutter template into `output_dir/<its project folder>`; nothing is written on failure.

    With `git`, the rendered project becomes a repository with one first commit in the work folder, before it is
    placed, exactly as a blueprint's (`vcs.init_repository`: a problem there is a note, never an error).
    """
    from cookiecutter.exceptions import CookiecutterException
    from jinja2 import TemplateError

    template = resolved.path
    label = template.name
    code = trust.cookiecutter_code(template)
    trust.require(label, [resolved.source], code, trusted)
    trust.check_layer(template, label)
    extra = extra_context(template, name, given, configured)

    def render_into(workdir: Path) -> Path:
        try:
            rendered = render_template(resolved, extra, workdir / "out", no_input=no_input, hooks=bool(code))
        except (CookiecutterException, TemplateError) as exc:
            cause = getattr(exc, "message", None) or exc
            reason = str(cause).splitlines()[0].rstrip(".") if str(cause) else type(cause).__name__
            raise RenderError(f"rendering {label} failed: {reason}; nothing was written") from None
        except OSError as exc:
            raise WriteFailed(f"rendering {label} failed: {describe(exc)}; nothing was written") from None
        return rendered

    return generate_into(output_dir, None, render_into, force=force, git=git)


def render_template(
    resolved: ResolvedSource, extra: dict[str, Any], output: Path, *, no_input: bool, hooks: bool
) -> Path:
    """Render the template into `output` with cookiecutter's functions, in slsgen's sandbox, every write confined
    to `output`; with `hooks` (trusted only), cookiecutter's hooks run in cookiecutter's order."""
    from cookiecutter.find import find_template
    from cookiecutter.generate import generate_context, generate_files
    from cookiecutter.hooks import run_pre_prompt_hook
    from cookiecutter.prompt import prompt_for_config

    template = resolved.path
    label = template.name
    with trust.sandboxed_cookiecutter(), local_extensions(template, hooks):
        if hooks:  # cookiecutter's order: the pre_prompt hook first, in a copy of the template it may change
            template = Path(run_pre_prompt_hook(str(template)))
        try:
            context = generate_context(context_file=str(template / "cookiecutter.json"), extra_context=extra)
            context["cookiecutter"] = prompt_for_config(context, no_input)
            context["cookiecutter"]["_template"] = str(resolved.path)
            project_template = Path(find_template(str(template), trust.cookiecutter_environment(context)))
            trust.check_template_paths(project_template, context["cookiecutter"], label)
            output.mkdir()
            with confined(output, label):
                rendered = Path(
                    generate_files(repo_dir=str(template), context=context, output_dir=str(output), accept_hooks=hooks)
                )
        finally:
            if template != resolved.path:
                shutil.rmtree(template, ignore_errors=True)
    trust.check_tree(rendered, label)
    answers = {key: value for key, value in context["cookiecutter"].items() if not key.startswith("_")}
    write_record(resolved, rendered, answers)
    return rendered


@contextlib.contextmanager
def local_extensions(template: Path, trusted: bool) -> Iterator[None]:
    """A trusted template's own Jinja extensions (`local_extensions.py` beside its cookiecutter.json) import
    from its folder, as cookiecutter allows; an untrusted template never gets this far with extensions."""
    if not trusted:
        yield
        return
    sys.path.insert(0, str(template))
    try:
        yield
    finally:
        sys.path.remove(str(template))


def write_record(resolved: ResolvedSource, project: Path, answers: dict[str, Any]) -> None:
    """The same `.slsgen.json` as a blueprint's, with `kind: cookiecutter`, so the project can be updated later."""
    source = {"name": resolved.path.name, "kind": "cookiecutter", "source": resolved.source}
    source.update({key: value for key in ("ref", "directory", "commit") if (value := getattr(resolved, key))})
    record = {
        "slsgen_version": __version__,
        "blueprint": source,
        "project_name": project.name,
        "answers": answers,
        "files": file_digests(project),
    }
    (project / settings.RECORD_NAME).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
