"""A second function's part of a SAM template merged into a project's `template.yaml`, as a person would edit it.

The project's template is the user's file: it keeps every comment, its order and its formatting (ruamel.yaml's
round trip reproduces an unchanged template byte for byte) and only gains entries. The function's part is the
template its own blueprint renders for it (with the function's logical id, `OrdersWorkerFunction`):

- its own resources (the function, and what it refers to: role, queues, tables, buckets, API, log groups) take the
  function's prefix (`InputQueue` -> `OrdersWorkerInputQueue`), and so do the outputs about them, so that a
  second function of the same blueprint gets resources of its own and nothing of the project's is renamed;
- what else both templates have is kept once when it means the same (the `AlarmEmail` parameter, the alarm topic),
  and takes the prefix when it does not;
- every reference follows a rename (`!Ref`, `!GetAtt`, `!Sub`, `DependsOn`, `Condition`, short and long forms);
- a physical name the project already gives a resource of the same type (a bucket named after the stack) takes
  the function's folder after the stack's name, wherever the part spells it out (its policy, its environment);
- the template's `Globals` stay as they are: the new function states its own settings where they differ (its
  runtime, memory, ...) and its `CodeUri`.
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidOption

SECTIONS = ("Parameters", "Conditions", "Resources", "Outputs")
# The property naming each resource type's physical resource, where a template may set it.
NAME_PROPERTIES = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Kinesis::Stream": "Name",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Events::Rule": "Name",
    "AWS::Scheduler::Schedule": "Name",
}
SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)(\.[A-Za-z0-9.]+)?\}")
FUNCTION_TYPE = "AWS::Serverless::Function"
STACK = "${AWS::StackName}"


@dataclass
class Merged:
    """The merged template's text, and what the merge did (for the command's report and the function's files)."""

    text: str
    added: dict[str, list[str]] = field(default_factory=dict)  # by section: the entries added
    shared: list[str] = field(default_factory=list)  # entries both had with the same meaning: kept once
    renamed: dict[str, str] = field(default_factory=dict)  # the part's logical ids that took the prefix
    names: dict[str, str] = field(default_factory=dict)  # physical names (as the template spells them) made unique


def yaml() -> Any:
    """The round-trip YAML of every template edit: quotes, comments, folded strings and indentation kept."""
    from ruamel.yaml import YAML

    editor = YAML()
    editor.preserve_quotes = True
    editor.width = 4096
    editor.indent(mapping=2, sequence=4, offset=2)
    return editor


def load(text: str, what: str) -> Any:
    """A template as ruamel's round-trip document; InvalidOption when it is no SAM template."""
    from ruamel.yaml.error import YAMLError

    try:
        document = yaml().load(text)
    except YAMLError as exc:
        raise InvalidOption(f"{what} is not valid YAML ({str(exc).splitlines()[0]}): fix it first") from None
    if not hasattr(document, "get") or not hasattr(document.get("Resources"), "items"):
        raise InvalidOption(f"{what} has no Resources mapping: it is not a SAM template")
    return document


def dump(document: Any) -> str:
    out = io.StringIO()
    yaml().dump(document, out)
    return out.getvalue()


def function_ids(text: str, what: str = "template.yaml") -> list[str]:
    """The logical ids of a template's functions, in order."""
    resources = load(text, what)["Resources"]
    return [key for key, value in resources.items() if is_function(value)]


def is_function(resource: Any) -> bool:
    return hasattr(resource, "get") and resource.get("Type") == FUNCTION_TYPE


