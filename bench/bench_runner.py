"""Time the generated project's local Lambda runner against python-lambda-local and a bare HTTP server.

    python bench/bench_runner.py --runs 15 --duration 5

Three parts, each measured side by side in one run (see bench/README.md for what each one does):

1. Cold one-shot invoke, whole process: `python -m lambda_runner invoke -e events/hello.json` (in the project) and
   `slsgen invoke -e events/hello.json` against `python-lambda-local -f lambda_handler -t 10 src/lambda_function.py
   events/hello.json`, on the hello-world project's handler and event. Median of `--runs` after `--warmup`;
   the tools alternate within each round. A run only counts once its exit code is 0 and its output holds the
   greeting; a failed run stops the bench with its error, it is never timed.
   Targets: the runner at most 0.5 x python-lambda-local's median, `slsgen invoke` at most 0.6 x, both with the
   project's `.venv` as its own `make install` makes it (the user's way).
2. Warm invocations per second in one process: the in-process invoker API (`open_invoker`) and the CLI's
   `invoke --repeat N -q`, with python-lambda-local's per-event process for context.
3. start-api latency: `python -m lambda_runner start-api` against a bare standard-library `ThreadingHTTPServer`
   that calls the same handler in-process (an event of the fields it reads, no process boundary), both on
   127.0.0.1, driven by wrk (or, without wrk, a small Python keep-alive client) for `--duration` seconds with
   `--connections` concurrent keep-alive clients (default 4). Target: start-api's p99 latency under 25 ms;
   requests/s, p50 and p99 for both.

The tools come from the bench virtualenv (default `.bench/venv`, git-ignored) that bench/setup.sh makes or
refreshes: python-lambda-local, and slsgen installed non-editable from this checkout. The project is generated
into a temporary folder with `slsgen new hello-world benchapi --no-input`; its `.venv` (which `slsgen invoke`
runs) is made by the project's own `make install`. Every server binds to 127.0.0.1, every loop is bounded, and every
process the bench starts stops by itself (a deadline of its own, or `timeout`) even if the bench is killed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import DEFAULT_VENV, ROOT, BenchError, Env, find_uv, print_times, run_setup, tool_env, version_of

PROJECT = "benchapi"
EVENT = "events/hello.json"
HANDLER_FILE = "src/lambda_function.py"
HANDLER_REF = "lambda_function.lambda_handler"  # in src/, as the template's Handler
GREETING = "Hello, Ada!"
BODY = json.dumps({"message": GREETING}).encode()  # what the handler's response body is for ?name=Ada
URL_PATH = "/hello?name=Ada"
TIMEOUT_S = 10  # the template's Timeout, passed to python-lambda-local as -t
RUN_LIMIT_S = 30  # no single timed command may take longer


# ---------------------------------------------------------------------------------------------------------------
# Environment


def checked_run(argv: list[str], *, cwd: Path, env: Env, what: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False, timeout=300
    )
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise BenchError(f"{what} failed (exit code {result.returncode})\n  command: {shlex.join(argv)}\n{tail}")
    return result


def make_project(slsgen: str, base: Path, env: Env) -> Path:
    """Generate the hello-world project the bench runs, and check that it holds what the bench needs."""
    checked_run(
        [slsgen, "new", "hello-world", PROJECT, "--no-input", "-o", str(base)], cwd=base, env=env, what="slsgen new"
    )
    project = base / PROJECT
    for relative in (HANDLER_FILE, EVENT, "template.yaml", ".slsgen/wheels/requirements.txt"):
        if not (project / relative).is_file():
            raise BenchError(f"the generated project has no {relative}")
    return project


def make_project_venv(project: Path, kind: str, bench_python: Path, env: Env) -> Path:
    """The project's .venv, which `slsgen invoke` runs the runner with: by default the one the project's own
    `make install` makes, as a user has it (the runtime's Python, the runner from the project's wheel, the test
    group); or the bench venv, or a small uv venv holding PyYAML and the runner."""
    target = project / ".venv"
    if kind == "make":
        checked_run(["make", "install"], cwd=project, env=env, what="make install")
    elif kind == "bench":
        target.symlink_to(bench_python.parent.parent, target_is_directory=True)
    else:
        uv = find_uv()
        if uv is None:
            raise BenchError("uv is needed for the project's .venv (or pass --project-venv bench)")
        # The same base interpreter as the bench venv, so that only site-packages differ.
        checked_run(
            [uv, "venv", "--quiet", "--python", str(bench_python), str(target)], cwd=project, env=env, what="uv venv"
        )
        checked_run(
            [
                uv,
                "pip",
                "install",
                "--quiet",
                "--compile-bytecode",
                "--python",
                str(target / "bin" / "python"),
                "--find-links",
                str(project / ".slsgen" / "wheels"),
                "slsgen-runner",
            ],
            cwd=project,
            env=env,
            what="uv pip install slsgen-runner",
        )
    return target / "bin" / "python"


# ---------------------------------------------------------------------------------------------------------------
# Part 1: cold one-shot invoke


# python-lambda-local 0.1.13 imports pkg_resources only to read its own version; this row shows what the tool
# costs without that import (a module that only answers `require`), for context. It relies on pkg_resources
# having imported importlib.util, hence that import. (A child that fails leaves python-lambda-local waiting
# forever on its result queue: RUN_LIMIT_S ends such a run.)
STUB_PKG_RESOURCES = (
    "import importlib.util, sys, types; m = types.ModuleType('pkg_resources'); "
    "m.require = lambda name: [types.SimpleNamespace(version='0')]; sys.modules['pkg_resources'] = m; "
    "from lambda_local import main; sys.exit(main())"
)


@dataclass
class Cold:
    """One command to time: its arguments, run in the project folder; `target` is its ratio to pass, if any."""

    name: str
    argv: list[str]
    target: float | None = None
    times: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def cold_cases(project: Path, bench_python: Path, project_python: Path, args: argparse.Namespace) -> list[Cold]:
    """The reference first (ratios are against it), then the two commands with targets, then context rows."""
    bin_dir = bench_python.parent
    lambda_local_args = ["-f", "lambda_handler", "-t", str(TIMEOUT_S), HANDLER_FILE, EVENT]
    runner_args = ["-m", "lambda_runner", "invoke", "-e", EVENT]
    cases = [
        Cold("python-lambda-local", [str(bin_dir / "python-lambda-local"), *lambda_local_args]),
        Cold("python -m lambda_runner invoke", [str(project_python), *runner_args], args.target_runner),
        Cold("slsgen invoke", [str(bin_dir / "slsgen"), "invoke", "-e", EVENT], args.target_slsgen),
    ]
    if not args.no_context:
        cases += [
            Cold("  lambda_runner, bench venv", [str(bench_python), *runner_args]),
            Cold(
                "  python-lambda-local, no pkg_resources",
                [str(bench_python), "-c", STUB_PKG_RESOURCES, *lambda_local_args],
            ),
            Cold("  python -c pass", [str(bench_python), "-c", "pass"]),
        ]
    return cases


def run_cold(case: Cold, project: Path, env: Env) -> float:
    """Run `case` once; return its wall-clock seconds, or raise if it failed or printed no greeting."""
    start = time.perf_counter()
    result = run_in_project(case.argv, project, env, case.name, RUN_LIMIT_S)
    elapsed = time.perf_counter() - start
    problem = None
    if result.returncode != 0:
        problem = f"exit code {result.returncode}"
    elif case.argv[-1] != "pass" and GREETING not in result.stdout:
        problem = f"no {GREETING!r} on stdout"
    if problem:
        tail = "\n".join((result.stderr + result.stdout).strip().splitlines()[-15:])
        raise BenchError(
            f"{case.name.strip()} failed ({problem}); not timed.\n  command: {shlex.join(case.argv)}\n{tail}"
        )
    return elapsed


def time_cold(cases: list[Cold], runs: int, warmup: int, project: Path, env: Env) -> None:
    for case in cases:
        for _ in range(warmup):  # also writes the project's __pycache__ folders
            run_cold(case, project, env)
    for index in range(runs):
        shift = index % len(cases)
        for case in cases[shift:] + cases[:shift]:
            case.times.append(run_cold(case, project, env))
        progress = ", ".join(f"{case.times[-1] * 1000:.0f}" for case in cases)
        print(f"  round {index + 1}/{runs} (ms): {progress}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------------------------
# Part 2: warm invocations per second


# Run with the project's interpreter in the project folder: N warm invocations through the runner's own API.
WARM_API = r"""
import json, os, sys, time
from pathlib import Path
from lambda_runner.sandboxes.choose import open_invoker
from lambda_runner.config.template import read_functions, select_function

