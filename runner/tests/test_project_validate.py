"""`validate`: each check alone, then the whole command on a clean project and on one with a problem of each kind."""

from __future__ import annotations

import datetime
import json

import pytest

from lambda_runner.project import event_shapes, handler_check, iam, locate, validate

from lambda_project import runner, write_project

HANDLER = "def handler(event, context):\n    return {}\n"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def handler(event, context):\n    pass\n", None),
        ("def handler(event, context, extra=None, *, flag=False):\n    pass\n", None),
        ("def handler(*args):\n    pass\n", None),
        ("import functools\n@functools.cache\ndef handler(event, context):\n    pass\n", None),
        ("handler = make_handler()\n", None),  # only running it would tell: accepted
        ("from other import handler\n", None),
        ("try:\n    import x\nexcept ImportError:\n    x = None\ndef handler(e, c):\n    pass\n", None),
        ("def handler(event):\n    pass\n", (2, "handler(event) cannot take (event, context)")),
        ("def handler(event, context, client):\n    pass\n", (2, "needs 3 arguments")),
        ("def handler(event, context, *, client):\n    pass\n", (2, "needs keyword-only client")),
        ("async def handler(event, context):\n    pass\n", (2, "`async def`")),
        ("def other(event, context):\n    pass\n", (None, "no function handler at the top level of app")),
        ("def handler(event, context)\n    pass\n", (2, "SyntaxError")),
    ],
)
def test_the_handler_is_read_from_the_source_without_running_it(tmp_path, source, expected):
    (tmp_path / "app.py").write_text("import sys\n" + source)  # line 1 is the import: lines below are offset by 1
    found = handler_check.check_handler("app.handler", tmp_path)
    if expected is None:
        assert found is None
    else:
        path, line, message = found
        assert path == tmp_path / "app.py"
        assert line == expected[0]
        assert expected[1] in message


def test_the_handler_module_may_be_a_package_or_a_slashed_path(tmp_path):
    (tmp_path / "service" / "api").mkdir(parents=True)
    (tmp_path / "service" / "api" / "__init__.py").write_text(HANDLER)
    assert handler_check.check_handler("service.api.handler", tmp_path) is None
    assert handler_check.check_handler("service/api.handler", tmp_path) is None
    assert handler_check.check_handler("handler", tmp_path)[2].startswith("Handler 'handler' is not module.function")
    assert "no module nothere in" in handler_check.check_handler("nothere.handler", tmp_path)[2]


