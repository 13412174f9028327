"""The IAM role a project's CI assumes to deploy it, computed from the project's own `template.yaml`.

CloudFormation creates, updates and deletes each resource with the deployer's permissions: the role needs every
permission that each resource type's provider schema lists for those handlers (cfn-lint ships the schemas; the
table in `data/deploy_permissions.json` holds what slsgen takes from them, and `python -m generator.deploy_role`
rebuilds it), plus what `sam deploy` itself does (the change set on the `Serverless-2016-10-31` transform, the
artifact bucket, SAM CLI's managed stack). Every resource is named in the role by the ARN this stack gives it:
its name property, resolved, or CloudFormation's generated name, which starts with the stack name. No action is a
wildcard; an action takes `*` only when IAM has no resource type for it.

The role is data through and through: `data/deploy_role.yaml` says what the SAM transform makes of each
serverless resource, how each resource type is named in ARNs, what `sam deploy` needs and whom each CI system's
role trusts. The same function recomputes the role for any template, so that a template that gains resources
gets the role they need.
"""

from __future__ import annotations

import json
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .errors import InvalidOption, NotAProject, RenderError

DATA = Path(__file__).resolve().parent / "data"
TABLE = DATA / "deploy_permissions.json"
HANDLERS = ("create", "update", "delete")
PSEUDO = {"partition": "${AWS::Partition}", "region": "${AWS::Region}", "account": "${AWS::AccountId}"}
CALLED_VIA_CLOUDFORMATION = {"StringEquals": {"aws:CalledViaFirst": "cloudformation.amazonaws.com"}}
# CloudFormation names a resource `<stack>-<logical id>-<random>`; past the type's name length it keeps 13
# characters for `-<random>` and splits the rest between the two, so that a stack name is cut to 25 characters
# (for 64-character names) but never shorter. A longer stack name is matched by its first 25 characters.
GENERATED_STACK_PART = 25
# An IAM managed policy holds 6,144 characters (whitespace aside); the pseudo parameters resolve shorter than
# written, so measuring them as written leaves a margin.
POLICY_CHARACTERS = 6144


class UnknownResourceType(RenderError):
    """A template's resource type (or SAM event) that slsgen cannot compute deploy permissions for."""


@cache
def table() -> dict[str, Any]:
    """The permission table: per resource type its handlers' permissions, per action the IAM resource kinds."""
    data: dict[str, Any] = json.loads(TABLE.read_text(encoding="utf-8"))
    return data


@cache
def role_data() -> dict[str, Any]:
    """deploy_role.yaml: the services, SAM's resources, how resources are named, sam deploy's needs, CI trust."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when PyYAML has it: a tenth of the time
    loaded: dict[str, Any] = yaml.load((DATA / "deploy_role.yaml").read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - a safe loader
    return loaded


def _arn(text: str) -> str:
    """A data ARN with the stack's pseudo parameters (`{region}` -> `${AWS::Region}`); `{name}` is kept."""
    for key, value in PSEUDO.items():
        text = text.replace("{" + key + "}", value)
    return text


# --- the template's resources, as CloudFormation will create them ---------------------------------------------


def _plain(node: yaml.Node) -> Any:
    """A composed YAML node as data; a `!Tag` becomes CloudFormation's long form (`!Ref` -> {"Ref": ...})."""
    if isinstance(node, yaml.MappingNode):
        value: Any = {_plain(key): _plain(item) for key, item in node.value}
    elif isinstance(node, yaml.SequenceNode):
        value = [_plain(item) for item in node.value]
    elif node.tag.startswith("!"):
        value = node.value
    else:
        value = yaml.constructor.SafeConstructor().construct_object(node)
    if node.tag.startswith("!"):
        name = node.tag[1:]
        if name == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {"Ref": value} if name == "Ref" else {f"Fn::{name}": value}
    return value


