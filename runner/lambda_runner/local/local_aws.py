"""`--local-aws`: run the function against a throwaway, in-process AWS (moto's server) built from template.yaml.

The function's code talks to AWS with its normal SDK calls; `AWS_ENDPOINT_URL` sends every call to a moto server
on 127.0.0.1. Before the invocation, the buckets, queues, streams, tables and topics that template.yaml declares
exist under the same physical names that `template.Resolver` gives `!Ref`/`!GetAtt`/`!Sub` (so an environment
variable `!Ref ThumbnailBucket` names a bucket that exists), and each `--seed s3://bucket/key=./file` is uploaded.
Afterwards the runner shows what the function wrote (new or changed S3 objects against the state after seeding,
messages left in queues, items in tables, records in streams) and can download the written objects.

moto and boto3 are imported only here, and only when this mode is used: generated projects do not need them to
run anything else.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import mimetypes
import os
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..account import region
from ..config.template import FunctionConfig, Resolver, default_stack_name, load_template
from ..errors import RunnerError
from ..events.record_events import S3Object, s3_event
from ..wording import counted

if TYPE_CHECKING:
    from ..runtime.result import Invocation
    from ..service.invoke import Invoker

MOTO_MISSING = "--local-aws needs moto[server]: pip install 'moto[server]'"
SEED_FORM = "s3://BUCKET/KEY=./FILE"
PREFIX = "[local-aws]"
# moto accepts any credentials; these can never reach a real account, even if the endpoint override were lost.
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
_MAX_MESSAGES = 100  # per queue, in the report: enough to see what happened without flooding the terminal
_MAX_ITEMS = 10  # per table, in the report


@dataclass(frozen=True)
class Seed:
    """One `--seed`: a local file uploaded to `s3://bucket/key` before the function runs."""

    bucket: str
    key: str
    path: Path

    @property
    def etag(self) -> str:
        """The ETag S3 gives a single-part upload: the MD5 of the content."""
        return hashlib.md5(self.path.read_bytes(), usedforsecurity=False).hexdigest()


def parse_seed(spec: str) -> Seed:
    """Read `s3://bucket/key=./file`; the last `=` splits key from file, so keys like `year=2026/a.csv` work."""
    target, sep, file_part = spec.rpartition("=")
    bucket, slash, key = target.removeprefix("s3://").partition("/")
    if not sep or not target.startswith("s3://") or not bucket or not slash or not key or not file_part:
        raise RunnerError(f"--seed {spec!r} is not of the form {SEED_FORM}")
    path = Path(file_part).expanduser()
    if not path.is_file():
        raise RunnerError(f"--seed {spec!r}: no file {path}")
    return Seed(bucket, key, path)


def seed_event(seeds: list[str]) -> dict[str, Any]:
    """An S3 put event for the seeded objects, for `invoke --local-aws --seed ...` without an event file."""
    parsed = [parse_seed(spec) for spec in seeds]
    if not parsed:
        raise RunnerError(f"no event given and no --seed to build one from: pass an event or --seed {SEED_FORM}")
    return s3_event([S3Object(seed.bucket, seed.key, seed.path.stat().st_size, seed.etag) for seed in parsed])


# ------------------------------------------------------------------------------------------------- resources


@dataclass
class Created:
    """What the template made exist locally: kind -> physical names, in template order."""

    buckets: list[str] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)
    streams: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)


@functools.cache
def _boto3_session() -> Any:
    """One boto3 session per process: it keeps the service models it has read, so that the clients of each test's
    `local_aws` are made in milliseconds instead of reading S3's model again (0.25 s a client). Region and
    credentials are given to each client."""
    import boto3

    return boto3.session.Session()


class _Clients:
    """boto3 clients for the local endpoint, with dummy credentials that cannot reach a real account."""

    def __init__(self, endpoint: str | None) -> None:  # None: boto3's own endpoints
        self._session = _boto3_session()
        self._endpoint = endpoint
        self._made: dict[str, Any] = {}

    def __getattr__(self, service: str) -> Any:
        if service.startswith("_"):
            raise AttributeError(service)
        if service not in self._made:
            self._made[service] = self._session.client(
                service,
                endpoint_url=self._endpoint,
                region_name=region(),
                aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
            )
        return self._made[service]


def _resolved(resolver: Resolver, node: Any) -> Any:
    """A property tree with intrinsics replaced by local values; numbers and booleans stay what they are."""
    if isinstance(node, dict):
        if len(node) == 1 and (next(iter(node)) == "Ref" or next(iter(node)).startswith("Fn::")):
            return resolver.value(node)
        return {key: _resolved(resolver, value) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolved(resolver, item) for item in node]
    return node


_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "SqsManagedSseEnabled",
    "RedrivePolicy",
    "RedriveAllowPolicy",
)


def _queue_attributes(props: dict[str, Any]) -> dict[str, str]:
    attributes = {}
    for name in _QUEUE_ATTRIBUTES:
        if name not in props:
            continue
        value = props[name]
        if isinstance(value, bool):
            attributes[name] = "true" if value else "false"
        elif isinstance(value, (dict, list)):
            attributes[name] = json.dumps(value)
        else:
            attributes[name] = str(value)
    return attributes


def _table_request(name: str, props: dict[str, Any]) -> dict[str, Any]:
    """`create_table` arguments from an `AWS::DynamoDB::Table`'s properties."""
    billing = props.get("BillingMode", "PROVISIONED")
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": billing,
    }

    def throughput(owner: dict[str, Any]) -> dict[str, int]:
        given = owner.get("ProvisionedThroughput") or {}
        return {
            "ReadCapacityUnits": int(given.get("ReadCapacityUnits", 5)),
            "WriteCapacityUnits": int(given.get("WriteCapacityUnits", 5)),
        }

    if billing == "PROVISIONED":
        request["ProvisionedThroughput"] = throughput(props)
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(key):
            indexes = []
            for index in props[key]:
                entry = {k: index[k] for k in ("IndexName", "KeySchema", "Projection") if k in index}
                if key == "GlobalSecondaryIndexes" and billing == "PROVISIONED":
                    entry["ProvisionedThroughput"] = throughput(index)
                indexes.append(entry)
            request[key] = indexes
    view_type = (props.get("StreamSpecification") or {}).get("StreamViewType")
    if view_type:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view_type}
    return request


