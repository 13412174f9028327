"""What would fail only at deploy time, checked offline: the stack's name against the names derived from it, and
parameter defaults that are placeholders.

- Every `stack_name` of `samconfig.toml` (each environment: `default`, `zip`, ...) must be a CloudFormation stack
  name, and every bucket the template names from it (`!Sub "${AWS::StackName}-..."`) a valid S3 bucket name: 3-63
  lowercase letters, digits, dots and hyphens. A stack named `My-Api` deploys nothing when its bucket would be
  `My-Api-123456789012-uploads`.
- A parameter whose default is a placeholder (an all-zero id, `amzn1.ask.skill.00000000-0000-...`) deploys a
  function nothing real can call; unless `samconfig.toml` overrides it (`parameter_overrides`, which `sam deploy
  --guided` saves), it is a warning: local runs need the placeholder, a deploy needs the real value.

A finding is `(file, line, message)` or, in the template, `(key path, message)`; a warning's message starts with
`warning: `. `samconfig.toml` is read line by line (as `sam` writes it: `[env.command.parameters]` tables of
`key = "value"`), so that each finding has its line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..config.template import Resolver

Finding = tuple[str, int | None, str]
WARNING = "warning: "
STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")
BUCKET_NAME = re.compile(r"(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
PLACEHOLDER = re.compile(r"(?<![0-9a-fA-F])0{8}-0{4}-0{4}-0{4}-0{12}(?![0-9a-fA-F])")
_SECTION = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*$")
_STRING = re.compile(r'^\s*([A-Za-z_][\w-]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:#.*)?$')


def samconfig_values(text: str) -> list[tuple[str, str, str, int]]:
    """(section, key, value, line) for each `key = "value"` of samconfig.toml."""
    values, section = [], ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = _SECTION.match(line)
        if header:
            section = header.group(1)
            continue
        pair = _STRING.match(line)
        if pair:
            values.append((section, pair.group(1), pair.group(2), number))
    return values


def _names_the_stack(value: Any) -> bool:
    """Whether a name property is built from `AWS::StackName`."""
    return "AWS::StackName" in str(value)


def stack_name_findings(root: Path, template: dict[str, Any], samconfig: str) -> list[Finding]:
    """Each stack name of samconfig.toml, as a stack name and in the bucket names the template derives from it."""
    buckets = {
        logical_id: resource["Properties"]["BucketName"]
        for logical_id, resource in (template.get("Resources") or {}).items()
        if isinstance(resource, dict)
        and resource.get("Type") == "AWS::S3::Bucket"
        and _names_the_stack((resource.get("Properties") or {}).get("BucketName"))
    }
    stacks: list[tuple[str, int | None]] = [
        (value, line) for _, key, value, line in samconfig_values(samconfig) if key == "stack_name"
    ]
    if not stacks:  # `sam deploy --guided` suggests the folder's name
        stacks = [(root.resolve().name, None)]
    first_lines: dict[str, int | None] = {}
    for stack_name, line in stacks:
        first_lines.setdefault(stack_name, line)
    findings: list[Finding] = []
    for stack_name, line in first_lines.items():
        where = "" if line else " (the project folder's name: samconfig.toml names no stack)"
        if not STACK_NAME.fullmatch(stack_name):
            findings.append(
                (
                    "samconfig.toml",
                    line,
                    f"stack_name {stack_name!r} is not a CloudFormation stack name: a letter, then letters, digits "
                    "and hyphens, at most 128 characters",
                )
            )
            continue
        resolver = Resolver(template, stack_name)
        for logical_id, name in buckets.items():
            bucket = resolver.value(name)
            if BUCKET_NAME.fullmatch(bucket) and ".." not in bucket:
                continue
            longest = 63 - (len(bucket) - len(stack_name))
            findings.append(
                (
                    "samconfig.toml",
                    line,
                    f"stack_name {stack_name!r}{where} makes {logical_id}'s name {bucket!r}, which S3 "
                    f"refuses: bucket names are 3-63 lowercase letters, digits, dots and hyphens; use a lowercase "
                    f"stack name of at most {longest} characters",
                )
            )
    return findings


def placeholder_findings(template: dict[str, Any], samconfig: str) -> list[tuple[tuple[str, ...], str]]:
    """Warnings for parameters whose default is a placeholder that samconfig.toml does not override."""
    overrides = " ".join(value for _, key, value, _ in samconfig_values(samconfig) if key == "parameter_overrides")
    findings: list[tuple[tuple[str, ...], str]] = []
    for name, parameter in (template.get("Parameters") or {}).items():
        default = str((parameter or {}).get("Default", "")) if isinstance(parameter, dict) else ""
        if not PLACEHOLDER.search(default) or re.search(rf"(?<![\w]){re.escape(name)}=", overrides):
            continue
        findings.append(
            (
                ("Parameters", name, "Default"),
                f"{WARNING}{name}'s default {default} is a placeholder, for local runs: deploy with the real value "
                f"(`make deploy` asks for it the first time and saves it; or sam deploy --parameter-overrides "
                f"{name}=...)",
            )
        )
    return findings


def read_samconfig(root: Path) -> str:
    try:
        return (root / "samconfig.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
