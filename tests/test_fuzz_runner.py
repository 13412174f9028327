"""Fuzzed input for the runner: event files for `invoke`, and raw HTTP bytes for `start-api` over a socket.

Properties: `invoke` never prints a traceback of its own (a function's failure is reported as Lambda's error
JSON, exit 1; a bad event file is one `error:` line, exit 2); `start-api` answers every request it can parse
with a status below 500 (the function never fails here), every malformed one with 4xx or by closing the
connection, and keeps serving: a well-formed request after each case is answered by the function. Derandomized,
so failures replay; `SLSGEN_FUZZ_SCALE` multiplies the number of cases (bench/reliability.py).
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lambda_runner.cli import main as runner_main
from lambda_runner.config.template import read_functions
from lambda_runner.local.api import LocalApi, serve

SCALE = float(os.environ.get("SLSGEN_FUZZ_SCALE", "1"))
ECHO = """\
import json


def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)[:2000]}
"""
TEMPLATE = f"""\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python{sys.version_info.major}.{sys.version_info.minor}
      Timeout: 3
      MemorySize: 128
      Events:
        Api:
          Type: HttpApi
          Properties: {{Path: "/items/{{id}}", Method: ANY}}
"""


def fuzz(examples: int) -> Any:
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(ECHO)
    (root / "template.yaml").write_text(TEMPLATE)
    return root


JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
EVENT_BYTES = st.one_of(
    JSON.map(lambda value: __import__("json").dumps(value).encode()),
    st.binary(max_size=200),
    st.sampled_from([b"", b"{", b"\xef\xbb\xbf{}", b'{"a": NaN}', b"[1, 2", b"\xff\xfe{\x00}\x00", b"1e999", b"null"]),
    st.text(max_size=60).map(lambda text: text.encode("utf-16")),
)


@fuzz(400)
@given(payload=EVENT_BYTES)
def test_invoke_with_fuzzed_event_files(project: Path, payload: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        event = Path(tmp) / "event.json"
        event.write_bytes(payload)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = runner_main(["invoke", "-t", str(project / "template.yaml"), "-e", str(event)])
    assert "Traceback" not in err.getvalue(), err.getvalue()
    if code == 2:
        errors = [line for line in err.getvalue().splitlines() if line.startswith("error: ")]
        assert len(errors) == 1, err.getvalue()
    else:
        assert code == 0, err.getvalue()  # the echo function accepts any JSON event
        assert '"statusCode": 200' in out.getvalue()


@contextlib.contextmanager
def running(template: Path) -> Iterator[LocalApi]:
    """start-api in a thread on a free loopback port; stopped on exit."""
    function = next(iter(read_functions(template).values()))
    started = threading.Event()
    holder: dict[str, LocalApi] = {}

    def ready(api: LocalApi) -> None:
        holder["api"] = api
        started.set()

    log = io.StringIO()
    thread = threading.Thread(
        target=lambda: serve(function, port=0, template_path=template, log=log, ready=ready), daemon=True
    )
    thread.start()
    assert started.wait(30)
    try:
        yield holder["api"]
    finally:
        holder["api"].stop()
        thread.join(30)


@pytest.fixture(scope="module")
def api(project: Path) -> Iterator[LocalApi]:
    with running(project / "template.yaml") as server:
        yield server


def exchange(port: int, raw: bytes, timeout: float = 10) -> bytes:
    """Send `raw`, close the sending side, and read the whole answer (empty: the server closed without one)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        with contextlib.suppress(ConnectionError):
            connection.sendall(raw)
            connection.shutdown(socket.SHUT_WR)
        chunks = []
        with contextlib.suppress(ConnectionError):
            while chunk := connection.recv(65536):
                chunks.append(chunk)
    return b"".join(chunks)


def statuses(answer: bytes) -> list[int]:
    """The status codes of the responses in `answer` (a keep-alive connection may carry several)."""
    found = []
    for line in answer.split(b"\r\n"):
        if line.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")) and line[9:12].isdigit():
            found.append(int(line[9:12]))
    return found


