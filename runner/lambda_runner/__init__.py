"""slsgen's local Lambda runner: runs a function described by a SAM template.yaml as Lambda would, without Docker.

This package has one source (slsgen's `runner/lambda_runner/`) and is copied verbatim into every generated project
as `lambda_runner/`, where `python -m lambda_runner` runs it with the project's own interpreter. It therefore
imports only the standard library, PyYAML, and (lazily, for the modes that need them) moto and awslambdaric,
and only relative imports between its own modules.

The public API is what this module exports (`invoke`, `build_event`, `read_function`, `LambdaContext`,
`InvokeResult`, `FunctionConfig`, `RunnerError`) and the pytest plugin `pytest_plugin`; everything else is
private and may change. The names are loaded on first use, not on import: every process of the runner (the CLI,
the isolated worker) imports this package first, and a cold `invoke` must not pay for what it does not use.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing`'s: slsgen reads `facts` before it hands a command over, and `typing` is slow

__version__ = "1.1.0"

if TYPE_CHECKING:
    from typing import Any

    from .public import (
        FunctionConfig,
        InvokeResult,
        LambdaContext,
        RunnerError,
        build_event,
        invoke,
        read_function,
    )

__all__ = ["FunctionConfig", "InvokeResult", "LambdaContext", "RunnerError", "build_event", "invoke", "read_function"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import public

        return getattr(public, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
