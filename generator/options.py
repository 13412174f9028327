"""Questions and answers: what a blueprint asks, and the checks every answer passes before anything is written.

A blueprint's own questions come from its manifest; the runtime settings (runtime, architecture, memory, ...)
are slsgen's own questions, asked of every blueprint, with defaults that a manifest may change. Both kinds are
`Question`s and go through the same `Question.convert`, so that a value typed at a prompt, passed with `--set`
or given to `new_project()` from Python meets the same rule and the same one-line message.
"""

from __future__ import annotations

import builtins
import keyword
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

from . import settings
from .errors import InvalidOption, InvalidProjectName
from .expressions import evaluate, render_text

QUESTION_TYPES = ("str", "int", "bool", "choice", "list")
SLUG = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
ENV_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")  # Lambda: [a-zA-Z]([a-zA-Z0-9_])+ (length checked apart)
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TRUE_WORDS = {"1", "true", "t", "yes", "y", "on"}
FALSE_WORDS = {"0", "false", "f", "no", "n", "off"}
MAX_NAME_LENGTH = 48  # leaves room in S3 bucket and IAM role names derived from it


@dataclass(frozen=True, kw_only=True)
class Rule:
    """A check an answer (each item of a list answer) meets after its type, choices and pattern: the first rule
    that fails gives the error, with the blueprint's own words."""

    match: str | None = field(default=None, metadata={"help": "regular expression the whole answer must match"})
    reject: str | None = field(
        default=None, metadata={"help": "regular expression that must find nothing ({found} in the message: its find)"}
    )
    message: str = field(metadata={"help": "what is wrong and how to fix it"})

    def __post_init__(self) -> None:
        if (self.match is None) == (self.reject is None):
            raise ValueError("a rule needs exactly one of match or reject, and a message")
        pattern = self.match if self.match is not None else self.reject
        try:
            re.compile(str(pattern))
        except re.error as exc:
            raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None

    def failure(self, value: str) -> str | None:
        """The message when `value` breaks the rule, else None."""
        if self.match is not None:
            return None if re.fullmatch(self.match, value) else self.message
        found = re.search(str(self.reject), value)
        return self.message.replace("{found}", found.group(0)) if found else None


@dataclass(frozen=True, kw_only=True)
class Constraint:
    """A rule across answers, checked once every answer is known: `require` is a sandboxed Jinja expression over
    the answers, and `message` (a Jinja template over the same answers) says what to change."""

    require: str = field(metadata={"help": "Jinja expression over the answers that must be true"})
    message: str = field(metadata={"help": "the error, a Jinja template over the answers"})


