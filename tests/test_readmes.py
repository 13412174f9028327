"""Every command a README shows works as written: each generated project's, and slsgen's own usage sections.

`readme_commands` reads the shell blocks and runs them as a reader would (its docstring: the marks `# needs AWS` and
`# needs a terminal`, and how each mark is checked rather than trusted). Here:

- **Each project variant whose README shows other commands** (every blueprint, and every value of a `trigger`;
  `test_every_readme_variant_is_covered` proves no other option value shows other unmarked commands) is generated
  with git and GitHub CI, and everything its user runs is run once in it: first every command of its workflows
  (ci.yml, deploy.yml) in order, then its README's commands, top to bottom. A README command that a workflow
  already ran on the same files (`make test` after ci.yml's `make install lint test validate package`) is not run
  twice: it is reported as passed there. The project's tests run with the `aws_calls` plugin, so every AWS call
  the function makes in them must be one its role allows. Then the same project on GitLab: its jobs that could
  differ from GitHub's run again.
- **The option values whose README differs only in marked lines** (`--ci gitlab`, `--ci none`, `--no-alarms`) get
  those lines checked in their own project.
- **slsgen's README**: its usage sections, in a scratch folder and a scratch home holding what the examples
  assume exists elsewhere (see `readme_world`).

The lines not run as written are listed in the session's summary (conftest), each with what was checked instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from readme_commands import Command, Reader, aws_tools, record, shell_commands
from test_ci_files import fake_sam, github_commands, make_targets, shell, workflows

import generator

from helpers import BIN, SLSGEN, check_zip, generate, git, run, shared_folder

ROOT = Path(__file__).resolve().parent.parent
NAME = "ci-project"


def trigger_values(blueprint: generator.Blueprint) -> list[str]:
    question = next((q for q in blueprint.all_questions() if q.name == "trigger"), None)
    return [choice for choice in question.choices if choice != question.default] if question else []


# (blueprint, its `--set` answers): the variants whose READMEs show different unmarked commands.
VARIANTS = [(blueprint.name, ()) for blueprint in generator.list_blueprints()] + [
    (blueprint.name, (f"trigger={value}",))
    for blueprint in generator.list_blueprints()
    for value in trigger_values(blueprint)
]


def variant_id(variant: tuple[str, tuple[str, ...]]) -> str:
    blueprint, answers = variant
    return "-".join([blueprint, *(answer.split("=", 1)[1] for answer in answers)])


@pytest.fixture(scope="session")
def tools(tmp_path_factory) -> Path:
    """The `aws`, `sam` and `ask` a reader's marked lines reach; their cache of AWS CLI answers is the session's."""
    cache = shared_folder(tmp_path_factory, "aws-cli-answers")
    return aws_tools(tmp_path_factory.mktemp("readme-tools"), cache)


def reader_env(tools: Path, home: Path | None = None) -> dict[str, str]:
    """A reader's environment: slsgen and uv installed (this venv on PATH), no AWS credentials, no CI variables."""
    from readme_commands import no_aws_credentials

    env = {key: value for key, value in os.environ.items() if not key.startswith(("GITHUB_", "CI_", "PYTEST_"))}
    env.pop("VENV", None)
    env["PATH"] = os.pathsep.join([str(tools), str(BIN), os.environ.get("PATH", "")])
    if home is not None:
        env.update(home_of(home))
    return no_aws_credentials(env)


def home_of(home: Path) -> dict[str, str]:
    """A scratch home, keeping the machine's pyenv and uv cache (the Makefile looks for the runtime's Python there)."""
    real = Path.home()
    return {
        "HOME": str(home),
        "PYENV_ROOT": os.environ.get("PYENV_ROOT", str(real / ".pyenv")),
        "UV_CACHE_DIR": os.environ.get("UV_CACHE_DIR", str(real / ".cache" / "uv")),
        "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR", str(real / ".cache" / "pip")),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
    }


def plugin_env(tmp_path: Path) -> dict[str, str]:
    """What loads `aws_calls` into the project's own pytest run (`make test`): alone on PYTHONPATH."""
    import aws_calls

    folder = tmp_path / "plugins"
    folder.mkdir()
    shutil.copy(aws_calls.__file__, folder / "aws_calls.py")
    return {
        "PYTEST_ADDOPTS": "-p aws_calls",
        "PYTHONPATH": str(folder),
        aws_calls.CALLS_FILE: str(tmp_path / "aws-calls.jsonl"),
    }


def readme_report(record_property, lines: list[str]) -> None:
    marked = [line for line in lines if "(`# needs" in line]
    record_property("readme_not_run_as_written", marked)


