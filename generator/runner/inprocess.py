"""The in-process sandbox: the handler runs inside the runner's own process, for speed and for debuggers.

The process is made to look like the function's execution environment while it is warm: the Lambda
environment variables (os.environ is replaced, TZ applied), the code directory first on sys.path and as the
working directory, the function's output sent to the log stream (stdout and stderr, at the file-descriptor
level too, so output of C code and subprocesses follows). `reset()` undoes all of it and forgets the modules
imported meanwhile, so that the next init is a real cold start; only one in-process environment is warm at a
time, since two functions could both have a module named `app`.

Limitations, by construction: Timeout is enforced with SIGALRM, which only works on the main thread and only
interrupts Python code: a handler blocked inside C code (a socket read without timeout, a C extension loop)
overruns until it returns, `finally` blocks run when it is interrupted, and elsewhere the timeout is only
detected after the handler returns. MemorySize cannot be enforced, and `os._exit()` ends the runner. Use
`--isolated` to get Lambda's kill semantics.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.machinery import EXTENSION_SUFFIXES
from typing import ClassVar, TextIO

from .environment import lambda_environment
from .invoke import Step
from .process import EXITED, TIMEOUT, peak_rss_mb
from .runtime import FunctionRuntime, Outcome, Request, lambda_sys_path
from .template import FunctionConfig

_RUNNER_PACKAGE = __package__ or ""


class _TimeLimit(BaseException):
    """Raised into the handler by SIGALRM; a BaseException so that `except Exception` in user code lets it pass."""


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds` when SIGALRM can be used (main thread, POSIX); else do nothing."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise _TimeLimit

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _fileno(stream: TextIO) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


@contextlib.contextmanager
def _output_to(log: TextIO) -> Iterator[None]:
    """Send the function's stdout and stderr to `log`, Python-level and, when `log` is a file, fd-level."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved_streams = sys.stdout, sys.stderr
    target = _fileno(log)
    saved_fds: dict[int, int] = {}
    if target is not None:
        for fd in (1, 2):
            if fd != target:
                saved_fds[fd] = os.dup(fd)
                os.dup2(target, fd)
    sys.stdout = sys.stderr = log
    try:
        yield
    finally:
        log.flush()
        sys.stdout, sys.stderr = saved_streams
        for fd, saved in saved_fds.items():
            os.dup2(saved, fd)
            os.close(saved)


def _exit_status(exc: SystemExit, log: TextIO) -> int:
    """The status the interpreter would exit with for this SystemExit (printing a non-integer code)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    log.write(f"{exc.code}\n")
    return 1


def _is_extension(module: object) -> bool:
    origin = getattr(getattr(module, "__spec__", None), "origin", None) or ""
    return origin == "built-in" or origin.endswith(tuple(EXTENSION_SUFFIXES))


@dataclass
class _SavedState:
    environ: dict[str, str]
    path: list[str]
    cwd: str
    modules: set[str]
    converter: Callable[..., time.struct_time]
    root_level: int


class InProcessSandbox:
    """Runs the function in this process; see the module docstring for what it changes and restores."""

    warm: ClassVar[InProcessSandbox | None] = None  # the one environment currently set up in this process

    def __init__(self, function: FunctionConfig, env_overrides: dict[str, str], log: TextIO) -> None:
        self.function = function
        self.env_overrides = env_overrides
        self.log = log
        self.runtime: FunctionRuntime | None = None
        self._saved: _SavedState | None = None

    def _enter(self) -> None:
        if InProcessSandbox.warm is not None and InProcessSandbox.warm is not self:
            InProcessSandbox.warm.reset()
        InProcessSandbox.warm = self
        self._saved = _SavedState(
            environ=dict(os.environ),
            path=list(sys.path),
            cwd=os.getcwd(),
            modules=set(sys.modules),
            converter=logging.Formatter.converter,
            root_level=logging.getLogger().level,
        )
        environment = lambda_environment(self.function, self.env_overrides)
        os.environ.clear()
        os.environ.update(environment)
        if hasattr(time, "tzset"):
            time.tzset()
        sys.path[:] = lambda_sys_path(self.function.code_dir, sys.path)
        os.chdir(self.function.code_dir)

    def init(self, limit_s: float) -> Step:
        self._enter()
        self.runtime = FunctionRuntime(self.function.handler)
        return self._call(self.runtime.init, limit_s)

    def run(self, event: bytes, request: Request, timeout_s: float) -> Step:
        runtime = self.runtime
        if runtime is None:
            raise RuntimeError("run() before init()")
        return self._call(lambda: runtime.invoke(event, request), timeout_s)

    def _call(self, work: Callable[[], Outcome], limit_s: float) -> Step:
        start = time.perf_counter()
        outcome = None
        ended, reason = None, ""
        with _output_to(self.log):
            try:
                with _time_limit(limit_s):
                    outcome = work()
            except _TimeLimit:
                ended = TIMEOUT
            except SystemExit as exc:
                ended, reason = EXITED, f"exit status {_exit_status(exc, self.log)}"
        elapsed = (time.perf_counter() - start) * 1000
        if ended is None and elapsed > limit_s * 1000:
            ended = TIMEOUT  # the alarm was unavailable, or swallowed by a bare `except:`
        memory = peak_rss_mb() or 0
        if outcome is None or ended is not None:
            return Step(None, elapsed, ended=ended, exit_reason=reason, memory_mb=memory)
        return Step(outcome.error, outcome.duration_ms, outcome.response, memory_mb=memory)

    def reset(self) -> None:
        if self.runtime is not None:
            self.runtime.shutdown()
            self.runtime = None
        saved, self._saved = self._saved, None
        if saved is None:
            return
        for name in set(sys.modules) - saved.modules:
            module = sys.modules.get(name)
            if not _is_extension(module) and not name.startswith(_RUNNER_PACKAGE + "."):
                del sys.modules[name]
        os.environ.clear()
        os.environ.update(saved.environ)
        if hasattr(time, "tzset"):
            time.tzset()
        sys.path[:] = saved.path
        os.chdir(saved.cwd)
        logging.Formatter.converter = saved.converter  # type: ignore[assignment]
        logging.getLogger().setLevel(saved.root_level)
        if InProcessSandbox.warm is self:
            InProcessSandbox.warm = None
