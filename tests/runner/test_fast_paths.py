"""What keeps the runner fast must not change what it does: the YAML loaders, the
event payload that is not encoded and its size bound, the query split, the JSON log formatter, the partial
argument parser, and the in-process sandbox's long-lived set-up."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import yaml
from lambda_project import write_project

from generator.runner import cli
from generator.runner.config import cfn_yaml
from generator.runner.config.template import load_template, read_functions
from generator.runner.errors import RunnerError
from generator.runner.events.http_events import (
    HttpRequest,
    _query_pairs,
    event_size_bound,
    function_url_event,
    http_api_event,
    rest_api_event,
)
from generator.runner.local.api import Route, map_response
from generator.runner.runtime import logs
from generator.runner.runtime.serialize import (
    EventPayload,
    marshal_response,
    payload_bytes,
    payload_size_bound,
    unmarshal_request,
)
from generator.runner.sandboxes.choose import open_invoker
from generator.runner.service.invoke import Invocation

TAGGED = """\
AWSTemplateFormatVersion: "2010-09-09"
Version: 2010-09-09
Parameters:
  Stage: {Type: String, Default: dev}
Resources:
  Bucket:
    Type: AWS::S3::Bucket
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: src/
      Environment:
        Variables:
          BUCKET: !Ref Bucket
          ARN: !GetAtt Bucket.Arn
          ARN_LIST: !GetAtt [Bucket, Arn]
          URL: !Sub "https://${Bucket}.s3.amazonaws.com/${Stage}"
          SUB_LIST: !Sub ["${Name}-x", {Name: !Ref Stage}]
          JOINED: !Join [",", [a, !Ref Stage]]
          PICKED: !Select [1, [a, b]]
          CHOSEN: !If [IsProd, one, two]
          COUNT: 3
          FLAG: true
          ANCHORED: &anchor shared
          ALIAS: *anchor
