"""Small SAM projects for the runner's tests, and a way to run the runner's CLI on them as a user would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]  # runner/: the folder that holds lambda_runner/

REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: (?P<duration>\d+\.\d{2}) ms"
    r"\tBilled Duration: (?P<billed>\d+) ms\tMemory Size: (?P<memory>\d+) MB\tMax Memory Used: (?P<used>\d+) MB"
    r"(?:\tInit Duration: (?P<init>\d+\.\d{2}) ms)?"
    r"(?:\tStatus: (?P<status>timeout|error)(?:\tError Type: (?P<error_type>[\w.]+))?)?$",
    re.MULTILINE,
)
START = re.compile(r"^START RequestId: (?P<id>[0-9a-f-]{36}) Version: \$LATEST$", re.MULTILINE)
RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"  # the template's, so no mismatch note


def write_project(
    root: Path,
    code: str,
    *,
    properties: str = "",
    globals_: str = "",
    resources: str = "",
    handler: str = "app.handler",
    files: dict[str, str] | None = None,
) -> Path:
    """A project with one function `Fn` (CodeUri src/, Handler app.handler) whose src/app.py is `code`.

    `properties`, `globals_` and `resources` are YAML fragments added to the function's Properties, to
    Globals.Function and to Resources; `files` adds more files under src/.
    """
    source = root / "src"
    source.mkdir(parents=True, exist_ok=True)
    (source / "app.py").write_text(textwrap.dedent(code), encoding="utf-8")
    for name, text in (files or {}).items():
        path = source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    template = textwrap.dedent(
        """\
        AWSTemplateFormatVersion: '2010-09-09'
        Transform: AWS::Serverless-2016-10-31
        Globals:
          Function:
            Runtime: {runtime}
            Timeout: 3
            MemorySize: 128
        {globals_}
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Handler: {handler}
        {properties}
        {resources}
        """
    ).format(
        runtime=RUNTIME,
        globals_=textwrap.indent(textwrap.dedent(globals_), " " * 4),
        handler=handler,
        properties=textwrap.indent(textwrap.dedent(properties), " " * 6),
        resources=textwrap.indent(textwrap.dedent(resources), " " * 2),
    )
    (root / "template.yaml").write_text(template, encoding="utf-8")
    return root


def runner(
    project: Path, *args: str, stdin: bytes | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m lambda_runner ARGS` in the project folder, as a user runs it (this source of the runner first)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "LAMBDA_"))}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "lambda_runner", *args],
        cwd=project,
        capture_output=True,
        input=stdin,
        env=environment,
        timeout=timeout,
        check=False,
    )
    return subprocess.CompletedProcess(
        result.args,
        result.returncode,
        result.stdout.decode("utf-8", errors="replace"),
        result.stderr.decode("utf-8", errors="replace"),
    )


def mode_flags(mode: str) -> list[str]:
    """The command-line flag that selects `mode` (see conftest.py: in-process is the default)."""
    return {"inprocess": [], "isolated": ["--isolated"], "emulate": ["--emulate"]}[mode]


def reports(stderr: str) -> list[re.Match[str]]:
    return list(REPORT.finditer(stderr))


def response(result: subprocess.CompletedProcess[str]) -> object:
    return json.loads(result.stdout)


HELLO_HANDLER = """\
import json
import os

import helpers


def lambda_handler(event, context):
    body = {"function": "hello", "helpers": helpers.WHO, "greeting": os.environ["GREETING"]}
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
"""
WORKER_HANDLER = """\
import json
import os

import helpers


def lambda_handler(event, context):
    if "Records" not in event:  # an HTTP request (when it has a route), or a look at the local AWS
        body = {"function": "orders-worker", "helpers": helpers.WHO, "queue": os.environ["ORDERS_QUEUE"]}
        if event.get("aws"):
            import boto3

            body["buckets"] = [bucket["Name"] for bucket in boto3.client("s3").list_buckets()["Buckets"]]
            body["queues"] = boto3.client("sqs").list_queues().get("QueueUrls", [])
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "fail"]}
"""
TWO_FUNCTIONS = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    CodeUri: src/
    Handler: lambda_function.lambda_handler
    Runtime: {runtime}
    Timeout: 3
    MemorySize: 128
Resources:
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          GREETING: Hello
          UPLOADS: !Ref UploadsBucket
      Events:
        Hello:
          Type: HttpApi
          Properties: {{Path: /hello, Method: GET}}
  OrdersWorkerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/orders-worker/src/
      Environment:
        Variables:
          ORDERS_QUEUE: !GetAtt OrdersQueue.QueueName
      Events:
        Orders:
          Type: SQS
          Properties:
            Queue: !GetAtt OrdersQueue.Arn
            BatchSize: 2
            FunctionResponseTypes: [ReportBatchItemFailures]
{worker_events}
  OrdersQueue:
    Type: AWS::SQS::Queue
  UploadsBucket:
    Type: AWS::S3::Bucket
"""


def write_two_functions(root: Path, *, worker_events: str = "") -> Path:
    """A project with two functions, each with its own `lambda_function.py` and `helpers.py` (of different
    contents), in the layout of several functions: HelloFunction (src/, HTTP API GET /hello, events/, tests/) and
    OrdersWorkerFunction (functions/orders-worker/src/, an SQS queue, functions/orders-worker/events/ and tests/).
    `worker_events` adds YAML events to the worker's `Events`."""
    from lambda_runner import build_event

    files = {
        "src/lambda_function.py": HELLO_HANDLER,
        "src/helpers.py": 'WHO = "hello"\n',
        "src/requirements.txt": "# none\n",
        "functions/orders-worker/src/lambda_function.py": WORKER_HANDLER,
        "functions/orders-worker/src/helpers.py": 'WHO = "orders-worker"\n',
        "functions/orders-worker/src/requirements.txt": "# none\n",
        "events/hello.json": json.dumps(build_event("apigw-http", "request", path="/hello"), indent=2),
        "functions/orders-worker/events/orders.json": json.dumps(
            build_event("sqs", "message", body=["one", "fail"]), indent=2
        ),
        "template.yaml": TWO_FUNCTIONS.format(
            runtime=RUNTIME, worker_events=textwrap.indent(textwrap.dedent(worker_events), " " * 8)
        ),
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
