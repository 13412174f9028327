"""Read a SAM `template.yaml`: the single source of truth for a function's runtime settings.

The runner never keeps a second copy of Runtime, Handler, MemorySize, Timeout, Environment and the rest: it
reads them here, with each function's properties merged over `Globals.Function` the way SAM merges them
(scalars: the function wins; maps: merged; lists: the global entries first). Intrinsic functions get readable
local values (`!Ref ThumbnailBucket` becomes the bucket's name), the same ones that the local AWS mode uses when
it creates those resources, so that code and resources agree.

A project may hold several functions; where each one's files are is written once, here (`FunctionConfig.folder`,
`.events_dir`, `.tests_dir`): the project's first function has its code in `src/` (or any CodeUri but the one
below), its sample events in `events/` and its tests in `tests/`; a function with `CodeUri: functions/NAME/src/`
(what `slsgen add` makes) is a folder of its own, with them in `functions/NAME/events/` and `functions/NAME/tests/`.
A command that acts on one function takes a reference to it
(`select_function`): its logical id in any case, with or without the `Function` suffix, or its folder name.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import facts
from ..account import ACCOUNT_ID, region
from ..errors import RunnerError

if TYPE_CHECKING:
    from collections.abc import Mapping

FUNCTION_TYPE = "AWS::Serverless::Function"
FUNCTIONS_DIR = "functions"  # `CodeUri: functions/NAME/src/`: a function in a folder of its own, functions/NAME/
EVENTS_DIR = "events"
TESTS_DIR = "tests"


def load_template(path: Path) -> dict[str, Any]:
    """Parse a CloudFormation/SAM template (YAML or JSON) into plain Python data."""
    from . import cfn_yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunnerError(f"no {path.name} in {path.parent}: run from the project folder or pass --template") from None
    try:
        data = cfn_yaml.parse_yaml(text)
    except cfn_yaml.InvalidYaml as exc:
        where = f" line {exc.line}" if exc.line else ""
        raise RunnerError(f"{path}{where} is not valid YAML: {exc.problem}") from None
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise RunnerError(f"{path} has no Resources section: it is not a SAM template")
    return data


def merge_globals(global_props: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """Merge a function's properties over `Globals.Function` as SAM does."""
    merged: dict[str, Any] = dict(global_props)
    for key, value in own.items():
        base = merged.get(key)
        if isinstance(base, dict) and isinstance(value, dict):
            merged[key] = merge_globals(base, value)
        elif isinstance(base, list) and isinstance(value, list):
            merged[key] = base + value
        else:
            merged[key] = value
    return merged


