"""Rendering through the library API: what lands on disk, and that failures leave nothing behind."""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from pathlib import Path

import pytest
import yaml
from lambda_runner import __version__ as RUNNER_VERSION
from lambda_runner.config.template import load_template, merge_globals

from generator import generate_project, new_project
from generator.errors import InvalidOption, OutputDirInvalid, RenderError, TargetConflict, TargetExists, WriteFailed


def files(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


def snapshot(folder: Path) -> dict[str, object]:
    """Every entry under `folder`: a file's bytes, a link's target, or a folder marker."""
    entries: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink():
            entries[relative] = ("link", os.readlink(path))
        elif path.is_dir():
            entries[relative] = "folder"
        else:
            entries[relative] = path.read_bytes()
    return entries


def function_properties(project: Path) -> dict:
    """The function's properties as SAM sees them: its own over what `Globals: Function:` gives every function."""
    template = load_template(project / "template.yaml")
    return merge_globals(template["Globals"]["Function"], template["Resources"]["HelloWorldFunction"]["Properties"])


def test_new_project_takes_every_parameter_of_generate_project(tmp_path):
    """new_project is generate_project returning the path: the same parameters, git included, for `help()` too."""
    assert inspect.signature(new_project).parameters == inspect.signature(generate_project).parameters
    project = new_project("hello-world", "repo", output_dir=tmp_path, git=True)
    assert project == tmp_path / "repo"
    assert (project / ".git").is_dir()


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
        ".slsgen/wheels/requirements.txt",
        f".slsgen/wheels/slsgen_runner-{RUNNER_VERSION}-py3-none-any.whl",
    }
    assert expected <= generated
    assert not [name for name in generated if name.startswith("lambda_runner/")]  # a dependency, not a copy
    assert not any("__pycache__" in name or ".ruff_cache" in name for name in generated)
    assert list(tmp_path.iterdir()) == [project]  # no temporary folder left beside it
    props = function_properties(project)
    assert props["Handler"] == "lambda_function.lambda_handler"
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == 128
    assert props["Timeout"] == 10
    assert props["Events"]["GetHello"] == {
        "Type": "HttpApi",
        "Properties": {"ApiId": {"Ref": "HttpApi"}, "Path": "/hello", "Method": "GET"},
    }
    assert "FunctionName" not in props  # CloudFormation names it, so a second function fits beside it
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    assert (
        "def lambda_handler(event: HttpEvent, context: LambdaContext) -> HttpResponse:"
        in (project / "src/lambda_function.py").read_text()
    )
    assert 'stack_name = "my-api"' in (project / "samconfig.toml").read_text()


def test_record_of_the_generation(tmp_path):
    project = new_project("hello-world", "rec", output_dir=tmp_path, options={"memory": "256"}, env={"AB": "1"})
    record = json.loads((project / ".slsgen.json").read_text())
    assert record["blueprint"] == {"name": "hello-world", "version": "1.0.0", "source": "builtin:hello-world"}
    assert record["project_name"] == "rec"
    assert record["answers"]["memory"] == 256
    assert record["answers"]["env"] == {"AB": "1"}
    assert record["answers"]["trigger"] == "http-api"
    assert set(record["files"]) == files(project) - {".slsgen.json", ".slsgen/base.json.gz"}  # the records
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
    props = function_properties(project)
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["x86_64"]
    assert (props["MemorySize"], props["Timeout"]) == (2048, 60)
    assert props["EphemeralStorage"] == {"Size": 1024}
    assert props["ReservedConcurrentExecutions"] == 5
    assert props["Tracing"] == "Active"
    assert props["LoggingConfig"] == {"LogGroup": {"Ref": "HelloWorldFunctionLogGroup"}, "LogFormat": "Text"}
    assert props["VpcConfig"] == {"SubnetIds": {"Ref": "SubnetIds"}, "SecurityGroupIds": {"Ref": "SecurityGroupIds"}}
    assert template["Parameters"]["SubnetIds"]["Type"] == "List<AWS::EC2::Subnet::Id>"
    assert props["Environment"]["Variables"] == {"GREETING": "Hello", "QUOTE": 'say "hi"', "TABLE": "orders"}
    assert 'target-version = "py312"' in (project / "pyproject.toml").read_text()
    assert "Build dist/tuned.zip for x86_64" in (project / "Makefile").read_text()  # pip targets what the template says


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
    steps = workflow["jobs"]["ci"]["steps"]
    python = next(step for step in steps if step.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "3.12"
    targets = [target for step in steps if "run" in step for target in step["run"].removeprefix("make ").split()]
    assert targets == ["install", "lint", "test", "validate", "package"]
    makefile = (project / "Makefile").read_text()
    for target in targets:
        assert f"\n{target}:" in makefile


# --- every file-system problem is one SlsgenError, with nothing written ---------------------------------------


def test_an_output_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "afile").write_text("mine")
    for output in (tmp_path / "afile", tmp_path / "afile" / "deeper"):
        with pytest.raises(OutputDirInvalid, match="is a file, not a folder"):
            new_project("hello-world", "x", output_dir=output)
    assert snapshot(tmp_path) == {"afile": b"mine"}


