"""The `slsgen` command line: parse arguments, call one library function, map errors to exit codes.

Each command is a few lines; the work happens in the library (`project`, `blueprints`, `workspace`), and the
printing in `console`. Heavy modules (cookiecutter, jinja2, rich) are imported inside the commands that need
them, so that `slsgen --help` and shell completion stay fast.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core

from . import __version__, settings
from .errors import SlsgenError
from .passthrough import RUNNER_COMMANDS

app = typer.Typer(
    name="slsgen",
    help="Scaffold production-grade AWS Lambda projects in Python from blueprints, offline.",
    # \b: Click keeps the lines of the paragraph after it, so an example never wraps into the next one.
    epilog="\b\nExamples:\n  slsgen list\n  slsgen show hello-world\n  slsgen new hello-world my-api",
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}
# How `new` and `config show` find a blueprint in a repository: the same options, declared once.
RefOption = Annotated[
    str | None, typer.Option(metavar="TAG|BRANCH|COMMIT", help="A git blueprint's version (default branch).")
]
DirectoryOption = Annotated[
    str | None, typer.Option(metavar="PATH", help="The blueprint's folder inside a git repository or folder.")
]


def choices(values: tuple[str, ...], default: str) -> str:
    """`a, b (default) or c`: a help text's allowed values, from the settings they are checked against."""
    shown = [f"{value} (default)" if value == default else value for value in values]
    return f"{', '.join(shown[:-1])} or {shown[-1]}" if len(shown) > 1 else shown[0]


def span(limits: tuple[int, int]) -> str:
    return f"{limits[0]}-{limits[1]}"


def values_of(values: tuple[str, ...]) -> Callable[[str], list[str]]:
    """Shell completion of an option: the values slsgen checks it against (`settings`, from the facts)."""
    return lambda incomplete: [value for value in values if value.startswith(incomplete)]


def typed_blueprint(ctx: typer.Context) -> str | None:
    """The blueprint named on the command line being completed, as the shell gave it to the completion script
    (`COMP_WORDS` for bash, `_TYPER_COMPLETE_ARGS` for zsh, fish and PowerShell): Click parses none of the command's
    arguments while it completes an option's value, so `ctx.params` does not hold it then."""
    import shlex

    typed = os.environ.get("COMP_WORDS") or os.environ.get("_TYPER_COMPLETE_ARGS") or ""
    try:
        words = shlex.split(typed)
    except ValueError:  # an open quote in the word being completed
        words = typed.split()
    takes_value = {opt for param in ctx.command.params if not getattr(param, "is_flag", True) for opt in param.opts}
    after = words[words.index(ctx.info_name) + 1 :] if ctx.info_name in words else []
    if typed and not typed[-1].isspace():
        after = after[:-1]  # the word being completed (the shells pass it last) names no blueprint yet
    skip = False
    for word in after:
        if skip or word.startswith("-"):
            skip = not skip and word in takes_value and "=" not in word
            continue
        return word
    return None


def complete_answer(ctx: typer.Context, incomplete: str) -> list[str]:
    """`--set KEY=VALUE`: the blueprint's question names (`greeting=`), then a choice's or a yes/no question's
    values (`trigger=none`), for the blueprint given earlier on the line (hello-world, the default, if none). Only
    a built-in or a local folder is read: completion never fetches a repository."""
    from .blueprints import builtin_names, load_blueprint

    source = ctx.params.get("blueprint") or typed_blueprint(ctx) or "hello-world"
    if source not in builtin_names() and not Path(source, settings.MANIFEST_NAME).is_file():
        return []
    try:
        questions = load_blueprint(source).questions
    except (SlsgenError, OSError):
        return []
    key, equals, _ = incomplete.partition("=")
    if not equals:
        return [f"{question.name}=" for question in questions if question.name.startswith(key)]
    question = next((question for question in questions if question.name == key), None)
    values: tuple[str, ...] = ()
    if question is not None:
        values = question.choices or (("yes", "no") if question.type == "bool" else ())
    return [f"{key}={value}" for value in values if f"{key}={value}".startswith(incomplete)]


# The options `new` and `add` share: declared once. Those of this panel set a runtime setting (`runtime_flags`);
# `slsgen show` lists them from here.
RUNTIME_PANEL = "Runtime settings"
NoInput = Annotated[bool, typer.Option("--no-input", help="Never prompt; use defaults for what is not given.")]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        help="A blueprint option, KEY=VALUE (repeatable).",
        autocompletion=complete_answer,
    ),
]