class Resolver:
    """Turns intrinsic functions into readable local values for one template."""

    __slots__ = ("stack_name", "template")

    def __init__(self, template: dict[str, Any], stack_name: str) -> None:
        self.template = template
        self.stack_name = stack_name

    @property
    def resources(self) -> dict[str, Any]:
        resources: dict[str, Any] = self.template.get("Resources", {})
        return resources

    def pseudo(self, name: str) -> str | None:
        return {
            "AWS::Region": region(),
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region()}:{ACCOUNT_ID}:stack/{self.stack_name}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": "",
        }.get(name)

    def resource_name(self, logical_id: str) -> str:
        """The physical name of a resource: its own name property, else `<stack>-<logicalid>` in lowercase."""
        resource = self.resources[logical_id]
        props = resource.get("Properties") or {}
        for key in ("BucketName", "QueueName", "TableName", "Name", "FunctionName", "TopicName", "LogGroupName"):
            if key in props:
                return self.value(props[key])
        name = f"{self.stack_name}-{logical_id}"
        if resource.get("Type") == "AWS::S3::Bucket":
            name = re.sub(r"[^a-z0-9.-]", "-", name.lower())[:63].strip("-")
        return name

    def ref(self, name: str) -> str:
        pseudo = self.pseudo(name)
        if pseudo is not None:
            return pseudo
        params = self.template.get("Parameters") or {}
        if name in params:
            default = (params[name] or {}).get("Default")
            return "" if default is None else self.value(default)
        if name not in self.resources:
            return name
        kind = self.resources[name].get("Type", "")
        physical = self.resource_name(name)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{region()}.amazonaws.com/{ACCOUNT_ID}/{physical}"
        return physical

    def get_att(self, logical_id: str, attribute: str) -> str:
        if logical_id not in self.resources:
            return f"{logical_id}.{attribute}"
        kind = self.resources[logical_id].get("Type", "")
        name = self.resource_name(logical_id)
        reg = region()
        arns = {
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{reg}:{ACCOUNT_ID}:{name}",
            "AWS::Kinesis::Stream": f"arn:aws:kinesis:{reg}:{ACCOUNT_ID}:stream/{name}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{reg}:{ACCOUNT_ID}:table/{name}",
            "AWS::Serverless::SimpleTable": f"arn:aws:dynamodb:{reg}:{ACCOUNT_ID}:table/{name}",
            "AWS::SNS::Topic": f"arn:aws:sns:{reg}:{ACCOUNT_ID}:{name}",
            FUNCTION_TYPE: f"arn:aws:lambda:{reg}:{ACCOUNT_ID}:function:{name}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{reg}:{ACCOUNT_ID}:function:{name}",
        }
        if attribute == "Arn" and kind in arns:
            return arns[kind]
        if attribute == "QueueName":
            return name
        if attribute == "QueueUrl":
            return self.ref(logical_id)
        if attribute == "StreamArn":
            return f"{arns.get(kind, name)}/stream/1970-01-01T00:00:00.000"
        if attribute in ("DomainName", "RegionalDomainName"):
            return f"{name}.s3.{reg}.amazonaws.com"
        return f"{name}.{attribute}"

    def sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in variables:
                return self.value(variables[token])
            if "." in token and not token.startswith("AWS::"):
                logical_id, attribute = token.split(".", 1)
                return self.get_att(logical_id, attribute)
            return self.ref(token)

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def value(self, node: Any) -> str:
        """A readable local string for any template value, intrinsic functions included."""
        if isinstance(node, dict) and len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self.ref(str(arg))
            if key == "Fn::GetAtt":
                parts = arg if isinstance(arg, list) else str(arg).split(".", 1)
                return self.get_att(str(parts[0]), str(parts[1]))
            if key == "Fn::Sub":
                if isinstance(arg, list):
                    return self.sub(str(arg[0]), dict(arg[1]) if len(arg) > 1 else {})
                return self.sub(str(arg), {})
            if key == "Fn::Join":
                return str(arg[0]).join(self.value(item) for item in arg[1])
            if key == "Fn::Select":
                items = arg[1] if isinstance(arg[1], list) else self.value(arg[1]).split(",")
                return self.value(items[int(self.value(arg[0]))])
            if key == "Fn::If":
                return self.value(arg[1])
            if key == "Fn::ImportValue":
                return f"local-import-{self.value(arg)}"
            if key in ("Fn::Base64", "Fn::ToJsonString"):
                return self.value(arg)
        if isinstance(node, bool):
            return "true" if node else "false"
        if node is None:
            return ""
        if isinstance(node, (dict, list)):
            return str(node)
        return str(node)