def load(text: str) -> dict[str, Any]:
    """A CloudFormation template's text (YAML with short-form tags, or JSON) as data."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        node = yaml.compose(text, Loader=loader)
        document = _plain(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise RenderError(f"template.yaml is not valid YAML ({exc}); nothing was written") from None
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise RenderError("template.yaml has no Resources, so no deploy role can be computed; nothing was written")
    return document


def _expand(spec: dict[str, Any], props: dict[str, Any]) -> list[str]:
    """The types one `sam_resources` entry makes for these properties."""
    types = list(spec.get("always", []))
    for prop, made in spec.get("unless", {}).items():
        if prop not in props:
            types += made
    for condition, made in spec.get("when", {}).items():
        path, _, expected = condition.partition("=")
        value: Any = props
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None and (not expected or value == expected):
            types += made
    return types


def cloudformation_resources(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(type, properties naming it) of each resource the deployed stack holds, SAM's transform applied."""
    global_function = (template.get("Globals") or {}).get("Function") or {}
    resources: list[tuple[str, dict[str, Any]]] = []
    for logical_id, resource in template["Resources"].items():
        kind = str(resource.get("Type", "")) if isinstance(resource, dict) else ""
        props = resource.get("Properties") or {} if isinstance(resource, dict) else {}
        if kind not in role_data()["sam_resources"]:
            resources.append((kind, props))
            continue
        spec = role_data()["sam_resources"][kind]
        if kind == "AWS::Serverless::Function":
            props = {**global_function, **props}
        made = _expand(spec, props)
        for name, event in (props.get("Events") or {}).items():
            event_type = str((event or {}).get("Type", ""))
            if event_type not in spec.get("events", {}):
                raise UnknownResourceType(
                    f"template.yaml: {logical_id}'s event {name} is of type {event_type}, for which slsgen cannot "
                    f"compute the deploy role's permissions (known: {', '.join(sorted(spec.get('events', {})))}); "
                    "nothing was written"
                )
            made += _expand(spec["events"][event_type], (event or {}).get("Properties") or {})
        resources += [(made_type, props if index == 0 else {}) for index, made_type in enumerate(made)]
    return resources


# --- names and ARNs ----------------------------------------------------------------------------------------------


def generated_prefix(stack_name: str) -> str:
    """What every name CloudFormation makes for this stack starts with."""
    if len(stack_name) > GENERATED_STACK_PART:
        return stack_name[:GENERATED_STACK_PART]
    return f"{stack_name}-"


def name_pattern(value: Any, stack_name: str) -> str:
    """A name property's value as an ARN pattern: the stack name resolved, other references `*`."""
    if isinstance(value, (str, int)):
        return str(value)
    if isinstance(value, dict) and "Ref" in value:
        return stack_name if value["Ref"] == "AWS::StackName" else "*"
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = value["Fn::Sub"][0] if isinstance(value["Fn::Sub"], list) else value["Fn::Sub"]
        kept = ("AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::URLSuffix")

        def resolve(match: re.Match[str]) -> str:
            variable = match.group(1)
            if variable == "AWS::StackName":
                return stack_name
            return match.group(0) if variable in kept else "*"

        return re.sub(r"\$\{([^!}][^}]*)\}", resolve, str(text))
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(name_pattern(part, stack_name) for part in parts)
    return "*"


def resource_arns(kind: str, props: dict[str, Any], stack_name: str) -> dict[str, set[str]]:
    """This resource's ARNs, by IAM resource kind."""
    naming = role_data()["resource_arns"].get(kind)
    if naming is None:
        return {}
    if naming.get("name") in props:
        name = name_pattern(props[naming["name"]], stack_name)
    else:
        name = generated_prefix(stack_name.lower() if naming.get("lowercase") else stack_name) + "*"
    return {kind: {_arn(arn).replace("{name}", name) for arn in arns} for kind, arns in naming["arns"].items()}


def _service(arn: str) -> str:
    """The IAM service prefix an ARN names (`arn:${AWS::Partition}:lambda:...` -> lambda)."""
    return re.sub(r"\$\{[^}]*\}", "-", arn).split(":")[2]


def _kind(text: str) -> str:
    return text.lower().replace(" ", "").replace("-", "")


def _account_wide(service: str, kinds: list[str]) -> set[str]:
    """The ARNs of every resource of these kinds in the account and region (Policies.json's formats)."""
    formats = table()["arn_formats"]
    arns = set()
    for kind in kinds:
        for arn in formats.get(f"{service}:{kind}", []):
            arns.add(
                arn.replace("${Partition}", PSEUDO["partition"])
                .replace("${Region}", PSEUDO["region"])
                .replace("${Account}", PSEUDO["account"])
                .replace(".*", "*")
            )
    return arns


# --- the policy -------------------------------------------------------------------------------------------------


def required_permissions(resources: list[tuple[str, dict[str, Any]]]) -> dict[str, list[str]]:
    """Every handler permission of each resource type, by type; refuses a type the table lacks."""
    types: dict[str, list[str]] = table()["resource_types"]
    needed = {}
    for kind, _ in resources:
        if kind not in types:
            known = "covers these services: " + ", ".join(prefix.rstrip(":") for prefix in role_data()["services"])
            raise UnknownResourceType(
                f"template.yaml has a resource of type {kind or '(none)'}, whose deploy permissions slsgen does "
                f"not know (its table {known}); nothing was written"
            )
        needed[kind] = [*types[kind], *role_data()["extra_permissions"].get(kind, [])]
    return needed


