"""Lambda's facts, written once: its Python runtimes and their deprecation, the function's limits, the
environment names it reserves. The runner's `validate` checks a template against them; slsgen's options and
their help texts are derived from them.

Sources: Lambda's quotas page and runtime deprecation policy, as shipped in cfn-lint's runtime lifecycle data
(`LmbdRuntimeLifecycle.json`). A date AWS moves is changed here, and nowhere else.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing`'s, which slsgen's hand-over to the runner would then import (bench/README.md)
if TYPE_CHECKING:  # imported where used: a cold `invoke` reads the defaults here and needs no dates
    import datetime

# Every Python runtime identifier Lambda has had: (deprecated, creation of new functions blocked), ISO dates.
PYTHON_RUNTIMES = {
    "python3.14": ("2029-06-30", "2029-07-31"),
    "python3.13": ("2029-06-30", "2029-07-31"),
    "python3.12": ("2028-10-31", "2028-11-30"),
    "python3.11": ("2026-06-30", "2026-07-31"),
    "python3.10": ("2026-06-30", "2026-07-31"),
    "python3.9": ("2025-12-15", "2026-06-01"),
    "python3.8": ("2024-10-14", "2026-06-01"),
    "python3.7": ("2023-12-04", "2024-01-09"),
}
ARCHITECTURES = ("arm64", "x86_64")
DEFAULT_ARCHITECTURE = "x86_64"  # Lambda's, when a template names none

# (lowest, highest) and Lambda's default when the template leaves it out.
MEMORY_MB = (128, 10_240)
DEFAULT_MEMORY_MB = 128
TIMEOUT_S = (1, 900)
DEFAULT_TIMEOUT_S = 3
EPHEMERAL_STORAGE_MB = (512, 10_240)
DEFAULT_EPHEMERAL_STORAGE_MB = 512
ENVIRONMENT_BYTES = 4_096  # all of a function's variables, keys and values together
# The Invoke API's payload limits, in bytes: a RequestResponse request, its response (the figure Lambda's
# Function.ResponseSizeTooLarge error names), and an Event request.
SYNC_PAYLOAD_BYTES = 6_291_456
RESPONSE_BYTES = 6_291_556
ASYNC_PAYLOAD_BYTES = 1_048_576
INIT_TIMEOUT_S = 10.0  # the INIT phase of an on-demand function

# Environment variable names: the pattern Lambda's API checks, and the names it sets itself.
ENV_NAME_PATTERN = r"[a-zA-Z]([a-zA-Z0-9_])+"
RESERVED_ENV_VARS = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)

LOG_FORMATS = ("JSON", "Text")
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")


def deprecation(runtime: str) -> tuple[datetime.date, datetime.date] | None:
    """When `runtime` is (or was) deprecated and when Lambda blocks new functions on it; None if not a Python one."""
    import datetime

    dates = PYTHON_RUNTIMES.get(runtime)
    if dates is None:
        return None
    deprecated, blocked = dates
    return datetime.date.fromisoformat(deprecated), datetime.date.fromisoformat(blocked)


def supported_runtimes(today: datetime.date | None = None) -> tuple[str, ...]:
    """The Python runtimes not yet deprecated on `today`, oldest first."""
    import datetime

    today = today or datetime.date.today()
    supported = [name for name in PYTHON_RUNTIMES if datetime.date.fromisoformat(PYTHON_RUNTIMES[name][0]) > today]
    return tuple(sorted(supported, key=lambda name: tuple(int(part) for part in name[6:].split("."))))
