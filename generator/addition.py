"""`slsgen add`: a project grows past one function, each added one made from a blueprint as a project is.

The layout: the project's first function keeps its place (`src/`, `tests/` and `events/` at the root), so the
first `add` moves nothing its owner has to chase; every added function is a folder of its own, `functions/<name>/`,
holding what its blueprint renders for it: `src/` (its `CodeUri`, with its own `requirements.txt`), `tests/`,
`events/` and any other file of the blueprint's (a script, sample data, a skill package). Nothing of it can
collide with the project's files or with another function's, and its tests and scripts find their files where
the blueprint put them, relative to that folder.

How: the blueprint is rendered as a project of its own in a work folder, with the function's logical id
(`OrdersWorkerFunction`, from the name `orders-worker`) and the project's name (one stack). Then `attach` takes
from it what the function adds: its files into `functions/<name>/` (the local names of resources the merge renamed
followed in its events and tests), its part of `template.yaml` merged into the project's (`stack`: comments and
the user's resources kept, its own resources prefixed), its development dependencies and test settings merged
into `pyproject.toml` (tomlkit: the user's edits kept), a section of the README, and the deploy role recomputed
from the merged template. The same `attach` turns the project as slsgen generated it (the snapshot) into the new
merge base, and `slsgen update` replays it on each new render: the record lists the functions (`.slsgen.json`'s
`functions`), each with its own blueprint and answers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import deploy_role, records, settings, snapshot, stack
from . import trust as trusted
from .blueprints import Blueprint, load_blueprint
from .errors import InvalidOption, NotAProject, TargetExists, WriteFailed
from .options import check_project_name
from .placement import (
    is_project_file,
    locked,
    open_journal,
    place_files,
    recover,
    unfinished,
)
from .project import Ask, in_workdir, resolve_answers
from .render import render

FUNCTIONS = "functions"
# The project's own files, which a function's render has too: not copied, but merged (pyproject.toml, README.md,
# template.yaml), recomputed (the deploy role) or left to the project (the rest).
PROJECT_FILES = re.compile(
    r"^(template\.yaml|pyproject\.toml|README\.md|Makefile|samconfig\.toml|\.gitignore|\.pre-commit-config\.yaml"
    r"|\.checkov\.yaml|\.gitlab-ci\.yml|\.github/.*|deploy/.*|\.slsgen/.*|\.slsgen\.json|tests/conftest\.py|uv\.lock)$"
)
# The project's files `attach` reads and may change; everything else it writes is new, under functions/<name>/.
MERGED = ("template.yaml", "pyproject.toml", "README.md")
# The kinds of resource a function reaches at run time: with one, a local run needs `--local-aws`.
REACHED = ("AWS::DynamoDB::", "AWS::SQS::", "AWS::S3::", "AWS::Kinesis::", "AWS::SNS::")


@dataclass(frozen=True)
class Addition:
    """What `add` did (or, with `dry_run`, would do): the function and its folder, the files added and changed,
    the template's new resources, and what the merge kept once or renamed."""

    project: Path
    function_id: str
    folder: str
    blueprint: str
    added: tuple[str, ...]
    modified: tuple[str, ...]
    resources: tuple[str, ...]
    shared: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()
    dry_run: bool = False


