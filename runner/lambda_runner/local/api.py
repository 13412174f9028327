"""`start-api`: a local HTTP endpoint in front of one function, shaped like API Gateway or a function URL.

This module is the supervisor; the requests are answered by execution environments, each a child process
(`api_worker.py`), as Lambda scales out: at most `max_concurrency` of them, started when a request finds none
idle (a cold start), kept warm afterwards. The supervisor owns the listening socket and every client
connection. A connection whose client has sent a request goes to an idle environment, the most recently used
one first (as Lambda reuses warm environments), which answers it and hands it back once the client pauses;
beyond `max_concurrency` a request waits for an environment (Lambda would throttle instead).

It enforces what Lambda enforces from outside the function: the Timeout and the MemorySize of every
invocation (read from the shared table of `slots.py` every `TICK_S`), and the end of an environment whose
function exits or crashes. Such an environment is killed, its invocation reported in Lambda's words, its client
answered with API Gateway's 502, and the next request starts a new one, so the server keeps serving. Before
handing over a connection (and on every tick while any is handed over) the code folder and the template are
checked (`watch.py`): after an edit every environment is retired, so the next requests are cold starts with the
new code and configuration, without restarting the server. Every environment writes its output (the function's
and its platform lines) straight into the log's file, as the server's own lines; a log that is not a file (a
StringIO) gets it through a pipe per environment, copied line by line.
"""

from __future__ import annotations

import collections
import contextlib
import json
import math
import mmap
import os
import pickle
import select
import selectors
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from ..config.template import FunctionConfig, load_template, read_functions
from ..errors import RunnerError
from ..sandboxes.process import current_rss_mb, exit_reason, kill, peak_rss_mb, start_environment
from ..service.invoke import conclude
from ..service.reports import PlatformLog
from ..service.sandbox import EXITED, MEMORY, TIMEOUT, Step
from .api_worker import MESSAGE, EnvironmentConfig
from .routes import HTTP, REST, Route, failure_answer, find_routes
from .slots import INIT, SlotState, clear_slot, read_slot, set_waiting, table_size
from .watch import CodeWatcher

DEFAULT_MAX_CONCURRENCY = 4  # warm environments at once when the template reserves no concurrency
TICK_S = 0.005  # how often the limits of running invocations are checked (a fast allocator overshoots by this much)
_OUTPUT_WAIT_S = 2.0  # how long the last output of an ended environment is waited for


def _fileno(log: TextIO) -> int | None:
    """The log's file descriptor, when it is a real file (stderr is; a StringIO is not)."""
    try:
        return log.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def max_concurrency_of(function: FunctionConfig, requested: int | None) -> int:
    """`--max-concurrency` if given, else the function's ReservedConcurrentExecutions, else a small default."""
    if requested is not None:
        if requested < 1:
            raise RunnerError(f"--max-concurrency must be at least 1, not {requested}")
        return requested
    reserved = function.properties.get("ReservedConcurrentExecutions")
    if reserved is None:
        return DEFAULT_MAX_CONCURRENCY
    try:
        reserved = int(reserved)
    except (TypeError, ValueError):
        raise RunnerError(
            f"{function.logical_id}: ReservedConcurrentExecutions must be a number, not {reserved!r}"
        ) from None
    if reserved < 1:
        raise RunnerError(
            f"{function.logical_id} has ReservedConcurrentExecutions {reserved}: Lambda throttles every invocation;"
            " pass --max-concurrency N to serve it locally anyway"
        )
    return reserved


class _Environment:
    """The supervisor's view of one environment process."""

    def __init__(self, process: subprocess.Popen[bytes], control: socket.socket, output: int, index: int) -> None:
        self.process = process
        self.control = control
        self.output = output  # the read end of its stdout and stderr (-1: they are the log's file)
        self.index = index  # its slot in the shared table
        self.connection: int | None = None  # the connection it is answering
        self.retiring = False  # told to quit: not to be given another connection
        self.partial = b""  # output after its last complete line
        self.peak_mb = 0  # the highest resident memory seen while it ran an invocation


