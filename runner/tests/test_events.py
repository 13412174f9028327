"""Sample events: exact shapes, field parsing, determinism, and the errors a user sees."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import unquote_plus

import pytest

from lambda_runner.errors import RunnerError
from lambda_runner.events.catalog import (
    FIELDS,
    SOURCES,
    HttpRequest,
    build_event,
    function_url_event,
    http_api_event,
    match_route,
    rest_api_event,
    route_specificity,
)


@pytest.fixture(autouse=True)
def _region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")


def test_every_listed_kind_builds_with_defaults_and_is_deterministic() -> None:
    for source, kinds in SOURCES.items():
        assert set(FIELDS[source]), source
        for kind in kinds:
            first = build_event(source, kind, {})
            assert json.dumps(first) == json.dumps(build_event(source, kind, {})), (source, kind)


def test_unknown_source_kind_and_field_name_the_choices() -> None:
    with pytest.raises(RunnerError, match=r"unknown event source 'sq'; choose from: apigw-http, apigw-rest"):
        build_event("sq", "message", {})
    with pytest.raises(RunnerError, match=r"unknown s3 event kind 'get'; choose from: put, delete$"):
        build_event("s3", "get", {})
    with pytest.raises(RunnerError, match=r"s3 events have no field 'colour'; choose from: bucket, key, size, etag$"):
        build_event("s3", "put", {"colour": "red"})


def test_bad_field_values_are_user_errors() -> None:
    with pytest.raises(RunnerError, match=r"--count must be a whole number of at least 1, not '0'"):
        build_event("sqs", "message", {"count": "0"})
    with pytest.raises(RunnerError, match=r"--header must look like 'Name: value', not 'oops'"):
        build_event("apigw-http", "request", {"header": "oops"})
    with pytest.raises(RunnerError, match=r"--keys must be JSON"):
        build_event("dynamodb", "insert", {"keys": "{id: 1}"})
    with pytest.raises(RunnerError, match=r"--method was given 2 times; it takes one value"):
        build_event("apigw-http", "request", {"method": ["GET", "POST"]})
    with pytest.raises(RunnerError, match=r"--path /x does not match --resource /items/\{id\}"):
        build_event("apigw-rest", "request", {"path": "/x", "resource": "/items/{id}"})


def test_http_api_v2_request_shape() -> None:
    event = build_event(
        "apigw-http",
        "request",
        {
            "method": "post",
            "path": "/items/42",
            "query": "a=1&a=2&b=x",
            "body": '{"name": "Ada"}',
            "header": ["X-Tag: one", "X-Tag: two"],
            "cookie": "session=abc; theme=dark",
            "route": "POST /items/{id}",
        },
    )
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /items/{id}"
    assert event["rawPath"] == "/items/42"
    assert event["rawQueryString"] == "a=1&a=2&b=x"
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x"}
    assert event["pathParameters"] == {"id": "42"}
    assert event["headers"]["x-tag"] == "one,two"
    assert event["headers"]["content-type"] == "application/json"
    assert "cookie" not in event["headers"]
    assert all(name == name.lower() for name in event["headers"])
    assert event["body"] == '{"name": "Ada"}'
    assert event["isBase64Encoded"] is False
    assert event["requestContext"] == {
        "accountId": "123456789012",
        "apiId": "a1b2c3d4e5",
        "domainName": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
        "domainPrefix": "a1b2c3d4e5",
        "http": {
            "method": "POST",
            "path": "/items/42",
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": "curl/8.5.0",
        },
        "requestId": "c0ffee00-0000-4000-8000-000000000001",
        "routeKey": "POST /items/{id}",
        "stage": "$default",
        "time": "01/Jan/2026:12:00:00 +0000",
        "timeEpoch": 1767268800000,
    }
    assert "multiValueHeaders" not in event


def test_http_api_get_without_body_or_query_omits_them() -> None:
    event = build_event("apigw-http", "request", {})
    assert event["routeKey"] == "$default"
    assert event["rawQueryString"] == ""
    for absent in ("body", "cookies", "queryStringParameters", "pathParameters", "stageVariables"):
        assert absent not in event
    assert event["isBase64Encoded"] is False


def test_query_field_is_sent_percent_encoded_as_a_client_sends_it() -> None:
    event = build_event("apigw-http", "request", {"query": "name=A d&city=Zoë&plus=%2B"})
    assert event["rawQueryString"] == "name=A%20d&city=Zo%C3%AB&plus=%2B"
    assert event["queryStringParameters"] == {"name": "A d", "city": "Zoë", "plus": "+"}
    rest = build_event("apigw-rest", "request", {"query": "?name=A d"})
    assert rest["queryStringParameters"] == {"name": "A d"}
    url = build_event("function-url", "request", {"query": "q=a b"})
    assert url["rawQueryString"] == "q=a%20b"


def test_header_field_takes_one_header_per_line_and_overrides_defaults() -> None:
    event = build_event("apigw-http", "request", {"header": "User-Agent: probe/1\nX-Id: 7"})
    assert event["headers"]["user-agent"] == "probe/1"
    assert event["headers"]["x-id"] == "7"
    assert event["requestContext"]["http"]["userAgent"] == "probe/1"


def test_binary_body_is_base64_in_v2_but_text_in_rest_without_binary_media_types() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    request = HttpRequest(method="POST", path="/upload", headers=[("Content-Type", "image/png")], body=png)
    v2 = http_api_event(request)
    assert v2["isBase64Encoded"] is True
    assert base64.b64decode(v2["body"]) == png
    rest = rest_api_event(request)
    assert rest["isBase64Encoded"] is False
    assert rest["body"] == png.decode("utf-8", errors="replace")
    rest_binary = rest_api_event(request, binary_media_types=["image/*"])
    assert rest_binary["isBase64Encoded"] is True
    assert base64.b64decode(rest_binary["body"]) == png


def test_form_posts_arrive_base64_encoded_in_v2() -> None:
    request = HttpRequest(
        method="POST", headers=[("Content-Type", "application/x-www-form-urlencoded")], body=b"a=1&b=2"
    )
    event = function_url_event(request)
    assert event["isBase64Encoded"] is True
    assert event["body"] == base64.b64encode(b"a=1&b=2").decode()


def test_rest_v1_request_shape_differs_from_v2() -> None:
    event = build_event(
        "apigw-rest",
        "request",
        {
            "method": "PUT",
            "path": "/items/42",
            "resource": "/items/{id}",
            "query": "a=1&a=2",
            "header": ["X-Tag: one", "X-Tag: two"],
            "cookie": "session=abc",
        },
    )
    assert "version" not in event
    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/42"
    assert event["httpMethod"] == "PUT"
    assert event["headers"]["X-Tag"] == "two"
    assert event["multiValueHeaders"]["X-Tag"] == ["one", "two"]
    assert event["headers"]["Cookie"] == "session=abc"
    assert event["queryStringParameters"] == {"a": "2"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["pathParameters"] == {"id": "42"}
    assert event["stageVariables"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["path"] == "/Prod/items/42"
    assert context["stage"] == "Prod"
    assert context["resourcePath"] == "/items/{id}"
    assert context["httpMethod"] == "PUT"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "curl/8.5.0"
    assert context["requestTimeEpoch"] == 1767268800000
    for v2_only in ("rawPath", "rawQueryString", "cookies", "routeKey"):
        assert v2_only not in event


def test_rest_without_query_has_null_maps() -> None:
    event = build_event("apigw-rest", "request", {"path": "/health"})
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None
    assert event["resource"] == "/health"


def test_http_api_payload_v1_has_version_and_no_stage_prefix() -> None:
    event = build_event("apigw-http", "request-v1", {"path": "/items/7", "route": "GET /items/{id}"})
    assert event["version"] == "1.0"
    assert event["resource"] == "/items/{id}"
    assert event["pathParameters"] == {"id": "7"}
    assert event["requestContext"]["path"] == "/items/7"
    assert event["requestContext"]["stage"] == "$default"


def test_function_url_request_context() -> None:
    event = build_event("function-url", "request", {"path": "/hello", "query": "name=Ada"})
    context = event["requestContext"]
    assert event["routeKey"] == "$default"
    assert context["domainName"] == "abcdefghijklmnopqrstuvwxyz234567.lambda-url.eu-west-1.on.aws"
    assert context["domainPrefix"] == "abcdefghijklmnopqrstuvwxyz234567"
    assert context["apiId"] == "abcdefghijklmnopqrstuvwxyz234567"
    assert context["routeKey"] == "$default"
    assert context["stage"] == "$default"
    assert context["authorizer"] is None
    assert context["authentication"] is None
    assert event["pathParameters"] is None
    assert event["stageVariables"] is None
    assert event["headers"]["host"] == "abcdefghijklmnopqrstuvwxyz234567.lambda-url.eu-west-1.on.aws"
    assert event["queryStringParameters"] == {"name": "Ada"}
    iam = build_event("function-url", "request", {"auth-type": "aws_iam"})["requestContext"]["authorizer"]["iam"]
    assert iam["accountId"] == "123456789012"


def test_body_from_file(tmp_path) -> None:
    data = tmp_path / "in.json"
    data.write_text('{"from": "file"}')
    event = build_event("apigw-http", "request", {"body": f"@{data}", "method": "POST"})
    assert event["body"] == '{"from": "file"}'
    with pytest.raises(RunnerError, match=r"--body @.*missing.json: cannot read"):
        build_event("apigw-http", "request", {"body": f"@{tmp_path / 'missing.json'}"})


def test_route_matching_and_specificity() -> None:
    assert match_route("/items/{id}", "/items/42") == {"id": "42"}
    assert match_route("/items/{id}", "/items/42/parts") is None
    assert match_route("/items/{id}", "/items") is None
    assert match_route("/files/{proxy+}", "/files/a/b/c.txt") == {"proxy": "a/b/c.txt"}
    assert match_route("/{proxy+}", "/") is None
    assert match_route("/", "/") == {}
    assert match_route("/health", "/health/") == {}
    ordered = sorted(["/{proxy+}", "/items/{id}", "/items/special"], key=route_specificity)
    assert ordered == ["/items/special", "/items/{id}", "/{proxy+}"]


def test_s3_put_encodes_the_key_as_s3_does() -> None:
    event = build_event("s3", "put", {"bucket": "photos", "key": "uploads/my photo+1.jpg", "size": "2048"})
    (record,) = event["Records"]
    assert record["eventSource"] == "aws:s3"
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["awsRegion"] == "eu-west-1"
    assert record["eventTime"] == "2026-01-01T12:00:00.000Z"
    assert record["s3"]["bucket"] == {
        "name": "photos",
        "ownerIdentity": {"principalId": "A3LOCALOWNER"},
        "arn": "arn:aws:s3:::photos",
    }
    obj = record["s3"]["object"]
    assert obj["key"] == "uploads/my+photo%2B1.jpg"
    assert unquote_plus(obj["key"]) == "uploads/my photo+1.jpg"
    assert obj["size"] == 2048
    assert obj["eTag"] == hashlib.md5(b"uploads/my photo+1.jpg").hexdigest()


def test_s3_delete_has_no_size_or_etag() -> None:
    (record,) = build_event("s3", "delete", {"key": "a b.txt"})["Records"]
    assert record["eventName"] == "ObjectRemoved:Delete"
    assert record["s3"]["object"] == {"key": "a+b.txt", "sequencer": "0A1B2C3D4E5F678900"}


def test_s3_repeated_key_gives_one_record_per_key() -> None:
    records = build_event("s3", "put", {"key": ["a b.jpg", "c.jpg"]})["Records"]
    assert [record["s3"]["object"]["key"] for record in records] == ["a+b.jpg", "c.jpg"]
    assert [record["s3"]["object"]["sequencer"] for record in records] == ["0A1B2C3D4E5F678900", "0A1B2C3D4E5F678901"]


def test_sqs_count_gives_distinct_message_ids() -> None:
    event = build_event("sqs", "message", {"body": "hello", "queue": "orders", "count": "3"})
    records = event["Records"]
    assert len(records) == 3
    assert len({record["messageId"] for record in records}) == 3
    first = records[0]
    assert first["body"] == "hello"
    assert first["md5OfBody"] == hashlib.md5(b"hello").hexdigest()
    assert first["eventSourceARN"] == "arn:aws:sqs:eu-west-1:123456789012:orders"
    assert first["attributes"]["ApproximateReceiveCount"] == "1"
    assert "MessageGroupId" not in first["attributes"]
    fifo = build_event("sqs", "message", {"queue": "orders.fifo"})["Records"][0]["attributes"]
    assert fifo["MessageGroupId"] == "1"
    assert len(fifo["MessageDeduplicationId"]) == 64


def test_kinesis_data_is_base64_of_the_payload() -> None:
    event = build_event("kinesis", "record", {"data": '{"temp": 21.5}', "stream": "sensors", "count": "2"})
    records = event["Records"]
    assert len(records) == 2
    assert json.loads(base64.b64decode(records[0]["kinesis"]["data"])) == {"temp": 21.5}
    assert records[0]["kinesis"]["sequenceNumber"] != records[1]["kinesis"]["sequenceNumber"]
    assert records[1]["eventSourceARN"] == "arn:aws:kinesis:eu-west-1:123456789012:stream/sensors"
    assert records[0]["eventID"] == f"shardId-000000000000:{records[0]['kinesis']['sequenceNumber']}"


def test_dynamodb_images_are_dynamodb_json() -> None:
    insert = build_event(
        "dynamodb",
        "insert",
        {"table": "users", "keys": '{"id": 101}', "new-image": '{"name": "Ada", "tags": ["a"], "ok": true}'},
    )["Records"][0]
    assert insert["eventName"] == "INSERT"
    assert insert["dynamodb"]["Keys"] == {"id": {"N": "101"}}
    assert insert["dynamodb"]["NewImage"] == {
        "id": {"N": "101"},
        "name": {"S": "Ada"},
        "tags": {"L": [{"S": "a"}]},
        "ok": {"BOOL": True},
    }
    assert "OldImage" not in insert["dynamodb"]
    assert insert["eventSourceARN"].startswith("arn:aws:dynamodb:eu-west-1:123456789012:table/users/stream/")
    modify = build_event("dynamodb", "modify", {})["Records"][0]["dynamodb"]
    assert modify["OldImage"] == {"id": {"S": "1"}, "message": {"S": "hi"}}
    assert modify["NewImage"] == {"id": {"S": "1"}, "message": {"S": "hello"}}
    remove = build_event("dynamodb", "remove", {"view-type": "KEYS_ONLY"})["Records"][0]
    assert remove["eventName"] == "REMOVE"
    assert set(remove["dynamodb"]) == {
        "ApproximateCreationDateTime",
        "Keys",
        "SequenceNumber",
        "SizeBytes",
        "StreamViewType",
    }


def test_schedule_event() -> None:
    assert build_event("schedule", "event", {"rule": "nightly"}) == {
        "version": "0",
        "id": build_event("schedule", "event", {})["id"],
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-01-01T12:00:00Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/nightly"],
        "detail": {},
    }


def test_eventbridge_and_sns() -> None:
    event = build_event("eventbridge", "event", {"source": "shop", "detail": '{"order": 1}'})
    assert (event["source"], event["detail-type"], event["detail"]) == ("shop", "Example Event", {"order": 1})
    sns = build_event("sns", "notification", {"message": "hi", "topic": "alerts"})["Records"][0]
    assert sns["Sns"]["Message"] == "hi"
    assert sns["Sns"]["Subject"] is None
    assert sns["Sns"]["TopicArn"] == "arn:aws:sns:eu-west-1:123456789012:alerts"


def test_alexa_intent_with_slots() -> None:
    event = build_event(
        "alexa",
        "intent",
        {"intent": "GreetIntent", "slots": "name=Ada, city=Paris", "locale": "de-DE", "skill-id": "amzn1.ask.skill.x"},
    )
    assert event["version"] == "1.0"
    assert event["session"]["application"] == {"applicationId": "amzn1.ask.skill.x"}
    assert event["context"]["System"]["application"] == {"applicationId": "amzn1.ask.skill.x"}
    request = event["request"]
    assert request["type"] == "IntentRequest"
    assert request["locale"] == "de-DE"
    assert request["requestId"].startswith("amzn1.echo-api.request.")
    assert request["intent"] == {
        "name": "GreetIntent",
        "confirmationStatus": "NONE",
        "slots": {
            "name": {"name": "name", "value": "Ada", "confirmationStatus": "NONE"},
            "city": {"name": "city", "value": "Paris", "confirmationStatus": "NONE"},
        },
    }


def test_alexa_launch_and_session_ended() -> None:
    launch = build_event("alexa", "launch", {})
    assert launch["request"]["type"] == "LaunchRequest"
    assert "intent" not in launch["request"]
    assert launch["session"]["new"] is True
    ended = build_event("alexa", "session-ended", {"reason": "error", "new-session": "false"})
    assert ended["request"]["type"] == "SessionEndedRequest"
    assert ended["request"]["reason"] == "ERROR"
    assert ended["request"]["error"]["type"] == "INVALID_RESPONSE"
    assert ended["session"]["new"] is False
    with pytest.raises(RunnerError, match=r"--slots must look like name=Ada,city=Paris, not 'Ada'"):
        build_event("alexa", "intent", {"slots": "Ada"})


def test_underscored_field_names_are_accepted() -> None:
    event = build_event("alexa", "launch", {"skill_id": "amzn1.ask.skill.y"})
    assert event["session"]["application"]["applicationId"] == "amzn1.ask.skill.y"
