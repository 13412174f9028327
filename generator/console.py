"""What slsgen shows a person: tables, the tree of generated files, next steps, and prompts.

Rich is imported here only, and this module only by the commands that print, so a plain `slsgen --help` never
pays for it. Prompts loop until an answer passes the same check the library applies, so a typo costs one retry,
not a restart.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.prompt import Prompt
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from . import settings
from .blueprints import Blueprint, Listed
from .errors import InvalidOption
from .options import Question

if TYPE_CHECKING:
    from .addition import Addition
    from .defaults import Effective
    from .userconfig import UserConfig

out = Console()
err = Console(stderr=True)


def print_blueprints(blueprints: list[Listed]) -> None:
    """One block per blueprint, wrapped between words: a table squeezes its columns to nothing at 80 columns."""
    out.print("[bold]slsgen blueprints[/bold]")
    for blueprint in blueprints:
        out.print()
        out.print(f"[bold cyan]{blueprint.name}[/bold cyan]  ({escape(blueprint.source)})")
        out.print(Padding(f"trigger: {escape(blueprint.trigger)}\n{escape(blueprint.description)}", (0, 0, 0, 2)))
    out.print()
    out.print("Options of one: slsgen show BLUEPRINT    Generate: slsgen new BLUEPRINT NAME")


def print_config(config: UserConfig, rows: list[Effective]) -> None:
    """`slsgen config show`: the file, the search path and trusted sources, then each value and its origin."""
    state = "" if config.exists else " (not created yet)"
    out.print(f"config file: {config.path}{state}", highlight=False, markup=False, soft_wrap=True)
    for label, entries in (("blueprints", config.blueprints), ("trusted", config.trusted)):
        out.print(f"{label}: {', '.join(entries) if entries else '-'}", highlight=False, markup=False, soft_wrap=True)
    table = Table(box=None, pad_edge=False)
    table.add_column("option", style="bold cyan", no_wrap=True)
    table.add_column("value", no_wrap=True)
    table.add_column("from", overflow="fold")
    for row in rows:
        table.add_row(row.name, escape(format_default(row.value)), escape(row.origin))
    out.print(table)


def format_default(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


def print_blueprint(blueprint: Blueprint, flags: list[str]) -> None:
    """One block per option, values whole on their own lines: a table cuts them at 80 columns; then the flags
    (`flags`, those of `slsgen new` that set a runtime setting) and `--set` for the rest."""
    out.print(f"[bold]{blueprint.name}[/bold] {blueprint.version} — {escape(blueprint.title)}")
    out.print(escape(blueprint.description))
    for question in blueprint.all_questions():
        out.print()
        out.print(
            Text.assemble(
                (question.name, "bold cyan"), f"  {question.type}, default ", (format_default(question.default), "bold")
            )
        )
        lines = [question.help + (f" (when {question.when})" if question.when else "")]
        allowed = question.describe_allowed()
        if allowed:
            lines.append(f"allowed: {allowed}")
        for line in lines:  # wrapped between words only: a value such as a handler name is never cut
            wrapped = textwrap.wrap(
                line,
                out.width - 1,
                initial_indent="    ",
                subsequent_indent="    ",
                break_long_words=False,
                break_on_hyphens=False,
            )
            out.print("\n".join(wrapped), markup=False, highlight=False, soft_wrap=True)
    out.print()
    out.print(
        textwrap.fill(
            f"Set runtime settings with {' '.join(flags)}; the rest with --set KEY=VALUE.",
            out.width - 1,
            break_long_words=False,
            break_on_hyphens=False,
        ),
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def print_generated(project: Path, next_steps: list[str]) -> None:
    record = json.loads((project / settings.RECORD_NAME).read_text(encoding="utf-8"))
    if record["blueprint"].get("kind") == "cookiecutter":
        out.print(f"[green]Created[/green] {project} from the cookiecutter template {record['blueprint']['name']}.")
        return
    tree = Tree(f"[bold]{project}[/bold]")
    nodes: dict[Path, Tree] = {Path("."): tree}
    derived = [name for name in (settings.LOCK_FILE, settings.EXPORTED_REQUIREMENTS) if (project / name).is_file()]
    for name in sorted({*record["files"], *derived}):
        relative = Path(name)
        if name.startswith(settings.RUNNER_WHEELS + "/"):
            continue
        parent = Path(".")
        for part in relative.parent.parts:
            child = parent / part
            if child not in nodes:
                nodes[child] = nodes[parent].add(f"[bold blue]{part}/")
            parent = child
        nodes[parent].add(relative.name)
    tree.add(f"[bold blue]{settings.RUNNER_WHEELS}/[/] [dim](the local runner's wheel, a dev dependency)[/dim]")
    out.print(tree)
    blueprint = record["blueprint"]["name"]
    out.print(f"\n[green]Created[/green] {record['project_name']} from {blueprint} {record['blueprint']['version']}.")
    out.print("Next steps:")
    steps = [
        f"cd {project}",
        "make install      # .venv with the function's dependencies and the test tools",
        "make test         # the project's tests, offline",
        "make lint         # ruff check and ruff format --check (installs ruff)",
        "make invoke       # run the function on events/",
        *next_steps,
        "make deploy       # needs AWS: sam build, then sam deploy (guided the first time)",
    ]
    for step in steps:
        out.print(f"  {step}")


def files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def print_warning(line: str) -> None:
    """A problem that does not stop the command (a config key that looks like a typo), on stderr."""
    err.print(f"warning: {line}", highlight=False, markup=False, soft_wrap=True)


def print_added(addition: Addition) -> None:
    """What `slsgen add` did (or would do): the function, its files, the template's new resources, and the steps."""
    would = "would " if addition.dry_run else ""
    head = f"{'dry run: ' if addition.dry_run else ''}{addition.function_id} ({addition.blueprint})"
    out.print(f"[bold]{escape(head)}[/bold] {would}add to {addition.project.name}:", highlight=False)
    for path in addition.added:
        out.print(f"  {would}add {path}", highlight=False, markup=False)
    for path in addition.modified:
        out.print(f"  {would}change {path}", highlight=False, markup=False)
    out.print(f"template.yaml {would}gain: {', '.join(addition.resources)}", highlight=False, soft_wrap=True)
    if addition.shared:
        out.print(f"kept once (the same in both): {', '.join(addition.shared)}", highlight=False, soft_wrap=True)
    if addition.lock:
        out.print(addition.lock, highlight=False, soft_wrap=True)
    if not addition.dry_run:
        short = addition.function_id.removesuffix("Function")
        out.print(f"\nNext: make install test && make invoke FUNCTION={short}", highlight=False)


