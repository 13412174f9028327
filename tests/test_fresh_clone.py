"""A generated repository works on its own: cloned afresh onto a machine path without slsgen, every Makefile target
and every command of both CI providers passes, offline once installed; the runner comes from the project's wheel,
its hash checked by uv and by pip."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_ci_files import fake_sam, github_commands, shell

from helpers import BIN, generate, run, served

pytestmark = pytest.mark.e2e


def without_slsgen(tmp_path: Path) -> dict[str, str]:
    """A PATH holding the system's tools, uv and a recording `sam`, but not slsgen (nor its virtual environment)."""
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "uv").symlink_to(BIN / "uv")
    sam = fake_sam(tmp_path / "fake-sam")
    system = [folder for folder in os.environ["PATH"].split(os.pathsep) if Path(folder).resolve() != BIN.resolve()]
    path = os.pathsep.join([str(sam), str(tools), *system])
    assert shutil.which("slsgen", path=path) is None
    environment = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return {**environment, "PATH": path, "UV_LINK_MODE": "hardlink"}


def clone(project: Path, target: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(project), str(target)], check=True)
    return target


def locked(project: Path) -> Path:
    """The generated repository as its team keeps it: `make lock` run once (uv.lock and src/requirements.txt, its
    export) and committed."""
    run(["make", "lock"], project, timeout=900)
    run(["git", "add", "uv.lock", "src/requirements.txt"], project)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "Lock"], project)
    return project


def run_clean(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess:
    """Run with exactly `env` (helpers.run would put slsgen's venv back on PATH)."""
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{command} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def test_a_fresh_clone_passes_every_make_target_and_ci_command_without_slsgen(tmp_path):
    (tmp_path / "made").mkdir()
    origin = locked(generate(tmp_path / "made", "hello-world", "solo", "--git", "--ci", "github"))
    project = clone(origin, tmp_path / "clone")
    env = without_slsgen(tmp_path)
    assert not (project / "lambda_runner").exists()
    tracked = run(["git", "ls-files"], project).stdout.split()
    assert not [path for path in tracked if path.endswith(".py") and not path.startswith(("src/", "tests/"))]

    run_clean(["make", "install-all", "install-emulate"], project, env)  # the one step that reaches the index
    offline = {**env, "UV_OFFLINE": "1", "PIP_NO_INDEX": "1"}
    help_text = run_clean(["make", "help"], project, offline).stdout
    targets = [line.split()[0] for line in help_text.splitlines() if line.strip()]
    assert {"install", "test", "lint", "format", "invoke", "validate", "package", "start-api", "clean"} <= set(targets)
    for target in ("test", "lint", "format", "invoke", "validate", "package", "build", "deploy-package", "clean"):
        run_clean(["make", target], project, offline)
    run_clean(["make", "invoke", "INVOKE_FLAGS=--emulate", "EVENT=events/hello.json"], project, offline)
    start_api = [str(project / ".venv/bin/python"), "-m", "lambda_runner", "start-api", "--port", "{port}"]
    assert served(start_api, project, "/hello?name=Ada", env=offline)[0] == 200
    assert run(["git", "status", "--porcelain"], project).stdout == ""  # `make format` changed nothing

    for _, command, step_env in github_commands(project):  # ci.yml, then deploy.yml (UV_LOCKED=1: the lock only)
        shell(command, project, {**offline, **step_env, "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")})
    assert run(["git", "status", "--porcelain"], project).stdout == ""

    made = locked(generate(tmp_path / "made", "hello-world", "solo-gl", "--git", "--ci", "gitlab"))
    gitlab = clone(made, tmp_path / "gl")
    pipeline = yaml.safe_load((gitlab / ".gitlab-ci.yml").read_text())
    variables = {key: value.replace("$CI_PROJECT_DIR", str(gitlab)) for key, value in pipeline["variables"].items()}
    jobs = {name: job for name, job in pipeline.items() if isinstance(job, dict) and "script" in job}
    assert list(jobs) == ["lint", "test", "validate", "package", "deploy"]
    for _name, job in jobs.items():
        # On GitLab's python image there is no uv: the Makefile's fallback bootstraps it with pip.
        job_env = {**env, **variables, "AWS_ROLE_ARN": "", "PATH": env["PATH"].split(os.pathsep, 2)[2]}
        assert shutil.which("uv", path=job_env["PATH"]) is None
        shell("\n".join(job["script"]), gitlab, job_env)


def test_the_runner_wheel_is_installed_only_with_its_pinned_hash(tmp_path):
    project = generate(tmp_path, "hello-world", "pinned", "--no-git")
    wheels = project / ".slsgen" / "wheels"
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    pip = [str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    pip_pin = [*pip, "--find-links", str(wheels), "-r", str(wheels / "requirements.txt")]
    run(pip_pin, project)  # pip, as a project without uv would install it
    assert (venv / "bin/python").exists()
    run([str(venv / "bin/python"), "-c", "import lambda_runner.facts"], project)

    (wheel,) = wheels.glob("*.whl")
    wheel.write_bytes(wheel.read_bytes() + b"\0")  # swapped or stale: another hash
    swapped_venv = tmp_path / "swapped"
    run([sys.executable, "-m", "venv", str(swapped_venv)], tmp_path)
    refused = run([str(swapped_venv / "bin/python"), *pip_pin[1:]], project, check=False)
    assert refused.returncode != 0
    assert "hash" in refused.stderr.lower()
    uv = run(["make", "install"], project, check=False)
    assert uv.returncode != 0
    assert "hash" in (uv.stdout + uv.stderr).lower()