count = int(sys.argv[1])
event = Path(sys.argv[2]).read_bytes()
greeting = sys.argv[3].encode()
function = select_function(read_functions(Path("template.yaml").resolve()), None)
with open(os.devnull, "w") as log:
    invoker = open_invoker(function, mode="inprocess", log=log)
    cold = invoker.invoke(event)
    times, bad = [], 0 if cold.ok else 1
    clock = time.perf_counter
    start = clock()
    for _ in range(count):
        before = clock()
        invocation = invoker.invoke(event)
        times.append(clock() - before)
        if not invocation.ok or greeting not in (invocation.payload or b""):
            bad += 1
    total = clock() - start
    invoker.close()
print(json.dumps({"total": total, "times": times, "bad": bad}))
"""

# python-lambda-local's own API, `lambda_local.main.call`: the function is loaded once, but every call forks.
WARM_LAMBDA_LOCAL = r"""
import contextlib, importlib.util, io, json, os, sys, time, types
m = types.ModuleType("pkg_resources"); m.require = lambda name: [types.SimpleNamespace(version="0")]
sys.modules.setdefault("pkg_resources", m)
from lambda_local.context import Context
from lambda_local.main import call

count, event, greeting = int(sys.argv[1]), json.load(open(sys.argv[2])), sys.argv[3]
sys.path.insert(0, "src")
import lambda_function
times, bad = [], 0
with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
    import logging
    for handler in logging.getLogger().handlers:
        handler.setStream(sink)
    clock = time.perf_counter
    start = clock()
    for _ in range(count):
        before = clock()
        result, error = call(lambda_function.lambda_handler, event, Context(10))
        times.append(clock() - before)
        if error is not None or greeting not in json.dumps(result):
            bad += 1
    total = clock() - start
