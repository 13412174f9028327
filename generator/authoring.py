"""Blueprint authoring: `slsgen blueprint init` starts a team blueprint, `slsgen blueprint lint` proves one.

`init` writes the smallest useful blueprint: a commented manifest that `extends:` a built-in and adds one
question, one file that overrides the built-in's (through `{% extends %}`, so it keeps following upstream), and
`BLUEPRINT.md` on the format (notes for authors are never rendered into projects).

`lint` checks what a platform team must know before fifty services generate from a blueprint: the manifest
against its JSON Schema (every problem, unknown keys with the valid ones), the merged questions and defaults,
and every file rendered for every value of every `choice` and `bool` question. The full product of those values
is rendered when it has at most `FULL_MATRIX` combinations; beyond that, a covering sample: the defaults, then
each other value of each question once, the rest as in the first set where that question applies (its
`when`): every value renders at least once, in at most 1 + sum(values - 1) renders instead of the product.
Each rendered project must then pass `ruff check`, `ruff format --check` and `cfn-lint`, and with `full` its
own `make install test validate`.
"""

from __future__ import annotations

import importlib.util
import itertools
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import paths, settings
from .blueprints import Blueprint, builtin_names, load_blueprint
from .errors import BlueprintNotFound, InvalidOption, SlsgenError, TargetExists
from .manifest import NAME, schema
from .options import Question
from .project import resolve_answers
from .render import evaluate, render
from .trust import blueprint_code, require

FULL_MATRIX = 8
LINT_PROJECT = "lint-probe"
SCHEMA_URL = "https://raw.githubusercontent.com/slsgen/slsgen/main/blueprint.schema.json"
FULL_TIMEOUT_S = 1800
Progress = Callable[[str], None]

MANIFEST = """\
# yaml-language-server: $schema={schema_url}
# The {name} blueprint: {base} with this team's defaults. BLUEPRINT.md describes every key.
# Check it:  slsgen blueprint lint ./{name}
# Use it:    slsgen new ./{name} my-service
{name_key}# lowercase slug, recorded in every generated project's .slsgen.json
title: {title}
description: {base} with our team's defaults and an owning team.
version: 0.1.0                # bump it on every change: `slsgen update` shows projects the difference
{extends_key}# inherit its questions, defaults, events and files; files here replace or extend them

# runtime:                    # defaults for slsgen's runtime settings (still overridable with flags)
#   memory: 256
#   timeout: 15
# dependencies: ["requests>=2.32"]          # added to the function's dependencies (pyproject.toml)
# dev_dependencies: ["pytest-cov>=5"]       # added to the project's dev dependency group

questions:                    # added to the inherited ones; an entry with an inherited name replaces it
  - name: team                # templates read it as {{{{ cookiecutter.team }}}}; users set it with --set team=...
    type: str                 # str, int (min, max), bool, choice (choices), list (comma-separated)
    default: platform         # every question needs a default: generation never requires an answer
    pattern: "[a-z][a-z0-9-]*"
    pattern_help: use lowercase letters, digits and hyphens, starting with a letter
    help: The team that owns the service

# constraints:                # rules across answers, checked once all are known
#   - require: "team != 'interns' or memory <= 512"
#     message: "the {{{{ team }}}} team keeps functions at 512 MB or less"
"""

OVERRIDE = """\
{{% extends "{layer}/README.md" %}}
{{%- block intro %}}{{{{ super() }}}}

Owned by the {{{{ cookiecutter.team }}}} team; generated from the `{{{{ cookiecutter.blueprint }}}}` blueprint.
{{%- endblock %}}
"""

