"""`slsgen add`: a function made from any blueprint added to a generated project, merged as a person would merge it.

From each built-in blueprint's project, each built-in is added (16 pairs), after the user edited the handler and
commented template.yaml: the comment and the edit stay, the template passes cfn-lint and the SAM transform, the
deploy role covers the new resources, and the function's files are its own folder's. Then what `add` promises
beyond the pair: one line for a collision or a project it cannot extend, nothing written by `--dry-run` or a
refusal, a project byte-identical after a SIGKILL, and `slsgen update` bringing a blueprint change to the function
made from it and leaving the other alone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from cfnlint.api import lint
from cfnlint.config import ManualArgs
from test_deploy_role import coverage_problems, iam_reference, provider_permissions, role_statements

import generator
from generator import paths
from generator.addition import add_function, stack_of
from generator.errors import InvalidOption, NotAProject, TargetExists

from aws_calls import transformed
from helpers import SLSGEN, run

BLUEPRINTS = ("hello-world", "image-resize", "alexa-skill", "data-processing")
COMMENT = "# our team's note: keep this stack in eu-west-1\n"
EDIT = "# the user's own line\n"


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One project per built-in blueprint, generated once: each test adds to its own copy."""
    root = tmp_path_factory.mktemp("bases")
    return {
        name: generator.new_project(name, f"base-{index}", output_dir=root) for index, name in enumerate(BLUEPRINTS)
    }


def edited_copy(project: Path, target: Path) -> Path:
    """The project copied to `target`, with a user's comment in template.yaml and a line in the handler."""
    shutil.copytree(project, target, symlinks=True)
    with (target / "template.yaml").open("a", encoding="utf-8") as template:
        template.write(COMMENT)
    handler = target / "src" / "lambda_function.py"
    handler.write_text(EDIT + handler.read_text(encoding="utf-8"), encoding="utf-8")
    return target


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()
    }


def cfn_lint(template: Path) -> list[str]:
    return [
        f"{match.rule.id} {match.message}"
        for match in lint(template.read_text(), config=ManualArgs(regions=["us-east-1"]))
    ]


@pytest.mark.parametrize("added", BLUEPRINTS)
@pytest.mark.parametrize("base", BLUEPRINTS)
def test_every_blueprint_adds_to_every_blueprints_project(projects, tmp_path, base, added):
    project = edited_copy(projects[base], tmp_path / "project")
    before = files_of(project)
    addition = add_function(project, added, "extra")
    template = project / "template.yaml"
    assert COMMENT in template.read_text()
    assert (project / "src" / "lambda_function.py").read_text().startswith(EDIT)
    assert cfn_lint(template) == []
    resources = transformed(project)["Resources"]
    assert "ExtraFunction" in resources
    assert {"AWS::Lambda::Function"} <= {resource["Type"] for resource in resources.values()}
    new = files_of(project)
    assert {path for path in new if path not in before} == set(addition.added)
    assert all(path.startswith("functions/extra/") for path in addition.added)
    assert {"functions/extra/src/lambda_function.py", "functions/extra/src/requirements.txt"} <= set(addition.added)
    changed = {path for path in before if new.get(path) != before[path]}
    assert changed <= {
        "template.yaml",
        "pyproject.toml",
        "README.md",
        "deploy/github-oidc-role.yaml",
        ".slsgen.json",
        ".slsgen/base.json.gz",
    }
    role = project / "deploy" / "github-oidc-role.yaml"
    problems = coverage_problems(
        role_statements(role), transformed(project), stack_of(project), provider_permissions(), iam_reference()
    )
    assert problems == [], "\n".join(problems)
    record = json.loads((project / ".slsgen.json").read_text())
    assert [(entry["name"], entry["id"], entry["blueprint"]["name"]) for entry in record["functions"]] == [
        ("extra", "ExtraFunction", added)
    ]
    assert "## Extra: the `extra` function" in (project / "README.md").read_text()


def test_the_template_keeps_the_users_resources_order_and_formatting(projects, tmp_path):
    project = edited_copy(projects["hello-world"], tmp_path / "project")
    text = (project / "template.yaml").read_text()
    own = "  MyOwnTopic:  # the user's resource\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: ours\n\n"
    text = text.replace("Outputs:\n", own + "Outputs:\n", 1)
    (project / "template.yaml").write_text(text)
    add_function(project, "data-processing", "orders-worker", options={"trigger": "sqs"})
    merged = (project / "template.yaml").read_text()
    assert merged.startswith(text.split("Outputs:\n")[0]), "the user's part of the template is a prefix of the merge"
    assert own in merged
    assert merged.index("MyOwnTopic") < merged.index("OrdersWorkerFunction:")


