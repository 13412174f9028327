"""The function's side of logging: the root logger and error lines, as the Lambda Python runtime sets them up.

In Lambda, `logging.getLogger().info(...)` prints `[INFO]\\t<UTC time>\\t<request id>\\tmessage`, or a JSON object
when the function's LoggingConfig says `LogFormat: JSON`; the level is only set when Lambda passes one
(`AWS_LAMBDA_LOG_LEVEL`, JSON format only), so in text format the root logger keeps Python's WARNING default.
Unhandled errors are logged as `[ERROR] Type: message` with the traceback, its indentation turned into no-break
spaces so that CloudWatch keeps it. Reproducing this keeps local output the same as in CloudWatch.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Iterable
from itertools import islice
from typing import Any

from .serialize import escapes_non_ascii, to_json

TEXT_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
TEXT_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
JSON_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
NO_BREAK_SPACE = "\u00a0"
UNHANDLED_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. However, in rare "
    "cases, a Lambda runtime update can cause unexpected function behavior. For functions using managed runtimes, "
    "runtime updates can be triggered by a function change, or can be applied automatically. To determine if the "
    "runtime has been updated, check the runtime version in the INIT_START log entry. If this error correlates with "
    "a change in the runtime version, you may be able to mitigate this error by temporarily rolling back to the "
    "previous runtime version. For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html"
    "\r"  # the runtime's own text ends so: a JSON log record shows it
)
# The attributes a LogRecord sets itself, first and in this order; what `extra` adds comes after them.
_RECORD_ATTRIBUTES = tuple(vars(logging.LogRecord("", 0, "", 0, "", None, None)))
# Attribute names that never become fields of a JSON record: the record's own, what formatting and the runtime
# add to it, and the names of the fields that are always written (when not None).
_NOT_EXTRA = frozenset(_RECORD_ATTRIBUTES) | {
    "message",
    "asctime",
    "aws_request_id",
    "tenant_id",
    "timestamp",
    "level",
    "logger",
    "requestId",
}


# json.dumps(fields, ensure_ascii=False, default=str), made once rather than on every log record.
_JSON_LOG_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)


class _Invocation:
    """The request being handled, read by every log record (the runtime keeps it in a global too)."""

    request_id = ""
    tenant_id: str | None = None


current = _Invocation()


def json_format_enabled() -> bool:
    return os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"


def _level_from_environment() -> str | None:
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    level = {"TRACE": "DEBUG"}.get(level, level)
    return level if isinstance(logging.getLevelName(level), int) else None


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with the fields and names Lambda's JSON log format uses."""

    def __init__(self) -> None:
        super().__init__(datefmt=JSON_DATE_FORMAT)
        self._last_time: tuple[Any, ...] = ()
        self._last_text = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """The record's time; the text is made once per second (the format has no fractions of a second)."""
        key = (int(record.created), self.converter, datefmt)
        if key != self._last_time:
            self._last_time, self._last_text = key, super().formatTime(record, datefmt)
        return self._last_text

    def format(self, record: logging.LogRecord) -> str:
        levelno = min(50, max(0, record.levelno)) // 10 * 10
        message = record.msg if isinstance(record.msg, dict) and not record.args else record.getMessage()
        exc_info = record.exc_info
        attributes = record.__dict__
        fields: dict[str, Any] = {
            "timestamp": self.formatTime(record, self.datefmt),
            "level": logging.getLevelName(levelno),
            "message": message,
        }
        if record.name is not None:
            fields["logger"] = record.name
        if exc_info and exc_info[0] is not None:
            fields["stackTrace"] = traceback.format_tb(exc_info[2])
            fields["errorType"] = exc_info[0].__name__
            fields["errorMessage"] = str(exc_info[1])
        request_id = attributes.get("aws_request_id")
        if request_id is not None:  # "" during INIT, as the runtime writes it
            fields["requestId"] = request_id
        if exc_info:
            fields["location"] = f"{record.pathname}:{record.funcName}:{record.lineno}"
        if attributes.get("tenant_id") is not None:
            fields["tenantId"] = attributes["tenant_id"]
        # Then the `extra` fields, in the order they were given, leaving out None values as for every field. A
        # LogRecord sets its own attributes first, so what `extra`, a filter or a record factory adds comes after.
        tail: Iterable[tuple[str, Any]] = attributes.items()
        if type(record) is logging.LogRecord:
            tail = islice(tail, len(_RECORD_ATTRIBUTES), None)
        for key, value in tail:
            if value is not None and key not in fields and key not in _NOT_EXTRA:
                fields[key] = value
        return _JSON_LOG_ENCODER.encode(fields) + "\n"


class LambdaLogHandler(logging.Handler):
    """Writes formatted records to the function's stdout, the runtime's log sink, as it is at that moment."""

    def emit(self, record: logging.LogRecord) -> None:
        record.aws_request_id = current.request_id
        record.tenant_id = current.tenant_id
        try:
            text = (self.formatter or logging.Formatter()).format(record)
            if not text.endswith("\n"):  # a traceback appended by logging.Formatter has no newline
                text += "\n"
            self.write_raw(text)
        except Exception:
            self.handleError(record)

    def write_raw(self, text: str) -> None:
        sys.stdout.write(text)


def install() -> LambdaLogHandler:
    """Give the root logger Lambda's handler, format (text or JSON, in UTC) and level; return the handler.

    A new environment handles no request yet: its INIT logs carry no request id, even when an earlier environment
    ran in this process (in-process mode, after a crash or a code change).
    """
    current.request_id, current.tenant_id = "", None
    logging.Formatter.converter = time.gmtime
    handler = LambdaLogHandler()
    if json_format_enabled():
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT, TEXT_DATE_FORMAT))
    root = logging.getLogger()
    level = _level_from_environment()
    if level is not None:
        root.setLevel(level)
    root.addHandler(handler)
    return handler


def uninstall(handler: LambdaLogHandler) -> None:
    """Remove the handler again (the in-process runner restores the logging it found)."""
    logging.getLogger().removeHandler(handler)


def format_error(error: dict[str, Any]) -> str:
    """The log entry of an unhandled error: `[ERROR] Type: message` and the traceback, or a JSON object."""
    if json_format_enabled():
        stamp = time.strftime(JSON_DATE_FORMAT, time.gmtime())
        # Encoded like a response (awslambdaric's to_json): non-ASCII text is escaped before python3.12.
        return to_json({"timestamp": stamp, "level": "ERROR", **error}, ascii_only=escapes_non_ascii()) + "\n"
    head = "[ERROR]"
    if error.get("errorType"):
        head += " " + error["errorType"]
    if error.get("errorMessage"):
        head += (":" if error.get("errorType") else "") + " " + error["errorMessage"]
    lines = [head]
    stack = error.get("stackTrace")
    if stack is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack:
            for line in element.splitlines() or [""]:
                stripped = line.lstrip(" ")
                lines.append(NO_BREAK_SPACE * (len(line) - len(stripped)) + stripped)
    return "\n".join(lines) + "\n"


def log_unhandled_error(error: dict[str, Any], *, during_init: bool) -> None:
    """Log an unhandled error as the runtime does; an init failure is preceded by the LAMBDA_WARNING line."""
    if during_init:
        logging.getLogger().warning(UNHANDLED_WARNING)
    sys.stdout.write(format_error(error))
