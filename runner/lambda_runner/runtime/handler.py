"""Finding the handler function and describing failures, with the Lambda Python runtime's error types and words.

`Handler: app.lambda_handler` is resolved exactly as awslambdaric's bootstrap does (`rsplit(".", 1)`; the module
path may use dots or slashes; built-in module names are refused), and each failure gets the same `errorType`
and `errorMessage` as in Lambda, so that a test written against local output holds in the cloud. The error
JSON keeps Lambda's key order and its stack trace shows the user's frames only, not the runner's.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, cast

_RUNNER_DIR = str(Path(__file__).resolve().parents[1])  # the runner package, all its layers

MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
MARSHAL_ERROR = "Runtime.MarshalError"
UNMARSHAL_ERROR = "Runtime.UnmarshalError"


class HandlerFault(Exception):
    """A failure the runtime itself detects and names (`Runtime.*`), as opposed to an exception of the code."""

    def __init__(self, error_type: str, message: str, stack: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack = stack

    def to_error(self, request_id: str | None = None) -> dict[str, Any]:
        return make_error(self.message, self.error_type, self.stack, request_id)


def make_error(message: str, error_type: str, stack: list[str] | None, request_id: str | None = None) -> dict[str, Any]:
    """Lambda's error response: errorMessage, errorType, requestId, stackTrace, in that order."""
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id or "",
        "stackTrace": stack or [],
    }


def user_stack(tb: TracebackType | None) -> list[str]:
    """`traceback.format_list` of the frames after the runner's own, as Lambda drops its bootstrap frames."""
    # (filename, line number, function name, source line), the shape `traceback.format_list` takes.
    frames: list[tuple[str, int | None, str, str | None]] = [
        (frame.filename, frame.lineno, frame.name, frame.line) for frame in traceback.extract_tb(tb)
    ]
    start = 0
    while start < len(frames) and frames[start][0].startswith(_RUNNER_DIR):
        start += 1
    # Plain tuples, as the runtime passes them: without column positions there are no `^^^^` marker lines.
    # The stubs want an int line number; `format_list` builds `FrameSummary`s, which take None (printed as-is).
    return traceback.format_list(cast("list[tuple[str, int, str, str | None]]", frames[start:]))


def error_from_exception(exc: BaseException, request_id: str | None = None) -> dict[str, Any]:
    """The error JSON of an exception raised by the user's code."""
    return make_error(str(exc), type(exc).__name__, user_stack(exc.__traceback__), request_id)


def split_handler(handler: str) -> tuple[str, str]:
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as exc:
        raise HandlerFault(MALFORMED_HANDLER_NAME, f"Bad handler '{handler}': {exc}") from None
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise HandlerFault(BUILT_IN_MODULE_CONFLICT, f"Cannot use built-in module {module_name} as a handler module")
    return module_name, function_name


def syntax_fault(module_name: str, exc: SyntaxError) -> HandlerFault:
    return HandlerFault(
        USER_CODE_SYNTAX_ERROR,
        f"Syntax error in module '{module_name}': {exc}",
        [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}'],
    )


def _forget_listings() -> None:
    """What `importlib.invalidate_caches()` does for code: each path entry's finder forgets its folder listing.

    Not `invalidate_caches()` itself: from Python 3.12 on it also imports `importlib.metadata` (and `inspect`,
    `zipfile`...), a fifth of a cold `invoke` in a project's own venv (bench/README.md), for a cache of installed
    distributions that importing the handler's code never reads.
    """
    for finder in list(sys.path_importer_cache.values()):
        if finder is not None and hasattr(finder, "invalidate_caches"):
            finder.invalidate_caches()


def resolve_handler(handler: str) -> Callable[..., Any]:
    """Import the handler's module (the function's init phase) and return the handler function.

    Raises `HandlerFault` for the failures the runtime names; any other exception raised by the module's
    top-level code propagates, and is reported under its own class name, as in Lambda.
    """
    module_name, function_name = split_handler(handler)
    _forget_listings()  # the code may have changed since a previous (in-process) cold start
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise HandlerFault(IMPORT_MODULE_ERROR, f"Unable to import module '{module_name}': {exc}") from None
    except SyntaxError as exc:
        raise syntax_fault(module_name, exc) from None
    try:
        function: Callable[..., Any] = getattr(module, function_name)
    except AttributeError:
        raise HandlerFault(HANDLER_NOT_FOUND, f"Handler '{function_name}' missing on module '{module_name}'") from None
    return function