def merge_function(project_text: str, part_text: str, *, prefix: str, folder: str, code_uri: str) -> Merged:
    """Merge the template `part_text` (the new function's blueprint, rendered for it) into the project's template
    `project_text`; see the module's docstring. `prefix` names the part's own resources (`OrdersWorker`), `folder`
    makes physical names unique (`orders-worker`), `code_uri` is the new function's code folder."""
    project = load(project_text, "the project's template.yaml")
    part = load(part_text, "the new function's template")
    clashing = [key for key in part["Resources"] if is_function(part["Resources"][key]) and key in project["Resources"]]
    if clashing:
        raise InvalidOption(f"template.yaml already has a resource {clashing[0]}: give the function another name")
    own_globals(project, part, code_uri)
    renames = plan_renames(project, part, prefix)
    merged = Merged("", renamed={old: new for (_, old), new in renames.items() if old != new})
    entries: list[tuple[str, str, Any]] = []
    for section in SECTIONS:
        for key, body in (part.get(section) or {}).items():
            new_key = renames.get((section, key), key)
            if section in project and new_key in (project[section] or {}):
                merged.shared.append(key)
                continue
            entries.append((section, new_key, rewritten(body, renames)))
    merged.names = unique_names(
        project, [(key, body) for section, key, body in entries if section == "Resources"], folder
    )
    for section, key, body in entries:
        add_entry(project, section, key, replace_strings(body, merged.names))
        merged.added.setdefault(section, []).append(key)
    merged.text = dump(project)
    return merged


def own_globals(project: Any, part: Any, code_uri: str) -> None:
    """Write the part's `Globals: Function:` into its functions wherever the project's Globals differ: each keeps
    exactly the settings it was rendered with, and the project's Globals stay as they are."""
    theirs = ((part.get("Globals") or {}).get("Function")) or {}
    ours = ((project.get("Globals") or {}).get("Function")) or {}
    for resource in part["Resources"].values():
        if not is_function(resource):
            continue
        properties = resource.setdefault("Properties", {})
        for key, value in theirs.items():
            if key == "CodeUri" or same(ours.get(key), value):
                continue
            if hasattr(value, "items") and hasattr(properties.get(key), "items"):
                for inner, setting in value.items():
                    properties[key].setdefault(inner, copy.deepcopy(setting))
            elif key not in properties:
                properties[key] = copy.deepcopy(value)
        properties.pop("CodeUri", None)
        properties.insert(0, "CodeUri", code_uri)


def plan_renames(project: Any, part: Any, prefix: str) -> dict[tuple[str, str], str]:
    """The part's entries that take the prefix: its own resources and the outputs about them, and whatever else the
    project's template also has with another meaning (after the renames it refers to: repeated until stable)."""
    owned = owned_resources(part)
    renames: dict[tuple[str, str], str] = {}
    for key in sorted(owned):
        if not key.startswith(prefix):
            renames[("Resources", key)] = free_name(prefix + key, project, part)
    for key, output in (part.get("Outputs") or {}).items():
        if references(output) & owned:
            renames[("Outputs", key)] = key if key.startswith(prefix) else free_name(prefix + key, project, part)
    for _ in range(len(SECTIONS) * 64):
        before = dict(renames)
        for section in SECTIONS:
            theirs, ours = part.get(section) or {}, project.get(section) or {}
            for key in theirs:
                if (
                    (section, key) not in renames
                    and key in ours
                    and not same(ours[key], rewritten(theirs[key], renames))
                ):
                    renames[(section, key)] = free_name(prefix + key, project, part)
        if renames == before:
            return renames
    raise InvalidOption("the new function's template cannot be merged: its renames do not settle")  # pragma: no cover


def owned_resources(part: Any) -> set[str]:
    """The part's own resources: its functions and every resource they refer to, directly or through others (role,
    queues, tables, buckets, API, log groups), and then what refers to those (their alarms, a bucket's policy) but
    not what those refer to in turn (the alarm topic, which every function's alarms share)."""
    resources = part["Resources"]
    pending = [key for key, value in resources.items() if is_function(value)]
    owned: set[str] = set()
    while pending:
        key = pending.pop()
        if key not in owned and key in resources:
            owned.add(key)
            pending.extend(references(resources[key]))
    about = True
    while about:
        found = {key for key, value in resources.items() if key not in owned and references(value) & owned}
        owned |= found
        about = bool(found)
    return owned


def free_name(wanted: str, *documents: Any) -> str:
    """`wanted`, or with a number after it, so that no section of `documents` holds it."""
    taken = {key for document in documents for section in SECTIONS for key in (document.get(section) or {})}
    name, number = wanted, 2
    while name in taken:
        name, number = f"{wanted}{number}", number + 1
    return name


