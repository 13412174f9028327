"""The data-processing blueprint's function: records per second with idempotency, and memory on a large CSV.

    python bench/bench_data_processing.py [--records 10000] [--rows 200000]

1. Throughput. An `sqs` project is generated (batch size 10,000, batching window 5 s) and its `lambda_handler`
   imported in this process with the environment template.yaml gives it, against moto's in-process DynamoDB
   holding the two tables: one warm environment (a first, small batch pays the imports and client creation).
   A `--records` message batch then goes through the handler, where each record costs three DynamoDB requests
   (claim its id, write the item, mark the id done), and the same batch goes through the floor: a plain loop
   that parses each body with the function's own `parse_json` and `to_item` and writes the item, with no
   Powertools batch processing and no idempotency (one request per record). The ratio is handler / floor.
   moto answers in-process, so the numbers measure the code's own overhead, not DynamoDB's latency (a few ms per
   request on AWS, which would make the ratio closer to 1/3).
2. Memory. An `s3` project's handler processes a `--rows` CSV streamed from memory into a counting writer,
   under tracemalloc: its peak allocation against the file's size (the same measurement as the project's test).
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import os
import platform
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
from botocore.response import StreamingBody  # noqa: E402
from lambda_runner.config.environment import lambda_environment  # noqa: E402
from lambda_runner.config.template import read_functions, select_function  # noqa: E402
from lambda_runner.events.catalog import S3Object, s3_event, sqs_event  # noqa: E402
from lambda_runner.runtime.context import LambdaContext  # noqa: E402
from moto import mock_aws  # noqa: E402

from generator import new_project  # noqa: E402


def load_function(project: Path) -> tuple[ModuleType, Any, dict[str, str]]:
    """The generated handler's module, imported here with its Lambda environment, and a context factory."""
    function = select_function(read_functions(project / "template.yaml"), None)
    environment = lambda_environment(function, base={})
    os.environ.update(environment)
    sys.path.insert(0, str(function.code_dir))
    for name in [name for name in sys.modules if name == "lambda_function"]:
        del sys.modules[name]  # the second project's module, not the first's
    module = importlib.import_module("lambda_function")
    module.logger.setLevel("WARNING")  # one JSON line per batch or file is not what is being measured

    def context() -> LambdaContext:
        deadline = int(time.time() * 1000) + function.timeout * 1000
        return LambdaContext(str(uuid.uuid4()), deadline, function.arn)

    return module, context, environment


def create_tables(environment: dict[str, str]) -> Any:
    dynamodb = boto3.resource("dynamodb", region_name=environment["AWS_REGION"])
    for variable in ("OUTPUT_TABLE", "IDEMPOTENCY_TABLE"):
        dynamodb.create_table(
            TableName=environment[variable],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    return dynamodb


def throughput(workdir: Path, records: int) -> dict[str, float]:
    project = new_project(
        "data-processing", "bench-sqs", output_dir=workdir, options={"batch_size": 10000, "batch_window": 5}
    )
    module, context, environment = load_function(project)
    bodies = [json.dumps({"id": f"order-{n}", "total": n / 100, "currency": "EUR"}) for n in range(records)]
    event = sqs_event("bench-sqs-InputQueue", bodies)
    with mock_aws():
        create_tables(environment)
        sys.stdout, real = io.StringIO(), sys.stdout  # Powertools' metrics lines: not the bench's output
        try:
            module.lambda_handler(sqs_event("warm-up", [json.dumps({"id": "warm"})]), context())
            start = time.perf_counter()
            response = module.lambda_handler(event, context())
            handler_s = time.perf_counter() - start
        finally:
            sys.stdout = real
        if response["batchItemFailures"]:
            raise SystemExit(f"{len(response['batchItemFailures'])} records failed")
        table = module.OUTPUT_TABLE
        start = time.perf_counter()
        for record in event["Records"]:
            item = module.to_item(module.parse_json(record["body"]))
            table.put_item(Item={**item, "source": record["messageId"]})
        floor_s = time.perf_counter() - start
    return {"handler": records / handler_s, "floor": records / floor_s}


def csv_memory(workdir: Path, rows: int) -> dict[str, float]:
    project = new_project("data-processing", "bench-s3", output_dir=workdir, options={"trigger": "s3"})
    module, context, environment = load_function(project)
    lines = ["id,customer,total,currency\n"]
    lines += [f"o-{n},customer-{n % 977},{n * 7919 % 99_999 / 100},EUR\n" for n in range(rows)]
    data = "".join(lines).encode()
    del lines
    written = {"items": 0}

    class Writer:
        def __enter__(self) -> Writer:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def put_item(self, Item: dict[str, Any]) -> None:
            written["items"] += 1

    module.OUTPUT_TABLE.batch_writer = lambda **options: Writer()
    module.S3.get_object = lambda **request: {"Body": StreamingBody(io.BytesIO(data), len(data))}
    bucket = f"bench-s3-{environment.get('AWS_ACCOUNT_ID', '123456789012')}"
    event = s3_event([S3Object(bucket, f"{environment['SOURCE_PREFIX']}big.csv", len(data))])
    with mock_aws():
        create_tables(environment)
        sys.stdout, real = io.StringIO(), sys.stdout
        tracemalloc.start()
        try:
            start = time.perf_counter()
            result = module.lambda_handler(event, context())
            seconds = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            sys.stdout = real
    (processed,) = result["files"]
    if processed["rows"] != rows or written["items"] != rows:
        raise SystemExit(f"expected {rows} rows, got {processed['rows']} ({written['items']} written)")
    return {"bytes": len(data), "peak": peak, "rows_per_s": rows / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000, help="messages in the SQS batch (default 10,000)")
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the CSV (default 200,000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-data-processing-") as tmp:
        rates = throughput(Path(tmp), args.records)
        memory = csv_memory(Path(tmp), args.rows)
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
    print(f"SQS batch of {args.records:,} messages, moto in-process DynamoDB, one warm environment:")
    print(f"  lambda_handler (Powertools batch + idempotency): {rates['handler']:,.0f} records/s")
    print(f"  plain loop, no idempotency (the floor):          {rates['floor']:,.0f} records/s")
    print(f"  ratio handler / floor:                           {rates['handler'] / rates['floor']:.2f}")
    print(f"CSV of {args.rows:,} rows, {memory['bytes'] / 1e6:.1f} MB, streamed (under tracemalloc):")
    print(f"  peak allocation {memory['peak'] / 1e3:,.0f} kB = {memory['peak'] / memory['bytes']:.1%} of the file;")
    print(f"  {memory['rows_per_s']:,.0f} rows/s parsed and validated (writes counted, not sent)")


if __name__ == "__main__":
    main()