def _simple_table_request(name: str, props: dict[str, Any]) -> dict[str, Any]:
    """`create_table` arguments from an `AWS::Serverless::SimpleTable` (default key: `id`, a String)."""
    key = props.get("PrimaryKey") or {"Name": "id", "Type": "String"}
    kind = {"String": "S", "Number": "N", "Binary": "B"}[key.get("Type", "String")]
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": key["Name"], "AttributeType": kind}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if props.get("ProvisionedThroughput"):
        request["BillingMode"] = "PROVISIONED"
        request["ProvisionedThroughput"] = {k: int(v) for k, v in props["ProvisionedThroughput"].items()}
    return request


def create_resources(template: dict[str, Any], resolver: Resolver, clients: Any) -> Created:
    """Create every bucket, queue, stream, table and topic the template declares, under the resolver's names."""
    created = Created()
    redrives: list[tuple[str, str]] = []
    for logical_id, resource in template["Resources"].items():
        if not isinstance(resource, dict):
            continue
        kind = resource.get("Type", "")
        props = _resolved(resolver, resource.get("Properties") or {})
        if kind not in _CREATORS:
            continue
        name = resolver.resource_name(logical_id)
        try:
            _CREATORS[kind](clients, name, props, created, redrives)
        except Exception as exc:  # botocore's ClientError and parameter validation errors alike
            raise RunnerError(f"local AWS could not create {logical_id} ({kind}) named {name!r}: {exc}") from None
    for queue_url, policy in redrives:  # after every queue exists, so a dead-letter queue can come later
        clients.sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"RedrivePolicy": policy})
    return created


def _create_bucket(clients: Any, name: str, props: dict[str, Any], created: Created, _: Any) -> None:
    options = {} if region() == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region()}}
    clients.s3.create_bucket(Bucket=name, **options)
    if (props.get("VersioningConfiguration") or {}).get("Status") == "Enabled":
        clients.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    created.buckets.append(name)