def print_note(note: str) -> None:
    """One line about what happened beside the files (the git repository, say)."""
    out.print(f"\n{note}", highlight=False, soft_wrap=True)


def print_retired(removed: tuple[str, ...], kept: tuple[str, ...]) -> None:
    """Under --force: the earlier generation's files this one dropped, removed when unchanged, else kept."""
    if removed:
        out.print(f"\nRemoved {files(len(removed))} of the earlier generation that this one does not make:")
        for name in removed:
            out.print(f"  {name}", highlight=False)
    if kept:
        out.print(
            f"\n[yellow]Kept {files(len(kept))}[/yellow] of the earlier generation that this one does not make, "
            "because they changed since; delete them if they are no longer needed:"
        )
        for name in kept:
            out.print(f"  {name}", highlight=False)


def choose_blueprint() -> str:
    from .blueprints import list_blueprints

    blueprints = list_blueprints()
    for index, blueprint in enumerate(blueprints, start=1):
        out.print(f"  {index}. [bold]{blueprint.name}[/bold] — {blueprint.description}")
    choices = [str(index) for index in range(1, len(blueprints) + 1)]
    picked = Prompt.ask("Blueprint", choices=choices, default="1", console=err)
    return blueprints[int(picked) - 1].name


def ask_question(question: Question) -> Any:
    """Ask one question until its answer passes the question's own check."""
    prompt = Text.assemble(question.help or question.name, " ", (f"({question.name})", "dim"))
    if question.choices:  # shown here, checked by `convert`: its message says why (a deprecated runtime's dates)
        prompt.append(f" [{'/'.join(question.choices)}]", "magenta bold")
    while True:
        raw = Prompt.ask(prompt, default=format_default(question.default), console=err)
        try:
            return question.convert(raw)
        except InvalidOption as exc:
            err.print(f"[red]{exc}[/red]")
