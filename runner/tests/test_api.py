"""`start-api`: real HTTP requests against a server in a thread, served by warm environments in child processes."""

from __future__ import annotations

import base64
import contextlib
import http.client
import io
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lambda_runner.config.template import read_functions
from lambda_runner.errors import RunnerError
from lambda_runner.local.api import DEFAULT_MAX_CONCURRENCY, LocalApi, max_concurrency_of, serve
from lambda_runner.local.routes import find_routes, select_route

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"

HANDLER = f"""\
import base64
import json

VERSION = "one"
PNG = {PNG!r}


def handler(event, context):
    path = event.get("rawPath") or event.get("path")
    if path.endswith("/boom"):
        raise ValueError("boom")
    if path.endswith("/image"):
        body = base64.b64encode(PNG).decode()
        return {{"statusCode": 200, "headers": {{"Content-Type": "image/png"}}, "body": body, "isBase64Encoded": True}}
    if path.endswith("/bare"):
        return {{"hello": "world"}}
    if path.endswith("/cookies"):
        return {{"statusCode": 201, "cookies": ["a=1; Path=/", "b=2"], "body": "made"}}
    if path.endswith("/multi"):
        return {{"statusCode": 200, "headers": {{"X-One": "h"}}, "multiValueHeaders": {{"X-Many": ["1", "2"]}}}}
    headers = {{"Content-Type": "application/json", "X-Version": VERSION}}
    return {{"statusCode": 200, "headers": headers, "body": json.dumps(event)}}
"""

HTTP_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  WebFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: src/
      Events:
        GetItem: {Type: HttpApi, Properties: {Path: "/items/{id}", Method: get}}
        Special: {Type: HttpApi, Properties: {Path: /items/special, Method: GET}}
        Echo: {Type: HttpApi, Properties: {Path: /echo, Method: POST}}
        Anything: {Type: HttpApi, Properties: {Path: "/x/{proxy+}", Method: ANY}}
        Legacy: {Type: HttpApi, Properties: {Path: "/v1/{proxy+}", Method: ANY, PayloadFormatVersion: "1.0"}}
"""

REST_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Api:
    StageName: dev
    BinaryMediaTypes: ["image~1png"]
Resources:
  RestFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: src/
      Events:
        Items: {Type: Api, Properties: {Path: "/items/{id}", Method: any}}
        Multi: {Type: Api, Properties: {Path: /multi, Method: get}}
        Bare: {Type: Api, Properties: {Path: /bare, Method: get}}
        Boom: {Type: Api, Properties: {Path: /boom, Method: get}}
"""

URL_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  UrlFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: src/
      FunctionUrlConfig:
        AuthType: NONE