def statements(template: dict[str, Any], stack_name: str) -> list[dict[str, Any]]:
    """The role's policy statements for deploying `template` as `stack_name` with `sam deploy`."""
    resources = cloudformation_resources(template)
    sam_deploy = role_data()["sam_deploy"]
    managed = [(entry["type"], entry.get("properties", {})) for entry in sam_deploy["managed_resources"]]
    needed = required_permissions(resources + managed)
    arns: dict[str, set[str]] = {}  # by "<IAM service prefix>:<kind>", the prefix read from the ARN itself
    for kind, props in [*resources, *managed]:
        for arn_kind, found in resource_arns(kind, props, stack_name).items():
            for arn in found:
                arns.setdefault(f"{_service(arn)}:{arn_kind}", set()).add(arn)
    actions: dict[str, list[str] | None] = table()["actions"]
    by_resources: dict[tuple[str, ...], list[str]] = {}
    labels: dict[tuple[str, ...], str] = {}  # what a statement manages, for its Sid: the service and the kinds
    for action in sorted({action for permissions in needed.values() for action in permissions}):
        kinds = actions.get(action)
        if kinds is None or action.lower() == "iam:passrole":
            continue  # not an IAM action (a schema's typo or wildcard); PassRole gets its own statement
        service = action.split(":")[0].lower()
        found = set(arns.get(f"{service}:*", set()))
        matched = [kind for kind in kinds if arns.get(f"{service}:{kind}")]
        for kind in matched:
            found |= arns[f"{service}:{kind}"]
        if kinds and not found:
            found, matched = _account_wide(service, kinds), kinds[:1]
        resources_of = tuple(sorted(found)) if kinds and found else ("*",)
        by_resources.setdefault(resources_of, []).append(action)
        labels.setdefault(resources_of, "".join(part.title() for part in (service, *matched[:2])))
    stack = _arn("arn:{partition}:cloudformation:{region}:{account}:stack/")
    artifacts = resource_arns(*managed[0], stack_name)  # the managed stack's bucket
    own: list[dict[str, Any]] = [
        _statement(
            "DeployTheStack",
            sam_deploy["stack_actions"],
            [f"{stack}{stack_name}/*", f"{stack}{sam_deploy['managed_stack']}/*"],
        ),
        _statement("UseTheServerlessTransform", ["cloudformation:CreateChangeSet"], [_arn(sam_deploy["transform"])]),
        _statement("UploadArtifacts", sam_deploy["artifacts"]["objects"], sorted(artifacts["object"])),
        _statement("FindArtifacts", sam_deploy["artifacts"]["bucket"], sorted(artifacts["bucket"])),
    ]
    if any("iam:PassRole" in permissions for permissions in needed.values()):
        own.append(_statement("PassTheStacksRoles", ["iam:PassRole"], sorted(arns["iam:role"])))
    created = []
    for resources_of, grouped in sorted(by_resources.items(), key=lambda item: (item[0] == ("*",), item[1][0].lower())):
        sid = (
            "NoResourceLevelPermissions"
            if resources_of == ("*",)
            else "Manage" + re.sub(r"\W", "", labels[resources_of])
        )
        created.append(_statement(sid, grouped, list(resources_of), CALLED_VIA_CLOUDFORMATION))
    seen: dict[str, int] = {}
    for statement in created:  # unique Sids
        count = seen[statement["Sid"]] = seen.get(statement["Sid"], 0) + 1
        if count > 1:
            statement["Sid"] += str(count)
    return own + created


def _statement(sid: str, actions: list[str], resources: list[str], condition: Any = None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions, key=str.lower),
        "Resource": [resource if "${" not in resource else {"Fn::Sub": resource} for resource in resources],
    }
    if condition:
        statement["Condition"] = condition
    return statement


def _size(statement: dict[str, Any]) -> int:
    return len(json.dumps(statement, separators=(",", ":")))


