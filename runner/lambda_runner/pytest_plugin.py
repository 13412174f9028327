"""pytest fixtures for a project's tests: the function exactly as template.yaml describes it, offline.

Installing the runner enables it (a `pytest11` entry point). The project folder is pytest's root folder (where
pyproject.toml is), which holds template.yaml and events/; under a root folder without a SAM template (another
project in the same environment) the plugin stays out of the way: its autouse fixture changes nothing.

In a project with several functions each test gets the function whose tests folder holds it (`functions/NAME/tests/`
for the function of `functions/NAME/src/`, `tests/` for the first function: `FunctionConfig.tests_dir`), so
no folder needs a conftest; override `function_config` in a conftest to choose otherwise. Fixtures:

- `function_config`: the function as template.yaml describes it (`FunctionConfig`: name, handler, runtime,
  memory_size, timeout, code_dir, environment, arn...), read once per session (per test module when the
  template has several functions).
- `function_environment` (autouse): Lambda's environment for every test (reserved variables, the template's
  Environment.Variables, dummy credentials, no AWS_PROFILE), restored afterwards; the fixture is that dict.
- `handler`: the handler function template.yaml names, imported from its CodeUri. Two functions' modules of the
  same name (each its `lambda_function`) never meet: while one function's tests run, the modules loaded from the
  other functions' code folders are out of `sys.modules` (and their folders off `sys.path`).
- `lambda_context`: a `LambdaContext` with every attribute of the real one, counting down from Timeout.
- `load_event`: `load_event("hello.json")` reads the function's events folder (events/hello.json; a function of
  functions/NAME/src/ reads functions/NAME/events/), a fresh copy each call.
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
from typing import TYPE_CHECKING, Any, Literal

import pytest

from .config.template import owners, read_functions, select_function
from .errors import RunnerError
from .public import FunctionConfig, LambdaContext
from .runtime import modules

if TYPE_CHECKING:
    from .local.local_aws import TemplateResources

_FUNCTIONS = pytest.StashKey["dict[str, FunctionConfig] | RunnerError"]()
_HANDLERS = pytest.StashKey["_Handlers"]()


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


def _functions(config: pytest.Config) -> dict[str, FunctionConfig]:
    """The template's functions, read once per session (a template that cannot be read fails each test that
    needs it, with the reason)."""
    if _FUNCTIONS not in config.stash:
        try:
            config.stash[_FUNCTIONS] = read_functions(_project(config) / "template.yaml")
        except RunnerError as exc:
            config.stash[_FUNCTIONS] = exc
    functions = config.stash[_FUNCTIONS]
    if isinstance(functions, RunnerError):
        raise functions
    return functions


def _function_config_scope(fixture_name: str, config: pytest.Config) -> Literal["session", "module"]:
    """Session-wide for one function; per test module for several, since a module's folder says which."""
    try:
        several = len(_functions(config)) > 1
    except RunnerError:
        several = False
    return "module" if several else "session"


@pytest.fixture(scope=_function_config_scope)
def function_config(request: pytest.FixtureRequest) -> FunctionConfig:
    """The function as template.yaml describes it: the only one, or the one whose tests folder holds the test
    (override this fixture in a conftest to choose another)."""
    functions = _functions(request.config)
    if len(functions) <= 1:
        return select_function(functions, None)
    found = owners({name: function.tests_dir for name, function in functions.items()}, request.path)
    if len(found) == 1:
        return functions[found[0]]
    where = request.path.relative_to(_project(request.config)).as_posix()
    if found:
        names = ", ".join(found)
        raise RunnerError(
            f"{where} is in the tests folder of several functions ({names}): override function_config in a "
            'conftest.py there (`return read_function(name="...")`)'
        )
    folders = ", ".join(
        f"{function.tests_dir.relative_to(_project(request.config))}/" for function in functions.values()
    )
    raise RunnerError(
        f"{where} is in no function's tests folder ({folders}): move it to one, or override function_config "
        "in a conftest.py"
    )


@pytest.fixture(autouse=True)
def function_environment(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment Lambda gives the function, template Environment included, for every test of a SAM project
    (none outside one: the root folder has no template.yaml; none for a test that uses no function's fixture and
    is in no single function's tests folder, in a template with several)."""
    if not _is_sam_project(request.config) and "function_config" not in request.fixturenames:
        return {}
    from .config.environment import lambda_environment

    try:
        function_config: FunctionConfig = request.getfixturevalue("function_config")
    except RunnerError:
        if "function_config" in request.fixturenames or len(_functions(request.config)) <= 1:
            raise
        return {}  # a test of code the functions share, say: it needs no Lambda environment
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    environment = lambda_environment(function_config, base={})
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    return environment


class _Handlers:
    """Which function's modules are in `sys.modules`: those of the function whose tests run, only.

    Each function's modules are imported once per session, as before; moving to another function's tests sets
    the modules loaded from the other code folders aside and brings that function's back.
    """

    def __init__(self) -> None:
        self.active: Path | None = None
        self.aside: dict[Path, dict[str, Any]] = {}

    def activate(self, function: FunctionConfig, functions: dict[str, FunctionConfig]) -> None:
        code_dir = function.code_dir
        others = {other.code_dir for other in functions.values()} - {code_dir}
        if self.active != code_dir:
            for folder in others:
                inner = [path for path in others | {code_dir} if folder in path.parents]  # a CodeUri inside it
                self.aside.setdefault(folder, {}).update(modules.set_aside(folder, excluding=inner))
            modules.restore(self.aside.pop(code_dir, {}))
            self.active = code_dir
        hidden = {str(folder) for folder in others}
        sys.path[:] = [str(code_dir), *(entry for entry in sys.path if entry not in hidden and entry != str(code_dir))]


@pytest.fixture
def handler(
    function_config: FunctionConfig, function_environment: dict[str, str], request: pytest.FixtureRequest
) -> Callable[..., Any]:
    """The handler function template.yaml names, imported from its CodeUri as Lambda imports it."""
    if "local_aws" in request.fixturenames:
        request.getfixturevalue("local_aws")  # AWS exists before the module's import-time code runs
    if _HANDLERS not in request.config.stash:
        request.config.stash[_HANDLERS] = _Handlers()
    functions = _functions(request.config) if _is_sam_project(request.config) else {}
    request.config.stash[_HANDLERS].activate(function_config, functions)
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
    """Read a sample event from the function's events folder (a fresh copy each time, so tests may change it)."""
    if _is_sam_project(request.config) or "function_config" in request.fixturenames:
        events = request.getfixturevalue("function_config").events_dir
    else:
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