def test_an_output_dir_that_is_a_dangling_link_is_refused(tmp_path):
    (tmp_path / "out").symlink_to(tmp_path / "gone")
    with pytest.raises(OutputDirInvalid, match=r"out is a symbolic link to .*gone, which does not exist"):
        new_project("hello-world", "x", output_dir=tmp_path / "out" / "deeper")
    assert snapshot(tmp_path) == {"out": ("link", str(tmp_path / "gone"))}


def test_an_output_dir_where_nothing_can_be_written_is_a_write_error(tmp_path):
    with pytest.raises(WriteFailed, match=r"cannot write into /proc: .*choose another --output-dir"):
        new_project("hello-world", "x", output_dir="/proc")


def test_a_dangling_link_as_target_is_refused(tmp_path):
    (tmp_path / "api").symlink_to(tmp_path / "nowhere")
    with pytest.raises(TargetExists, match=r"is a symbolic link to .*nowhere, which does not exist"):
        new_project("hello-world", "api", output_dir=tmp_path)
    assert snapshot(tmp_path) == {"api": ("link", str(tmp_path / "nowhere"))}


def test_a_link_to_an_empty_folder_receives_the_project(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "api").symlink_to(tmp_path / "real")
    project = new_project("hello-world", "api", output_dir=tmp_path)
    assert project == tmp_path / "api"
    assert (tmp_path / "api").is_symlink()
    assert (tmp_path / "real" / "template.yaml").is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["api", "real"]


# --- --force: all conflicts first, all or nothing ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("make_conflicts", "messages"),
    [
        (lambda target: (target / "src").write_text("a file"), ["src is a file where the blueprint makes a folder"]),
        (lambda target: (target / "Makefile").mkdir(), ["Makefile is a folder where the blueprint makes a file"]),
        (
            lambda target: ((target / "Makefile").mkdir(), (target / "tests").write_text("x")),
            ["Makefile is a folder where", "tests is a file where"],
        ),
    ],
)
def test_force_finds_every_conflict_before_writing_anything(tmp_path, make_conflicts, messages):
    target = tmp_path / "proj"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    make_conflicts(target)
    before = snapshot(target)
    with pytest.raises(TargetConflict) as raised:
        new_project("hello-world", "proj", output_dir=tmp_path, force=True)
    for message in messages:
        assert message in str(raised.value)
    assert "\n" not in str(raised.value)
    assert snapshot(target) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["proj"]


def test_a_write_failing_midway_restores_the_folder_exactly(tmp_path, monkeypatch):
    project = new_project("hello-world", "proj", output_dir=tmp_path)
    (project / "Makefile").write_text("edited")
    (project / "notes.txt").write_text("mine")
    before = snapshot(project)
    from generator import placement

    real_replace = os.replace
    calls = []

    def failing_replace(source, destination):
        calls.append(destination)
        if len(calls) == 12:  # several files already replaced: the undo has work to do
            raise OSError(28, "No space left on device", str(destination))
        real_replace(source, destination)

    monkeypatch.setattr(placement.os, "replace", failing_replace)
    with pytest.raises(WriteFailed, match=r"No space left on device.*nothing was written"):
        new_project("hello-world", "proj", output_dir=tmp_path, options={"handler": "app.main"}, force=True)
    assert len(calls) > 12  # the undo moved files back
    assert snapshot(project) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["proj"]


# --- --force over an earlier generation: its stale files --------------------------------------------------------


def test_force_removes_the_earlier_generations_unchanged_files_and_keeps_changed_ones(tmp_path):
    project = new_project("hello-world", "proj", output_dir=tmp_path)
    (project / "tests" / "test_lambda_function.py").write_text("# my own test\n")
    (project / "src" / "helpers.py").write_text("X = 1\n")
    generation = generate_project(
        "hello-world", "proj", output_dir=tmp_path, options={"handler": "app.main"}, force=True
    )
    assert generation.path == project
    assert generation.removed == ("src/lambda_function.py",)
    assert generation.kept == ("tests/test_lambda_function.py",)
    assert not (project / "src" / "lambda_function.py").exists()
    assert (project / "tests" / "test_lambda_function.py").read_text() == "# my own test\n"
    assert (project / "src" / "helpers.py").read_text() == "X = 1\n"
    assert (project / "src" / "app.py").is_file()
    record = json.loads((project / ".slsgen.json").read_text())
    assert "src/lambda_function.py" not in record["files"]


