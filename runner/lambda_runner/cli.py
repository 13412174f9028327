"""The runner's command line: `invoke`, `functions`, `event`, `start-api`, `package` and `validate`.

It starts fast (argparse, json and the template reader; every mode loads its own modules when chosen),
prints the function's response on stdout and everything else (the function's output, START/END/REPORT, cost)
on stderr, and exits 0 when the invocation succeeded, 1 when it failed, and 2 for a problem with the input
(a one-line message, never a traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .config.template import FunctionConfig, owners, read_functions, select_function
from .errors import RunnerError, json_error

if TYPE_CHECKING:
    from .runtime.result import Invocation
    from .service.invoke import Invoker

# How the user called the runner, for its usage lines; slsgen sets `slsgen` when it hands a command over.
PROG_VARIABLE = "LAMBDA_RUNNER_PROG"


def default_prog() -> str:
    """`python -m lambda_runner`, or what LAMBDA_RUNNER_PROG says (taken out, so the function never sees it)."""
    return os.environ.pop(PROG_VARIABLE, "") or "python -m lambda_runner"


INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
# How a command names one of several functions (config/template.py, `select_function`).
FUNCTION_HELP = "its logical id, with or without the Function suffix, or its folder name"
MAX_PORT = 65_535


class _NonStandardNumber(ValueError):
    """`NaN`, `Infinity` or `-Infinity` in an event: Python's json reads them, the Invoke API does not."""


def _refuse_constant(token: str) -> Any:
    raise _NonStandardNumber(token)


# A JSON string (skipped), or a non-standard number outside of one.
_STRING_OR_CONSTANT = re.compile(rb'"(?:\\.|[^"\\])*"|(-?Infinity|NaN)')


def _constant_error(data: bytes, name: str, token: str, line: int | None) -> RunnerError:
    """The Invoke API's InvalidRequestContentException for a non-standard number, with where it is."""
    where = ""
    for match in _STRING_OR_CONSTANT.finditer(data):
        if match.group(1) is not None:
            before = data[: match.start(1)]
            column = match.start(1) - (before.rfind(b"\n") + 1) + 1
            number = before.count(b"\n") + 1 if line is None else line
            where = f" at line {number} column {column}"
            break
    return RunnerError(
        f"{name}: InvalidRequestContentException: Could not parse request body into json: Could not parse payload "
        f"into json: Non-standard token '{token}'{where} (Lambda accepts strict JSON only: write null or a string)"
    )