def choice_option(metavar: str, values: tuple[str, ...], default: str) -> Any:
    """A runtime flag taking one of `values`: its help lists them, and shell completion offers them."""
    return typer.Option(
        metavar=metavar,
        help=f"{choices(values, default)}.",
        autocompletion=values_of(values),
        rich_help_panel=RUNTIME_PANEL,
    )


RuntimeOption = Annotated[str | None, choice_option("RUNTIME", settings.RUNTIMES, settings.DEFAULT_RUNTIME)]
ArchOption = Annotated[str | None, choice_option("ARCH", settings.ARCHITECTURES, settings.DEFAULT_ARCHITECTURE)]
MemoryOption = Annotated[
    str | None,
    typer.Option(metavar="MB", help=f"Memory in MB, {span(settings.MEMORY_MB)}.", rich_help_panel=RUNTIME_PANEL),
]
TimeoutOption = Annotated[
    str | None,
    typer.Option(
        metavar="SECONDS", help=f"Timeout in seconds, {span(settings.TIMEOUT_S)}.", rich_help_panel=RUNTIME_PANEL
    ),
]
EnvOption = Annotated[
    list[str] | None,
    typer.Option(
        "--env",
        metavar="KEY=VALUE",
        help="Environment variable KEY=VALUE (repeatable); a key the blueprint sets is refused.",
        rich_help_panel=RUNTIME_PANEL,
    ),
]
HandlerOption = Annotated[
    str | None,
    typer.Option(
        metavar="MODULE.FUNCTION",
        help="module.function (default lambda_function.lambda_handler).",
        rich_help_panel=RUNTIME_PANEL,
    ),
]
VpcOption = Annotated[
    bool | None,
    typer.Option("--vpc/--no-vpc", help="Attach to a VPC (ids as parameters).", rich_help_panel=RUNTIME_PANEL),
]
TracingOption = Annotated[
    bool | None,
    typer.Option(
        "--tracing/--no-tracing", help="AWS X-Ray tracing, with Powertools Tracer.", rich_help_panel=RUNTIME_PANEL
    ),
]
AlarmsOption = Annotated[
    bool | None,
    typer.Option(
        "--alarms/--no-alarms",
        help="CloudWatch alarms notifying an SNS topic (default: on).",
        rich_help_panel=RUNTIME_PANEL,
    ),
]
LogFormatOption = Annotated[str | None, choice_option("FORMAT", settings.LOG_FORMATS, settings.DEFAULT_LOG_FORMAT)]
LogLevelOption = Annotated[str | None, choice_option("LEVEL", settings.LOG_LEVELS, settings.DEFAULT_LOG_LEVEL)]
EphemeralStorageOption = Annotated[
    str | None,
    typer.Option(
        metavar="MB",
        help=f"Ephemeral storage (the /tmp folder) in MB, {span(settings.EPHEMERAL_STORAGE_MB)}.",
        rich_help_panel=RUNTIME_PANEL,
    ),
]
ReservedConcurrencyOption = Annotated[
    str | None,
    typer.Option(
        metavar="INTEGER", help="Reserved concurrent executions (-1: unreserved).", rich_help_panel=RUNTIME_PANEL
    ),
]
PresetOption = Annotated[
    str | None, typer.Option(metavar="NAME", help="A preset of answers from the config file ([presets.NAME]).")
]
TrustOption = Annotated[
    bool, typer.Option("--trust", help="Let a blueprint from outside slsgen run its code (checks, hooks).")
]


def complete_blueprint(incomplete: str) -> list[str]:
    from .blueprints import builtin_names

    return [name for name in builtin_names() if name.startswith(incomplete)]


def version_callback(value: bool) -> None:
    if value:
        print(f"slsgen {__version__}")
        raise typer.Exit


@app.callback()
def main_options(
    ctx: typer.Context,
    version: Annotated[
        bool | None,
        typer.Option("--version", "-V", callback=version_callback, is_eager=True, help="Print the version."),
    ] = None,
) -> None:
    """Scaffold production-grade AWS Lambda projects in Python from blueprints, offline."""
    if ctx.invoked_subcommand is None:  # plain `slsgen`: the help, as a request rather than an error
        print(ctx.get_help())
        raise typer.Exit


