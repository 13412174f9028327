"""`slsgen invoke`, `start-api` and `event`: the project's own runner, with the project's own interpreter."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from helpers import SLSGEN, generate, run, served, slsgen, with_venv

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hello-world project with its own .venv (this interpreter's packages, as `make install` would give)."""
    return with_venv(generate(tmp_path_factory.mktemp("cmds"), "hello-world", "cmd-api"))


def test_invoke_runs_the_project_runner_with_the_project_venv(project):
    result = slsgen("invoke", "-e", "events/hello.json", cwd=project / "src")  # from a sub-folder, too
    payload = json.loads(result.stdout)
    assert json.loads(payload["body"]) == {"message": "Hello, Ada!"}
    assert "REPORT RequestId:" in result.stderr
    helper = slsgen("invoke", "--help", cwd=project).stdout
    assert helper.startswith("usage: slsgen invoke ")  # the project's runner, named as the user called it
    assert "--repeat" in helper
    assert "--isolated" in helper
    assert "examples:" in helper
    assert "examples:" in slsgen("start-api", "--help", cwd=project).stdout


def test_invoke_passes_the_runner_exit_code(project):
    result = run([*SLSGEN, "invoke", "-e", "missing.json"], project, check=False)
    assert result.returncode == 2
    assert "missing.json" in result.stderr


def test_invoke_outside_a_project_is_a_one_line_error(tmp_path):
    result = run([*SLSGEN, "invoke"], tmp_path, check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("error: no project here")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["invoke", "start-api", "validate", "package", "event"])
def test_help_is_printed_outside_a_project_too(tmp_path, command):
    result = slsgen(command, "--help", cwd=tmp_path)
    assert result.stdout.startswith(f"usage: slsgen {command} "), result.stdout
    assert "examples:" in result.stdout
    assert result.stderr == ""


def test_a_venv_without_the_runner_is_a_one_line_error(tmp_path):
    project = generate(tmp_path, "hello-world", "bare")
    run([sys.executable, "-m", "venv", "--without-pip", str(project / ".venv")], project)
    result = run([*SLSGEN, "invoke", "-e", "events/hello.json"], project, check=False)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: the environment of ")
    assert "has no slsgen-runner: run `make install`" in line


def test_event_prints_a_sample_event(tmp_path):
    result = slsgen("event", "s3", "put", "--bucket", "photos", "--key", "uploads/my photo+1.jpg", cwd=tmp_path)
    record = json.loads(result.stdout)["Records"][0]
    assert record["s3"]["bucket"]["name"] == "photos"
    assert record["s3"]["object"]["key"] == "uploads/my+photo%2B1.jpg"


def test_start_api_serves_the_function(project):
    status, body = served([*SLSGEN, "start-api", "--port", "{port}"], project, "/hello?name=Grace")
    assert status == 200
    assert json.loads(body) == {"message": "Hello, Grace!"}