"""


def _project(root: Path, template: str) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text(HANDLER)
    (root / "template.yaml").write_text(template)
    return root / "template.yaml"


@contextmanager
def running(
    template_path: Path, max_concurrency: int | None = None, *, every: bool = False
) -> Iterator[tuple[LocalApi, io.StringIO]]:
    """serve() of the template's first function (or of `every` one) in a thread on a free port; stopped and joined
    on exit."""
    functions = list(read_functions(template_path).values())
    function = functions if every else functions[0]
    log = io.StringIO()
    started = threading.Event()
    holder: dict[str, object] = {}

    def ready(api: LocalApi) -> None:
        holder["api"] = api
        started.set()

    def target() -> None:
        try:
            serve(function, port=0, template_path=template_path, log=log, ready=ready, max_concurrency=max_concurrency)
        except BaseException as exc:  # surface a startup failure instead of waiting
            holder["error"] = exc
            started.set()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    assert started.wait(10)
    if "error" in holder:
        raise holder["error"]  # type: ignore[misc]
    api = holder["api"]
    assert isinstance(api, LocalApi)
    try:
        yield api, log
    finally:
        api.stop()
        thread.join(10)
        assert not thread.is_alive()


def request(
    api: LocalApi, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def logged(log: io.StringIO, text: str, count: int = 1) -> str:
    """The log once `text` is in it `count` times.

    With a log that is not a file the environments' lines come through pipes that the server copies, so they may
    follow the response by a moment. An environment writes a request's access line (`"GET /path" 200`) after
    everything else about it, so once that line is in, the request's whole output is.
    """
    deadline = time.monotonic() + 10
    while (text_so_far := log.getvalue()).count(text) < count:
        assert time.monotonic() < deadline, text_so_far
        time.sleep(0.01)
    return text_so_far


def event_of(data: bytes) -> dict:
    return json.loads(data)


@pytest.fixture
def http_api(tmp_path: Path) -> Iterator[tuple[LocalApi, io.StringIO, Path]]:
    template = _project(tmp_path / "web", HTTP_TEMPLATE)
    with running(template) as (api, log):
        yield api, log, template.parent


def test_get_with_query_and_cookies_gives_a_v2_event(http_api) -> None:
    api, log, _ = http_api
    status, headers, body = request(api, "GET", "/items/42?a=1&a=2&q=hello%20world", headers={"Cookie": "s=1; t=2"})
    assert status == 200
    assert headers["X-Version"] == "one"
    assert headers["Apigw-Requestid"]
    event = event_of(body)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/items/42"
    assert event["rawQueryString"] == "a=1&a=2&q=hello%20world"
    assert event["queryStringParameters"] == {"a": "1,2", "q": "hello world"}
    assert event["pathParameters"] == {"id": "42"}
    assert event["cookies"] == ["s=1", "t=2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["host"] == f"127.0.0.1:{api.port}"
    assert event["headers"]["x-forwarded-proto"] == "http"
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert event["requestContext"]["requestId"] == headers["Apigw-Requestid"]
    assert event["requestContext"]["stage"] == "$default"
    assert "body" not in event
    lines = logged(log, '"GET /items/42?a=1&a=2&q=hello%20world" 200').splitlines()
    assert any(line.startswith("START RequestId: ") for line in lines)
    assert any(line.startswith("REPORT RequestId: ") and "Init Duration" in line for line in lines)


def test_literal_route_beats_parameter_route(http_api) -> None:
    api, _, _ = http_api
    assert event_of(request(api, "GET", "/items/special")[2])["routeKey"] == "GET /items/special"


def test_post_json_and_binary_bodies(http_api) -> None:
    api, _, _ = http_api
    status, _, body = request(api, "POST", "/echo", b'{"name": "Ada"}', {"Content-Type": "application/json"})
    assert status == 200
    event = event_of(body)
    assert event["body"] == '{"name": "Ada"}'
    assert event["isBase64Encoded"] is False
    assert event["headers"]["content-type"] == "application/json"
    _, _, body = request(api, "POST", "/echo", PNG, {"Content-Type": "image/png"})
    event = event_of(body)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == PNG


def test_request_payload_limit_is_lambdas_6_mb_of_event_json(http_api) -> None:
    api, log, _ = http_api
    # 1 MB of body is far from the limit, but too big for the cheap bound: the event is measured exactly.
    big = b"a" * 1_000_000
    status, _, body = request(api, "POST", "/echo", big, {"Content-Type": "text/plain"})
    assert status == 200
    assert event_of(body)["body"] == big.decode()
    # 1.1 MB of control characters is 6.6 MB once JSON escapes them: Lambda refuses it, API Gateway answers 500.
    starts = logged(log, '"POST /echo" 200').count("START RequestId")
    status, _, body = request(api, "POST", "/echo", b"\x01" * 1_100_000, {"Content-Type": "text/plain"})
    assert (status, body) == (500, b'{"message": "Internal Server Error"}')
    text = logged(log, '"POST /echo" 500')
    assert "RequestEntityTooLargeException: Request must be smaller than 6291456 bytes" in text
    assert text.count("START RequestId") == starts  # the function never ran


def test_binary_response_is_decoded(http_api) -> None:
    api, _, _ = http_api
    status, headers, body = request(api, "GET", "/x/image")
    assert (status, headers["Content-Type"], body) == (200, "image/png", PNG)


def test_cookies_become_set_cookie_headers(http_api) -> None:
    api, _, _ = http_api
    status, headers, body = request(api, "DELETE", "/x/cookies")
    assert status == 201
    assert headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=2"]
    assert body == b"made"


def test_bare_result_is_a_200_json_response_in_v2(http_api) -> None:
    api, _, _ = http_api
    status, headers, body = request(api, "GET", "/x/bare")
    assert (status, headers["Content-Type"], json.loads(body)) == (200, "application/json", {"hello": "world"})


def test_unknown_route_and_method_are_404(http_api) -> None:
    api, log, _ = http_api
    assert request(api, "GET", "/nope")[0::2] == (404, b'{"message": "Not Found"}')
    assert request(api, "GET", "/echo")[0::2] == (404, b'{"message": "Not Found"}')
    assert "START RequestId" not in logged(log, '"GET /echo" 404')  # API Gateway answers without the function


def test_handler_exception_is_502(http_api) -> None:
    api, log, _ = http_api
    status, headers, body = request(api, "GET", "/x/boom")
    assert (status, headers["Content-Type"], body) == (502, "application/json", b'{"message": "Internal Server Error"}')
    text = logged(log, '"GET /x/boom" 502')
    assert "[ERROR] ValueError: boom" in text
    assert "END RequestId: " in text


def test_payload_v1_route_gets_the_v1_shape(http_api) -> None:
    api, _, _ = http_api
    event = event_of(request(api, "PUT", "/v1/a/b?x=1&x=2", b"text", {"Content-Type": "text/plain"})[2])
    assert event["version"] == "1.0"
    assert event["httpMethod"] == "PUT"
    assert event["resource"] == "/v1/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a/b"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert event["queryStringParameters"] == {"x": "2"}
    assert event["body"] == "text"
    assert "rawPath" not in event


def test_keep_alive_and_warm_invocations(http_api) -> None:
    api, log, _ = http_api
    connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
    try:
        connection.request("GET", "/items/1")
        first = connection.getresponse()
        first.read()
        sock = connection.sock
        connection.request("GET", "/items/2")
        second = connection.getresponse()
        assert event_of(second.read())["pathParameters"] == {"id": "2"}
        assert connection.sock is sock  # the same TCP connection served both
    finally:
        connection.close()
    reports = [line for line in logged(log, '"GET /items/2" 200').splitlines() if line.startswith("REPORT")]
    assert len(reports) == 2
    assert "Init Duration" in reports[0]
    assert "Init Duration" not in reports[1]


def test_code_changes_are_picked_up_without_restart(http_api) -> None:
    api, log, root = http_api
    assert request(api, "GET", "/items/1")[1]["X-Version"] == "one"
    app = root / "src" / "app.py"
    app.write_text(app.read_text().replace('VERSION = "one"', 'VERSION = "two!"'))
    assert request(api, "GET", "/items/1")[1]["X-Version"] == "two!"
    text = logged(log, '"GET /items/1" 200', count=2)
    assert "Code or template changed: the next invocations are cold starts." in text
    reports = [line for line in text.splitlines() if line.startswith("REPORT")]
    assert ["Init Duration" in line for line in reports] == [True, True]


def test_rest_api_shape_stage_and_answers(tmp_path: Path) -> None:
    with running(_project(tmp_path / "rest", REST_TEMPLATE)) as (api, _):
        status, headers, body = request(api, "POST", "/items/7?a=1", PNG, {"Content-Type": "image/png"})
        assert status == 200
        assert headers["x-amzn-RequestId"]
        event = event_of(body)
        assert event["resource"] == "/items/{id}"
        assert event["pathParameters"] == {"id": "7"}
        assert event["requestContext"]["stage"] == "dev"
        assert event["requestContext"]["path"] == "/dev/items/7"
        assert event["isBase64Encoded"] is True  # image/png is one of the API's BinaryMediaTypes
        assert base64.b64decode(event["body"]) == PNG
        assert "version" not in event
        status, headers, body = request(api, "GET", "/multi")
        assert (status, headers["X-One"], headers.get_all("X-Many")) == (200, "h", ["1", "2"])
        # A REST API needs statusCode, fails with its own wording, and answers unknown routes with 403.
        assert request(api, "GET", "/bare")[0::2] == (502, b'{"message": "Internal server error"}')
        assert request(api, "GET", "/boom")[0::2] == (502, b'{"message": "Internal server error"}')
        assert request(api, "GET", "/nope")[0::2] == (403, b'{"message": "Missing Authentication Token"}')


def test_function_url_catches_every_path(tmp_path: Path) -> None:
    with running(_project(tmp_path / "url", URL_TEMPLATE)) as (api, _):
        event = event_of(request(api, "PATCH", "/any/path?z=1")[2])
        assert event["routeKey"] == "$default"
        assert event["rawPath"] == "/any/path"
        assert event["requestContext"]["domainName"] == f"127.0.0.1:{api.port}"
        assert event["requestContext"]["authorizer"] is None
        assert event["pathParameters"] is None


def test_route_selection_unit() -> None:
    from lambda_runner.local.routes import HTTP, Route

    routes = [
        Route(HTTP, "ANY", "/{proxy+}", "2.0", "$default"),
        Route(HTTP, "GET", "/a/{id}", "2.0", "$default"),
        Route(HTTP, "ANY", "/a/{id}", "2.0", "$default"),
        Route(HTTP, "ANY", None, "2.0", "$default"),
    ]
    assert select_route(routes, "GET", "/a/1") == routes[1]
    assert select_route(routes, "POST", "/a/1") == routes[2]
    assert select_route(routes, "GET", "/b/c") == routes[0]
    assert select_route(routes, "GET", "/") == routes[3]


def test_the_service_reads_the_json_of_the_result() -> None:
    """What API Gateway reads is the response JSON: a Decimal is a number there, a tuple a list, a dict body text."""
    from decimal import Decimal

    from lambda_runner.local.routes import HTTP, REST, Route, map_response
    from lambda_runner.runtime.result import Invocation
    from lambda_runner.runtime.serialize import marshal_response

    def mapped(route: Route, result: object) -> tuple[int, list[tuple[str, str]], bytes]:
        invocation = Invocation(marshal_response(result), None, 1.0, request_id="r", billed_ms=1, max_memory_mb=64)
        response = map_response(route, invocation, io.StringIO())
        return response.status, response.headers, response.body

    rest = Route(REST, "GET", "/x", "1.0", "Prod")
    v2 = Route(HTTP, "ANY", None, "2.0", "$default")
    result = {"statusCode": "202", "headers": {"version": Decimal("1.10"), "n": 5}, "body": {"price": Decimal("9.90")}}
    assert mapped(rest, result) == (202, [("version", "1.1"), ("n", "5")], b'{"price": 9.9}')
    cookies = {"statusCode": 200, "cookies": ("a=1", "b=2"), "body": "x"}
    assert mapped(v2, cookies) == (200, [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")], b"x")
    multi = {"statusCode": 200, "headers": {"x": "h", "y": "1"}, "multiValueHeaders": {"X": ("1", "2")}}
    assert mapped(rest, multi)[1] == [("y", "1"), ("X", "1"), ("X", "2")]
    assert mapped(v2, {"hello": "world"}) == (200, [("Content-Type", "application/json")], b'{"hello": "world"}')
    assert mapped(rest, {"hello": "world"})[0] == 502


def test_function_without_http_events_is_a_user_error(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    template = _project(root, URL_TEMPLATE.replace("      FunctionUrlConfig:\n        AuthType: NONE\n", ""))
    function = read_functions(template)["UrlFunction"]
    assert find_routes(function) == []
    with pytest.raises(RunnerError, match="UrlFunction has no Api or HttpApi event and no FunctionUrlConfig"):
        serve(function, port=0, log=io.StringIO())


def test_api_event_without_method_is_a_user_error(tmp_path: Path) -> None:
    template = _project(tmp_path / "bad", REST_TEMPLATE.replace("Path: /multi, Method: get", "Path: /multi"))
    function = read_functions(template)["RestFunction"]
    with pytest.raises(RunnerError, match=r"^RestFunction: the Api event Multi needs both Path and Method$"):
        find_routes(function)


def test_busy_port_is_a_user_error(http_api) -> None:
    api, _, root = http_api
    function = read_functions(root / "template.yaml")["WebFunction"]
    started = time.perf_counter()
    with pytest.raises(RunnerError, match=rf"cannot listen on 127.0.0.1:{api.port} .*: pass another --port"):
        serve(function, port=api.port, log=io.StringIO())
    assert time.perf_counter() - started < 5


ROBUSTNESS_HANDLER = """\
import os
import time


