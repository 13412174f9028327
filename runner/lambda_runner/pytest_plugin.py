"""pytest fixtures for a project's tests: the function exactly as template.yaml describes it, offline.

Installing the runner enables it (a `pytest11` entry point). The project folder is pytest's root folder (where
pyproject.toml is), which holds template.yaml and events/; under a root folder without a SAM template (another
project in the same environment) the plugin stays out of the way: its autouse fixture changes nothing.
Override `function_config` in a conftest to test another function of a template with several. Fixtures:

- `function_config`: the function as template.yaml describes it (`FunctionConfig`: name, handler, runtime,
  memory_size, timeout, code_dir, environment, arn...), read once per session.
- `function_environment` (autouse): Lambda's environment for every test (reserved variables, the template's
  Environment.Variables, dummy credentials, no AWS_PROFILE), restored afterwards; the fixture is that dict.
- `handler`: the handler function template.yaml names, imported from its CodeUri.
- `lambda_context`: a `LambdaContext` with every attribute of the real one, counting down from Timeout.
- `load_event`: `load_event("hello.json")` reads events/hello.json (a fresh copy each call).
- `local_aws`: moto's in-memory AWS (`mock_aws`) for the test, with the template's buckets, queues, streams,
  tables and topics created under the names the function's environment uses. It yields a `TemplateResources`:
  `.names` and `.arns`, by logical id (`local_aws.names["SourceBucket"]`). Needs moto (and boto3).

moto and boto3 are imported only when a collected test uses `local_aws`: then before any test runs, so that
the boto3 clients a handler module makes at import time are mocked too.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .public import FunctionConfig, LambdaContext, read_function

if TYPE_CHECKING:
    from .local.local_aws import TemplateResources


def pytest_collection_finish(session: pytest.Session) -> None:
    """Import moto before any handler module makes its boto3 clients, when some test will use `local_aws`.

    moto mocks only the clients made after it was imported; a handler module typically makes its clients at
    import time, which may be in a test that does not use `local_aws`.
    """
    if any("local_aws" in getattr(item, "fixturenames", ()) for item in session.items):
        _import_moto()


def _import_moto() -> Any:
    try:
        from moto import mock_aws
    except ImportError:
        raise pytest.UsageError(
            "the local_aws fixture needs moto: add 'moto[s3]' (or moto[all]) to the dev dependencies"
        ) from None
    return mock_aws


def _project(config: pytest.Config) -> Path:
    return Path(config.rootpath)


def _is_sam_project(config: pytest.Config) -> bool:
    return (_project(config) / "template.yaml").is_file()


@pytest.fixture(scope="session")
def function_config(request: pytest.FixtureRequest) -> FunctionConfig:
    """The function as template.yaml describes it (the only one, or override this fixture to pick one)."""
    return read_function(_project(request.config))


@pytest.fixture(autouse=True)
def function_environment(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment Lambda gives the function, template Environment included, for every test of a SAM project
    (none outside one: the root folder has no template.yaml)."""
    if not _is_sam_project(request.config) and "function_config" not in request.fixturenames:
        return {}
    from .config.environment import lambda_environment

    function_config: FunctionConfig = request.getfixturevalue("function_config")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    environment = lambda_environment(function_config, base={})
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    return environment


@pytest.fixture
def handler(
    function_config: FunctionConfig, function_environment: dict[str, str], request: pytest.FixtureRequest
) -> Callable[..., Any]:
    """The handler function template.yaml names, imported from its CodeUri as Lambda imports it."""
    if "local_aws" in request.fixturenames:
        request.getfixturevalue("local_aws")  # AWS exists before the module's import-time code runs
    code_dir = str(function_config.code_dir)
    if code_dir not in sys.path:
        sys.path.insert(0, code_dir)
    module_name, _, function_name = function_config.handler.rpartition(".")
    function: Callable[..., Any] = getattr(importlib.import_module(module_name), function_name)
    return function


@pytest.fixture
def lambda_context(function_config: FunctionConfig, function_environment: dict[str, str]) -> LambdaContext:
    """A context with every attribute of the real one; the remaining time counts down from the Timeout."""
    deadline_ms = int(time.time() * 1000) + function_config.timeout * 1000
    return LambdaContext(str(uuid.uuid4()), deadline_ms, function_config.arn)


@pytest.fixture
def load_event(request: pytest.FixtureRequest) -> Callable[[str], Any]:
    """Read a sample event from events/ (a fresh copy each time, so tests may change it)."""
    events = _project(request.config) / "events"

    def load(name: str) -> Any:
        return json.loads((events / name).read_text(encoding="utf-8"))

    return load


@pytest.fixture
def local_aws(request: pytest.FixtureRequest, function_environment: dict[str, str]) -> Iterator[TemplateResources]:
    """moto's in-memory AWS with template.yaml's resources; yields their names and ARNs by logical id."""
    from .local.local_aws import create_template_resources

    mock_aws = _import_moto()
    # boto3's default session is kept from test to test: moto replaces it by default (so that a later unmocked test
    # does not use credentials cached in a mocked one), which makes every `boto3.client` read its service model
    # again, 0.25 s each. Here every test runs with the same dummy credentials and every request reaches moto.
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        yield create_template_resources(_project(request.config) / "template.yaml")
