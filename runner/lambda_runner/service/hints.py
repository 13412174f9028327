"""One line for the person at the terminal when a failure has a cause the runner can name, besides Lambda's error.

A function that uses its template's resources (a table, a bucket) reaches for AWS itself when run without
`--local-aws`: with the runner's dummy credentials it cannot connect, or AWS refuses them, and the error JSON
holds botocore's traceback. The result stays as Lambda would report it; the hint says what to run instead.
"""

from __future__ import annotations

from typing import Any

# What botocore raises (or AWS answers to the runner's dummy credentials) when a function reaches for real AWS.
UNREACHABLE = (
    "EndpointConnectionError",
    "Could not connect to the endpoint URL",
    "ConnectTimeoutError",
    "NoCredentialsError",
    "Unable to locate credentials",
    "NoRegionError",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidAccessKeyId",
    "The security token included in the request is invalid",
)


def unreachable_aws(error: dict[str, Any] | None) -> str | None:
    """The hint for a failure that comes from reaching real AWS, or None."""
    if not error:
        return None
    text = f"{error.get('errorType', '')} {error.get('errorMessage', '')}"
    found = next((marker for marker in UNREACHABLE if marker in text), None)
    if found is None:
        return None
    return (
        f"hint: the function reached for AWS and failed ({found}): run with --local-aws to give it the template's "
        "resources in a local, in-memory AWS (moto)"
    )
