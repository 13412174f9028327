"""Fixtures shared by the tests: the function exactly as template.yaml describes it.

The handler's name, its code folder, its environment variables and the context all come from template.yaml,
read by the local runner, so renaming the handler or changing a setting there needs no change here. Tests run
with dummy AWS credentials and never reach a real account.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.runner }}.config.environment import lambda_environment
from {{ cookiecutter.runner }}.config.template import FunctionConfig, read_functions, select_function
from {{ cookiecutter.runner }}.runtime.context import LambdaContext

ROOT = Path(__file__).resolve().parent.parent
FUNCTION: FunctionConfig = select_function(read_functions(ROOT / "template.yaml"), None)
sys.path.insert(0, str(FUNCTION.code_dir))


@pytest.fixture(autouse=True)
def function_environment(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment Lambda gives the function, template Environment included, for every test."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    environment = lambda_environment(FUNCTION, base={})
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    return environment


@pytest.fixture
def handler(function_environment: dict[str, str]) -> Callable[..., Any]:
    """The handler function template.yaml names ({{ cookiecutter.handler }})."""
    module_name, _, function_name = FUNCTION.handler.rpartition(".")
    return getattr(importlib.import_module(module_name), function_name)


@pytest.fixture
def lambda_context(function_environment: dict[str, str]) -> LambdaContext:
    """A context with every attribute of the real one; the remaining time counts down from the Timeout."""
    deadline_ms = int(time.time() * 1000) + FUNCTION.timeout * 1000
    return LambdaContext(str(uuid.uuid4()), deadline_ms, FUNCTION.arn)


@pytest.fixture
def load_event() -> Callable[[str], Any]:
    """Read a sample event from events/ (a fresh copy each time, so tests may change it)."""

    def load(name: str) -> Any:
        return json.loads((ROOT / "events" / name).read_text(encoding="utf-8"))

    return load