def prefix_of(name: str) -> str:
    """`orders-worker` -> `OrdersWorker`: the prefix of the function's logical ids."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("-"))


def function_id_of(name: str) -> str:
    return prefix_of(name) + "Function"


def find_project(start: Path) -> Path:
    """The generated project that holds `start`: the nearest folder with `.slsgen.json` and a template."""
    for folder in (start, *start.parents):
        if (folder / settings.RECORD_NAME).is_file() and (folder / "template.yaml").is_file():
            return folder
    raise NotAProject(
        f"no generated project here ({start}): run slsgen add in a project made by `slsgen new` (it holds "
        f"{settings.RECORD_NAME} and template.yaml), or in a folder under it"
    )


def add_function(
    project_dir: str | os.PathLike[str],
    blueprint: str | Blueprint,
    name: str,
    *,
    options: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    ask: Ask | None = None,
    trust: bool = False,
    force: bool = False,
    dry_run: bool = False,
) -> Addition:
    """Add a function named `name` made from `blueprint` to the project holding `project_dir`; see the module's
    docstring. `options` and `env` are the function's answers, as for `new_project`; the project's `ci` holds.

    All or nothing: the files are placed as `slsgen new --force` places a project (journaled, undone by the next
    run if killed). Refused, with nothing written: a name the project has, a file the user changed since generation
    that the addition would replace (unless `force`: the merged files keep the user's edits and need none), an
    untrusted blueprint that would run code (unless `trust`). `dry_run` writes nothing, not even a recovery.
    """
    root = find_project(Path(project_dir).expanduser().resolve())
    if not dry_run:
        recover(root.parent, root.name, root)
    elif unfinished(root.parent, root.name, root) is not None:
        raise WriteFailed(
            f"an earlier run of slsgen was stopped while placing files into {root}: run slsgen add without "
            "--dry-run to undo that first; nothing was changed"
        )
    record = records.read_record(root)
    if record["blueprint"].get("kind") == "cookiecutter":
        raise InvalidOption(f"{root} was made from a cookiecutter template: slsgen add extends slsgen projects only")
    loaded = blueprint if isinstance(blueprint, Blueprint) else load_blueprint(blueprint)
    trusted.require(loaded.name, loaded.chain, trusted.blueprint_code(loaded), trust)
    check_function_name(root, record, name)
    answers = resolve_answers(loaded, {**dict(options or {}), "ci": record["answers"].get("ci")}, env, ask)

    def run(workdir: Path) -> Plan:
        plan = plan_addition(root, record, loaded, name, answers, workdir, force)
        if not dry_run:
            place_addition(root, plan.files, workdir)
        return plan

    plan = in_workdir(root, "add", f"adding {name}", run)
    return dataclasses.replace(plan.addition, dry_run=dry_run)


def check_function_name(root: Path, record: Mapping[str, Any], name: str) -> None:
    """A function's name is a slug that neither the project nor any of its functions has."""
    check_project_name(name)
    taken = {function["name"] for function in record.get("functions", [])}
    if name == record.get("project_name") or name in taken or (root / FUNCTIONS / name).exists():
        raise TargetExists(
            f"the project {root.name} has a function named {name} already ({FUNCTIONS}/{name}/): choose another name"
        )


@dataclass
class Plan:
    files: dict[str, snapshot.File]  # what to place: new and changed files, the records included
    addition: Addition


def plan_addition(
    root: Path,
    record: dict[str, Any],
    loaded: Blueprint,
    name: str,
    answers: dict[str, Any],
    workdir: Path,
    force: bool,
) -> Plan:
    """Render the function and attach it to the project's files and to its merge base; nothing is written in the
    project. The record gains the function, and its digests become the new merge base's."""
    base = records.read_snapshot(root)
    if base is None:
        raise InvalidOption(f"{root} has no {snapshot.SNAPSHOT} (made before slsgen kept one): run slsgen update first")
    function_id = function_id_of(name)
    part = render_part(loaded, str(record["project_name"]), function_id, answers, workdir)
    stack_name, ci = stack_of(root), record["answers"].get("ci")
    current = {path: (root / path).read_bytes() for path in MERGED if (root / path).is_file()}
    changes, merged = attach(current, part, name, stack_name, ci)
    refuse_overwrites(root, record, changes, force)
    base_changes, _ = attach({path: file.data for path, file in base.items()}, part, name, stack_name, ci)
    new_base = dict(base)
    for path, data in base_changes.items():
        new_base[path] = snapshot.File(data, base[path].executable if path in base else executable(part, name, path))
    entry = {"name": name, "id": function_id, "blueprint": recorded_blueprint(loaded), "answers": answers}
    new_record = {
        **record,
        "functions": [*record.get("functions", []), entry],
        "files": dict(
            sorted(
                {
                    **record["files"],
                    **{path: hashlib.sha256(data).hexdigest() for path, data in base_changes.items()},
                }.items()
            )
        ),
    }
    files = {path: snapshot.File(data, executable(part, name, path)) for path, data in changes.items()}
    files[settings.RECORD_NAME] = snapshot.File(json.dumps(new_record, indent=2).encode() + b"\n")
    files[snapshot.SNAPSHOT] = snapshot.File(snapshot.encode(new_base))
    addition = Addition(
        project=root,
        function_id=function_id,
        folder=f"{FUNCTIONS}/{name}",
        blueprint=loaded.name,
        added=tuple(sorted(path for path in changes if not (root / path).exists())),
        modified=tuple(sorted(path for path in changes if (root / path).exists())),
        resources=tuple(merged.added.get("Resources", [])),
        shared=tuple(merged.shared),
        renamed=tuple(sorted(merged.renamed.items())),
    )
    return Plan(files, addition)


def render_part(loaded: Blueprint, project_name: str, function_id: str, answers: dict[str, Any], workdir: Path) -> Path:
    """The function's blueprint rendered as a project of its own, with the function's logical id and the project's
    name (its stack): what `attach` takes the function from."""
    (workdir / "part").mkdir()
    return render(dataclasses.replace(loaded, function_id=function_id), project_name, answers, workdir / "part")


def recorded_blueprint(loaded: Blueprint) -> dict[str, Any]:
    """The blueprint as a record names it (as `render.write_record` does for the project's)."""
    found = {key: value for key in ("ref", "directory", "commit") if (value := getattr(loaded, key))}
    return {"name": loaded.name, "version": loaded.version, "source": loaded.source, **found}


def stack_of(root: Path) -> str:
    """The stack the project deploys to (its samconfig.toml's), with which the runner resolves local names."""
    from lambda_runner.config.template import default_stack_name

    return str(default_stack_name(root))


def executable(part: Path, name: str, path: str) -> bool:
    """Whether the function's file at `path` (`functions/<name>/...`) is executable in its render."""
    inside = f"{FUNCTIONS}/{name}/"
    return path.startswith(inside) and os.access(part / path.removeprefix(inside), os.X_OK)


def attach(
    files: Mapping[str, bytes], part: Path, name: str, stack_name: str, ci: str | None
) -> tuple[dict[str, bytes], stack.Merged]:
    """What adding the function rendered in `part` changes in a project whose files are `files` (its
    `template.yaml`, `pyproject.toml`, `README.md`): the changed files and the function's own, new ones under
    `functions/<name>/`; and what the template's merge did. Pure: the same for the user's files, for the merge
    base, and for `slsgen update` on a fresh render."""
    if "template.yaml" not in files:
        raise InvalidOption("the project has no template.yaml: slsgen add merges the function into it")
    part_template = (part / "template.yaml").read_text(encoding="utf-8")
    merged = stack.merge_function(
        files["template.yaml"].decode("utf-8"),
        part_template,
        prefix=prefix_of(name),
        folder=name,
        code_uri=f"{FUNCTIONS}/{name}/src/",
    )
    renames = local_renames(part_template, merged, stack_name)
    changed: dict[str, bytes] = {"template.yaml": merged.text.encode("utf-8")}
    for path in sorted(part.rglob("*")):
        relative = path.relative_to(part).as_posix()
        target = f"{FUNCTIONS}/{name}/{relative}"
        if path.is_file() and not PROJECT_FILES.match(relative) and is_project_file(target):
            changed[target] = followed(path.read_bytes(), renames)
    if "pyproject.toml" in files and (part / "pyproject.toml").is_file():
        changed["pyproject.toml"] = merge_pyproject(files["pyproject.toml"], (part / "pyproject.toml").read_bytes())
    if "README.md" in files:
        changed["README.md"] = files["README.md"] + readme_section(part, name, merged).encode("utf-8")
    role = role_file(ci)
    if role is not None:
        changed[role] = deploy_role.role_template(merged.text, str(ci), stack_name).encode("utf-8")
    return {path: data for path, data in changed.items() if files.get(path) != data}, merged


def role_file(ci: str | None) -> str | None:
    systems = deploy_role.role_data()["ci_trust"]
    return str(systems[ci]["file"]) if ci in systems else None


def local_renames(part_template: str, merged: stack.Merged, stack_name: str) -> list[tuple[str, str]]:
    """How the part's resources' names change as the local runner resolves them (`<stack>-<logical id>`, or their
    own name property), longest first: the function's sample events and tests spell them out, and follow."""
    from lambda_runner.config.cfn_yaml import parse_yaml
    from lambda_runner.config.template import Resolver

    before = Resolver(parse_yaml(part_template), stack_name)
    after = Resolver(parse_yaml(merged.text), stack_name)
    pairs = set()
    for old, new in merged.renamed.items():
        if old in before.resources and new in after.resources:
            old_name, new_name = str(before.resource_name(old)), str(after.resource_name(new))
            if old_name and old_name != new_name:
                pairs.add((old_name, new_name))
    return sorted(pairs, key=lambda pair: -len(pair[0]))


def followed(data: bytes, renames: list[tuple[str, str]]) -> bytes:
    """A text file with each resource's old local name (a whole name, not part of a longer one) replaced by its
    new one; any other file as it is."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    for old, new in renames:
        text = re.sub(rf"(?<![\w.-]){re.escape(old)}(?![\w-])", new, text)
    return text.encode("utf-8")


def merge_pyproject(project: bytes, part: bytes) -> bytes:
    """The project's pyproject.toml with what the function's adds: dependency-group entries and list settings (a
    pytest warning filter) it lacks, appended; the project's own values win everywhere else (tomlkit keeps its
    comments and layout)."""
    import tomlkit

    ours = tomlkit.parse(project.decode("utf-8"))
    theirs = tomlkit.parse(part.decode("utf-8"))
    for table in ("dependency-groups", "tool"):
        if table in theirs:
            _merge(ours, table, theirs[table])
    return tomlkit.dumps(ours).encode("utf-8")


def _merge(ours: Any, key: str, theirs: Any) -> None:
    if key not in ours:
        ours[key] = theirs
        return
    mine = ours[key]
    if hasattr(theirs, "items") and hasattr(mine, "items"):
        for inner, value in theirs.items():
            _merge(mine, inner, value)
    elif isinstance(theirs, list) and isinstance(mine, list):
        mine.extend(item for item in theirs if item not in mine)


def readme_section(part: Path, name: str, merged: stack.Merged) -> str:
    """The function's part of the README: where its files are, what it adds to the template, how to run it."""
    blueprint = json.loads((part / settings.RECORD_NAME).read_text(encoding="utf-8"))["blueprint"]["name"]
    function_id = function_id_of(name)
    short = prefix_of(name)
    others = [f"`{key}`" for key in merged.added.get("Resources", []) if key != function_id]
    events = sorted(path.name for path in (part / "events").glob("*.json"))
    event = f" -e {FUNCTIONS}/{name}/events/{events[0]}" if events else ""
    local = " --local-aws" if local_resources(merged) else ""
    with_others = f", with {', '.join(others)}." if others else "."
    return "\n".join(
        [
            "",
            f"## {short}: the `{name}` function ({blueprint})",
            "",
            f"Added with `slsgen add {blueprint} {name}`: its code is in `{FUNCTIONS}/{name}/src/` (its `CodeUri`,",
            f"with its own `requirements.txt`), its tests in `{FUNCTIONS}/{name}/tests/` (`make test` runs them with",
            f"the others) and its sample events in `{FUNCTIONS}/{name}/events/`. In `template.yaml` it is",
            f"`{function_id}`{with_others}",
            "",
            "```bash",
            f"make invoke FUNCTION={short}   # the function on each of its sample events",
            f".venv/bin/python -m {settings.RUNNER_PACKAGE} invoke {short}{event}{local}",
            "```",
            "",
        ]
    )


