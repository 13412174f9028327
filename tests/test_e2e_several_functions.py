"""A generated project grown to two functions by hand, in the layout `slsgen add` makes, works with its Makefile
and CI as generated: no edit of either.

The hello-world project gets an SQS worker: its code in functions/orders-worker/ (a `lambda_function.py` again,
and its own requirements.txt), its tests in tests/orders-worker/ (a file of the same name as the first function's),
its sample event in events/orders-worker/, its queue and function in template.yaml. Then, in a fresh venv, the
GitHub workflow's command (`make install lint test validate package`, what GitLab's jobs run too) and `make
invoke`, `make invoke FUNCTION=...` and `slsgen invoke FUNCTION`.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
import yaml
from lambda_runner import build_event

from helpers import SLSGEN, generate, run

pytestmark = pytest.mark.e2e

WORKER = '''\
"""The orders worker: each message is an order (JSON with an id); a bad one is retried alone, not its batch."""

import json
import logging
import os

logger = logging.getLogger()
QUEUE = os.environ["ORDERS_QUEUE"]


def lambda_handler(event, context):
    failures = []
    for record in event["Records"]:
        try:
            order = json.loads(record["body"])
            logger.info("order %s from %s", order["id"], QUEUE)
        except (ValueError, KeyError, TypeError):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
'''
WORKER_TESTS = '''\
"""The worker's tests: the runner's fixtures give them OrdersWorkerFunction, whose tests folder this is."""

import sys


def test_only_the_bad_message_is_retried(handler, lambda_context, load_event):
    event = load_event("orders.json")
    event["Records"][1]["body"] = "not json"
    failed = event["Records"][1]["messageId"]
    assert handler(event, lambda_context) == {"batchItemFailures": [{"itemIdentifier": failed}]}


def test_the_worker_has_its_own_module_and_environment(handler, function_config, function_environment):
    assert function_config.logical_id == "OrdersWorkerFunction"
    assert "GREETING" not in function_environment
    module = sys.modules[handler.__module__]
    assert module.__file__.endswith("functions/orders-worker/lambda_function.py")
    assert module.QUEUE == function_environment["ORDERS_QUEUE"] == "shop-OrdersQueue"
'''
RESOURCES = """\
  # The orders queue and the worker that takes its messages in batches: a second function, added by hand.
  OrdersQueue:
    Type: AWS::SQS::Queue
    Properties:
      SqsManagedSseEnabled: true

  OrdersWorkerFunction:
    Type: AWS::Serverless::Function
    Metadata:
      checkov:
        skip:
          - id: CKV_AWS_116
            comment: "Invoked by an SQS event source mapping: a failed message returns to its queue"
          - id: CKV_AWS_117
            comment: "Calls no private resources"
          - id: CKV_AWS_115
            comment: "The event source mapping bounds its concurrency"
          - id: CKV_AWS_173
            comment: "Its environment holds only the queue's name"
    Properties:
      CodeUri: functions/orders-worker/
      Handler: lambda_function.lambda_handler
      LoggingConfig:
        LogGroup: !Ref OrdersWorkerFunctionLogGroup
      Environment:
        Variables:
          ORDERS_QUEUE: !GetAtt OrdersQueue.QueueName
      Events:
        Orders:
          Type: SQS
          Properties:
            Queue: !GetAtt OrdersQueue.Arn
            FunctionResponseTypes:
              - ReportBatchItemFailures

  OrdersWorkerFunctionLogGroup:
    Type: AWS::Logs::LogGroup
    Metadata:
      checkov:
        skip:
          - id: CKV_AWS_158
            comment: "CloudWatch Logs encrypts every log group at rest; the worker logs no secrets"
    Properties:
      LogGroupName: !Sub /aws/lambda/${AWS::StackName}/OrdersWorkerFunction
      RetentionInDays: 30

