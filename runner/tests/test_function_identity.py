"""Every environment variable and context attribute the runner gives a function, checked against its template.

The expected values are written out from the template by hand (what Lambda would set for that function), so
that an expression left unresolved (`{'Ref': 'FunctionLogGroup'}`) or a variable nobody meant to set fails here.
"""

from __future__ import annotations

import io
import json
import os
import re

import pytest

from lambda_runner.config.template import read_functions
from lambda_runner.sandboxes.choose import open_invoker

from lambda_project import REPO, RUNTIME, START, mode_flags, response, runner, write_project

DUMP = """\
import os


def handler(event, context):
    return {
        "environ": dict(os.environ),
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "identity": [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],
            "client_context": context.client_context,
            "tenant_id": context.tenant_id,
        },
    }
"""

# The shape every generated project has: a log group resource named after the stack, referenced by the function.
WITH_LOG_GROUP = {
    "properties": """\
        FunctionName: !Sub ${AWS::StackName}-orders
        MemorySize: 256
        Environment:
          Variables:
            TABLE: orders
        LoggingConfig:
          LogGroup: !Ref FunctionLogGroup
          LogFormat: JSON
          ApplicationLogLevel: DEBUG
          SystemLogLevel: INFO
        """,
    "resources": """\
        FunctionLogGroup:
          Type: AWS::Logs::LogGroup
          Properties:
            LogGroupName: !Sub /aws/lambda/${AWS::StackName}
            RetentionInDays: 30
        """,
    "name": "shop-orders",
    "memory": "256",
    "log_group": "/aws/lambda/shop",
    "own": {"TABLE": "orders", "AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "DEBUG"},
}
WITHOUT_LOG_GROUP = {
    "properties": "",
    "resources": "",
    "name": "shop-Fn",
    "memory": "128",
    "log_group": "/aws/lambda/shop-Fn",
    "own": {"AWS_LAMBDA_LOG_FORMAT": "Text"},
}


def _caller_environment() -> dict[str, str]:
    """The environment `runner()` starts the runner with (the function inherits it, as PATH must be)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "LAMBDA_"))}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return environment


@pytest.mark.parametrize("case", [WITH_LOG_GROUP, WITHOUT_LOG_GROUP], ids=["LoggingConfig.LogGroup", "default"])
def test_every_variable_and_context_attribute_matches_the_template(tmp_path, mode, case):
    project = write_project(tmp_path / "shop", DUMP, properties=case["properties"], resources=case["resources"])
    name = case["name"]

    result = runner(project, "invoke", *mode_flags(mode))

    assert result.returncode == 0, result.stderr
    seen = response(result)
    caller = _caller_environment()
    environ = seen["environ"]
    added = {key: value for key, value in environ.items() if caller.get(key) != value}
    stream = added.pop("AWS_LAMBDA_LOG_STREAM_NAME")
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", stream)
    trace = added.pop("_X_AMZN_TRACE_ID")
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", trace)
    code_dir = str(project / "src")
    if mode == "emulate":
        # awslambdaric finds the Runtime API here, as on Lambda, and the handler's module on its path.
        assert re.fullmatch(r"127\.0\.0\.1:\d+", added.pop("AWS_LAMBDA_RUNTIME_API"))
        assert added.pop("PYTHONPATH") == os.pathsep.join([code_dir, caller["PYTHONPATH"]])
    assert added == {
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": case["memory"],
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{RUNTIME}",
        "_HANDLER": "app.handler",
        "LAMBDA_TASK_ROOT": code_dir,
        "LAMBDA_RUNTIME_DIR": str(REPO / "lambda_runner"),
        "AWS_LAMBDA_LOG_GROUP_NAME": case["log_group"],
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "TZ": "UTC",
        "AWS_SAM_LOCAL": "true",
        "AWS_ACCESS_KEY_ID": "local-dummy-credentials",
        "AWS_SECRET_ACCESS_KEY": "local-dummy-credentials",
        "AWS_SESSION_TOKEN": "local-dummy-credentials",
        **case["own"],
    }
    assert seen["context"] == {
        "function_name": name,
        "function_version": "$LATEST",
        "invoked_function_arn": f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        "memory_limit_in_mb": case["memory"],
        "aws_request_id": START.search(result.stderr)["id"],
        "log_group_name": case["log_group"],
        "log_stream_name": stream,
        "identity": [None, None],
        "client_context": None,
        "tenant_id": None,
    }


CLIENT_CONTEXT = """\
def handler(event, context):
    cc = context.client_context
    return {
        "custom": cc.custom,
        "env": cc.env,
        "client": [cc.client.installation_id, cc.client.app_title, cc.client.app_package_name],
        "w3c": context.w3c(),
        "repr": repr(cc),
    }
"""


def test_client_context_reads_as_the_runtime_presents_it(tmp_path, mode):
    project = write_project(tmp_path / "shop", CLIENT_CONTEXT)
    function = read_functions(project / "template.yaml")["Fn"]
    invoker = open_invoker(function, mode=mode, log=io.StringIO())
    client_context = {
        "custom": {"tenant": "a"},
        "env": {"platform": "web"},
        "client": {"installation_id": "i-1", "app_title": "Shop"},
        "w3c": {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "baggage": 7, "x": "y"},
    }
    try:
        invocation = invoker.invoke(b"{}", client_context=client_context)
    finally:
        invoker.close()

    assert invocation.ok, invocation.error
    assert json.loads(invocation.payload or b"") == {
        "custom": {"tenant": "a"},
        "env": {"platform": "web"},
        "client": ["i-1", "Shop", None],
        "w3c": {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},  # strings it knows
        "repr": "ClientContext([custom={'tenant': 'a'},env={'platform': 'web'},client=Client([installation_id=i-1,"
        "app_title=Shop,app_version_name=None,app_version_code=None,app_package_name=None])])",
    }


def test_stack_name_comes_from_samconfig_as_sam_deploy_reads_it(tmp_path):
    project = write_project(
        tmp_path / "shop", DUMP, properties=WITH_LOG_GROUP["properties"], resources=WITH_LOG_GROUP["resources"]
    )
    assert read_functions(project / "template.yaml")["Fn"].log_group == "/aws/lambda/shop"  # the folder's name
    (project / "samconfig.toml").write_text(
        "version = 0.1\n\n[default.build.parameters]\ncached = true\n\n"
        '[prod.deploy.parameters]\nstack_name = "prod"\n\n'
        '[default.global.parameters]\nstack_name = "orders-api"\n',
        encoding="utf-8",
    )

    function = read_functions(project / "template.yaml")["Fn"]

    assert (function.name, function.log_group) == ("orders-api-orders", "/aws/lambda/orders-api")
