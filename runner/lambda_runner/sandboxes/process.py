"""Watching a function's process the way the Lambda sandbox does: its memory, its time limit, and how it ended.

Lambda does not ask a runaway function to stop: at the timeout, or when the sandbox exceeds its memory, the
process is killed. These helpers do the same for a local child process (the isolated worker, or the emulated
runtime), and describe its end in Lambda's words (`exit status 3`, `signal: killed`).
"""

from __future__ import annotations

import contextlib
import functools
import math
import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..config.environment import lambda_environment
from ..service.sandbox import EXITED, MEMORY, TIMEOUT

if TYPE_CHECKING:  # subprocess is imported only by the modes that start processes, to keep start-up fast
    import concurrent.futures
    import subprocess

    from ..config.template import FunctionConfig

# Lambda's platform is written in Go, so its messages use Go's names for signals.
_SIGNAL_NAMES = {
    "SIGKILL": "killed",
    "SIGTERM": "terminated",
    "SIGSEGV": "segmentation fault",
    "SIGABRT": "aborted",
    "SIGBUS": "bus error",
    "SIGFPE": "floating point exception",
    "SIGILL": "illegal instruction",
    "SIGINT": "interrupt",
    "SIGHUP": "hangup",
    "SIGPIPE": "broken pipe",
}
try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]  # mypy types the name as the module; None marks its absence
_MAXRSS_UNIT = 1024 if sys.platform == "darwin" else 1  # ru_maxrss is in bytes on macOS, kilobytes on Linux


def _status_kb(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _to_mb(kilobytes: int) -> int:
    return math.ceil(kilobytes / 1024)


def peak_rss_mb(pid: int | None = None) -> int | None:
    """Peak resident memory in MB of `pid` (VmHWM), or of this process (getrusage) when pid is None.

    None when it cannot be measured (no /proc for another process, as on macOS).
    """
    if pid is not None:
        kilobytes = _status_kb(pid, "VmHWM:")
        return None if kilobytes is None else _to_mb(kilobytes)
    if resource is None:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return _to_mb(peak // _MAXRSS_UNIT)


def current_rss_mb(pid: int) -> float | None:
    """Current resident memory in MB of `pid` (VmRSS), None when /proc is not available."""
    kilobytes = _status_kb(pid, "VmRSS:")
    return None if kilobytes is None else kilobytes / 1024


def exit_reason(returncode: int) -> str:
    """How a process ended, worded as Lambda's `Runtime exited with error: <reason>`."""
    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        return f"signal: {-returncode}"
    return "signal: " + _SIGNAL_NAMES.get(name, name.lower())


def uncaught_exit_reason(exc: BaseException) -> str:
    """How Python ends when `exc` is not caught: by SIGINT for a KeyboardInterrupt, else with status 1."""
    return "signal: interrupt" if isinstance(exc, KeyboardInterrupt) else "exit status 1"


def start_environment(
    function: FunctionConfig,
    env_overrides: dict[str, str],
    *,
    module: str,
    arguments: str,
    pass_fds: tuple[int, ...],
    output: int,
) -> subprocess.Popen[bytes]:
    """A Python child process set up as `function`'s execution environment, running `module.main(arguments)`.

    It gets the Lambda environment variables, the code folder as working directory, the runner importable (from
    wherever this copy of it lives), `pass_fds` open, and `output` as stdout and stderr. It starts a session of its
    own, so that Ctrl-C reaches the runner, which then ends the environment itself.
    """
    import subprocess

    from ..runtime.function import RUNNER_IMPORT_ROOT

    code = f"import sys; sys.path.insert(0, {str(RUNNER_IMPORT_ROOT)!r}); from {module} import main; main({arguments})"

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            pass_fds=pass_fds,
            cwd=function.code_dir,
            env=lambda_environment(function, env_overrides),
            start_new_session=True,
        )

    import threading

    if threading.current_thread() is threading.main_thread():
        return start()
    return _spawner().submit(start).result()


@functools.cache
def _spawner() -> concurrent.futures.ThreadPoolExecutor:
    """One long-lived thread that starts environments for other threads (start-api's request threads).

    A worker asks Linux to kill it when its parent dies (PR_SET_PDEATHSIG), and Linux takes the parent to be the
    *thread* that started it: started from a request thread, it would be killed as soon as that request ends.
    """
    import concurrent.futures

    return concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="environments")


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and reap it: a timed-out or oversized sandbox gets no chance to clean up."""
    import subprocess

    if process.poll() is None:
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):  # the kernel reaps it eventually
        process.wait(timeout=5)


def supervise(
    process: subprocess.Popen[bytes],
    *,
    timeout_s: float | None,
    memory_mb: int | None,
    until: Callable[[float], bool] | None = None,
    poll_s: float = 0.005,
) -> str | None:
    """Wait until `until(wait_s)` returns True, enforcing the time and memory limits meanwhile.

    `until` blocks for at most `wait_s` seconds and says whether the awaited thing (a reply on a pipe, an event)
    has happened; by default it waits for the process to exit. The process is killed when it runs past
    `timeout_s` or its resident memory exceeds `memory_mb`. Returns None when `until` came true, `TIMEOUT` or
    `MEMORY` when that limit was hit (the process is then dead and reaped), or `EXITED` when the process ended
    before `until` came true. Memory is sampled every `poll_s` seconds, which is how a fast allocator can
    overshoot the limit by a few megabytes before being stopped; it is only checked where /proc exists.
    """
    import subprocess

    if until is None:

        def until(wait_s: float) -> bool:
            try:
                process.wait(timeout=wait_s)
            except subprocess.TimeoutExpired:
                return False
            return True

    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        wait_s = poll_s if memory_mb is not None else 0.05
        if deadline is not None:
            wait_s = max(0.0, min(wait_s, deadline - time.monotonic()))
        if until(wait_s):
            return None
        if process.poll() is not None:
            return EXITED
        if memory_mb is not None:
            rss = current_rss_mb(process.pid)
            if rss is not None and rss > memory_mb:
                kill(process)
                return MEMORY
        if deadline is not None and time.monotonic() >= deadline:
            kill(process)
            return TIMEOUT
