"""Events in, results out: the payload encoding of the Lambda Python runtime.

The runtime decodes the event with a JSON parser, and encodes the handler's return value with simplejson:
`Decimal` goes out as a bare number (what DynamoDB's boto3 types need), NaN is allowed, non-ASCII text is kept
as is on python3.12 and later, `bytes` are returned untouched, and anything else that JSON cannot encode
fails the invocation with `Runtime.MarshalError`. The standard library's `json` is made to do the same here.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any

from .handler import MARSHAL_ERROR, UNMARSHAL_ERROR, HandlerFault

# Runtimes whose encoder keeps non-ASCII characters instead of escaping them.
_UNESCAPED_RUNTIMES = frozenset(f"AWS_Lambda_python3.{minor}" for minor in range(12, 20))


# A Decimal travels through json as a string marked with this random token, unquoted afterwards: json cannot
# write a raw number. One token per process is as unguessable as one per call, and lets the encoders be made once
# (json.dumps with arguments builds a new JSONEncoder on every call, a few microseconds of every invocation).
_TOKEN = os.urandom(16).hex()
_MARKED = re.compile(f'"{_TOKEN}(.*?){_TOKEN}"')


def _encode_decimal(obj: Any) -> Any:
    import decimal  # only here: most handlers never return a Decimal, and the import costs a cold start

    if isinstance(obj, decimal.Decimal):
        return math.nan if obj.is_nan() else f"{_TOKEN}{obj}{_TOKEN}"
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


_ENCODERS = {
    ascii_only: json.JSONEncoder(ensure_ascii=ascii_only, allow_nan=True, default=_encode_decimal)
    for ascii_only in (True, False)
}


def escapes_non_ascii() -> bool:
    """Whether the runtime of this environment (`AWS_EXECUTION_ENV`) writes non-ASCII text as `\\u` escapes.

    A property of the runtime version, so the runtime decides it once, at init, not on every response.
    """
    return os.environ.get("AWS_EXECUTION_ENV") not in _UNESCAPED_RUNTIMES


def to_json(value: Any, *, ascii_only: bool = True) -> str:
    """Encode `value` as the runtime does; raises TypeError/ValueError like any JSON encoder."""
    text = _ENCODERS[ascii_only].encode(value)
    if _TOKEN in text:
        text = _MARKED.sub(r"\1", text)
    return text


def marshal_response(value: Any, *, ascii_only: bool = True) -> bytes:
    """The response payload of a handler's return value, or `Runtime.MarshalError`."""
    if isinstance(value, bytes):
        return value
    try:
        return to_json(value, ascii_only=ascii_only).encode("utf-8")
    except Exception as exc:
        raise HandlerFault(MARSHAL_ERROR, f"Unable to marshal response: {exc}") from None


def unmarshal_request(payload: bytes) -> Any:
    """The event object of a request payload, or `Runtime.UnmarshalError`."""
    try:
        return json.loads(payload)
    except Exception as exc:
        raise HandlerFault(UNMARSHAL_ERROR, f"Unable to unmarshal input: {exc}") from None