def _create_queue(
    clients: Any, name: str, props: dict[str, Any], created: Created, redrives: list[tuple[str, str]]
) -> None:
    attributes = _queue_attributes(props)
    redrive = attributes.pop("RedrivePolicy", None)
    url = clients.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    if redrive:
        redrives.append((url, redrive))
    created.queues.append(name)


def _create_stream(clients: Any, name: str, props: dict[str, Any], created: Created, _: Any) -> None:
    mode = (props.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED")
    if mode == "ON_DEMAND":
        clients.kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    else:
        clients.kinesis.create_stream(StreamName=name, ShardCount=int(props.get("ShardCount", 1)))
    created.streams.append(name)


def _create_table(clients: Any, name: str, props: dict[str, Any], created: Created, _: Any) -> None:
    clients.dynamodb.create_table(**_table_request(name, props))
    created.tables.append(name)


def _create_simple_table(clients: Any, name: str, props: dict[str, Any], created: Created, _: Any) -> None:
    clients.dynamodb.create_table(**_simple_table_request(name, props))
    created.tables.append(name)


def _create_topic(clients: Any, name: str, props: dict[str, Any], created: Created, _: Any) -> None:
    attributes = {"FifoTopic": "true"} if props.get("FifoTopic") else {}
    clients.sns.create_topic(Name=name, Attributes=attributes)
    created.topics.append(name)


_CREATORS = {
    "AWS::S3::Bucket": _create_bucket,
    "AWS::SQS::Queue": _create_queue,
    "AWS::Kinesis::Stream": _create_stream,
    "AWS::DynamoDB::Table": _create_table,
    "AWS::Serverless::SimpleTable": _create_simple_table,
    "AWS::SNS::Topic": _create_topic,
}


@dataclass(frozen=True)
class TemplateResources:
    """The template's resources that exist locally, by logical id (the pytest plugin's `local_aws` fixture)."""

    names: dict[str, str]  # logical id -> physical name: bucket, queue, stream, table or topic name
    arns: dict[str, str]  # logical id -> ARN


def create_template_resources(template_path: Path, stack_name: str | None = None) -> TemplateResources:
    """Create the template's resources in the AWS that boto3 reaches now (moto's `mock_aws` in a test).

    The names are the ones the function's environment gives them (`!Ref`, `!GetAtt`), as in `--local-aws`.
    """
    template = load_template(template_path)
    resolver = Resolver(template, stack_name or default_stack_name(template_path.resolve().parent))
    create_resources(template, resolver, _Clients(None))
    made = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if isinstance(resource, dict) and resource.get("Type") in _CREATORS
    ]
    return TemplateResources(
        names={logical_id: resolver.resource_name(logical_id) for logical_id in made},
        arns={logical_id: resolver.get_att(logical_id, "Arn") for logical_id in made},
    )


def upload_seeds(clients: Any, seeds: list[Seed], created: Created, log: TextIO) -> None:
    """Upload each seed; a bucket the template does not declare is created, with a note (the code may be wrong)."""
    existing = {bucket["Name"] for bucket in clients.s3.list_buckets().get("Buckets", [])}
    for seed in seeds:
        if seed.bucket not in existing:
            options = {} if region() == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region()}}
            clients.s3.create_bucket(Bucket=seed.bucket, **options)
            existing.add(seed.bucket)
            created.buckets.append(seed.bucket)
            print(f"{PREFIX} note: bucket {seed.bucket} is not in template.yaml; created it for --seed", file=log)
        content_type = mimetypes.guess_type(seed.path.name)[0] or "application/octet-stream"
        clients.s3.put_object(Bucket=seed.bucket, Key=seed.key, Body=seed.path.read_bytes(), ContentType=content_type)
        print(f"{PREFIX} seeded s3://{seed.bucket}/{seed.key} from {seed.path}", file=log)


# --------------------------------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class StoredObject:
    """An S3 object the function wrote."""

    bucket: str
    key: str
    size: int
    content_type: str


