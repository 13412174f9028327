"""The AWS calls a generated function makes, checked against the permissions its template gives it.

moto answers every call whatever the function's role allows, so a project's tests pass with a policy that AWS
would refuse (or, as for a GetObject of a deleted key without s3:ListBucket, answer differently: 403, not 404).
Loaded into a project's pytest run (`-p aws_calls`, with this folder on PYTHONPATH), this plugin records each call
that the function's own code makes (a frame of the template's code folder on the stack: the tests' own set-up
calls are not the function's) with the resources it names and the error it got, and `policy_problems` then
checks each one against the function's execution role, after the SAM transform: the IAM action of the call (the
action model of the deploy role: `service:Operation`, with S3's exceptions), on the ARN it names, in the local
names the runner and moto use.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

CALLS_FILE = "SLSGEN_AWS_CALLS"  # where the plugin writes the calls, one JSON array per line
PARAMETERS = {  # what names a call's resources, per service
    "s3": ("Bucket", "Key", "Prefix"),
    "dynamodb": ("TableName",),
    "sqs": ("QueueUrl",),
    "kinesis": ("StreamName", "StreamARN"),
    "sns": ("TopicArn",),
}
_calls: set[str] = set()


# --- the plugin, in the project's pytest process ---------------------------------------------------------------


def pytest_configure(config: Any) -> None:
    try:
        import botocore.client
        import botocore.exceptions
    except ImportError:  # a function without boto3 makes no AWS call
        return
    code = str(Path(config.rootpath, "src").resolve()) + os.sep
    original = botocore.client.BaseClient._make_api_call

    def recording(client: Any, operation: str, parameters: dict[str, Any]) -> Any:
        frame = sys._getframe(1)
        while frame is not None and not frame.f_code.co_filename.startswith(code):
            frame = frame.f_back
        error = ""
        try:
            return original(client, operation, parameters)
        except botocore.exceptions.ClientError as exc:
            error = str(exc.response.get("Error", {}).get("Code", ""))
            raise
        finally:
            if frame is not None:
                service = client.meta.service_model.service_name
                named = {key: parameters[key] for key in PARAMETERS.get(service, ()) if key in parameters}
                if "RequestItems" in parameters:
                    named["TableNames"] = sorted(parameters["RequestItems"])
                _calls.add(json.dumps([service, operation, named, error], sort_keys=True))

    botocore.client.BaseClient._make_api_call = recording


def pytest_unconfigure(config: Any) -> None:
    target = os.environ.get(CALLS_FILE)
    if target:
        Path(target).write_text("".join(f"{call}\n" for call in sorted(_calls)), encoding="utf-8")


# --- the check, in slsgen's test process -------------------------------------------------------------------------


def _arn(service: str, named: dict[str, Any], account: str, region: str) -> list[str]:
    """The ARNs a call names, as IAM sees them."""
    if service == "s3":
        bucket = f"arn:aws:s3:::{named['Bucket']}"
        return [f"{bucket}/{named['Key']}" if "Key" in named else bucket]
    if service == "dynamodb":
        tables = named.get("TableNames") or [named["TableName"]]
        return [f"arn:aws:dynamodb:{region}:{account}:table/{table}" for table in tables]
    if service == "sqs":
        return [f"arn:aws:sqs:{region}:{account}:{named['QueueUrl'].rstrip('/').rsplit('/', 1)[-1]}"]
    if service == "kinesis":
        return [named.get("StreamARN") or f"arn:aws:kinesis:{region}:{account}:stream/{named['StreamName']}"]
    if service == "sns":
        return [named["TopicArn"]]
    raise AssertionError(f"extend aws_calls._arn for a call to {service}")


def required(call: list[Any], account: str, region: str) -> list[tuple[str, str, dict[str, str]]]:
    """(IAM action, resource ARN, request context) the call needs to get the answer it got from moto."""
    service, operation, named, error = call
    actions = {"HeadObject": "GetObject", "ListObjectsV2": "ListBucket", "ListObjects": "ListBucket"}
    action = f"{service}:{actions.get(operation, operation)}" if service == "s3" else f"{service}:{operation}"
    context = {"s3:prefix": named["Prefix"]} if "Prefix" in named else {}
    needs = [(action, arn, context) for arn in _arn(service, named, account, region)]
    if service == "s3" and error in ("NoSuchKey", "404"):
        # S3 answers a missing key with 404 only to a caller allowed s3:ListBucket on the bucket, else with 403.
        needs.append(("s3:ListBucket", f"arn:aws:s3:::{named['Bucket']}", {}))
    return needs


# --- IAM, as AWS evaluates a policy (the subset slsgen's templates use); tests/test_deploy_role.py uses it too --


def matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's wildcards: `*` any characters, `?` one (actions ignore case, resources do not)."""
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def condition_holds(condition: dict[str, Any] | None, context: dict[str, str]) -> bool:
    """StringEquals and StringLike (and their IfExists forms) against the request's context."""
    for operator, tests in (condition or {}).items():
        if_exists = operator.endswith("IfExists")
        for key, expected in tests.items():
            if key not in context:
                if if_exists:
                    continue
                return False
            like = operator.startswith("StringLike")
            if not any(matches(item, context[key]) if like else item == context[key] for item in listed(expected)):
                return False
    return True


