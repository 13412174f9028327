"""`validate`: the whole project checked offline, before any deploy: one line per problem, `file:line: ...`.

cfn-lint's rules over the template; the SAM transform itself (aws-sam-translator, as CloudFormation would run it);
each function's handler against its code; its settings against Lambda's limits and the runtime's deprecation;
its permissions against least privilege; every sample event against the trigger's shape; the CI files parse.
cfn-lint and samtranslator are imported here only: the runner's other commands never need them.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from .. import facts
from ..config.template import (
    EVENTS_DIR,
    FUNCTION_TYPE,
    Resolver,
    default_stack_name,
    folder_of,
    function_folder,
    load_template,
    merge_globals,
    owners,
)
from ..errors import RunnerError
from ..wording import counted
from . import deploy_checks, event_shapes, handler_check, iam, locate

Problem = tuple[str, int | None, str]  # file (relative to the project), line, message

RANGES = {  # property path -> (low, high, unit), and Lambda's default when the template leaves it out
    ("MemorySize",): (*facts.MEMORY_MB, "MB", facts.DEFAULT_MEMORY_MB),
    ("Timeout",): (*facts.TIMEOUT_S, "s", facts.DEFAULT_TIMEOUT_S),
    ("EphemeralStorage", "Size"): (*facts.EPHEMERAL_STORAGE_MB, "MB", facts.DEFAULT_EPHEMERAL_STORAGE_MB),
}
CI_FILES = (".github/workflows/*.yml", ".github/workflows/*.yaml", ".github/dependabot.yml", ".gitlab-ci.yml",
            ".pre-commit-config.yaml")  # fmt: skip


class Checker:
    """One validation run: the template read once, its key lines, and the problems found so far."""

    def __init__(self, template_path: Path) -> None:
        self.path = template_path
        self.root = template_path.parent
        self.text = template_path.read_text(encoding="utf-8")
        self.template = load_template(template_path)
        self.lines = locate.key_lines(self.text)
        self.problems: list[Problem] = []
        global_props = ((self.template.get("Globals") or {}).get("Function")) or {}
        self.functions = {
            logical_id: merge_globals(global_props, resource.get("Properties") or {})
            for logical_id, resource in self.template["Resources"].items()
            if isinstance(resource, dict) and resource.get("Type") == FUNCTION_TYPE
        }
        self.resolver = Resolver(self.template, default_stack_name(self.root))

    def add(self, message: str, *paths: tuple[str, ...], file: Path | None = None, line: int | None = None) -> None:
        where = file or self.path
        try:
            shown = str(where.relative_to(self.root))
        except ValueError:
            shown = str(where)
        if line is None and paths:
            line = locate.line_of(self.lines, *paths)
        self.problems.append((shown, line, message))

    def property_paths(self, logical_id: str, *keys: str) -> tuple[tuple[str, ...], ...]:
        """Where a (possibly global) property is written: the function's own, else Globals, else the function."""
        own = ("Resources", logical_id, "Properties", *keys)
        if own in self.lines:
            return (own,)
        return (("Globals", "Function", *keys), ("Resources", logical_id, "Properties"))

    def number(self, value: Any) -> int | None:
        """A literal number, or the default of the parameter it refers to; None when not known offline."""
        if isinstance(value, dict) and "Ref" in value:
            parameter = (self.template.get("Parameters") or {}).get(value["Ref"]) or {}
            value = parameter.get("Default")
        try:
            return int(value)
        except (TypeError, ValueError):
            return None


def check_cfn_lint(checker: Checker) -> None:
    """cfn-lint's errors and warnings (not its informational notes), with their lines."""
    try:
        from cfnlint.api import lint
        from cfnlint.config import ManualArgs
    except ImportError:
        raise RunnerError("cfn-lint is not installed in this environment: run `make install`") from None
    from ..account import region

    for match in lint(checker.text, config=ManualArgs(regions=[region()])):
        if not match.rule.id.startswith("I"):
            checker.add(f"cfn-lint {match.rule.id}: {match.message}", line=match.linenumber)