class FunctionConfig:
    """One function's settings, read from the template with Globals merged in.

    A plain class rather than a dataclass, like every record on the path of a one-shot `invoke`: importing
    `dataclasses` is over a tenth of that command's time (see `service.invoke.Invocation`).
    """

    __slots__ = (
        "application_log_level",
        "architecture",
        "code_dir",
        "dead_letter_queue",
        "environment",
        "ephemeral_storage",
        "events",
        "folder",
        "handler",
        "log_format",
        "log_group",
        "logical_id",
        "max_retry_attempts",
        "memory_size",
        "name",
        "on_failure",
        "on_success",
        "platform_log_json",
        "project_dir",
        "properties",
        "runtime",
        "system_log_level",
        "timeout",
        "tracing",
        "warning_filters",
    )

    def __init__(
        self,
        *,
        logical_id: str,
        name: str,
        handler: str,
        runtime: str,
        architecture: str,
        memory_size: int,
        timeout: int,
        code_dir: Path,
        environment: dict[str, str],
        ephemeral_storage: int,
        log_format: str,
        application_log_level: str | None,
        system_log_level: str | None,
        log_group: str,
        tracing: bool,
        events: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
        max_retry_attempts: int = 2,
        on_success: str | None = None,
        on_failure: str | None = None,
        dead_letter_queue: str | None = None,
        platform_log_json: bool = False,
        warning_filters: tuple[str, ...] = (),
        project_dir: Path | None = None,
        folder: str = "",
    ) -> None:
        self.logical_id = logical_id
        self.name = name
        self.handler = handler
        self.runtime = runtime
        self.architecture = architecture
        self.memory_size = memory_size
        self.timeout = timeout
        self.code_dir = code_dir
        self.environment = environment
        self.ephemeral_storage = ephemeral_storage
        self.log_format = log_format
        self.application_log_level = application_log_level
        self.system_log_level = system_log_level
        self.log_group = log_group
        self.tracing = tracing
        self.events = {} if events is None else events
        self.properties = {} if properties is None else properties
        # Asynchronous invocation (EventInvokeConfig, DeadLetterQueue): retries, then where the event goes.
        self.max_retry_attempts = max_retry_attempts
        self.on_success = on_success
        self.on_failure = on_failure
        self.dead_letter_queue = dead_letter_queue
        # START/END/REPORT print as Lambda's text lines, readable in a terminal, unless asked for the
        # `platform.*` JSON records Lambda writes with LogFormat JSON (`--json-platform-logs`). Application logs
        # always follow LogFormat, as in Lambda.
        self.platform_log_json = platform_log_json
        self.warning_filters = warning_filters  # the project's `ignore` warning filters (its pytest settings)
        self.project_dir = code_dir.parent if project_dir is None else project_dir  # where template.yaml is
        # "" for the project's first function (src/), NAME for one in functions/NAME/ (see `function_folder`).
        self.folder = folder

    def __repr__(self) -> str:
        return f"FunctionConfig({self.logical_id!r}, handler={self.handler!r}, runtime={self.runtime!r})"

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{region()}:{ACCOUNT_ID}:function:{self.name}"

    @property
    def events_dir(self) -> Path:
        """Where the function's sample events are: `events/`, or `functions/NAME/events/`."""
        return folder_of(self.project_dir, EVENTS_DIR, self.folder)

    @property
    def tests_dir(self) -> Path:
        """Where the function's tests are: `tests/`, or `functions/NAME/tests/`."""
        return folder_of(self.project_dir, TESTS_DIR, self.folder)

    def sample_events(self) -> list[Path]:
        """The function's sample events: the `*.json` files of its events folder, in name order."""
        return sorted(path for path in self.events_dir.glob("*.json") if path.is_file())


def folder_of(project_dir: Path, kind: str, folder: str) -> Path:
    """A function's `events` or `tests` folder: `kind/` for the project's first function, `functions/NAME/kind/`
    for a function of its own folder (`folder` is "" or NAME: see `function_folder`)."""
    return project_dir / FUNCTIONS_DIR / folder / kind if folder else project_dir / kind


def function_folder(code_uri: str) -> str:
    """The folder name of a function whose CodeUri is `functions/NAME/src/` (NAME); "" for any other CodeUri."""
    parts = [part for part in code_uri.replace("\\", "/").split("/") if part not in ("", ".")]
    return parts[1] if len(parts) == 3 and parts[0] == FUNCTIONS_DIR and parts[2] == "src" else ""


# `stack_name = "..."` in a samconfig.toml section of the default environment (global or deploy parameters).
_SAMCONFIG_STACK = re.compile(
    r'^\[default\.(?:global|deploy)\.parameters\]\s*$(?:(?!^\[).)*?^\s*stack_name\s*=\s*"([^"]+)"', re.M | re.S
)