GUIDE = """\
# The {name} blueprint

A blueprint is data: `blueprint.yaml` (the manifest) and the template files that differ from what it extends.
This one extends the built-in `{base}`: it inherits its questions, defaults, events, and files, adds the `team`
question, and overrides `README.md`. This file (BLUEPRINT.md) is for the blueprint's authors and is never
rendered into projects.

## Files

Every file here is a Jinja template rendered into the project at the same path; names can be templates too
(`src/{{{{cookiecutter.handler_module}}}}.py`). A file replaces the inherited file at its path, or starts with
`{{% extends "<layer>/<path>" %}}` and overrides only some blocks, keeping everything else as upstream changes it.
The layers are `skeleton` (the files every project shares), then each blueprint from the base outwards by name:
here `{layers}`. The answers are `cookiecutter.<name>`, with values slsgen derives (`project_name`,
`handler_module`, `python_version`, `function_id`...). Jinja is sandboxed.

## The manifest

`name`, `title`, `description`, `version` are required; `extends`, `runtime`, `dependencies`,
`dev_dependencies`, `questions`, `constraints`, `events`, `exclude`, `repeat`, `checks`, `next_steps`,
`max_name_length` are optional. An unknown key is an error. The JSON Schema ({schema_url}) lets editors complete
and check it (the first line of `blueprint.yaml` points YAML language servers at it).

## Check, use, release

```bash
slsgen blueprint lint {name}           # schema, questions, every choice rendered, ruff and cfn-lint
slsgen blueprint lint {name} --full    # and each rendered project's own `make install test validate`
slsgen new ./{name} my-service         # generate a project from the folder
```

Release a change by bumping `version`; projects generated earlier take it with `slsgen update`, which merges
it with their own edits (three-way, conflicts between markers).
"""


def init_blueprint(name: str, base: str = "hello-world", output_dir: str | Path = ".") -> Path:
    """Write a new blueprint folder `output_dir/name` extending the built-in `base`; return its path."""
    if not NAME.match(name):
        raise InvalidOption(f"blueprint name {name!r} must be lowercase letters, digits and hyphens, e.g. team-api")
    if base not in builtin_names():
        raise BlueprintNotFound(
            f"--from {base!r} is not a built-in blueprint; choose one of {', '.join(builtin_names())}"
        )
    target = Path(output_dir).expanduser() / name
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise TargetExists(f"{target} exists and is not empty: choose another name or --output-dir")
    parent = load_blueprint(base)
    layer = next(layer.name for layer in reversed(parent.layers) if (layer.path / "README.md").is_file())
    layers = " → ".join([*(layer.name for layer in parent.layers), name])
    title = name.replace("-", " ").title()
    keys = {"name_key": f"name: {name}".ljust(29) + " ", "extends_key": f"extends: {base}".ljust(29) + " "}
    values = {
        **keys,
        "name": name,
        "base": base,
        "title": title,
        "layer": layer,
        "layers": layers,
        "schema_url": SCHEMA_URL,
    }
    files = {
        settings.MANIFEST_NAME: MANIFEST.format(**values),
        "README.md": OVERRIDE.format(**values),
        settings.AUTHOR_NOTES: GUIDE.format(**values),
    }
    try:
        target.mkdir(parents=True, exist_ok=True)
        for relative, text in files.items():
            (target / relative).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise TargetExists(f"cannot write {target}: {exc.strerror or exc}; choose another --output-dir") from None
    return target


@dataclass
class Lint:
    """The problems found, one line each, and what was rendered."""

    blueprint: str
    problems: list[str] = field(default_factory=list)
    combinations: int = 0
    sampled: bool = False


def schema_problems(manifest: Path) -> list[str]:
    """The manifest against its JSON Schema: every error, an unknown key with the valid keys at its place."""
    try:
        data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        return [f"{manifest}: not valid YAML: {exc}".splitlines()[0]]
    try:
        import jsonschema  # type: ignore[import-untyped]
    except ImportError:
        raise SlsgenError("blueprint lint needs jsonschema and cfn-lint: pip install 'slsgen[lint]'") from None

    document = schema()
    validator = jsonschema.Draft202012Validator(document)
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda error: list(map(str, error.absolute_path))):
        where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = sorted(resolve_ref(document, error.schema).get("properties", {}))
            unknown = sorted(key for key in error.instance if key not in allowed)
            keys = ", ".join(map(repr, unknown))
            message = f"unknown key{'s' if len(unknown) > 1 else ''} {keys}; valid keys: {', '.join(allowed)}"
        else:
            message = error.message
        problems.append(f"{manifest}: {where}: {message}")
    return problems


