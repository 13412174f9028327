"""The in-process sandbox: the handler runs inside the runner's own process, for speed and for debuggers.

The process is made to look like the function's execution environment while it is warm: the Lambda
environment variables (os.environ is replaced, TZ applied), the code directory first on sys.path and as the
working directory, the function's output sent to the log stream (stdout and stderr, at the file-descriptor
level too, so output of C code and subprocesses follows). `reset()` undoes all of it and forgets the modules
imported meanwhile, so that the next init is a real cold start; only one in-process environment is warm at a
time, since two functions could both have a module named `app`. For the same reason the modules already loaded
from the project outside the function's code folder (another function's `lambda_function`, imported by a test)
are out of `sys.modules` while it is warm, as they are out of its `/var/task` in Lambda.

Each init and each invocation runs on a thread of its own while the runner's main thread waits for it, so
that the runner keeps control whatever the function does (a debugger stops in that thread as in any other):

- at Timeout the runner reports the timeout, as Lambda does, and raises `_TimeLimit` in the thread to unwind
  it. A function that does not stop within `UNWIND_S` (it catches BaseException in a loop, or waits inside C
  code: a long `time.sleep`, a socket read without timeout) is left behind: it cannot be killed inside this
  process, so the environment is never used again and the next invocations of the session run in a child
  process instead, as with `--isolated`;
- `os._exit()` (and `sys.exit()`) in the function end the environment, not the runner: while an environment
  is warm, `os._exit` of this process is one that reports `Runtime exited with error: exit status N`;
- a KeyboardInterrupt the function raises ends the environment as it ends Python (`signal: interrupt`).

What it cannot do, by construction: enforce MemorySize, stop a process-wide crash (a segfault in C code,
`os.abort()`), or give the function the main thread (`signal.signal` fails in a handler here, not in Lambda).
Use `--isolated` for those.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from importlib.machinery import EXTENSION_SUFFIXES
from types import ModuleType
from typing import ClassVar, NoReturn, TextIO

from ..config.environment import lambda_environment
from ..config.template import FunctionConfig
from ..runtime import modules
from ..runtime.function import FunctionRuntime, Request, lambda_sys_path, uncaught_traceback
from ..runtime.result import Invocation
from ..service.sandbox import EXITED, TIMEOUT, Sandbox
from .process import peak_rss_mb, uncaught_exit_reason

_RUNNER_PACKAGE = (__package__ or "").rpartition(".")[0]  # the runner package, all its layers
_RUNNER_IMPORTS: set[str] = set()  # modules the runner imported while an environment was entered
_real_exit = os._exit
UNWIND_S = 0.5  # how long a timed-out function may take to unwind before it is left behind


class _TimeLimit(BaseException):
    """Raised into the function's thread at its timeout; a BaseException so that `except Exception` lets it pass."""


class _RuntimeExit(BaseException):
    """Raised in the thread that called `os._exit()`, so that it stops there as if the process had ended."""


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


def _raise_in_thread(ident: int, exc_type: type[BaseException]) -> None:
    """Raise `exc_type` in another thread at its next bytecode (it does not interrupt a wait inside C code)."""
    before = set(sys.modules)
    import ctypes  # only when a function overruns its timeout

    # The runner's import, not the function's: reset() keeps it (a fresh ctypes per timeout leaked ~90 KB each).
    _RUNNER_IMPORTS.update(set(sys.modules) - before)
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(exc_type))


def _exit_in_function(status: int) -> NoReturn:
    """`os._exit` while an in-process environment is warm: the environment ends, the runner does not.

    The runner's own thread (the one driving the sandbox), and a forked child of the function, exit for real.
    """
    sandbox = InProcessSandbox.warm
    if sandbox is None or os.getpid() != sandbox.pid or threading.get_ident() == sandbox.driver:
        _real_exit(status)
    sandbox.exited(status)
    raise _RuntimeExit(status)


class _Call(threading.Thread):
    """The function's init or one invocation, on a thread the runner can wait for and, if need be, leave behind."""

    def __init__(self, work: Callable[[], Invocation]) -> None:
        super().__init__(name="lambda-function", daemon=True)
        self.work = work
        self.outcome: Invocation | None = None
        self.raised: BaseException | None = None
        self.finished = threading.Event()  # the work ended, or the environment exited (os._exit)
        self._lock = threading.Lock()
        self._running = True
        self._interrupted = False

    def run(self) -> None:
        try:
            try:
                self.outcome = self.work()
            except BaseException as exc:  # SystemExit, KeyboardInterrupt, _TimeLimit: reported
                self.raised = exc
            with self._lock:
                self._running = False
        except _TimeLimit:  # raised after the work ended, before `_running` was cleared: nothing left to stop
            pass
        self.finished.set()

    def interrupt(self) -> None:
        """Raise `_TimeLimit` in the work, once, unless it has ended."""
        with self._lock:
            if self._running and not self._interrupted and self.ident is not None:
                self._interrupted = True
                _raise_in_thread(self.ident, _TimeLimit)


class _SavedState:
    """What `_enter` changed in the process, to put back on `reset()` (a plain class: see `invoke.Invocation`)."""

    def __init__(self, aside: dict[str, ModuleType]) -> None:
        self.aside = aside  # the project's modules from outside the function's code folder
        self.environ = dict(os.environ)
        self.path = list(sys.path)
        self.cwd = os.getcwd()
        self.modules = set(sys.modules)
        self.converter: Callable[..., time.struct_time] = logging.Formatter.converter
        self.root_level = logging.getLogger().level


