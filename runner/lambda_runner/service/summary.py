"""The summary after many invocations in one environment (`--repeat`, `--events`): the numbers to tune with.

Percentiles matter more than averages for a Lambda function: p95 decides the Timeout to set, the peak memory
decides MemorySize, and the total cost shows what warm starts save over cold ones.

A run may be `--repeat 1000000`, so the summary keeps running totals, never the invocations: memory stays flat
whatever the length of the run (tests/runner/test_soak.py measures it). Durations are kept exactly for the first
`EXACT_DURATIONS`, so a short run's percentiles are exact; past that they are counted in buckets `BUCKET_RATIO`
wide, a few thousand at most, and a percentile is its bucket's upper edge: never more than 0.5 % above the exact one.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence

from ..config.template import FunctionConfig
from ..runtime.result import Invocation
from .pricing import MONTHLY_PROJECTION

EXACT_DURATIONS = 1_000
BUCKET_RATIO = 1.005  # each bucket's upper edge is 0.5 % above its lower one
SMALLEST_MS = 0.001  # shorter durations share the first bucket: no bucket count grows with ever smaller values


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `fraction` of the values at or below it."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _bucket(duration_ms: float) -> int:
    return math.ceil(math.log(max(duration_ms, SMALLEST_MS) / SMALLEST_MS, BUCKET_RATIO))


class Durations:
    """Durations for percentiles in bounded memory: exact up to `EXACT_DURATIONS`, then a histogram."""

    __slots__ = ("count", "exact", "histogram", "maximum")

    def __init__(self) -> None:
        self.count = 0
        self.maximum = 0.0
        self.exact: array[float] | None = array("d")
        self.histogram: dict[int, int] = {}

    def add(self, duration_ms: float) -> None:
        self.count += 1
        self.maximum = max(self.maximum, duration_ms)
        if self.exact is not None:
            self.exact.append(duration_ms)
            if len(self.exact) <= EXACT_DURATIONS:
                return
            pending, self.exact = self.exact, None  # from here on, only the histogram
            for value in pending:
                self._count(value)
            return
        self._count(duration_ms)

    def _count(self, duration_ms: float) -> None:
        index = _bucket(duration_ms)
        self.histogram[index] = self.histogram.get(index, 0) + 1

    def percentile(self, fraction: float) -> float:
        """Nearest rank; past the exact ones, the upper edge of the rank's bucket (never above the maximum)."""
        if self.exact is not None:
            return percentile(self.exact, fraction)
        rank = max(1, math.ceil(fraction * self.count))
        seen = 0
        for index in sorted(self.histogram):
            seen += self.histogram[index]
            if seen >= rank:
                return min(SMALLEST_MS * BUCKET_RATIO**index, self.maximum)
        return self.maximum


class Totals:
    """The running figures of a run of invocations of `function`: what `summary_lines` prints."""

    __slots__ = ("cold", "cost", "durations", "errors", "function", "invocations", "peak_memory_mb")

    def __init__(self, function: FunctionConfig) -> None:
        self.function = function
        self.invocations = self.errors = self.cold = self.peak_memory_mb = 0
        self.cost = 0.0
        self.durations = Durations()

    def add(self, invocation: Invocation) -> None:
        self.invocations += 1
        self.errors += not invocation.ok
        self.cold += invocation.init_ms is not None
        self.peak_memory_mb = max(self.peak_memory_mb, invocation.max_memory_mb)
        self.cost += invocation.cost_usd
        self.durations.add(invocation.duration_ms)

    @property
    def ok(self) -> bool:
        return self.errors == 0


def summary_lines(totals: Totals) -> list[str]:
    """Count, errors, cold starts, duration percentiles, peak memory and cost of a run of invocations."""
    durations, memory_size = totals.durations, totals.function.memory_size
    average = totals.cost / totals.invocations if totals.invocations else 0.0
    return [
        f"SUMMARY Invocations: {totals.invocations}\tErrors: {totals.errors}\tCold Starts: {totals.cold}",
        f"SUMMARY Duration p50: {durations.percentile(0.5):.2f} ms\tp95: {durations.percentile(0.95):.2f} ms"
        f"\tmax: {durations.maximum:.2f} ms\tPeak Memory Used: {totals.peak_memory_mb} MB of {memory_size} MB",
        f"SUMMARY Total Cost: ${totals.cost:.10f}\t${average * MONTHLY_PROJECTION:,.2f} for 1M invocations a month"
        " at this mix, before the free tier",
    ]
