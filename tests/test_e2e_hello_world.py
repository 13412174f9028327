"""End to end: generate hello-world, then run in the project what its user runs.

Each case renders into a temporary folder and runs `ruff check`, `ruff format --check`, the project's own pytest
suite, `cfn-lint template.yaml` and the local runner on every sample event, asserting the responses. One case
also goes through the project's Makefile in a fresh virtual environment on the runtime's own Python.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from helpers import check_project, generate, invoke, response, run

pytestmark = pytest.mark.e2e
REPORT = re.compile(
    r"REPORT RequestId: [0-9a-f-]{36}\tDuration: \d+\.\d{2} ms\tBilled Duration: \d+ ms\t"
    r"Memory Size: (\d+) MB\tMax Memory Used: \d+ MB"
)


def http_body(result) -> tuple[int, dict]:
    payload = response(result)
    assert payload["headers"]["content-type"] == "application/json"
    return payload["statusCode"], json.loads(payload["body"])


def test_default_project_passes_its_own_checks_and_runs(tmp_path):
    project = generate(tmp_path, "hello-world", "my-api")
    check_project(project)
    status, body = http_body(ok := invoke(project, "events/hello.json"))
    assert (status, body) == (200, {"message": "Hello, Ada!"})
    assert "START RequestId:" in ok.stderr
    assert "END RequestId:" in ok.stderr
    assert REPORT.search(ok.stderr).group(1) == "128"
    assert http_body(invoke(project, "events/hello-no-name.json")) == (200, {"message": "Hello, World!"})
    status, body = http_body(invoke(project, "events/bad-query.json"))
    assert status == 400
    assert "name must be" in body["error"]


def test_non_default_options(tmp_path):
    project = generate(
        tmp_path,
        "hello-world",
        "custom-api",
        "--runtime",
        "python3.12",
        "--arch",
        "x86_64",
        "--memory",
        "256",
        "--timeout",
        "30",
        "--handler",
        "app.main",
        "--set",
        "greeting=Hi",
        "--env",
        "STAGE=dev",
        "--tracing",
        "--log-format",
        "text",
    )
    assert (project / "src/app.py").is_file()
    check_project(project)
    result = invoke(project, "events/hello.json")
    assert http_body(result) == (200, {"message": "Hi, Ada!"})
    assert REPORT.search(result.stderr).group(1) == "256"


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        ("function-url", {"events/hello.json": 200, "events/bad-query.json": 400, "events/wrong-method.json": 405}),
        ("none", {"events/hello.json": {"message": "Hello, Ada!"}, "events/hello-no-name.json": None}),
    ],
)
def test_other_triggers(tmp_path, trigger, expected):
    project = generate(tmp_path, "hello-world", f"{trigger}-fn", "--set", f"trigger={trigger}", "--vpc")
    check_project(project)
    for event, outcome in expected.items():
        payload = response(invoke(project, event))
        if isinstance(outcome, int):
            assert payload["statusCode"] == outcome
        elif outcome is not None:
            assert payload == outcome
        else:
            assert payload == {"message": "Hello, World!"}


def runtime_python(version: str) -> str | None:
    """The CPython the function's runtime uses, from pyenv or PATH."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for candidate in sorted(root.glob(f"{version}*/bin/python{version}"), reverse=True):
        return str(candidate)
    return shutil.which(f"python{version}")


@pytest.mark.parametrize("runtime", ["python3.13", "python3.12"])
def test_makefile_in_a_fresh_venv_on_the_runtime_python(tmp_path, runtime):
    """`make install lint test validate invoke` as a new user runs them: the Makefile finds the runtime's Python."""
    version = runtime.removeprefix("python")
    if runtime_python(version) is None:
        pytest.fail(f"Python {version} is needed for this test (pyenv install {version})")
    project = generate(tmp_path, "hello-world", "fresh", "--runtime", runtime)
    for target in ("install", "lint", "test", "validate", "invoke"):
        result = run(["make", target], project, timeout=600)
    assert result.stdout.count("== events/") == 3
    version_out = run([str(project / ".venv/bin/python"), "--version"], project).stdout
    assert version_out.startswith(f"Python {version}.")


def test_python314_project_is_formatted_for_its_target(tmp_path):
    """Ruff formats for the runtime's Python (3.14 writes `except A, B:`), so lint and validate on any Python.

    Its test suite needs a Python 3.14 interpreter; the Makefile test runs the suites on 3.12 and 3.13.
    """
    project = generate(tmp_path, "hello-world", "py314", "--runtime", "python3.14")
    assert 'target-version = "py314"' in (project / "pyproject.toml").read_text()
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], project)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], project)
    run([str(Path(sys.executable).parent / "cfn-lint"), "template.yaml"], project)
    assert "Runtime: python3.14" in (project / "template.yaml").read_text()
