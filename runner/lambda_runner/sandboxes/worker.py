"""The isolated mode's child process, and the small protocol it speaks with the runner over two pipes.

The child is the function's execution environment: it is started with the Lambda environment variables and
the code directory as working directory, runs `FunctionRuntime` on each command, and stays warm between
invocations until the runner closes the command pipe or kills it (timeout, memory). Its stdout and stderr are
one pipe that the runner drains; after each reply the child writes a sync marker there, so that the runner
can print END/REPORT after the function's last line and never before it.

Messages in both directions are `>II` (header length, body length), a JSON header, then the raw body (the
event, or the response payload, byte for byte).
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import sys
from pathlib import Path
from typing import Any, NoReturn

_FRAME = struct.Struct(">II")
SYNC_PREFIX = b"\x00\x1eslsgen-sync:"
SYNC_SUFFIX = b"\x1e\x00"


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def send(fd: int, header: dict[str, Any], body: bytes = b"") -> None:
    """Write one message: the frame sizes, the JSON header and the body."""
    encoded = json.dumps(header).encode("utf-8")
    write_all(fd, _FRAME.pack(len(encoded), len(body)) + encoded + body)  # one write: one wake-up of the reader


def receive(fd: int) -> tuple[dict[str, Any], bytes] | None:
    """Read one message; None when the other side has closed the pipe (or died)."""
    sizes = _read_exact(fd, _FRAME.size)
    if sizes is None:
        return None
    header_size, body_size = _FRAME.unpack(sizes)
    header = _read_exact(fd, header_size)
    body = _read_exact(fd, body_size) if body_size else b""
    if header is None or body is None:
        return None
    return json.loads(header), body


def sync_marker(sequence: int) -> bytes:
    return SYNC_PREFIX + str(sequence).encode("ascii") + SYNC_SUFFIX


def _mark_output(sequence: int) -> None:
    """Flush the function's output and write the marker after it, on the merged stdout/stderr pipe."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    # If the function closed its stdout there is no marker, and the runner stops waiting after a short while.
    with contextlib.suppress(OSError):
        write_all(1, sync_marker(sequence))


def die_of(exc: BaseException) -> NoReturn:
    """End the process as an uncaught `exc` ends Python: its traceback, then SIGINT or exit status 1."""
    import signal

    from ..runtime.function import uncaught_traceback

    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(uncaught_traceback(exc))
        sys.stderr.flush()
    if isinstance(exc, KeyboardInterrupt) and hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(1)


def _die_with_the_runner() -> None:
    """On Linux, be killed when the runner dies, even by SIGKILL (elsewhere, an idle worker sees its pipe end).

    Without it a function stuck in a loop would outlive a killed runner (or start-api server).
    """
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)


def main(command_fd: int, reply_fd: int) -> None:
    """Serve `init` and `invoke` commands until the command pipe closes.

    SystemExit from the function ends the process with its status, as in Lambda; any other BaseException
    (a KeyboardInterrupt the handler raises) ends it as an uncaught exception ends Python.
    """
    _die_with_the_runner()
    try:
        _serve(command_fd, reply_fd)
    except SystemExit:
        raise
    except BaseException as exc:  # the function's own: the runtime dies of it
        die_of(exc)


def _serve(command_fd: int, reply_fd: int) -> None:
    from ..runtime.function import FunctionRuntime, Request, Unbuffered, lambda_sys_path
    from .process import peak_rss_mb

    sys.stdout = Unbuffered(sys.stdout)
    sys.stderr = Unbuffered(sys.stderr)
    sys.path[:] = lambda_sys_path(Path(os.environ["LAMBDA_TASK_ROOT"]), sys.path)
    runtime: FunctionRuntime | None = None
    while (message := receive(command_fd)) is not None:
        header, body = message
        if header["op"] == "init":
            runtime = FunctionRuntime(os.environ["_HANDLER"], tuple(header.get("warnings", ())))
            outcome = runtime.init()
        else:
            assert runtime is not None
            outcome = runtime.invoke(body, Request(**header["request"]))
        _mark_output(header["seq"])
        reply = {
            "error": outcome.error,
            "duration_ms": outcome.duration_ms,
            "has_response": outcome.payload is not None,
            "memory_mb": peak_rss_mb(),
        }
        send(reply_fd, reply, outcome.payload or b"")