def manifest_name(manifest: Path) -> str | None:
    """The manifest's `name`, for the summary line even when the manifest is invalid."""
    try:
        data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None


def resolve_ref(document: dict[str, Any], node: Any) -> dict[str, Any]:
    """A schema node with its local `$ref` followed (`#/$defs/...`)."""
    while isinstance(node, dict) and "$ref" in node and str(node["$ref"]).startswith("#/"):
        target: Any = document
        for part in str(node["$ref"])[2:].split("/"):
            target = target[part]
        node = target
    return node if isinstance(node, dict) else {}


def matrix_questions(blueprint: Blueprint) -> list[tuple[Question, list[Any]]]:
    """The blueprint's `choice` and `bool` questions (its own and inherited, not slsgen's settings) and values."""
    found = []
    for question in blueprint.questions:
        if question.type == "bool":
            found.append((question, [question.default, not question.default]))
        elif question.type == "choice":
            found.append((question, [question.default, *(c for c in question.choices if c != question.default)]))
    return found


def combinations(blueprint: Blueprint) -> tuple[list[dict[str, Any]], bool]:
    """The answer sets to render (see the module's docstring) and whether they are a sample of the product."""
    questions = matrix_questions(blueprint)
    size = 1
    for _, values in questions:
        size *= len(values)
    if size <= FULL_MATRIX:
        raw = [
            dict(zip([q.name for q, _ in questions], chosen, strict=True))
            for chosen in itertools.product(*(v for _, v in questions))
        ]
        sampled = False
    else:
        defaults = {question.name: values[0] for question, values in questions}
        raw = [defaults]
        for question, values in questions:
            # vary it where it applies: a question under `when` needs a set in which its condition holds
            base = next((known for known in raw if question.name in applying(blueprint, known)), defaults)
            raw += [{**base, question.name: value} for value in values[1:]]
        sampled = True
    unique: list[dict[str, Any]] = []
    for combination in raw:
        applicable = applying(blueprint, combination)
        if applicable not in unique:
            unique.append(applicable)
    return unique, sampled


def applying(blueprint: Blueprint, combination: dict[str, Any]) -> dict[str, Any]:
    """The part of a combination whose questions apply (their `when`, in order): the rest cannot be given."""
    context: dict[str, Any] = {}
    given: dict[str, Any] = {}
    for question in blueprint.all_questions():
        value = combination.get(question.name, question.default)
        if question.when is None or evaluate(question.when, context):
            if question.name in combination:
                given[question.name] = value
            context[question.name] = value
        else:
            context[question.name] = question.default
    return given


def label(combination: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in combination.items()) or "defaults"