def tag_of(node: Any) -> str | None:
    value = getattr(getattr(node, "tag", None), "value", None)
    return value if isinstance(value, str) else None


def references(node: Any) -> set[str]:
    """The logical ids a node refers to: `Ref`, `GetAtt`, `${X}` in `Sub`, `DependsOn` (short and long forms)."""
    found: set[str] = set()
    tag = tag_of(node)
    scalar = getattr(node, "value", None) if tag else None
    if tag in ("!Ref", "!GetAtt") and isinstance(scalar, str):
        found.add(scalar.split(".")[0])
    elif tag == "!Sub" and isinstance(scalar, str):
        found.update(match[1] for match in SUB_NAME.finditer(scalar))
    if hasattr(node, "items"):
        for key, item in node.items():
            if key in ("Ref", "DependsOn", "Fn::GetAtt") and isinstance(item, str):
                found.add(item.split(".")[0])
            elif key == "Fn::Sub" and isinstance(item, str):
                found.update(match[1] for match in SUB_NAME.finditer(item))
            elif key == "DependsOn" and isinstance(item, list):
                found.update(str(name) for name in item)
            found |= references(item)
    elif isinstance(node, list):
        if tag == "!GetAtt" and node and isinstance(node[0], str):
            found.add(node[0])
        if tag == "!Sub" and node and isinstance(node[0], str):
            found.update(match[1] for match in SUB_NAME.finditer(node[0]))
        for item in node:
            found |= references(item)
    return {name for name in found if not name.startswith("AWS::")}


def rewritten(node: Any, renames: dict[tuple[str, str], str]) -> Any:
    """A deep copy of `node` with every reference to a renamed entry following the rename."""
    names = {old: new for (_, old), new in renames.items() if old != new}
    result = copy.deepcopy(node)
    return _rewrite(result, names) if names else result


def _rewrite(node: Any, names: dict[str, str]) -> Any:
    """`node` (changed in place where it can be) with the references in `names` renamed."""
    rename: Callable[[str], str] = lambda name: names.get(name, name)  # noqa: E731 - used in every branch
    tag = tag_of(node)
    if tag is not None and isinstance(getattr(node, "value", None), str):  # a short-form scalar: !Ref X ...
        text = node.value
        if tag in ("!Ref", "!Condition"):
            text = rename(text)
        elif tag == "!GetAtt":
            target, dot, attribute = text.partition(".")
            text = rename(target) + dot + attribute
        elif tag == "!Sub":
            text = _sub(text, names)
        return _scalar(node, text)
    if hasattr(node, "items"):
        for key in list(node):
            value = node[key]
            if key in ("Ref", "Condition") and isinstance(value, str):
                node[key] = rename(value)
            elif key == "DependsOn" and isinstance(value, list):
                value[:] = [rename(str(item)) for item in value]
            elif key == "DependsOn" and isinstance(value, str):
                node[key] = rename(value)
            elif key == "Fn::GetAtt" and isinstance(value, str):
                target, dot, attribute = value.partition(".")
                node[key] = rename(target) + dot + attribute
            elif key in ("Fn::GetAtt", "Fn::If") and isinstance(value, list) and value and isinstance(value[0], str):
                value[0] = rename(value[0])
                value[1:] = [_rewrite(item, names) for item in value[1:]]
            elif key == "Fn::Sub" and isinstance(value, str):
                node[key] = _sub(value, names)
            else:
                node[key] = _rewrite(value, names)
        return node
    if isinstance(node, list):
        first_is_name = tag in ("!GetAtt", "!If", "!Sub")
        for index, item in enumerate(node):
            if index == 0 and first_is_name and isinstance(item, str):
                node[0] = _sub(item, names) if tag == "!Sub" else rename(item)
            else:
                node[index] = _rewrite(item, names)
        return node
    return node