@dataclass
class Question:
    """One option a user answers: its type, default, allowed values, validation and help.

    The same dataclass is a manifest's `questions:` entry (see `typed`); `unit` and `check` are slsgen's own.
    """

    name: str = field(metadata={"help": "a Python identifier, used as --set NAME=... and in templates"})
    type: str = field(default="", metadata={"help": "str, int, bool, choice or list (default: choice with choices)"})
    default: Any = field(default=None, metadata={"required": True, "help": "the answer when none is given"})
    help: str = field(default="", metadata={"help": "the prompt and `slsgen show` text"})
    choices: tuple[str, ...] = ()
    pattern: str | None = field(default=None, metadata={"help": "regular expression every answer must match"})
    pattern_help: str = field(default="", metadata={"help": "the fix shown when the pattern does not match"})
    minimum: int | None = field(default=None, metadata={"key": "min"})
    maximum: int | None = field(default=None, metadata={"key": "max"})
    when: str | None = field(default=None, metadata={"help": "Jinja expression: ask only when true"})
    prompt: bool = field(default=True, metadata={"help": "false: never prompt, only --set"})
    rules: tuple[Rule, ...] = field(default=(), metadata={"help": "further checks, in order"})
    unit: str = field(default="", metadata={"manifest": False})
    check: Callable[[Any], None] | None = field(default=None, repr=False, compare=False, metadata={"manifest": False})

    def __post_init__(self) -> None:
        if not IDENTIFIER.match(self.name):
            raise ValueError(f"question name {self.name!r} must be a Python identifier")
        if not self.type:
            self.type = "choice" if self.choices else "str"
        if self.type not in QUESTION_TYPES:
            raise ValueError(f"question {self.name!r} has type {self.type!r}; use one of {', '.join(QUESTION_TYPES)}")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern {self.pattern!r} is not a valid regular expression: {exc}") from None
        if self.default is None:
            raise ValueError(f"question {self.name!r} needs a default (answers must never be required)")
        self.default = self.convert(self.default)

    def describe_allowed(self) -> str:
        """The allowed values, as `show` prints them."""
        if self.choices:
            return ", ".join(self.choices)
        if self.minimum is not None or self.maximum is not None:
            low = "" if self.minimum is None else self.minimum
            high = "" if self.maximum is None else self.maximum
            return f"{low}..{high}"
        if self.type == "bool":
            return "yes, no"
        matches = [rule.message for rule in self.rules if rule.match is not None]
        return self.pattern_help or (matches[0] if matches else "any text" if self.type == "str" else "")

    def convert(self, raw: Any) -> Any:
        """Parse and check one answer; raise InvalidOption naming the option, the problem and the fix."""
        value = self._parse(raw)
        if self.check is not None:
            self.check(value)
        items = value if isinstance(value, list) else [value]
        for item in items:
            self._check_one(item)
        return value

    def _parse(self, raw: Any) -> Any:
        if self.type == "int":
            if isinstance(raw, bool):
                raise InvalidOption(f"{self.name} must be a whole number, not {raw!r}")
            try:
                return int(str(raw).strip())
            except ValueError:
                raise InvalidOption(f"{self.name} must be a whole number, not {raw!r}") from None
        if self.type == "bool":
            if isinstance(raw, bool):
                return raw
            word = str(raw).strip().lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
            raise InvalidOption(f"{self.name} must be yes or no, not {raw!r}")
        if self.type == "list":
            items = raw if isinstance(raw, list) else str(raw).split(",")
            cleaned = [str(item).strip() for item in items if str(item).strip()]
            if not cleaned:
                raise InvalidOption(f"{self.name} needs at least one value, separated by commas")
            return cleaned
        return str(raw).strip() if isinstance(raw, str) else str(raw)

    def _check_one(self, value: Any) -> None:
        if self.choices and str(value) not in self.choices:
            raise InvalidOption(f"{self.name} must be one of {', '.join(self.choices)}, not {value!r}")
        if isinstance(value, int) and not isinstance(value, bool):
            low, high = self.minimum, self.maximum
            if (low is not None and value < low) or (high is not None and value > high):
                limits = f"{low} and {high}{' ' + self.unit if self.unit else ''}"
                whose = ", Lambda's limits" if self.name in RUNTIME_KEYS else ""  # a blueprint's own bounds are its own
                raise InvalidOption(f"{self.name} must be between {limits}{whose}; {value} is outside")
        if self.pattern and isinstance(value, str) and not re.fullmatch(self.pattern, value):
            hint = self.pattern_help or f"it must match {self.pattern}"
            raise InvalidOption(f"{self.name} {value!r} is not valid: {hint}")
        for rule in self.rules:
            failure = rule.failure(str(value))
            if failure is not None:
                raise InvalidOption(f"{self.name} {str(value)!r} is not valid: {failure}")


def check_constraints(constraints: Iterable[Constraint], answers: Mapping[str, Any]) -> None:
    """Raise InvalidOption with the first failing constraint's rendered message."""
    for constraint in constraints:
        if not evaluate(constraint.require, answers):
            raise InvalidOption(render_text(constraint.message, answers).strip())


# --- slsgen's own questions: the runtime settings every blueprint shares -------------------------------------


def check_runtime(value: str) -> None:
    """Refuse deprecated runtimes with their dates, and unknown ones with the supported list."""
    if value in settings.DEPRECATED_RUNTIMES:
        deprecated, blocked = settings.DEPRECATED_RUNTIMES[value]
        raise InvalidOption(
            f"runtime {value} was deprecated on {deprecated} and Lambda blocks new functions on it since {blocked}; "
            f"use one of {', '.join(settings.RUNTIMES)}"
        )
    if value not in settings.RUNTIMES:
        raise InvalidOption(f"runtime {value!r} is not supported; use one of {', '.join(settings.RUNTIMES)}")


