"""Security scans of every generated project: what a security reviewer runs before signing off a scaffolding tool.

Every built-in blueprint is generated once with its defaults and once per other value of each `choice` question
(a trigger, an auth type...), plus one project with the runtime options that change the function's resource (VPC,
reserved concurrency, tracing). Then, over all of them at once (checkov takes seconds to start):

- `bandit` reports no medium or high issue in any generated Python file (a project holds only its own code: the
  runner is a dependency), nor in the runner's own source, `runner/lambda_runner/` (an accepted exception is a
  `# nosec BXXX` on its line, with the reason);
- `checkov` passes on every `template.yaml`, except checks skipped on the resource with a reason (SECURITY.md);
- slsgen's own checks of each template: least-privilege IAM, private/encrypted/TLS-only buckets, encrypted queues,
  tables and streams, no secret in an environment variable;
- `zizmor --offline` audits the GitHub workflows.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode.cfn_yaml import loads

import generator
import generator.paths

from helpers import BIN, run

# checkov's version, pinned where the projects pin it (their `make validate` runs it): a release brings new checks,
# to adopt on purpose (templates fixed or skips reasoned).
CHECKOV = re.search(r"--from (checkov==[\d.]+)", (generator.paths.skeleton_dir() / "Makefile").read_text()).group(1)

# The managed policies a function may carry: logs, X-Ray traces and VPC network interfaces, nothing else.
ALLOWED_MANAGED_POLICIES = frozenset(
    {"AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole", "AWSXrayWriteOnlyAccess"}
)
# X-Ray's trace-writing actions support no resource-level permission: AWS documents them with Resource "*".
XRAY_ACTIONS = frozenset(
    {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"}
)
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL", re.IGNORECASE)
REFERENCE_SUFFIX = re.compile(r"_(ARN|NAME|PARAMETER|PARAM|ID)$")
ACCESS_KEY = re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")


# --- the projects ---------------------------------------------------------------------------------------------------


def _condition_sets(when: str, blueprint: generator.Blueprint | None = None) -> list[str]:
    """The `--set` answers that make a question's `when` true: conjunctions of `name == 'value'`, of `name in
    ['value', ...]` (its first value) and, given the blueprint, of `name != 'value'` (the first other choice)."""
    answers = []
    for part in when.split(" and "):
        match = re.fullmatch(r"\s*(\w+)\s*(?:==\s*'([^']*)'|in\s*\[\s*'([^']*)'.*\]|!=\s*'([^']*)')\s*", part)
        if match is None or (match.group(4) is not None and blueprint is None):
            raise AssertionError(f"extend _condition_sets for the `when` expression {when!r}")
        name, equal, first, unequal = match.groups()
        if unequal is not None and blueprint is not None:
            equal = next(choice for choice in blueprint.question(name).choices if choice != unequal)
        answers.append(f"{name}={equal if equal is not None else first}")
    return answers


def variants() -> list[tuple[str, tuple[str, ...]]]:
    """(blueprint, extra `slsgen new` arguments) for every project the scans cover."""
    found: list[tuple[str, tuple[str, ...]]] = []
    for blueprint in generator.list_blueprints():
        found.append((blueprint.name, ()))
        for question in blueprint.questions:
            if question.type != "choice":
                continue
            conditions = _condition_sets(question.when) if question.when else []
            for choice in question.choices:
                if choice == question.default:
                    continue
                found.append((blueprint.name, tuple(f"--set={a}" for a in [*conditions, f"{question.name}={choice}"])))
    found.append(("hello-world", ("--vpc", "--reserved-concurrency", "10", "--tracing")))
    return found


@pytest.fixture(scope="module")
def projects(matrix) -> list[Path]:
    """Every variant, from the session's shared matrix of generated projects (read only)."""
    with ThreadPoolExecutor(max_workers=2) as pool:  # each generation is its own `slsgen new` process
        return list(pool.map(lambda variant: matrix(variant[0], *variant[1]), variants()))


def tool(name: str) -> str:
    return str(BIN / name)


def template(project: Path) -> dict[str, Any]:
    return loads((project / "template.yaml").read_text(encoding="utf-8"))


# --- bandit ---------------------------------------------------------------------------------------------------------


def test_projects_hold_no_copy_of_the_runner(projects):
    """What bandit sees in a project is the project's own code: the runner is a dependency, never a copy."""
    for project in projects:
        assert not (project / "lambda_runner").exists(), project
        assert not [
            path for path in project.rglob("*.py") if path.parts[len(project.parts)] not in ("src", "tests", "scripts")
        ]


def test_bandit_finds_no_medium_or_high_issue(projects):
    runner = Path(__file__).resolve().parent.parent / "runner" / "lambda_runner"
    targets = [str(project) for project in projects]
    result = run(
        [tool("bandit"), "-r", *targets, str(runner), "--severity-level", "medium", "-f", "json", "-q"],
        projects[0],
        check=False,
    )
    report = json.loads(result.stdout)
    issues = [
        f"{issue['filename']}:{issue['line_number']} {issue['test_id']} {issue['issue_severity']}:"
        f" {issue['issue_text']}"
        for issue in report["results"]
    ]
    assert report["metrics"]["_totals"]["loc"] > 5000, "bandit scanned (almost) nothing"
    assert not report["errors"], report["errors"]
    assert issues == [], "\n".join(issues)


def test_every_bandit_exception_says_why(projects):
    """A `# nosec` names the check it silences and gives a reason after it (not only a ruff `noqa`)."""
    bare = []
    for path in projects[0].rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "nosec" in line and not re.search(r"# nosec B\d{3}(, ?B\d{3})*\s+#\s*\S", line):
                bare.append(f"{path.relative_to(projects[0])}:{number}: {line.strip()}")
    assert bare == [], "\n".join(bare)