def test_another_blueprint_over_an_earlier_generation_leaves_none_of_its_files(tmp_path):
    project = new_project("hello-world", "proj", output_dir=tmp_path)
    generation = generate_project("image-resize", "proj", output_dir=tmp_path, force=True)
    assert generation.kept == ()
    assert "events/hello.json" in generation.removed
    record = json.loads((project / ".slsgen.json").read_text())
    assert files(project) == set(record["files"]) | {".slsgen.json", ".slsgen/base.json.gz"}


def blueprint_with_docs(tmp_path: Path) -> Path:
    """hello-world plus docs/guide.md: a file (and folder) hello-world itself does not make."""
    extended = tmp_path / "with-docs"
    (extended / "docs").mkdir(parents=True)
    (extended / "blueprint.yaml").write_text(
        "name: with-docs\ntitle: t\ndescription: d\nversion: 1.0.0\nextends: hello-world\n"
    )
    (extended / "docs" / "guide.md").write_text("# Guide\n")
    return extended


def test_a_stale_file_in_a_folder_of_its_own_takes_the_folder_with_it(tmp_path):
    project = new_project(str(blueprint_with_docs(tmp_path)), "proj", output_dir=tmp_path / "out")
    assert (project / "docs" / "guide.md").is_file()
    generation = generate_project("hello-world", "proj", output_dir=tmp_path / "out", force=True)
    assert generation.removed == ("docs/guide.md",)
    assert not (project / "docs").exists()


def test_a_record_never_reaches_outside_the_project(tmp_path):
    project = new_project("hello-world", "proj", output_dir=tmp_path)
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    record = json.loads((project / ".slsgen.json").read_text())
    record["files"]["../outside.txt"] = hashlib.sha256(b"precious").hexdigest()
    record["files"][str(outside)] = hashlib.sha256(b"precious").hexdigest()
    (project / ".slsgen.json").write_text(json.dumps(record))
    generation = generate_project("hello-world", "proj", output_dir=tmp_path, force=True)
    assert outside.read_text() == "precious"
    assert generation.removed == generation.kept == ()


def test_an_undo_that_cannot_put_a_file_back_says_where_the_original_is(tmp_path, monkeypatch):
    project = new_project("hello-world", "proj", output_dir=tmp_path)
    (project / "Makefile").write_text("edited")
    from generator import placement

    real_replace = os.replace
    calls = []

    def failing_replace(source, destination):
        calls.append(source)
        placing_later_file = Path(destination) == project / "template.yaml" and "replaced" not in str(source)
        if placing_later_file or (Path(destination) == project / "Makefile" and "replaced" in str(source)):
            raise OSError(5, "Input/output error", str(destination))
        real_replace(source, destination)

    monkeypatch.setattr(placement.os, "replace", failing_replace)
    with pytest.raises(WriteFailed, match=r"putting back Makefile failed too: the originals are in \S+$") as raised:
        new_project("hello-world", "proj", output_dir=tmp_path, force=True)
    backup = Path(str(raised.value).rsplit(" ", 1)[-1])
    assert (backup / "Makefile").read_text() == "edited"


def test_a_stale_file_reached_through_a_link_is_kept(tmp_path):
    project = new_project(str(blueprint_with_docs(tmp_path)), "proj", output_dir=tmp_path / "out")
    elsewhere = tmp_path / "elsewhere"
    (project / "docs").rename(elsewhere)
    (project / "docs").symlink_to(elsewhere)
    generation = generate_project("hello-world", "proj", output_dir=tmp_path / "out", force=True)
    assert generation.removed == ()
    assert generation.kept == ("docs/guide.md",)
    assert (elsewhere / "guide.md").is_file()


def test_a_link_where_the_blueprint_makes_a_folder_is_a_conflict(tmp_path):
    project = new_project("hello-world", "proj", output_dir=tmp_path)
    (project / "src").rename(tmp_path / "elsewhere")
    (project / "src").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(TargetConflict, match="src is a symbolic link where the blueprint makes a folder"):
        new_project("hello-world", "proj", output_dir=tmp_path, force=True)
