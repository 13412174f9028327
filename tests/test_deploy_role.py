"""The deploy role and the alarms of every generated project, checked offline as AWS would use them.

For every blueprint, each value of its trigger-like choices, and the runtime options that add resources or
permissions (`--vpc --tracing`, alarms on and off): the project is rendered in-process, its template goes through
the SAM transform (samtranslator, as CloudFormation runs it), and:

- the deploy role (`deploy/github-oidc-role.yaml`) allows, for every resource of the transformed template, every
  permission its CloudFormation provider schema lists for create, update and delete (read here from cfn-lint's
  schemas, not from slsgen's table), on the ARN that resource will have (its name resolved, or the name
  CloudFormation generates, cut as CloudFormation cuts it for a long stack name), and not on another stack's; plus
  what `sam deploy` itself does. No action is a wildcard, and `*` is a resource only for actions IAM knows no
  resource type for. The README's former policy fails the same check;
- slsgen's permission table is what cfn-lint's schemas say, and its SAM table what samtranslator makes;
- the alarms are there, notify the topic, and pass cfn-lint, like the role; `--no-alarms` leaves none; the README
  says what is deployed, what it costs at idle, how to deploy the role and how to turn the alarms off.
"""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint
from cfnlint.config import ManualArgs

import generator
from generator import deploy_role

from aws_calls import allows, listed, matches, transformed

ACCOUNT, REGION = "123456789012", "us-east-1"
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::URLSuffix": "amazonaws.com"}
CFNLINT_DATA = Path(__import__("cfnlint").__file__).parent / "data"
# How long a generated name may be, per service (CloudFormation cuts the stack name and logical id to fit).
NAME_LENGTH = {"lambda": 64, "iam": 64, "events": 64, "scheduler": 64, "s3": 63, "sqs": 80, "kinesis": 128}
VIA_CLOUDFORMATION = {"aws:CalledViaFirst": "cloudformation.amazonaws.com"}
# What follows the resource's name in a real ARN of each kind (IAM's formats end in `.*` after the prefix).
ARN_SUFFIX = {
    ("scheduler", "schedule"): "default/{name}",
    ("dynamodb", "stream"): "{name}/stream/2026-01-01T00:00:00.000",
    ("dynamodb", "index"): "{name}/index/by-date",
    ("logs", "logstream"): "{name}:log-stream:2026/01/01/[$LATEST]0123abcd",
    ("s3", "object"): "{name}/uploads/photo.jpg",
    ("lambda", "layerversion"): "{name}:3",
}


def variants() -> list[tuple[str, str, dict[str, Any]]]:
    """(id, blueprint, options): every trigger-like choice, then the options that add resources."""
    base: list[tuple[str, dict[str, Any]]] = [
        ("hello-world", {}),
        ("hello-world", {"trigger": "function-url"}),
        ("hello-world", {"trigger": "function-url", "url_auth": "NONE"}),
        ("hello-world", {"trigger": "none"}),
        ("image-resize", {}),
        ("alexa-skill", {}),
        *[
            ("data-processing", {"trigger": trigger})
            for trigger in ("sqs", "sqs-fifo", "kinesis", "dynamodb", "s3", "schedule")
        ],
    ]
    found = []
    for blueprint, options in base:
        label = "-".join([blueprint, *map(str, options.values())])
        found.append((label, blueprint, options))
        found.append((f"{label}-vpc-tracing", blueprint, {**options, "vpc": True, "tracing": True}))
        found.append((f"{label}-no-alarms", blueprint, {**options, "alarms": False}))
    return found


VARIANTS = variants()
LONG_NAME = "a-stack-name-longer-than-cloudformation-keeps"  # 45 characters: generated names cut it to 25


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("deploy-role")
    made = {
        label: generator.new_project(blueprint, f"p{number:02d}", output_dir=root, options=options)
        for number, (label, blueprint, options) in enumerate(VARIANTS)
    }
    made["long-name"] = generator.new_project(
        "data-processing", LONG_NAME, output_dir=root, options={"trigger": "schedule"}
    )
    made["gitlab"] = generator.new_project("image-resize", "gl-thumbs", output_dir=root, options={"ci": "gitlab"})
    made["no-ci"] = generator.new_project("hello-world", "bare", output_dir=root, options={"ci": "none"})
    return made


# --- reading templates -----------------------------------------------------------------------------------------