print(json.dumps({"total": total, "times": times, "bad": bad}))
"""


@dataclass
class Warm:
    name: str
    count: int
    seconds: float  # the time the `count` invocations took
    times: list[float] = field(default_factory=list)  # per invocation, when measured
    note: str = ""

    @property
    def rate(self) -> float:
        return self.count / self.seconds


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_in_project(
    argv: list[str], project: Path, env: Env, name: str, limit_s: float
) -> subprocess.CompletedProcess[str]:
    """Run a command in the project with its output captured; a run over `limit_s` stops the bench, untimed."""
    try:
        return subprocess.run(
            argv,
            cwd=project,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            timeout=limit_s,
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"{name} took over {limit_s} s; not timed.\n  command: {shlex.join(argv)}") from None


def warm_script(python: Path, script: str, count: int, project: Path, env: Env, name: str) -> Warm:
    argv = [str(python), "-c", script, str(count), EVENT, GREETING]
    result = run_in_project(argv, project, env, name, RUN_LIMIT_S * 5)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        tail = "\n".join((result.stderr + result.stdout).strip().splitlines()[-15:])
        raise BenchError(f"{name} failed (exit code {result.returncode})\n{tail}")
    data = json.loads(lines[-1])
    if data["bad"]:
        raise BenchError(f"{name}: {data['bad']} of {count} invocations failed or had no greeting")
    return Warm(name, count, data["total"], data["times"])


def warm_cli(python: Path, count: int, runs: int, cold_median: float, project: Path, env: Env) -> Warm:
    """`invoke --repeat N -q`, whole process; the rate leaves out one cold one-shot run (start-up, first call)."""
    argv = [str(python), "-m", "lambda_runner", "invoke", "-e", EVENT, "--repeat", str(count), "-q"]
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        result = run_in_project(argv, project, env, f"invoke --repeat {count}", RUN_LIMIT_S * 5)
        walls.append(time.perf_counter() - start)
        greeted = sum(GREETING in line for line in result.stdout.splitlines())
        if result.returncode != 0 or greeted != count:
            tail = "\n".join(result.stderr.strip().splitlines()[-15:])
            raise BenchError(f"invoke --repeat {count} failed (exit {result.returncode}, {greeted} greetings)\n{tail}")
    wall = statistics.median(walls)
    name = "CLI invoke --repeat N -q"
    if wall - cold_median < 0.2 * wall:  # too few invocations to tell them from start-up: no subtraction
        return Warm(name, count, wall, note=f"whole process {wall * 1000:.0f} ms (raise --repeat)")
    return Warm(name, count - 1, wall - cold_median, note=f"whole process {wall * 1000:.0f} ms, minus one cold run")


def print_warm(rows: list[Warm]) -> None:
    width = max(len(row.name) for row in rows)
    print("\n2. warm invocations (one process unless said)")
    print(f"  {'how':<{width}}  {'count':>6}  {'inv/s':>8}  {'p50 us':>8}  {'p99 us':>8}  note")
    for row in rows:
        p50 = f"{percentile(row.times, 0.5) * 1e6:8.0f}" if row.times else f"{'-':>8}"
        p99 = f"{percentile(row.times, 0.99) * 1e6:8.0f}" if row.times else f"{'-':>8}"
        print(f"  {row.name:<{width}}  {row.count:6d}  {row.rate:8.0f}  {p50}  {p99}  {row.note}".rstrip())


# ---------------------------------------------------------------------------------------------------------------
# Part 3: start-api throughput


# The reference: one thread of the standard library's HTTP server calling the same handler directly, with an
# event of the fields it reads; no Lambda around it (no event JSON, no process boundary, no platform lines).
BARE_SERVER = r"""
import importlib, signal, sys, threading, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored

