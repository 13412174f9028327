"""The summary after many invocations in one environment (`--repeat`, `--events`): the numbers to tune with.

Percentiles matter more than averages for a Lambda function: p95 decides the Timeout to set, the peak memory
decides MemorySize, and the total cost shows what warm starts save over cold ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..config.template import FunctionConfig
from .invoke import Invocation
from .pricing import MONTHLY_PROJECTION, invocation_cost


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `fraction` of the values at or below it."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summary_lines(invocations: Sequence[Invocation], function: FunctionConfig) -> list[str]:
    """Count, errors, cold starts, duration percentiles, peak memory and cost of a run of invocations."""
    durations = [invocation.duration_ms for invocation in invocations]
    errors = sum(not invocation.ok for invocation in invocations)
    cold = sum(invocation.init_ms is not None for invocation in invocations)
    total = sum(
        invocation_cost(function.memory_size, invocation.billed_ms, function.architecture, function.ephemeral_storage)
        for invocation in invocations
    )
    peak = max((invocation.max_memory_mb for invocation in invocations), default=0)
    average = total / len(invocations) if invocations else 0.0
    return [
        f"SUMMARY Invocations: {len(invocations)}\tErrors: {errors}\tCold Starts: {cold}",
        f"SUMMARY Duration p50: {percentile(durations, 0.5):.2f} ms\tp95: {percentile(durations, 0.95):.2f} ms"
        f"\tmax: {max(durations, default=0.0):.2f} ms\tPeak Memory Used: {peak} MB of {function.memory_size} MB",
        f"SUMMARY Total Cost: ${total:.10f}\t${average * MONTHLY_PROJECTION:,.2f} for 1M invocations a month"
        " at this mix, before the free tier",
    ]