def handler(event, context):
    path = event["rawPath"]
    if path == "/stuck":
        with open(os.environ["PID_FILE"], "w") as pid_file:
            pid_file.write(str(os.getpid()))
        while True:
            try:
                time.sleep(0.01)
            except BaseException:
                pass
    if path == "/exit":
        os._exit(5)
    if path == "/slow":
        time.sleep(1)
    return {"statusCode": 200, "headers": {"X-Greeting": os.environ["GREETING"], "X-Pid": str(os.getpid())}}
"""

ROBUSTNESS_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  WebFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: src/
      Timeout: 2
      Environment:
        Variables:
          GREETING: one
          PID_FILE: {pid_file}
      Events:
        All: {Type: HttpApi, Properties: {Path: "/{proxy+}", Method: ANY}}
"""


def _robust_project(root: Path) -> Path:
    template = _project(root, ROBUSTNESS_TEMPLATE.replace("{pid_file}", str(root / "stuck.pid")))
    (root / "src" / "app.py").write_text(ROBUSTNESS_HANDLER)
    return template


def test_a_stuck_or_crashed_function_is_replaced_and_the_server_keeps_serving(tmp_path: Path) -> None:
    with running(_robust_project(tmp_path / "web"), max_concurrency=1) as (api, log):
        started = time.monotonic()
        assert request(api, "GET", "/stuck")[0] == 502  # Task timed out: API Gateway's 502
        assert time.monotonic() - started < 7
        status, headers, _ = request(api, "GET", "/hello")
        assert (status, headers["X-Greeting"]) == (200, "one")
        assert request(api, "GET", "/exit")[0] == 502
        assert request(api, "GET", "/hello")[0] == 200
    text = log.getvalue()
    assert "Task timed out after 2.00 seconds" in text
    assert "Error: Runtime exited with error: exit status 5" in text
    reports = [line for line in text.splitlines() if line.startswith("REPORT")]
    assert ["Init Duration" in line for line in reports] == [True, True, False, True]