def check_handler(value: str) -> None:
    """A handler `module.function` that Lambda can import and slsgen can write as `src/<module>.py`.

    What depends on the blueprint's code (its other modules and names) is checked on the rendered project
    (`handler_check`); here, what the name alone decides.
    """
    module, _, function = value.rpartition(".")
    if not module or not all(IDENTIFIER.match(part) and not keyword.iskeyword(part) for part in (module, function)):
        if "." in module:
            raise InvalidOption(
                f"handler {value!r} names a module inside a package; slsgen writes one module in src/: "
                f"use module.function, e.g. {module.replace('.', '_')}.{function}"
            )
        raise InvalidOption(
            f"handler {value!r} is not valid: write it as module.function, e.g. {settings.DEFAULT_HANDLER}"
        )
    stdlib: frozenset[str] = getattr(sys, "stdlib_module_names", frozenset())  # Python 3.10+
    if (
        module in sys.builtin_module_names
        or module in stdlib
        or module in {"boto3", "botocore", "tests", settings.RUNNER_PACKAGE}
    ):
        raise InvalidOption(
            f"handler module {module!r} would shadow the module of that name; choose another, e.g. app.{function}"
        )
    if function in vars(builtins):
        raise InvalidOption(
            f"handler function {function!r} would shadow Python's builtin {function}(); choose another name, "
            f"e.g. {module}.handler"
        )


def check_env(values: Mapping[str, str]) -> None:
    """Environment variables as Lambda's API checks them: key pattern `[a-zA-Z]([a-zA-Z0-9_])+`, none of the
    names Lambda reserves, at most 4 KB in all. Each message names the rule the key breaks."""
    for key in values:
        if key in settings.RESERVED_ENV_VARS:
            starts = ", and names start with a letter" if not key[:1].isalpha() else ""
            raise InvalidOption(f"environment variable {key} is reserved by Lambda{starts}; choose another name")
        if not key[:1].isascii() or not key[:1].isalpha():
            raise InvalidOption(f"environment variable name {key!r} must start with a letter (A-Z, a-z)")
        if not ENV_KEY.fullmatch(key):
            raise InvalidOption(f"environment variable name {key!r} may hold only letters, digits and _")
        if len(key) < 2:
            raise InvalidOption(f"environment variable name {key!r} is too short: Lambda needs at least 2 characters")
    size = sum(len(key.encode()) + len(str(value).encode()) for key, value in values.items())
    if size > settings.ENVIRONMENT_BYTES:
        raise InvalidOption(f"environment variables take {size} bytes; Lambda allows {settings.ENVIRONMENT_BYTES}")


def runtime_questions() -> list[Question]:
    """The runtime settings, in prompt order, with slsgen's defaults (a manifest's `runtime:` overrides them)."""
    return [
        Question(
            "runtime",
            "choice",
            settings.DEFAULT_RUNTIME,
            "Lambda Python runtime",
            settings.RUNTIMES,
            check=check_runtime,
        ),
        Question(
            "architecture",
            "choice",
            settings.DEFAULT_ARCHITECTURE,
            "Instruction set (arm64 is Graviton: about 20% cheaper per GB-second)",
            settings.ARCHITECTURES,
        ),
        Question(
            "memory",
            "int",
            settings.DEFAULT_MEMORY_MB,
            "Memory in MB (CPU scales with it)",
            minimum=settings.MEMORY_MB[0],
            maximum=settings.MEMORY_MB[1],
            unit="MB",
        ),
        Question(
            "timeout",
            "int",
            settings.DEFAULT_TIMEOUT_S,
            "Timeout in seconds",
            minimum=settings.TIMEOUT_S[0],
            maximum=settings.TIMEOUT_S[1],
            unit="seconds",
        ),
        Question(
            "handler",
            "str",
            settings.DEFAULT_HANDLER,
            "Handler as module.function",
            prompt=False,
            check=check_handler,
            pattern_help="module.function of Python identifiers, e.g. app.main; not a standard-library module name",
        ),
        Question(
            "ephemeral_storage",
            "int",
            settings.DEFAULT_EPHEMERAL_STORAGE_MB,
            "Ephemeral storage (the /tmp folder) in MB",
            minimum=settings.EPHEMERAL_STORAGE_MB[0],
            maximum=settings.EPHEMERAL_STORAGE_MB[1],
            prompt=False,
            unit="MB",
        ),
        Question(
            "log_format", "choice", settings.DEFAULT_LOG_FORMAT, "Lambda log format", settings.LOG_FORMATS, prompt=False
        ),
        Question(
            "log_level",
            "choice",
            settings.DEFAULT_LOG_LEVEL,
            "Application log level (JSON log format)",
            settings.LOG_LEVELS,
            prompt=False,
        ),
        Question("tracing", "bool", False, "AWS X-Ray active tracing, with Powertools Tracer", prompt=False),
        Question(
            "alarms",
            "bool",
            True,
            "CloudWatch alarms (errors, throttles, failed events) notifying an SNS topic",
            prompt=False,
        ),
        Question(
            "vpc",
            "bool",
            False,
            "Attach to a VPC (subnet and security-group ids become template parameters)",
            prompt=False,
        ),
        Question(
            "reserved_concurrency",
            "int",
            -1,
            "Reserved concurrency (-1: unreserved)",
            minimum=-1,
            maximum=1000,
            prompt=False,
        ),
        Question(
            "ci",
            "choice",
            settings.DEFAULT_CI,
            "Continuous integration: GitHub Actions, GitLab CI/CD, or none",
            settings.CI_SYSTEMS,
            prompt=False,
        ),
    ]


