"""What keeps the runner fast must not change what it does: the YAML loaders, the query split, the JSON log
formatter and the partial argument parser."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import yaml

from lambda_runner import cli
from lambda_runner.config import cfn_yaml
from lambda_runner.config.template import load_template
from lambda_runner.errors import RunnerError
from lambda_runner.events.http_events import (
    _query_pairs,
)
from lambda_runner.runtime import logs

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
    assert made["requestId"] == ""  # awslambdaric drops only None: an empty id (during INIT) is written
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
