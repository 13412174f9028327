"""start-api's HTTP layer (`http_server.py`) over raw sockets, and the code watcher (`watch.py`)."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from generator.runner.local.http_server import HttpServer, Request, Response
from generator.runner.local.watch import CodeWatcher


def echo(request: Request) -> Response:
    """Answers with what it received, as JSON."""
    body = {
        "method": request.method,
        "target": request.target,
        "version": request.version,
        "headers": request.headers,
        "body": request.body.decode("latin-1"),
        "peer": request.peer,
    }
    return Response(
        200, [("Content-Type", "application/json"), ("X-Evil", "a\r\nInjected: yes")], json.dumps(body).encode()
    )


@contextmanager
def serving(respond=echo) -> Iterator[HttpServer]:
    server = HttpServer("127.0.0.1", 0, respond)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join(10)
        assert not thread.is_alive()
        server.close()


def connect(server: HttpServer) -> socket.socket:
    return socket.create_connection(server.address, timeout=10)


def read_response(sock: socket.socket, buffer: bytearray) -> tuple[int, dict[str, str], bytes]:
    """One response from `sock` (bytes beyond it stay in `buffer`); status 0 when the connection closed first."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            return 0, {}, b""
        buffer += chunk
    end = buffer.index(b"\r\n\r\n")
    lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    del buffer[: end + 4]
    length = int(headers.get("content-length", 0))
    while len(buffer) < length:
        buffer += sock.recv(65536)
    body = bytes(buffer[:length])
    del buffer[:length]
    return status, headers, body


def closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(5)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_pipelined_requests_are_answered_in_order_on_one_connection() -> None:
    with serving() as server, connect(server) as sock:
        sock.sendall(
            b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /two?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            b"GET /three HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        buffer = bytearray()
        answers = [read_response(sock, buffer) for _ in range(3)]
        assert [json.loads(body)["target"] for _, _, body in answers] == ["/one", "/two?q=1", "/three"]
        assert json.loads(answers[1][2])["body"] == "hello"
        status, headers, _ = answers[0]
        assert status == 200
        assert headers["server"] == "slsgen-start-api"
        assert headers["date"].endswith(" GMT")
        assert "connection" not in headers  # HTTP/1.1: keep-alive is the default
        assert headers["x-evil"] == "a  Injected: yes"  # a header value cannot split the response
        assert "injected" not in headers


def test_body_arriving_in_pieces_and_request_headers_as_sent() -> None:
    with serving() as server, connect(server) as sock:
        sock.sendall(b"PUT /p HTTP/1.1\r\nHost: h\r\nX-Case: Kept \r\nContent-Length: 10\r\n\r\n01234")
        time.sleep(0.05)
        sock.sendall(b"56789")
        _, _, body = read_response(sock, bytearray())
        answer = json.loads(body)
        assert answer["body"] == "0123456789"
        assert answer["headers"] == [["Host", "h"], ["X-Case", "Kept"], ["Content-Length", "10"]]
        assert answer["peer"] == "127.0.0.1"


def test_chunked_body_with_extensions_and_trailers() -> None:
    with serving() as server, connect(server) as sock:
        sock.sendall(b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n")
        time.sleep(0.05)
        sock.sendall(b"6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n")
        buffer = bytearray()
        assert json.loads(read_response(sock, buffer)[2])["body"] == "hello world"
        assert json.loads(read_response(sock, buffer)[2])["target"] == "/next"


def test_expect_100_continue_gets_an_interim_answer() -> None:
    with serving() as server, connect(server) as sock:
        sock.sendall(b"POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
        buffer = bytearray()
        assert read_response(sock, buffer)[0] == 100
        sock.sendall(b"abc")
        status, _, body = read_response(sock, buffer)
        assert (status, json.loads(body)["body"]) == (200, "abc")


def test_head_has_the_length_but_no_body() -> None:
    with serving() as server, connect(server) as sock:
        sock.sendall(b"HEAD /h HTTP/1.1\r\nHost: h\r\n\r\nGET /g HTTP/1.1\r\nHost: h\r\n\r\n")
        buffer = bytearray()
        while buffer.count(b"\r\n\r\n") < 2:
            buffer += sock.recv(65536)
        head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
        assert int(dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])["Content-Length"]) > 0
        assert rest.startswith(b"HTTP/1.1 200 OK\r\n")  # the next response follows at once: no body in between


@pytest.mark.parametrize(
    ("request_bytes", "keep_open"),
    [
        (b"GET / HTTP/1.0\r\n\r\n", False),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", True),
        (b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", False),
    ],
)
def test_connection_persistence(request_bytes: bytes, keep_open: bool) -> None:
    with serving() as server, connect(server) as sock:
        sock.sendall(request_bytes)
        status, headers, _ = read_response(sock, bytearray())
        assert status == 200
        if keep_open:
            assert headers["connection"] == "keep-alive"
            sock.sendall(request_bytes)
            assert read_response(sock, bytearray())[0] == 200
        else:
            assert headers["connection"] == "close"
            assert closed_by_server(sock)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"NONSENSE\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        (b"TRACE / HTTP/1.1\r\nHost: h\r\n\r\n", 501),
        (b"POST / HTTP/1.1\r\nContent-Length: ten\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    ],
)
def test_unreadable_requests_get_an_error_and_the_connection_is_closed(request_bytes: bytes, status: int) -> None:
    with serving() as server, connect(server) as sock:
        sock.sendall(request_bytes)
        answer, headers, body = read_response(sock, bytearray())
        assert answer == status
        assert headers["connection"] == "close"
        assert "message" in json.loads(body)
        assert closed_by_server(sock)


def test_a_slow_reader_holds_back_its_pipelined_requests_but_gets_every_answer() -> None:
    big = b"x" * 300_000

    def large(request: Request) -> Response:
        return Response(200, [], request.target.encode() + big)

    count = 12
    with serving(large) as server, connect(server) as sock:
        sock.sendall(b"".join(f"GET /{n} HTTP/1.1\r\nHost: h\r\n\r\n".encode() for n in range(count)))
        time.sleep(0.2)  # the server fills the socket and waits for this client to read
        buffer = bytearray()
        bodies = [read_response(sock, buffer)[2] for _ in range(count)]
        assert [body[: -len(big)] for body in bodies] == [f"/{n}".encode() for n in range(count)]


def test_other_clients_are_served_while_one_sends_half_a_request() -> None:
    with serving() as server, connect(server) as slow, connect(server) as fast:
        slow.sendall(b"GET /slow HTTP/1.1\r\nHost:")
        fast.sendall(b"GET /fast HTTP/1.1\r\nHost: h\r\n\r\n")
        assert json.loads(read_response(fast, bytearray())[2])["target"] == "/fast"
        slow.sendall(b" h\r\n\r\n")
        assert json.loads(read_response(slow, bytearray())[2])["target"] == "/slow"


def test_a_failing_respond_is_a_500_and_the_server_keeps_serving(capsys: pytest.CaptureFixture[str]) -> None:
    def flaky(request: Request) -> Response:
        if request.target == "/bug":
            raise KeyError("bug")
        return echo(request)

    with serving(flaky) as server:
        with connect(server) as sock:
            sock.sendall(b"GET /bug HTTP/1.1\r\nHost: h\r\n\r\n")
            status, headers, _ = read_response(sock, bytearray())
            assert (status, headers["connection"]) == (500, "close")
        with connect(server) as sock:
            sock.sendall(b"GET /fine HTTP/1.1\r\nHost: h\r\n\r\n")
            assert read_response(sock, bytearray())[0] == 200
    assert "KeyError: 'bug'" in capsys.readouterr().err


def test_the_selectors_fallback_serves_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.runner.local import http_server

    monkeypatch.setattr(http_server, "select", type("NoEpoll", (), {})())  # as on macOS or Windows
    test_pipelined_requests_are_answered_in_order_on_one_connection()
    test_a_slow_reader_holds_back_its_pipelined_requests_but_gets_every_answer()
    test_other_clients_are_served_while_one_sends_half_a_request()


def test_stop_from_another_thread_ends_serve_forever_promptly() -> None:
    server = HttpServer("127.0.0.1", 0, echo)
    threading.Timer(0.1, server.stop).start()
    started = time.perf_counter()
    server.serve_forever()
    server.close()
    assert time.perf_counter() - started < 5


# The code watcher


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _code(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "app.py").write_text("A = 1\n")
    (root / "pkg" / "__init__.py").write_text("")
    return root


def _touch_later(path: Path, text: str) -> None:
    """Write `text` and move the modification time on, so that even a coarse clock sees the edit."""
    path.write_text(text)
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 5_000_000_000))


