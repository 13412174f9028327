"""The `slsgen` command line: parse arguments, call one library function, map errors to exit codes.

Each command is a few lines; the work happens in the library (`project`, `blueprints`, `workspace`), and the
printing in `console`. Heavy modules (cookiecutter, jinja2, rich) are imported inside the commands that need
them, so that `slsgen --help` and shell completion stay fast.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from . import __version__
from .errors import SlsgenError

app = typer.Typer(
    name="slsgen",
    help="Scaffold production-grade AWS Lambda projects in Python from blueprints, offline.",
    epilog="Examples:  slsgen list  |  slsgen show hello-world  |  slsgen new hello-world my-api",
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


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
    """List the built-in blueprints.

    Example:  slsgen list
    """
    from . import console
    from .blueprints import list_blueprints

    console.print_blueprints(list_blueprints())


@app.command()
def show(
    blueprint: Annotated[str, typer.Argument(help="Blueprint name or folder.", autocompletion=complete_blueprint)],
) -> None:
    """Show a blueprint's options: name, type, default, allowed values and help.

    Example:  slsgen show hello-world
    """
    from . import console
    from .blueprints import load_blueprint

    console.print_blueprint(load_blueprint(blueprint))


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
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Never prompt; use defaults for what is not given.")
    ] = False,
    set_: Annotated[
        list[str] | None, typer.Option("--set", metavar="KEY=VALUE", help="A blueprint option, KEY=VALUE (repeatable).")
    ] = None,
    runtime: Annotated[
        str | None, typer.Option(metavar="RUNTIME", help="python3.12, python3.13 (default) or python3.14.")
    ] = None,
    arch: Annotated[str | None, typer.Option(metavar="ARCH", help="arm64 (default) or x86_64.")] = None,
    memory: Annotated[str | None, typer.Option(metavar="MB", help="Memory in MB, 128-10240.")] = None,
    timeout: Annotated[str | None, typer.Option(metavar="SECONDS", help="Timeout in seconds, 1-900.")] = None,
    env: Annotated[
        list[str] | None,
        typer.Option(
            "--env",
            metavar="KEY=VALUE",
            help="Environment variable KEY=VALUE (repeatable); a key the blueprint sets is refused.",
        ),
    ] = None,
    handler: Annotated[
        str | None,
        typer.Option(metavar="MODULE.FUNCTION", help="module.function (default lambda_function.lambda_handler)."),
    ] = None,
    vpc: Annotated[bool | None, typer.Option("--vpc/--no-vpc", help="Attach to a VPC (ids as parameters).")] = None,
    tracing: Annotated[bool | None, typer.Option("--tracing/--no-tracing", help="AWS X-Ray tracing.")] = None,
    log_format: Annotated[str | None, typer.Option(metavar="FORMAT", help="json (default) or text.")] = None,
    log_level: Annotated[
        str | None, typer.Option(metavar="LEVEL", help="TRACE, DEBUG, INFO (default), WARN, ERROR, FATAL.")
    ] = None,
    ephemeral_storage: Annotated[
        str | None, typer.Option(metavar="MB", help="Ephemeral storage (the /tmp folder) in MB, 512-10240.")
    ] = None,
    reserved_concurrency: Annotated[
        str | None, typer.Option(metavar="INTEGER", help="Reserved concurrent executions (-1: unreserved).")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Write into a non-empty folder: replace the files the blueprint generates, remove an earlier "
            "generation's files it no longer makes (unless changed since); other files are kept.",
        ),
    ] = False,
) -> None:
    """Generate a project from a blueprint.

    Examples:
      slsgen new hello-world my-api
      slsgen new hello-world my-api --no-input --runtime python3.12 --arch x86_64 --memory 256 --set greeting=Hi
      slsgen new image-resize thumbs -o ~/src --set sizes=128x128,512x512
    """
    from . import console, workspace

    flags = {
        "runtime": runtime,
        "architecture": arch,
        "memory": memory,
        "timeout": timeout,
        "handler": handler,
        "vpc": vpc,
        "tracing": tracing,
        "log_format": log_format,
        "log_level": log_level,
        "ephemeral_storage": ephemeral_storage,
        "reserved_concurrency": reserved_concurrency,
    }
    interactive = not no_input and sys.stdin.isatty()
    try:
        generation, blueprint_used = workspace.generate(
            blueprint,
            name,
            output_dir=output_dir,
            flags=flags,
            set_pairs=set_ or [],
            env_pairs=env or [],
            force=force,
            interactive=interactive,
        )
    except KeyboardInterrupt:  # Typer would turn it into a silent exit 130; the user must know nothing changed
        print(file=sys.stderr)  # end the prompt's line, as Typer does for Ctrl-D
        raise typer.Abort from None
    console.print_generated(generation.path, blueprint_used.next_steps)
    console.print_retired(generation.removed, generation.kept)


@app.command(context_settings=PASSTHROUGH)
def invoke(ctx: typer.Context) -> None:
    """Invoke the project's function locally, as Lambda would (run inside a generated project).

    Examples:  slsgen invoke -e events/hello.json  |  slsgen invoke --repeat 100  |  slsgen invoke --help
    """
    from .passthrough import run_in_project

    raise typer.Exit(run_in_project("invoke", ctx.args))


@app.command("start-api", context_settings=PASSTHROUGH)
def start_api(ctx: typer.Context) -> None:
    """Serve the project's HTTP API locally on 127.0.0.1 (run inside a generated project).

    Example:  slsgen start-api --port 3000
    """
    from .passthrough import run_in_project

    raise typer.Exit(run_in_project("start-api", ctx.args))


@app.command(context_settings=PASSTHROUGH)
def package(ctx: typer.Context) -> None:
    """Build the project's deployable zip, dist/<project>.zip, for Lambda's platform, without Docker: [DIR].

    Example:  slsgen package  |  slsgen package path/to/project
    """
    from .passthrough import run_in_project

    raise typer.Exit(run_in_project("package", ctx.args))


@app.command(context_settings=PASSTHROUGH)
def validate(ctx: typer.Context) -> None:
    """Check the project offline (template, SAM transform, handler, limits, IAM, events, CI files): [DIR].

    Example:  slsgen validate  |  slsgen validate path/to/project
    """
    from .passthrough import run_in_project

    raise typer.Exit(run_in_project("validate", ctx.args))


@app.command(context_settings=PASSTHROUGH)
def event(ctx: typer.Context) -> None:
    """Print a realistic sample event: SOURCE KIND [--field value ...].

    Examples:  slsgen event s3 put --bucket photos --key "uploads/my photo.jpg"  |  slsgen event --help
    """
    from .runner.cli import main as runner_main

    raise typer.Exit(runner_main(["event", *ctx.args]))


def main() -> None:
    """Entry point: run the app and turn every user error into one line on stderr and exit code 2."""
    # A command runs for a fraction of a second and allocates little, so the cyclic garbage collector is off for
    # it (here, not on import: a test or a library user importing this module keeps theirs). Measured with
    # bench/bench_new.py: about 25 ms of `slsgen new`'s 236 ms (11%), 2026-11 (bench/README.md).
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
