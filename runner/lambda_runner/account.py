"""The AWS account and region the runner pretends to be in, shared by the template reader and the event builders.

It sits below both so that neither depends on the other: ARNs resolved from the template and ARNs in sample
events name the same account and region, which are also moto's defaults (so they match the local AWS mode).
"""

from __future__ import annotations

import os

ACCOUNT_ID = "123456789012"  # moto's default account, so that local ARNs match the local AWS mode


def region() -> str:
    """The region the runner pretends to be in: the caller's AWS_REGION, else us-east-1."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
