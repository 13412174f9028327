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
from collections.abc import Callable
from importlib.machinery import EXTENSION_SUFFIXES
from typing import Any, ClassVar, TextIO

from ..config.environment import lambda_environment
from ..config.template import FunctionConfig
from ..runtime.function import FunctionRuntime, Outcome, Request, lambda_sys_path
from ..runtime.serialize import Payload
from ..service.sandbox import EXITED, TIMEOUT, Step
from .process import peak_rss_mb

_RUNNER_PACKAGE = (__package__ or "").rpartition(".")[0]  # the runner package, all its layers
_HAS_ITIMER = hasattr(signal, "setitimer")
try:  # the C function: signal.getsignal wraps its answer in an enum, which costs an exception for a function
    from _signal import getsignal as _current_handler
except ImportError:  # pragma: no cover - not CPython
    _current_handler = signal.getsignal
_UNSET = object()
_MAIN_THREAD = threading.main_thread().ident  # SIGALRM handlers can only be set, and only run, there


class _TimeLimit(BaseException):
    """Raised into the handler by SIGALRM; a BaseException so that `except Exception` in user code lets it pass."""


def _expire(signum: int, frame: object) -> None:
    """The SIGALRM handler while an in-process environment is warm; it acts only while a call is timed."""
    if InProcessSandbox.alarm_armed:
        InProcessSandbox.alarm_armed = False
        raise _TimeLimit


def _fileno(stream: TextIO) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def _point_fds_at(log: TextIO) -> dict[int, int]:
    """Send file descriptors 1 and 2 to `log`'s file, when it has one; returns copies of the old ones."""
    target = _fileno(log)
    saved: dict[int, int] = {}
    if target is not None:
        for fd in (1, 2):
            if fd != target:
                saved[fd] = os.dup(fd)
                os.dup2(target, fd)
    return saved


def _restore_fds(saved: dict[int, int]) -> None:
    for fd, copy in saved.items():
        os.dup2(copy, fd)
        os.close(copy)


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


class _SavedState:
    """What `_enter` changed in the process, to put back on `reset()`."""

    __slots__ = ("converter", "cwd", "environ", "modules", "path", "root_level")

    def __init__(self) -> None:
        self.environ = dict(os.environ)
        self.path = list(sys.path)
        self.cwd = os.getcwd()
        self.modules = set(sys.modules)
        self.converter: Callable[..., time.struct_time] = logging.Formatter.converter
        self.root_level = logging.getLogger().level


class InProcessSandbox:
    """Runs the function in this process; see the module docstring for what it changes and restores.

    Per call it only swaps `sys.stdout`/`sys.stderr` and sets the timer: the SIGALRM handler is installed once
    per warm environment (and put back, with the timer stopped, by `reset()`). With `serving=True` (a long-lived
    host such as `start-api`, which writes nothing to file descriptors 1 and 2 itself), the descriptors also
    point at the log for the environment's life instead of being duplicated and restored around every call.
    """

    warm: ClassVar[InProcessSandbox | None] = None  # the one environment currently set up in this process
    alarm_armed: ClassVar[bool] = False  # a call is being timed: SIGALRM means its time is up

    def __init__(
        self, function: FunctionConfig, env_overrides: dict[str, str], log: TextIO, *, serving: bool = False
    ) -> None:
        self.function = function
        self.env_overrides = env_overrides
        self.log = log
        self.serving = serving
        self.runtime: FunctionRuntime | None = None
        self._saved: _SavedState | None = None
        self._steady_fds: dict[int, int] | None = None  # serving: the descriptors' copies while warm
        self._previous_alarm: Any = _UNSET  # the SIGALRM handler before ours, while ours is installed

    def _enter(self) -> None:
        if InProcessSandbox.warm is not None and InProcessSandbox.warm is not self:
            InProcessSandbox.warm.reset()
        InProcessSandbox.warm = self
        self._saved = _SavedState()
        environment = lambda_environment(self.function, self.env_overrides)
        os.environ.clear()
        os.environ.update(environment)
        if hasattr(time, "tzset"):
            time.tzset()
        sys.path[:] = lambda_sys_path(self.function.code_dir, sys.path)
        os.chdir(self.function.code_dir)
        if self.serving:
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            self._steady_fds = _point_fds_at(self.log)

    def init(self, limit_s: float) -> Step:
        self._enter()
        self.runtime = FunctionRuntime(self.function.handler)
        return self._call(self.runtime.init, limit_s)

    def run(self, event: Payload, request: Request, timeout_s: float) -> Step:
        runtime = self.runtime
        if runtime is None:
            raise RuntimeError("run() before init()")
        return self._call(lambda: runtime.invoke(event, request), timeout_s)

    def _arm(self, seconds: float) -> bool:
        """Start the timer when SIGALRM can be used (POSIX, main thread); whether it was started."""
        if not _HAS_ITIMER or threading.get_ident() != _MAIN_THREAD:
            return False
        if _current_handler(signal.SIGALRM) is not _expire:  # first call, or the function replaced it
            previous = signal.signal(signal.SIGALRM, _expire)
            if self._previous_alarm is _UNSET:
                self._previous_alarm = previous
        signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))  # replaces a timer left from the last call
        InProcessSandbox.alarm_armed = True
        return True

    def _call(self, work: Callable[[], Outcome], limit_s: float) -> Step:
        """Run `work` as the function: its output to the log, interrupted after `limit_s` where possible."""
        start = time.perf_counter()
        outcome = None
        ended, reason = None, ""
        log = self.log
        if self._steady_fds is None:  # a serving host writes nothing to them itself (`_enter` flushed them once)
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
        saved_streams = sys.stdout, sys.stderr
        saved_fds = _point_fds_at(log) if self._steady_fds is None else None
        sys.stdout = sys.stderr = log
        try:
            try:
                self._arm(limit_s)
                try:
                    outcome = work()
                finally:
                    # The timer itself is left to run out (a syscall less per call): unarmed, it does nothing,
                    # the next call sets a new one, and `reset()` stops it.
                    InProcessSandbox.alarm_armed = False
            except _TimeLimit:
                ended = TIMEOUT
            except SystemExit as exc:
                ended, reason = EXITED, f"exit status {_exit_status(exc, log)}"
        finally:
            log.flush()
            sys.stdout, sys.stderr = saved_streams
            if saved_fds:
                _restore_fds(saved_fds)
        elapsed = (time.perf_counter() - start) * 1000
        if ended is None and elapsed > limit_s * 1000:
            ended = TIMEOUT  # the alarm was unavailable, or swallowed by a bare `except:`
        memory = peak_rss_mb() or 0
        if outcome is None or ended is not None:
            return Step(None, elapsed, ended=ended, exit_reason=reason, memory_mb=memory)
        return Step(outcome.error, outcome.duration_ms, outcome.response, memory_mb=memory, returned=outcome.returned)

    def reset(self) -> None:
        if self.runtime is not None:
            self.runtime.shutdown()
            self.runtime = None
        previous, self._previous_alarm = self._previous_alarm, _UNSET
        if previous is not _UNSET:
            signal.setitimer(signal.ITIMER_REAL, 0)
            # From another thread this fails: ours stays, inert while no call is timed.
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGALRM, previous)
        steady, self._steady_fds = self._steady_fds, None
        if steady:
            self.log.flush()
            _restore_fds(steady)
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
