"""Plain cookiecutter templates (a `cookiecutter.json`, such as the AWS SAM app templates), rendered as they are.

A team's existing templates keep working: cookiecutter asks their own questions (defaults under --no-input) and
renders them, but inside slsgen's rules: in a sandbox, with hooks and Jinja extensions only when the source is
trusted, every path checked before it is written, into a temporary folder that is moved into place all or
nothing, with a `.slsgen.json` record and a snapshot like a blueprint's, so that `slsgen update` can merge the
template's later versions into the project.

What a template sees is what `cookiecutter()` gives it (cookiecutter 2.7): nested templates (a `templates` or
old-style `template` key) are chosen first (`--set templates=NAME`, else the first under --no-input, else a
prompt), and the context holds `_template` (the source as the user gave it), `_output_dir`, `_repo_dir`,
`_checkout` and the top-level `_cookiecutter` (the options before prompting). Answers are checked against their
variables as cookiecutter would take them (a choice, a boolean, a dict as JSON) before cookiecutter runs, so that
a wrong one is one line naming the option and the fix. Hooks run in the temporary folder's project (cookiecutter
runs them in the project folder it renders); `_output_dir` is where the project is placed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__, settings, snapshot, trust
from .confine import confined
from .errors import ConfigInvalid, InvalidOption, RenderError, SlsgenError, UnsafePath, WriteFailed
from .options import FALSE_WORDS, TRUE_WORDS
from .project import Generation, describe, generate_into
from .render import check_text_files, describe_failure, file_digests, recursion_message, undecodable
from .sources import ResolvedSource
from .userconfig import Value

NESTED_KEYS = ("templates", "template")
TEXT_FIX = "save it as UTF-8, or list it in _copy_without_render (cookiecutter.json) to copy it as it is"


@dataclass(frozen=True)
class Rendered:
    """A template rendered into a work folder: the project folder (records written), its answers, and the
    carried answers (an update's) that the template no longer asks."""

    folder: Path
    answers: dict[str, Any]
    dropped: list[str] = field(default_factory=list)


def questions(template: Path) -> dict[str, Any]:
    """The template's cookiecutter.json (its questions and their defaults)."""
    path = template / "cookiecutter.json"
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise RenderError(f"{path} cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise RenderError(f"{path} must be a JSON object of questions")
    for key in ("_extensions", "_copy_without_render"):
        if key in data and not (isinstance(data[key], list) and all(isinstance(item, str) for item in data[key])):
            raise RenderError(f"{path}: {key} must be a list of strings, not {json.dumps(data[key])[:60]}")
    empty = [key for key, value in data.items() if value == [] and not key.startswith("_")]
    if empty:
        raise RenderError(f"{path}: {empty[0]} is a choice with no choices: give it at least one")
    return data


def asked_keys(template: Path) -> list[str]:
    """Every question the template (or, for a set of templates, any of them) asks: what config keys may name."""
    data = questions(template)
    asked = [key for key in data if not key.startswith("_")]
    nested = data.get("templates")
    for entry in nested.values() if isinstance(nested, dict) else []:
        folder = template / str(entry.get("path", "")) if isinstance(entry, dict) else None
        if folder is not None and (folder / "cookiecutter.json").is_file() and folder.resolve() != template.resolve():
            with contextlib.suppress(RenderError):
                asked += [key for key in asked_keys(folder) if key not in asked]
    return asked


def check_value(key: str, default: Any, value: Any) -> Any:
    """`value` for the variable `key` whose cookiecutter.json default is `default`, as cookiecutter takes it:
    one of a choice list (or several of it), yes/no for a boolean, a JSON object for a dict; ValueError says why.
    """
    if isinstance(default, list):
        picked = value if isinstance(value, list) else [value]
        bad = [item for item in picked if str(item) not in [str(choice) for choice in default]]
        if bad:
            raise ValueError(f"{key} must be one of {', '.join(str(choice) for choice in default)}, not {bad[0]!r}")
        return [str(item) for item in value] if isinstance(value, list) else str(value)
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in TRUE_WORDS | FALSE_WORDS:
            return word in TRUE_WORDS
        raise ValueError(f"{key} is yes or no (also true/false, 1/0, on/off), not {value!r}")
    if isinstance(default, dict):
        parsed = value
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                parsed = json.loads(value)
        if not isinstance(parsed, dict):
            example = json.dumps(default)[:60]
            raise ValueError(f"{key} is a dict of values, not {value!r}: give it as a JSON object, e.g. '{example}'")
        return parsed
    if isinstance(value, (list, dict)):
        raise ValueError(f"{key} takes text, not {value!r}")
    return value if isinstance(value, str) else str(value)


def extra_context(
    template: Path,
    name: str | None,
    given: Mapping[str, Any],
    configured: Mapping[str, Value],
    carried: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The answers slsgen passes, each checked against its variable: `carried` (an update's recorded answers),
    then configured defaults the template asks, then --set, then NAME; and the carried keys no longer asked."""
    data = questions(template)
    asked = [key for key in data if not key.startswith("_")]
    unknown = [key for key in given if key not in asked]
    if unknown:
        raise InvalidOption(
            f"unknown option {unknown[0]!r} for the cookiecutter template {template.name}; its questions: "
            f"{', '.join(asked)} (set them with --set KEY=VALUE)"
        )
    extra: dict[str, Any] = {}
    carried = carried or {}
    for key, value in carried.items():
        if key in asked:
            try:
                extra[key] = check_value(key, data[key], value)
            except ValueError as exc:  # the new version narrowed what it accepts
                raise InvalidOption(f"{exc}; give a new answer with --set {key}=...") from None
    for key, item in configured.items():
        if key in asked:
            try:
                extra[key] = check_value(key, data[key], item.value)
            except ValueError as exc:
                raise ConfigInvalid(f"{item.origin}: {key}: {exc}") from None
    for key, value in given.items():
        try:
            extra[key] = check_value(key, data[key], value)
        except ValueError as exc:
            raise InvalidOption(f"--set {key}={value}: {exc}") from None
    if name is not None:
        if "project_name" not in asked:
            raise InvalidOption(f"{template.name} has no project_name question: drop NAME and answer its questions")
        extra["project_name"] = name
    return extra, sorted(key for key in carried if key not in asked)


def choose_nested(template: Path, given: dict[str, Any], no_input: bool) -> tuple[Path, str, str] | None:
    """The nested template a `templates` (or old-style `template`) key chooses, as cookiecutter chooses it, with
    `--set templates=NAME` (popped from `given`) choosing; None when the template is not a set of templates."""
    from cookiecutter.generate import generate_context
    from cookiecutter.prompt import choose_nested_template

    data = questions(template)
    key = next((key for key in NESTED_KEYS if key in data), None)
    if key is None:
        return None
    where = f"{template / 'cookiecutter.json'}: {key}"
    options = data[key]
    choice = given.pop(key, None)
    names = list(options) if isinstance(options, dict) else [str(option) for option in options]
    if key == "templates" and not all(isinstance(entry, dict) and "path" in entry for entry in options.values()):
        raise RenderError(f'{where} must map each template\'s name to {{"path": ..., "title": ...}}')
    if choice is not None and choice not in names:
        raise InvalidOption(f"--set {key}={choice}: the template {template.name} has {', '.join(names)}")
    context = generate_context(context_file=str(template / "cookiecutter.json"))
    if choice is not None:
        chosen = str(choice)
        if key == "templates":
            context["cookiecutter"][key] = {chosen: options[chosen], **options}
        else:
            context["cookiecutter"][key] = [chosen, *(option for option in options if option != chosen)]
    try:
        path = Path(choose_nested_template(context, str(template), no_input or choice is not None))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RenderError(
            f"{where}: no template can be chosen ({exc or type(exc).__name__}); fix cookiecutter.json"
        ) from None
    if not path.is_relative_to(template.resolve()) or not (path / "cookiecutter.json").is_file():
        raise UnsafePath(f"{where}: {path} is not a template folder inside {template.name}; refused")
    for name in names:
        entry = options[name]["path"] if key == "templates" else re.sub(r"^.*\((.+)\)$", r"\1", name)
        if (template / entry).resolve() == path:
            return path, key, name
    return path, key, names[0]


@contextlib.contextmanager
def quiet_cookiecutter() -> Iterator[None]:
    """No log records from cookiecutter while slsgen drives it: a failing hook would log a traceback before
    slsgen's one line (Python's last-resort handler prints warnings to stderr). Restored afterwards."""
    logger = logging.getLogger("cookiecutter")
    handler, propagate = logging.NullHandler(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def repo_dir_of(reference: str, resolved: ResolvedSource) -> str:
    """cookiecutter's `_repo_dir`: a local template's folder as given (with --directory), else the checkout."""
    if not resolved.commit and Path(reference).expanduser().is_dir():
        return os.path.join(reference, resolved.directory) if resolved.directory else reference
    return str(resolved.path)


def render_template(
    resolved: ResolvedSource,
    workdir: Path,
    *,
    reference: str,
    output_dir: Path,
    name: str | None = None,
    given: Mapping[str, Any] | None = None,
    configured: Mapping[str, Value] | None = None,
    carried: Mapping[str, Any] | None = None,
    no_input: bool = True,
    trusted: bool = False,
) -> Rendered:
    """Render the template into `workdir/out/<its project folder>`, records included; the one way both `new`
    and `update` render a template. `reference` is the source as the user gave it (`_template`)."""
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.generate import generate_context, generate_files
    from cookiecutter.prompt import prompt_for_config
    from jinja2 import TemplateError

    template = resolved.path
    label = template.name
    questions(template)  # checked before anything reads it, trust's list of the code it loads included
    trust.require(label, [resolved.source], trust.cookiecutter_code(template), trusted)
    trust.check_layer(template, label)
    carried = dict(carried or {})
    given = {**{key: carried.pop(key) for key in NESTED_KEYS if key in carried}, **dict(given or {})}
    repo_dir = repo_dir_of(reference, resolved)
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(trust.sandboxed_cookiecutter())
            stack.enter_context(quiet_cookiecutter())
            template, chosen, runs_code = choose_template(resolved, given, no_input, trusted, stack)
            if chosen:
                reference = repo_dir = str(template)
            extra, dropped = extra_context(template, name, given, configured or {}, carried)
            context = generate_context(context_file=str(template / "cookiecutter.json"), extra_context=extra)
            context["_cookiecutter"] = {k: v for k, v in context["cookiecutter"].items() if not k.startswith("_")}
            context["cookiecutter"].update(prompt_for_config(context, no_input))
            context["cookiecutter"].update(
                _template=reference,
                _output_dir=os.path.abspath(output_dir),
                _repo_dir=repo_dir,
                _checkout=resolved.ref,
            )
            from cookiecutter.find import find_template

            project_template = Path(find_template(str(template), trust.cookiecutter_environment(context)))
            trust.check_template_paths(project_template, context["cookiecutter"], label)
            check_text_files(project_template, context, label, TEXT_FIX)
            (workdir / "out").mkdir()
            with confined(workdir / "out", label):
                rendered = Path(
                    generate_files(
                        repo_dir=str(template),
                        context=context,
                        output_dir=str(workdir / "out"),
                        accept_hooks=runs_code,
                    )
                )
    except (CookiecutterException, TemplateError) as exc:
        raise RenderError(f"rendering {label} failed: {describe_failure(exc)}; nothing was written") from None
    except RecursionError as exc:
        raise RenderError(f"rendering {label} failed: {recursion_message(exc)}; nothing was written") from None
    except UnicodeDecodeError as exc:  # a file reached through {% include %}, or a hook
        raise RenderError(f"rendering {label} failed: {undecodable(exc, template)}; nothing was written") from None
    trust.check_tree(rendered, label)
    answers = {**chosen, **{key: value for key, value in context["cookiecutter"].items() if key[:1] != "_"}}
    write_record(resolved, rendered, answers, reference if not chosen else None)
    snapshot.write(rendered)  # the merge base of a later `slsgen update`
    return Rendered(rendered, answers, dropped)


def generate_template(
    resolved: ResolvedSource,
    name: str | None,
    *,
    output_dir: Path,
    given: Mapping[str, Any],
    configured: Mapping[str, Value],
    no_input: bool,
    force: bool,
    trusted: bool,
    git: bool = False,
    reference: str | None = None,
) -> Generation:
    """Render a cookiecutter template into `output_dir/<its project folder>`; nothing is written on failure.

    With `git`, the rendered project becomes a repository with one first commit in the work folder, before it is
    placed, exactly as a blueprint's (`vcs.init_repository`: a problem there is a note, never an error).
    """

    def render_into(workdir: Path) -> Path:
        try:
            return render_template(
                resolved,
                workdir,
                reference=reference or resolved.source,
                output_dir=output_dir.expanduser(),
                name=name,
                given=given,
                configured=configured,
                no_input=no_input,
                trusted=trusted,
            ).folder
        except OSError as exc:
            if isinstance(exc, SlsgenError):
                raise
            reason = describe(exc).replace(f"{workdir / 'out'}{os.sep}", "")
            raise WriteFailed(f"rendering {resolved.path.name} failed: {reason}; nothing was written") from None

    return generate_into(output_dir, None, render_into, force=force, git=git)


def choose_template(
    resolved: ResolvedSource, given: dict[str, Any], no_input: bool, trusted: bool, stack: contextlib.ExitStack[Any]
) -> tuple[Path, dict[str, str], bool]:
    """The template to render: the source's own, or the nested template its `templates` key chooses (as deep as
    anyone nests them), each held to the trust rules, its `pre_prompt` hook run and its extensions importable
    while `stack` is open. Returns it, the choices made (key: name), and whether it runs code (hooks)."""
    template = resolved.path
    code = trust.cookiecutter_code(template)
    template = pre_prompt(template, bool(code), stack)
    stack.enter_context(local_extensions(template, bool(code)))
    chosen: dict[str, str] = {}
    for _ in range(8):
        nested = choose_nested(template, given, no_input)
        if nested is None:
            break
        template, key, chosen[key] = nested
        code = trust.cookiecutter_code(template)
        trust.require(resolved.path.name, [resolved.source], code, trusted)
        template = pre_prompt(template, bool(code), stack)
        stack.enter_context(local_extensions(template, bool(code)))
    return template, chosen, bool(code)


def pre_prompt(template: Path, trusted: bool, stack: contextlib.ExitStack[Any]) -> Path:
    """cookiecutter's first step for a trusted template: its `pre_prompt` hook, run in a copy of the template
    that it may change (removed when `stack` closes); the template itself otherwise."""
    if not trusted:
        return template
    from cookiecutter.hooks import run_pre_prompt_hook

    copy = Path(run_pre_prompt_hook(str(template)))
    if copy != template:
        stack.callback(shutil.rmtree, copy, True)
    return copy


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


def write_record(resolved: ResolvedSource, project: Path, answers: dict[str, Any], reference: str | None) -> None:
    """The same `.slsgen.json` as a blueprint's, with `kind: cookiecutter`, so the project can be updated later;
    `template` keeps the source as the user gave it when it differs (the `_template` an update renders with)."""
    source = {"name": resolved.path.name, "kind": "cookiecutter", "source": resolved.source}
    source.update({key: value for key in ("ref", "directory", "commit") if (value := getattr(resolved, key))})
    if reference is not None and reference != resolved.source:
        source["template"] = reference
    record = {
        "slsgen_version": __version__,
        "blueprint": source,
        "project_name": project.name,
        "answers": answers,
        "files": file_digests(project),
    }
    (project / settings.RECORD_NAME).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