def role_statements(path: Path) -> list[dict[str, Any]]:
    """Every statement of the role's managed policies, with `Fn::Sub` resolved for this account and region."""
    role = deploy_role.load(path.read_text(encoding="utf-8"))
    found = []
    for resource in role["Resources"].values():
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            found += resolve(resource["Properties"]["PolicyDocument"]["Statement"])
        elif resource["Type"] == "AWS::IAM::Role":
            assert "Policies" not in resource["Properties"], "the role's permissions are its managed policies"
    return found


def resolve(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        return re.sub(r"\$\{([^}]+)\}", lambda match: PSEUDO[match.group(1)], value["Fn::Sub"])
    if isinstance(value, dict):
        return {key: resolve(item) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item) for item in value]
    return value


def granted_anywhere(statements: list[dict[str, Any]], action: str) -> bool:
    return any(
        any(matches(pattern, action, ignore_case=True) for pattern in listed(statement["Action"]))
        for statement in statements
        if statement["Effect"] == "Allow"
    )


# --- cfn-lint's data: the schemas' handler permissions, IAM's actions and ARNs -------------------------------------


def provider_permissions() -> dict[str, set[str]]:
    """Every resource type's create, update and delete permissions, as its provider schema lists them."""
    found = {}
    for path in (CFNLINT_DATA / "schemas" / "resources").glob("*.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        handlers = schema.get("handlers") or {}
        found[schema["typeName"]] = {
            permission
            for name in ("create", "update", "delete")
            for permission in (handlers.get(name) or {}).get("permissions", [])
        }
    return found


def iam_reference() -> dict[str, Any]:
    """IAM's actions and resource types, as cfn-lint ships them."""
    return json.loads((CFNLINT_DATA / "AdditionalSpecs" / "Policies.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schemas() -> dict[str, set[str]]:
    return provider_permissions()


@pytest.fixture(scope="module")
def iam() -> dict[str, Any]:
    return iam_reference()


def norm(kind: str) -> str:
    return kind.lower().replace(" ", "").replace("-", "")


def action_kinds(iam: dict[str, Any], action: str) -> list[str] | None:
    """The IAM resource types an action applies to ([] for none), None when IAM does not know it."""
    service, _, name = action.partition(":")
    actions = {key.lower(): value for key, value in (iam.get(service.lower()) or {}).get("Actions", {}).items()}
    if "*" in action or name.lower() not in actions:
        return None
    return [norm(kind) for kind in actions[name.lower()].get("Resources", [])]


def arn_format(iam: dict[str, Any], service: str, kind: str) -> str | None:
    resources = {norm(key): value for key, value in (iam.get(service) or {}).get("Resources", {}).items()}
    formats = (resources.get(kind) or {}).get("ARNFormats") or []
    return formats[0] if formats else None


# --- the names and ARNs the stack's resources will have ----------------------------------------------------------


def generated_name(stack: str, logical_id: str, service: str, lowercase: bool) -> str:
    """The physical name CloudFormation makes: `<stack>-<logical id>-<random>`, cut to the service's length."""
    limit = NAME_LENGTH.get(service, 255)
    if len(stack) + len(logical_id) + 14 > limit:
        room = limit - 14
        stack_part = min(len(stack), max(math.ceil(room / 2), room - len(logical_id)))
        stack, logical_id = stack[:stack_part], logical_id[: room - stack_part]
    name = f"{stack}-{logical_id}-ABCDEF123456"
    return name.lower() if lowercase else name


def physical_name(resource: dict[str, Any], logical_id: str, stack: str, service: str) -> str:
    naming = deploy_role.role_data()["resource_arns"].get(resource["Type"], {})
    value = (resource.get("Properties") or {}).get(naming.get("name", ""))
    pseudo = {**PSEUDO, "AWS::StackName": stack}
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value:
        return re.sub(r"\$\{([^}]+)\}", lambda match: pseudo[match.group(1)], value["Fn::Sub"])
    if isinstance(value, dict) and value.get("Ref") == "AWS::StackName":
        return stack
    assert value is None, f"{logical_id}: resolve {value} here"
    return generated_name(stack, logical_id, service, bool(naming.get("lowercase")))


def own_arns(iam: dict[str, Any], resource: dict[str, Any], logical_id: str, stack: str) -> dict[tuple[str, str], str]:
    """The resource's own ARN for each (IAM service, kind) slsgen knows it by: IAM's format, with its name."""
    naming = deploy_role.role_data()["resource_arns"].get(resource["Type"])
    if naming is None:
        return {}
    arns = {}
    for kind, formats in naming["arns"].items():
        service = re.sub(r"\{[a-z]+\}", "-", formats[0]).split(":")[2]
        template = arn_format(iam, service, kind)
        if kind == "*" or template is None:
            continue
        name = physical_name(resource, logical_id, stack, service) if "name" in naming else "0f5c1d2e-3a4b-5c6d"
        prefix = template.replace("${Partition}", "aws").replace("${Region}", REGION).replace("${Account}", ACCOUNT)
        assert prefix.endswith(".*"), prefix
        arns[service, kind] = prefix[:-2] + ARN_SUFFIX.get((service, kind), "{name}").format(name=name)
    return arns


def coverage_problems(statements, template, stack, schemas, iam) -> list[str]:
    """What the role lacks to deploy the transformed `template` as `stack`, or grants beyond it."""
    problems = []
    extra = deploy_role.role_data()["extra_permissions"]
    roles = {
        logical_id: own_arns(iam, resource, logical_id, stack).get(("iam", "role"))
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
    }
    for logical_id, resource in template["Resources"].items():
        kind = resource["Type"]
        own = own_arns(iam, resource, logical_id, stack)
        named = "name" in deploy_role.role_data()["resource_arns"].get(kind, {})  # else its ids are random
        other = own_arns(iam, resource, logical_id, "other-stack") if named else {}
        for permission in sorted(schemas[kind] | set(extra.get(kind, []))):
            kinds = action_kinds(iam, permission)
            if kinds is None:
                continue  # a wildcard or a name IAM does not know: no policy could grant it as written
            if permission.lower() == "iam:passrole" and kind == "AWS::Lambda::Function":
                role = resource["Properties"]["Role"]["Fn::GetAtt"][0]
                if not allows(statements, permission, roles[role], {}):
                    problems.append(f"{logical_id}: iam:PassRole of its role {roles[role]}")
                continue
            service = permission.split(":")[0].lower()
            targets = {key: arn for key, arn in own.items() if key[0] == service and key[1] in kinds}
            for arn_kind, arn in targets.items():
                if not allows(statements, permission, arn, VIA_CLOUDFORMATION):
                    problems.append(f"{logical_id} ({kind}): {permission} on {arn}")
                elif arn_kind in other and allows(statements, permission, other[arn_kind], VIA_CLOUDFORMATION):
                    problems.append(f"{logical_id} ({kind}): {permission} also on another stack's {other[arn_kind]}")
            if not targets and not granted_anywhere(statements, permission):
                problems.append(f"{logical_id} ({kind}): {permission} is not granted")
    stack_arn = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack}/2f0d4d20-0000-11ee-8c99-0242ac120002"
    own = {
        "cloudformation:CreateChangeSet": [
            stack_arn,
            f"arn:aws:cloudformation:{REGION}:aws:transform/Serverless-2016-10-31",
        ],
        **{
            action: [stack_arn]
            for action in (
                "cloudformation:DescribeChangeSet",
                "cloudformation:ExecuteChangeSet",
                "cloudformation:DescribeStacks",
                "cloudformation:DescribeStackEvents",
                "cloudformation:GetTemplateSummary",
            )
        },
        "s3:PutObject": [f"arn:aws:s3:::aws-sam-cli-managed-default-samclisourcebucket-1a2b3c4d5e6f/{stack}/0123abcd"],
        "s3:GetObject": [f"arn:aws:s3:::aws-sam-cli-managed-default-samclisourcebucket-1a2b3c4d5e6f/{stack}/0123abcd"],
    }
    for action, arns in own.items():
        problems += [f"sam deploy: {action} on {arn}" for arn in arns if not allows(statements, action, arn, {})]
    for statement in statements:
        actions = [str(action) for action in listed(statement["Action"])]
        problems += [f"{statement['Sid']}: wildcard action {action}" for action in actions if "*" in action]
        if "*" in listed(statement["Resource"]):
            scoped = [action for action in actions if action_kinds(iam, action)]
            problems += [f"{statement['Sid']}: Resource * for {action}, which has resource types" for action in scoped]
    return problems


# --- the tests -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", [label for label, _, _ in VARIANTS] + ["long-name", "gitlab"])
def test_the_role_deploys_every_resource_and_nothing_else(projects, label, schemas, iam):
    project = projects[label]
    ci = "gitlab" if label == "gitlab" else "github"
    role = project / "deploy" / f"{ci}-oidc-role.yaml"
    problems = coverage_problems(role_statements(role), transformed(project), project.name, schemas, iam)
    assert problems == [], "\n".join(problems)


OLD_README_POLICY = [  # what the README said before the role was computed: one policy for every blueprint
    {
        "Effect": "Allow",
        "Action": [
            "s3:CreateBucket",
            "s3:PutObject",
            "s3:GetObject",
            "s3:PutBucketPolicy",
            "s3:PutBucketVersioning",
            "s3:PutEncryptionConfiguration",
            "s3:PutBucketPublicAccessBlock",
            "s3:PutBucketTagging",
            "s3:ListBucket",
            "s3:GetBucketLocation",
        ],
        "Resource": ["arn:aws:s3:::aws-sam-cli-managed-default-*"],
    },
    {
        "Effect": "Allow",
        "Action": [
            "lambda:*",
            "logs:*",
            "iam:GetRole",
            "iam:CreateRole",
            "iam:DeleteRole",
            "iam:PutRolePolicy",
            "iam:DeleteRolePolicy",
            "iam:AttachRolePolicy",
            "iam:DetachRolePolicy",
            "iam:TagRole",
            "iam:PassRole",
            "apigateway:*",
            "s3:*",
        ],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:CalledViaFirst": "cloudformation.amazonaws.com"}},
    },
    {"Sid": "AWSCloudFormationFullAccess", "Effect": "Allow", "Action": ["cloudformation:*"], "Resource": "*"},
]


@pytest.mark.parametrize(
    ("label", "missing"),
    [
        ("image-resize", "sqs:CreateQueue"),
        ("data-processing-sqs", "dynamodb:CreateTable"),
        ("data-processing-kinesis", "kinesis:CreateStream"),
    ],
)
def test_the_former_readme_policy_fails_the_check(projects, label, missing, schemas, iam):
    statements = [{"Sid": "Former", **statement} for statement in copy.deepcopy(OLD_README_POLICY)]
    problems = coverage_problems(statements, transformed(projects[label]), projects[label].name, schemas, iam)
    assert any(missing in problem for problem in problems), problems
    assert any("wildcard action lambda:*" in problem for problem in problems)


def test_long_stack_names_are_matched_as_cloudformation_cuts_them(projects):
    role = (projects["long-name"] / "deploy" / "github-oidc-role.yaml").read_text(encoding="utf-8")
    assert f"function:{LONG_NAME[:25]}*" in role
    assert f"stack/{LONG_NAME}/*" in role  # the stack itself keeps its whole name


@pytest.mark.parametrize("label", [label for label, _, _ in VARIANTS])
def test_the_sam_table_makes_what_samtranslator_makes(projects, label):
    project = projects[label]
    template = deploy_role.load((project / "template.yaml").read_text(encoding="utf-8"))
    made = {kind for kind, _ in deploy_role.cloudformation_resources(template)}  # the types: what permissions follow
    assert made == {resource["Type"] for resource in transformed(project)["Resources"].values()}


EVENTS = {  # one event of each type in slsgen's SAM table, as SAM documents them
    "S3": {"Bucket": {"Ref": "Bucket"}, "Events": "s3:ObjectCreated:*"},
    "SQS": {"Queue": {"Fn::GetAtt": ["Queue", "Arn"]}},
    "Kinesis": {"Stream": "arn:aws:kinesis:us-east-1:123456789012:stream/s", "StartingPosition": "LATEST"},
    "DynamoDB": {"Stream": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x", "StartingPosition": "LATEST"},
    "MSK": {
        "Stream": "arn:aws:kafka:us-east-1:123456789012:cluster/c/x",
        "StartingPosition": "LATEST",
        "Topics": ["t"],
    },
    "HttpApi": {},
    "Api": {"Path": "/x", "Method": "get"},
    "Schedule": {"Schedule": "rate(1 hour)"},
    "ScheduleV2": {"ScheduleExpression": "rate(1 hour)"},
    "EventBridgeRule": {"Pattern": {"source": ["x"]}},
    "CloudWatchEvent": {"Pattern": {"source": ["x"]}},
    "SNS": {"Topic": "arn:aws:sns:us-east-1:123456789012:t"},
    "CloudWatchLogs": {"LogGroupName": "g", "FilterPattern": ""},
    "AlexaSkill": {"SkillId": "amzn1.ask.skill.00000000-0000-0000-0000-000000000000"},
    "Cognito": {"UserPool": {"Ref": "Pool"}, "Trigger": "PreSignUp"},
}


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_every_sam_event_of_the_table_makes_what_samtranslator_makes(tmp_path, event_type):
    table = deploy_role.role_data()["sam_resources"]["AWS::Serverless::Function"]["events"]
    assert set(table) == set(EVENTS), "give every event type of the table an example here"
    template = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "Queue": {"Type": "AWS::SQS::Queue"},
            "Pool": {"Type": "AWS::Cognito::UserPool"},
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "src/",
                    "Handler": "app.handler",
                    "Runtime": "python3.13",
                    "FunctionUrlConfig": {"AuthType": "NONE"},
                    "AutoPublishAlias": "live",
                    "EventInvokeConfig": {"MaximumRetryAttempts": 0},
                    "Events": {"Trigger": {"Type": event_type, "Properties": EVENTS[event_type]}},
                },
            },
        },
    }
    (tmp_path / "template.yaml").write_text(json.dumps(template), encoding="utf-8")
    made = {kind for kind, _ in deploy_role.cloudformation_resources(copy.deepcopy(template))}
    assert made == {resource["Type"] for resource in transformed(tmp_path)["Resources"].values()}