@dataclass
class Written:
    """Everything the function left behind, compared with the state right after seeding."""

    objects: list[StoredObject] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # s3://bucket/key
    messages: dict[str, list[str]] = field(default_factory=dict)  # queue name -> bodies
    items: dict[str, int] = field(default_factory=dict)  # table name -> item count
    item_samples: dict[str, list[str]] = field(default_factory=dict)  # table name -> its first items, as JSON
    records: dict[str, int] = field(default_factory=dict)  # stream name -> record count


def snapshot_s3(clients: Any) -> dict[tuple[str, str], tuple[str, str]]:
    """(bucket, key) -> (ETag, LastModified) of every object: enough to tell new and rewritten objects apart."""
    state = {}
    for bucket in clients.s3.list_buckets().get("Buckets", []):
        paginator = clients.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket["Name"]):
            for obj in page.get("Contents", []):
                state[(bucket["Name"], obj["Key"])] = (obj["ETag"], str(obj["LastModified"]))
    return state


def collect_written(clients: Any, baseline: dict[tuple[str, str], tuple[str, str]]) -> Written:
    """What changed since `baseline`: S3 objects, plus what sits in every queue, table and stream."""
    written = Written()
    now = snapshot_s3(clients)
    for (bucket, key), state in sorted(now.items()):
        if baseline.get((bucket, key)) != state:
            head = clients.s3.head_object(Bucket=bucket, Key=key)
            written.objects.append(StoredObject(bucket, key, head["ContentLength"], head.get("ContentType", "")))
    written.deleted = [f"s3://{bucket}/{key}" for bucket, key in sorted(set(baseline) - set(now))]
    for url in clients.sqs.list_queues().get("QueueUrls", []):
        bodies = _drain(clients.sqs, url)
        if bodies:
            written.messages[url.rsplit("/", 1)[-1]] = bodies
    for table in clients.dynamodb.list_tables().get("TableNames", []):
        count = clients.dynamodb.scan(TableName=table, Select="COUNT")["Count"]
        if count:
            written.items[table] = count
            sample = clients.dynamodb.scan(TableName=table, Limit=_MAX_ITEMS)["Items"]
            written.item_samples[table] = [_plain_json(item) for item in sample]
    for stream in clients.kinesis.list_streams().get("StreamNames", []):
        count = _count_records(clients.kinesis, stream)
        if count:
            written.records[stream] = count
    return written


def _plain_json(item: dict[str, Any]) -> str:
    """A DynamoDB item (typed JSON) as the plain JSON a developer reads: `{"id": "a", "total": 2.5}`."""
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    plain = {name: deserializer.deserialize(value) for name, value in item.items()}

    def default(value: Any) -> Any:
        if isinstance(value, (set, frozenset)):
            return sorted(value, key=str)
        if hasattr(value, "as_integer_ratio"):  # Decimal
            return int(value) if value == int(value) else float(value)
        return str(value)  # Binary

    return json.dumps(plain, default=default, ensure_ascii=False, sort_keys=True)


def _drain(sqs: Any, url: str) -> list[str]:
    bodies: list[str] = []
    while len(bodies) < _MAX_MESSAGES:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages", [])
        if not batch:
            break
        bodies.extend(message["Body"] for message in batch)
    return bodies


def _count_records(kinesis: Any, stream: str) -> int:
    total = 0
    for shard in kinesis.list_shards(StreamName=stream).get("Shards", []):
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator)
            total += len(page["Records"])
            iterator = page.get("NextShardIterator") if page["Records"] else None
    return total