@app.command("list")
def list_command() -> None:
    """List the built-in blueprints and those of the search path (config file, SLSGEN_BLUEPRINTS), with their source.

    \b
    Example:
      slsgen list
    """
    from . import console
    from .blueprints import catalog

    console.print_blueprints(catalog())


@app.command()
def show(
    ctx: typer.Context,
    blueprint: Annotated[str, typer.Argument(help="Blueprint name or folder.", autocompletion=complete_blueprint)],
) -> None:
    """Show a blueprint's options: name, type, default, allowed values and help.

    \b
    Example:
      slsgen show hello-world
    """
    from . import console
    from .blueprints import load_blueprint

    new_command = ctx.find_root().command.get_command(ctx, "new")  # type: ignore[attr-defined]
    flags = [
        "/".join([*param.opts, *param.secondary_opts])
        for param in new_command.params
        if getattr(param, "rich_help_panel", None) == RUNTIME_PANEL
    ]
    console.print_blueprint(load_blueprint(blueprint), flags)


@app.command()
def new(
    blueprint: Annotated[
        str | None,
        typer.Argument(help="Blueprint name or folder (see `slsgen list`).", autocompletion=complete_blueprint),
    ] = None,
    name: Annotated[
        str | None, typer.Argument(help="Project name: a slug naming the folder, stack and function.")
    ] = None,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", metavar="DIR", help="Where the project folder goes.")
    ] = Path("."),
    no_input: NoInput = False,
    set_: SetOption = None,
    runtime: RuntimeOption = None,
    arch: ArchOption = None,
    memory: MemoryOption = None,
    timeout: TimeoutOption = None,
    env: EnvOption = None,
    handler: HandlerOption = None,
    vpc: VpcOption = None,
    tracing: TracingOption = None,
    alarms: AlarmsOption = None,
    log_format: LogFormatOption = None,
    log_level: LogLevelOption = None,
    ephemeral_storage: EphemeralStorageOption = None,
    reserved_concurrency: ReservedConcurrencyOption = None,
    ci: Annotated[
        str | None,
        typer.Option(
            metavar="CI",
            help="github (default: GitHub Actions), gitlab (GitLab CI/CD) or none.",
            autocompletion=values_of(settings.CI_SYSTEMS),
            rich_help_panel=RUNTIME_PANEL,
        ),
    ] = None,
    git: Annotated[
        bool | None,
        typer.Option("--git/--no-git", help="git init on main and a first commit (default: when git is installed)."),
    ] = None,
    lock: Annotated[
        bool | None,
        typer.Option(
            "--lock/--no-lock",
            envvar="SLSGEN_LOCK",
            show_envvar=True,
            help="Pin the dependencies in uv.lock, offline from uv's cache (default: when uv is on PATH); what the "
            "cache lacks, the first `make install` locks.",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Write into a non-empty folder: replace the files the blueprint generates, remove an earlier "
            "generation's files it no longer makes (unless changed since); other files are kept.",
        ),
    ] = False,
    ref: RefOption = None,
    directory: DirectoryOption = None,
    preset: PresetOption = None,
    trust: TrustOption = False,
) -> None:
    """Generate a project from a blueprint.

    \b
    Examples:
      slsgen new hello-world my-api
      slsgen new hello-world my-api --no-input --runtime python3.12 --arch x86_64 --memory 256 --set greeting=Hi
      slsgen new image-resize thumbs -o ~/src --set sizes=128x128,512x512
      slsgen new https://github.com/acme/blueprints.git api --ref v2 --directory team-api --preset prod
    """
    from . import console, workspace

    flags = runtime_flags(
        runtime,
        arch,
        memory,
        timeout,
        handler,
        vpc,
        tracing,
        alarms,
        log_format,
        log_level,
        ephemeral_storage,
        reserved_concurrency,
    )
    flags["ci"] = ci
    interactive = not no_input and sys.stdin.isatty()
    try:
        generation, next_steps = workspace.generate(
            blueprint,
            name,
            output_dir=output_dir,
            flags=flags,
            set_pairs=set_ or [],
            env_pairs=env or [],
            force=force,
            interactive=interactive,
            ref=ref,
            directory=directory,
            preset=preset,
            trust=trust,
            git=git,
            lock=lock,
        )
    except KeyboardInterrupt:  # Typer would turn it into a silent exit 130; the user must know nothing changed
        print(file=sys.stderr)  # end the prompt's line, as Typer does for Ctrl-D
        raise typer.Abort from None
    console.print_generated(generation.path, next_steps)
    console.print_retired(generation.removed, generation.kept)
    for note in (*generation.notes, *([generation.git.note] if generation.git is not None else [])):
        console.print_note(note)