def test_the_permission_table_is_what_cfn_lint_schemas_say(schemas, iam):
    table = deploy_role.table()
    services = tuple(deploy_role.role_data()["services"])
    expected = {kind for kind, permissions in schemas.items() if kind.startswith(services) and permissions}
    assert set(table["resource_types"]) == expected
    for kind, permissions in table["resource_types"].items():
        assert {p.lower() for p in permissions} == {p.lower() for p in schemas[kind]}, kind
    for action, kinds in table["actions"].items():
        assert kinds == (None if action_kinds(iam, action) is None else sorted(set(action_kinds(iam, action)))), action


def test_a_resource_type_outside_the_table_is_refused_in_one_line(tmp_path):
    text = "Resources:\n  Cluster:\n    Type: AWS::ECS::Cluster\n"
    with pytest.raises(
        deploy_role.UnknownResourceType, match=r"resource of type AWS::ECS::Cluster.*nothing was written"
    ):
        deploy_role.role_template(text, "github", "stack")


def test_only_a_ci_system_gets_a_role(projects):
    assert not (projects["no-ci"] / "deploy").exists()
    assert [path.name for path in (projects["gitlab"] / "deploy").iterdir()] == ["gitlab-oidc-role.yaml"]
    role = deploy_role.load((projects["gitlab"] / "deploy" / "gitlab-oidc-role.yaml").read_text(encoding="utf-8"))
    (trust,) = role["Resources"]["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"]["StringEquals"] == {
        "gitlab.com:aud": "sts.amazonaws.com",
        "gitlab.com:sub": {"Fn::Sub": "project_path:${ProjectPath}:ref_type:branch:ref:${Branch}"},
    }
    github = deploy_role.load(
        (projects["image-resize"] / "deploy" / "github-oidc-role.yaml").read_text(encoding="utf-8")
    )
    (trust,) = github["Resources"]["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == {
        "Fn::Sub": "repo:${Repository}:environment:${Environment}"
    }