sys.path.insert(0, sys.argv[3])  # the function's code folder
module_name, function_name = sys.argv[4].rsplit(".", 1)
handler = getattr(importlib.import_module(module_name), function_name)


class Context:
    def __init__(self):
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self):
        return 10_000


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as start-api
    disable_nagle_algorithm = True

    def do_GET(self):
        path, _, query = self.path.partition("?")
        event = {
            "rawPath": path,
            "rawQueryString": query,
            "headers": {name.lower(): value for name, value in self.headers.items()},
            "queryStringParameters": dict(parse_qsl(query)),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "http": {"method": self.command, "path": path, "sourceIp": self.client_address[0]},
            },
        }
        result = handler(event, Context())
        body = result["body"].encode()
        self.send_response(result["statusCode"])
        for name, value in result["headers"].items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)  # a thread per connection, as start-api
server.daemon_threads = True
stopper = threading.Timer(float(sys.argv[2]), server.shutdown)  # stops by itself
stopper.daemon = True
stopper.start()
print("listening", flush=True)
try:
    server.serve_forever(0.05)
except KeyboardInterrupt:
    pass
server.server_close()
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get_once(port: int, timeout: float = 2.0) -> tuple[int, bytes]:
    """One GET of URL_PATH on a new connection: (status, body)."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", URL_PATH)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


class Server:
    """A server process on 127.0.0.1:port, checked to answer the greeting before it is measured."""

    def __init__(self, name: str, argv: list[str], port: int, cwd: Path, env: Env, log: Path) -> None:
        self.name, self.port, self.argv = name, port, argv
        self.log = log
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.process.pid  # the server itself: the child of `timeout` when that guards it

    def _find_server_pid(self) -> None:
        if Path(self.argv[0]).name != "timeout":
            return
        with contextlib.suppress(OSError, ValueError, IndexError):
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
            self.pid = int(children[0])

    def cpu_seconds(self) -> float | None:
        """User + system CPU time so far of the server process and its children (Linux /proc), None elsewhere.

        start-api's environments are child processes: their time is the server's too.
        """
        total, pending, seen = 0.0, [self.pid], set()
        while pending:
            pid = pending.pop()
            if pid in seen:
                continue
            seen.add(pid)
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                if pid == self.pid:
                    return None
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            with contextlib.suppress(OSError, ValueError):
                for task in Path(f"/proc/{pid}/task").iterdir():
                    pending += [int(child) for child in (task / "children").read_text().split()]
        return total

    def wait_ready(self, limit_s: float = 20.0) -> None:
        deadline = time.monotonic() + limit_s
        problem = "did not answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                problem = f"exited with {self.process.returncode}"
                break
            try:
                status, body = get_once(self.port)
            except OSError:
                time.sleep(0.05)
                continue
            if status == 200 and json.loads(body) == json.loads(BODY):
                self._find_server_pid()
                return
            problem = f"answered {status} {body[:200]!r}"
            break
        tail = "\n".join(self.log.read_text(errors="replace").strip().splitlines()[-15:])
        raise BenchError(f"{self.name} {problem} on 127.0.0.1:{self.port}\n  command: {shlex.join(self.argv)}\n{tail}")

    def stop(self) -> None:
        """Ctrl-C for the server (it shuts down cleanly), then its whole process group is killed if need be."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGINT)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self._log_file.close()


