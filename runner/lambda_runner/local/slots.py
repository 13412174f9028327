"""The table start-api's supervisor and its environments share: what each environment is running, and until when.

Lambda enforces a function's limits from outside its process. start-api does the same: each environment (a
child process, `api_worker.py`) writes into its slot of this table, before its INIT phase and before each
invocation, the deadline and the ids the platform lines need, and clears the slot when it is done; the
supervisor (`api.py`) reads the slots every few milliseconds and kills an environment past its deadline.
A table in shared memory costs the environment two small writes per request and wakes nobody, where a message
per request would wake the supervisor twice per request.

Byte 0 of the table says that connections are waiting for a free environment: an environment then hands its
keep-alive connection back after the current request instead of waiting for that client's next one.

The phase byte is written last when a slot is filled and first when it is cleared, so a reader that sees a
phase sees the fields of that phase (a reader racing a clearing writer may see a finished invocation as running
for one more check, which matters only at the exact deadline).
"""

from __future__ import annotations

import math
import mmap
import struct
import time
from typing import NamedTuple

IDLE, INIT, INVOKE = 0, 1, 2  # the phase an environment is in
_HEADER_SIZE = 8
# phase, REST route, peak memory (MB) when the phase began, limit (s), deadline (monotonic s), init duration (ms, NaN:
# warm), request start (monotonic s), request id, trace header, request line ("GET /path")
_SLOT = struct.Struct("<BB2xIdddd36s96s200s")


class SlotState(NamedTuple):
    """What an environment was running when the supervisor looked."""

    phase: int
    rest: bool  # the request came through a REST API (its 502 body differs)
    memory_mb: int  # the environment's peak memory when the phase began (for a crash too fast to be sampled)
    limit_s: float
    deadline: float  # time.monotonic() (the same clock in every process of the machine)
    init_ms: float | None  # the INIT phase before this invocation (a cold start), None when warm
    started: float  # when the HTTP request began, time.monotonic()
    request_id: str
    trace_id: str
    request_line: str


def table_size(slots: int) -> int:
    return _HEADER_SIZE + slots * _SLOT.size


def _text(raw: bytes) -> str:
    return raw.rstrip(b"\0").decode("utf-8", "replace")


def read_slot(table: mmap.mmap, index: int) -> SlotState | None:
    """The slot of environment `index`, or None when it runs nothing."""
    offset = _HEADER_SIZE + index * _SLOT.size
    if table[offset] == IDLE:
        return None
    phase, rest, memory_mb, limit_s, deadline, init_ms, started, request_id, trace_id, line = _SLOT.unpack_from(
        table, offset
    )
    return SlotState(
        phase,
        bool(rest),
        memory_mb,
        limit_s,
        deadline,
        None if math.isnan(init_ms) else init_ms,
        started,
        _text(request_id),
        _text(trace_id),
        _text(line),
    )


def clear_slot(table: mmap.mmap, index: int) -> None:
    table[_HEADER_SIZE + index * _SLOT.size] = IDLE


def set_waiting(table: mmap.mmap, waiting: bool) -> None:
    table[0] = int(waiting)


def is_waiting(table: mmap.mmap) -> bool:
    return table[0] != 0


class SlotWriter:
    """An environment's side of its slot: the request it serves, then each phase it enters and leaves."""

    def __init__(self, table: mmap.mmap, index: int) -> None:
        self.table = table
        self.offset = _HEADER_SIZE + index * _SLOT.size
        self.rest = False
        self.started = 0.0
        self.request_id = ""
        self.request_line = ""

    def request(self, request_line: str, *, rest: bool, request_id: str) -> None:
        """The HTTP request being served, and the request id its invocation will have."""
        self.request_line, self.rest, self.request_id = request_line, rest, request_id
        self.started = time.monotonic()

    def enter(
        self, phase: int, limit_s: float, *, memory_mb: int, trace_id: str = "", init_ms: float | None = None
    ) -> None:
        _SLOT.pack_into(
            self.table,
            self.offset,
            IDLE,
            self.rest,
            memory_mb,
            limit_s,
            time.monotonic() + limit_s,
            math.nan if init_ms is None else init_ms,
            self.started,
            self.request_id.encode()[:36],
            trace_id.encode()[:96],
            self.request_line.encode("utf-8", "replace")[:200],
        )
        self.table[self.offset] = phase

    def leave(self) -> None:
        self.table[self.offset] = IDLE
