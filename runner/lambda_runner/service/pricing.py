"""What an invocation costs at Lambda's on-demand prices, so that a slow or oversized function shows in money.

Prices are for us-east-1, from https://aws.amazon.com/lambda/pricing/ and the AWS Compute Blog "Introducing
tiered pricing for AWS Lambda", as recorded in slsgen's Lambda reference notes (section 5.8, read in 2026).
Duration is billed per GB-second on the billed duration (rounded up to 1 ms, INIT included on a cold start);
the first duration tier covers 6 billion GB-s a month (x86) or 7.5 billion (arm64), far beyond what one
function's projection here reaches, so only the first tier is used. The free tier (1M requests and 400,000
GB-s a month, per account) is not deducted: it is shared by all of an account's functions.
"""

from __future__ import annotations

PRICES_SOURCE = "https://aws.amazon.com/lambda/pricing/ (us-east-1, read 2026)"
REQUEST_PRICE = 0.20 / 1_000_000  # USD per request, both architectures
GB_SECOND_PRICE = {"x86_64": 0.0000166667, "arm64": 0.0000133334}  # USD, first tier
# Ephemeral storage above the included 512 MB, per GB-second (listed on the pricing page; not re-verified).
EPHEMERAL_GB_SECOND_PRICE = 0.0000000309
INCLUDED_EPHEMERAL_MB = 512
MONTHLY_PROJECTION = 1_000_000


def invocation_cost(memory_mb: int, billed_ms: int, architecture: str = "x86_64", ephemeral_mb: int = 512) -> float:
    """USD for one invocation: the request, plus memory x billed time, plus ephemeral storage above 512 MB."""
    seconds = billed_ms / 1000
    rate = GB_SECOND_PRICE.get(architecture, GB_SECOND_PRICE["x86_64"])
    extra_storage_gb = max(0, ephemeral_mb - INCLUDED_EPHEMERAL_MB) / 1024
    return REQUEST_PRICE + memory_mb / 1024 * seconds * rate + extra_storage_gb * seconds * EPHEMERAL_GB_SECOND_PRICE


def cost_line(memory_mb: int, billed_ms: int, architecture: str = "x86_64", ephemeral_mb: int = 512) -> str:
    """`COST $0.000000442 (...) | $0.44 for 1M such invocations a month`: printed after each REPORT."""
    cost = invocation_cost(memory_mb, billed_ms, architecture, ephemeral_mb)
    return (
        f"COST ${cost:.10f} ({billed_ms} ms billed x {memory_mb} MB {architecture} + request)"
        f"\t${cost * MONTHLY_PROJECTION:,.2f} for 1M such invocations a month, before the free tier"
    )