def policy_documents(all_statements: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The statements packed into managed policies under IAM's size limit (a statement split when it must)."""
    limit = POLICY_CHARACTERS - 200  # the document's own keys
    pieces: list[dict[str, Any]] = []
    for statement in all_statements:
        actions = statement["Action"]
        parts = [actions]
        while any(_size({**statement, "Action": part}) > limit // 2 and len(part) > 1 for part in parts):
            parts = [half for part in parts for half in (part[: len(part) // 2], part[len(part) // 2 :])]
        for number, part in enumerate(parts, start=1):
            sid = statement["Sid"] + (f"Part{number}" if len(parts) > 1 else "")
            pieces.append({**statement, "Sid": sid, "Action": part})
    documents: list[list[dict[str, Any]]] = [[]]
    for piece in pieces:
        if documents[-1] and sum(map(_size, documents[-1])) + _size(piece) > limit:
            documents.append([])
        documents[-1].append(piece)
    return documents


# --- the role's template ----------------------------------------------------------------------------------------


def stack_name_of(project: Path) -> str:
    """The stack the project deploys to: samconfig.toml's default `stack_name`, else the folder's name."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        config = tomllib.loads((project / "samconfig.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return project.name
    for section in ("global", "deploy"):
        name = config.get("default", {}).get(section, {}).get("parameters", {}).get("stack_name")
        if isinstance(name, str) and name:
            return name
    return project.name


def role_template(template_text: str, ci: str, stack_name: str) -> str:
    """The CloudFormation template of the OIDC provider and the deploy role, for `ci` (a key of `ci_trust`)."""
    trust = role_data()["ci_trust"][ci]
    documents = policy_documents(statements(load(template_text), stack_name))
    policies = {
        f"DeployPolicy{index}": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "Description": f"Deploying the stack {stack_name} with sam deploy ({index} of {len(documents)})",
                "PolicyDocument": {"Version": "2012-10-17", "Statement": document},
            },
        }
        for index, document in enumerate(documents, start=1)
    }
    issuer = trust["issuer"]
    document = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"The role {trust['who']} assumes to deploy the stack {stack_name} (generated by slsgen)",
        "Parameters": {
            **trust["parameters"],
            "OidcProviderArn": {
                "Type": "String",
                "Default": "",
                "Description": f"The ARN of the account's OIDC provider for {issuer}, if it has one (one per account"
                "); empty: this stack creates it",
            },
        },
        "Conditions": {"CreateOidcProvider": {"Fn::Equals": [{"Ref": "OidcProviderArn"}, ""]}},
        "Resources": {
            "OidcProvider": {
                "Type": "AWS::IAM::OIDCProvider",
                "Condition": "CreateOidcProvider",
                "Properties": {"Url": f"https://{issuer}", "ClientIdList": ["sts.amazonaws.com"]},
            },
            "DeployRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Description": f"{trust['who']} deploys {stack_name} with sam deploy",
                    "MaxSessionDuration": 3600,
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {
                                    "Federated": {
                                        "Fn::If": [
                                            "CreateOidcProvider",
                                            {"Ref": "OidcProvider"},
                                            {"Ref": "OidcProviderArn"},
                                        ]
                                    }
                                },
                                "Action": "sts:AssumeRoleWithWebIdentity",
                                "Condition": {
                                    "StringEquals": {
                                        f"{issuer}:aud": "sts.amazonaws.com",
                                        f"{issuer}:sub": {"Fn::Sub": trust["subject"]},
                                    }
                                },
                            }
                        ],
                    },
                    "ManagedPolicyArns": [{"Ref": name} for name in policies],
                },
            },
            **policies,
        },
        "Outputs": {
            "RoleArn": {
                "Description": "AWS_ROLE_ARN, for the CI variables",
                "Value": {"Fn::GetAtt": ["DeployRole", "Arn"]},
            }
        },
    }
    command = deploy_command(ci, stack_name)
    header = (
        f"# {trust['file']}: the IAM role {trust['who']} assumes (OIDC: no stored keys) to deploy the stack\n"
        f"# {stack_name}, and the OIDC provider it trusts. Computed by slsgen from template.yaml: every permission\n"
        "# CloudFormation needs to create, update and delete its resources (only through CloudFormation, and on\n"
        f"# this stack's resources), and sam deploy's own. Deploy it once per account (README.md):\n#   {command}\n"
    )
    return header + yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True)


class _Dumper(yaml.SafeDumper):
    """YAML without anchors: a statement's condition is written out in each statement."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def deploy_command(ci: str, stack_name: str) -> str:
    """The one command that deploys the role's stack."""
    trust = role_data()["ci_trust"][ci]
    return (
        f"aws cloudformation deploy --template-file {trust['file']} --stack-name {stack_name}-deploy-role "
        f"--capabilities CAPABILITY_IAM --parameter-overrides {trust['example'].format(project=stack_name)}"
    )


def write_role(project: Path, ci: str) -> Path | None:
    """Write the project's deploy role for `ci` (none for `none`); its path."""
    if ci not in role_data()["ci_trust"]:
        return None
    stack_name = stack_name_of(project)
    target: Path = project / role_data()["ci_trust"][ci]["file"]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(role_template((project / "template.yaml").read_text(encoding="utf-8"), ci, stack_name))
    return target


def refresh_role(start: Path, ci: str | None = None) -> Path:
    """Recompute the deploy role of the project that holds `start` (`slsgen deploy-role`), after its template
    changed; `ci` defaults to the one the project was generated for."""
    project = next((folder for folder in (start, *start.parents) if (folder / "template.yaml").is_file()), None)
    if project is None:
        raise NotAProject(f"no template.yaml in {start} or above: run this in a generated project or pass its folder")
    if ci is None:
        try:
            ci = json.loads((project / ".slsgen.json").read_text(encoding="utf-8"))["answers"]["ci"]
        except (OSError, ValueError, KeyError, TypeError):
            ci = next(
                (name.split("-")[0] for name in sorted(p.name for p in project.glob("deploy/*-oidc-role.yaml"))), None
            )
    systems = role_data()["ci_trust"]
    if ci is None or ci not in systems:
        raise InvalidOption(
            f"{project} deploys with no CI system slsgen knows ({ci}): pass --ci {' or --ci '.join(systems)}"
        )
    written = write_role(project, ci)
    assert written is not None  # ci is one of the systems
    return written


# --- rebuilding the table from cfn-lint's data (maintainers: python -m generator.deploy_role) ------------------


def build_table() -> dict[str, Any]:
    """The table from the installed cfn-lint: handler permissions of the services' types, their actions' kinds."""
    import cfnlint

    cfnlint_data = Path(cfnlint.__file__).parent / "data"
    policies = json.loads((cfnlint_data / "AdditionalSpecs" / "Policies.json").read_text(encoding="utf-8"))
    resource_types: dict[str, list[str]] = {}
    for path in sorted((cfnlint_data / "schemas" / "resources").glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        name = schema.get("typeName", "")
        if not name.startswith(tuple(role_data()["services"])):
            continue
        handlers = schema.get("handlers") or {}
        found = {p for handler in HANDLERS for p in (handlers.get(handler) or {}).get("permissions", [])}
        if found:
            resource_types[name] = sorted(found)
    # One spelling per action across every type (IAM ignores the case; schemas write `s3:getObject` too): the one
    # with the most capitals, as the service authorization reference writes it.
    spellings: dict[str, set[str]] = {}
    for permissions in resource_types.values():
        for permission in permissions:
            spellings.setdefault(permission.lower(), set()).add(permission)
    canonical = {
        key: max(names, key=lambda name: (sum(map(str.isupper, name)), name)) for key, names in spellings.items()
    }
    for name, permissions in resource_types.items():
        resource_types[name] = sorted({canonical[permission.lower()] for permission in permissions}, key=str.lower)
    actions: dict[str, list[str] | None] = {}
    arn_formats: dict[str, list[str]] = {}
    extra = [action for permissions in role_data()["extra_permissions"].values() for action in permissions]
    for action in sorted({action for permissions in [*resource_types.values(), extra] for action in permissions}):
        service, _, operation = action.partition(":")
        known = {key.lower(): value for key, value in (policies.get(service.lower()) or {}).get("Actions", {}).items()}
        if operation.lower() not in known:
            actions[action] = None
            continue
        kinds = sorted({_kind(kind) for kind in known[operation.lower()].get("Resources", [])})
        actions[action] = kinds
        resources = {
            _kind(key): value for key, value in (policies.get(service.lower()) or {}).get("Resources", {}).items()
        }
        for kind in kinds:
            if kind in resources and resources[kind].get("ARNFormats"):
                arn_formats[f"{service.lower()}:{kind}"] = resources[kind]["ARNFormats"]
    version = getattr(cfnlint, "__version__", "")
    return {
        "source": f"cfn-lint {version}: data/schemas/resources (handlers {', '.join(HANDLERS)}), Policies.json",
        "resource_types": resource_types,
        "actions": actions,
        "arn_formats": dict(sorted(arn_formats.items())),
    }


if __name__ == "__main__":
    TABLE.parent.mkdir(exist_ok=True)
    TABLE.write_text(json.dumps(build_table(), indent=1, sort_keys=False) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {TABLE}\n")
