"""Rendering through the library API: what lands on disk, and that failures leave nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from generator import new_project
from generator.errors import InvalidOption, RenderError, TargetExists
from generator.runner.config.template import load_template


def files(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


def function_properties(project: Path) -> dict:
    template = load_template(project / "template.yaml")
    return template["Resources"]["HelloWorldFunction"]["Properties"]


def test_default_project_layout(tmp_path):
    project = new_project("hello-world", "my-api", output_dir=tmp_path)
    assert project == tmp_path / "my-api"
    generated = files(project)
    expected = {
        ".gitignore",
        ".slsgen.json",
        "Makefile",
        "README.md",
        "pyproject.toml",
        "samconfig.toml",
        "template.yaml",
        ".github/workflows/ci.yml",
        "src/lambda_function.py",
        "src/requirements.txt",
        "tests/conftest.py",
        "tests/test_lambda_function.py",
        "events/hello.json",
        "events/hello-no-name.json",
        "events/bad-query.json",
        "lambda_runner/__init__.py",
        "lambda_runner/__main__.py",
        "lambda_runner/config/template.py",
    }
    assert expected <= generated
    assert not any("__pycache__" in name or ".ruff_cache" in name for name in generated)
    assert list(tmp_path.iterdir()) == [project]  # no temporary folder left beside it
    props = function_properties(project)
    assert props["Handler"] == "lambda_function.lambda_handler"
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == 128
    assert props["Timeout"] == 10
    assert props["Events"]["GetHello"] == {"Type": "HttpApi", "Properties": {"Path": "/hello", "Method": "GET"}}
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    assert (
        "def lambda_handler(event: HttpEvent, context: LambdaContext) -> HttpResponse:"
        in (project / "src/lambda_function.py").read_text()
    )
    assert 'stack_name = "my-api"' in (project / "samconfig.toml").read_text()


def test_record_of_the_generation(tmp_path):
    project = new_project("hello-world", "rec", output_dir=tmp_path, options={"memory": "256"}, env={"A": "1"})
    record = json.loads((project / ".slsgen.json").read_text())
    assert record["blueprint"] == {"name": "hello-world", "version": "1.0.0", "source": "builtin:hello-world"}
    assert record["project_name"] == "rec"
    assert record["answers"]["memory"] == 256
    assert record["answers"]["env"] == {"A": "1"}
    assert record["answers"]["trigger"] == "http-api"
    assert set(record["files"]) == files(project) - {".slsgen.json"}
    assert all(len(digest) == 64 for digest in record["files"].values())


def test_handler_rename_follows_everywhere(tmp_path):
    project = new_project("hello-world", "renamed", output_dir=tmp_path, options={"handler": "app.main"})
    assert not (project / "src/lambda_function.py").exists()
    code = (project / "src/app.py").read_text()
    assert "def main(event: HttpEvent, context: LambdaContext)" in code
    assert "def lambda_handler" not in code
    assert function_properties(project)["Handler"] == "app.main"
    assert (project / "tests/test_app.py").is_file()
    assert "`app.main`" in (project / "README.md").read_text()
    assert "src/app.py" in (project / "README.md").read_text()


def test_runtime_settings_land_in_the_template(tmp_path):
    project = new_project(
        "hello-world",
        "tuned",
        output_dir=tmp_path,
        options={
            "runtime": "python3.12",
            "architecture": "x86_64",
            "memory": 2048,
            "timeout": 60,
            "vpc": True,
            "tracing": True,
            "log_format": "text",
            "ephemeral_storage": 1024,
            "reserved_concurrency": 5,
        },
        env={"TABLE": "orders", "QUOTE": 'say "hi"'},
    )
    template = load_template(project / "template.yaml")
    props = template["Resources"]["HelloWorldFunction"]["Properties"]
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["x86_64"]
    assert (props["MemorySize"], props["Timeout"]) == (2048, 60)
    assert props["EphemeralStorage"] == {"Size": 1024}
    assert props["ReservedConcurrentExecutions"] == 5
    assert props["Tracing"] == "Active"
    assert props["LoggingConfig"] == {"LogGroup": {"Ref": "FunctionLogGroup"}, "LogFormat": "Text"}
    assert props["VpcConfig"] == {"SubnetIds": {"Ref": "SubnetIds"}, "SecurityGroupIds": {"Ref": "SecurityGroupIds"}}
    assert template["Parameters"]["SubnetIds"]["Type"] == "List<AWS::EC2::Subnet::Id>"
    assert props["Environment"]["Variables"] == {"GREETING": "Hello", "QUOTE": 'say "hi"', "TABLE": "orders"}
    assert 'target-version = "py312"' in (project / "pyproject.toml").read_text()
    assert "manylinux_2_28_x86_64" in (project / "Makefile").read_text()


@pytest.mark.parametrize(
    ("trigger", "events"),
    [
        ("function-url", {"events/hello.json", "events/bad-query.json", "events/wrong-method.json"}),
        ("none", {"events/hello.json", "events/hello-no-name.json"}),
    ],
)
def test_trigger_choice_changes_events_and_template(tmp_path, trigger, events):
    project = new_project("hello-world", "t", output_dir=tmp_path, options={"trigger": trigger})
    assert {name for name in files(project) if name.startswith("events/")} == events
    props = function_properties(project)
    assert "Events" not in props
    assert ("FunctionUrlConfig" in props) == (trigger == "function-url")


def test_a_question_that_does_not_apply_is_refused(tmp_path):
    with pytest.raises(InvalidOption, match="url_auth applies only when trigger == 'function-url'"):
        new_project("hello-world", "x", output_dir=tmp_path, options={"url_auth": "NONE"})
    assert list(tmp_path.iterdir()) == []


def test_unknown_options_list_the_valid_ones(tmp_path):
    with pytest.raises(InvalidOption, match=r"unknown option 'colour' for hello-world; valid options: runtime,"):
        new_project("hello-world", "x", output_dir=tmp_path, options={"colour": "red"})


def test_existing_target_is_never_touched_without_force(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(TargetExists, match="--force"):
        new_project("hello-world", "taken", output_dir=tmp_path)
    assert files(target) == {"notes.txt"}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["taken"]


def test_force_overwrites_generated_files_and_keeps_the_users(tmp_path):
    project = new_project("hello-world", "forced", output_dir=tmp_path)
    (project / "notes.txt").write_text("mine")
    (project / "src" / "helpers.py").write_text("X = 1\n")
    (project / "Makefile").write_text("edited")
    new_project("hello-world", "forced", output_dir=tmp_path, options={"memory": 512}, force=True)
    assert (project / "notes.txt").read_text() == "mine"
    assert (project / "src" / "helpers.py").read_text() == "X = 1\n"
    assert (project / "Makefile").read_text() != "edited"
    assert function_properties(project)["MemorySize"] == 512
    assert sorted(path.name for path in tmp_path.iterdir()) == ["forced"]


def test_an_empty_existing_folder_is_used(tmp_path):
    (tmp_path / "empty").mkdir()
    assert (new_project("hello-world", "empty", output_dir=tmp_path) / "template.yaml").is_file()


def test_a_rendering_failure_leaves_no_partial_folder(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "blueprint.yaml").write_text(
        yaml.safe_dump(
            {"name": "broken", "title": "t", "description": "d", "version": "1.0.0", "extends": "hello-world"}
        )
    )
    (broken / "zz-last.txt").write_text("{{ cookiecutter.no_such_answer }}")
    output = tmp_path / "deep" / "out"
    with pytest.raises(RenderError, match=r"no_such_answer.*nothing was written"):
        new_project(str(broken), "victim", output_dir=output)
    assert not (tmp_path / "deep").exists()


def test_a_template_syntax_error_is_a_render_error(tmp_path):
    broken = tmp_path / "syntax"
    broken.mkdir()
    (broken / "blueprint.yaml").write_text("name: syntax\ntitle: t\ndescription: d\nversion: 1.0.0\n")
    (broken / "README.md").write_text("{% if %}")
    with pytest.raises(RenderError, match="rendering the blueprint failed"):
        new_project(str(broken), "victim", output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_ci_workflow_runs_make_targets_that_exist(tmp_path):
    project = new_project("hello-world", "ci", output_dir=tmp_path, options={"runtime": "python3.12"})
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    steps = workflow["jobs"]["test"]["steps"]
    python = next(step for step in steps if step.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "3.12"
    targets = [step["run"].removeprefix("make ") for step in steps if "run" in step]
    assert targets == ["install", "lint", "test", "validate", "invoke"]
    makefile = (project / "Makefile").read_text()
    for target in targets:
        assert f"\n{target}:" in makefile