def _timed_gets(api: LocalApi, count: int) -> tuple[float, set[str]]:
    """`count` GETs of /slow at once: how long they took together, and the pids of the environments."""
    answers: list[tuple[int, http.client.HTTPMessage, bytes]] = []
    threads = [threading.Thread(target=lambda: answers.append(request(api, "GET", "/slow"))) for _ in range(count)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [answer[0] for answer in answers] == [200] * count
    return time.monotonic() - started, {answer[1]["X-Pid"] for answer in answers}


def test_concurrent_requests_are_served_by_as_many_environments(tmp_path: Path) -> None:
    with running(_robust_project(tmp_path / "web"), max_concurrency=3) as (api, log):
        _timed_gets(api, 3)  # the cold starts
        elapsed, pids = _timed_gets(api, 3)
    assert len(pids) == 3  # three warm environments, each a process
    assert elapsed < 2.5  # about the time of one request (1 s), not of three in turn (3 s); slack for a loaded CI
    reports = [line for line in log.getvalue().splitlines() if line.startswith("REPORT")]
    assert ["Init Duration" in line for line in reports].count(True) == 3


def test_beyond_max_concurrency_requests_wait_for_a_free_environment(tmp_path: Path) -> None:
    with running(_robust_project(tmp_path / "web"), max_concurrency=1) as (api, _):
        elapsed, pids = _timed_gets(api, 2)
    assert len(pids) == 1
    assert elapsed >= 2.0


def test_template_edits_are_picked_up_like_code_edits(tmp_path: Path) -> None:
    template = _robust_project(tmp_path / "web")
    with running(template, max_concurrency=2) as (api, log):
        assert request(api, "GET", "/hello")[1]["X-Greeting"] == "one"
        template.write_text(template.read_text().replace("GREETING: one", "GREETING: two"))
        assert request(api, "GET", "/hello")[1]["X-Greeting"] == "two"
        template.write_text(template.read_text().replace("Timeout: 2", "Timeout: [not, a, number"))
        assert request(api, "GET", "/hello")[1]["X-Greeting"] == "two"  # the last good template still serves
    text = log.getvalue()
    assert "Code or template changed: the next invocations are cold starts." in text
    assert "start-api: the edited template cannot be used" in text


def test_max_concurrency_defaults_to_the_reserved_concurrency(tmp_path: Path) -> None:
    template = _robust_project(tmp_path / "web")
    function = read_functions(template)["WebFunction"]
    assert max_concurrency_of(function, None) == DEFAULT_MAX_CONCURRENCY
    assert max_concurrency_of(function, 7) == 7
    function.properties["ReservedConcurrentExecutions"] = 2
    assert max_concurrency_of(function, None) == 2
    function.properties["ReservedConcurrentExecutions"] = 0
    with pytest.raises(RunnerError, match="ReservedConcurrentExecutions 0: Lambda throttles every invocation"):
        max_concurrency_of(function, None)
    with pytest.raises(RunnerError, match="--max-concurrency must be at least 1"):
        max_concurrency_of(function, 0)


def test_http_details_head_chunked_bodies_and_header_injection(tmp_path: Path) -> None:
    template = _project(tmp_path / "web", URL_TEMPLATE)
    (template.parent / "src" / "app.py").write_text(
        "def handler(event, context):\n"
        "    return {'statusCode': 200, 'headers': {'X-Evil': 'a\\r\\nInjected: yes'}, 'body': 'hello'}\n"
    )
    with running(template) as (api, log):
        status, headers, body = request(api, "HEAD", "/anything")
        assert (status, headers["Content-Length"], body) == (200, "5", b"")
        assert headers["X-Evil"] == "a  Injected: yes"
        assert "Injected" not in headers
        assert headers["Server"] == "slsgen-start-api"  # no trailing space, no Python version
        connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
        try:
            # A chunked body is read to its end before the 411, so the client gets the answer, not a broken pipe.
            chunks = iter([b"a" * 65536] * 64 + [b"b"])
            connection.request("POST", "/anything", body=chunks, encode_chunked=True)
            answer = connection.getresponse()
            assert (answer.status, answer.getheader("Content-Type")) == (411, "application/json")
            assert json.loads(answer.read()) == {"message": "Length Required: send the body with a Content-Length"}
        finally:
            connection.close()
        assert '"POST /anything" 411 ' in logged(log, '"POST /anything" 411 ')  # an access-log line, as for others


def _request_ignoring_the_end(api: LocalApi, path: str) -> None:
    """A request that the server's stop cuts off (the client then sees the connection closed)."""
    with contextlib.suppress(http.client.HTTPException, OSError):
        request(api, "GET", path)


def test_stopping_the_server_ends_an_environment_stuck_in_a_request(tmp_path: Path) -> None:
    template = _robust_project(tmp_path / "web")
    template.write_text(template.read_text().replace("Timeout: 2", "Timeout: 60"))
    pid_file = tmp_path / "web" / "stuck.pid"
    with running(template) as (api, _):
        threading.Thread(target=_request_ignoring_the_end, args=(api, "/stuck"), daemon=True).start()
        deadline = time.monotonic() + 20
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text():
        assert time.monotonic() < deadline, "the stuck environment outlived the server"
        time.sleep(0.05)