RUNTIME_KEYS = frozenset(question.name for question in runtime_questions())

# The rules across runtime settings, checked with a blueprint's own `constraints` (and before them).
SETTINGS_CONSTRAINTS = (
    Constraint(
        require="log_format == 'json' or log_level == 'INFO'",
        message="log_level {{ log_level }} needs the JSON log format: add --log-format json or drop --log-level",
    ),
)


class DerivedContext(TypedDict):
    """What `render.build_context` adds to the answers: the template variables slsgen derives itself.

    A blueprint question with one of these names would be silently overridden in templates while recorded in
    `.slsgen.json`; so these keys are the reserved names (mypy checks that `build_context` sets exactly these).
    """

    project_name: str
    description: str
    blueprint: str
    blueprint_title: str
    blueprint_version: str
    slsgen_version: str
    function_id: str
    handler_module: str
    handler_function: str
    python_version: str
    wheel_arch: str
    log_format_cfn: str
    log_retention_days: int
    dependencies: list[str]
    dev_dependencies: list[str]
    events: list[str]
    runner: str
    runner_distribution: str
    runner_version: str
    runner_wheel: str
    runner_wheels: str


# Names a blueprint question may not take: the runtime settings, the derived template variables, the
# environment answers (`env`), and cookiecutter's own context keys (nested templates, copy lists).
RESERVED_NAMES = (
    RUNTIME_KEYS
    | frozenset(DerivedContext.__annotations__)
    | {"env", "template", "templates", "cookiecutter", "_copy_without_render", "_extensions", "_output_dir"}
)


def check_project_name(name: str, max_length: int = MAX_NAME_LENGTH) -> str:
    """The project name names the folder, the stack and the function: a lowercase slug.

    A blueprint may lower `max_length` when it derives longer names from the stack name (bucket names).
    """
    if not name.strip():
        raise InvalidProjectName("the project name is empty: give a lowercase slug, e.g. my-api")
    if "/" in name or "\\" in name or name in (".", "..") or ".." in name:
        raise InvalidProjectName(
            f"project name {name!r} must be a plain name, not a path; use --output-dir to choose where it goes"
        )
    if not SLUG.match(name):
        raise InvalidProjectName(
            f"project name {name!r} is not a slug: use lowercase letters, digits and single hyphens, start with a "
            f"letter (e.g. my-api)"
        )
    if len(name) > max_length:
        raise InvalidProjectName(
            f"project name {name!r} has {len(name)} characters; this blueprint allows at most {max_length}"
        )
    return name


def parse_pairs(pairs: Iterable[str], flag: str) -> dict[str, str]:
    """Parse repeated `KEY=VALUE` flags; a pair without `=` or a key is refused with the expected form."""
    parsed: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidOption(f"{flag} {pair!r} is malformed: write it as {flag} KEY=VALUE")
        parsed[key.strip()] = value
    return parsed
