"""`slsgen blueprint init` and `slsgen blueprint lint`: a team starts a blueprint, and lint proves one.

Lint renders every value of every choice/bool question, so each test below breaks a blueprint in one place and
checks that the problem is reported on one line naming the combination, with exit code 1.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.authoring import FULL_MATRIX, combinations, init_blueprint, lint_blueprint
from generator.blueprints import builtin_names, load_blueprint
from generator.cli import main
from generator.errors import Untrusted

from helpers import generate


def run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.argv", ["slsgen", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


@pytest.fixture
def team(tmp_path) -> Path:
    return init_blueprint("team-api", "hello-world", tmp_path)


def test_init_writes_a_commented_extends_stub_that_generates_and_lints(tmp_path, monkeypatch, capsys):
    code, out, _ = run_cli(monkeypatch, capsys, "blueprint", "init", "team-api", "-o", str(tmp_path))
    assert code == 0, out
    folder = tmp_path / "team-api"
    assert sorted(path.name for path in folder.iterdir()) == ["BLUEPRINT.md", "README.md", "blueprint.yaml"]
    manifest = (folder / "blueprint.yaml").read_text()
    assert manifest.startswith("# yaml-language-server: $schema=")
    assert "extends: hello-world" in manifest
    blueprint = load_blueprint(str(folder))
    assert blueprint.question("team").default == "platform"
    assert blueprint.questions[-1].name == "team"

    project = generate(tmp_path, str(folder), "svc", "--set", "team=payments")
    readme = (project / "README.md").read_text()
    assert "Owned by the payments team; generated from the `team-api` blueprint." in readme
    assert "GET /hello?name=Ada" in readme  # the built-in's README, extended rather than replaced
    assert not (project / "BLUEPRINT.md").exists()  # notes for authors stay out of projects

    code, out, err = run_cli(monkeypatch, capsys, "blueprint", "lint", str(folder))
    assert code == 0, out + err
    assert out == "blueprint team-api: ok (5 projects rendered: each choice/bool value at least once (sampled))\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Team_API"], "blueprint name 'Team_API' must be lowercase letters"),
        (["team-api", "--from", "nope"], "--from 'nope' is not a built-in blueprint; choose one of"),
    ],
)
def test_init_refuses_bad_input_and_writes_nothing(args, message, tmp_path, monkeypatch, capsys):
    code, _, err = run_cli(monkeypatch, capsys, "blueprint", "init", *args, "-o", str(tmp_path))
    assert code == 2
    assert err.startswith(f"error: {message}")
    assert err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_init_refuses_a_folder_that_holds_files(team, monkeypatch, capsys):
    before = (team / "blueprint.yaml").read_text()
    code, _, err = run_cli(monkeypatch, capsys, "blueprint", "init", "team-api", "-o", str(team.parent))
    assert code == 2
    assert "exists and is not empty" in err
    assert (team / "blueprint.yaml").read_text() == before


def test_lint_lists_every_schema_problem_and_the_valid_keys(team, monkeypatch, capsys):
    manifest = team / "blueprint.yaml"
    text = manifest.read_text().replace("version: 0.1.0", "version: one\nowner: me\ncolour: red")
    manifest.write_text(text.replace("default: platform", "# no default"))
    code, out, _ = run_cli(monkeypatch, capsys, "blueprint", "lint", str(team))
    assert code == 1
    lines = out.splitlines()
    unknown = next(line for line in lines if "unknown keys" in line)
    assert unknown.startswith(f"{manifest}: (top level): unknown keys 'colour', 'owner'; valid keys: checks, ")
    assert "extends" in unknown
    assert any(line.startswith(f"{manifest}: version: 'one' does not match") for line in lines)
    assert f"{manifest}: questions/0: 'default' is a required property" in lines
    assert lines[-1].startswith("blueprint team-api: ")


def test_lint_renders_every_choice_and_names_the_one_that_fails(team):
    (team / "src").mkdir()
    (team / "src" / "owner.txt").write_text(
        "{% if cookiecutter.trigger == 'none' %}{{ cookiecutter.nope }}{% endif %}\n"
    )
    result = lint_blueprint(team)
    assert len(result.problems) == 1
    assert result.problems[0].startswith("[trigger=none, powertools=False] rendering the blueprint failed: ")
    assert "nope" in result.problems[0]


def test_lint_runs_ruff_and_cfn_lint_on_each_rendered_project(team):
    (team / "src").mkdir()
    (team / "src" / "extra.py").write_text('"""An extra module."""\n\nimport os\n')
    (team / "template.yaml").write_text(
        '{% extends "hello-world/template.yaml" %}\n{% block outputs %}{{ super() }}\n'
        "  Broken:\n    Value: !GetAtt NoSuchResource.Arn\n{% endblock %}\n"
    )
    problems = lint_blueprint(team).problems
    ruff = [line for line in problems if "ruff check" in line]
    assert len(ruff) == 5  # once per rendered combination
    assert any(line.startswith("[trigger=none, powertools=False] ruff check: src/extra.py:3:8: F401") for line in ruff)
    cfn = [line for line in problems if "cfn-lint" in line]
    assert any(
        line.startswith("[trigger=http-api, powertools=False] cfn-lint: template.yaml:") and "NoSuchResource" in line
        for line in cfn
    )


def test_lint_full_runs_each_projects_make_targets(team):
    (team / "Makefile").write_text(
        "install:\n\t@true\ntest:\n\t@true\nvalidate:\n\t@echo template refused >&2; exit 3\n"
    )
    manifest = team / "blueprint.yaml"
    manifest.write_text(manifest.read_text() + "exclude: [{path: events/*, when: \"trigger != 'none'\"}]\n")
    with pytest.raises(Untrusted, match="would run code at generation: make install test validate"):
        lint_blueprint(team, full=True)  # a folder blueprint's Makefile is its author's code
    problems = lint_blueprint(team, full=True, trust=True).problems
    assert "[trigger=none, powertools=False] make install test validate failed: template refused" in problems
    assert len([line for line in problems if "make install" in line]) == 5


def test_a_large_matrix_is_sampled_so_every_value_renders_once(team):
    manifest = team / "blueprint.yaml"
    flags = "".join(f"  - {{name: flag{index}, type: bool, default: false}}\n" for index in range(3))
    manifest.write_text(manifest.read_text() + flags)
    blueprint = load_blueprint(str(team))
    answer_sets, sampled = combinations(blueprint)
    assert FULL_MATRIX < 3 * 2 * 2 * 2 * 2
    assert sampled
    # the defaults, then trigger's other two values, url_auth's other where it applies (with function-url), and
    # each flag (hello-world's powertools among them) turned on
    off = {"powertools": False, "flag0": False, "flag1": False, "flag2": False}
    assert answer_sets[0] == {"trigger": "http-api", **off}
    assert {"trigger": "http-api", **off, "powertools": True} in answer_sets
    assert {
        "trigger": "function-url",
        "url_auth": "AWS_IAM",
        "powertools": False,
        "flag0": False,
        "flag1": False,
        "flag2": False,
    } in answer_sets
    assert {"trigger": "http-api", **off, "flag1": True} in answer_sets
    assert {
        "trigger": "function-url",
        "url_auth": "NONE",
        "powertools": False,
        "flag0": False,
        "flag1": False,
        "flag2": False,
    } in answer_sets
    assert len(answer_sets) == 8
    for name in ("trigger", "powertools", "flag0", "flag1", "flag2"):
        values = {answers[name] for answers in answer_sets}
        assert values == ({"http-api", "function-url", "none"} if name == "trigger" else {False, True})


@pytest.mark.e2e
@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_blueprint_passes_lint(name, monkeypatch, capsys):
    code, out, _ = run_cli(monkeypatch, capsys, "blueprint", "lint", name)
    assert code == 0, out
    assert out.startswith(f"blueprint {name}: ok (")


def test_plain_blueprint_prints_its_help(monkeypatch, capsys):
    code, out, err = run_cli(monkeypatch, capsys, "blueprint")
    assert (code, err) == (0, "")
    assert out.startswith("Usage: slsgen blueprint [OPTIONS] COMMAND [ARGS]...")
    assert "init " in out
    assert "lint " in out
