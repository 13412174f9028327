"""Lambda's facts and slsgen's defaults: the constants every other module checks against.

Sources: Lambda quotas (memory, timeout, /tmp, environment size) and runtime deprecation dates as published by
AWS and shipped in cfn-lint's runtime lifecycle data (see the project's reference notes). This module is at the
bottom of the package: it imports nothing from slsgen.
"""

from __future__ import annotations

RUNTIMES = ("python3.12", "python3.13", "python3.14")
DEFAULT_RUNTIME = "python3.13"

# Runtimes that Lambda no longer accepts for new functions: identifier -> (deprecated, creation blocked).
DEPRECATED_RUNTIMES = {
    "python3.11": ("2026-06-30", "2026-07-31"),
    "python3.10": ("2026-06-30", "2026-07-31"),
    "python3.9": ("2025-12-15", "2026-06-01"),
    "python3.8": ("2024-10-14", "2026-06-01"),
    "python3.7": ("2023-12-04", "2024-01-09"),
}

ARCHITECTURES = ("arm64", "x86_64")
DEFAULT_ARCHITECTURE = "arm64"
# pip's platform tag for each Lambda architecture (arm64 is aarch64 to pip).
WHEEL_ARCH = {"arm64": "aarch64", "x86_64": "x86_64"}

MEMORY_MB = (128, 10240)
TIMEOUT_S = (1, 900)
EPHEMERAL_STORAGE_MB = (512, 10240)
ENVIRONMENT_BYTES = 4096
DEFAULT_MEMORY_MB = 128
DEFAULT_TIMEOUT_S = 10
DEFAULT_EPHEMERAL_STORAGE_MB = 512

LOG_FORMATS = ("json", "text")
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
DEFAULT_LOG_FORMAT = "json"
DEFAULT_LOG_LEVEL = "INFO"
LOG_RETENTION_DAYS = 30

DEFAULT_HANDLER = "lambda_function.lambda_handler"

# What `--tracing` adds to the function's requirements: Powertools' Tracer (the X-Ray SDK is its `tracer` extra).
# A blueprint that already requires Powertools keeps its own version range, with the extra added.
POWERTOOLS = "aws-lambda-powertools"
TRACER_REQUIREMENT = "aws-lambda-powertools[tracer]>=3.37,<4"

# Continuous integration: the system whose files a project gets (`--ci`).
CI_SYSTEMS = ("github", "gitlab", "none")
DEFAULT_CI = "github"
# The skeleton's files that depend on an answer, as exclude rules (glob, when): the same data a manifest's
# `exclude:` holds. The CI files live once in templates/, whatever the blueprint.
SKELETON_EXCLUDE: tuple[tuple[str, str | None], ...] = (
    (".github/*", "ci != 'github'"),
    (".gitlab-ci.yml", "ci != 'gitlab'"),
    ("alarms.jinja", None),  # the alarm macros templates import, not a file of the project
)

# Environment variables Lambda reserves: a function may not set them.
RESERVED_ENV_VARS = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)

# Version-control metadata: never blueprint content, and nothing slsgen writes or removes may be under it (a copied
# `.git` brings its history, remotes, tokens and `core.fsmonitor`; a write into one breaks the repository).
VCS_NAMES = frozenset({".git", ".gitmodules", ".hg", ".svn"})

# The manifest file every blueprint folder holds.
MANIFEST_NAME = "blueprint.yaml"
# A blueprint folder's notes for its authors: never rendered into projects.
AUTHOR_NOTES = "BLUEPRINT.md"
# The record of how a project was generated, written into its root.
RECORD_NAME = ".slsgen.json"
# The folder name of the local runner inside a generated project.
RUNNER_PACKAGE = "lambda_runner"