"""


def add_worker(project: Path) -> None:
    """What `slsgen add` would do for an SQS worker named orders-worker, by hand."""
    files = {
        "functions/orders-worker/lambda_function.py": WORKER,
        "functions/orders-worker/requirements.txt": "# The worker's dependencies: none\n",
        "tests/orders-worker/test_lambda_function.py": WORKER_TESTS,
        "events/orders-worker/orders.json": json.dumps(
            build_event("sqs", "message", queue="shop-OrdersQueue", body=['{"id": 1}', '{"id": 2}']), indent=2
        )
        + "\n",
    }
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    template = project / "template.yaml"
    text = template.read_text()
    assert text.count("\n  HelloWorldFunctionLogGroup:\n") == 1
    template.write_text(
        text.replace("\n  HelloWorldFunctionLogGroup:\n", "\n" + RESOURCES + "  HelloWorldFunctionLogGroup:\n")
    )


def test_a_project_grown_to_two_functions_by_hand_runs_every_make_target_and_ci_command(tmp_path, shared_venv):
    project = generate(tmp_path, "hello-world", "shop")
    add_worker(project)
    venv = shared_venv(project)
    env = {"VENV": str(venv), "UV_LINK_MODE": "hardlink"}

    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    commands = [step["run"] for step in workflow["jobs"]["ci"]["steps"] if "run" in step]
    assert commands == ["make install lint test validate package"]  # the workflow, unchanged by the second function
    result = run(["bash", "-eo", "pipefail", "-c", commands[0]], project, env=env, timeout=900)
    out, err = result.stdout, result.stderr
    # make test: both folders' tests (two files named test_lambda_function.py), coverage of both functions' code
    assert re.search(r"^tests/orders-worker/test_lambda_function\.py \.\. ", out, re.M), out
    assert re.search(r"^tests/test_lambda_function\.py \.+ ", out, re.M), out
    assert re.search(r"^functions/orders-worker/lambda_function\.py +\d+ +0 .* 100%$", out, re.M), out
    assert re.search(r"^src/lambda_function\.py ", out, re.M), out
    # make validate: both functions, both folders' events, and checkov on the grown template
    assert "validate: OK (template.yaml: 2 functions, 4 event files, " in out
    assert "Failed checks: 0," in out
    # make package: one zip per function, each with its own code, and the template deploying each from its own
    assert re.search(r"^dist/shop-HelloWorldFunction\.zip: 1 file, ", err, re.M), err
    assert re.search(r"^dist/shop-OrdersWorkerFunction\.zip: 1 file, ", err, re.M), err
    for name in ("HelloWorldFunction", "OrdersWorkerFunction"):
        with zipfile.ZipFile(project / "dist" / f"shop-{name}.zip") as archive:
            assert archive.namelist() == ["lambda_function.py"]
    with zipfile.ZipFile(project / "dist/shop-OrdersWorkerFunction.zip") as archive:
        assert archive.read("lambda_function.py").decode() == WORKER
    resources = yaml.safe_load((project / "dist/template.yaml").read_text())
    assert {
        name: resources["Resources"][name]["Properties"]["CodeUri"]
        for name in ("HelloWorldFunction", "OrdersWorkerFunction")
    } == {"HelloWorldFunction": "shop-HelloWorldFunction.zip", "OrdersWorkerFunction": "shop-OrdersWorkerFunction.zip"}
    assert not (project / "dist/shop.zip").exists()

    # make invoke: every function on its sample events, each event in its own process
    invoked = run(["make", "invoke"], project, env=env).stdout
    assert re.findall(r"^== (\S+)$", invoked, re.M) == [
        "events/bad-query.json",
        "events/hello-no-name.json",
        "events/hello.json",
        "events/orders-worker/orders.json",
    ]
    assert invoked.rstrip().endswith('{\n  "batchItemFailures": []\n}')

    # make invoke FUNCTION=...: one function, named as its logical id without the suffix, or by its folder
    for reference in ("OrdersWorker", "orders-worker"):
        result = run(["make", "invoke", f"FUNCTION={reference}"], project, env=env)
        assert re.findall(r"^== (\S+)$", result.stdout, re.M) == ["events/orders-worker/orders.json"]
        assert '"batchItemFailures": []' in result.stdout
        assert "order 2 from shop-OrdersQueue" in result.stderr
    result = run(["make", "invoke", "FUNCTION=Nope"], project, env=env, check=False)
    assert result.returncode != 0
    assert (
        "error: no function 'Nope' in template.yaml; choose one of: HelloWorldFunction, OrdersWorkerFunction\n"
        in result.stderr
    )

    # slsgen invoke FUNCTION: the project's runner, handed the name
    result = run([*SLSGEN, "invoke", "OrdersWorker", "-q"], project, env={"VIRTUAL_ENV": str(venv)})
    assert json.loads(result.stdout) == {"batchItemFailures": []}
    result = run([*SLSGEN, "invoke", "-q"], project, env={"VIRTUAL_ENV": str(venv)}, check=False)
    assert (result.returncode, result.stderr) == (
        2,
        "error: template.yaml has several functions; name one of: HelloWorldFunction, OrdersWorkerFunction\n",
    )