LINTED = [label for label, _, _ in VARIANTS if not label.endswith("-no-alarms")] + ["gitlab"]


@pytest.mark.parametrize("label", LINTED)
def test_the_role_and_the_template_with_its_alarms_pass_cfn_lint(projects, label):
    project = projects[label]
    files = [project / "template.yaml", *sorted((project / "deploy").glob("*.yaml"))]
    found = {
        path.name: [
            f"{m.rule.id} line {m.linenumber}: {m.message}"
            for m in lint(path.read_text(encoding="utf-8"), config=ManualArgs(regions=[REGION]))
        ]
        for path in files
    }
    assert found == {path.name: [] for path in files}


ALARMED_METRICS = {  # the metric every variant of a blueprint watches, beyond the function's Errors and Throttles
    "hello-world": {"5xx"},
    "hello-world-function-url": {"Url5xxCount"},
    "hello-world-function-url-NONE": {"Url5xxCount"},
    "hello-world-none": set(),
    "image-resize": {"ApproximateNumberOfMessagesVisible"},
    "alexa-skill": set(),
    "data-processing-sqs": {"ApproximateNumberOfMessagesVisible", "FailedRecords"},
    "data-processing-sqs-fifo": {"ApproximateNumberOfMessagesVisible", "FailedRecords"},
    "data-processing-kinesis": {"ApproximateNumberOfMessagesVisible", "FailedRecords", "IteratorAge"},
    "data-processing-dynamodb": {"ApproximateNumberOfMessagesVisible", "FailedRecords", "IteratorAge"},
    "data-processing-s3": {"ApproximateNumberOfMessagesVisible", "FailedRecords"},
    "data-processing-schedule": {"ApproximateNumberOfMessagesVisible", "FailedRecords"},
}


