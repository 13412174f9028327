"""End to end: generate hello-world, then run in the project what its user runs.

Each case renders into a temporary folder and runs `ruff check`, `ruff format --check`, the project's own pytest
suite, `cfn-lint template.yaml` and the local runner on every sample event, asserting the responses. One case
also goes through the project's Makefile in a fresh virtual environment on the runtime's own Python.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from helpers import check_project, generate, invoke, require_python, response, run, runtime_python

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
    # ruff, its tests (every AWS call allowed by its role) and cfn-lint: test_readmes' run of its CI commands
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


def test_makefile_in_a_fresh_venv_on_another_runtime_python(tmp_path):
    """`make install lint test validate invoke` as a new user runs them: the Makefile finds the runtime's Python.
    The default runtime's run is test_ci_files's (the workflow runs the same targets, then `make invoke`)."""
    runtime = "python3.12"
    version = runtime.removeprefix("python")
    require_python(version)
    project = generate(tmp_path, "hello-world", "fresh", "--runtime", runtime)
    for target in ("install", "lint", "test", "validate", "invoke"):
        result = run(["make", target], project, timeout=600)
    assert result.stdout.count("== events/") == 3
    version_out = run([str(project / ".venv/bin/python"), "--version"], project).stdout
    assert version_out.startswith(f"Python {version}.")


def test_python314_project_is_formatted_for_its_target(tmp_path):
    """Ruff formats for the runtime's Python (3.14 writes `except A, B:`), so lint and validate on any Python."""
    project = generate(tmp_path, "hello-world", "py314", "--runtime", "python3.14")
    assert 'target-version = "py314"' in (project / "pyproject.toml").read_text()
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], project)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], project)
    run([str(Path(sys.executable).parent / "cfn-lint"), "template.yaml"], project)
    assert "Runtime: python3.14" in (project / "template.yaml").read_text()


@pytest.mark.parametrize("version", ["3.13", "3.10"])
def test_python314_project_runs_on_an_older_python(tmp_path, version):
    """Without Python 3.14, the Makefile uses another Python and says so; the runner (a dependency, installed
    there too) runs on 3.10, so that the project's tests and `make invoke` still run there."""
    python = require_python(version)
    # trigger none: the http handler's `typing.NotRequired` needs 3.11, and 3.10 is the runner's oldest Python.
    project = generate(tmp_path, "hello-world", "py314", "--runtime", "python3.14", "--set", "trigger=none")
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], project)
    install = run(["make", "install", f"PYTHON={python}"], project, timeout=600)
    note = (
        f"note: using {python} (Python {version}) for the python3.14 runtime: PYTHON was given; uv.lock pins Python "
        "3.14's dependencies, so pyproject.toml's ranges are installed"
    )
    assert note in install.stdout.splitlines()
    assert not (project / "uv.lock").exists()  # a lock for 3.14 cannot be made or used with this Python
    for target in ("test", "invoke"):
        run(["make", target], project, timeout=600)
    assert run([str(project / ".venv/bin/python"), "--version"], project).stdout.startswith(f"Python {version}.")


def test_the_makefile_says_which_python_it_falls_back_to(tmp_path):
    """No python3.14 on PATH or in pyenv (as here): one line names the Python used and why."""
    if runtime_python("3.14") is not None:
        pytest.fail("this test needs a machine without Python 3.14; run it where the fallback happens")
    project = generate(tmp_path, "hello-world", "fallback", "--runtime", "python3.14", "--set", "trigger=none")
    install = run(["make", "install"], project, timeout=600)
    notes = [line for line in install.stdout.splitlines() if "note:" in line]
    assert len(notes) == 1, install.stdout
    assert notes[0].startswith("note: using ")
    assert notes[0].endswith(
        "for the python3.14 runtime: python3.14 was not found: install it (pyenv install 3.14) or pass PYTHON=...; "
        "uv.lock pins Python 3.14's dependencies, so pyproject.toml's ranges are installed"
    )
    run(["make", "test"], project, timeout=600)
