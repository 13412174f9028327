"""The isolated sandbox: the handler runs in a warm child process that the runner kills as Lambda would.

The child (`worker.py`) is started on the first invocation (the cold start: its Init Duration includes the
interpreter's start-up, as Lambda's includes the runtime's) and serves later invocations warm. The runner
enforces Timeout by killing it at the deadline and MemorySize by watching its resident memory, so an infinite
loop in C code or a memory leak ends the way it ends in Lambda. The child's output is drained by a thread,
so a function printing hundreds of thousands of lines never blocks on a full pipe.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import select
import subprocess
import sys
import threading
import time
from typing import TextIO

from ..config.environment import lambda_environment
from ..config.template import FunctionConfig
from ..runtime.function import RUNNER_IMPORT_ROOT, Request
from ..runtime.serialize import Payload, payload_bytes
from ..service.sandbox import EXITED, Step
from .process import exit_reason, kill, peak_rss_mb, supervise
from .worker import SYNC_PREFIX, SYNC_SUFFIX, receive, send

_BOOTSTRAP = "import sys; sys.path.insert(0, {root!r}); from {package}.worker import main; main({command}, {reply})"
_SYNC_WAIT_S = 2.0


def _partial_prefix_start(data: bytes) -> int:
    """Where a marker that may continue in the next chunk begins in `data` (len(data) if none)."""
    start = data.find(SYNC_PREFIX)
    if start >= 0:
        return start
    for size in range(min(len(SYNC_PREFIX) - 1, len(data)), 0, -1):
        if data.endswith(SYNC_PREFIX[:size]):
            return len(data) - size
    return len(data)


class OutputPump(threading.Thread):
    """Copies the child's output to the log stream, and notes the sync markers that pass by."""

    def __init__(self, fd: int, log: TextIO) -> None:
        super().__init__(name="lambda-output", daemon=True)
        self.fd = fd
        self.log = log
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.seen = 0
        self.condition = threading.Condition()

    def _write(self, data: bytes, *, final: bool = False) -> None:
        text = self.decoder.decode(data, final=final)
        if text:
            self.log.write(text)
            self.log.flush()

    def run(self) -> None:
        pending = b""
        while chunk := os.read(self.fd, 1 << 16):
            pending += chunk
            while (start := pending.find(SYNC_PREFIX)) >= 0:
                end = pending.find(SYNC_SUFFIX, start + len(SYNC_PREFIX))
                if end < 0:
                    break
                self._write(pending[:start])
                sequence = int(pending[start + len(SYNC_PREFIX) : end])
                pending = pending[end + len(SYNC_SUFFIX) :]
                with self.condition:
                    self.seen = max(self.seen, sequence)
                    self.condition.notify_all()
            keep = _partial_prefix_start(pending)
            self._write(pending[:keep])
            pending = pending[keep:]
        self._write(pending, final=True)
        os.close(self.fd)

    def wait_for(self, sequence: int, timeout_s: float) -> None:
        """Block until the output written before marker `sequence` has been copied (or the wait times out)."""
        with self.condition:
            self.condition.wait_for(lambda: self.seen >= sequence or not self.is_alive(), timeout_s)


class IsolatedSandbox:
    """Runs the function in a warm child process; see the module docstring."""

    def __init__(self, function: FunctionConfig, env_overrides: dict[str, str], log: TextIO) -> None:
        self.function = function
        self.env_overrides = env_overrides
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.pump: OutputPump | None = None
        self.command_fd = self.reply_fd = -1
        self.sequence = 0
        self.peak_mb = 0

    def _spawn(self) -> None:
        command_read, command_write = os.pipe()
        reply_read, reply_write = os.pipe()
        output_read, output_write = os.pipe()
        code = _BOOTSTRAP.format(
            root=str(RUNNER_IMPORT_ROOT), package=__package__, command=command_read, reply=reply_write
        )
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", code],
                stdin=subprocess.DEVNULL,
                stdout=output_write,
                stderr=output_write,
                pass_fds=(command_read, reply_write),
                cwd=self.function.code_dir,
                env=lambda_environment(self.function, self.env_overrides),
            )
        finally:
            for fd in (command_read, reply_write, output_write):
                os.close(fd)
        self.process, self.command_fd, self.reply_fd = process, command_write, reply_read
        self.pump = OutputPump(output_read, self.log)
        self.pump.start()

    def init(self, limit_s: float) -> Step:
        start = time.perf_counter()
        self._spawn()
        step = self._exchange({"op": "init"}, b"", limit_s, start)
        step.duration_ms = (time.perf_counter() - start) * 1000  # process start-up is part of INIT
        return step

    def run(self, event: Payload, request: Request, timeout_s: float) -> Step:
        payload = payload_bytes(event)
        return self._exchange({"op": "invoke", "request": request.as_dict()}, payload, timeout_s, time.perf_counter())

    def _reply_ready(self, wait_s: float) -> bool:
        if select.select([self.reply_fd], [], [], wait_s)[0]:
            return True
        if self.process is not None:  # remember the peak, for the REPORT of a call that ends in a kill
            self.peak_mb = max(self.peak_mb, peak_rss_mb(self.process.pid) or 0)
        return False

    def _exchange(self, header: dict[str, object], body: bytes, limit_s: float, start: float) -> Step:
        process, pump = self.process, self.pump
        if process is None or pump is None:
            raise RuntimeError("run() before init()")
        self.sequence += 1
        with contextlib.suppress(BrokenPipeError):  # a dead child shows as the end of its reply pipe below
            send(self.command_fd, {**header, "seq": self.sequence}, body)
        ended = supervise(process, timeout_s=limit_s, memory_mb=self.function.memory_size, until=self._reply_ready)
        reply = None if ended else receive(self.reply_fd)
        elapsed = (time.perf_counter() - start) * 1000
        if reply is None:
            process.wait()
            pump.join(_SYNC_WAIT_S)
            reason = exit_reason(process.returncode)
            return Step(None, elapsed, ended=ended or EXITED, exit_reason=reason, memory_mb=self.peak_mb)
        pump.wait_for(self.sequence, _SYNC_WAIT_S)
        head, payload = reply
        self.peak_mb = max(self.peak_mb, head["memory_mb"] or 0)
        return Step(
            head["error"],
            head["duration_ms"],
            payload if head["has_response"] else None,
            memory_mb=self.peak_mb,
        )

    def reset(self) -> None:
        process, self.process = self.process, None
        self.peak_mb = 0
        if process is None:
            return
        for fd in (self.command_fd, self.reply_fd):
            os.close(fd)
        try:
            process.wait(timeout=1)  # the worker exits when its command pipe closes
        except subprocess.TimeoutExpired:
            kill(process)
        if self.pump is not None:
            self.pump.join(_SYNC_WAIT_S)
            self.pump = None