@pytest.mark.parametrize(
    ("statement", "problems"),
    [
        ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/uploads/*"}, []),
        ({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"}, ["Action '*' allows every action"]),
        ({"Effect": "Allow", "Action": ["s3:Get*"], "Resource": "arn:aws:s3:::b/*"}, ["Action 's3:Get*'"]),
        ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, ["Resource '*' allows every resource"]),
        ({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:us-east-1:1:*"}, ["Resource"]),
        ({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": {"Fn::Sub": "*"}}, ["Resource '*'"]),
        ({"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}, []),
        ({"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"}, []),  # no resource-level ARNs
        ({"Effect": "Deny", "Action": "s3:*", "Resource": "*"}, []),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b"}, ["NotAction"]),
    ],
)
def test_iam_statements_allow_no_wildcards_beyond_cloudwatch_logs(statement, problems):
    found = iam.statement_problems(statement)
    assert len(found) == len(problems)
    for message, expected in zip(found, problems, strict=True):
        assert expected in message


def test_sam_policy_templates_and_managed_policies_are_checked_too():
    policies = [
        "AWSLambdaBasicExecutionRole",
        {"S3ReadPolicy": {"BucketName": "photos"}},
        {"S3ReadPolicy": {"BucketName": "*"}},
        "arn:aws:iam::aws:policy/AdministratorAccess",
        {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::photos/*"}]},
    ]
    found = list(iam.function_policy_findings("Fn", policies))
    assert [path[4] for path, _ in found] == ["2", "3", "4"]
    assert found[0][1].startswith("policy template S3ReadPolicy: Resource 'arn:Partition:s3:::*' allows every")
    assert "AdministratorAccess allows far more" in found[1][1]
    assert found[2][0] == ("Resources", "Fn", "Properties", "Policies", "4", "Statement", "0")


def test_events_have_the_shape_of_the_trigger():
    s3 = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}}}]}
    assert (
        event_shapes.event_problem(s3, ["S3"])
        == "not an event of the function's trigger (as S3: no Records[0].s3.object.key)"
    )
    s3["Records"][0]["s3"]["object"] = {"key": "a.jpg"}
    assert event_shapes.event_problem(s3, ["S3"]) is None
    assert event_shapes.event_problem(s3, ["SQS", "S3"]) is None  # any of the function's triggers
    assert "as HttpApi: no version" in event_shapes.event_problem(s3, ["HttpApi"])
    assert event_shapes.event_problem([1, 2], []) is None  # no trigger: any JSON
    assert event_shapes.triggers(
        {"Events": {"A": {"Type": "HttpApi", "Properties": {"PayloadFormatVersion": "1.0"}}}}
    ) == ["HttpApi1.0"]
    assert event_shapes.triggers({"FunctionUrlConfig": {"AuthType": "AWS_IAM"}}) == ["FunctionUrl"]


def test_key_lines_follow_the_yaml_short_form_tags():
    text = "Resources:\n  Fn:\n    Properties:\n      Name: !Ref X\n      List:\n        - a\n        - !Sub b\n"
    lines = locate.key_lines(text)
    assert lines[("Resources", "Fn", "Properties", "Name")] == 4
    assert lines[("Resources", "Fn", "Properties", "List", "1")] == 7
    assert locate.line_of(lines, ("Resources", "Fn", "Properties", "Missing")) == 3  # the deepest known parent


def test_a_runtime_past_its_deprecation_date_is_refused(tmp_path):
    project = write_project(tmp_path / "p", HANDLER)
    checker = validate.Checker(project / "template.yaml")
    props = {"Runtime": "python3.12", "Architectures": ["arm64"]}
    validate.check_settings(checker, "Fn", props, today=datetime.date(2028, 10, 30))
    assert checker.problems == []
    validate.check_settings(checker, "Fn", props, today=datetime.date(2028, 10, 31))  # Runtime: in Globals, line 5
    assert checker.problems == [("template.yaml", 5, "Runtime python3.12 was deprecated on 2028-10-31: use python3.14")]


BROKEN_PROPERTIES = """\
Runtime: python3.13
Architectures: [arm64]
MemorySize: 20000
Environment:
  Variables:
    AWS_REGION: eu-west-1
Policies:
  - Statement:
      - Effect: Allow
        Action: "*"
        Resource: "*"
Events:
  Upload:
    Type: SQS
    Properties:
      Queue: !GetAtt Queue.Arn
"""


def test_a_broken_project_gets_one_line_per_problem_with_file_and_line(tmp_path):
    project = write_project(
        tmp_path / "broken",
        HANDLER,
        handler="app.missing",
        properties=BROKEN_PROPERTIES,
        resources="Queue:\n  Type: AWS::SQS::Queue\n",
    )
    (project / "events").mkdir()
    (project / "events" / "bad.json").write_text('{"Records": [\n  {"body": "x",}\n]}\n')
    (project / "events" / "other.json").write_text(json.dumps({"version": "2.0", "rawPath": "/"}))
    (project / ".github" / "workflows").mkdir(parents=True)
    (project / ".github" / "workflows" / "ci.yml").write_text("on: push\njobs:\n  test: [\n")
    result = runner(project, "validate", timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "template.yaml:17: MemorySize 20000 MB is outside Lambda's 128-10240 MB" in lines
    assert any(line.startswith("template.yaml:20: cfn-lint E3663: 'AWS_REGION' is a reserved") for line in lines)
    assert "template.yaml:23: Action '*' allows every action: name the ones the code calls" in lines
    assert "template.yaml:23: Resource '*' allows every resource: name the ARNs the code uses" in lines
    assert "src/app.py: no function missing at the top level of app (Handler 'app.missing')" in lines
    assert "events/bad.json:2: not valid JSON: Expecting property name enclosed in double quotes (column 16)" in lines
    assert "events/other.json: not an event of the function's trigger (as SQS: no Records list of records)" in lines
    assert any(line.startswith(".github/workflows/ci.yml:4: not valid YAML") for line in lines)
    assert len(lines) == len(set(lines)) == 8, result.stdout  # cfn-lint finds nothing more, and nothing twice
    assert "validate: 8 problems" in result.stderr


def test_a_clean_project_is_one_ok_line(tmp_path):
    project = write_project(tmp_path / "clean", HANDLER, properties="Runtime: python3.13\n")
    (project / "events").mkdir()
    (project / "events" / "any.json").write_text("{}")
    result = runner(project, "validate", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "validate: OK (template.yaml: 1 function, 1 event file, 0 CI files)\n"


def test_a_failing_sam_transform_is_reported_once(tmp_path):
    project = write_project(tmp_path / "sam", HANDLER, properties="Runtime: python3.13\nEvents:\n  Q:\n    Type: SQS\n")
    result = runner(project, "validate", timeout=300)
    assert result.returncode == 1
    transform = [line for line in result.stdout.splitlines() if "SAM transform" in line or "E0001" in line]
    assert len(transform) == 1, result.stdout
    assert "Queue" in transform[0]
