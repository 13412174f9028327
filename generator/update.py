"""`slsgen update`: bring a generated project up to its blueprint's current version, keeping the user's edits.

The base of the merge is the project as slsgen generated it, read from the snapshot every generation keeps in
`.slsgen/base.json.gz` (see `snapshot`), so it exists even when the recorded blueprint version no longer ships.
The new version is rendered with the recorded answers (plus `--set` changes, and new questions' defaults or
prompts), and each file is merged with `merge` (three-way, `git merge-file` semantics):

- changed by the blueprint only: the new version; by the user only: theirs kept; by both: merged, or a conflict
  left between markers (listed, exit code 1);
- deleted by the user: stays deleted; removed by the blueprint: removed when unchanged, else kept and listed.

The result is placed with `placement.place`, all or nothing, journaled on disk and with its work folder locked,
as `slsgen new --force` places a project: an update killed midway is undone by the next `update` or `new`. After a
clean merge the project's `.slsgen.json` and snapshot describe the new version. After a conflict they stay as
they were and the new ones wait in `.slsgen/pending/`: `slsgen update --continue` installs them once the markers
are gone (and removes the files the blueprint dropped), so resolving never means merging the same hunks twice.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import records, runner_dependency, settings, snapshot
from . import trust as trusted
from .addition import FUNCTIONS, MERGED, attach, recorded_blueprint, render_part, stack_of
from .blueprints import Blueprint, load_blueprint
from .cookietemplate import Rendered, render_template
from .errors import (
    BlueprintInvalid,
    BlueprintNotFound,
    InvalidOption,
    RenderError,
    SlsgenError,
    WriteFailed,
)
from .merge import has_markers, merge
from .options import Question
from .placement import is_project_file, open_journal, place, recover, unfinished
from .project import describe, in_workdir, resolve_answers
from .render import evaluate, file_digests, render
from .sources import ResolvedSource, is_git, resolve

Ask = Callable[[Question], Any]
PENDING = snapshot.PENDING
MISSING = object()


class UpdateRefused(SlsgenError):
    """The project cannot be updated as it stands (uncommitted changes, an update in progress, no merge base)."""


@dataclass
class Plan:
    """What an update would do: the files to write, the ones it leaves to the user, and the new records."""

    project: Path
    blueprint: str
    old_version: str
    new_version: str
    writes: dict[str, snapshot.File] = field(default_factory=dict)  # merged content, by path
    conflicts: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # dropped by the blueprint, unchanged by the user
    kept_changed: list[str] = field(default_factory=list)  # dropped by the blueprint, changed by the user
    kept_deleted: list[str] = field(default_factory=list)  # deleted by the user, changed by the blueprint
    new_questions: dict[str, Any] = field(default_factory=dict)
    dropped_answers: list[str] = field(default_factory=list)
    available: bool = False  # the new version's files differ from the base
    record: bytes = b""
    base: bytes = b""
    wheels: dict[str, snapshot.File] = field(default_factory=dict)  # the runner's wheel and pin (never merged)
    functions: list[tuple[str, str, str, str]] = field(default_factory=list)  # added: name, blueprint, old, new

    @property
    def changes(self) -> bool:
        return bool(self.writes or self.removed or self.available)


def read_record(project: Path) -> dict[str, Any]:
    """The project's `.slsgen.json`, checked field by field (`records`): one line naming the field and the fix."""
    return records.read_record(project)


def blueprint_source(recorded: Mapping[str, Any], ref: str | None) -> Blueprint:
    """The blueprint a project records, at its current version or at `ref`: the one place sources are looked up.

    Built-in (`builtin:NAME`) and folder blueprints are loaded as they are now; any other source is a git
    repository, fetched again at `ref` (else the recorded ref: a branch moves on, a tag or commit stays). A record
    is input like any other (a cloned project's may be anyone's): a source that is none of these is refused.
    """
    source = str(recorded.get("source", ""))  # its form is checked when the record is read (`records`)
    from_git = is_git(source)
    if not from_git:
        if ref is not None:
            raise InvalidOption(f"--ref applies to blueprints from git; {source} is not one")
        if not source.startswith("builtin:") and not Path(source).is_dir():
            raise BlueprintNotFound(
                f"the project's blueprint folder {source} no longer exists: restore it, or fix blueprint.source in "
                f"{settings.RECORD_NAME}"
            )
        return load_blueprint(source if source.startswith("builtin:") else str(Path(source)))
    return load_blueprint(source, ref=ref or recorded.get("ref"), directory=recorded.get("directory"))


