"""`start-api`: what API Gateway answers itself when a request is over its 10 MB payload quota."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_api import HTTP_TEMPLATE, REST_TEMPLATE, _project, logged, request, running

QUOTA = 10 * 1024 * 1024


@pytest.mark.parametrize(
    ("template", "path"), [(HTTP_TEMPLATE, "/echo"), (REST_TEMPLATE, "/items/1")], ids=["http", "rest"]
)
def test_body_over_10_mb_is_413_without_invoking(tmp_path: Path, template: str, path: str) -> None:
    with running(_project(tmp_path / "web", template)) as (api, log):
        status, headers, body = request(api, "POST", path, b"a" * (QUOTA + 1), {"Content-Type": "text/plain"})

        assert status == 413
        assert headers["Content-Type"] == "text; charset=utf-8"
        assert body == b"HTTP content length exceeded 10485760 bytes."
        assert "START RequestId" not in logged(log, f'"POST {path}" 413')  # the function never ran
        # At the quota itself API Gateway passes the request on (and then Lambda's 6 MB limit applies).
        status, _, _ = request(api, "POST", path, b"a" * QUOTA, {"Content-Type": "text/plain"})
        assert status != 413