def sam_transform(template: dict[str, Any]) -> list[str]:
    """Run the SAM transform offline (local code paths stand in as S3 URIs); the messages of its failures."""
    try:
        from samtranslator.public.exceptions import InvalidDocumentException
        from samtranslator.translator.transform import transform
    except ImportError:
        raise RunnerError("aws-sam-translator is not installed in this environment: run `make install`") from None
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # samtranslator asks boto3 for a region, never AWS
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    document = json.loads(json.dumps(template))  # the transform changes its input
    sections = [((document.get("Globals") or {}).get("Function") or {}, "CodeUri")]
    for resource in document.get("Resources", {}).values():
        if isinstance(resource, dict) and isinstance(resource.get("Properties"), dict):
            sections += [(resource["Properties"], "CodeUri"), (resource["Properties"], "ContentUri")]
    for properties, key in sections:
        if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
            properties[key] = "s3://local-artifacts/code.zip"

    class OfflinePolicies:
        """Managed policy ARNs come from samtranslator's bundled map; nothing is asked of IAM."""

        def load(self) -> dict[str, str]:
            return {}

    try:
        transform(document, {}, OfflinePolicies())
    except InvalidDocumentException as exc:
        return [str(cause.message) for cause in exc.causes]
    except Exception as exc:  # any other failure of the transform is a finding, not a crash
        return [f"{type(exc).__name__}: {exc}"]
    return []


def check_settings(checker: Checker, logical_id: str, props: dict[str, Any], today: datetime.date) -> None:
    """Runtime, architecture, memory, timeout, /tmp and environment size within Lambda's limits.

    Reserved environment variable names are cfn-lint's (E3663), not repeated here.
    """
    runtime = props.get("Runtime")
    if isinstance(runtime, str):
        dates = facts.deprecation(runtime)
        newest = facts.supported_runtimes(today)[-1]
        if dates is None:
            checker.add(
                f"Runtime {runtime!r} is not a Python runtime of Lambda: use {newest}",
                *checker.property_paths(logical_id, "Runtime"),
            )
        elif dates[0] <= today:
            checker.add(
                f"Runtime {runtime} was deprecated on {dates[0]}: use {newest}",
                *checker.property_paths(logical_id, "Runtime"),
            )
    architectures = props.get("Architectures", [facts.DEFAULT_ARCHITECTURE])
    if not (isinstance(architectures, list) and len(architectures) == 1 and architectures[0] in facts.ARCHITECTURES):
        checker.add("Architectures must be [arm64] or [x86_64]", *checker.property_paths(logical_id, "Architectures"))
    for keys, (low, high, unit, default) in RANGES.items():
        value: Any = props
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        number = checker.number(value if value is not None else default)
        if number is not None and not low <= number <= high:
            checker.add(
                f"{'.'.join(keys)} {number} {unit} is outside Lambda's {low}-{high} {unit}",
                *checker.property_paths(logical_id, *keys),
            )
    variables = ((props.get("Environment") or {}).get("Variables")) or {}
    if isinstance(variables, dict):
        size = sum(
            len(str(key).encode()) + len(checker.resolver.value(value).encode()) for key, value in variables.items()
        )
        if size > facts.ENVIRONMENT_BYTES:
            message = f"environment variables take {size} bytes: Lambda allows {facts.ENVIRONMENT_BYTES}"
            checker.add(message, *checker.property_paths(logical_id, "Environment", "Variables"))


def check_handler(checker: Checker, logical_id: str, props: dict[str, Any]) -> None:
    handler, code_uri = props.get("Handler"), props.get("CodeUri")
    if not isinstance(handler, str) or not isinstance(code_uri, str) or code_uri.startswith("s3://"):
        return  # an image function, inline code, or code already in S3: nothing local to resolve
    code = (checker.root / code_uri).resolve()
    if code.is_file() and zipfile.is_zipfile(code):  # a packaged function (dist/template.yaml): read its zip
        with tempfile.TemporaryDirectory(prefix="validate-") as unpacked:
            with zipfile.ZipFile(code) as archive:
                archive.extractall(unpacked, [name for name in archive.namelist() if name.endswith(".py")])
            found = handler_check.check_handler(handler, Path(unpacked))
        if found is not None:
            checker.add(f"{found[2]} (in {code_uri})", *checker.property_paths(logical_id, "Handler"))
        return
    if not code.is_dir():
        message = f"CodeUri {code_uri} is neither a folder nor a zip of this project"
        checker.add(message, *checker.property_paths(logical_id, "CodeUri"))
        return
    found = handler_check.check_handler(handler, code)
    if found is not None:
        file, line, message = found
        if file is None:
            checker.add(message, *checker.property_paths(logical_id, "Handler"))
        else:
            checker.add(message, file=file, line=line)