def _sub(text: str, names: dict[str, str]) -> str:
    """`${X}` and `${X.Attr}` of a Sub string, renamed."""
    return SUB_NAME.sub(lambda match: "${" + names.get(match[1], match[1]) + (match[2] or "") + "}", text)


def _scalar(original: Any, text: str) -> Any:
    """A tagged scalar like `original` (same tag and style), holding `text`."""
    replaced = copy.copy(original)
    replaced.value = text
    return replaced


def same(ours: Any, theirs: Any) -> bool:
    """Whether two YAML nodes mean the same (tags and values; not comments, quotes or layout)."""
    equal: bool = plain(ours) == plain(theirs)
    return equal


def plain(node: Any) -> Any:
    tag = tag_of(node)
    if hasattr(node, "items"):
        return (tag, {str(key): plain(value) for key, value in node.items()})
    if isinstance(node, list):
        return (tag, [plain(item) for item in node])
    return (tag, str(getattr(node, "value", node)) if tag else node)


def unique_names(project: Any, resources: list[tuple[str, Any]], folder: str) -> dict[str, str]:
    """The physical names the new resources would share with resources of the same type (the project's, or each
    other's), each with the function's folder after the stack's name (`${AWS::StackName}-uploads` ->
    `${AWS::StackName}-orders-worker-uploads`): old spelling -> new. A clashing name not made from the stack's name
    is refused with one line."""
    taken: set[tuple[str, Any]] = set()
    for resource in project["Resources"].values():
        name = physical_name(resource)
        if name is not None:
            taken.add((str(resource["Type"]), plain(name)))
    names: dict[str, str] = {}
    for key, resource in resources:
        name = physical_name(resource)
        if name is None:
            continue
        kind = str(resource["Type"])
        if (kind, plain(name)) not in taken:
            taken.add((kind, plain(name)))
            continue
        text = getattr(name, "value", name)
        if not isinstance(text, str) or STACK not in text:
            raise InvalidOption(
                f"the new function's {key} is named {text!r}, like a {kind} the project's template.yaml already has: "
                "add it with other options, or rename it in its blueprint's template"
            )
        names[text] = text.replace(STACK, f"{STACK}-{folder}", 1)
    return names


def physical_name(resource: Any) -> Any:
    """The node naming a resource (its `BucketName`, `QueueName`, ...), or None when CloudFormation names it."""
    if not hasattr(resource, "get"):
        return None
    prop = NAME_PROPERTIES.get(str(resource.get("Type")))
    properties: Any = resource.get("Properties")
    return properties.get(prop) if prop and hasattr(properties, "get") else None


def replace_strings(node: Any, names: dict[str, str]) -> Any:
    """`node` with every string (plain, quoted, or a tag's such as `!Sub`) holding an old name holding the new one:
    a bucket renamed for the function is renamed in the policy and the environment variable that spell it out."""
    if not names:
        return node
    if tag_of(node) is not None and isinstance(getattr(node, "value", None), str):
        return _scalar(node, _replaced(node.value, names))
    if hasattr(node, "items"):
        for key in list(node):
            node[key] = replace_strings(node[key], names)
    elif isinstance(node, list):
        node[:] = [replace_strings(item, names) for item in node]
    elif isinstance(node, str):
        replaced = _replaced(str(node), names)
        return node if replaced == str(node) else type(node)(replaced)
    return node


def _replaced(text: str, names: dict[str, str]) -> str:
    for old, new in sorted(names.items(), key=lambda item: -len(item[0])):
        text = text.replace(old, new)
    return text


def add_entry(project: Any, section: str, key: str, body: Any) -> None:
    """Put `key` at the end of the project's `section`, creating the section where SAM templates keep it."""
    from ruamel.yaml.comments import CommentedMap

    if project.get(section) is None:
        order = ["AWSTemplateFormatVersion", "Transform", "Description", *SECTIONS[:2], "Globals", *SECTIONS[2:]]
        keys = list(project)
        before = order[: order.index(section)]
        position = max((keys.index(name) + 1 for name in before if name in keys), default=0)
        project.pop(section, None)
        project.insert(position, section, CommentedMap())
    project[section][key] = body