def runtime_flags(
    runtime: str | None,
    arch: str | None,
    memory: str | None,
    timeout: str | None,
    handler: str | None,
    vpc: bool | None,
    tracing: bool | None,
    alarms: bool | None,
    log_format: str | None,
    log_level: str | None,
    ephemeral_storage: str | None,
    reserved_concurrency: str | None,
) -> dict[str, Any]:
    """The runtime flags of `new` and `add`, by the names of the settings they answer."""
    return {
        "runtime": runtime,
        "architecture": arch,
        "memory": memory,
        "timeout": timeout,
        "handler": handler,
        "vpc": vpc,
        "tracing": tracing,
        "alarms": alarms,
        "log_format": log_format,
        "log_level": log_level,
        "ephemeral_storage": ephemeral_storage,
        "reserved_concurrency": reserved_concurrency,
    }


class AddCommand(typer.core.TyperCommand):
    """`slsgen add --help` ends with what each blueprint adds: read from the blueprints when help is asked for."""

    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        from .blueprints import catalog

        rows = [(row.name, f"{row.trigger}: {row.description}") for row in catalog() if row.trigger != "-"]
        with formatter.section("What each blueprint adds (resources into template.yaml, files into functions/NAME/)"):
            formatter.write_dl(rows)


@app.command(cls=AddCommand)
def add(
    blueprint: Annotated[
        str,
        typer.Argument(
            help="Blueprint name, folder or git URL (see `slsgen list`).", autocompletion=complete_blueprint
        ),
    ],
    name: Annotated[
        str, typer.Argument(help="The function's name: a slug naming its folder (functions/NAME/) and logical id.")
    ],
    project: Annotated[
        Path, typer.Option("--project", "-C", metavar="DIR", help="The project (default: the one holding this folder).")
    ] = Path("."),
    no_input: NoInput = False,
    set_: SetOption = None,
    runtime: RuntimeOption = None,
    arch: ArchOption = None,
    memory: MemoryOption = None,
    timeout: TimeoutOption = None,
    env: EnvOption = None,
    handler: HandlerOption = None,
    vpc: VpcOption = None,
    tracing: TracingOption = None,
    alarms: AlarmsOption = None,
    log_format: LogFormatOption = None,
    log_level: LogLevelOption = None,
    ephemeral_storage: EphemeralStorageOption = None,
    reserved_concurrency: ReservedConcurrencyOption = None,
    ref: RefOption = None,
    directory: DirectoryOption = None,
    preset: PresetOption = None,
    trust: TrustOption = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace a file the addition recomputes (the deploy role) though you changed it."),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would change; write nothing.")] = False,
) -> None:
    """Add a function made from a blueprint to the project: its code, tests and sample events in functions/NAME/,
    its resources and permissions merged into template.yaml (your comments and resources kept), its dependencies,
    a section of the README, and the deploy role recomputed.

    \b
    Examples:
      slsgen add data-processing orders-worker --set trigger=sqs
      slsgen add image-resize thumbnails --dry-run
      slsgen add ./team-api payments --memory 512 --preset prod
    """
    from . import console, workspace

    flags = runtime_flags(
        runtime,
        arch,
        memory,
        timeout,
        handler,
        vpc,
        tracing,
        alarms,
        log_format,
        log_level,
        ephemeral_storage,
        reserved_concurrency,
    )
    interactive = not no_input and sys.stdin.isatty()
    try:
        addition = workspace.add(
            project,
            blueprint,
            name,
            flags=flags,
            set_pairs=set_ or [],
            env_pairs=env or [],
            interactive=interactive,
            ref=ref,
            directory=directory,
            preset=preset,
            trust=trust,
            force=force,
            dry_run=dry_run,
        )
    except KeyboardInterrupt:
        print(file=sys.stderr)
        raise typer.Abort from None
    console.print_added(addition)


blueprint_app = typer.Typer(
    help="Write and check team blueprints.", invoke_without_command=True, context_settings=app.info.context_settings
)
app.add_typer(blueprint_app, name="blueprint")


