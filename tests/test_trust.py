"""The trust boundary: untrusted blueprints run no code, no blueprint writes outside its project, Jinja is sandboxed."""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path

import pytest

from generator import new_project
from generator.errors import RenderError, UnsafePath, Untrusted
from generator.trust import is_trusted, name_problem

from helpers import slsgen

HEADER = "name: team\ntitle: Team\ndescription: a team blueprint\nversion: 1.0.0\nextends: hello-world\n"
CHECK = "import pathlib\npathlib.Path('CHECK_RAN').write_text('yes')\n"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("SLSGEN_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("SLSGEN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SLSGEN_BLUEPRINTS", raising=False)


def blueprint(folder: Path, body: str = "", files: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "blueprint.yaml").write_text(HEADER + textwrap.dedent(body), encoding="utf-8")
    for name, text in (files or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def checked(folder: Path) -> Path:
    return blueprint(folder, "checks:\n  - {run: scripts/check.py}\n", {"scripts/check.py": CHECK})


def test_an_untrusted_blueprint_with_checks_is_refused_before_anything_is_written(tmp_path):
    folder = checked(tmp_path / "team")
    out = tmp_path / "out"
    result = slsgen("new", str(folder), "svc", "--no-input", "-o", str(out), cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        f"error: blueprint team from {folder} is not trusted and would run code at generation: check script "
        "scripts/check.py. Nothing was written; read that code, then pass --trust, or add the source under "
        "`trusted` in "
    )
    assert not out.exists()


def test_trust_by_flag_or_by_the_config_file_runs_the_check(tmp_path):
    folder = checked(tmp_path / "team")
    slsgen("new", str(folder), "one", "--no-input", "--trust", "-o", str(tmp_path / "out"), cwd=tmp_path)
    (tmp_path / "config.toml").write_text(f'trusted = ["{tmp_path}"]\n')  # a folder above it trusts it too
    project = new_project(str(folder), "two", output_dir=tmp_path / "out")
    assert project.name == "two"


def test_an_untrusted_blueprint_without_code_generates(tmp_path):
    folder = blueprint(tmp_path / "team", files={"NOTES.md": "plain {{ cookiecutter.project_name }}\n"})
    project = new_project(str(folder), "svc", output_dir=tmp_path / "out")
    assert (project / "NOTES.md").read_text() == "plain svc\n"


def test_a_child_of_an_untrusted_blueprint_with_checks_is_untrusted_too(tmp_path):
    parent = checked(tmp_path / "parent")
    child = blueprint(tmp_path / "trusted" / "child")
    text = (child / "blueprint.yaml").read_text().replace("extends: hello-world", f"extends: {parent}")
    (child / "blueprint.yaml").write_text(text.replace("name: team", "name: child"))
    (tmp_path / "config.toml").write_text(f'trusted = ["{tmp_path / "trusted"}"]\n')
    with pytest.raises(Untrusted, match=f"from {parent} is not trusted"):
        new_project(str(child), "svc", output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_trusted_sources_match_urls_without_their_decorations():
    assert is_trusted("builtin:hello-world", [])
    assert is_trusted("git+https://github.com/acme/bp.git", ["https://github.com/acme/bp"])
    assert not is_trusted("git+https://github.com/acme/bp-evil.git", ["https://github.com/acme/bp"])
    assert not is_trusted("git+https://github.com/acme/bp", [])


def hooked_template(folder: Path) -> Path:
    project = folder / "{{cookiecutter.project_name}}"
    project.mkdir(parents=True)
    (folder / "cookiecutter.json").write_text(json.dumps({"project_name": "app"}))
    (project / "README.md").write_text("# {{ cookiecutter.project_name }}\n")
    (folder / "hooks").mkdir()
    (folder / "hooks" / "post_gen_project.py").write_text("import pathlib\npathlib.Path('HOOK_RAN').write_text('1')\n")
    return folder


def test_cookiecutter_hooks_are_refused_untrusted_and_run_trusted(tmp_path):
    template = hooked_template(tmp_path / "tpl")
    out = tmp_path / "out"
    result = slsgen("new", str(template), "svc", "--no-input", "-o", str(out), cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert "would run code at generation: hook hooks/post_gen_project.py. Nothing was written" in result.stderr
    assert not out.exists()
    slsgen("new", str(template), "svc", "--no-input", "--trust", "-o", str(out), cwd=tmp_path)
    assert (out / "svc" / "HOOK_RAN").read_text() == "1"


def test_cookiecutter_jinja_extensions_need_trust(tmp_path):
    template = hooked_template(tmp_path / "tpl")
    (template / "hooks" / "post_gen_project.py").unlink()
    (template / "cookiecutter.json").write_text(json.dumps({"project_name": "app", "_extensions": ["local.Ext"]}))
    result = slsgen("new", str(template), "--no-input", "-o", str(tmp_path / "out"), cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert "would run code at generation: Jinja extension local.Ext." in result.stderr


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("../../escaped", "leaves the project folder"),
        ("/tmp/escaped", "is (or holds) an absolute path"),
        ("aux", "a name Windows reserves"),
        ("a:b", "the character ':'"),
        ("trailing.", "ends a name with a dot or a space"),
    ],
)
def test_templated_paths_that_leave_the_project_or_break_a_file_system_are_refused(tmp_path, value, problem):
    folder = blueprint(
        tmp_path / "team",
        "questions:\n  - {name: target, type: str, default: docs}\n",
        {"{{ cookiecutter.target }}/NOTES.md": "notes\n"},
    )
    out = tmp_path / "sub" / "out"
    with pytest.raises(UnsafePath, match=f"blueprint team: the path .* {re.escape(problem)}.*; refused, nothing was"):
        new_project(str(folder), "svc", output_dir=out, options={"target": value})
    assert not (tmp_path / "sub").exists()
    assert not (tmp_path / "escaped").exists()
    assert not Path("/tmp/escaped").exists()


def test_a_repeat_target_cannot_leave_the_project(tmp_path):
    folder = blueprint(
        tmp_path / "team",
        """
        questions:
          - {name: locales, type: list, default: en-US}
        repeat:
          - {source: model.json, for_each: locales, as: locale, target: "models/{{ locale }}.json"}
        """,
        {"model.json": "{}\n"},
    )
    with pytest.raises(UnsafePath, match=r"the path 'models/\.\./\.\./\.\./x\.json' leaves the project folder"):
        new_project(str(folder), "svc", output_dir=tmp_path / "out", options={"locales": "../../../x"})
    assert not (tmp_path / "x.json").exists()


def test_a_link_in_a_blueprint_pointing_outside_it_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not copy")
    folder = blueprint(tmp_path / "team")
    os.symlink(secret, folder / "leak.txt")
    with pytest.raises(UnsafePath, match=r"leak\.txt is a link to .*secret\.txt, outside the blueprint"):
        new_project(str(folder), "svc", output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "name", ["CON", "com1.txt", "a*b", 'a"b', "a|b", "a?b", "a<b", "name ", "tab\tname", "ok/../up"]
)
def test_names_invalid_on_common_file_systems(name):
    assert name_problem(name) is not None
    assert name_problem("src/app.py") is None


def test_blueprint_templates_render_in_a_sandbox(tmp_path):
    folder = blueprint(tmp_path / "team", files={"PWN.md": "{{ cookiecutter.__class__.__init__.__globals__ }}\n"})
    with pytest.raises(RenderError, match="unsafe"):
        new_project(str(folder), "svc", output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cookiecutter_templates_render_in_a_sandbox(tmp_path):
    template = hooked_template(tmp_path / "tpl")
    (template / "hooks" / "post_gen_project.py").unlink()
    (template / "{{cookiecutter.project_name}}" / "x.txt").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    result = slsgen(
        "new", str(template), "--no-input", "--trust", "-o", str(tmp_path / "out"), cwd=tmp_path, check=False
    )
    assert result.returncode == 2
    assert "unsafe" in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


EXTENSION = """
from jinja2.ext import Extension


class Shout(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["shout"] = lambda text: text.upper() + "!"
"""


def test_a_trusted_cookiecutter_template_loads_its_local_extension(tmp_path):
    template = hooked_template(tmp_path / "tpl")
    (template / "hooks" / "post_gen_project.py").unlink()
    (template / "local_extensions.py").write_text(EXTENSION)
    (template / "cookiecutter.json").write_text(
        json.dumps({"project_name": "app", "_extensions": ["local_extensions.Shout"]})
    )
    (template / "{{cookiecutter.project_name}}" / "README.md").write_text("{{ cookiecutter.project_name | shout }}\n")
    slsgen("new", str(template), "svc", "--no-input", "--trust", "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert (tmp_path / "out" / "svc" / "README.md").read_text() == "SVC!\n"