def project_files(files: Mapping[str, snapshot.File]) -> dict[str, snapshot.File]:
    """The files a merge may plan: none under version-control metadata, whatever a snapshot holds (a project
    generated before slsgen left a blueprint's `.git` out may have it in its records)."""
    return {path: file for path, file in files.items() if is_project_file(path)}


def carried_answers(
    blueprint: Blueprint, recorded: Mapping[str, Any], changes: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """The recorded answers (with `changes` over them) that still apply: by question, in order, `when` checked.

    Answers to questions the blueprint no longer asks are dropped and returned; a question that does not apply
    any more gets no answer, so that resolving falls back to its default as a fresh generation would.
    """
    questions = blueprint.all_questions()
    names = {question.name for question in questions}
    dropped = sorted(key for key in recorded if key not in names)
    given: dict[str, Any] = {key: value for key, value in changes.items() if key not in names}  # refused later
    context: dict[str, Any] = {}
    for question in questions:
        value = changes.get(question.name, recorded.get(question.name, MISSING))
        applies = question.when is None or evaluate(question.when, context)
        if applies and value is not MISSING:
            given[question.name] = value
            try:
                context[question.name] = question.convert(value)
            except InvalidOption as exc:  # the new version narrowed what it accepts
                raise InvalidOption(f"{exc}; give a new answer with --set {question.name}=...") from None
        else:
            context[question.name] = question.default
    return given, dropped


def check_clean(project: Path) -> None:
    """Refuse a git work tree with uncommitted changes: the update must be reviewable and revertible on its own."""
    git = shutil.which("git")
    if git is None:
        return
    inside = subprocess.run(
        [git, "rev-parse", "--is-inside-work-tree"], cwd=project, capture_output=True, text=True, check=False
    )
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        return
    status = subprocess.run(  # no fsmonitor: a project's .git/config is not slsgen's to run
        [git, "-c", "core.fsmonitor=false", "status", "--porcelain", "--untracked-files=all", "--", "."],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    if status.stdout.strip():
        first = status.stdout.splitlines()[0][3:]
        raise UpdateRefused(
            f"{project} has uncommitted changes ({first} ...): commit or stash them first, or pass --force"
        )


def base_files(project: Path, record: Mapping[str, Any], trust: bool, workdir: Path) -> dict[str, snapshot.File]:
    """The merge base: the project's snapshot, else (older projects) a re-render of the recorded version, used
    only when the digests prove it identical. A git blueprint is fetched again at the recorded commit; a built-in
    or folder blueprint exists only as it is now, so it serves only while its version is the recorded one."""
    stored = records.read_snapshot(project)
    if stored is not None:
        return project_files(stored)
    recorded_blueprint = record["blueprint"]
    version = recorded_blueprint.get("version")
    recorded = dict(record.get("answers", {}))
    env = recorded.pop("env", {})
    digests = {path: digest for path, digest in record.get("files", {}).items() if not snapshot.is_bookkeeping(path)}
    rendered: dict[str, snapshot.File] = {}
    commit = recorded_blueprint.get("commit") if is_git(str(recorded_blueprint.get("source", ""))) else None
    old = blueprint_source(recorded_blueprint, commit)
    if old.version == version:
        trusted.require(old.name, old.chain, trusted.blueprint_code(old), trust)
        try:
            given, _ = carried_answers(old, recorded, {})
            answers = resolve_answers(old, given, env)
            (workdir / "base").mkdir()
            folder = render(old, str(record.get("project_name", project.name)), answers, workdir / "base")
            rendered = snapshot.files_of(folder)
        except (InvalidOption, RenderError, BlueprintInvalid):
            rendered = {}
    same = {path: snapshot_digest(file) for path, file in rendered.items()} == digests
    if not rendered or not same:
        raise UpdateRefused(
            f"{project} has no merge base: it has no {snapshot.SNAPSHOT}, and blueprint {old.name} {version} with "
            "this slsgen does not reproduce it; generate the project anew with `slsgen new --force` and review the "
            "differences with git"
        )
    return rendered


def snapshot_digest(file: snapshot.File) -> str:
    return hashlib.sha256(file.data).hexdigest()


def current_file(project: Path, relative: str) -> snapshot.File | None:
    path = project / relative
    if path.is_symlink() or not path.is_file():
        return None
    return snapshot.File(path.read_bytes(), os.access(path, os.X_OK))


def plan_update(
    project: Path,
    workdir: Path,
    *,
    ref: str | None = None,
    changes: Mapping[str, str] | None = None,
    ask: Ask | None = None,
    trust: bool = False,
) -> Plan:
    """Render the new version into `workdir` and merge it with the project's files, writing nothing in the project.

    The trust rules are `slsgen new`'s, for each version rendered: the new one, and the recorded one when it is
    re-rendered as the merge base. Paths under version-control metadata are never planned, whatever the snapshot
    holds (a project generated before slsgen left a blueprint's `.git` out may have it in its records).
    """
    record = read_record(project)
    if record["blueprint"].get("kind") == "cookiecutter":
        return plan_template_update(project, workdir, record, ref, dict(changes or {}), trust)
    recorded_blueprint = record["blueprint"]
    blueprint = blueprint_source(recorded_blueprint, ref)
    trusted.require(blueprint.name, blueprint.chain, trusted.blueprint_code(blueprint), trust)
    base = base_files(project, record, trust, workdir)
    recorded = dict(record.get("answers", {}))
    env = recorded.pop("env", {})
    given, dropped = carried_answers(blueprint, recorded, dict(changes or {}))
    answers = resolve_answers(blueprint, given, env, ask)
    name = str(record.get("project_name", project.name))
    (workdir / "new").mkdir()
    rendered = render(blueprint, name, answers, workdir / "new")
    functions = replay_functions(project, record, rendered, workdir, trust)
    theirs = project_files(snapshot.files_of(rendered))
    plan = Plan(
        project=project,
        blueprint=blueprint.name,
        old_version=str(recorded_blueprint.get("version")),
        new_version=blueprint.version,
        new_questions={key: value for key, value in answers.items() if key != "env" and key not in recorded},
        dropped_answers=dropped,
        available=theirs != base or answers != {**recorded, "env": env},
        record=(rendered / settings.RECORD_NAME).read_bytes(),
        base=(rendered / snapshot.SNAPSHOT).read_bytes(),
    )
    plan.functions = functions
    merge_all(plan, base, theirs)
    plan.wheels = runner_dependency.wheel_files(rendered)
    plan.writes.update((path, file) for path, file in plan.wheels.items() if current_file(project, path) != file)
    return plan


def replay_functions(
    project: Path, record: Mapping[str, Any], rendered: Path, workdir: Path, trust: bool
) -> list[tuple[str, str, str, str]]:
    """Add the project's added functions to its new render, in the order they were added, each from its own
    blueprint's current version (a git one at its recorded ref) with its recorded answers, exactly as `slsgen add`
    attached them: the new render is then the whole project, and the record says which version each came from."""
    functions = list(record.get("functions", []))
    if not functions:
        return []
    stack_name, ci = stack_of(project), record["answers"].get("ci")
    entries: list[dict[str, Any]] = []
    versions: list[tuple[str, str, str, str]] = []
    for index, function in enumerate(functions):
        blueprint = blueprint_source(function["blueprint"], None)
        trusted.require(blueprint.name, blueprint.chain, trusted.blueprint_code(blueprint), trust)
        recorded = {key: value for key, value in function.get("answers", {}).items() if key != "env"}
        given, _ = carried_answers(blueprint, recorded, {})
        answers = resolve_answers(blueprint, {**given, "ci": ci}, function.get("answers", {}).get("env", {}))
        (workdir / f"function-{index}").mkdir()
        part = render_part(
            blueprint, str(record["project_name"]), function["id"], answers, workdir / f"function-{index}"
        )
        files = {path: (rendered / path).read_bytes() for path in MERGED if (rendered / path).is_file()}
        changes, _ = attach(files, part, function["name"], stack_name, ci)
        for path, data in changes.items():
            (rendered / path).parent.mkdir(parents=True, exist_ok=True)
            (rendered / path).write_bytes(data)
            if path.startswith(f"{FUNCTIONS}/") and os.access(part / path.split("/", 2)[2], os.X_OK):
                (rendered / path).chmod(0o755)
        entries.append({**function, "blueprint": recorded_blueprint(blueprint), "answers": answers})
        versions.append(
            (function["name"], blueprint.name, str(function["blueprint"].get("version")), blueprint.version)
        )
    new_record = json.loads((rendered / settings.RECORD_NAME).read_text(encoding="utf-8"))
    new_record["functions"] = entries
    (rendered / snapshot.SNAPSHOT).unlink()  # the record's digests are of the project's files, as `render` writes them
    new_record["files"] = file_digests(rendered)
    (rendered / settings.RECORD_NAME).write_text(json.dumps(new_record, indent=2) + "\n", encoding="utf-8")
    snapshot.write(rendered)
    return versions


def merge_all(plan: Plan, base: Mapping[str, snapshot.File], theirs: Mapping[str, snapshot.File]) -> None:
    """Merge every file the base or the new version has into `plan` (see `merge_one`)."""
    labels = ("yours", f"{plan.blueprint} {plan.old_version}", f"{plan.blueprint} {plan.new_version}")
    for relative in sorted(base.keys() | theirs.keys()):
        merge_one(
            plan, relative, base.get(relative), current_file(plan.project, relative), theirs.get(relative), labels
        )


def template_source(recorded: Mapping[str, Any], ref: str | None) -> ResolvedSource:
    """The cookiecutter template a project records, at `ref` (else the recorded ref) for a git template."""
    source = str(recorded.get("source", ""))  # its form is checked when the record is read (`records`)
    if is_git(source):
        return resolve(source, ref or recorded.get("ref"), recorded.get("directory"))
    if ref is not None:
        raise InvalidOption(f"--ref applies to templates from git; {source} is not one")
    if not Path(source).is_dir():
        raise BlueprintNotFound(
            f"the project's template folder {source} no longer exists: restore it, or fix blueprint.source in "
            f"{settings.RECORD_NAME}"
        )
    return resolve(source, directory=recorded.get("directory"))


def plan_template_update(
    project: Path, workdir: Path, record: Mapping[str, Any], ref: str | None, changes: dict[str, str], trust: bool
) -> Plan:
    """`plan_update` for a project made from a plain cookiecutter template, as cruft updates one: the template's
    current version (or `ref`) rendered with the recorded answers (changes over them; new questions take their
    defaults: cookiecutter asks all its questions or none), merged over the snapshot the generation kept."""
    recorded = record["blueprint"]
    resolved = template_source(recorded, ref)
    reference = str(recorded.get("template") or recorded["source"])
    answers = dict(record.get("answers", {}))

    def rendered_at(resolved: ResolvedSource, folder: str, given: Mapping[str, str]) -> Rendered:
        (workdir / folder).mkdir()
        return render_template(
            resolved,
            workdir / folder,
            reference=reference,
            output_dir=project.parent,
            given=given,
            carried=answers,
            trusted=trust,
        )

    new = rendered_at(resolved, "new", changes)
    base = records.read_snapshot(project)
    if base is not None:
        base = project_files(base)
    else:  # generated before slsgen kept a snapshot: a re-render of what it recorded, if it is proven
        try:
            old = template_source(recorded, recorded.get("commit")) if recorded.get("commit") else resolved
            base = snapshot.files_of(rendered_at(old, "base", {}).folder)
        except SlsgenError:
            base = {}
        if not base or {path: snapshot_digest(file) for path, file in base.items()} != record.get("files"):
            raise UpdateRefused(
                f"{project} has no merge base: it has no {snapshot.SNAPSHOT}, and its template does not reproduce "
                "it; generate the project anew with `slsgen new --force` and review the differences with git"
            )
    theirs = project_files(snapshot.files_of(new.folder))
    version = {"old": recorded.get("commit"), "new": resolved.commit}
    plan = Plan(
        project=project,
        blueprint=str(recorded["name"]),
        old_version=str(version["old"] or "as generated")[:12],
        new_version=str(version["new"] or "now")[:12],
        new_questions={key: value for key, value in new.answers.items() if key not in answers},
        dropped_answers=new.dropped,
        available=theirs != base or new.answers != answers,
        record=(new.folder / settings.RECORD_NAME).read_bytes(),
        base=(new.folder / snapshot.SNAPSHOT).read_bytes(),
    )
    merge_all(plan, base, theirs)
    return plan


def merge_one(
    plan: Plan,
    relative: str,
    base: snapshot.File | None,
    ours: snapshot.File | None,
    theirs: snapshot.File | None,
    labels: tuple[str, str, str],
) -> None:
    """Decide one file (see the module's docstring), recording the decision in `plan`."""
    if theirs is None:  # the blueprint dropped it
        if ours is None:
            return
        if base is not None and ours.data == base.data:
            plan.removed.append(relative)
        else:
            plan.kept_changed.append(relative)
        return
    if ours is None:
        if base is None:
            plan.writes[relative] = theirs  # new in the blueprint
        elif theirs.data != base.data:
            plan.kept_deleted.append(relative)
        return
    if ours.data == theirs.data:
        if ours.executable != theirs.executable and (base is None or ours.executable == base.executable):
            plan.writes[relative] = theirs
        return
    old = base.data if base is not None else b""
    if is_binary(old) or is_binary(ours.data) or is_binary(theirs.data):
        if ours.data == old:
            plan.writes[relative] = theirs
        elif theirs.data != old:
            plan.conflicts.append(relative)  # kept as the user has it: a binary file has no markers
        return
    merged = merge(old, ours.data, theirs.data, labels)
    if merged.conflicts:
        plan.conflicts.append(relative)
    if merged.text != ours.data:
        plan.writes[relative] = snapshot.File(merged.text, theirs.executable)


def is_binary(data: bytes) -> bool:
    if b"\0" in data[:8192]:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def diff(plan: Plan) -> str:
    """The update as a unified diff of the project's files (what `--dry-run` shows)."""
    chunks: list[str] = []
    for relative in sorted(set(plan.writes) | set(plan.removed)):
        before = current_file(plan.project, relative)
        after = plan.writes.get(relative)
        old_data = before.data if before else b""
        new_data = after.data if after else b""
        if is_binary(old_data) or is_binary(new_data):
            chunks.append(f"Binary file {relative} differs\n")
            continue
        lines = difflib.unified_diff(
            old_data.decode().splitlines(keepends=True),
            new_data.decode().splitlines(keepends=True),
            fromfile=f"a/{relative}" if before else "/dev/null",
            tofile=f"b/{relative}" if after else "/dev/null",
        )
        chunks.append(
            "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
        )
    return "".join(chunks)


def stage(folder: Path, files: Mapping[str, snapshot.File | bytes]) -> None:
    for relative, content in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        file = content if isinstance(content, snapshot.File) else snapshot.File(content)
        path.write_bytes(file.data)
        path.chmod(0o755 if file.executable else 0o644)


def apply(plan: Plan, workdir: Path) -> None:
    """Place the merged files; install the new records now (clean merge) or leave them pending (conflicts)."""
    staging = workdir / "staging"
    staging.mkdir()
    records: dict[str, snapshot.File | bytes]
    if plan.conflicts:
        pending = {"conflicts": plan.conflicts, "removed": plan.removed}
        records = {
            settings.RECORD_NAME: (plan.project / settings.RECORD_NAME).read_bytes(),  # unchanged: nothing retired
            f"{PENDING}/record.json": plan.record,
            f"{PENDING}/base.json.gz": plan.base,
            f"{PENDING}/state.json": json.dumps(pending, indent=2).encode() + b"\n",
        }
    else:
        records = {settings.RECORD_NAME: plan.record, snapshot.SNAPSHOT: plan.base}
    stage(staging, {**plan.writes, **records})
    place_journaled(staging, plan.project, workdir)


def place_journaled(staging: Path, project: Path, workdir: Path, discard: tuple[str, ...] = ()) -> None:
    """Place as `slsgen new --force` does: each step journaled on disk first, so a killed update is undone."""
    with open_journal(workdir, project) as log:
        place(staging, project, workdir / "replaced", log, discard=discard)


def recover_project(project: Path) -> None:
    """Undo what a killed `update` (or `new --force`) left half-placed in `project`, and remove its work folder.

    Runs before the project is read: a half-placed update would otherwise be merged again, or its records read.
    """
    try:
        if project.parent.is_dir():
            recover(project.parent, project.name, project)
    except OSError as exc:
        raise WriteFailed(f"cannot use {project.parent}: {describe(exc)}") from None


def update_project(
    directory: str | os.PathLike[str] = ".",
    *,
    ref: str | None = None,
    changes: Mapping[str, str] | None = None,
    ask: Ask | None = None,
    dry_run: bool = False,
    check: bool = False,
    force: bool = False,
    trust: bool = False,
) -> Plan:
    """Update the project in `directory` (see the module's docstring); return what was (or would be) done.

    `dry_run` and `check` change nothing in the project, not even by recovering what a killed update left: they
    refuse while such a recovery is pending. A blueprint from an untrusted source that would run code is refused
    unless `trust`, as by `slsgen new`. Raises an `SlsgenError` on bad input or a project that cannot be updated
    (uncommitted changes without `force`, an update waiting for `--continue`, no merge base).
    """
    project = Path(directory).expanduser().resolve()
    if dry_run or check:
        stopped = unfinished(project.parent, project.name, project) if project.parent.is_dir() else None
        if stopped is not None:
            raise UpdateRefused(
                f"an earlier update of {project} was stopped while placing files ({stopped.name} holds its journal): "
                "run `slsgen update` without --dry-run/--check to undo it first; nothing was changed"
            )
    else:
        recover_project(project)
    read_record(project)
    if (project / PENDING).exists():
        raise UpdateRefused(
            f"an update of {project} is waiting for its conflicts to be resolved: fix them and run "
            "`slsgen update --continue`"
        )
    if not (dry_run or check or force):
        check_clean(project)

    def run(workdir: Path) -> Plan:
        plan = plan_update(project, workdir, ref=ref, changes=changes, ask=ask, trust=trust)
        if not (dry_run or check) and plan.changes:
            apply(plan, workdir)
        return plan

    result: Plan = in_workdir(project, "update", f"updating {project}", run)
    return result


def continue_update(directory: str | os.PathLike[str] = ".") -> Plan:
    """Finish an update whose conflicts are resolved: install its records and remove the files it dropped."""
    project = Path(directory).expanduser().resolve()
    recover_project(project)
    record = read_record(project)
    pending = project / PENDING
    if not (pending / "state.json").is_file():
        raise UpdateRefused(f"{project} has no update waiting to be continued: run `slsgen update`")
    state, new_record, new, new_base = records.read_pending(pending)
    unresolved = [
        path for path in state.conflicts if (project / path).is_file() and has_markers((project / path).read_bytes())
    ]
    if unresolved:
        raise UpdateRefused(f"conflict markers remain in {', '.join(unresolved)}: resolve them, then continue")
    version = new["blueprint"].get("version") or str(new["blueprint"].get("commit") or "now")[:12]
    plan = Plan(project, new["blueprint"]["name"], record["blueprint"].get("version", ""), version)
    plan.removed = list(state.removed)

    def run(workdir: Path) -> Plan:
        staging = workdir / "staging"
        staging.mkdir()
        stage(staging, {settings.RECORD_NAME: new_record, snapshot.SNAPSHOT: new_base})
        place_journaled(staging, project, workdir, discard=(PENDING,))  # the records and pending's end: one step
        return plan

    result: Plan = in_workdir(project, "update", f"updating {project}", run)
    return result


def report(plan: Plan, *, dry_run: bool = False, check: bool = False) -> list[str]:
    """What the command line prints: one line per fact, conflicts and files left to the user named one by one."""
    versions = f"{plan.blueprint} {plan.old_version} -> {plan.new_version}"
    if not plan.changes:
        return [f"{plan.project.name} is up to date with {plan.blueprint} {plan.new_version}"]
    if check:
        return [
            f"update available: {versions} ({len(plan.writes) + len(plan.removed)} files change); run slsgen update"
        ]
    would = "would " if dry_run else ""
    lines = [f"{'dry run: ' if dry_run else ''}{plan.project.name}: {versions}"]
    lines += [
        f"function {name}: {blueprint} {old} -> {new}" for name, blueprint, old, new in plan.functions if old != new
    ]
    lines += [
        f"new question {name} = {value!r} (change it with --set {name}=...)"
        for name, value in plan.new_questions.items()
    ]
    lines += [f"answer {name} dropped: the blueprint no longer asks it" for name in plan.dropped_answers]
    lines += [f"{would}update {path}" for path in sorted(set(plan.writes) - set(plan.conflicts))]
    lines += [f"{would}remove {path} (the blueprint dropped it)" for path in plan.removed]
    lines += [f"kept {path}: the blueprint dropped it, but you changed it" for path in plan.kept_changed]
    lines += [f"kept deleted {path}: you deleted it; the blueprint changed it" for path in plan.kept_deleted]
    lines += [f"conflict {path}" for path in plan.conflicts]
    lines += runner_dependency.hints(plan.kept_changed, plan.wheels)
    if plan.conflicts and not dry_run:
        lines.append(
            f"{len(plan.conflicts)} file(s) have conflicts between <<<<<<< and >>>>>>> markers: resolve them, then "
            "run `slsgen update --continue`"
        )
    return lines