@blueprint_app.callback()
def blueprint_group(ctx: typer.Context) -> None:
    """Write and check team blueprints: `init` starts one, `lint` proves one.

    \b
    Examples:
      slsgen blueprint init team-api
      slsgen blueprint lint ./team-api
    """
    if ctx.invoked_subcommand is None:  # plain `slsgen blueprint`: the help, as for plain `slsgen`
        print(ctx.get_help())
        raise typer.Exit


@blueprint_app.command("init")
def blueprint_init(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="The new blueprint's name: a lowercase slug, also its folder.")
    ],
    base: Annotated[
        str, typer.Option("--from", metavar="BUILTIN", help="The built-in blueprint it extends.")
    ] = "hello-world",
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", metavar="DIR", help="Where the blueprint folder goes.")
    ] = Path("."),
) -> None:
    """Start a team blueprint: a commented manifest extending a built-in, one overridden file, a guide.

    \b
    Examples:
      slsgen blueprint init team-api
      slsgen blueprint init thumbs --from image-resize
    """
    from .authoring import init_blueprint

    folder = init_blueprint(name, base, output_dir)
    print(f"created {folder}: edit blueprint.yaml, read BLUEPRINT.md, check it with `slsgen blueprint lint {folder}`")


@blueprint_app.command("lint")
def blueprint_lint(
    path: Annotated[str, typer.Argument(metavar="PATH", help="The blueprint folder (or a built-in name).")],
    full: Annotated[
        bool, typer.Option("--full", help="Also run each rendered project's `make install test validate`.")
    ] = False,
    trust: Annotated[
        bool, typer.Option("--trust", help="Let a blueprint from outside slsgen run its code (checks, --full).")
    ] = False,
) -> None:
    """Check a blueprint: schema, questions, every choice rendered, ruff and cfn-lint; exit 1 on any problem.

    \b
    Examples:
      slsgen blueprint lint ./team-api
      slsgen blueprint lint ./team-api --full
    """
    from . import authoring

    result = authoring.lint_blueprint(path, full=full, progress=lambda step: print(step, file=sys.stderr), trust=trust)
    for problem in result.problems:
        print(problem)
    print(authoring.summary(result))
    raise typer.Exit(1 if result.problems else 0)


