"""The `context` object a handler receives, with every attribute the real Python runtime gives it.

Code and libraries read more of the context than tests usually fake: Powertools' Logger reads
`function_name`, `memory_limit_in_mb`, `invoked_function_arn` and `aws_request_id`; idempotency and batch
utilities call `get_remaining_time_in_millis()`. As in the real runtime, the names and sizes come from the
environment variables (so `memory_limit_in_mb` is a *string*), and the deadline is an epoch time in ms.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

_NOTHING: dict[str, Any] = {}


class _Record:
    """A fixed set of attributes filled from a dict; absent keys read as None, as in the real runtime."""

    __slots__: tuple[str, ...] = ()

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        get = values.get if values else _NOTHING.get
        for name in self.__slots__:
            setattr(self, name, get(name))

    def __repr__(self) -> str:
        fields = ",".join(f"{name}={getattr(self, name)}" for name in self.__slots__)
        return f"{type(self).__name__}([{fields}])"


class CognitoIdentity(_Record):
    """The caller's Amazon Cognito identity; always present, with None fields when there is none."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")


class Client(_Record):
    """The mobile client that invoked the function (from the client context)."""

    # In awslambdaric's order, which its repr shows.
    __slots__ = ("installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name")  # noqa: RUF023


class ClientContext(_Record):
    """The client context an AWS Mobile SDK (or `invoke --client-context`) sent."""

    __slots__ = ("custom", "env", "client")  # noqa: RUF023 - awslambdaric's order, which its repr shows
    custom: dict[str, Any] | None
    env: dict[str, Any] | None
    client: Client | None


W3C_FIELDS = ("traceparent", "tracestate", "baggage")


def _w3c_fields(client_context: dict[str, Any] | None) -> dict[str, str]:
    """Take `w3c` out of the client context, as the runtime does, keeping only its known string fields."""
    raw = client_context.pop("w3c", None) if isinstance(client_context, dict) else None
    if not isinstance(raw, dict):
        return {}
    return {key: raw[key] for key in W3C_FIELDS if isinstance(raw.get(key), str)}


class LambdaContext:
    """The invocation, function and execution environment, as awslambdaric's `LambdaContext` presents them."""

    def __init__(
        self,
        aws_request_id: str,
        deadline_ms: int,
        invoked_function_arn: str,
        *,
        client_context: dict[str, Any] | None = None,
        identity: dict[str, Any] | None = None,
        tenant_id: str | None = None,
    ) -> None:
        self.aws_request_id = aws_request_id
        environ = os.environ  # read at every invocation, as the runtime does: the function may change it
        self.log_group_name = environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self._w3c = _w3c_fields(client_context)
        self.client_context: ClientContext | None = None
        if client_context is not None:
            raw_client = client_context.get("client")
            self.client_context = ClientContext(client_context)
            self.client_context.client = None if raw_client is None else Client(raw_client)
        self.identity = CognitoIdentity(
            {
                "cognito_identity_id": identity.get("cognitoIdentityId"),
                "cognito_identity_pool_id": identity.get("cognitoIdentityPoolId"),
            }
            if identity
            else None
        )
        self._deadline_ms = deadline_ms

    def w3c(self) -> dict[str, str]:
        """The W3C trace context (`traceparent`, `tracestate`, `baggage`) the caller sent in the client context."""
        return dict(self._w3c)

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before Lambda stops the invocation, never negative."""
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, msg: Any) -> None:
        """Write `msg` to the function's log as is (no newline added), like the runtime's log sink."""
        for handler in logging.getLogger().handlers:
            if hasattr(handler, "write_raw"):
                handler.write_raw(str(msg))
                return
        sys.stdout.write(str(msg))

    def __repr__(self) -> str:
        names = (
            "aws_request_id",
            "log_group_name",
            "log_stream_name",
            "function_name",
            "memory_limit_in_mb",
            "function_version",
            "invoked_function_arn",
            "client_context",
            "identity",
            "tenant_id",
        )
        return f"LambdaContext([{','.join(f'{name}={getattr(self, name)}' for name in names)}])"