@pytest.mark.parametrize("label", [label for label, _, _ in VARIANTS])
def test_alarms_watch_what_fails_and_the_readme_says_so(projects, label):
    project = projects[label]
    template = deploy_role.load((project / "template.yaml").read_text(encoding="utf-8"))
    resources = template["Resources"]
    alarms = {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert "## What is deployed, and what it costs at idle" in readme
    if label.endswith("-no-alarms"):
        assert alarms == {}
        assert "AlarmTopic" not in resources
        assert "generated without alarms (`--no-alarms`)" in readme
        return
    base = label.removesuffix("-vpc-tracing")
    assert {props["MetricName"] for props in alarms.values()} == {"Errors", "Throttles"} | ALARMED_METRICS[base]
    for props in alarms.values():
        assert props["AlarmActions"] == props["OKActions"] == [{"Ref": "AlarmTopic"}]
        assert props["TreatMissingData"] == "notBreaching"
    for name, props in alarms.items():  # each queue alarm watches a queue of the template that holds failures
        if props["MetricName"] == "ApproximateNumberOfMessagesVisible":
            (dimension,) = props["Dimensions"]
            assert resources[dimension["Value"]["Fn::GetAtt"][0]]["Type"] == "AWS::SQS::Queue", name
    assert resources["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"
    assert f"{len(alarms)} CloudWatch alarms notify the `AlarmTopic` SNS topic" in readme
    assert f"| {len(alarms)} alarms (below) | CloudWatch alarms | {len(alarms) * 0.1:.2f} USD a month" in readme
    assert all(f"`{name}`" in readme for name in alarms)
    assert "aws cloudwatch disable-alarm-actions" in readme  # how to turn them off
    assert "aws cloudformation deploy --template-file deploy/github-oidc-role.yaml" in readme  # how to deploy the role


def test_the_function_shares_its_settings_through_globals(projects):
    template = deploy_role.load((projects["data-processing-kinesis-vpc-tracing"] / "template.yaml").read_text())
    shared = template["Globals"]["Function"]
    assert {
        "CodeUri",
        "Runtime",
        "Architectures",
        "MemorySize",
        "Timeout",
        "Tracing",
        "VpcConfig",
        "LoggingConfig",
    } <= set(shared)
    function = template["Resources"]["ProcessFunction"]["Properties"]
    assert "FunctionName" not in function  # CloudFormation names it: a second function can be added
    assert set(function) == {"Description", "Handler", "LoggingConfig", "Environment", "Role", "Events"}


def test_the_role_follows_the_template_when_it_gains_a_resource(tmp_path, schemas, iam):
    """`slsgen deploy-role` recomputes the role: a table added to template.yaml gets its permissions."""
    from helpers import slsgen

    project = generator.new_project("hello-world", "grows", output_dir=tmp_path)
    role = project / "deploy" / "github-oidc-role.yaml"
    assert "dynamodb:CreateTable" not in role.read_text(encoding="utf-8")
    template = project / "template.yaml"
    table = "\n  Orders:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      BillingMode: PAY_PER_REQUEST\n"
    text = template.read_text(encoding="utf-8")
    template.write_text(text.replace("\nOutputs:\n", table + "\nOutputs:\n"), encoding="utf-8")
    assert "wrote " in slsgen("deploy-role", str(project), cwd=tmp_path).stdout
    assert coverage_problems(role_statements(role), transformed(project), project.name, schemas, iam) == []
    assert "dynamodb:CreateTable" in role.read_text(encoding="utf-8")
    refused = slsgen("deploy-role", str(tmp_path), cwd=tmp_path, check=False)
    assert (refused.returncode, refused.stderr.startswith("error: no template.yaml in ")) == (2, True)