def check_git_hooks(project: Path) -> None:
    """What `.pre-commit-config.yaml` promises: after its README's set-up, a commit and a push run its hooks (a git
    hook for every stage a hook of it runs at)."""
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    stages = {stage for hook in hooks for stage in hook.get("stages", config.get("default_stages", ["pre-commit"]))}
    hooks_folder = Path(git("rev-parse", "--git-path", "hooks", cwd=project))
    installed = {path.name for path in (project / hooks_folder).iterdir() if not path.name.endswith(".sample")}
    assert stages <= installed, f"hooks for {sorted(stages)} after the README's set-up, installed: {sorted(installed)}"


# --- every command of a project's CI and of its README ------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_every_ci_and_readme_command_passes_in_the_project(tmp_path, variant, shared_venv, tools, record_property):
    """GitHub's commands run in order; the zip is built twice (ci.yml's and deploy.yml's `make package`), then by
    GitLab, and never changes by a byte. Then the README's commands, top to bottom, which change none of the
    project's files. GitLab's jobs are proved to run only targets GitHub's commands ran, on files that differ only
    in the CI files, the README and slsgen's record; the jobs whose targets could see that difference run again
    (all but `test`, whose tests are shown not to name those files), for each blueprint's default project. (x86_64
    zips: test_e2e_package_validate; data-processing's triggers share their dependencies.)"""
    blueprint, answers = variant
    sets = [argument for answer in answers for argument in ("--set", answer)]
    project = generate(tmp_path, blueprint, NAME, "--git", "--ci", "github", *sets)
    assert run(["git", "status", "--porcelain", "--ignored"], project).stdout == ""  # all committed, none ignored
    sam = fake_sam(tmp_path / "fake-bin")
    summary = tmp_path / "step-summary.md"
    calls = plugin_env(tmp_path)
    env = {
        "PATH": f"{sam}{os.pathsep}{BIN}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_STEP_SUMMARY": str(summary),
        "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/deploy",
        "AWS_REGION": "eu-west-1",
        "UV_LINK_MODE": "hardlink",  # the shared uv cache and the venvs are on one file system
        **calls,
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
    if answers:  # deploy.yml's lines are the blueprint's whatever the option values: run on its default project
        commands = [command for command in commands if command[0] == "ci.yml"]
    zip_path = project / "dist" / f"{NAME}.zip"
    builds: list[bytes] = []
    ledger: dict[tuple[str, str], str] = {}
    for flow, command, step_env in commands:
        assert "${{" not in command  # no expression is ever expanded into a shell (template injection)
        record(ledger, command, project, f"{flow}'s `{command}`")
        result = shell(command, project, {**env, **step_env})
        targets = make_targets(command) or []
        if "validate" in targets:
            assert "validate: OK (template.yaml: 1 function" in result.stdout
        if "package" in targets:
            assert f"dist/{NAME}.zip: " in result.stderr  # built now, not left from before
            builds.append(zip_path.read_bytes())
    check_zip(zip_path, "arm64", "lambda_function.py")
    if not answers:
        assert len(builds) == 2
        assert builds[0] == builds[1], "two builds of the same project gave different zips"
        assert (sam / "sam-args").read_text().split() == [
            "deploy",
            "--config-env",
            "zip",
            "--no-confirm-changeset",
            "--no-fail-on-empty-changeset",
        ]
    assert "| **TOTAL**" in summary.read_text()  # the coverage table in the job's summary
    import aws_calls

    problems = aws_calls.policy_problems(project, Path(calls[aws_calls.CALLS_FILE]))
    assert problems == [], "calls the function's role does not allow:\n" + "\n".join(problems)
    # The venv `make install` built runs the function's runtime, and the sample events through the project's runner.
    venv = Path(env["VENV"])
    runtime = re.findall(r"^ +Runtime: python(3\.\d+)$", (project / "template.yaml").read_text(), re.MULTILINE)[0]
    assert run([str(venv / "bin" / "python"), "--version"], project).stdout.startswith(f"Python {runtime}.")
    record(ledger, "make invoke", project, "this test's `make invoke`")
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

    # The README, top to bottom, in the project as CI left it (what it built is there), with the same venv as .venv.
    (project / ".venv").symlink_to(venv, target_is_directory=True)
    # VENV: what `make install-all` installs gets the venv's own path in its scripts, not this project's link to it
    reader = Reader(project, {**reader_env(tools), "VENV": str(venv)}, tools, ledger)
    readme_report(record_property, reader.run_all(shell_commands((project / "README.md").read_text(encoding="utf-8"))))
    check_git_hooks(project)
    (project / ".venv").unlink()
    changed = run(["git", "status", "--porcelain", "--untracked-files=no"], project).stdout
    assert changed == "", f"the README's commands changed files of the project:\n{changed}"
    run(["git", "clean", "-fdq"], project)  # what the reader made besides (alexa-skill's my-help.json)

    if answers:
        # GitLab's jobs run once per blueprint, on its default project: another option value changes only what
        # GitHub's jobs above ran on the same files (the code, the template, the role's policies, which both
        # providers' roles share), and nothing of GitLab's own files but the role's policies.
        return
    # The same project on GitLab: its file replaces the GitHub ones, and nothing a Makefile target reads changes.
    generate(tmp_path, blueprint, NAME, "--ci", "gitlab", "--force", *sets)
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
                assert (project / "dist" / f"{NAME}.zip").read_bytes() == builds[0]
    assert rerun == ["lint", "validate", "package", "deploy"]
    assert (sam / "sam-args").read_text().split()[:3] == ["deploy", "--config-env", "zip"]


# --- the option values whose READMEs show the same commands ---------------------------------------------------------


def candidate_variants() -> list[tuple[str, tuple[str, ...]]]:
    """(blueprint, `slsgen new` arguments): each other value of each choice and bool question of each blueprint
    (with the answers its `when` needs), and of the runtime settings the skeleton README's commands depend on (the
    CI system, the alarms)."""
    from test_security_scans import _condition_sets

    found: list[tuple[str, tuple[str, ...]]] = []
    for blueprint in generator.list_blueprints():
        for question in blueprint.questions:
            values = question.choices if question.type == "choice" else [True, False] if question.type == "bool" else []
            conditions = _condition_sets(question.when, blueprint) if question.when else []
            for value in values:
                if value != question.default:
                    answers = [*conditions, f"{question.name}={value}"]
                    found.append((blueprint.name, tuple(f"--set={answer}" for answer in answers)))
        found += [(blueprint.name, args) for args in (("--ci", "gitlab"), ("--ci", "none"), ("--no-alarms",))]
    return found


def shown(project: Path) -> list[tuple[str, Command]]:
    """The README's commands, each with its text as any project name would show it (the name as NAME)."""
    commands = shell_commands((project / "README.md").read_text(encoding="utf-8"))
    return [(command.text.replace(project.name, "NAME"), command) for command in commands]


@pytest.mark.e2e
def test_every_readme_variant_is_covered(matrix, tools, tmp_path, record_property):
    """Every other option value's README shows the unmarked commands of one variant the test above runs; the lines
    it shows besides (a deploy role for GitLab; without alarms, one line less) are all marked, and are checked here
    in a copy of that project."""
    runs = [(blueprint, tuple(f"--set={answer}" for answer in answers)) for blueprint, answers in VARIANTS]
    candidates = [variant for variant in candidate_variants() if variant not in runs]
    with ThreadPoolExecutor(max_workers=2) as pool:  # the projects the security scans read are among them
        made = list(pool.map(lambda variant: matrix(variant[0], *variant[1]), runs + candidates))
    listed = {variant: shown(project) for variant, project in zip(runs, made, strict=False)}

    def unmarked(commands: list[tuple[str, Command]]) -> list[str]:
        return [text for text, command in commands if command.mark is None]

    report: list[str] = []
    for (blueprint, args), project in zip(candidates, made[len(runs) :], strict=True):
        commands = shown(project)
        same = [variant for variant, run_commands in listed.items() if unmarked(run_commands) == unmarked(commands)]
        assert same, f"{blueprint} {' '.join(args)} shows other commands than every variant run: add it to VARIANTS"
        known = {text for text, _ in listed[same[0]]}
        extra = [command for text, command in commands if text not in known]
        if extra:
            copy = tmp_path / str(len(report)) / project.name
            shutil.copytree(project, copy, symlinks=True)
            lines = Reader(copy, reader_env(tools), tools).run_all(extra)
            report += [f"{blueprint} {' '.join(args)}: {line}" for line in lines]
    assert report, "no option value showed marked lines of its own: is the README's CI section gone?"
    readme_report(record_property, report)


# --- slsgen's own README ------------------------------------------------------------------------------------------

# Its sections that show how to use slsgen, in document order (the set-up commands are the suite's own command).
USAGE_SECTIONS = (
    "Use",
    "Write a team blueprint",
    "Grow a project: `slsgen add`",
    "Update a project",
    "Blueprint sources",
    "Defaults and presets",
)


def readme_world(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """(scratch folder, home, environment) holding what the README's examples take to exist elsewhere:

    - git configured with a name, and `https://github.com/acme/blueprints.git` (and its ssh address) rewritten by
      git's own `url.<base>.insteadOf` to a local repository holding a `team-api` blueprint, on `main` and at `v2`;
    - `~/src/team-blueprints/team-api`, a team's folder of blueprints, which `SLSGEN_BLUEPRINTS` names (the search
      path) as the config file of "Defaults and presets" does;
    - `~/templates/cookiecutter-aws-sam-hello-python`, a plain cookiecutter template (a small stand-in for AWS's);
    - a cache folder of slsgen's own, so that nothing of the machine's is used or changed.
    """
    home, scratch, remote = tmp_path / "home", tmp_path / "work", tmp_path / "remotes" / "acme-blueprints"
    for folder in (home, scratch, remote):
        folder.mkdir(parents=True)
    acme = remote.as_uri()
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Ada\n\temail = ada@example.com\n[init]\n\tdefaultBranch = main\n"
        f'[url "{acme}"]\n\tinsteadOf = https://github.com/acme/blueprints.git\n'
        "\tinsteadOf = git@github.com:acme/blueprints.git\n"
    )
    env = {**home_of(home), "SLSGEN_CACHE": str(tmp_path / "cache")}
    env["SLSGEN_BLUEPRINTS"] = str(home / "src" / "team-blueprints")
    for folder in (remote, home / "src" / "team-blueprints"):
        run([*SLSGEN, "blueprint", "init", "team-api", "--from", "hello-world", "-o", str(folder)], tmp_path)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "team-api"], ["tag", "v2"]):
        run(["git", *args], remote, env={**os.environ, **env})
    template = home / "templates" / "cookiecutter-aws-sam-hello-python"
    (template / "{{ cookiecutter.project_name }}").mkdir(parents=True)
    (template / "cookiecutter.json").write_text(json.dumps({"project_name": "sam-app", "runtime": "python3.13"}))
    (template / "{{ cookiecutter.project_name }}" / "README.md").write_text(
        "# {{ cookiecutter.project_name }}\n\nA SAM application on {{ cookiecutter.runtime }}.\n"
    )
    return scratch, home, env