TOKEN = st.text(
    st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters='()<>@,;:\\"/[]?={}'),
    min_size=1,
    max_size=10,
)
BYTES_TEXT = st.one_of(
    st.binary(max_size=30), st.text(max_size=30).map(lambda text: text.encode("utf-8", "surrogatepass"))
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[bytes, bool]:
    """Raw request bytes, and whether they are a well-formed HTTP/1.1 request."""
    method = draw(st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS", b"HEAD"]))
    target = draw(
        st.sampled_from([b"/items/1", b"/items/%ZZ", b"/items/%00?x=%ff", b"/nope", b"*", b"/items/a?b=c&b=d"])
    )
    version = b"HTTP/1.1"
    headers = [(b"Host", b"127.0.0.1")]
    body = draw(st.binary(max_size=100))
    headers.append((b"Content-Length", str(len(body)).encode()))
    for _ in range(draw(st.integers(0, 3))):
        headers.append(
            (
                draw(TOKEN).encode(),
                draw(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20)).encode(),
            )
        )
    well_formed = True
    mutation = draw(
        st.sampled_from(["none", "line", "version", "length", "header", "chunked", "garbage", "binary", "cut"])
    )
    if mutation == "line":
        method, target = draw(BYTES_TEXT), draw(BYTES_TEXT)
        well_formed = False
    elif mutation == "version":
        version = draw(st.sampled_from([b"HTTP/9.9", b"HTTP/1", b"HTTX/1.1", b"", b"HTTP/1.1 extra", b"HTTP/0.9"]))
        well_formed = False
    elif mutation == "length":
        headers[1] = (
            b"Content-Length",
            draw(st.sampled_from([b"-1", b"abc", b"99999999999999999999", b"1e3", b" 5", b""])),
        )
        well_formed = False
    elif mutation == "header":
        headers.append((draw(BYTES_TEXT), draw(BYTES_TEXT)))
        well_formed = False
    elif mutation == "chunked":
        headers.append((b"Transfer-Encoding", b"chunked"))
        well_formed = False
    elif mutation in ("garbage", "binary"):
        return draw(st.binary(min_size=1, max_size=300)), False
    raw = method + b" " + target + b" " + version + b"\r\n"
    raw += b"".join(name + b": " + value + b"\r\n" for name, value in headers) + b"\r\n" + body
    if mutation == "cut":
        raw = raw[: draw(st.integers(0, max(0, len(raw) - 1)))]
        well_formed = False
    return raw, well_formed


def well_formed_request(port: int) -> int:
    answer = exchange(port, b"GET /items/42 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    return statuses(answer)[0]


@fuzz(450)
@given(case=requests())
def test_start_api_answers_fuzzed_requests_and_keeps_serving(api: LocalApi, case: tuple[bytes, bool]) -> None:
    raw, well_formed = case
    answer = exchange(api.port, raw)
    codes = statuses(answer)
    assert all(code < 500 for code in codes), answer[:300]
    if well_formed:
        assert codes, answer[:300]
    elif codes:
        assert codes[0] < 500
    assert well_formed_request(api.port) == 200


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"\x00 / HTTP/1.1\r\nHost: h\r\n\r\n", 400),  # an unknown method: was 501
        (b"BREW /items/1 HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"GET /items/1 HTTP/9.9\r\nHost: h\r\n\r\n", 400),  # was 505
        (b"GET /items/1 HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 413),  # was a traceback
        (b"POST /items/1 HTTP/1.1\r\nContent-Length: 10485761\r\n\r\n", 413),
        (b"POST /items/1 HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        (b"POST /items/1 HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
        (b"POST /items/1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411),
    ],
)
def test_start_api_answers_malformed_requests_with_4xx(api: LocalApi, raw: bytes, status: int) -> None:
    assert statuses(exchange(api.port, raw))[:1] == [status]
    assert well_formed_request(api.port) == 200
