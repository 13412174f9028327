"""Events in, results out: the payload encoding of the Lambda Python runtime.

The runtime decodes the event with a JSON parser, and encodes the handler's return value with simplejson:
`Decimal` goes out as a bare number (what DynamoDB's boto3 types need), NaN is allowed, non-ASCII text is kept
as is on python3.12 and later, `bytes` are returned untouched, and anything else that JSON cannot encode
fails the invocation with `Runtime.MarshalError`. The standard library's `json` is made to do the same here.
"""

from __future__ import annotations

import decimal
import json
import math
import os
import re
import uuid
from typing import Any

from .handler import MARSHAL_ERROR, UNMARSHAL_ERROR, HandlerFault

# Runtimes whose encoder keeps non-ASCII characters instead of escaping them.
_UNESCAPED_RUNTIMES = frozenset(f"AWS_Lambda_python3.{minor}" for minor in range(12, 20))


def to_json(value: Any) -> str:
    """Encode `value` as the runtime does; raises TypeError/ValueError like any JSON encoder."""
    token = uuid.uuid4().hex

    def encode_decimal(obj: Any) -> Any:
        if isinstance(obj, decimal.Decimal):
            # json cannot write a raw number, so the Decimal travels as a marked string, unquoted below.
            return math.nan if obj.is_nan() else f"{token}{obj}{token}"
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")

    ensure_ascii = os.environ.get("AWS_EXECUTION_ENV") not in _UNESCAPED_RUNTIMES
    text = json.dumps(value, default=encode_decimal, ensure_ascii=ensure_ascii, allow_nan=True)
    if token in text:
        text = re.sub(f'"{token}(.*?){token}"', r"\1", text)
    return text


def marshal_response(value: Any) -> bytes:
    """The response payload of a handler's return value, or `Runtime.MarshalError`."""
    if isinstance(value, bytes):
        return value
    try:
        return to_json(value).encode("utf-8")
    except Exception as exc:
        raise HandlerFault(MARSHAL_ERROR, f"Unable to marshal response: {exc}") from None


def unmarshal_request(payload: bytes) -> Any:
    """The event object of a request payload, or `Runtime.UnmarshalError`."""
    try:
        return json.loads(payload)
    except Exception as exc:
        raise HandlerFault(UNMARSHAL_ERROR, f"Unable to unmarshal input: {exc}") from None
