"""A small HTTP/1.1 server for `start-api`: one event loop on the calling thread, one request at a time.

Why not `http.server`: its `ThreadingHTTPServer` starts a thread per connection, and the function must still run
one request at a time on the thread that called `serve` (the in-process timeout needs the main thread's
SIGALRM), so every request paid for two thread hand-offs and a GIL fight between the connection threads, which
cost several times the work of the request itself. Here one loop accepts connections, reads and parses requests
from non-blocking sockets, calls `respond` for each complete request in turn, and writes the answers; nothing
else runs meanwhile, which is exactly Lambda's "one request per execution environment".

What it speaks, for local clients (browsers, curl, test clients, load generators): HTTP/1.0 and 1.1 with
keep-alive (1.1 by default, 1.0 with `Connection: keep-alive`) and pipelining (answers in request order);
bodies by `Content-Length` or `Transfer-Encoding: chunked`; `Expect: 100-continue`; HEAD (headers only). A
request it cannot read gets 400 (or 411, 413, 414, 431, 501, 505) and the connection is closed.
"""

from __future__ import annotations

import contextlib
import json
import select
import selectors
import socket
import sys
import time
from collections.abc import Callable
from http import HTTPStatus

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
MAX_HEAD = 65_536  # request line and headers, as http.server allows
MAX_HEADERS = 100
MAX_BODY = 64 * 1024 * 1024  # far above API Gateway's 10 MB; only a guard for the server's memory
SERVER = "slsgen-start-api"
_RECV = 65_536  # below malloc's mmap threshold: a larger buffer costs an mmap and munmap per read
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection"})  # request headers read here
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection"})  # the server sets these itself
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class Request:
    """One complete HTTP request: the target is the path and query as sent; headers keep their order and case.

    `size` is how many bytes it took on the wire (head, framing and body): at least the length of any part.
    """

    __slots__ = ("body", "headers", "method", "peer", "size", "target", "version")

    def __init__(
        self,
        method: str,
        target: str,
        version: str,
        headers: list[tuple[str, str]],
        body: bytes,
        peer: str,
        size: int,
    ) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.peer = peer
        self.size = size

    def header(self, name: str) -> str | None:
        """The last value of a header, case-insensitively (`name` in lowercase)."""
        found = None
        for key, value in self.headers:
            if key.lower() == name:
                found = value
        return found


class Response:
    """What goes back to the client; Content-Length, Connection, Date and Server are added by the server."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[str, str]] | None = None, body: bytes = b"") -> None:
        self.status = status
        self.headers = [] if headers is None else headers
        self.body = body


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Connection:
    """A client connection's buffers and the request being read (its head is parsed once, then the body)."""

    __slots__ = ("chunks", "closing", "continued", "head", "held", "inbox", "outbox", "peer", "scan", "sock", "writing")

    def __init__(self, sock: socket.socket, peer: str) -> None:
        self.sock = sock
        self.peer = peer
        self.inbox = bytearray()
        self.outbox = bytearray()
        self.closing = False  # close once the outbox is written
        self.held = False  # requests wait in the inbox until the outbox drains
        self.head: tuple[str, str, str, list[tuple[str, str]], int, int, bool, bool] | None = None
        self.chunks: list[bytes] = []  # a chunked body read so far
        self.scan = 0  # where the next chunk starts in `inbox`
        self.continued = False  # `100 Continue` sent for the current request
        self.writing = False  # waiting until the socket can take more of the outbox (and reading nothing)