@app.command()
def update(
    directory: Annotated[Path, typer.Argument(metavar="[DIR]", help="The project folder (default: here).")] = Path("."),
    ref: Annotated[
        str | None, typer.Option(metavar="REF", help="Tag, branch or commit of a git blueprint (default: latest).")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", metavar="KEY=VALUE", help="Change an answer, KEY=VALUE (repeatable).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the update as a diff; change nothing.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 when an update is available (for CI).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Update a git work tree with uncommitted changes.")] = False,
    continue_: Annotated[
        bool, typer.Option("--continue", help="Finish an update once its conflicts are resolved.")
    ] = False,
    no_input: Annotated[bool, typer.Option("--no-input", help="New questions take their defaults.")] = False,
    trust: Annotated[
        bool, typer.Option("--trust", help="Let a blueprint from outside slsgen run its code (checks, hooks).")
    ] = False,
) -> None:
    """Bring a project up to its blueprint's current version, keeping your edits (three-way merge).

    \b
    Examples:
      slsgen update
      slsgen update --dry-run
      slsgen update --check
      slsgen update --continue
    """
    from . import update as updating
    from .options import parse_pairs

    if continue_:
        plan = updating.continue_update(directory)
        print(f"{plan.project.name}: update to {plan.blueprint} {plan.new_version} complete")
        return
    ask = None
    if not no_input and not (dry_run or check) and sys.stdin.isatty():
        from .console import ask_question

        ask = ask_question
    changes = parse_pairs(set_ or [], "--set")
    plan = updating.update_project(
        directory, ref=ref, changes=changes, ask=ask, dry_run=dry_run, check=check, force=force, trust=trust
    )
    if dry_run:
        print(updating.diff(plan), end="")
    print("\n".join(updating.report(plan, dry_run=dry_run, check=check)))
    raise typer.Exit(1 if (check and plan.changes) or (plan.conflicts and not check) else 0)


config_app = typer.Typer(help="The user's config file: default answers, presets, blueprints, trusted sources.")
app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show(
    blueprint: Annotated[
        str, typer.Argument(help="The blueprint whose answers to show.", autocompletion=complete_blueprint)
    ] = "hello-world",
    preset: Annotated[str | None, typer.Option(metavar="NAME", help="Apply this preset.")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", metavar="KEY=VALUE", help="An answer, as `new` takes it.")
    ] = None,
    ref: RefOption = None,
    directory: DirectoryOption = None,
) -> None:
    """Print each effective answer for a blueprint and where it comes from (flag, --set, preset, config, default).

    \b
    Examples:
      slsgen config show
      slsgen config show image-resize --preset prod
      slsgen config show https://github.com/acme/blueprints.git --ref v2 --directory team-api
    """
    from . import console, workspace

    console.print_config(*workspace.config_rows(blueprint, preset, {}, set_ or [], ref, directory))


cache_app = typer.Typer(help="The cache of blueprints fetched from git repositories.")
app.add_typer(cache_app, name="cache")


@cache_app.command("clear")
def cache_clear() -> None:
    """Remove every fetched blueprint from the cache; the next use fetches it again.

    \b
    Example:
      slsgen cache clear
    """
    from .sources import clear_cache

    folder, size = clear_cache()
    print(f"removed {folder} ({size / 1e6:.1f} MB)")


def runner_command(name: str) -> Callable[[typer.Context], None]:
    """The command `name` of `RUNNER_COMMANDS`, for `slsgen --help` and a call through the app (`entry.py` hands the
    command line over before the app when it can): its arguments are the runner's to parse."""

    def command(ctx: typer.Context) -> None:
        from .passthrough import run

        raise typer.Exit(run(name, ctx.args))

    return command


def example_lines(examples: tuple[str, ...]) -> str:
    """A help text's examples, one a line: `\\b` keeps Click from reflowing them into one paragraph."""
    return "\b\n" + ("Examples:" if len(examples) > 1 else "Example:") + "".join(f"\n  {line}" for line in examples)


for _name, (_help, _examples) in RUNNER_COMMANDS.items():
    app.command(_name, context_settings=PASSTHROUGH, help=f"{_help}\n\n{example_lines(_examples)}")(
        runner_command(_name)
    )


@app.command("deploy-role")
def deploy_role_command(
    directory: Annotated[Path, typer.Argument(metavar="[DIR]", help="The project folder (default: here).")] = Path("."),
    ci: Annotated[
        str | None, typer.Option(metavar="CI", help="github or gitlab (default: the project's own, from .slsgen.json).")
    ] = None,
) -> None:
    """Recompute the CI deploy role (deploy/<ci>-oidc-role.yaml) from the project's template.yaml, after it changed.

    \b
    Examples:
      slsgen deploy-role
      slsgen deploy-role path/to/project --ci gitlab
    """
    from .deploy_role import refresh_role

    written = refresh_role(directory.resolve(), ci)
    print(f"wrote {written}: deploy it again to apply (the command is at its top)")


def main() -> None:
    """Entry point: run the app and turn every user error into one line on stderr and exit code 2."""
    # A command runs for a fraction of a second and allocates little, so the cyclic garbage collector is off for
    # it (here, not on import: a test or a library user importing this module keeps theirs): a tenth of `slsgen
    # new`, measured with bench/bench_new.py (bench/README.md, "The garbage collector").
    gc.disable()
    try:
        code = app(standalone_mode=False, prog_name="slsgen")
    except SlsgenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except typer.Abort:  # the prompt's line is already ended
        print("aborted: nothing was written", file=sys.stderr)
        sys.exit(130)
    except (KeyboardInterrupt, EOFError):
        print("\naborted: nothing was written", file=sys.stderr)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except BrokenPipeError:  # `slsgen list | head -1`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except OSError as exc:  # the library maps its own; this catches what reading a blueprint or printing meets
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}; check the path and its permissions", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:
        # Click's usage errors (Typer may vendor Click, so match them by shape rather than by class).
        if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
            raise
        context = getattr(exc, "ctx", None)
        command = context.command_path if context is not None else "slsgen"
        message = exc.format_message()
        if message.startswith("No such command") and "Did you mean" not in message and context is not None:
            names: list[str] = getattr(context.command, "list_commands", lambda _: [])(context)
            message = f"{message.rstrip('.')}; the commands are {', '.join(names)}."
        print(f"error: {message} (see `{command} --help`)", file=sys.stderr)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