def local_resources(merged: stack.Merged) -> bool:
    """Whether the function's resources include one it reaches at run time (a table, a queue, a bucket...)."""
    document = stack.load(merged.text, "template.yaml")
    kinds = [str(document["Resources"][key].get("Type", "")) for key in merged.added.get("Resources", [])]
    return any(kind.startswith(REACHED) for kind in kinds)


def refuse_overwrites(root: Path, record: Mapping[str, Any], files: Mapping[str, bytes], force: bool) -> None:
    """Refuse to replace a file the user changed since generation (its digest differs from the record's), unless
    `force`; the files `attach` merges (template, pyproject, README) keep the user's edits and are not refused."""
    recorded = record.get("files", {})
    edited = [
        path
        for path in files
        if path not in MERGED
        and (root / path).is_file()
        and hashlib.sha256((root / path).read_bytes()).hexdigest() != recorded.get(path)
    ]
    if edited and not force:
        raise TargetExists(
            f"slsgen add would replace {', '.join(edited)}, which you changed since generation: commit or move your "
            "changes, or pass --force to replace them (nothing was changed)"
        )


def place_addition(root: Path, files: Mapping[str, snapshot.File], workdir: Path) -> None:
    """Place the new and changed files as `slsgen new --force` places a project: journaled, all or nothing."""
    staging = workdir / "staging"
    for relative, file in files.items():
        path = staging / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(file.data)
        path.chmod(0o755 if file.executable else 0o644)
    with locked(root), open_journal(workdir, root) as log:
        place_files(staging, root, workdir / "replaced", log, ())