# --- the runner's public API ---------------------------------------------------------------------------------------

RUNNER_README = Path(__file__).resolve().parent.parent / "runner" / "README.md"


def runner_public_api() -> tuple[set[str], set[str]]:
    """(the names `lambda_runner` exports, the dotted modules and names under it) that the runner's README lists
    as its public API: its "Public API" section, up to the next section."""
    import lambda_runner

    text = RUNNER_README.read_text(encoding="utf-8")
    section = text.split("\n## Public API\n", 1)[1].split("\n## ", 1)[0]
    names = {name for name in lambda_runner.__all__ if f"`{name}" in section or f" {name}(" in section}
    assert names == set(lambda_runner.__all__), "README.md's Public API must list every name in __all__"
    dotted = set(re.findall(r"\blambda_runner(?:\.\w+)+", section))
    return names, dotted


def private_runner_uses(source: str, names: set[str], dotted: set[str]) -> list[str]:
    """The places where Python source reaches into the runner beyond its public API: an import of, or an
    attribute path through, a module or name that the README does not list."""
    import ast

    def public(path: str) -> bool:
        parts = path.split(".")
        return (
            path == "lambda_runner"
            or (len(parts) == 2 and parts[1] in names)
            or any(path == listed or path.startswith(listed + ".") for listed in dotted)
        )

    found = []
    inner: set[int] = set()
    for node in ast.walk(ast.parse(source)):  # breadth first: a path before its parts
        paths: list[str] = []
        if isinstance(node, ast.Import):
            paths = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            module = node.module
            paths = [module if module in dotted else f"{module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Attribute) and id(node) not in inner:  # the whole path `a.b.c`, not `a.b` again
            chain = [node.attr]
            value = node.value
            while isinstance(value, ast.Attribute):
                inner.add(id(value))
                chain.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id == "lambda_runner":
                paths = [".".join(["lambda_runner", *reversed(chain)])]
        found += [
            f"line {node.lineno}: {path}"
            for path in paths
            if path.split(".")[0] == "lambda_runner" and not public(path)
        ]
    return found


def test_generated_code_uses_only_the_runners_public_api(projects):
    """Every generated test, fixture and script uses only what the runner's README promises under semantic
    versioning, so a minor release of the runner can never break a project's tests."""
    names, dotted = runner_public_api()
    problems = []
    for project in projects:
        for path in sorted(project.rglob("*.py")):
            uses = private_runner_uses(path.read_text(encoding="utf-8"), names, dotted)
            problems += [f"{path.relative_to(project.parent)} {use}" for use in uses]
    assert problems == [], "private runner modules in generated code:\n" + "\n".join(problems)


def test_the_public_api_check_finds_private_uses():
    names, dotted = runner_public_api()
    assert {"lambda_runner.facts", "lambda_runner.bindings.module_bindings"} <= dotted
    source = (
        "import lambda_runner\nfrom lambda_runner import build_event, invoke\n"
        "from lambda_runner.facts import ARCHITECTURES\n"
        "from lambda_runner.bindings import module_bindings\n"
        "from lambda_runner.events.catalog import sqs_event\nimport lambda_runner.config.template\n"
        "from lambda_runner import public\nlambda_runner.runtime.context.LambdaContext\nlambda_runner.facts.MEMORY_MB\n"
    )
    assert private_runner_uses(source, names, dotted) == [
        "line 5: lambda_runner.events.catalog.sqs_event",
        "line 6: lambda_runner.config.template",
        "line 7: lambda_runner.public",
        "line 8: lambda_runner.runtime.context.LambdaContext",
    ]


# --- checkov --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def checkov() -> list[str]:
    """The checkov command, in an environment of its own that uv keeps in its shared cache.

    checkov pins its dependencies (boto3==1.35.49, packaging<24 in 3.3.30): installed beside slsgen's test tools it
    would downgrade them. `uv tool run` builds its environment once and reuses it; offline when the cache has it,
    else from PyPI.
    """
    for mode in (["--offline"], []):
        command = [str(BIN / "uv"), "tool", "run", *mode, "--python", sys.executable, "--from", CHECKOV]
        if run([*command, "python", "-c", ""], Path.cwd(), check=not mode, timeout=600).returncode == 0:
            return [*command, "checkov"]
    raise AssertionError("unreachable: the online attempt raises on failure")


def checkov_reports(output: str) -> list[dict[str, Any]]:
    """checkov prints one JSON document per framework it ran; a single one is an object, several are a list."""
    data = json.loads(output)
    return data if isinstance(data, list) else [data]


def test_checkov_passes_every_template_but_the_reasoned_skips(projects, checkov, tmp_path):
    root = tmp_path / "templates"  # one folder of every template, so that checkov runs once over all of them
    for project in projects:
        (root / project.name).mkdir(parents=True)
        shutil.copyfile(project / "template.yaml", root / project.name / "template.yaml")
    result = run(
        [
            *checkov,
            "--config-file",  # one run over every project: their `.checkov.yaml` files are the same (test below)
            str(projects[0] / ".checkov.yaml"),
            "--directory",
            str(root),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--output",
            "json",
            "--compact",
        ],
        root,
        check=False,
        env={"BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )
    assert result.returncode in {0, 1}, result.stderr
    reports = checkov_reports(result.stdout)
    failed = [
        f"{check['file_path']} {check['resource']} {check['check_id']}: {check['check_name']}"
        for report in reports
        for check in report["results"]["failed_checks"]
    ]
    skipped = [check for report in reports for check in report["results"]["skipped_checks"]]
    scanned = {  # the projects whose template.yaml (and deploy role) checkov read
        Path(check["file_abs_path"]).resolve().relative_to(root.resolve()).parts[0]
        for report in reports
        for kind in ("passed_checks", "failed_checks", "skipped_checks")
        for check in report["results"][kind]
    }
    assert failed == [], "\n".join(failed)
    assert scanned == {project.name for project in projects}, "checkov did not scan every template"
    unexplained = [
        check["check_id"] for check in skipped if len(check["check_result"].get("suppress_comment", "")) < 20
    ]
    assert unexplained == [], f"skips without a reason: {unexplained}"


def test_every_project_wide_checkov_skip_says_why(projects):
    """`.checkov.yaml` is slsgen's (the same in every project); each check it skips has its reason on the line above."""
    texts = {(project / ".checkov.yaml").read_text(encoding="utf-8") for project in projects}
    assert len(texts) == 1
    lines = texts.pop().splitlines()
    skips = [number for number, line in enumerate(lines) if re.fullmatch(r"\s*- CKV\w+\s*", line)]
    assert skips, "no project-wide skip: then drop the skip-check list"
    unexplained = [lines[number] for number in skips if not re.fullmatch(r"\s*# .{20,}", lines[number - 1])]
    assert unexplained == []


# --- slsgen's own checks of the template ----------------------------------------------------------------------------


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def iam_problems(resources: dict[str, Any]) -> list[str]:
    """Allow statements with a `*` action or (but for CloudWatch Logs, X-Ray) a `*` resource; broad managed policies."""
    problems = []
    for name, resource in resources.items():
        props = resource.get("Properties") or {}
        documents = []
        if resource["Type"] == "AWS::Serverless::Function":
            for policy in _listed(props.get("Policies") or []):
                if isinstance(policy, str) and policy not in ALLOWED_MANAGED_POLICIES:
                    problems.append(f"{name}: managed policy {policy} is broader than the function needs")
                elif isinstance(policy, dict) and "Statement" in policy:
                    documents.append(policy)
        elif resource["Type"] in {"AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
            documents += [props.get("PolicyDocument") or {}]
            documents += [policy.get("PolicyDocument") or {} for policy in props.get("Policies") or []]
            for arn in props.get("ManagedPolicyArns") or []:
                if isinstance(arn, str) and arn.rsplit("/", 1)[-1] not in ALLOWED_MANAGED_POLICIES:
                    problems.append(f"{name}: managed policy {arn} is broader than the function needs")
        for document in documents:
            for statement in _listed(document.get("Statement") or []):
                if statement.get("Effect") != "Allow":
                    continue
                actions = [str(action) for action in _listed(statement.get("Action") or [])]
                if "NotAction" in statement or "NotResource" in statement:
                    problems.append(f"{name}: NotAction/NotResource grants everything else")
                if any("*" in action for action in actions):
                    problems.append(f"{name}: wildcard action in {actions}")
                unscoped = all(action.startswith("logs:") or action in XRAY_ACTIONS for action in actions)
                if "*" in [str(resource) for resource in _listed(statement.get("Resource"))] and not unscoped:
                    problems.append(f"{name}: Resource * for {actions}")
    return problems


def _denies_insecure_transport(resources: dict[str, Any], bucket: str) -> bool:
    for resource in resources.values():
        props = resource.get("Properties") or {}
        if resource["Type"] != "AWS::S3::BucketPolicy" or props.get("Bucket") != {"Ref": bucket}:
            continue
        for statement in _listed(props["PolicyDocument"].get("Statement") or []):
            condition = (statement.get("Condition") or {}).get("Bool") or {}
            if statement.get("Effect") == "Deny" and str(condition.get("aws:SecureTransport")).lower() == "false":
                return True
    return False


def _reasoned_skip(resource: dict[str, Any], check: str) -> bool:
    """Whether the resource skips a checkov check with its reason (the alarm topic's encryption, say)."""
    skips = ((resource.get("Metadata") or {}).get("checkov") or {}).get("skip") or []
    return any(skip.get("id") == check and len(skip.get("comment", "")) >= 20 for skip in skips)


def storage_problems(resources: dict[str, Any]) -> list[str]:
    """Buckets private, encrypted and TLS-only; queues, tables, streams and topics encrypted at rest."""
    problems = []
    for name, resource in resources.items():
        kind, props = resource["Type"], resource.get("Properties") or {}
        if kind == "AWS::S3::Bucket":
            block = props.get("PublicAccessBlockConfiguration") or {}
            flags = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
            if not all(block.get(flag) is True for flag in flags):
                problems.append(f"{name}: public access is not blocked")
            if not (props.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration"):
                problems.append(f"{name}: no default encryption")
            if not _denies_insecure_transport(resources, name):
                problems.append(f"{name}: no bucket policy denying requests without TLS")
        elif kind == "AWS::SQS::Queue":
            if props.get("SqsManagedSseEnabled") is not True and not props.get("KmsMasterKeyId"):
                problems.append(f"{name}: queue not encrypted (SqsManagedSseEnabled or KmsMasterKeyId)")
        elif kind in {"AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable"}:
            if (props.get("SSESpecification") or {}).get("SSEEnabled") is not True:
                problems.append(f"{name}: table without SSESpecification.SSEEnabled (KMS encryption)")
        elif kind == "AWS::Kinesis::Stream":
            if (props.get("StreamEncryption") or {}).get("EncryptionType") != "KMS":
                problems.append(f"{name}: stream not encrypted with KMS")
        elif kind == "AWS::SNS::Topic" and not (props.get("KmsMasterKeyId") or _reasoned_skip(resource, "CKV_AWS_26")):
            problems.append(f"{name}: topic not encrypted (and no reason given for it)")
    return problems


def secret_problems(resources: dict[str, Any]) -> list[str]:
    """Secrets are read at run time from Secrets Manager / SSM: an environment variable holds at most their name."""
    problems = []
    for name, resource in resources.items():
        variables = ((resource.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
        for key, value in variables.items():
            text = json.dumps(value)
            if "{{resolve:secretsmanager" in text or "{{resolve:ssm-secure" in text:
                problems.append(f"{name}: {key} resolves a secret into a plain environment variable")
            if SECRET_NAME.search(key) and not REFERENCE_SUFFIX.search(key):
                problems.append(f"{name}: {key} looks like a secret; pass its Secrets Manager ARN or SSM name")
    return problems


def test_templates_are_least_privilege_private_and_encrypted(projects):
    problems = []
    for project in projects:
        resources = template(project)["Resources"]
        found = iam_problems(resources) + storage_problems(resources) + secret_problems(resources)
        problems += [f"{project.name}: {problem}" for problem in found]
    assert problems == [], "\n".join(problems)


def test_no_access_key_in_any_generated_file(projects):
    leaks = [
        str(path)
        for project in projects
        for path in project.rglob("*")
        if path.is_file()
        for key in ACCESS_KEY.findall(path.read_text(encoding="utf-8", errors="replace"))
        if not key.endswith("EXAMPLE")  # AWS's documented placeholder, in the runner's sample events
    ]
    assert leaks == []


def test_the_template_checks_catch_what_they_look_for():
    """The checks above fail on the mistakes they exist for (else a passing run proves nothing)."""
    bad = loads(
        """
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - AmazonS3FullAccess
        - Statement:
            - {Effect: Allow, Action: "s3:*", Resource: "arn:aws:s3:::b/*"}
            - {Effect: Allow, Action: dynamodb:GetItem, Resource: "*"}
            - {Effect: Allow, Action: logs:PutLogEvents, Resource: "*"}
      Environment:
        Variables:
          DB_PASSWORD: hunter2
          API_KEY_PARAMETER: /app/api-key
          TOKEN: "{{resolve:secretsmanager:app:SecretString:token}}"
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      PublicAccessBlockConfiguration: {BlockPublicAcls: true}
  Queue:
    Type: AWS::SQS::Queue
    Properties: {SqsManagedSseEnabled: false}
  Table:
    Type: AWS::DynamoDB::Table
    Properties: {}
  Topic:
    Type: AWS::SNS::Topic
  AlarmTopic:
    Type: AWS::SNS::Topic
    Metadata: {checkov: {skip: [{id: CKV_AWS_26, comment: "only alarm notifications, no application data"}]}}
"""
    )["Resources"]
    assert len(iam_problems(bad)) == 3
    assert {problem.split(":")[0] for problem in storage_problems(bad)} == {"Bucket", "Queue", "Table", "Topic"}
    assert len(storage_problems(bad)) == 6
    assert [problem.split(":")[1].split()[0] for problem in secret_problems(bad)] == ["DB_PASSWORD", "TOKEN", "TOKEN"]


# --- the GitHub workflows -------------------------------------------------------------------------------------------


def test_github_workflows_pass_zizmor_offline(projects):
    folders = [str(project / ".github" / "workflows") for project in projects if (project / ".github").is_dir()]
    assert folders, "no project has GitHub workflows"
    result = run([tool("zizmor"), "--offline", "--no-progress", "--format", "json", *folders], projects[0], check=False)
    findings = json.loads(result.stdout)
    unexpected = [
        f"{finding['ident']}: {finding['desc']} at {finding['locations'][0]['concrete']['feature']}"
        f" in {json.dumps(finding['locations'][0]['symbolic']['key'])}"
        for finding in findings
        if not finding["ignored"]
    ]
    assert unexpected == [], "\n".join(unexpected)
    assert result.returncode == 0, result.stderr


def test_variants_cover_every_blueprint_and_choice():
    covered = variants()
    assert {name for name, _ in covered} == {blueprint.name for blueprint in generator.list_blueprints()}
    assert ("hello-world", ("--set=trigger=function-url", "--set=url_auth=NONE")) in covered