def shared_venv_linker(shared_venv: Callable[[Path], Path]) -> Callable[[Path], None]:
    """`Reader.before_make`: a generated project's `.venv` is the session's venv for its dependencies, linked again
    when they change (`slsgen add` adds a function's), so that its `make` targets use what `make install` made
    once per session rather than a venv of their own."""

    def link(folder: Path) -> None:
        if not (folder / ".slsgen.json").is_file():
            return
        venv, link = shared_venv(folder), folder / ".venv"
        if link.is_symlink() and link.resolve() != venv.resolve():
            link.unlink()
        if not link.exists():
            link.symlink_to(venv, target_is_directory=True)

    return link


@pytest.mark.e2e
def test_slsgen_readme_usage_runs_as_written(tmp_path, tools, shared_venv, record_property):
    """Each usage section, top to bottom, in one scratch folder (a section starts there, and its `cd` lasts to its
    end): what an earlier section made (`team-api`, `payments-api`, `my-api` with its added functions) is there for
    the later ones, as for a reader. The TOML block of "Defaults and presets" is the config file the commands after
    it read."""
    scratch, home, world = readme_world(tmp_path)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    env = {**reader_env(tools), **world}
    env["PATH"] = os.pathsep.join([str(tools), str(BIN), os.environ.get("PATH", "")])
    report: list[str] = []
    for section in USAGE_SECTIONS:
        commands = shell_commands(readme, sections=(section,))
        assert commands, f"README.md has no shell block under {section!r}"
        if section == "Defaults and presets":
            config = re.search(r"^## Defaults and presets$.*?^```toml\n(.*?)^```", readme, re.MULTILINE | re.DOTALL)
            assert config, "the config file of 'Defaults and presets'"
            (home / ".config" / "slsgen").mkdir(parents=True, exist_ok=True)
            (home / ".config" / "slsgen" / "config.toml").write_text(config.group(1), encoding="utf-8")
        report += Reader(scratch, env, tools, before_make=shared_venv_linker(shared_venv)).run_all(commands)
    readme_report(record_property, report)
    made = {path.name for path in scratch.iterdir()}
    assert {"my-api", "hi-api", "team-api", "payments-api", "orders-api", "v2-api", "main-api", "prod-api"} <= made
    # "Grow a project": the worker was added, the dry run wrote nothing
    grown = json.loads((scratch / "my-api" / ".slsgen.json").read_text(encoding="utf-8"))
    assert (scratch / "my-api" / "functions" / "orders-worker" / "src").is_dir()
    assert not (scratch / "my-api" / "functions" / "thumbnails").exists()
    assert "orders-worker" in json.dumps(grown)
    assert "thumbnails" not in json.dumps(grown)
    assert (scratch / "my-api" / ".venv").is_symlink()  # the session's venv: its `make` made none of its own
