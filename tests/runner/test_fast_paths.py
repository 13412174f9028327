"""What keeps the runner fast must not change what it does: the YAML loaders and the template cache, ids, the
query split, the JSON log formatter and the partial argument parser."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import yaml

from generator.runner import cfn_yaml, cli, ids, logs
from generator.runner.errors import RunnerError
from generator.runner.http_events import (
    _query_pairs,
)
from generator.runner.template import load_template

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


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The template cache in a temporary folder, and bytecode writing allowed."""
    path = tmp_path / "cache" / "__pycache__" / "template-cache.json"
    monkeypatch.setattr(cfn_yaml, "CACHE_PATH", str(path))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    return path


def _settled(path: Path, text: str) -> Path:
    """Write a template last modified a minute ago (older than the cache's settling time)."""
    path.write_text(text)
    past = time.time() - 60
    os.utime(path, (past, past))
    return path


def _no_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(text: str) -> None:
        raise AssertionError("parsed YAML although the cache holds this template")

    monkeypatch.setattr(cfn_yaml, "parse_yaml", refuse)


def test_a_settled_template_is_read_from_the_cache_without_yaml(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = _settled(tmp_path / "template.yaml", TAGGED)
    first = load_template(template)
    assert json.loads(cache.read_text())["key"][1] == str(template)
    _no_yaml(monkeypatch)
    assert load_template(template) == first


def test_an_edited_template_is_parsed_again(tmp_path: Path, cache: Path) -> None:
    template = _settled(tmp_path / "template.yaml", TAGGED)
    load_template(template)
    _settled(template, TAGGED.replace("COUNT: 3", "COUNT: 4"))  # same size, another modification time
    variables = load_template(template)["Resources"]["Fn"]["Properties"]["Environment"]["Variables"]
    assert variables["COUNT"] == 4


def test_the_cache_is_not_written_when_it_could_not_be_trusted(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = tmp_path / "fresh.yaml"
    fresh.write_text(TAGGED)  # just written: an edit within the clock's granularity could go unnoticed
    load_template(fresh)
    assert not cache.exists()
    int_keys = _settled(tmp_path / "keys.yaml", TAGGED + "Mappings:\n  Codes: {200: ok}\n")
    assert load_template(int_keys)["Mappings"]["Codes"] == {200: "ok"}  # JSON would turn 200 into "200"
    assert not cache.exists()
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    load_template(_settled(tmp_path / "template.yaml", TAGGED))
    assert not cache.exists()


def test_a_damaged_or_foreign_cache_is_ignored(tmp_path: Path, cache: Path) -> None:
    template = _settled(tmp_path / "template.yaml", TAGGED)
    cache.parent.mkdir(parents=True)
    cache.write_text("{not json")
    assert load_template(template)["Resources"]["Fn"]["Type"] == "AWS::Serverless::Function"
    other = _settled(tmp_path / "other.yaml", TAGGED.replace("python3.12", "python3.13"))
    load_template(other)  # one slot: now it holds the other template
    assert load_template(template)["Resources"]["Fn"]["Properties"]["Runtime"] == "python3.12"


def test_uuid4_strings_are_version_4_uuids() -> None:
    seen = set()
    for _ in range(2000):
        text = ids.uuid4()
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)
        seen.add(text)
    assert len(seen) == 2000
    assert len(ids.random_hex(12)) == 24


def test_ids_stay_unique_across_pool_refills_and_in_a_forked_child() -> None:
    seen = {ids.uuid4() for _ in range(5000)}  # many refills of the pool
    assert len(seen) == 5000
    assert len({ids.random_hex(40) for _ in range(100)}) == 100  # longer than what is left in the pool
    assert len(ids.random_hex(300)) == 600  # longer than the pool itself
    if not hasattr(os, "fork"):
        return
    ids.uuid4()  # the pool holds unused digits that a child would repeat without its own pool
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        os.write(writer, ids.uuid4().encode())
        os._exit(0)
    os.close(writer)
    in_child = os.read(reader, 100).decode()
    os.close(reader)
    os.waitpid(child, 0)
    assert in_child != ids.uuid4()


def test_query_strings_split_as_parse_qsl_splits_them() -> None:
    for query in ["", "a=1", "a=1&a=2&b", "&&a=&=x&", "a=1;b=2", "n=%41+b", "x=a+b", "é=ü&k==v=w"]:
        assert _query_pairs(query) == parse_qsl(query, keep_blank_values=True), query


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