def _checked_json(data: bytes, name: str, line: int | None = None) -> bytes:
    try:
        json.loads(data, parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        raise RunnerError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise json_error(name, exc, line) from None
    except _NonStandardNumber as exc:
        raise _constant_error(data, name, str(exc), line) from None
    return data


def read_event(source: str | None) -> bytes:
    """The event payload from `-e FILE` or `-e -` (stdin), checked to be JSON; `{}` without `-e`."""
    if source is None:
        return b"{}"
    if source == "-":
        return _checked_json(sys.stdin.buffer.read(), "stdin")
    try:
        data = Path(source).read_bytes()
    except OSError as exc:
        raise RunnerError(f"cannot read event file {source}: {exc.strerror}") from None
    return _checked_json(data, source)


def read_events_file(source: str) -> list[bytes]:
    """One event per non-blank line of a JSON Lines file."""
    try:
        lines = Path(source).read_bytes().splitlines()
    except OSError as exc:
        raise RunnerError(f"cannot read events file {source}: {exc.strerror}") from None
    events = [_checked_json(line, source, number) for number, line in enumerate(lines, start=1) if line.strip()]
    if not events:
        raise RunnerError(f"{source} holds no events: write one JSON event per line")
    return events


def _template_path(args: argparse.Namespace) -> Path:
    if args.template:
        return Path(args.template).resolve()
    for name in ("template.yaml", "template.yml"):
        if Path(name).is_file():
            return Path(name).resolve()
    return Path("template.yaml").resolve()


def _overrides(args: argparse.Namespace, template_path: Path, function: FunctionConfig) -> dict[str, str]:
    """Local values over the template's: the project's `.env` (or --dotenv), then --env-vars."""
    from .config.environment import read_dotenv, read_env_vars_file

    overrides: dict[str, str] = {}
    dotenv = Path(args.dotenv) if args.dotenv else template_path.parent / ".env"
    if args.dotenv or dotenv.is_file():
        overrides.update(read_dotenv(dotenv))
    if args.env_vars:
        overrides.update(read_env_vars_file(Path(args.env_vars), function))
    return overrides


def _write_payload(payload: bytes | dict[str, Any], *, pretty: bool) -> None:
    """The response (or error JSON) on stdout: indented JSON, or one line per invocation when there are many."""
    if isinstance(payload, dict):
        value: Any = payload
    else:
        try:
            value = json.loads(payload)
        except ValueError:  # a handler returned bytes that are not JSON: show them as they are
            sys.stdout.flush()
            sys.stdout.buffer.write(payload + b"\n")
            return
    sys.stdout.write(json.dumps(value, indent=2 if pretty else None, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _check_runtime(function: FunctionConfig, log: TextIO) -> None:
    """Refuse what is not a Python function; say so when this interpreter is not the template's Python."""
    if not function.runtime.startswith("python"):
        raise RunnerError(f"{function.logical_id} has Runtime {function.runtime!r}: this runner runs Python functions")
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if function.runtime != here:
        log.write(f"note: {function.logical_id} has Runtime {function.runtime}; running it with {here}\n")


def _dry_run(function: FunctionConfig, events: list[bytes], log: TextIO) -> int:
    from .service.dryrun import check_handler
    from .service.invoke import SYNC_PAYLOAD_LIMIT, check_request_size

    for event in events:
        check_request_size(event, SYNC_PAYLOAD_LIMIT)
    error = check_handler(function.handler, function.code_dir)
    if error is not None:
        log.write(f"DryRun: the handler would fail: {error['errorType']}: {error['errorMessage']}\n")
        _write_payload(error, pretty=True)
        return 1
    _write_payload({"StatusCode": 204}, pretty=True)
    return 0


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when it is under it."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def default_event(function: FunctionConfig, log: TextIO) -> bytes:
    """No `-e`: the function's first sample event (its events folder's *.json, in name order), said on one line;
    else `{}`."""
    samples = function.sample_events()
    if not samples:
        return b"{}"
    shown = _shown(samples[0])
    log.write(f"note: no event given: using {shown}, the first sample event (-e FILE for another, -e - for stdin)\n")
    return _checked_json(samples[0].read_bytes(), shown)


def chosen_function(
    functions: dict[str, FunctionConfig], reference: str | None, event: str | None, log: TextIO
) -> FunctionConfig:
    """The function named, or the only one; with several and none named, the one whose events folder holds the
    event file (`-e functions/orders-worker/events/x.json`: the function of functions/orders-worker/)."""
    if reference is None and len(functions) > 1 and event not in (None, "-"):
        found = owners({name: function.events_dir for name, function in functions.items()}, Path(event))
        if len(found) == 1:
            function = functions[found[0]]
            where = _shown(function.events_dir)
            log.write(f"note: invoking {function.logical_id}, the function whose sample events are in {where}/\n")
            return function
    return select_function(functions, reference)


def _invoke(args: argparse.Namespace, log: TextIO) -> int:
    template_path = _template_path(args)
    functions = read_functions(template_path)
    function = chosen_function(functions, args.function, args.event, log)
    if args.events:
        events = read_events_file(args.events)
    elif args.event is None and args.seed:
        from .local.local_aws import seed_event

        events = [json.dumps(seed_event(args.seed)).encode()]  # the S3 notification of the seeded objects
    elif args.event is None and not args.send:
        events = [default_event(function, log)]
    else:
        events = [read_event(args.event)]
    _check_runtime(function, log)
    function.platform_log_json = args.json_platform_logs
    if args.invocation_type == "DryRun":
        return _dry_run(function, events, log)
    overrides = _overrides(args, template_path, function)
    if args.send:
        from .local.event_sources import read_bodies

        bodies = read_bodies(args.send)  # before the local AWS starts: a bad file fails fast
    mode = "isolated" if args.isolated else "emulate" if args.emulate else "inprocess"
    local = bool(args.local_aws or args.seed or args.send)
    with contextlib.ExitStack() as stack:
        if local:
            from .local.local_aws import local_aws

            aws = local_aws(template_path, functions, args.seed or [], log, download_to=args.download_to)
            overrides.update(stack.enter_context(aws))
        from .sandboxes.choose import open_invoker

        invoker = open_invoker(function, mode=mode, env_overrides=overrides, log=log)
        stack.callback(invoker.close)
        results = _Results(log, pretty=len(events) * args.repeat == 1, local_aws=local)
        if args.send:
            from .local.local_aws import send_and_poll

            endpoint = overrides["AWS_ENDPOINT_URL"]
            return 0 if send_and_poll(invoker, template_path, endpoint, bodies, log, results.show) else 1
        if args.invocation_type == "Event":
            return _invoke_async(invoker, events, args.repeat, log, results)
        return _invoke_sync(invoker, events, args.repeat, results)


class _Results:
    """What the command line shows of each invocation: its result on stdout, and the one hint a failure may have."""

    def __init__(self, log: TextIO, *, pretty: bool, local_aws: bool) -> None:
        self.log = log
        self.pretty = pretty
        self.local_aws = local_aws
        self.hinted = False

    def show(self, invocation: Invocation) -> None:
        result = invocation.payload if invocation.ok else invocation.error
        if result is not None:
            _write_payload(result, pretty=self.pretty)
        self.hint(invocation)

    def hint(self, invocation: Invocation) -> None:
        """One line, once a run, when a failure comes from reaching real AWS without --local-aws."""
        if invocation.ok or self.local_aws or self.hinted:
            return
        from .service.hints import unreachable_aws

        hint = unreachable_aws(invocation.error)
        if hint is not None:
            sys.stderr.write(hint + "\n")  # for the person, even with --quiet
            self.hinted = True


def _invoke_sync(invoker: Invoker, events: list[bytes], repeat: int, results: _Results) -> int:
    """Each event in turn, `repeat` times over, in one environment; a summary of the run when there are several."""
    count = len(events) * repeat
    totals = None
    if count > 1:
        from .service.summary import Totals

        # Running totals, never the invocations: a run of 1,000,000 keeps flat memory (tests/test_soak.py).
        totals = Totals(invoker.function)
    ok = True
    for event in _repeated(events, repeat):
        invocation = invoker.invoke(event)
        ok = ok and invocation.ok
        if totals is not None:
            totals.add(invocation)
        results.log.flush()
        results.show(invocation)
    if totals is not None:  # printed with --quiet too: it is what `--repeat 100 -q` is for
        from .service.summary import summary_lines

        sys.stderr.write("".join(line + "\n" for line in summary_lines(totals)))
    return 0 if ok else 1


def _repeated(events: list[bytes], repeat: int) -> Iterator[bytes]:
    """The events `repeat` times over, one at a time: `--repeat 1000000` makes no list of a million."""
    for _ in range(repeat):
        yield from events


def _invoke_async(invoker: Invoker, events: list[bytes], repeat: int, log: TextIO, results: _Results) -> int:
    from .service.async_invoke import invoke_async
    from .service.invoke import ASYNC_PAYLOAD_LIMIT, check_request_size

    ok = True
    for event in _repeated(events, repeat):
        check_request_size(event, ASYNC_PAYLOAD_LIMIT)
        _write_payload({"StatusCode": 202}, pretty=results.pretty)
        result = invoke_async(invoker, event, log=log)
        results.hint(result.attempts[-1])  # an Event invocation returns no payload: only the hint, if any
        ok = ok and result.ok
    log.flush()
    return 0 if ok else 1


def _functions(args: argparse.Namespace, log: TextIO) -> int:
    functions = read_functions(_template_path(args))
    if args.function is not None:
        functions = {(chosen := select_function(functions, args.function)).logical_id: chosen}
    if args.events:
        return _sample_events(functions, log)
    rows = [("LOGICAL ID", "HANDLER", "RUNTIME", "ARCH", "MEMORY", "TIMEOUT", "CODE")]
    for function in functions.values():
        try:
            code = str(function.code_dir.relative_to(Path.cwd()))
        except ValueError:
            code = str(function.code_dir)
        rows.append(
            (
                function.logical_id,
                function.handler,
                function.runtime,
                function.architecture,
                f"{function.memory_size} MB",
                f"{function.timeout} s",
                code,
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        sys.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n")
    return 0


def _sample_events(functions: dict[str, FunctionConfig], log: TextIO) -> int:
    """`functions --events`: each function's sample events, one path a line (what `make invoke` runs)."""
    for function in functions.values():
        samples = function.sample_events()
        if not samples:
            log.write(f"note: {function.logical_id} has no sample events ({_shown(function.events_dir)}/*.json)\n")
        for sample in samples:
            sys.stdout.write(_shown(sample) + "\n")
    return 0


def _field_pairs(extra: list[str]) -> dict[str, str | list[str]]:
    """`--name value` and `--name=value` pairs (a repeated name collects a list)."""
    fields: dict[str, str | list[str]] = {}
    position = 0
    while position < len(extra):
        argument = extra[position]
        if not argument.startswith("--") or argument == "--":
            raise RunnerError(f"expected --FIELD VALUE, got {argument!r}")
        name, has_value, value = argument[2:].partition("=")
        if not has_value:
            if position + 1 >= len(extra):
                raise RunnerError(f"--{name} needs a value")
            position += 1
            value = extra[position]
        previous = fields.get(name)
        if previous is None:
            fields[name] = value
        else:
            fields[name] = [*([previous] if isinstance(previous, str) else previous), value]
        position += 1
    return fields


def event_listing(sources: list[str] | None = None) -> str:
    """Each source's kinds, then the `--FIELD`s its events take, with what they mean and their defaults."""
    from .events.catalog import FIELDS, SOURCES

    blocks = []
    for source in sources or list(SOURCES):
        lines = [f"{source} {kind}: {description}" for kind, description in SOURCES[source].items()]
        width = max(len(name) for name in FIELDS[source]) + 2
        lines += [f"  --{name.ljust(width)}{meaning}" for name, meaning in FIELDS[source].items()]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _event(args: argparse.Namespace, log: TextIO) -> int:
    from .events.catalog import SOURCES, build_event

    if args.source is None:
        sys.stdout.write(event_listing())
        return 0
    if args.source not in SOURCES:
        raise RunnerError(f"unknown event source {args.source!r}; choose from: {', '.join(SOURCES)}")
    if args.kind is None:
        sys.stdout.write(event_listing([args.source]))
        return 0
    event = build_event(args.source, args.kind, _field_pairs(args.fields))
    sys.stdout.write(json.dumps(event, indent=2, ensure_ascii=False) + "\n")
    return 0


def _start_api(args: argparse.Namespace, log: TextIO) -> int:
    from .local.api import serve

    if not 0 <= args.port <= MAX_PORT:
        raise RunnerError(f"--port {args.port} is not a TCP port: choose one from 1 to {MAX_PORT} (0: any free port)")
    template_path = _template_path(args)
    functions = read_functions(template_path)
    if args.function is None and len(functions) > 1:
        chosen = list(functions.values())  # every function with HTTP events, on one server
    else:
        chosen = [select_function(functions, args.function)]
    for function in chosen:
        function.platform_log_json = args.json_platform_logs
    overrides = {function.logical_id: _overrides(args, template_path, function) for function in chosen}
    with contextlib.ExitStack() as stack:
        local: dict[str, str] = {}
        if args.local_aws or args.seed:
            from .local.local_aws import local_aws

            local = stack.enter_context(local_aws(template_path, functions, args.seed or [], log))
        serve(
            chosen,
            host=args.host,
            port=args.port,
            env_overrides=local,
            template_path=template_path,
            max_concurrency=args.max_concurrency,
            function_overrides=overrides,
        )
    return 0


def _terminal_columns() -> int:
    """`shutil.get_terminal_size().columns`, without importing shutil (and its compression modules) per run."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            stdout = sys.__stdout__  # None under pythonw and when the interpreter was started without one
            columns = os.get_terminal_size(stdout.fileno()).columns if stdout is not None else 0
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """argparse's formatter, sized like it; argparse makes one for every option it adds, each importing shutil.

    Descriptions and epilogs keep their line breaks, so that the examples print one per line.
    """

    def __init__(self, prog: str, *args: Any, **kwargs: Any) -> None:
        if len(args) < 3 and kwargs.get("width") is None:
            kwargs["width"] = _terminal_columns() - 2
        super().__init__(prog, *args, **kwargs)


def _project_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False, formatter_class=_HelpFormatter)
    options.add_argument("--template", "-t", metavar="FILE", help="the SAM template (default: ./template.yaml)")
    options.add_argument(
        "--env-vars", "-n", metavar="FILE", help='env.json: {"FunctionId": {...}, "Parameters": {...}}'
    )
    options.add_argument("--dotenv", metavar="FILE", help="a .env file (default: the project's .env, if any)")
    options.add_argument("--local-aws", action="store_true", help="run against local AWS services (moto)")
    options.add_argument(
        "--json-platform-logs",
        action="store_true",
        help="print START/END/REPORT as the platform.* JSON records Lambda writes with LogFormat JSON",
    )
    options.add_argument(
        "--seed", action="append", metavar="s3://BUCKET/KEY=FILE", help="upload FILE to local S3 first (repeatable)"
    )
    return options


def _invoke_options(invoke: argparse.ArgumentParser) -> None:
    invoke.add_argument(
        "function",
        nargs="?",
        metavar="FUNCTION",
        help=f"the function: {FUNCTION_HELP} (needed if there are several, unless -e FILE is in its events folder)",
    )
    invoke.add_argument(
        "--event",
        "-e",
        metavar="FILE",
        help="event JSON file, or - for stdin (default: the function's first sample event, else {})",
    )
    invoke.add_argument("--events", metavar="FILE.jsonl", help="one JSON event per line, run in one warm environment")
    invoke.add_argument("--repeat", type=int, default=1, metavar="N", help="invoke N times in one warm environment")
    invoke.add_argument(
        "--download-to", type=Path, metavar="DIR", help="with --local-aws: save the objects written as DIR/BUCKET/KEY"
    )
    invoke.add_argument(
        "--send",
        type=Path,
        metavar="FILE",
        help="local AWS: send each line of FILE to the function's SQS queue or Kinesis stream (DynamoDB: one JSON "
        "item a line, written to the table whose stream it reads), then poll it as Lambda does",
    )
    invoke.add_argument(
        "--invocation-type",
        choices=INVOCATION_TYPES,
        default="RequestResponse",
        help="Event: asynchronous, with Lambda's retries; DryRun: check the handler and event without running",
    )
    mode = invoke.add_mutually_exclusive_group()
    mode.add_argument(
        "--isolated",
        action="store_true",
        help="run in a child process killed at Timeout or over MemorySize, as Lambda does (the default runs the "
        "handler in this process, where a debugger can stop in it: Timeout is enforced there too, but "
        "MemorySize is not, nor a crash of C code)",
    )
    mode.add_argument("--emulate", action="store_true", help="run under awslambdaric and a local Runtime API")
    invoke.add_argument(
        "--quiet", "-q", action="store_true", help="print only the response (and the summary of several invocations)"
    )
    invoke.set_defaults(run=_invoke)


def _functions_options(functions: argparse.ArgumentParser) -> None:
    functions.add_argument("function", nargs="?", metavar="FUNCTION", help=f"only this function ({FUNCTION_HELP})")
    functions.add_argument("--template", "-t", metavar="FILE", help="the SAM template (default: ./template.yaml)")
    functions.add_argument(
        "--events", action="store_true", help="print the functions' sample events instead, one path a line"
    )
    functions.set_defaults(run=_functions)


def _event_options(event: argparse.ArgumentParser) -> None:
    event.add_argument("source", nargs="?", metavar="SOURCE", help="where the event comes from (no SOURCE: list them)")
    event.add_argument("kind", nargs="?", metavar="KIND", help="which event of that source (no KIND: list its kinds)")
    event.set_defaults(run=_event)


def _start_api_options(api: argparse.ArgumentParser) -> None:
    api.add_argument(
        "function", nargs="?", metavar="FUNCTION", help="serve only this function (default: every one with HTTP events)"
    )
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", "-p", type=int, default=3000)
    api.add_argument(
        "--max-concurrency",
        type=int,
        metavar="N",
        help="warm environments (child processes, each killed at Timeout and over MemorySize) serving requests at "
        "once (default: the function's ReservedConcurrentExecutions, else 4); more requests wait for a free one",
    )
    api.set_defaults(run=_start_api)


def _package(args: argparse.Namespace, log: TextIO) -> int:
    from .project.package import package

    package(_template_path(args), args.function, Path(args.output_dir).resolve(), log)
    return 0


def _validate(args: argparse.Namespace, log: TextIO) -> int:
    from .project.validate import validate

    return validate(_template_path(args))


def _project_task_options(task: argparse.ArgumentParser) -> None:
    task.add_argument("--template", "-t", metavar="FILE", help="the SAM template (default: ./template.yaml)")
    if task.prog.endswith("package"):
        task.add_argument(
            "function", nargs="?", metavar="FUNCTION", help="package only this function (default: each one)"
        )
        task.add_argument("--output-dir", "-o", default="dist", metavar="DIR", help="where the zips go (dist)")
    task.set_defaults(run=_package if task.prog.endswith("package") else _validate)


# name, help, takes the project options, adds its own options
_COMMANDS: tuple[tuple[str, str, bool, Callable[[argparse.ArgumentParser], None]], ...] = (
    ("invoke", "invoke a function with an event", True, _invoke_options),
    ("functions", "list the template's functions", False, _functions_options),
    (
        "event",
        "print a sample event: event SOURCE KIND [--FIELD VALUE ...] (no arguments: list them)",
        False,
        _event_options,
    ),
    ("start-api", "serve a function over HTTP, like API Gateway", True, _start_api_options),
    ("package", "build dist/<project>.zip for Lambda's platform, without Docker", False, _project_task_options),
    (
        "validate",
        "check the project offline: template, handler, limits, IAM, events, CI files",
        False,
        _project_task_options,
    ),
)


EXAMPLES = {
    "invoke": """examples:
  invoke -e events/hello.json                 one invocation, as Lambda runs it
  invoke -e - < event.json                    the event on standard input
  invoke --repeat 100 -q                      100 warm invocations, with a summary
  invoke --events events.jsonl                one warm environment, one event per line
  invoke --isolated -e events/hello.json      in a child process: Timeout and MemorySize enforced
  invoke --emulate -e events/hello.json       under AWS's runtime interface client (awslambdaric)
  invoke --invocation-type Event -e e.json    asynchronous: two retries, then the on-failure destination
  invoke --local-aws --seed s3://BUCKET/KEY=./photo.jpg --download-to build/out""",
    "event": """examples:
  event                                       list the sources, kinds and fields
  event s3                                    the kinds and fields of one source
  event apigw-http request --path /hello --query name=Ada
  event s3 put --bucket photos --key "uploads/my photo.jpg" --size 1024
  event sqs message --body '{"id": 1}' --count 3""",
    "start-api": """examples:
  start-api                                   http://127.0.0.1:3000, code changes picked up live
  start-api --port 8080 --env-vars env.json""",
    "functions": """examples:
  functions                                   the functions of ./template.yaml""",
    "package": """examples:
  package                                     dist/<project>.zip and dist/template.yaml, for sam deploy""",
    "validate": """examples:
  validate                                    one line per problem (file:line: ...), exit 1 if any""",
}


def build_parser(command: str | None = None, prog: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or, when `command` is given, one whose other commands have no options.

    Each command's options cost the start-up of every run (a cold `invoke` is a few tens of ms), so `main`
    builds only the chosen command's; `--help` and unknown commands still get the full parser.
    """
    prog = prog or default_prog()
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run this project's Lambda functions locally, as Lambda does.",
        formatter_class=_HelpFormatter,
    )
    # An explicit prog keeps add_subparsers from formatting a usage line on every run.
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", prog=prog)
    project = _project_options() if command in (None, "invoke", "start-api") else None
    for name, help_text, with_project, add_options in _COMMANDS:
        if command is not None and name != command:
            commands.add_parser(name, help=help_text, formatter_class=_HelpFormatter)
            continue
        parents = [project] if with_project and project is not None else []
        sub = commands.add_parser(
            name, parents=parents, help=help_text, epilog=EXAMPLES[name], formatter_class=_HelpFormatter
        )
        add_options(sub)
    return parser


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Run the command line; returns the exit status. `prog` is how the user called it (`slsgen` for its `event`)."""
    arguments = sys.argv[1:] if argv is None else argv
    chosen = arguments[0] if arguments and arguments[0] in {name for name, *_ in _COMMANDS} else None
    parser = build_parser(chosen, prog)
    args, extra = parser.parse_known_args(arguments)
    if extra and args.command != "event":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.fields = extra
    if getattr(args, "repeat", 1) < 1:
        parser.error("--repeat must be at least 1")
    quiet = getattr(args, "quiet", False)
    with contextlib.ExitStack() as stack:
        log: TextIO = stack.enter_context(open(os.devnull, "w")) if quiet else sys.stderr
        try:
            return int(args.run(args, log))
        except RunnerError as exc:
            sys.stderr.write(f"error: {exc}\n")
            return 2
        except KeyboardInterrupt:
            sys.stderr.write("interrupted\n")
            return 130