def test_a_second_function_of_the_same_blueprint_gets_resources_of_its_own(projects, tmp_path):
    project = edited_copy(projects["image-resize"], tmp_path / "project")
    addition = add_function(project, "image-resize", "avatars")
    template = (project / "template.yaml").read_text()
    assert "AvatarsSourceBucket:" in template
    assert "${AWS::StackName}-avatars-${AWS::AccountId}-uploads" in template
    assert "AlarmTopic" in addition.shared
    events = (project / "functions" / "avatars" / "events").glob("*.json")
    assert all("base-1-123456789012-uploads" not in path.read_text() for path in events)


def test_the_same_name_twice_is_one_line(projects, tmp_path):
    project = edited_copy(projects["hello-world"], tmp_path / "project")
    add_function(project, "hello-world", "greeter")
    before = files_of(project)
    result = run([*SLSGEN, "add", "hello-world", "greeter", "--no-input"], project, check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("error: the project project has a function named greeter already")
    assert result.stderr.count("\n") == 1
    assert files_of(project) == before


@pytest.mark.parametrize("name", ["Bad_Name", "base-0", "x" * 60])
def test_a_name_that_cannot_be_a_function_is_refused(projects, tmp_path, name):
    project = edited_copy(projects["hello-world"], tmp_path / "project")
    before = files_of(project)
    with pytest.raises((InvalidOption, TargetExists)):
        add_function(project, "hello-world", name)
    assert files_of(project) == before


def test_outside_a_project_is_one_line(tmp_path):
    result = run([*SLSGEN, "add", "hello-world", "x", "--no-input"], tmp_path, check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("error: no generated project here")


def test_add_works_from_a_folder_under_the_project_and_dry_run_writes_nothing(projects, tmp_path):
    project = edited_copy(projects["hello-world"], tmp_path / "project")
    before = files_of(project)
    command = [*SLSGEN, "add", "data-processing", "orders-worker", "--set", "trigger=sqs", "--no-input"]
    result = run([*command, "--dry-run"], project / "src")
    assert "would add functions/orders-worker/src/lambda_function.py" in result.stdout
    assert "would change template.yaml" in result.stdout
    assert "OrdersWorkerInputQueue" in result.stdout
    assert files_of(project) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["project"]
    run(command, project / "src")
    assert (project / "functions" / "orders-worker" / "src" / "lambda_function.py").is_file()


def test_a_file_the_user_changed_that_add_would_replace_needs_force(projects, tmp_path):
    project = edited_copy(projects["hello-world"], tmp_path / "project")
    role = project / "deploy" / "github-oidc-role.yaml"
    role.write_text(role.read_text() + "# reviewed by security\n")
    before = files_of(project)
    with pytest.raises(TargetExists, match=r"would replace deploy/github-oidc-role\.yaml, which you changed"):
        add_function(project, "data-processing", "orders-worker")
    assert files_of(project) == before
    add_function(project, "data-processing", "orders-worker", force=True)
    assert "# reviewed by security" not in role.read_text()


def test_a_folder_that_is_no_generated_project_is_refused(tmp_path):
    (tmp_path / "template.yaml").write_text("Resources: {}\n")
    with pytest.raises(NotAProject, match="no generated project here"):
        add_function(tmp_path, "hello-world", "x")


def dying_at(k: int, replace):
    """os.replace that SIGKILLs the process at its k-th call (0: the first)."""
    calls = []

    def dying(source, destination):
        calls.append(destination)
        if len(calls) > k:
            os.kill(os.getpid(), signal.SIGKILL)
        return replace(source, destination)

    return dying


def test_sigkill_during_add_leaves_the_project_as_it_was(projects, tmp_path):
    """A child adds a function and SIGKILLs itself at the k-th rename of the placement, for k across all of them:
    after what the next run does first, the project is byte-identical to before, or completely added."""
    reference = edited_copy(projects["hello-world"], tmp_path / "reference")
    before = files_of(reference)
    add_function(reference, "data-processing", "orders-worker")
    after = files_of(reference)
    renames = len([path for path in after if after[path] != before.get(path)]) + 2
    outcomes, placing = [], 0
    for k in [*range(0, renames, 3), renames + 5]:
        project = edited_copy(projects["hello-world"], tmp_path / f"k{k}")
        pid = os.fork()
        if pid == 0:
            try:
                os.replace = dying_at(k, os.replace)  # type: ignore[assignment]
                add_function(project, "data-processing", "orders-worker")
            finally:
                os._exit(1)
        os.waitpid(pid, 0)
        journals = list(project.parent.glob(f".{project.name}.slsgen-add-*/journal"))
        placing += bool(journals) and len(journals[0].read_text().splitlines()) > 1
        generator.placement.recover(project.parent, project.name, project)
        now = files_of(project)
        outcomes.append("before" if now == before else "after" if now == after else "mixed")
        assert not list(project.parent.glob(f".{project.name}.slsgen-*"))
    assert "mixed" not in outcomes, outcomes
    assert outcomes[0] == "before"
    assert outcomes[-1] == "after", outcomes  # killed after the last rename: complete
    assert placing >= len(outcomes) // 2, "most kills come while files are being placed"


@pytest.fixture
def data(tmp_path, monkeypatch):
    """A private copy of slsgen's blueprints and skeleton, which the test then upgrades."""
    root = Path(__file__).resolve().parent.parent
    copy = tmp_path / "slsgen-data"
    shutil.copytree(root / "blueprints", copy / "blueprints")
    shutil.copytree(root / "templates", copy / "templates")
    monkeypatch.setattr(paths, "builtin_blueprints_dir", lambda: copy / "blueprints")
    monkeypatch.setattr(paths, "skeleton_dir", lambda: copy / "templates")
    return copy


def test_update_brings_a_change_to_the_function_made_from_that_blueprint_only(data, tmp_path):
    project = generator.new_project("hello-world", "two", output_dir=tmp_path / "work")
    add_function(project, "data-processing", "orders-worker", options={"trigger": "sqs"})
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    handler = data / "blueprints" / "data-processing" / "src" / "{{cookiecutter.handler_module}}.py"
    handler.write_text(handler.read_text() + "\n# data-processing 1.1.0\n")
    manifest = data / "blueprints" / "data-processing" / "blueprint.yaml"
    manifest.write_text(manifest.read_text().replace("version: 1.0.0", "version: 1.1.0"))
    hello = (project / "src" / "lambda_function.py").read_bytes()
    from generator.update import report, update_project

    plan = update_project(project, force=True)
    assert "function orders-worker: data-processing 1.0.0 -> 1.1.0" in report(plan)
    assert plan.writes.keys() >= {"functions/orders-worker/src/lambda_function.py"}
    assert (
        (project / "functions" / "orders-worker" / "src" / "lambda_function.py")
        .read_text()
        .endswith("# data-processing 1.1.0\n")
    )
    assert (project / "src" / "lambda_function.py").read_bytes() == hello
    record = json.loads((project / ".slsgen.json").read_text())
    assert record["functions"][0]["blueprint"]["version"] == "1.1.0"
    assert record["blueprint"]["version"] == "1.0.0"
    assert not update_project(project, force=True).changes  # and then it is up to date


def test_the_python_api_is_exported():
    assert generator.add_function is add_function


def test_add_help_lists_what_each_blueprint_adds(tmp_path):
    result = run([*SLSGEN, "add", "--help"], tmp_path)
    listed = result.stdout.split("What each blueprint adds")[1]
    for name in BLUEPRINTS:
        assert f"  {name} " in listed
    assert "slsgen add data-processing orders-worker --set trigger=sqs\n" in result.stdout


def test_new_force_over_a_project_with_added_functions_is_refused(projects, tmp_path):
    """A regeneration would drop the added functions: it points at `slsgen update` instead."""
    project = edited_copy(projects["hello-world"], tmp_path / "base-0")
    add_function(project, "hello-world", "greeter")
    before = files_of(project)
    with pytest.raises(TargetExists, match=r"has functions added with slsgen add \(greeter\)"):
        generator.new_project("hello-world", "base-0", output_dir=tmp_path, force=True)
    assert files_of(project) == before
