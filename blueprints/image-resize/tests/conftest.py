{% extends "skeleton/tests/conftest.py" %}
{%- block imports %}
from collections.abc import Iterator

import boto3
from moto import mock_aws

from {{ cookiecutter.runner }}.events import S3Object, s3_event
{%- endblock %}
{%- block fixtures %}


@pytest.fixture
def s3(function_environment: dict[str, str]) -> Iterator[Any]:
    """An S3 client on moto's in-memory S3, holding the buckets the function's environment names (no AWS account)."""
    with mock_aws():
        client = boto3.client("s3", region_name=function_environment["AWS_REGION"])
        location = {}
        if client.meta.region_name != "us-east-1":
            location = {"CreateBucketConfiguration": {"LocationConstraint": client.meta.region_name}}
        for variable in ("SOURCE_BUCKET", "DEST_BUCKET"):
            client.create_bucket(Bucket=function_environment[variable], **location)
        yield client


@pytest.fixture
def upload(s3: Any, function_environment: dict[str, str]) -> Callable[..., dict[str, Any]]:
    """Put objects in a bucket (the source bucket by default) and return the S3 event announcing them.

    The event comes from the same builder as events/*.json, so its keys are URL-encoded exactly as S3 sends them.
    """

    def put(*objects: tuple[str, bytes], bucket: str | None = None) -> dict[str, Any]:
        bucket = bucket or function_environment["SOURCE_BUCKET"]
        for key, body in objects:
            s3.put_object(Bucket=bucket, Key=key, Body=body)
        return s3_event([S3Object(bucket, key, len(body)) for key, body in objects])

    return put
{%- endblock %}