class _Poller:
    """Which sockets are ready: epoll where there is one (Linux), else the `selectors` module.

    `selectors` builds a key object for every ready socket on every call, a few microseconds of each request;
    with epoll the loop looks its sockets up by file descriptor itself. Each socket has an owner (what the loop
    does with it) and waits either to read or to write.
    """

    def __init__(self) -> None:
        self._epoll = select.epoll() if hasattr(select, "epoll") else None
        self._selector = None if self._epoll is not None else selectors.DefaultSelector()
        self._owners: dict[int, tuple[socket.socket, object]] = {}

    def register(self, sock: socket.socket, owner: object, *, write: bool = False) -> None:
        self._owners[sock.fileno()] = (sock, owner)
        if self._epoll is not None:
            self._epoll.register(sock.fileno(), select.EPOLLOUT if write else select.EPOLLIN)
        else:
            assert self._selector is not None
            self._selector.register(sock, selectors.EVENT_WRITE if write else selectors.EVENT_READ, owner)

    def modify(self, sock: socket.socket, owner: object, *, write: bool) -> None:
        if self._epoll is not None:
            self._epoll.modify(sock.fileno(), select.EPOLLOUT if write else select.EPOLLIN)
        else:
            assert self._selector is not None
            self._selector.modify(sock, selectors.EVENT_WRITE if write else selectors.EVENT_READ, owner)

    def unregister(self, sock: socket.socket) -> None:
        if self._owners.pop(sock.fileno(), None) is None:
            return
        if self._epoll is not None:
            self._epoll.unregister(sock.fileno())
        else:
            assert self._selector is not None
            self._selector.unregister(sock)

    def wait(self) -> list[object]:
        """Block until some sockets are ready; their owners (a socket waiting to write is ready to write)."""
        if self._epoll is not None:
            owners = self._owners
            return [owners[fd][1] for fd, _ in self._epoll.poll() if fd in owners]
        assert self._selector is not None
        return [key.data for key, _ in self._selector.select()]

    def close(self) -> None:
        """Close every registered socket, then the poller."""
        for sock, _ in list(self._owners.values()):
            sock.close()
        self._owners.clear()
        if self._epoll is not None:
            self._epoll.close()
        else:
            assert self._selector is not None
            self._selector.close()


_LISTENER, _WAKE = object(), object()  # owners of the listening socket and of the wake-up socket
_REASONS = {status.value: status.phrase for status in HTTPStatus}


class _Clock:
    """The `Date` header, formatted once per second and independent of the locale the function may set."""

    second = -1
    text = ""

    @classmethod
    def date(cls) -> str:
        now = int(time.time())
        if now != cls.second:
            moment = time.gmtime(now)
            cls.second = now
            cls.text = (
                f"{_DAYS[moment.tm_wday]}, {moment.tm_mday:02d} {_MONTHS[moment.tm_mon - 1]} {moment.tm_year} "
                f"{moment.tm_hour:02d}:{moment.tm_min:02d}:{moment.tm_sec:02d} GMT"
            )
        return cls.text


def _parse_head(head: bytes) -> tuple[str, str, str, list[tuple[str, str]], int, bool, bool]:
    """Method, target, version, headers, Content-Length, chunked, keep-alive of a request head."""
    text = head.decode("latin-1")
    lines = text.split("\r\n") if "\r" in text else text.split("\n")
    words = lines[0].rstrip("\r").split(" ")
    if len(words) != 3 or not words[0] or not words[1]:
        raise _BadRequest(400, f"Bad request syntax ({lines[0].rstrip()!r})")
    method, target, version = words
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        if version.startswith("HTTP/") and version[5:6].isdigit() and version[5:6] != "0":
            raise _BadRequest(505, f"Invalid HTTP version ({version[5:]})")
        raise _BadRequest(400, f"Bad request version ({version!r})")
    headers: list[tuple[str, str]] = []
    for raw in lines[1:]:
        line = raw.rstrip("\r") if raw[-1:] == "\r" else raw  # a bare LF amid CRLF lines leaves a CR
        if not line:
            continue
        if line[0] in " \t" and headers:  # an obsolete folded continuation line
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise _BadRequest(400, f"Bad header line ({line[:80]!r})")
        headers.append((name, value.strip()))
    if len(headers) > MAX_HEADERS:
        raise _BadRequest(431, "Too many headers")
    length, chunked, connection = -1, False, ""
    for name, value in headers:
        key = name.lower()
        if key not in _FRAMING:
            continue
        if key == "content-length":
            if not value.isdigit() or (length >= 0 and int(value) != length):
                raise _BadRequest(400, f"Bad Content-Length ({value!r})")
            length = int(value)
        elif key == "transfer-encoding":
            codings = [coding.strip().lower() for coding in value.split(",")]
            if codings[-1] != "chunked" or any(coding not in ("chunked", "identity") for coding in codings):
                raise _BadRequest(501, f"Unsupported Transfer-Encoding ({value!r})")
            chunked = True
        elif key == "connection":
            connection = value.lower()
    if length > MAX_BODY:
        raise _BadRequest(413, "Request body too large")
    keep_alive = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
    return method, target, version, headers, max(length, 0), chunked, keep_alive