@dataclass
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx answers and socket errors
    cpu_us: float | None = None  # the server's CPU time per request (user + system)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


_WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _wrk_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", text.strip()).groups()  # type: ignore[union-attr]
    return float(number) * _WRK_UNITS[unit]


def load_wrk(port: int, connections: int, duration: float) -> Load:
    threads = 1  # one wrk thread keeps up with these servers and leaves the other core to them
    argv = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(duration))}s",
        "--latency",
        f"http://127.0.0.1:{port}{URL_PATH}",
    ]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=duration + 30)
    out = result.stdout
    try:
        requests_line = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
        assert requests_line is not None
        seconds = _wrk_ms(requests_line.group(2) + requests_line.group(3)) / 1000
        p50 = _wrk_ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
        p99 = _wrk_ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    except (AssertionError, AttributeError, KeyError) as exc:
        raise BenchError(f"cannot read wrk's output ({exc}):\n{out}\n{result.stderr}") from None
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        errors += int(non_2xx.group(1))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket_errors:
        errors += sum(int(value) for value in socket_errors.groups())
    return Load(int(requests_line.group(1)), seconds, p50, p99, errors)


def load_python(port: int, connections: int, duration: float) -> Load:
    """A keep-alive client per thread on raw sockets (less client overhead than http.client); bounded by time."""
    request = (
        f"GET {URL_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: bench-runner\r\nAccept: */*\r\n\r\n"
    ).encode()
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    start = time.perf_counter()
    deadline = start + duration

    def client(index: int) -> None:
        clock = time.perf_counter
        mine = latencies[index]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                buffer = b""
                while clock() < deadline:
                    before = clock()
                    sock.sendall(request)
                    while b"\r\n\r\n" not in buffer:
                        chunk = sock.recv(65536)
                        if not chunk:
                            raise ConnectionError("closed by the server")
                        buffer += chunk
                    head, _, buffer = buffer.partition(b"\r\n\r\n")
                    lines = head.split(b"\r\n")
                    status = int(lines[0].split(b" ", 2)[1])
                    length = 0
                    for line in lines[1:]:
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    while len(buffer) < length:
                        chunk = sock.recv(65536)
                        if not chunk:
                            raise ConnectionError("closed by the server")
                        buffer += chunk
                    buffer = buffer[length:]
                    mine.append(clock() - before)
                    if status != 200:
                        errors[index] += 1
        except (OSError, ValueError, IndexError):
            errors[index] += 1

    workers = [threading.Thread(target=client, args=(index,), daemon=True) for index in range(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(duration + 10)
    seconds = time.perf_counter() - start
    every = [value for values in latencies for value in values]
    if not every:
        raise BenchError(f"the Python client got no answer from 127.0.0.1:{port}")
    return Load(len(every), seconds, percentile(every, 0.5) * 1000, percentile(every, 0.99) * 1000, sum(errors))


@dataclass
class ApiCase:
    name: str
    argv: list[str]
    loads: list[Load] = field(default_factory=list)

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(load, attribute) for load in self.loads)


def time_api(
    bench_python: Path,
    project_python: Path,
    project: Path,
    env: Env,
    scratch: Path,
    args: argparse.Namespace,
    load_tool: str,
) -> list[ApiCase]:
    # Each server lives at most this long on its own, whatever happens to the bench.
    lifetime = args.api_rounds * (args.duration + 30) + 60
    guard = ["timeout", "-s", "INT", "-k", "5", str(int(lifetime))] if shutil.which("timeout") else []
    cases = [
        ApiCase(
            "bare ThreadingHTTPServer + handler",
            [str(bench_python), "-c", BARE_SERVER, "{port}", str(lifetime), "src", HANDLER_REF],
        ),
        ApiCase(
            "lambda_runner start-api",
            [*guard, str(project_python), "-m", "lambda_runner", "start-api", "--port", "{port}"],
        ),
    ]
    drive = load_wrk if load_tool == "wrk" else load_python
    for index in range(args.api_rounds):
        order = cases if index % 2 == 0 else cases[::-1]
        for case in order:
            port = free_port()
            argv = [part.replace("{port}", str(port)) for part in case.argv]
            log = scratch / f"server-{index}-{case.name.split()[0]}.log"
            server = Server(case.name, argv, port, project, env, log)
            try:
                server.wait_ready()
                drive(port, args.connections, min(1.0, args.duration))  # warm-up: threads, caches, first calls
                cpu_before = server.cpu_seconds()
                load = drive(port, args.connections, args.duration)
                cpu_after = server.cpu_seconds()
                if cpu_before is not None and cpu_after is not None and load.requests:
                    load.cpu_us = (cpu_after - cpu_before) / load.requests * 1e6
            finally:
                server.stop()
            if load.errors:
                tail = "\n".join(log.read_text(errors="replace").strip().splitlines()[-15:])
                raise BenchError(f"{case.name}: {load.errors} failed requests under load\n{tail}")
            case.loads.append(load)
            print(f"  round {index + 1}/{args.api_rounds}: {case.name} {load.rate:.0f} req/s", file=sys.stderr)
    return cases


def print_api(cases: list[ApiCase], load_tool: str, args: argparse.Namespace) -> None:
    base = cases[0].median("rate")
    width = max(len(case.name) for case in cases)
    print(
        f"\n3. start-api throughput (GET {URL_PATH}, {load_tool}, {args.connections} connections, "
        f"{args.duration:g} s, median of {args.api_rounds})"
    )
    print(f"  {'server':<{width}}  {'req/s':>8}  {'p50 ms':>7}  {'p99 ms':>7}  {'CPU us/req':>10}  {'x bare':>7}")
    for case in cases:
        rate = case.median("rate")
        cpu = [load.cpu_us for load in case.loads if load.cpu_us is not None]
        cpu_text = f"{statistics.median(cpu):10.0f}" if cpu else f"{'-':>10}"
        print(
            f"  {case.name:<{width}}  {rate:8.0f}  {case.median('p50_ms'):7.2f}  {case.median('p99_ms'):7.2f}  "
            f"{cpu_text}  {rate / base:6.2f}x"
        )


# ---------------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=15, help="timed cold runs per command (default 15)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed cold runs per command first (default 2)")
    parser.add_argument("--repeat", type=int, default=2000, help="warm invocations in part 2 (default 2000)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of load per server in part 3 (5)")
    parser.add_argument("--connections", type=int, default=4, help="concurrent keep-alive clients in part 3 (4)")
    parser.add_argument("--api-rounds", type=int, default=5, help="load runs per server, alternating (5)")
    parser.add_argument(
        "--load",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator: wrk if installed (auto), or the Python client",
    )
    parser.add_argument("--parts", default="1,2,3", help="which parts to run, e.g. 1,3 (default all)")
    parser.add_argument("--no-context", action="store_true", help="part 1 without the context rows")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="bench virtualenv (default .bench/venv)")
    parser.add_argument("--no-setup", action="store_true", help="use the bench venv as it is (no bench/setup.sh)")
    parser.add_argument(
        "--slsgen", help="the slsgen that generates the project (default: .venv/bin/slsgen, else the bench venv's)"
    )
    parser.add_argument(
        "--project-venv",
        choices=("make", "uv", "bench"),
        default="make",
        help="the project's .venv: its own `make install` (default), a uv venv with the runner, or the bench venv",
    )
    parser.add_argument("--target-runner", type=float, default=0.5, help="runner / python-lambda-local (0.5)")
    parser.add_argument("--target-slsgen", type=float, default=0.6, help="slsgen invoke / python-lambda-local (0.6)")
    parser.add_argument("--target-api-p99", type=float, default=25.0, help="start-api p99 latency, ms (25)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--json", type=Path, help="also write the measurements to this file")
    args = parser.parse_args(argv)
    try:
        args.parts = {int(part) for part in args.parts.split(",") if part.strip()}
    except ValueError:
        parser.error("--parts takes numbers separated by commas, e.g. 1,3")
    if not args.parts <= {1, 2, 3} or not args.parts:
        parser.error("--parts: choose among 1, 2 and 3")
    if args.runs < 1 or args.warmup < 0 or args.repeat < 2 or args.api_rounds < 1 or args.connections < 1:
        parser.error("--runs, --api-rounds and --connections must be at least 1, --repeat at least 2")
    if args.duration <= 0 or args.duration > 120:
        parser.error("--duration must be more than 0 and at most 120 seconds")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    venv = args.venv.resolve()
    verdicts: list[tuple[str, bool]] = []
    report: dict[str, Any] = {"args": {k: v for k, v in vars(args).items() if k not in ("json", "venv", "parts")}}
    try:
        setup_seconds = None if args.no_setup else run_setup(venv)
        bench_python = venv / "bin" / "python"
        for tool in ("python", "python-lambda-local", "slsgen"):
            if not (venv / "bin" / tool).exists():
                raise BenchError(f"{venv / 'bin' / tool} is missing: run bash bench/setup.sh (or drop --no-setup)")
        slsgen = args.slsgen or next(
            str(path) for path in (ROOT / ".venv" / "bin" / "slsgen", venv / "bin" / "slsgen") if path.exists()
        )
        load_tool = "wrk" if args.load == "wrk" or (args.load == "auto" and shutil.which("wrk")) else "python"
        if load_tool == "wrk" and not shutil.which("wrk"):
            raise BenchError("--load wrk: wrk is not installed (apt-get install wrk)")

        with tempfile.TemporaryDirectory(prefix="slsgen-bench-runner-") as tmp:
            scratch = Path(tmp)
            home = scratch / "home"
            home.mkdir()
            env = tool_env(home, venv)
            project = make_project(slsgen, scratch, env)
            project_python = make_project_venv(project, args.project_venv, bench_python, env)
            versions = {
                "python": version_of([str(bench_python), "--version"], env, last_line=True),
                "slsgen": version_of([str(venv / "bin" / "slsgen"), "--version"], env, last_line=True),
                "python-lambda-local": version_of(
                    [str(venv / "bin" / "python-lambda-local"), "--version"], env, last_line=True
                ),
                "load": "python client",
            }
            if load_tool == "wrk":  # wrk prints its version, then its usage, and exits 1
                wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
                versions["load"] = (wrk.stdout or wrk.stderr or "wrk").splitlines()[0].split(" Copyright")[0]
            report["versions"] = versions
            print(
                f"bench: {platform.node()}, {os.cpu_count()} cores, load average "
                f"{', '.join(f'{value:.2f}' for value in os.getloadavg())}"
            )
            print(f"venv:  {venv}" + (f" (setup {setup_seconds:.1f} s)" if setup_seconds is not None else ""))
            print("tools: " + "; ".join(versions.values()))
            print(f"project: {project} (made by {slsgen}; .venv: {args.project_venv})")
            sys.stdout.flush()

            cold: list[Cold] = []
            if 1 in args.parts or 2 in args.parts:
                cold = cold_cases(project, bench_python, project_python, args)
                if 1 not in args.parts:  # part 2 needs the cold times of the runner and python-lambda-local
                    cold = cold[:2]
                print(f"part 1: cold one-shot invoke, {args.runs} runs + {args.warmup} warm-up ...", file=sys.stderr)
                time_cold(cold, args.runs, args.warmup, project, env)
                report["cold_ms"] = {c.name.strip(): [t * 1000 for t in c.times] for c in cold}
            warm: list[Warm] = []
            if 2 in args.parts:
                print(f"part 2: {args.repeat} warm invocations ...", file=sys.stderr)
                warm.append(warm_script(bench_python, WARM_API, args.repeat, project, env, "runner API open_invoker"))
                warm.append(warm_cli(bench_python, args.repeat, 3, cold[1].median, project, env))
                per_call = min(args.repeat, 200)
                warm.append(
                    warm_script(
                        bench_python, WARM_LAMBDA_LOCAL, per_call, project, env, "python-lambda-local call() API"
                    )
                )
                warm[-1].note = "forks a process per event"
                warm.append(Warm("python-lambda-local CLI", 1, cold[0].median, note="1 / its cold one-shot median"))
                report["warm_per_s"] = {row.name: row.rate for row in warm}
            api: list[ApiCase] = []
            if 3 in args.parts:
                print(
                    f"part 3: start-api under {load_tool}, {args.api_rounds} x {args.duration:g} s per server ...",
                    file=sys.stderr,
                )
                api = time_api(bench_python, project_python, project, env, scratch, args, load_tool)
                report["api"] = {case.name: [vars(load) | {"rate": load.rate} for load in case.loads] for case in api}

            if 1 in args.parts:
                print_times(
                    f"1. cold one-shot invoke (ms, whole process, median of {args.runs})",
                    cold,
                    first="command",
                    ratio="x lambda-local",
                )
                reference = cold[0]
                for case in cold[1:]:
                    if case.target is None:
                        continue
                    ratio = case.median / reference.median
                    passed = ratio <= case.target
                    verdicts.append((case.name, passed))
                    print(
                        f"{'PASS' if passed else 'FAIL'}: {case.name} / python-lambda-local = {ratio:.2f}x "
                        f"({case.median * 1000:.0f} ms / {reference.median * 1000:.0f} ms; target <= "
                        f"{case.target:.2f}x)"
                    )
            if warm:
                print_warm(warm)
                print(
                    f"info: warm in-process invocations are {warm[0].rate / warm[-1].rate:.0f}x the rate of a "
                    f"python-lambda-local process per event"
                )
            if api:
                print_api(api, load_tool, args)
                p99 = api[1].median("p99_ms")
                passed = p99 < args.target_api_p99
                verdicts.append(("start-api", passed))
                print(
                    f"{'PASS' if passed else 'FAIL'}: start-api p99 latency = {p99:.2f} ms with {args.connections} "
                    f"concurrent clients (target < {args.target_api_p99:g} ms; the bare server's: "
                    f"{api[0].median('p99_ms'):.2f} ms)"
                )
            report["verdicts"] = dict(verdicts)
            if args.json:
                args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 2
    return 1 if args.check and not all(passed for _, passed in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