class LocalApi:
    """The running server: its URL, and `stop()`, which any thread may call."""

    def __init__(
        self,
        function: FunctionConfig,
        routes: list[Route],
        *,
        host: str,
        port: int,
        env_overrides: dict[str, str] | None,
        log: TextIO,
        template_path: Path | None = None,
        max_concurrency: int | None = None,
    ) -> None:
        if not hasattr(socket, "send_fds"):
            raise RunnerError("start-api needs Linux or macOS (WSL on Windows): it hands connections to processes")
        self.function = function
        self.routes = routes
        self.template_path = template_path
        self.env_overrides = env_overrides or {}
        self.log = log
        self.max_concurrency = max_concurrency_of(function, max_concurrency)
        self._watcher = CodeWatcher(function.code_dir, also=(template_path,) if template_path else ())
        try:
            self._listener = socket.create_server((host, port), backlog=128)
        except OSError as exc:
            raise RunnerError(f"cannot listen on {host}:{port} ({exc.strerror}): pass another --port") from None
        self._listener.setblocking(False)
        self._host, self._port = str(self._listener.getsockname()[0]), int(self._listener.getsockname()[1])
        self._wake_read, self._wake_write = socket.socketpair()
        self._table_file = tempfile.TemporaryFile()  # noqa: SIM115  # closed in run()
        self._table_file.truncate(table_size(self.max_concurrency))
        self._table = mmap.mmap(self._table_file.fileno(), table_size(self.max_concurrency))
        self._selector = selectors.DefaultSelector()
        self._connections: dict[int, socket.socket] = {}
        self._ready: collections.deque[int] = collections.deque()  # connections with a request, in arrival order
        self._idle: list[_Environment] = []  # the most recently used last
        self._environments: list[_Environment] = []
        self._next_connection = 0
        self._stopping = False

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    def stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self._wake_write.send(b"x")

    def run(self, ready: Callable[[LocalApi], None] | None) -> None:
        """Serve until `stop()` or Ctrl-C."""
        print(f"{self.function.logical_id} is served at {self.url}", file=self.log)
        for route in self.routes:
            print(f"  {route.describe()}", file=self.log)
        print(
            f"Up to {self.max_concurrency} requests at once, each in a warm environment of its own (a child process)."
            " Edits to the code and the template are picked up on the next request. Ctrl-C stops.",
            file=self.log,
        )
        self.log.flush()
        self._selector.register(self._listener, selectors.EVENT_READ, self._accept)
        self._selector.register(self._wake_read, selectors.EVENT_READ, lambda: None)
        if ready is not None:
            ready(self)
        try:
            while not self._stopping:
                busy = any(environment.connection is not None for environment in self._environments)
                for key, _ in self._selector.select(TICK_S if busy or self._ready else None):
                    key.data()
                if busy:
                    self._pick_up_edits()
                    self._enforce_limits()
                self._dispatch()
        except KeyboardInterrupt:
            pass
        finally:
            self._close()

    # Connections

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # none waiting (or out of file descriptors: the client waits)
            while True:
                connection, _ = self._listener.accept()
                connection.setblocking(True)
                number = self._next_connection = self._next_connection + 1
                self._connections[number] = connection
                self._watch_connection(number)

    def _watch_connection(self, number: int) -> None:
        """Wait for the client's next request (or its goodbye) on a connection no environment holds."""
        self._selector.register(self._connections[number], selectors.EVENT_READ, lambda: self._readable(number))

    def _readable(self, number: int) -> None:
        connection = self._connections[number]
        self._selector.unregister(connection)
        try:
            goodbye = connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            goodbye = True
        if goodbye:
            self._drop(number)
        else:
            self._ready.append(number)

    def _drop(self, number: int) -> None:
        connection = self._connections.pop(number, None)
        if connection is not None:
            connection.close()

    def _dispatch(self) -> None:
        """Hand the connections with a request to idle environments, or to new ones while under the limit."""
        if self._ready:
            self._pick_up_edits()
        while self._ready and (self._idle or len(self._environments) < self.max_concurrency):
            number = self._ready.popleft()
            environment = self._idle.pop() if self._idle else self._start_environment()
            environment.connection = number
            try:
                socket.send_fds(environment.control, [MESSAGE.pack(b"C", number)], [self._connections[number].fileno()])
            except OSError:  # it has just died: the connection waits for the next one
                environment.connection = None
                self._ready.appendleft(number)
                self._end(environment, EXITED)
        set_waiting(self._table, bool(self._ready))

    # Environments

    def _start_environment(self) -> _Environment:
        used = {environment.index for environment in self._environments}
        index = min(set(range(self.max_concurrency)) - used)
        clear_slot(self._table, index)
        ours, theirs = socket.socketpair()
        # Straight into the log's file when it has one; through a pipe that `_copy_output` empties, when not.
        log_fd = _fileno(self.log)
        output_read, output_write = os.pipe() if log_fd is None else (-1, log_fd)
        self.log.flush()
        try:
            process = start_environment(
                self.function,
                self.env_overrides,
                module=f"{__package__}.api_worker",
                arguments=f"{theirs.fileno()}, {self._table_file.fileno()}, {index}, {time.monotonic()!r}",
                pass_fds=(theirs.fileno(), self._table_file.fileno()),
                output=output_write,
            )
        finally:
            theirs.close()
            if log_fd is None:
                os.close(output_write)
        config = pickle.dumps(EnvironmentConfig(self.function, self.routes, self.port, self.max_concurrency))
        ours.sendall(struct.pack("<I", len(config)) + config)
        environment = _Environment(process, ours, output_read, index)
        self._environments.append(environment)
        self._selector.register(ours, selectors.EVENT_READ, lambda: self._message(environment))
        if output_read >= 0:
            self._selector.register(output_read, selectors.EVENT_READ, lambda: self._copy_output(environment))
        return environment

    def _message(self, environment: _Environment) -> None:
        """`B`/`X` (and `b`/`x`: the environment ends after it) when it is done with its connection; b"" if dead."""
        if environment not in self._environments:  # ended earlier in this round of events
            return
        try:
            data = environment.control.recv(MESSAGE.size)
        except OSError:
            data = b""
        if len(data) < MESSAGE.size:
            self._end(environment, EXITED)
            return
        operation, number = MESSAGE.unpack(data)
        environment.connection = None
        if operation in (b"B", b"b"):
            self._watch_connection(number)
        else:
            self._drop(number)
        if operation in (b"b", b"x") or environment.retiring:
            self._retire(environment)
        else:
            self._idle.append(environment)

    def _retire(self, environment: _Environment) -> None:
        """Ask it to quit when it is done with its connection (now, when it has none)."""
        environment.retiring = True
        if environment in self._idle:
            self._idle.remove(environment)
        with contextlib.suppress(OSError):
            environment.control.sendall(MESSAGE.pack(b"Q", 0))

    def _copy_output(self, environment: _Environment) -> None:
        if environment.output < 0:  # closed earlier in this round of events
            return
        try:
            chunk = os.read(environment.output, 1 << 16)
        except OSError:
            chunk = b""
        if not chunk:
            self._close_output(environment)
            return
        environment.partial += chunk
        self._write_lines(environment)

    def _close_output(self, environment: _Environment) -> None:
        self._write_lines(environment, final=True)
        self._selector.unregister(environment.output)
        os.close(environment.output)
        environment.output = -1

    def _write_lines(self, environment: _Environment, *, final: bool = False) -> None:
        """Write its complete lines to the log (so that two environments' lines never mix mid-line)."""
        cut = len(environment.partial) if final else environment.partial.rfind(b"\n") + 1
        if cut:
            self.log.write(environment.partial[:cut].decode("utf-8", "replace"))
            self.log.flush()
            environment.partial = environment.partial[cut:]

    def _enforce_limits(self) -> None:
        """Kill an environment past its deadline or over MemorySize, as Lambda's sandbox does."""
        now = time.monotonic()
        for environment in list(self._environments):
            state = read_slot(self._table, environment.index)
            if state is None:
                continue
            if now >= state.deadline:
                self._end(environment, TIMEOUT)
                continue
            rss = current_rss_mb(environment.process.pid)
            if rss is not None:
                environment.peak_mb = max(environment.peak_mb, math.ceil(rss))
                if rss > self.function.memory_size:
                    self._end(environment, MEMORY)

    def _end(self, environment: _Environment, ended: str, *, report: bool = True) -> None:
        """The environment is over (killed, or it exited): report its invocation if it had one, answer its client.

        Not when the server stops (`report=False`): the requests in flight then just fail.
        """
        peak = max(peak_rss_mb(environment.process.pid) or 0, environment.peak_mb)  # before the kill: a live process
        kill(environment.process)
        if environment not in self._environments:  # ended earlier in this round of events
            return
        while environment.output >= 0:  # its last words, before the platform's lines about it
            if select.select([environment.output], [], [], _OUTPUT_WAIT_S)[0]:
                self._copy_output(environment)
            else:  # a process it started still holds the pipe
                self._close_output(environment)
        state = read_slot(self._table, environment.index)
        clear_slot(self._table, environment.index)
        if state is not None and report:
            reason = exit_reason(environment.process.returncode) if ended == EXITED else ""
            self._report_ended_invocation(state, ended, reason, max(peak, state.memory_mb))
        if environment.connection is not None:
            if state is not None and report:
                self._answer_failure(environment.connection, state.rest, state.request_line, state.started)
            self._drop(environment.connection)
        self._selector.unregister(environment.control)
        environment.control.close()
        self._environments.remove(environment)
        if environment in self._idle:
            self._idle.remove(environment)

    def _report_ended_invocation(self, state: SlotState, ended: str, reason: str, peak_mb: int) -> None:
        platform = PlatformLog(
            json_format=self.function.platform_log_json, system_log_level=self.function.system_log_level
        )
        elapsed_ms = (time.monotonic() - (state.deadline - state.limit_s)) * 1000
        init_ms: float | None
        if state.phase == INIT:  # as `PlatformInvoker` reports an INIT that ended: START, then the outcome
            init_ms, step = elapsed_ms, Step(None, 0.0, ended=ended, exit_reason=reason, memory_mb=peak_mb)
            lines = [platform.start(state.request_id)]
        else:
            init_ms, step = state.init_ms, Step(None, elapsed_ms, ended=ended, exit_reason=reason, memory_mb=peak_mb)
            lines = []
        _, ending = conclude(
            self.function,
            platform,
            state.request_id,
            state.trace_id,
            step,
            init_ms,
            state.limit_s,
            warm=state.phase != INIT,
        )
        if platform.enabled:
            self.log.write("\n".join([*lines, *ending]) + "\n")
            self.log.flush()

    def _answer_failure(self, number: int, rest: bool, request_line: str, started: float) -> None:
        """API Gateway's 502 for an invocation that failed with its environment."""
        status, body = failure_answer(REST if rest else HTTP)
        payload = json.dumps(body).encode()
        head = (
            f"HTTP/1.1 {status} Bad Gateway\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            "Connection: close\r\n\r\n"
        )
        with contextlib.suppress(OSError):
            connection = self._connections[number]
            connection.settimeout(1.0)  # a client that reads nothing does not hold the server up
            connection.sendall(head.encode() + payload)
        elapsed = (time.monotonic() - started) * 1000
        self.log.write(f'"{request_line}" {status} {elapsed:.1f} ms\n')
        self.log.flush()

    def _pick_up_edits(self) -> None:
        """After an edit of the code or the template, serve from new environments (with the new configuration)."""
        if not self._watcher.changed():
            return
        if self.template_path is not None:
            try:
                function = read_functions(self.template_path)[self.function.logical_id]
                routes = find_routes(function, load_template(self.template_path))
            except (RunnerError, KeyError) as exc:
                problem = f"{self.function.logical_id} is gone" if isinstance(exc, KeyError) else str(exc)
                self.log.write(f"start-api: the edited template cannot be used ({problem}): serving the last one\n")
                self.log.flush()
                return
            function.platform_log_json = self.function.platform_log_json
            if function.code_dir != self.function.code_dir:
                self._watcher = CodeWatcher(function.code_dir, also=(self.template_path,))
            self.function, self.routes = function, routes or self.routes
        self.log.write("Code or template changed: the next invocations are cold starts.\n")
        self.log.flush()
        for environment in list(self._environments):
            self._retire(environment)

    def _close(self) -> None:
        """End every environment (busy ones too: their requests fail) and close every connection."""
        for environment in list(self._environments):
            with contextlib.suppress(Exception):  # one that cannot be ended cleanly must not spare the others
                self._end(environment, EXITED, report=False)
        for number in list(self._connections):
            self._drop(number)
        self._selector.close()
        self._listener.close()
        self._wake_read.close()
        self._wake_write.close()
        self._table.close()
        self._table_file.close()


def serve(
    function: FunctionConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 3000,
    env_overrides: dict[str, str] | None = None,
    template_path: Path | None = None,
    log: TextIO = sys.stderr,
    ready: Callable[[LocalApi], None] | None = None,
    max_concurrency: int | None = None,
) -> None:
    """Serve `function` over HTTP until stopped; `ready(api)` is called once it listens (port 0 picks one).

    The template, when given, supplies the stage names and BinaryMediaTypes of the APIs the events refer to, and
    is watched for edits. Binds to 127.0.0.1 unless told otherwise: whoever can reach the server can run the
    developer's code.
    """
    routes = find_routes(function, load_template(template_path) if template_path is not None else None)
    if not routes:
        raise RunnerError(
            f"{function.logical_id} has no Api or HttpApi event and no FunctionUrlConfig: nothing to serve over HTTP"
        )
    api = LocalApi(
        function,
        routes,
        host=host,
        port=port,
        env_overrides=env_overrides,
        log=log,
        template_path=template_path,
        max_concurrency=max_concurrency,
    )
    api.run(ready)
