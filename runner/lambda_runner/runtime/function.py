"""The runtime's work inside the function's process: one init, then one call per event.

This is the part of awslambdaric's bootstrap that touches the user's code: set up logging, import the
handler (the INIT phase), then for each request build the context, decode the event, call the handler, encode
the result, and log an unhandled error. Both the in-process mode and the isolated worker run it, so the two
cannot report a failure differently. Limits (timeout, memory, payload size) are the platform's business and
live with the invokers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from . import logs
from .context import LambdaContext
from .handler import HandlerFault, error_from_exception, resolve_handler
from .result import Invocation
from .serialize import escapes_non_ascii, marshal_response, unmarshal_request


class Request:
    """What the platform hands the runtime with each event (the Runtime API's invocation headers).

    A plain class, not a dataclass: see `runtime.result`. `as_dict()` is what the isolated worker
    receives.
    """

    __slots__ = (
        "client_context",
        "deadline_ms",
        "identity",
        "invoked_function_arn",
        "request_id",
        "tenant_id",
        "trace_id",
    )

    def __init__(
        self,
        request_id: str,
        deadline_ms: int,
        invoked_function_arn: str,
        trace_id: str | None = None,
        client_context: dict[str, Any] | None = None,
        identity: dict[str, Any] | None = None,
        tenant_id: str | None = None,
    ) -> None:
        self.request_id = request_id
        self.deadline_ms = deadline_ms
        self.invoked_function_arn = invoked_function_arn
        self.trace_id = trace_id
        self.client_context = client_context
        self.identity = identity
        self.tenant_id = tenant_id

    def as_dict(self) -> dict[str, Any]:
        """The fields by name: `Request(**request.as_dict())` is an equal request."""
        return {name: getattr(self, name) for name in self.__slots__}


# The directory the runner package is imported from (site-packages, when installed), for its child processes.
RUNNER_IMPORT_ROOT = Path(__file__).resolve().parents[(__package__ or "").count(".") + 1]


def lambda_sys_path(code_dir: Path, current: list[str]) -> list[str]:
    """The import path of the function: its code directory first, then the interpreter's own entries.

    The folder the runner was started from (the project, for `python -m lambda_runner`) is dropped unless it is
    the code directory: in Lambda only the function's package is in /var/task, and code that imports a project
    file left out of CodeUri must fail locally too instead of failing only after deployment.
    """
    started = str(Path.cwd().resolve())
    kept = [entry for entry in current if entry not in ("", ".") and str(Path(entry).resolve()) != started]
    return [str(code_dir), *(entry for entry in kept if entry != str(code_dir))]


class Unbuffered:
    """A stream wrapper that flushes after every write: Lambda's stdout and stderr are unbuffered."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        written = self.stream.write(text)
        self.stream.flush()
        return written

    def writelines(self, lines: list[str]) -> None:
        self.stream.writelines(lines)
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def uncaught_traceback(exc: BaseException) -> str:
    """What Python prints for an uncaught `exc` that ends the runtime, from the function's frames on.

    The runner's own frames are left out, so that the traceback reads as the real runtime's does, in any mode.
    """
    import traceback

    runner = str(Path(__file__).resolve().parent.parent)  # the whole runner package
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not str(Path(frame.filename).resolve()).startswith(runner) and frame.filename != "<string>"
    ]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames)]
    return "".join(lines + traceback.format_exception_only(type(exc), exc))


def set_trace_id(trace_id: str | None) -> None:
    """`_X_AMZN_TRACE_ID` for one invocation, in `os.environ`, where the X-Ray SDK and Powertools read it.

    Only Python's mapping is updated, not the C environment: glibc's setenv never frees the value it replaces,
    and a new trace id per invocation grew a warm environment by about 130 bytes an invocation (1.3 MB per
    10,000, measured; tests/runner/test_soak.py bounds it). The cost: a process the function starts without
    `env=os.environ` does not inherit the id.
    """
    environ: Any = os.environ  # os._Environ: `_data` holds the encoded values `os.environ` reads
    key = environ.encodekey("_X_AMZN_TRACE_ID")
    if trace_id is None:
        environ._data.pop(key, None)
    else:
        environ._data[key] = environ.encodevalue(trace_id)


def ignore_warnings(filters: tuple[str, ...]) -> None:
    """The project's `ignore` warning filters (pytest's `filterwarnings` form, `ignore:message:Category:module`,
    message and module as regular expressions), so that `invoke` is as quiet as the project's tests about the
    warnings they chose to ignore (a dependency's SyntaxWarnings while it is compiled). Others stay as they are."""
    import builtins
    import warnings

    for entry in filters:
        action, message, category, module, *_ = [*entry.split(":"), "", "", "", ""]
        kind = getattr(builtins, category.strip(), None) if category.strip() else Warning
        if action.strip() == "ignore" and isinstance(kind, type) and issubclass(kind, Warning):
            warnings.filterwarnings("ignore", message=message.strip(), category=kind, module=module.strip())


def _elapsed_ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


class FunctionRuntime:
    """One execution environment's runtime: `init()` once, then `invoke()` per request."""

    def __init__(self, handler_name: str, warning_filters: tuple[str, ...] = ()) -> None:
        self.handler_name = handler_name
        self.warning_filters = warning_filters
        self.handler: Callable[..., Any] | None = None
        self._log_handler: logs.LambdaLogHandler | None = None
        self._ascii_only = True  # how responses are encoded: set at init, from the runtime version

    def init(self) -> Invocation:
        """Set up logging and import the handler; a failure is logged and returned as the error JSON."""
        start = time.perf_counter()
        self._log_handler = logs.install()
        self._ascii_only = escapes_non_ascii()
        ignore_warnings(self.warning_filters)
        error = None
        try:
            self.handler = resolve_handler(self.handler_name)
        except HandlerFault as fault:
            error = fault.to_error()
        except Exception as exc:
            error = error_from_exception(exc)
        if error is not None:
            logs.log_unhandled_error(error, during_init=True)
        return Invocation(None, error, _elapsed_ms(start))

    def invoke(self, event: bytes, request: Request) -> Invocation:
        """Handle one event. SystemExit and other BaseExceptions propagate: they end the runtime, as in Lambda."""
        if self.handler is None:
            raise RuntimeError("invoke() before a successful init()")
        logs.current.request_id = request.request_id
        logs.current.tenant_id = request.tenant_id
        set_trace_id(request.trace_id)
        start = time.perf_counter()
        response = error = None
        try:
            context = LambdaContext(
                request.request_id,
                request.deadline_ms,
                request.invoked_function_arn,
                client_context=request.client_context,
                identity=request.identity,
                tenant_id=request.tenant_id,
            )
            result = self.handler(unmarshal_request(event), context)
            response = marshal_response(result, ascii_only=self._ascii_only)
        except HandlerFault as fault:
            error = fault.to_error(request.request_id)
        except Exception as exc:
            error = error_from_exception(exc, request.request_id)
        duration = _elapsed_ms(start)
        if error is not None:
            logs.log_unhandled_error(error, during_init=False)
        return Invocation(response, error, duration)

    def shutdown(self) -> None:
        """Take the runtime's logging back out (the in-process mode leaves the runner's process as it found it)."""
        if self._log_handler is not None:
            logs.uninstall(self._log_handler)
            self._log_handler = None
        self.handler = None