def test_watcher_sees_edits_additions_and_removals_at_once(tmp_path: Path) -> None:
    root = _code(tmp_path / "code")
    clock = Clock()
    watcher = CodeWatcher(root, clock=clock)
    assert not watcher.changed()
    _touch_later(root / "app.py", "A = 2\n")
    assert watcher.changed()
    assert not watcher.changed()
    (root / "pkg" / "new.py").write_text("")
    assert watcher.changed()
    (root / "pkg" / "sub").mkdir()
    (root / "pkg" / "sub" / "deep.py").write_text("")
    assert watcher.changed()
    (root / "pkg" / "new.py").unlink()
    assert watcher.changed()
    assert clock.now == 100.0  # all of it without waiting for the periodic walk


def test_watcher_ignores_other_files_and_skipped_folders(tmp_path: Path) -> None:
    root = _code(tmp_path / "code")
    watcher = CodeWatcher(root, clock=Clock())
    (root / ".app.py.swp").write_text("editor")
    (root / "notes.txt").write_text("text")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "app.cpython-311.py").write_text("")
    assert not watcher.changed()


def test_watcher_walks_the_folder_at_most_every_full_scan_interval(tmp_path: Path) -> None:
    root = _code(tmp_path / "code")
    clock = Clock()
    watcher = CodeWatcher(root, full_scan_s=0.5, clock=clock)
    for _ in range(50):
        assert not watcher.changed()
    assert watcher.scans == 1  # nothing changed: only the known files and folders were looked at
    clock.now += 0.6
    assert not watcher.changed()
    assert watcher.scans == 2
    assert not watcher.changed()
    assert watcher.scans == 2