def allows(statements: list[dict[str, Any]], action: str, arn: str, context: dict[str, str]) -> bool:
    """Whether an Allow statement grants `action` on `arn` in this request context (statements are resolved)."""
    return any(
        statement.get("Effect") == "Allow"
        and any(matches(str(pattern), action, ignore_case=True) for pattern in listed(statement["Action"]))
        and any(matches(str(pattern), arn) for pattern in listed(statement.get("Resource", [])))
        and condition_holds(statement.get("Condition"), context)
        for statement in statements
    )


def transformed(project: Path) -> dict[str, Any]:
    """The project's template.yaml after the SAM transform, as CloudFormation deploys it (samtranslator, offline)."""
    from samtranslator.translator.transform import transform

    from generator import deploy_role

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    document = deploy_role.load((project / "template.yaml").read_text(encoding="utf-8"))
    shared = (document.get("Globals") or {}).get("Function") or {}
    for props in [shared, *[resource.get("Properties") or {} for resource in document["Resources"].values()]]:
        if "CodeUri" in props:
            props["CodeUri"] = "s3://bucket/code.zip"

    class Policies:
        def load(self) -> dict[str, str]:
            return {}

    return transform(document, {}, Policies())


def role_statements(project: Path) -> list[dict[str, Any]]:
    """The inline statements of the function's execution role, resolved to the local names moto uses."""
    from lambda_runner.config.template import Resolver, default_stack_name

    template = transformed(project)
    resolver = Resolver(template, default_stack_name(project))
    (function,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    role = template["Resources"][function["Properties"]["Role"]["Fn::GetAtt"][0]]
    statements = []
    for policy in role["Properties"].get("Policies") or []:
        for statement in listed(policy["PolicyDocument"]["Statement"]):
            resources = [resolver.value(resource) for resource in listed(statement.get("Resource", []))]
            statements.append({**statement, "Resource": resources})
    return statements


def policy_problems(project: Path, calls_file: Path) -> list[str]:
    """Each recorded call the function's role would not allow."""
    from lambda_runner.account import ACCOUNT_ID, region

    calls = [json.loads(line) for line in calls_file.read_text(encoding="utf-8").splitlines() if line]
    statements = role_statements(project)
    problems = []
    for call in calls:
        for action, arn, context in required(call, ACCOUNT_ID, region()):
            if not allows(statements, action, arn, context):
                problems.append(f"{call[1]} {call[2]} ({call[3] or 'answered'}) needs {action} on {arn}")
    return problems
