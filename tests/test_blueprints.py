"""Blueprint manifests: loading, strict checking, and extension by a team's own blueprint."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import list_blueprints, load_blueprint, new_project
from generator.errors import BlueprintInvalid, BlueprintNotFound, InvalidProjectName

HEAD = "name: x\ntitle: t\ndescription: d\nversion: 1.0.0\n"


def write_manifest(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "blueprint.yaml").write_text(text, encoding="utf-8")
    return folder


def test_builtin_blueprints_load():
    names = [blueprint.name for blueprint in list_blueprints()]
    assert "hello-world" in names
    hello = load_blueprint("hello-world")
    assert hello.function_id == "HelloWorldFunction"
    assert hello.question("memory").default == 128
    assert hello.question("timeout").default == 10
    assert hello.question("runtime").default == "python3.13"
    assert hello.question("architecture").default == "arm64"
    assert hello.question("trigger").choices == ("http-api", "function-url", "none")
    assert [layer.name for layer in hello.layers] == ["skeleton", "hello-world"]


def test_unknown_blueprint_suggests_the_closest_name():
    with pytest.raises(BlueprintNotFound, match="did you mean 'hello-world'"):
        load_blueprint("helo-world")


def test_a_folder_without_manifest_is_not_a_blueprint(tmp_path):
    with pytest.raises(BlueprintNotFound, match=r"has no blueprint\.yaml"):
        load_blueprint(str(tmp_path))


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("name: x\n", "'title' is required"),
        ("name: Bad_Name\ntitle: t\ndescription: d\nversion: 1.0.0\n", "lowercase"),
        ("name: x\ntitle: t\ndescription: d\nversion: one\n", "must look like 1.2.3"),
        (HEAD + "questoins: []\n", "unknown key 'questoins': did you mean 'questions'"),
        ("name: x\ntitle: t\ndescription: d\nversion: 1.0.0\nruntime: {memory: 64}\n", "memory must be between"),
        ("name: x\ntitle: t\ndescription: d\nversion: 1.0.0\nruntime: {memroy: 256}\n", "unknown runtime keys"),
        (
            "name: x\ntitle: t\ndescription: d\nversion: 1.0.0\nquestions: [{name: memory, default: 1}]\n",
            "reserved by slsgen",
        ),
        (
            "name: x\ntitle: t\ndescription: d\nversion: 1.0.0\nquestions: [{name: template, default: a}]\n",
            "reserved by slsgen",
        ),
        (HEAD + "events: [{file: e.json}]\n", "an event needs either source and kind"),
        (HEAD + "events: [{source: s3, kind: put}]\n", "'file' is required"),
        (HEAD + "repeat: [{source: a}]\n", r"repeat\[0\] \{source: a\}: 'for_each' is required"),
        (": : :\n", "not valid YAML"),
    ],
)
def test_malformed_manifests_are_refused(tmp_path, manifest, message):
    folder = write_manifest(tmp_path / "bp", manifest)
    with pytest.raises(BlueprintInvalid, match=message):
        load_blueprint(str(folder))


def test_a_blueprint_cannot_extend_itself(tmp_path):
    folder = tmp_path / "loop"
    write_manifest(folder, f"name: loop\ntitle: t\ndescription: d\nversion: 1.0.0\nextends: {folder}\n")
    with pytest.raises(BlueprintInvalid, match="extends itself"):
        load_blueprint(str(folder))


TEAM_MANIFEST = """
name: team-api
title: Team API
description: hello-world with the platform team's defaults and runbook.
version: 2.1.0
extends: hello-world
runtime: {memory: 512, architecture: x86_64}
dev_dependencies: ["pytest-cov>=5"]
questions:
  - {name: greeting, default: Howdy, pattern: "[A-Z][a-z]+"}
  - {name: owner, default: platform-team, help: Team that owns the service}
"""


@pytest.fixture
def team_blueprint(tmp_path: Path) -> Path:
    folder = write_manifest(tmp_path / "team-api", TEAM_MANIFEST)
    (folder / "docs").mkdir()
    (folder / "docs" / "RUNBOOK.md").write_text("# {{ cookiecutter.project_name }}\nOwner: {{ cookiecutter.owner }}\n")
    (folder / "README.md").write_text(
        '{% extends "hello-world/README.md" %}\n{% block intro %}{{ super() }}\n\nOwned by {{ cookiecutter.owner }}.'
        "{% endblock %}\n"
    )
    return folder


def test_a_team_blueprint_extends_a_builtin_one(team_blueprint, tmp_path):
    blueprint = load_blueprint(str(team_blueprint))
    assert blueprint.question("memory").default == 512
    assert blueprint.question("architecture").default == "x86_64"
    assert blueprint.question("timeout").default == 10  # inherited from hello-world
    assert blueprint.question("greeting").default == "Howdy"
    assert blueprint.question("trigger").default == "http-api"
    names = [question.name for question in blueprint.questions]
    assert names == ["trigger", "url_auth", "greeting", "powertools", "owner"]
    assert [layer.name for layer in blueprint.layers] == ["skeleton", "hello-world", "team-api"]

    project = new_project(str(team_blueprint), "svc", output_dir=tmp_path / "out", options={"owner": "payments"})
    readme = (project / "README.md").read_text()
    assert "GET /hello?name=Ada" in readme  # hello-world's intro, kept through super()
    assert "Owned by payments." in readme
    assert (project / "docs" / "RUNBOOK.md").read_text() == "# svc\nOwner: payments\n"
    template = (project / "template.yaml").read_text()
    assert "MemorySize: 512" in template
    assert "- x86_64" in template
    assert 'GREETING: "Howdy"' in template
    assert '"pytest-cov>=5"' in (project / "pyproject.toml").read_text()


def test_a_blueprint_can_lower_the_project_name_limit(tmp_path):
    with pytest.raises(InvalidProjectName, match="has 43 characters; this blueprint allows at most 42"):
        new_project("image-resize", "a" * 43, output_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_repeat_renders_a_file_per_item_of_a_list_answer(tmp_path):
    """What a multi-locale blueprint needs: one interaction model per locale, from one template."""
    folder = write_manifest(
        tmp_path / "skill",
        """
name: skill
title: Skill
description: one model per locale
version: 0.1.0
extends: hello-world
questions:
  - {name: locales, type: list, default: [en-US, de-DE], pattern: "[a-z]{2}-[A-Z]{2}"}
repeat:
  - {source: models/model.json, for_each: locales, as: locale, target: "models/{{ locale }}.json"}
""",
    )
    (folder / "models").mkdir()
    model = '{"locale": "{{ locale }}", "name": "{{ cookiecutter.project_name }}"}\n'
    (folder / "models" / "model.json").write_text(model)
    project = new_project(str(folder), "talk", output_dir=tmp_path / "out", options={"locales": "en-GB,fr-FR,ja-JP"})
    models = sorted(path.name for path in (project / "models").iterdir())
    assert models == ["en-GB.json", "fr-FR.json", "ja-JP.json"]
    assert (project / "models" / "fr-FR.json").read_text() == '{"locale": "fr-FR", "name": "talk"}\n'