def tool_problems(projects: dict[str, Path], full: bool) -> list[str]:
    """ruff and cfn-lint over each rendered project, and with `full` its own `make install test validate`."""
    from ruff.__main__ import find_ruff_bin

    ruff = find_ruff_bin()
    problems: list[str] = []
    for name, project in projects.items():
        commands = {
            "ruff check": [ruff, "check", "--no-cache", "--output-format", "concise", "--quiet", "."],
            "ruff format --check": [ruff, "format", "--check", "--no-cache", "--quiet", "."],
        }
        for what, command in commands.items():
            result = subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)
            for line in (result.stdout + result.stderr).splitlines():
                if line.strip():
                    problems.append(f"[{name}] {what}: {line.strip()}")
    cfn_lint = cfn_lint_command()
    templates = {str(project / "template.yaml"): name for name, project in projects.items()}
    result = subprocess.run(
        [*cfn_lint, "--format", "parseable", *templates], capture_output=True, text=True, check=False
    )
    for line in (result.stdout + result.stderr).splitlines():
        path = next((path for path in templates if line.startswith(path)), None)
        if path is not None:
            problems.append(f"[{templates[path]}] cfn-lint: template.yaml{line[len(path) :]}")
        elif line.strip():
            problems.append(f"cfn-lint: {line.strip()}")
    if full:
        for name, project in projects.items():
            try:
                run = subprocess.run(
                    ["make", "install", "test", "validate"],
                    cwd=project,
                    capture_output=True,
                    text=True,
                    timeout=FULL_TIMEOUT_S,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                problems.append(f"[{name}] make install test validate did not finish within {FULL_TIMEOUT_S} s")
                continue
            if run.returncode != 0:
                output = (run.stderr + run.stdout).splitlines()
                lines = [line for line in output if line.strip() and not line.startswith(("make: ***", "make["))]
                problems.append(
                    f"[{name}] make install test validate failed: {lines[-1].strip() if lines else run.returncode}"
                )
    return problems


def cfn_lint_command() -> list[str]:
    if importlib.util.find_spec("cfnlint") is not None:
        found = shutil.which("cfn-lint", path=str(Path(sys.executable).parent)) or shutil.which("cfn-lint")
        if found:
            return [found]
    found = shutil.which("cfn-lint")
    if found is None:
        raise SlsgenError("blueprint lint needs jsonschema and cfn-lint: pip install 'slsgen[lint]'")
    return [found]


def lint_blueprint(
    path: str | Path, *, full: bool = False, progress: Progress | None = None, trust: bool = False
) -> Lint:
    """Check the blueprint folder `path` (or a built-in name); return every problem found.

    Rendering runs the blueprint's checks, and `full` its projects' Makefiles and tests: from an untrusted source,
    either is refused unless `trust`, as by `slsgen new`.
    """
    folder = Path(path).expanduser()
    manifest = folder / settings.MANIFEST_NAME
    if not manifest.is_file() and str(path) in builtin_names():
        folder = paths.builtin_blueprints_dir() / str(path)
        manifest = folder / settings.MANIFEST_NAME
    if not manifest.is_file():
        raise BlueprintNotFound(f"{folder} has no {settings.MANIFEST_NAME}: name a blueprint folder")
    result = Lint(blueprint=manifest_name(manifest) or str(path))
    result.problems += schema_problems(manifest)
    if result.problems:  # loading would repeat the first of them
        return result
    builtin = folder.resolve().parent == paths.builtin_blueprints_dir().resolve()
    try:  # a built-in's folder is the built-in, trusted as such
        blueprint = load_blueprint(folder.name if builtin else str(folder.resolve()))
    except SlsgenError as exc:
        result.problems.append(str(exc))
        return result
    result.blueprint = blueprint.name
    code = [*blueprint_code(blueprint), *(["make install test validate in each rendered project"] if full else [])]
    require(blueprint.name, blueprint.chain, code, trust)
    try:
        resolve_answers(blueprint)
    except InvalidOption as exc:
        result.problems.append(f"the defaults are not a valid answer set: {exc}")
        return result
    answer_sets, result.sampled = combinations(blueprint)
    with tempfile.TemporaryDirectory(prefix="slsgen-lint-") as scratch:
        projects: dict[str, Path] = {}
        for index, combination in enumerate(answer_sets):
            name = label(combination)
            if progress is not None:
                progress(f"rendering {name}")
            try:
                answers = resolve_answers(blueprint, combination)
            except InvalidOption:
                continue  # refused by a constraint: never generated, nothing to check
            workdir = Path(scratch) / str(index)
            workdir.mkdir()
            try:
                projects[name] = render(blueprint, LINT_PROJECT, answers, workdir)
            except SlsgenError as exc:
                result.problems.append(f"[{name}] {exc}")
        result.combinations = len(projects)
        if projects:
            if progress is not None:
                progress("running ruff and cfn-lint" + (" and make install test validate" if full else ""))
            result.problems += tool_problems(projects, full)
    return result


def summary(result: Lint) -> str:
    """The last line `blueprint lint` prints: the verdict and what was rendered (and how it was chosen)."""
    verdict = f"{len(result.problems)} problem(s)" if result.problems else "ok"
    if not result.combinations:
        return f"blueprint {result.blueprint}: {verdict} (nothing rendered)"
    how = "each choice/bool value at least once (sampled)" if result.sampled else "every choice/bool combination"
    return f"blueprint {result.blueprint}: {verdict} ({result.combinations} projects rendered: {how})"