def report_written(written: Written, log: TextIO) -> None:
    """Print what the function wrote, one resource per line, so a developer can check it at a glance."""
    if not (written.objects or written.deleted or written.messages or written.items or written.records):
        print(f"{PREFIX} the function wrote nothing to S3, SQS, DynamoDB or Kinesis", file=log)
        return
    if written.objects:
        print(f"{PREFIX} S3 objects written ({len(written.objects)}):", file=log)
        for obj in written.objects:
            print(f"  s3://{obj.bucket}/{obj.key}  {obj.size} bytes  {obj.content_type}", file=log)
    if written.deleted:
        print(f"{PREFIX} S3 objects deleted ({len(written.deleted)}):", file=log)
        for uri in written.deleted:
            print(f"  {uri}", file=log)
    for queue, bodies in written.messages.items():
        print(f"{PREFIX} messages in queue {queue} ({len(bodies)}):", file=log)
        for body in bodies:
            print(f"  {body if len(body) <= 200 else body[:200] + '...'}", file=log)
    for table, count in written.items.items():
        print(f"{PREFIX} items in table {table}: {count}", file=log)
        samples = written.item_samples.get(table, [])
        for item in samples:
            print(f"  {item if len(item) <= 200 else item[:200] + '...'}", file=log)
        if count > len(samples):
            print(f"  ... and {count - len(samples)} more", file=log)
    for stream, count in written.records.items():
        print(f"{PREFIX} records in stream {stream}: {count}", file=log)