"""


@pytest.mark.skipif(not getattr(yaml, "__with_libyaml__", False), reason="PyYAML built without libyaml")
def test_libyaml_and_pure_python_loaders_read_the_same_data() -> None:
    fast = yaml.load(TAGGED, Loader=cfn_yaml.cfn_loader())
    slow = yaml.load(TAGGED, Loader=cfn_yaml.cfn_loader(use_libyaml=False))
    assert issubclass(cfn_yaml.cfn_loader(), yaml.CSafeLoader)
    assert fast == slow


def test_cloudformation_tags_and_dates_read_as_cloudformation_does() -> None:
    data = cfn_yaml.parse_yaml(TAGGED)
    assert data["AWSTemplateFormatVersion"] == "2010-09-09"
    assert data["Version"] == "2010-09-09"  # a string, not a date
    variables = data["Resources"]["Fn"]["Properties"]["Environment"]["Variables"]
    assert variables["BUCKET"] == {"Ref": "Bucket"}
    assert variables["ARN"] == variables["ARN_LIST"] == {"Fn::GetAtt": ["Bucket", "Arn"]}
    assert variables["URL"] == {"Fn::Sub": "https://${Bucket}.s3.amazonaws.com/${Stage}"}
    assert variables["SUB_LIST"] == {"Fn::Sub": ["${Name}-x", {"Name": {"Ref": "Stage"}}]}
    assert variables["JOINED"] == {"Fn::Join": [",", ["a", {"Ref": "Stage"}]]}
    assert variables["PICKED"] == {"Fn::Select": [1, ["a", "b"]]}
    assert variables["CHOSEN"] == {"Fn::If": ["IsProd", "one", "two"]}
    assert (variables["COUNT"], variables["FLAG"], variables["ALIAS"]) == (3, True, "shared")


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text("Resources:\n  Fn: [unclosed\n")
    with pytest.raises(RunnerError, match=r"template\.yaml line \d+ is not valid YAML: "):
        load_template(template)


def test_reading_a_template_writes_nothing_into_the_runner_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner may be installed read-only (a vendored copy, a wheel): reading a template leaves it untouched."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # the old JSON cache was written only then
    package = Path(cli.__file__).resolve().parent
    before = {path: path.stat().st_mtime_ns for path in package.rglob("*") if path.suffix != ".pyc"}
    template = tmp_path / "template.yaml"
    template.write_text(TAGGED)
    past = time.time() - 60  # settled: the old JSON cache wrote only templates older than two seconds
    os.utime(template, (past, past))
    assert load_template(template)["Resources"]["Fn"]["Type"] == "AWS::Serverless::Function"
    after = {path: path.stat().st_mtime_ns for path in package.rglob("*") if path.suffix != ".pyc"}
    assert after == before


def test_event_payload_hands_over_its_event_without_encoding_it() -> None:
    event = {"rawPath": "/a", "headers": {"h": "1"}, "cookies": ["c=1"], "n": 3, "b": False, "none": None}
    payload = EventPayload(event, size_bound=10_000)
    assert payload_size_bound(payload) == 10_000
    assert unmarshal_request(payload) is event
    with pytest.raises(RuntimeError, match="before it was encoded"):
        payload_bytes(payload)  # the function holds the object now: its bytes can no longer be made

    encoded_first = EventPayload(event, size_bound=10_000)
    assert payload_bytes(encoded_first) == json.dumps(event).encode()  # for a worker process, or the exact size
    assert unmarshal_request(encoded_first) is event
    again = unmarshal_request(encoded_first)  # then a fresh, equal object
    assert again == event
    assert again is not event
    assert payload_bytes(b"{}") == b"{}"
    assert payload_size_bound(b"{}") == 2


# Requests whose text JSON must escape, repeats, and big parts: the bound must hold for the worst of them.
_AWKWARD = '\x01"\\é\u2028😀<>&'


def _awkward_requests() -> list[HttpRequest]:
    headers = [("Host", "h.example"), ("User-Agent", _AWKWARD * 20), ("Cookie", "a=1; b=" + _AWKWARD)]
    headers += [("X-Repeat", _AWKWARD)] * 30 + [("Content-Type", "application/octet-stream")]
    path = "/items/" + "%01%22%E2%80%A8" * 200 + "/" + _AWKWARD
    query = "&".join(f"k{i}=%01%E2%80%A8{_AWKWARD}&k{i}=+" for i in range(50))
    return [
        HttpRequest("GET", path, query, headers, b""),
        HttpRequest("POST", path, query, [*headers[:-1], ("Content-Type", "text/plain")], b'\x01\xff"' * 3000),
        HttpRequest("POST", path, query, headers, bytes(range(256)) * 40),
        HttpRequest("GET", "/", "", [], b""),
        # The worst case: characters JSON writes in 6 bytes, in the parts an event repeats most.
        HttpRequest("GET", "/" + "\x01" * 4000, "", [("Host", "\x01" * 4000), ("User-Agent", "\x01" * 4000)], b""),
    ]


@pytest.mark.parametrize("request_", _awkward_requests())
def test_event_size_bound_holds_for_every_event_shape(request_: HttpRequest) -> None:
    domain, route, stage = request_.header("host") or "127.0.0.1:3000", "ANY /items/{id}/{rest+}", "dev"
    head = f"{request_.method} {request_.path}?{request_.query} HTTP/1.1\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in request_.headers) + "\r\n"
    on_the_wire = len(head.encode("latin-1", "replace")) + len(request_.body)
    bound = event_size_bound(on_the_wire, domain, route, stage, "/items/{id}/{rest+}", request_.source_ip)
    events = [
        http_api_event(request_, route_key=route, stage=stage, domain_name=domain),
        function_url_event(request_, domain_name=domain),
        rest_api_event(request_, resource="/items/{id}/{rest+}", stage=stage, domain_name=domain),
        rest_api_event(request_, stage=stage, domain_name=domain, binary_media_types=("*/*",), payload_version="1.0"),
        rest_api_event(request_, stage=stage, domain_name=domain),  # the path as the resource too
    ]
    sizes = [len(EventPayload(event, bound).encode()) for event in events]
    assert max(sizes) <= bound
    assert bound < 6_291_456  # these are still ordinary requests: no exact encoding needed to pass them


def test_query_strings_split_as_parse_qsl_splits_them() -> None:
    for query in ["", "a=1", "a=1&a=2&b", "&&a=&=x&", "a=1;b=2", "n=%41+b", "x=a+b", "é=ü&k==v=w"]:
        assert _query_pairs(query) == parse_qsl(query, keep_blank_values=True), query


_PROXY_RESULTS = [
    {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": '{"message": "hi"}'},
    {"statusCode": 201, "headers": {"n": 5, "b": True, "f": 1.5, "none": None}, "body": "x"},
    {"statusCode": "202", "body": {"nested": [1, 2]}},
    {"statusCode": True, "body": 5},
    {"statusCode": 200.0, "body": None, "isBase64Encoded": "yes"},
    {"statusCode": Decimal("203"), "body": "QUJD", "isBase64Encoded": True},
    {"statusCode": 200, "cookies": ("a=1", "b=2"), "multiValueHeaders": {"x": ("1", "2")}},
    {"statusCode": 200, "cookies": ["a=1", 3], "multiValueHeaders": {"x": ["1", 2]}, "headers": {"x": "h"}},
    {"statusCode": 200, "cookies": ["a=1"], "multiValueHeaders": {"X": ["1", "2"]}, "headers": {"x": "h"}},
    {"statusCode": 200, 1: "not a field", "body": "é", "isBase64Encoded": False, "headers": None},
    {"hello": "world"},
    {"statusCode": None, "body": "no status"},
    # What only the JSON shows: a Decimal is a plain number there (1.10 reads back as 1.1).
    {"statusCode": 200, "headers": {"version": Decimal("1.10")}, "body": "x"},
    {"statusCode": 200, "body": {"price": Decimal("9.90")}},
]


@pytest.mark.parametrize("result", _PROXY_RESULTS)
def test_a_returned_dict_maps_to_the_response_its_json_maps_to(result: dict) -> None:
    payload = marshal_response(result)
    for route in (
        Route("rest", "GET", "/x", "1.0", "Prod"),
        Route("http", "ANY", None, "2.0", "$default"),
        Route("http", "GET", "/x", "1.0", "$default"),
    ):
        from_json = map_response(route, Invocation("r", payload, None, "success", 1.0, 1, None, 64), io.StringIO())
        held = Invocation("r", payload, None, "success", 1.0, 1, None, 64, returned=result)
        from_dict = map_response(route, held, io.StringIO())
        assert (from_dict.status, from_dict.headers, from_dict.body) == (
            from_json.status,
            from_json.headers,
            from_json.body,
        ), route


def test_a_plain_returned_dict_is_not_decoded_again() -> None:
    result = _PROXY_RESULTS[0]
    held = Invocation("r", b"not json: the dict is what is read", None, "success", 1.0, 1, None, 64, returned=result)
    response = map_response(Route("http", "ANY", None, "2.0", "$default"), held, io.StringIO())
    assert (response.status, response.body) == (200, b'{"message": "hi"}')


def _json_record(**extra: object) -> dict:
    formatter = logs.JsonFormatter()
    record = logging.getLogger("orders").makeRecord("orders", logging.INFO, "/f.py", 3, "saved %s", ("it",), None)
    for key, value in extra.items():
        setattr(record, key, value)
    record.aws_request_id = "req-1"
    record.tenant_id = None
    return json.loads(formatter.format(record))


def test_json_log_records_keep_lambdas_fields_and_order() -> None:
    record = _json_record(order=7, gone=None, level="shadowed", requestId="shadowed", errorType="kept")
    assert list(record) == ["timestamp", "level", "message", "logger", "requestId", "order", "errorType"]
    assert (record["level"], record["message"], record["requestId"]) == ("INFO", "saved it", "req-1")

    class Custom(logging.LogRecord):  # a record class of the function's own: every attribute is looked at
        pass

    formatter = logs.JsonFormatter()
    custom = Custom("c", logging.WARNING, "/f.py", 1, {"structured": True}, None, None)
    custom.aws_request_id, custom.tenant_id, custom.shop = "", "tenant-9", object()
    made = json.loads(formatter.format(custom))
    assert made["message"] == {"structured": True}
    assert "requestId" not in made
    assert made["tenantId"] == "tenant-9"
    assert made["shop"].startswith("<object object")  # default=str, as the runtime writes what JSON cannot
    nameless = json.loads(formatter.format(logging.makeLogRecord({"msg": "m", "levelno": 20, "extra_field": 1})))
    assert "logger" not in nameless
    assert nameless["extra_field"] == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["invoke"],
        ["invoke", "Fn", "-e", "events/x.json", "-q", "--repeat", "3", "--isolated"],
        ["invoke", "--events=x.jsonl", "--invocation-type", "Event", "-t", "t.yaml", "--seed", "s3://b/k=f"],
        ["start-api", "Fn", "--port", "3001", "--host", "0.0.0.0", "--local-aws", "--json-platform-logs"],
        ["functions", "--template", "t.yaml"],
        ["event", "s3", "put", "--bucket", "b"],
    ],
)
def test_the_partial_parser_parses_like_the_full_one(argv: list[str]) -> None:
    full = cli.build_parser().parse_known_args(argv)
    partial = cli.build_parser(argv[0]).parse_known_args(argv)
    assert vars(partial[0]) == vars(full[0])
    assert partial[1] == full[1]


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="needs the main thread")
def test_in_process_alarm_handler_lives_with_the_warm_environment(tmp_path: Path) -> None:
    code = (
        "import signal, time\n\n"
        "def handler(event, context):\n"
        "    if event.get('replace'):\n"
        "        signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
        "    time.sleep(event.get('sleep', 0))\n"
        "    return 'ok'\n"
    )
    function = read_functions(write_project(tmp_path, code, properties="Timeout: 1\n") / "template.yaml")["Fn"]
    before = signal.getsignal(signal.SIGALRM)
    invoker = open_invoker(function, log=io.StringIO())
    try:
        assert invoker.invoke(b"{}").ok
        assert signal.getsignal(signal.SIGALRM) is not before  # kept installed between warm calls
        time.sleep(1.2)  # the timer of the call above runs out between calls, and does nothing
        assert invoker.invoke(b"{}").ok
        assert invoker.invoke(b'{"replace": true}').ok  # the function replaces it...
        assert invoker.invoke(b'{"sleep": 3}').status == "timeout"  # ...and the next call still times out
    finally:
        invoker.close()
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_serving_sandbox_points_the_descriptors_at_the_log_while_warm(tmp_path: Path) -> None:
    code = "import os\n\ndef handler(event, context):\n    os.write(1, b'from C level\\n')\n    return 'ok'\n"
    function = read_functions(write_project(tmp_path, code) / "template.yaml")["Fn"]
    log_path = tmp_path / "server.log"
    before = os.fstat(1).st_ino, os.fstat(2).st_ino
    with open(log_path, "w") as log:
        invoker = open_invoker(function, log=log, serving=True)
        try:
            assert invoker.invoke(b"{}").ok
            assert os.fstat(1).st_ino == os.fstat(log.fileno()).st_ino  # still, between invocations
            assert invoker.invoke(b"{}").ok
        finally:
            invoker.close()
    assert (os.fstat(1).st_ino, os.fstat(2).st_ino) == before
    lines = log_path.read_text().splitlines()
    assert lines.count("from C level") == 2
    assert lines.index("from C level") > next(i for i, line in enumerate(lines) if line.startswith("START"))
