"""Least privilege: no `Allow` of `*` actions or `*` resources, except for CloudWatch Logs.

Checked where the permissions are written: the functions' `Policies` (inline statements, SAM policy templates
expanded with samtranslator's own definitions, managed policies by name) and the template's IAM resources. A
`*` resource is also accepted for the few actions that have no resource-level permissions (X-Ray, PutMetricData,
the network interfaces of a VPC function), since no narrower resource exists for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

Finding = tuple[tuple[str, ...], str]  # (the template path where it is written, the problem)

NO_RESOURCE_LEVEL = frozenset(
    {
        "cloudwatch:putmetricdata",
        "xray:puttracesegments",
        "xray:puttelemetryrecords",
        "xray:getsamplingrules",
        "xray:getsamplingtargets",
        "ec2:createnetworkinterface",
        "ec2:describenetworkinterfaces",
        "ec2:deletenetworkinterface",
        "ec2:assignprivateipaddresses",
        "ec2:unassignprivateipaddresses",
    }
)
BROAD_MANAGED = re.compile(r"(?:^|/)(AdministratorAccess|PowerUserAccess|[A-Za-z0-9]*FullAccess)$")
ANY_RESOURCE_OF_SERVICE = re.compile(r"^arn:[^:]*:[^:]*:[^:]*:[^:]*:[*/]+$")  # arn:aws:s3:::*, arn:aws:s3:::*/*
PSEUDO = re.compile(r"\$\{AWS::(\w+)\}")
IAM_TYPES = ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")


def _strings(value: Any) -> list[str]:
    """The action or resource strings of a statement field; an intrinsic function is read as its text."""
    items = value if isinstance(value, list) else [value]
    texts = []
    for item in items:
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, dict) and "Fn::Sub" in item:
            sub = item["Fn::Sub"]
            text, variables = (str(sub[0]), sub[1] if len(sub) > 1 else {}) if isinstance(sub, list) else (str(sub), {})
            for name, literal in (variables if isinstance(variables, dict) else {}).items():
                if isinstance(literal, str):  # a policy template's parameter, given as a literal
                    text = text.replace("${" + name + "}", literal)
            texts.append(PSEUDO.sub(r"\1", text))  # ${AWS::Partition} holds colons that would split the ARN
    return texts


def statement_problems(statement: Any) -> list[str]:
    """What is too broad in one statement (empty for Deny statements and for CloudWatch Logs)."""
    if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
        return []
    actions = _strings(statement.get("Action", []))
    if actions and all(action.lower().startswith("logs:") for action in actions):
        return []
    problems = [
        f"Action {action!r} allows every action: name the ones the code calls" for action in actions if "*" in action
    ]
    if "NotAction" in statement:
        problems.append("NotAction allows everything but the actions listed: name the ones the code calls")
    resources = _strings(statement.get("Resource", []))
    broad = [resource for resource in resources if resource == "*" or ANY_RESOURCE_OF_SERVICE.match(resource)]
    if broad and not all(action.lower() in NO_RESOURCE_LEVEL for action in actions):
        problems.append(f"Resource {broad[0]!r} allows every resource: name the ARNs the code uses")
    return problems


def _document_findings(document: Any, path: tuple[str, ...]) -> Iterator[Finding]:
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    if isinstance(statements, dict):
        statements = [statements]
    for index, statement in enumerate(statements):
        for problem in statement_problems(statement):
            yield (*path, "Statement", str(index)), problem


def _policy_templates() -> Any:
    """samtranslator's policy-template processor (it ships with cfn-lint's SAM support), or None without it."""
    try:
        from samtranslator.policy_template_processor.processor import PolicyTemplatesProcessor
    except ImportError:
        return None
    return PolicyTemplatesProcessor(PolicyTemplatesProcessor.get_default_policy_templates_json())


def function_policy_findings(logical_id: str, policies: Any) -> Iterator[Finding]:
    """The problems of one function's `Policies` (a string, a document, or a list of any of them)."""
    path = ("Resources", logical_id, "Properties", "Policies")
    entries = policies if isinstance(policies, list) else [policies]
    processor = None
    for index, entry in enumerate(entries):
        where = (*path, str(index)) if isinstance(policies, list) else path
        if isinstance(entry, str):
            if BROAD_MANAGED.search(entry):
                yield where, f"managed policy {entry} allows far more than the function needs: write statements"
        elif isinstance(entry, dict) and "Statement" in entry:
            yield from _document_findings(entry, where)
        elif isinstance(entry, dict) and len(entry) == 1:
            ((name, parameters),) = entry.items()
            processor = processor or _policy_templates()
            if processor is not None and processor.has(name):
                try:
                    document = processor.convert(name, parameters if isinstance(parameters, dict) else {})
                except Exception:  # noqa: S112 - a bad template is the SAM transform's to report
                    continue
                for _, problem in _document_findings(document, where):
                    yield where, f"policy template {name}: {problem}"


def template_findings(template: dict[str, Any], functions: dict[str, dict[str, Any]]) -> list[Finding]:
    """Every too-broad permission of the template: the functions' policies and its IAM resources."""
    findings: list[Finding] = []
    for logical_id, props in functions.items():
        if "Policies" in props:
            findings.extend(function_policy_findings(logical_id, props["Policies"]))
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict) or resource.get("Type") not in IAM_TYPES:
            continue
        props = resource.get("Properties") or {}
        base = ("Resources", logical_id, "Properties")
        if "PolicyDocument" in props:
            findings.extend(_document_findings(props["PolicyDocument"], (*base, "PolicyDocument")))
        for index, policy in enumerate(props.get("Policies") or []):
            document = policy.get("PolicyDocument") if isinstance(policy, dict) else None
            findings.extend(_document_findings(document, (*base, "Policies", str(index), "PolicyDocument")))
        for index, arn in enumerate(props.get("ManagedPolicyArns") or []):
            if isinstance(arn, str) and BROAD_MANAGED.search(arn):
                findings.append(((*base, "ManagedPolicyArns", str(index)), f"managed policy {arn} is too broad"))
    return findings
