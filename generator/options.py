"""Questions and answers: what a blueprint asks, and the checks every answer passes before anything is written.

A blueprint's own questions come from its manifest; the runtime settings (runtime, architecture, memory, ...)
are slsgen's own questions, asked of every blueprint, with defaults that a manifest may change. Both kinds are
`Question`s and go through the same `Question.convert`, so that a value typed at a prompt, passed with `--set`
or given to `new_project()` from Python meets the same rule and the same one-line message.
"""

from __future__ import annotations

import keyword
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import settings
from .errors import InvalidOption, InvalidProjectName

QUESTION_TYPES = ("str", "int", "bool", "choice", "list")
SLUG = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
ENV_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TRUE_WORDS = {"1", "true", "t", "yes", "y", "on"}
FALSE_WORDS = {"0", "false", "f", "no", "n", "off"}
MAX_NAME_LENGTH = 48  # leaves room in S3 bucket and IAM role names derived from it


@dataclass
class Question:
    """One option a user answers: its type, default, allowed values, validation and help."""

    name: str
    type: str = "str"
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    pattern_help: str = ""
    minimum: int | None = None
    maximum: int | None = None
    when: str | None = None
    prompt: bool = True
    unit: str = ""
    check: Callable[[Any], None] | None = field(default=None, repr=False, compare=False)

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
        return self.pattern_help or ("any text" if self.type == "str" else "")

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


def question_from_manifest(data: Mapping[str, Any], origin: str) -> Question:
    """Build a Question from a manifest entry, refusing unknown keys and types (typos must not pass silently)."""
    known = {"name", "type", "default", "help", "choices", "pattern", "pattern_help", "min", "max", "when", "prompt"}
    unknown = set(data) - known
    name = data.get("name")
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise InvalidOption(f"{origin}: every question needs a name that is a Python identifier, got {name!r}")
    if unknown:
        raise InvalidOption(f"{origin}: question {name!r} has unknown keys {sorted(unknown)}; known: {sorted(known)}")
    kind = data.get("type", "choice" if "choices" in data else "str")
    if kind not in QUESTION_TYPES:
        raise InvalidOption(f"{origin}: question {name!r} has type {kind!r}; use one of {', '.join(QUESTION_TYPES)}")
    question = Question(
        name=name,
        type=kind,
        default=data.get("default"),
        help=str(data.get("help", "")),
        choices=tuple(str(choice) for choice in data.get("choices", ())),
        pattern=data.get("pattern"),
        pattern_help=str(data.get("pattern_help", "")),
        minimum=data.get("min"),
        maximum=data.get("max"),
        when=data.get("when"),
        prompt=bool(data.get("prompt", True)),
    )
    if question.default is None:
        raise InvalidOption(f"{origin}: question {name!r} needs a default (answers must never be required)")
    question.default = question.convert(question.default)
    return question


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
    """A handler `module.function` (the module may be dotted) that Lambda can import and slsgen can write."""
    module, _, function = value.rpartition(".")
    parts = module.split(".") if module else []
    if not parts or not all(IDENTIFIER.match(part) and not keyword.iskeyword(part) for part in [*parts, function]):
        raise InvalidOption(
            f"handler {value!r} is not valid: write it as module.function, e.g. {settings.DEFAULT_HANDLER}"
        )
    top = parts[0]
    stdlib = getattr(sys, "stdlib_module_names", frozenset())
    if top in sys.builtin_module_names or top in stdlib or top in {"boto3", "botocore", "tests", "lambda_runner"}:
        raise InvalidOption(
            f"handler module {top!r} would shadow the module of that name; choose another, e.g. app.{function}"
        )


def check_env(values: Mapping[str, str]) -> None:
    """Environment variables: valid keys, none that Lambda reserves, at most 4 KB in all."""
    for key in values:
        if not ENV_KEY.match(key):
            raise InvalidOption(f"environment variable name {key!r} is not valid: use letters, digits and _")
        if key in settings.RESERVED_ENV_VARS:
            raise InvalidOption(f"environment variable {key} is reserved by Lambda; choose another name")
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
        Question("tracing", "bool", False, "AWS X-Ray active tracing", prompt=False),
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
    ]


RUNTIME_KEYS = frozenset(question.name for question in runtime_questions())
# Names a blueprint question may not take: slsgen's own context keys, and cookiecutter's nested-template keys.
RESERVED_NAMES = RUNTIME_KEYS | {
    "project_name",
    "description",
    "env",
    "template",
    "templates",
    "blueprint",
    "blueprint_version",
    "slsgen_version",
    "handler_module",
    "handler_function",
    "handler_path",
    "python_version",
    "wheel_arch",
    "dependencies",
    "dev_dependencies",
    "function_id",
    "events",
}


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