def download_written(clients: Any, objects: list[StoredObject], destination: Path) -> list[Path]:
    """Save written objects as `destination/<bucket>/<key>`; `..` and empty parts of keys are dropped."""
    saved = []
    for obj in objects:
        parts = [part for part in obj.key.split("/") if part not in ("", ".", "..")]
        target = destination.joinpath(obj.bucket, *parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(clients.s3.get_object(Bucket=obj.bucket, Key=obj.key)["Body"].read())
        saved.append(target)
    return saved


# -------------------------------------------------------------------------------------------- the context manager


def _moto_server_class() -> Any:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise RunnerError(MOTO_MISSING) from None
    return ThreadedMotoServer


def _reset(endpoint: str) -> None:
    """Empty moto's in-memory state, which outlives a server in the same process (a second run, a test)."""
    # `endpoint` is the http:// URL of the moto server this module started, never a user's URL or another scheme.
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  # nosec B310  # our own moto server
        response.read()


def _load_backends(clients: Any) -> None:
    """Make moto import the services the report reads (and SNS) now, before the function's environment starts.

    moto imports a service's backend on its first request. Were that first request the function's, in the
    in-process mode, ending that environment would forget the backend module with the modules the function
    imported, and a fresh, empty copy would answer afterwards.
    """
    clients.s3.list_buckets()
    clients.sqs.list_queues()
    clients.dynamodb.list_tables()
    clients.kinesis.list_streams()
    clients.sns.list_topics()


def _describe(created: Created) -> str:
    parts = []
    for label, names in (
        ("bucket", created.buckets),
        ("queue", created.queues),
        ("stream", created.streams),
        ("table", created.tables),
        ("topic", created.topics),
    ):
        parts += [f"{label} {name}" for name in names]
    return ", ".join(parts) or "no resources"


def _note_references(functions: dict[str, FunctionConfig], created: Created, log: TextIO) -> None:
    """Show which environment variables point at local resources, the link a developer most often gets wrong."""
    names = set(created.buckets + created.queues + created.streams + created.tables + created.topics)
    for function in functions.values():
        for variable, value in function.environment.items():
            target = value.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
            if target in names:
                print(f"{PREFIX} {function.logical_id}: {variable}={value}", file=log)


def _report(
    clients: Any, baseline: dict[tuple[str, str], tuple[str, str]], log: TextIO, download_to: Path | None
) -> None:
    """The exit report; a failure here is noted, never allowed to hide how the invocation itself went."""
    try:
        written = collect_written(clients, baseline)
        report_written(written, log)
        if download_to is not None and written.objects:
            saved = download_written(clients, written.objects, download_to)
            print(f"{PREFIX} downloaded {counted(len(saved), 'object')} to {download_to}", file=log)
    except Exception as exc:  # the local AWS itself misbehaving: say so, keep the function's result
        print(f"{PREFIX} could not read back what the function wrote: {exc}", file=log)


@contextmanager
def local_aws(
    template_path: Path,
    functions: dict[str, FunctionConfig],
    seeds: list[str],
    log: TextIO,
    *,
    stack_name: str | None = None,
    download_to: Path | None = None,
) -> Iterator[dict[str, str]]:
    """Start moto on a free local port, create the template's resources, seed S3; yield the function's env.

    On exit, print what the function wrote and, with `download_to`, save the written objects there. Pass the
    same `stack_name` as to `read_functions`, so that generated names agree.
    """
    parsed = [parse_seed(spec) for spec in seeds]  # a bad --seed fails before anything starts
    server_class = _moto_server_class()
    template = load_template(template_path)
    resolver = Resolver(template, stack_name or default_stack_name(template_path.resolve().parent))
    werkzeug_logger = logging.getLogger("werkzeug")
    previous_level = werkzeug_logger.level
    werkzeug_logger.setLevel(logging.WARNING)  # not one access-log line per SDK call
    # A user's profile is for the real AWS: moto's server and these clients would read it (and fail, with a
    # traceback, on a profile that ~/.aws/config does not have).
    profiles = {name: os.environ.pop(name) for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE") if name in os.environ}
    server = server_class(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        _reset(endpoint)
        clients = _Clients(endpoint)
        _load_backends(clients)
        created = create_resources(template, resolver, clients)
        upload_seeds(clients, parsed, created, log)
        print(f"{PREFIX} AWS at {endpoint}: {_describe(created)}", file=log)
        _note_references(functions, created, log)
        baseline = snapshot_s3(clients)
        try:
            yield {
                "AWS_ENDPOINT_URL": endpoint,
                **DUMMY_CREDENTIALS,
                "AWS_REGION": region(),
                "AWS_DEFAULT_REGION": region(),
            }
        finally:
            _report(clients, baseline, log, download_to)
    finally:
        server.stop()
        werkzeug_logger.setLevel(previous_level)
        os.environ.update(profiles)


def send_and_poll(
    invoker: Invoker,
    template_path: Path,
    endpoint: str,
    bodies: list[str],
    log: TextIO,
    show: Callable[[Invocation], None],
) -> bool:
    """`invoke --send`: fill the function's local SQS queue (or Kinesis stream, or DynamoDB table with a stream),
    then poll it in batches as Lambda's event source mapping does; whether every batch ended as it should.

    `endpoint` is the running local AWS's (`local_aws` gives it as `AWS_ENDPOINT_URL`). Each invocation is
    handed to `show` once its batch is settled.
    """
    from .event_sources import SqsPoller, StreamPoller, sqs_source, stream_source

    function = invoker.function
    resolver = Resolver(load_template(template_path), default_stack_name(template_path.resolve().parent))
    stream = stream_source(function, resolver)
    if stream is not None:
        stream_poller = StreamPoller(_Clients(endpoint), stream)
        stream_poller.send(bodies)
        what = (
            f"put {counted(len(bodies), 'record')} on {stream.name}"
            if stream.kind == "Kinesis"
            else f"wrote {counted(len(bodies), 'item')} to {stream.name}"
        )
        log.write(f"{PREFIX} {what}; reading its stream in batches of {stream.batch_size}\n")
        while (event := stream_poller.next_batch()) is not None:
            invocation = invoker.invoke(json.dumps(event).encode())
            outcome = stream_poller.settle(invocation.ok, invocation.payload)
            log.write(f"{PREFIX} batch of {len(event['Records'])}: {outcome}\n")
            log.flush()
            show(invocation)
        return not (stream_poller.dropped and not stream.on_failure)
    source = sqs_source(function, resolver)
    poller = SqsPoller(_Clients(endpoint).sqs, source)
    poller.send(bodies)
    log.write(
        f"{PREFIX} sent {counted(len(bodies), 'message')} to {source.queue}; "
        f"polling it in batches of {source.batch_size}\n"
    )
    ok = True
    while (event := poller.next_batch()) is not None:
        invocation = invoker.invoke(json.dumps(event).encode())
        left = poller.settle(invocation.ok, invocation.payload)
        size = len(event["Records"])
        log.write(f"{PREFIX} batch of {size}: {size - len(left)} deleted, {len(left)} left in the queue\n")
        log.flush()
        show(invocation)
        ok = ok and invocation.ok
    return ok
