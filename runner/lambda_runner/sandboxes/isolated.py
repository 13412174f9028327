"""The isolated sandbox: the handler runs in a warm child process that the runner kills as Lambda would.

The child (`worker.py`) is started on the first invocation (the cold start: its Init Duration includes the
interpreter's start-up, as Lambda's includes the runtime's) and serves later invocations warm. The runner
enforces Timeout by killing it at the deadline and MemorySize by watching its resident memory, so an infinite
loop in C code or a memory leak ends the way it ends in Lambda. The child's output is copied to the log while
the runner waits for its reply (`Output`).
"""

from __future__ import annotations

import codecs
import contextlib
import os
import select
import subprocess
import time
from collections.abc import Callable
from typing import TextIO

from ..config.template import FunctionConfig
from ..runtime.function import Request
from ..runtime.result import Invocation
from ..service.sandbox import EXITED
from .process import exit_reason, kill, peak_rss_mb, start_environment, supervise
from .worker import SYNC_PREFIX, SYNC_SUFFIX, receive, send

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


class Output:
    """The child's output pipe: copied to the log as it arrives, noting the sync markers that pass by.

    The runner copies it while it waits for the child's reply (one `select` on both pipes), so a function
    printing hundreds of thousands of lines never blocks on a full pipe. Between invocations nobody reads it:
    like a Lambda environment, the child is idle then (a background thread of the function that prints more
    than the pipe holds waits for the next invocation).
    """

    def __init__(self, fd: int, log: TextIO) -> None:
        os.set_blocking(fd, False)
        self.fd = fd
        self.log = log
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.pending = b""
        self.seen = 0  # the last sync marker copied past
        self.closed = False

    def _write(self, data: bytes, *, final: bool = False) -> None:
        text = self.decoder.decode(data, final=final)
        if text:
            self.log.write(text)
            self.log.flush()

    def copy(self) -> None:
        """Copy whatever the child has written so far, without blocking."""
        while not self.closed:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return
            if not chunk:
                self._write(self.pending, final=True)
                self.pending, self.closed = b"", True
                os.close(self.fd)
                return
            pending = self.pending + chunk
            while (start := pending.find(SYNC_PREFIX)) >= 0:
                end = pending.find(SYNC_SUFFIX, start + len(SYNC_PREFIX))
                if end < 0:
                    break
                self._write(pending[:start])
                self.seen = max(self.seen, int(pending[start + len(SYNC_PREFIX) : end]))
                pending = pending[end + len(SYNC_SUFFIX) :]
            keep = _partial_prefix_start(pending)
            self._write(pending[:keep])
            self.pending = pending[keep:]

    def copy_until(self, done: Callable[[], bool], limit_s: float) -> None:
        """Copy until `done()` (or the end of the output, or `limit_s` seconds)."""
        deadline = time.monotonic() + limit_s
        while not done() and not self.closed and (left := deadline - time.monotonic()) > 0:
            select.select([self.fd], [], [], left)
            self.copy()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self.fd)


class IsolatedSandbox:
    """Runs the function in a warm child process; see the module docstring."""

    def __init__(self, function: FunctionConfig, env_overrides: dict[str, str], log: TextIO) -> None:
        self.function = function
        self.env_overrides = env_overrides
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.output: Output | None = None
        self.command_fd = self.reply_fd = -1
        self.sequence = 0
        self.peak_mb = 0

    def _spawn(self) -> None:
        command_read, command_write = os.pipe()
        reply_read, reply_write = os.pipe()
        output_read, output_write = os.pipe()
        try:
            process = start_environment(
                self.function,
                self.env_overrides,
                module=f"{__package__}.worker",
                arguments=f"{command_read}, {reply_write}",
                pass_fds=(command_read, reply_write),
                output=output_write,
            )
        finally:
            for fd in (command_read, reply_write, output_write):
                os.close(fd)
        self.process, self.command_fd, self.reply_fd = process, command_write, reply_read
        self.output = Output(output_read, self.log)

    def init(self, limit_s: float) -> Invocation:
        start = time.perf_counter()
        self._spawn()
        step = self._exchange({"op": "init", "warnings": self.function.warning_filters}, b"", limit_s, start)
        step.duration_ms = (time.perf_counter() - start) * 1000  # process start-up is part of INIT
        return step

    def run(self, event: bytes, request: Request, timeout_s: float) -> Invocation:
        return self._exchange({"op": "invoke", "request": request.as_dict()}, event, timeout_s, time.perf_counter())

    def _reply_ready(self, wait_s: float) -> bool:
        """Wait up to `wait_s` for the reply, copying output meanwhile; whether the reply is there."""
        output = self.output
        assert output is not None
        deadline = time.monotonic() + wait_s
        while True:
            watched = [self.reply_fd] if output.closed else [self.reply_fd, output.fd]
            ready = select.select(watched, [], [], max(0.0, deadline - time.monotonic()))[0]
            if output.fd in ready:
                output.copy()
            if self.reply_fd in ready:
                return True
            if not ready or time.monotonic() >= deadline:
                break
        if self.process is not None:  # remember the peak, for the REPORT of a call that ends in a kill
            self.peak_mb = max(self.peak_mb, peak_rss_mb(self.process.pid) or 0)
        return False

    def _exchange(self, header: dict[str, object], body: bytes, limit_s: float, start: float) -> Invocation:
        process, output = self.process, self.output
        if process is None or output is None:
            raise RuntimeError("run() before init()")
        self.sequence += 1
        with contextlib.suppress(BrokenPipeError):  # a dead child shows as the end of its reply pipe below
            send(self.command_fd, {**header, "seq": self.sequence}, body)
        ended = supervise(process, timeout_s=limit_s, memory_mb=self.function.memory_size, until=self._reply_ready)
        reply = None if ended else receive(self.reply_fd)
        elapsed = (time.perf_counter() - start) * 1000
        if reply is None:
            process.wait()
            output.copy_until(lambda: False, _SYNC_WAIT_S)  # its last words, up to the end of the pipe
            reason = exit_reason(process.returncode)
            return Invocation(
                None, None, elapsed, ended=ended or EXITED, exit_reason=reason, max_memory_mb=self.peak_mb
            )
        sequence = self.sequence
        output.copy_until(lambda: output.seen >= sequence, _SYNC_WAIT_S)  # everything it printed before replying
        head, payload = reply
        self.peak_mb = max(self.peak_mb, head["memory_mb"] or 0)
        return Invocation(
            payload if head["has_response"] else None,
            head["error"],
            head["duration_ms"],
            max_memory_mb=self.peak_mb,
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
        if self.output is not None:
            self.output.copy_until(lambda: False, _SYNC_WAIT_S)
            self.output.close()
            self.output = None