def default_stack_name(template_dir: Path) -> str:
    """The stack the project deploys to: `stack_name` in its samconfig.toml, else (as `sam deploy --guided`
    suggests) the project's folder name. Names that derive from it (`!Sub ${AWS::StackName}`, the log group) then
    read locally as they will in AWS."""
    try:
        text = (template_dir / "samconfig.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    match = _SAMCONFIG_STACK.search(text)
    return match.group(1) if match else template_dir.resolve().name


def ignored_warnings(project: Path) -> tuple[str, ...]:
    """The `ignore:` entries of the project's pytest `filterwarnings` (pyproject.toml), which `invoke` applies too.

    Read only when the file names them (no TOML parser on the path of every cold `invoke`), and only where the
    standard library has one (Python 3.11+).
    """
    try:
        text = (project / "pyproject.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ()
    if "filterwarnings" not in text:
        return ()
    if sys.version_info < (3, 11):
        return ()
    return _ignore_entries(text)


def _ignore_entries(text: str) -> tuple[str, ...]:
    if sys.version_info >= (3, 11):
        import tomllib

        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return ()
        entries = document.get("tool", {}).get("pytest", {}).get("ini_options", {}).get("filterwarnings")
        if isinstance(entries, list):
            return tuple(entry for entry in entries if isinstance(entry, str) and entry.strip().startswith("ignore:"))
    return ()


def read_functions(template_path: Path, stack_name: str | None = None) -> dict[str, FunctionConfig]:
    """Every `AWS::Serverless::Function` in the template, by logical id, in template order."""
    template = load_template(template_path)
    template_dir = template_path.resolve().parent
    warning_filters = ignored_warnings(template_dir)
    resolver = Resolver(template, stack_name or default_stack_name(template_dir))
    global_props = ((template.get("Globals") or {}).get("Function")) or {}
    functions: dict[str, FunctionConfig] = {}
    for logical_id, resource in template["Resources"].items():
        if not isinstance(resource, dict) or resource.get("Type") != FUNCTION_TYPE:
            continue
        props = merge_globals(global_props, resource.get("Properties") or {})
        name = (
            resolver.value(props["FunctionName"]) if "FunctionName" in props else f"{resolver.stack_name}-{logical_id}"
        )
        variables = ((props.get("Environment") or {}).get("Variables")) or {}
        logging_config = props.get("LoggingConfig") or {}
        invoke_config = props.get("EventInvokeConfig") or {}
        dead_letter = props.get("DeadLetterQueue") or {}
        code_uri = props.get("CodeUri", ".")
        if not isinstance(code_uri, str):
            code_uri = "."
        functions[logical_id] = FunctionConfig(
            logical_id=logical_id,
            name=name,
            handler=str(props.get("Handler", "")),
            runtime=str(props.get("Runtime", "")),
            architecture=str((props.get("Architectures") or [facts.DEFAULT_ARCHITECTURE])[0]),
            memory_size=int(props.get("MemorySize", facts.DEFAULT_MEMORY_MB)),
            timeout=int(props.get("Timeout", facts.DEFAULT_TIMEOUT_S)),
            code_dir=(template_dir / code_uri).resolve(),
            environment={key: resolver.value(value) for key, value in variables.items()},
            ephemeral_storage=int(
                (props.get("EphemeralStorage") or {}).get("Size", facts.DEFAULT_EPHEMERAL_STORAGE_MB)
            ),
            log_format=str(logging_config.get("LogFormat", "Text")),
            application_log_level=logging_config.get("ApplicationLogLevel"),
            system_log_level=logging_config.get("SystemLogLevel"),
            log_group=_log_group(resolver, logging_config, name),
            tracing=props.get("Tracing") == "Active",
            events=props.get("Events") or {},
            properties=props,
            max_retry_attempts=int(invoke_config.get("MaximumRetryAttempts", 2)),
            on_success=_destination(resolver, invoke_config, "OnSuccess"),
            on_failure=_destination(resolver, invoke_config, "OnFailure"),
            dead_letter_queue=resolver.value(dead_letter["TargetArn"]) if "TargetArn" in dead_letter else None,
            warning_filters=warning_filters,
            project_dir=template_dir,
            folder=function_folder(code_uri),
        )
    return functions


def _log_group(resolver: Resolver, logging_config: dict[str, Any], function_name: str) -> str:
    """The name of the function's log group, as Lambda gives it in `AWS_LAMBDA_LOG_GROUP_NAME`.

    `LoggingConfig.LogGroup` is usually `!Ref` to an `AWS::Logs::LogGroup` (whose Ref is its `LogGroupName`, often
    `!Sub /aws/lambda/${AWS::StackName}`) or a literal name; without it Lambda writes to `/aws/lambda/<name>`.
    """
    if logging_config.get("LogGroup"):
        return resolver.value(logging_config["LogGroup"])
    return f"/aws/lambda/{function_name}"


def _destination(resolver: Resolver, config: dict[str, Any], outcome: str) -> str | None:
    """The ARN of an EventInvokeConfig destination (`OnSuccess`/`OnFailure`), if one is configured."""
    target = ((config.get("DestinationConfig") or {}).get(outcome)) or {}
    if not target:
        return None
    if "Destination" in target:
        return resolver.value(target["Destination"])
    return f"the {target.get('Type', '')} destination SAM creates"


def select_function(functions: dict[str, FunctionConfig], reference: str | None) -> FunctionConfig:
    """The function to act on: the one `reference` names, or the only one; several without one is a user error.

    A reference is a logical id, in any case and with or without its `Function` suffix (`OrdersWorker`,
    `ordersworkerfunction`), or a function's folder name (`orders-worker` for `functions/orders-worker/src/`).
    """
    if not functions:
        raise RunnerError("template.yaml declares no AWS::Serverless::Function: add one, or pass --template")
    if reference is None:
        if len(functions) == 1:
            return next(iter(functions.values()))
        raise RunnerError(f"template.yaml has several functions; name one of: {', '.join(functions)}")
    found = find_function(functions, reference)
    if found is None:
        raise RunnerError(f"no function {reference!r} in template.yaml; choose one of: {', '.join(functions)}")
    return found


def _without_suffix(name: str) -> str:
    name = name.lower()
    return name[: -len("function")] if name.endswith("function") and name != "function" else name


def find_function(functions: dict[str, FunctionConfig], reference: str) -> FunctionConfig | None:
    """The function `reference` names (see `select_function`), trying the strictest reading first; else None."""
    if reference in functions:
        return functions[reference]
    readings = (
        lambda function: function.logical_id.lower() == reference.lower(),
        lambda function: _without_suffix(function.logical_id) == _without_suffix(reference),
        lambda function: function.folder == reference,
    )
    for matches in readings:
        found = [function for function in functions.values() if matches(function)]
        if len(found) > 1:
            names = ", ".join(function.logical_id for function in found)
            raise RunnerError(f"{reference!r} could name any of {names}: give the logical id")
        if found:
            return found[0]
    return None


def owners(folders: Mapping[str, Path], path: Path) -> list[str]:
    """The names (logical ids) whose folder holds `path`: the deepest such folder's.

    With each function's tests folder, `functions/orders-worker/tests/test_a.py` belongs to the function of
    `functions/orders-worker/src/` and `tests/test_a.py` to the project's first function. Several names come back
    only when they share that folder (two functions with the same CodeUri); none when no folder holds the path.
    """
    path = path.resolve()
    found: list[str] = []
    depth = -1
    for name, given in folders.items():
        folder = given.resolve()
        if path != folder and folder not in path.parents:
            continue
        if len(folder.parts) > depth:
            found, depth = [name], len(folder.parts)
        elif len(folder.parts) == depth:
            found.append(name)
    return found