def check_events(checker: Checker) -> int:
    """Every sample event is JSON and has the shape of a trigger of the function whose events folder holds it
    (`events/`, or functions/NAME/events/ for functions/NAME/src/; any function's when no function's folder does);
    the count checked."""
    triggers = {logical_id: event_shapes.triggers(props) for logical_id, props in checker.functions.items()}
    folders = {}
    for logical_id, props in checker.functions.items():
        code_uri = props.get("CodeUri")
        folder = function_folder(code_uri) if isinstance(code_uri, str) else ""
        folders[logical_id] = folder_of(checker.root, EVENTS_DIR, folder)
    searched = {*folders.values(), checker.root / EVENTS_DIR}
    files = sorted({path for folder in searched for path in folder.rglob("*.json")})
    for path in files:
        kinds = [kind for name in owners(folders, path) or triggers for kind in triggers[name]]
        try:
            event = json.loads(path.read_bytes())
        except UnicodeDecodeError as exc:
            checker.add(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=path)
            continue
        except json.JSONDecodeError as exc:
            checker.add(f"not valid JSON: {exc.msg} (column {exc.colno})", file=path, line=exc.lineno)
            continue
        problem = event_shapes.event_problem(event, kinds)
        if problem:
            checker.add(problem, file=path)
    return len(files)


def check_ci_files(checker: Checker) -> int:
    """The CI and tooling files parse as YAML mappings (their schemas are checked by their own tools)."""
    from ..config import cfn_yaml

    files = sorted({path for pattern in CI_FILES for path in checker.root.glob(pattern)})
    for path in files:
        try:
            data = cfn_yaml.parse_yaml(path.read_text(encoding="utf-8"))  # any `!tag` (GitLab's !reference) parses
        except cfn_yaml.InvalidYaml as exc:
            checker.add(f"not valid YAML: {exc.problem}", file=path, line=exc.line)
            continue
        if not isinstance(data, dict):
            checker.add("not a YAML mapping of settings", file=path, line=1)
        elif ".github/workflows" in path.as_posix() and not isinstance(data.get("jobs"), dict):
            checker.add("a workflow needs a jobs mapping", file=path, line=1)
    return len(files)


def run_checks(template_path: Path, today: datetime.date | None = None) -> tuple[list[Problem], str]:
    """All the checks; the problems and a summary of what was checked."""
    checker = Checker(template_path)
    failures = sam_transform(checker.template)
    for message in failures:
        checker.add(f"SAM transform: {message}", ("Transform",))
    check_cfn_lint(checker)
    if failures:  # cfn-lint has said E0001 about the same failure, or nothing more useful
        checker.problems = [p for p in checker.problems if "cfn-lint E0001" not in p[2]]
    today = today or datetime.date.today()
    for logical_id, props in checker.functions.items():
        check_settings(checker, logical_id, props, today)
        check_handler(checker, logical_id, props)
    for path, message in iam.template_findings(checker.template, checker.functions):
        checker.add(message, path)
    samconfig = deploy_checks.read_samconfig(checker.root)
    for file, line, message in deploy_checks.stack_name_findings(checker.root, checker.template, samconfig):
        checker.add(message, file=checker.root / file, line=line)
    for path, message in deploy_checks.placeholder_findings(checker.template, samconfig):
        checker.add(message, path)
    events = check_events(checker)
    ci = check_ci_files(checker)
    summary = (
        f"{template_path.name}: {counted(len(checker.functions), 'function')}, {counted(events, 'event file')}, "
        f"{counted(ci, 'CI file')}"
    )
    return checker.problems, summary


def validate(template_path: Path) -> int:
    """Print one line per problem (`file:line: message`) on stdout; 1 if any, else 0 with an OK line."""
    if not template_path.is_file():
        raise RunnerError(f"no {template_path.name} in {template_path.parent}: run in the project or pass --template")
    found, summary = run_checks(template_path)
    problems = list(dict.fromkeys(found))  # a setting in Globals is a problem of every function, reported once
    for file, line, message in sorted(problems, key=lambda p: (p[0], p[1] or 0)):
        sys.stdout.write(f"{file}:{line}: {message}\n" if line else f"{file}: {message}\n")
    errors = [problem for problem in problems if not problem[2].startswith(deploy_checks.WARNING)]
    if errors:
        sys.stderr.write(f"validate: {counted(len(errors), 'problem')} ({summary})\n")
        return 1
    warnings = f"; {counted(len(problems), 'warning')} above" if problems else ""
    sys.stdout.write(f"validate: OK ({summary}){warnings}\n")
    return 0
