"""Fixed values shared by every sample event: times, ids and helpers that keep events reproducible.

Ids, timestamps and request ids are fixed (or derived from a record's position with `stable_id`), so generated
projects and their tests get the same events on every run.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

FIXED_TIME = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
FIXED_REQUEST_ID = "c0ffee00-0000-4000-8000-000000000001"
API_ID = "a1b2c3d4e5"  # API Gateway ids are 10 lowercase alphanumerics
URL_ID = "abcdefghijklmnopqrstuvwxyz234567"  # function URL ids are 32 lowercase alphanumerics
SAMPLE_USER_AGENT = "curl/8.5.0"
ID_NAMESPACE = uuid.UUID("5e1f0d6c-3a1b-4c2d-9e8f-7a6b5c4d3e2f")


def stable_id(*parts: object) -> str:
    """A UUID that depends only on `parts`: distinct per record, identical on every run."""
    return str(uuid.uuid5(ID_NAMESPACE, ":".join(str(part) for part in parts)))


def iso_millis(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_seconds(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


_last_clf: list[Any] = [-1.0, ""]  # the last second formatted: start-api formats the same one many times


def clf_time(moment: datetime) -> str:
    """API Gateway's request time, in the Common Log Format: `01/Jan/2026:12:00:00 +0000`."""
    second = moment.timestamp() // 1
    if _last_clf[0] != second:
        _last_clf[:] = second, moment.astimezone(timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")
    return str(_last_clf[1])