class HttpServer:
    """Listens on `host:port` (port 0 picks a free one) and answers each request with `respond(request)`."""

    def __init__(self, host: str, port: int, respond: Callable[[Request], Response]) -> None:
        self.respond = respond
        self.methods = METHODS
        self.listener = socket.create_server((host, port), family=_family(host), backlog=128)
        self.listener.setblocking(False)
        self.address = self.listener.getsockname()[:2]
        self.poller = _Poller()
        self.poller.register(self.listener, _LISTENER)
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self.poller.register(self._wake_read, _WAKE)
        self._stopping = False

    def stop(self) -> None:
        """End `serve_forever` soon; any thread may call it (an invocation under way finishes first)."""
        self._stopping = True
        with contextlib.suppress(OSError):  # already closed, or the wake-up buffer is full: the flag is enough
            self._wake_write.send(b"x")

    def serve_forever(self) -> None:
        """Serve until `stop()`; KeyboardInterrupt (Ctrl-C on the main thread) propagates to the caller."""
        wait, listener, wake = self.poller.wait, self.listener, self._wake_read
        while not self._stopping:
            for owner in wait():
                if type(owner) is _Connection:
                    if owner.writing:
                        self._write(owner)
                    else:
                        self._read(owner)
                elif owner is _LISTENER:
                    self._accept(listener)
                elif owner is _WAKE:
                    with contextlib.suppress(OSError):
                        wake.recv(4096)
                if self._stopping:
                    break

    def close(self) -> None:
        """Close the listener and every connection."""
        self.poller.close()
        self._wake_write.close()

    def _accept(self, listener: socket.socket) -> None:
        for _ in range(64):  # several connections may be waiting; take them all but do not starve the others
            try:
                sock, address = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # out of file descriptors, or the client gave up: the listener stays
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = _Connection(sock, str(address[0]))
            self.poller.register(sock, connection)

    def _read(self, connection: _Connection) -> None:
        try:
            data = connection.sock.recv(_RECV)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client closed its side: nothing more to answer
            self._drop(connection)
            return
        connection.inbox += data
        self._process(connection)

    def _process(self, connection: _Connection) -> None:
        """Answer the complete requests in the inbox, in order, and write the answers.

        Pipelined requests are answered as they come, but a client that sends more than it reads is held back:
        once a batch of answers is waiting to be written, the rest waits in the inbox until they are.
        """
        while True:
            connection.held = False
            while not connection.closing:
                if len(connection.outbox) >= _RECV:
                    connection.held = True
                    break
                try:
                    request = self._next_request(connection)
                except _BadRequest as exc:
                    self._queue_error(connection, exc.status, str(exc))
                    break
                if request is None:
                    break
                self._answer(connection, request)
            if not (self._flush(connection) and connection.held):
                return

    def _next_request(self, connection: _Connection) -> Request | None:
        """The next complete request in the inbox (removed from it), or None until more bytes arrive."""
        inbox = connection.inbox
        if connection.head is None:
            if not inbox:
                return None
            if inbox[:1] in (b"\r", b"\n"):  # blank lines before a request line are ignored (RFC 9112, 2.2)
                del inbox[: len(inbox) - len(inbox.lstrip(b"\r\n"))]
            end = inbox.find(b"\r\n\r\n")
            size = 4
            if end < 0:
                end, size = inbox.find(b"\n\n"), 2
            if end < 0:
                if len(inbox) > MAX_HEAD:
                    first = inbox.find(b"\n")
                    raise _BadRequest(414 if first < 0 or first > MAX_HEAD else 431, "Request head too large")
                return None
            if end > MAX_HEAD:
                raise _BadRequest(431, "Request head too large")
            method, target, version, headers, length, chunked, keep_alive = _parse_head(bytes(inbox[:end]))
            if method not in self.methods:
                raise _BadRequest(501, f"Unsupported method ({method!r})")
            connection.head = (method, target, version, headers, length, end + size, chunked, keep_alive)
            connection.scan = end + size
            connection.chunks = []
            connection.continued = False
        method, target, version, headers, length, body_start, chunked, keep_alive = connection.head
        if chunked:
            body = self._chunked_body(connection)
            if body is None:
                self._continue(connection, version, headers)
                return None
            consumed = connection.scan
        else:
            consumed = body_start + length
            if len(inbox) < consumed:
                self._continue(connection, version, headers)
                return None
            body = bytes(inbox[body_start:consumed]) if length else b""
        del inbox[:consumed]
        connection.head = None
        connection.closing = not keep_alive
        return Request(method, target, version, headers, body, connection.peer, consumed)

    def _chunked_body(self, connection: _Connection) -> bytes | None:
        """Decode the chunks that have arrived (resuming where the last call stopped); the body once complete."""
        inbox = connection.inbox
        while True:
            line_end = inbox.find(b"\n", connection.scan)
            if line_end < 0:
                return None
            size_text = bytes(inbox[connection.scan : line_end]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise _BadRequest(400, f"Bad chunk size ({size_text[:20]!r})") from None
            if size == 0:  # then optional trailer lines, and an empty line
                position = line_end + 1
                while True:
                    next_end = inbox.find(b"\n", position)
                    if next_end < 0:
                        return None
                    if not inbox[position:next_end].strip():
                        connection.scan = next_end + 1
                        return b"".join(connection.chunks)
                    position = next_end + 1
            start = line_end + 1
            if len(inbox) < start + size + 1:
                return None
            end = start + size
            if inbox[end : end + 2] == b"\r\n":
                after = end + 2
            elif inbox[end : end + 1] == b"\n":
                after = end + 1
            elif len(inbox) < end + 2:
                return None
            else:
                raise _BadRequest(400, "Bad chunk: no line end after its data")
            connection.chunks.append(bytes(inbox[start:end]))
            if sum(len(chunk) for chunk in connection.chunks) > MAX_BODY:
                raise _BadRequest(413, "Request body too large")
            connection.scan = after

    def _continue(self, connection: _Connection, version: str, headers: list[tuple[str, str]]) -> None:
        """Tell a client that waits for it (`Expect: 100-continue`) to send the body."""
        if connection.continued or version != "HTTP/1.1":
            return
        if any(name.lower() == "expect" and value.lower() == "100-continue" for name, value in headers):
            connection.continued = True
            connection.outbox += b"HTTP/1.1 100 Continue\r\n\r\n"

    def _answer(self, connection: _Connection, request: Request) -> None:
        try:
            response = self.respond(request)
        except Exception:  # a bug behind `respond`: report it as http.server does, and keep serving the others
            import traceback

            sys.stderr.write(f"Exception occurred during processing of request from {connection.peer}\n")
            traceback.print_exc()
            response = Response(500, [("Content-Type", "application/json")], b'{"message": "Internal Server Error"}')
            connection.closing = True
        head = [f"HTTP/1.1 {response.status} {_REASONS.get(response.status, '')}"]
        head.append(f"Server: {SERVER}\r\nDate: {_Clock.date()}")
        for name, value in response.headers:
            if name.lower() not in _HOP_BY_HOP:
                line = f"{name}: {value}"
                if "\n" in line or "\r" in line:  # a handler's header must not split the response
                    line = line.replace("\r", " ").replace("\n", " ")
                head.append(line)
        head.append(f"Content-Length: {len(response.body)}")
        if connection.closing:
            head.append("Connection: close")
        elif request.version == "HTTP/1.0":
            head.append("Connection: keep-alive")
        connection.outbox += ("\r\n".join(head) + "\r\n\r\n").encode("latin-1", "replace")
        if request.method != "HEAD":
            connection.outbox += response.body

    def _queue_error(self, connection: _Connection, status: int, message: str) -> None:
        body = json.dumps({"message": message}).encode()
        connection.outbox += (
            f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\nServer: {SERVER}\r\nDate: {_Clock.date()}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode("latin-1") + body
        connection.closing = True
        connection.inbox.clear()

    def _write(self, connection: _Connection) -> None:
        """The socket can take more of the outbox: send it, then answer the requests held back meanwhile."""
        if self._flush(connection) and connection.held:
            self._process(connection)

    def _flush(self, connection: _Connection) -> bool:
        """Send what the outbox holds; True when all of it went and the connection stays open for reading."""
        outbox = connection.outbox
        while outbox:
            try:
                sent = connection.sock.send(outbox)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # the client went away
                self._drop(connection)
                return False
            del outbox[:sent]
        if outbox:  # the client reads slowly: wait until it can take more, and read nothing meanwhile
            self._watch(connection, writing=True)
            return False
        if connection.closing:
            self._drop(connection)
            return False
        self._watch(connection, writing=False)
        return True

    def _watch(self, connection: _Connection, *, writing: bool) -> None:
        if connection.writing != writing:
            connection.writing = writing
            self.poller.modify(connection.sock, connection, write=writing)

    def _drop(self, connection: _Connection) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(connection.sock)
        connection.sock.close()


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
