"""slsgen's defaults, and the constants every other module checks against.

Lambda's own facts (runtimes and their deprecation dates, limits, reserved environment names) are the runner's
(`lambda_runner.facts`): slsgen depends on exactly one runner version, so they are read from there, never
copied. This module is at the bottom of the package: it imports nothing from slsgen.
"""

from __future__ import annotations

import re

from lambda_runner import facts

# Lambda's facts (runtimes and their deprecation, limits, reserved names) live once, in the runner.
RUNTIMES = facts.supported_runtimes()
DEFAULT_RUNTIME = "python3.13"
# Runtimes Lambda deprecated: identifier -> (deprecated, creation blocked).
DEPRECATED_RUNTIMES = {name: dates for name, dates in facts.PYTHON_RUNTIMES.items() if name not in RUNTIMES}

ARCHITECTURES = facts.ARCHITECTURES
DEFAULT_ARCHITECTURE = "arm64"
# pip's platform tag for each Lambda architecture (arm64 is aarch64 to pip).
WHEEL_ARCH = {"arm64": "aarch64", "x86_64": "x86_64"}

MEMORY_MB = facts.MEMORY_MB
TIMEOUT_S = facts.TIMEOUT_S
EPHEMERAL_STORAGE_MB = facts.EPHEMERAL_STORAGE_MB
ENVIRONMENT_BYTES = facts.ENVIRONMENT_BYTES
DEFAULT_MEMORY_MB = 128
DEFAULT_TIMEOUT_S = 10
DEFAULT_EPHEMERAL_STORAGE_MB = facts.DEFAULT_EPHEMERAL_STORAGE_MB

LOG_FORMATS = ("json", "text")
LOG_LEVELS = facts.LOG_LEVELS
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
    ("renovate.json", "ci != 'gitlab'"),  # GitLab's dependency updates (GitHub's are .github/dependabot.yml)
    ("alarms.jinja", None),  # the alarm macros templates import, not a file of the project
)

# Environment variables Lambda reserves: a function may not set them.
RESERVED_ENV_VARS = facts.RESERVED_ENV_VARS

# Version-control metadata: never blueprint content, and nothing slsgen writes or removes may be under it (a copied
# `.git` brings its history, remotes, tokens and `core.fsmonitor`; a write into one breaks the repository).
VCS_NAMES = frozenset({".git", ".gitmodules", ".hg", ".svn"})

# The manifest file every blueprint folder holds.
MANIFEST_NAME = "blueprint.yaml"
# A blueprint folder's notes for its authors: never rendered into projects.
AUTHOR_NOTES = "BLUEPRINT.md"
# The record of how a project was generated, written into its root.
RECORD_NAME = ".slsgen.json"
# The local runner: the import name a project runs (`python -m lambda_runner`) and its distribution.
RUNNER_PACKAGE = "lambda_runner"
RUNNER_DISTRIBUTION = "slsgen-runner"
# Where a project keeps the runner's wheel (until the runner is on the package index), with its hash pin.
RUNNER_WHEELS = ".slsgen/wheels"
# What a project's own tools make from its pyproject.toml: uv.lock (`uv lock`) and each function's requirements.txt
# (src/, functions/NAME/src/), its export for `sam build`. A generation or an addition may write them (`locking`), but
# they are the project's, not the blueprint's: never recorded, snapshotted, merged or retired by slsgen.
LOCK_FILE = "uv.lock"
EXPORTED_REQUIREMENTS = "src/requirements.txt"
DERIVED_FILES = re.compile(r"uv\.lock|(functions/[^/]+/)?src/requirements\.txt")