class InProcessSandbox:
    """Runs the function in this process; see the module docstring for what it changes and restores."""

    warm: ClassVar[InProcessSandbox | None] = None  # the one environment currently set up in this process

    def __init__(
        self,
        function: FunctionConfig,
        env_overrides: dict[str, str],
        log: TextIO,
        *,
        fallback: Callable[[], Sandbox],
    ) -> None:
        self.function = function
        self.env_overrides = env_overrides
        self.log = log
        self._make_fallback = fallback  # a sandbox in a child process, for when a function cannot be stopped here
        self.pid = os.getpid()
        self.driver = threading.get_ident()  # the runner's thread, which calls init() and run()
        self.runtime: FunctionRuntime | None = None
        self._saved: _SavedState | None = None
        self._exit_status: int | None = None  # os._exit was called in the function
        self._call_running: _Call | None = None
        # Set once a function was left running: from then on this sandbox starts its environments in a child.
        self.fallback: Sandbox | None = None

    def _enter(self) -> None:
        if InProcessSandbox.warm is not None and InProcessSandbox.warm is not self:
            InProcessSandbox.warm.reset()
        InProcessSandbox.warm = self
        self.driver = threading.get_ident()
        function = self.function
        self._saved = _SavedState(modules.set_aside(function.project_dir, excluding=(function.code_dir,)))
        self._exit_status = None
        environment = lambda_environment(self.function, self.env_overrides)
        os.environ.clear()
        os.environ.update(environment)
        if hasattr(time, "tzset"):
            time.tzset()
        sys.path[:] = lambda_sys_path(self.function.code_dir, sys.path)
        os.chdir(self.function.code_dir)
        os._exit = _exit_in_function

    def exited(self, status: int) -> None:
        """The function called `os._exit(status)`: the environment has ended."""
        self._exit_status = status
        call = self._call_running
        if call is not None:
            call.finished.set()

    def init(self, limit_s: float) -> Invocation:
        if self.fallback is not None:
            return self.fallback.init(limit_s)
        self._enter()
        runtime = self.runtime = FunctionRuntime(self.function.handler, self.function.warning_filters)
        return self._call(runtime.init, limit_s)

    def run(self, event: bytes, request: Request, timeout_s: float) -> Invocation:
        if self.fallback is not None:
            return self.fallback.run(event, request, timeout_s)
        runtime = self.runtime
        if runtime is None:
            raise RuntimeError("run() before init()")
        return self._call(lambda: runtime.invoke(event, request), timeout_s)

    def _call(self, work: Callable[[], Invocation], limit_s: float) -> Invocation:
        """Run `work` as the function, on its thread: its output to the log, given up on after `limit_s`."""
        log = self.log
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        saved_streams = sys.stdout, sys.stderr
        saved_fds = _point_fds_at(log)
        sys.stdout = sys.stderr = log
        call = self._call_running = _Call(work)
        start = time.perf_counter()
        try:
            if self._exit_status is None:  # not after an os._exit from a thread the function left running
                call.start()
                in_time = call.finished.wait(limit_s)
            else:
                in_time = True
            elapsed = (time.perf_counter() - start) * 1000
            ended, reason = self._ending(call, in_time, log)
            if ended is not None and call.is_alive():
                call.interrupt()
                call.join(UNWIND_S)
                if call.is_alive():
                    self._leave_behind()
        finally:
            self._call_running = None
            log.flush()
            sys.stdout, sys.stderr = saved_streams
            _restore_fds(saved_fds)
        memory = peak_rss_mb() or 0
        outcome = call.outcome
        if outcome is None or ended is not None:
            return Invocation(None, None, elapsed, ended=ended, exit_reason=reason, max_memory_mb=memory)
        outcome.max_memory_mb = memory
        return outcome

    def _leave_behind(self) -> None:
        """The function would not stop: it keeps running here, and later environments start in a child process."""
        self.fallback = self._make_fallback()
        self.log.write(
            "note: the function did not stop at its timeout and cannot be killed inside the runner's process; "
            "the next environments of this session start in a child process, as with --isolated\n"
        )

    def _ending(self, call: _Call, in_time: bool, log: TextIO) -> tuple[str | None, str]:
        """How the environment ended during this call (TIMEOUT or EXITED, and the exit reason), if it did."""
        if self._exit_status is not None:
            return EXITED, f"exit status {self._exit_status}"
        if not in_time or isinstance(call.raised, _TimeLimit):
            return TIMEOUT, ""
        raised = call.raised
        if isinstance(raised, SystemExit):
            return EXITED, f"exit status {_exit_status(raised, log)}"
        if raised is not None:  # a KeyboardInterrupt or another BaseException the runtime does not catch
            log.write(uncaught_traceback(raised))
            return EXITED, uncaught_exit_reason(raised)
        return None, ""

    def reset(self) -> None:
        if self.fallback is not None:
            self.fallback.reset()
        if self.runtime is not None:
            self.runtime.shutdown()
            self.runtime = None
        saved, self._saved = self._saved, None
        if saved is None:
            return
        os._exit = _real_exit
        for name in set(sys.modules) - saved.modules:
            module = sys.modules.get(name)
            runners = name.startswith(_RUNNER_PACKAGE + ".") or name in _RUNNER_IMPORTS
            if not _is_extension(module) and not runners:
                del sys.modules[name]
        modules.restore(saved.aside)
        os.environ.clear()
        os.environ.update(saved.environ)
        if hasattr(time, "tzset"):
            time.tzset()
        sys.path[:] = saved.path
        os.chdir(saved.cwd)
        logging.Formatter.converter = saved.converter
        logging.getLogger().setLevel(saved.root_level)
        if InProcessSandbox.warm is self:
            InProcessSandbox.warm = None
