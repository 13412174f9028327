"""The typed manifest: question rules, cross-answer constraints, generation-time checks, and malformed entries
refused when the blueprint loads (one line naming the file and the entry), never at render time."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from generator import load_blueprint, new_project
from generator.errors import BlueprintInvalid, InvalidOption, RenderError

from helpers import slsgen

HEADER = "name: team\ntitle: Team\ndescription: d\nversion: 1.0.0\nextends: hello-world\n"


def blueprint(folder: Path, body: str, files: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "blueprint.yaml").write_text(HEADER + textwrap.dedent(body), encoding="utf-8")
    for name, text in (files or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


RULES = """
questions:
  - name: invocation_name
    type: str
    default: hello helper
    rules:
      - match: "[a-z .']+"
        message: "use lowercase letters, spaces, apostrophes and periods only; spell numbers out"
      - reject: "\\\\b(alexa|amazon|echo|computer|skill|app)\\\\b"
        message: "must not contain the wake word or reserved word '{found}'"
"""


def test_a_rule_refuses_an_answer_with_the_blueprints_message(tmp_path):
    folder = blueprint(tmp_path / "team", RULES)
    out = tmp_path / "out"
    with pytest.raises(InvalidOption) as caught:
        new_project(str(folder), "svc", output_dir=out, options={"invocation_name": "open alexa now"})
    assert str(caught.value) == (
        "invocation_name 'open alexa now' is not valid: must not contain the wake word or reserved word 'alexa'"
    )
    assert not out.exists()
    project = new_project(str(folder), "svc", output_dir=out, options={"invocation_name": "space facts"})
    assert (project / "template.yaml").is_file()


def test_rules_belong_to_their_question_through_extends(tmp_path):
    parent = blueprint(tmp_path / "team", RULES)
    child = tmp_path / "child"
    child.mkdir()
    (child / "blueprint.yaml").write_text(f"name: child\ntitle: C\ndescription: d\nversion: 1.0.0\nextends: {parent}\n")
    with pytest.raises(InvalidOption, match="spell numbers out"):
        new_project(str(child), "svc", output_dir=tmp_path / "out", options={"invocation_name": "Hi"})


CONSTRAINTS = """
questions:
  - {name: queue, type: choice, choices: [standard, fifo], default: standard}
  - {name: batch_size, type: int, default: 10, min: 1, max: 10000}
constraints:
  - require: "queue != 'fifo' or batch_size <= 10"
    message: "batch_size {{ batch_size }} is too large for a FIFO queue: use at most 10"
"""


def test_a_constraint_refuses_a_combination_of_answers(tmp_path):
    folder = blueprint(tmp_path / "team", CONSTRAINTS)
    out = tmp_path / "out"
    new_project(str(folder), "ok", output_dir=out, options={"queue": "standard", "batch_size": 500})
    with pytest.raises(InvalidOption) as caught:
        new_project(str(folder), "svc", output_dir=out, options={"queue": "fifo", "batch_size": 500})
    assert str(caught.value) == "batch_size 500 is too large for a FIFO queue: use at most 10"
    assert sorted(path.name for path in out.iterdir()) == ["ok"]


def test_constraints_add_up_through_extends_and_the_cli_prints_one_line(tmp_path):
    parent = blueprint(tmp_path / "team", CONSTRAINTS)
    child = tmp_path / "child"
    child.mkdir()
    (child / "blueprint.yaml").write_text(
        f"name: child\ntitle: C\ndescription: d\nversion: 1.0.0\nextends: {parent}\n"
        'constraints:\n  - {require: "batch_size != 7", message: "7 is unlucky"}\n'
    )
    assert len(load_blueprint(str(child)).constraints) == 2
    result = slsgen("new", str(child), "svc", "--no-input", "--set", "batch_size=7", cwd=tmp_path, check=False)
    assert (result.returncode, result.stderr) == (2, "error: 7 is unlucky\n")
    result = slsgen(
        "new",
        str(child),
        "svc",
        "--no-input",
        *("--set", "queue=fifo", "--set", "batch_size=11"),
        cwd=tmp_path,
        check=False,
    )
    assert result.stderr == "error: batch_size 11 is too large for a FIFO queue: use at most 10\n"
    assert not (tmp_path / "svc").exists()


def test_the_log_level_rule_is_a_settings_constraint(tmp_path):
    with pytest.raises(InvalidOption, match="log_level DEBUG needs the JSON log format"):
        new_project("hello-world", "svc", output_dir=tmp_path, options={"log_format": "text", "log_level": "DEBUG"})
    assert list(tmp_path.iterdir()) == []


CHECK_SCRIPT = """
import json, pathlib, sys
model = json.loads(pathlib.Path("model.json").read_text())
if model["intents"] < 1:
    print("reading model.json")
    sys.exit("model.json has no intents: add one")
"""


def checked_blueprint(folder: Path) -> Path:
    return blueprint(
        folder,
        """
        questions:
          - {name: intents, type: int, default: 1, min: 0, max: 9}
        checks:
          - {run: scripts/check_model.py, help: the model has intents}
        """,
        {"scripts/check_model.py": CHECK_SCRIPT, "model.json": '{"intents": {{ cookiecutter.intents }}}\n'},
    )


def test_a_check_runs_in_the_rendered_project_and_its_failure_writes_nothing(tmp_path):
    folder = checked_blueprint(tmp_path / "team")
    out = tmp_path / "out"
    project = new_project(str(folder), "good", output_dir=out, trust=True)
    assert (project / "scripts" / "check_model.py").is_file()
    assert not list(project.rglob("__pycache__"))
    args = ("new", str(folder), "bad", "--no-input", "-o", str(out), "--set", "intents=0", "--trust")
    result = slsgen(*args, cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert result.stderr == (
        "error: blueprint team: check scripts/check_model.py failed: model.json has no intents: add one; "
        "nothing was written\n"
    )
    assert sorted(path.name for path in out.iterdir()) == ["good"]


def test_checks_add_up_through_extends(tmp_path):
    parent = checked_blueprint(tmp_path / "team")
    child = blueprint(
        tmp_path / "child",
        "checks:\n  - {run: scripts/fail.py}\n",
        {"scripts/fail.py": "print('first')\nprint('the last line')\nraise SystemExit(3)\n"},
    )
    manifest = (child / "blueprint.yaml").read_text().replace("name: team", "name: child")
    (child / "blueprint.yaml").write_text(manifest.replace("extends: hello-world", f"extends: {parent}"))
    assert [check.run for check in load_blueprint(str(child)).checks] == ["scripts/check_model.py", "scripts/fail.py"]
    with pytest.raises(RenderError, match=r"check scripts/fail\.py failed: the last line; nothing was written"):
        new_project(str(child), "svc", output_dir=tmp_path / "out", trust=True)
    with pytest.raises(RenderError, match=r"check scripts/check_model\.py failed: model\.json has no intents"):
        new_project(str(child), "svc", output_dir=tmp_path / "out", options={"intents": 0}, trust=True)
    assert not (tmp_path / "out").exists()  # the folder it created is gone too


def test_a_check_whose_script_is_excluded_fails_with_the_reason(tmp_path):
    folder = checked_blueprint(tmp_path / "team")
    text = (folder / "blueprint.yaml").read_text() + "exclude:\n  - {path: scripts/check_model.py}\n"
    (folder / "blueprint.yaml").write_text(text)
    with pytest.raises(RenderError, match=r"scripts/check_model\.py is not a file of the rendered project"):
        new_project(str(folder), "svc", output_dir=tmp_path / "out", trust=True)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("exclude: [{paht: docs/*}]", r"exclude\[0\] \{paht: docs/\*\}: unknown key 'paht': did you mean 'path'\?"),
        ("exclude: [docs/*]", r"exclude\[0\] must be a mapping with the keys path, when, not docs/\*"),
        ("exclude: {path: x}", "exclude must be a list"),
        ("exclude: [{path: 3}]", "path must be text"),
        ('exclude: [{path: x, when: "trigger =="}]', "exclude 'x' when: 'trigger ==' is not a valid Jinja"),
        ('repeat: [{source: a, for_each: b, as: c, target: "{{ c "}]', "target: .* is not a valid Jinja template"),
        ("repeat: [{source: ../a, for_each: b, as: c, target: d}]", "must be a relative path inside the project"),
        ("events: [{file: e.json, source: s3, kind: put, fields: [a]}]", "fields must be a mapping"),
        ("events: [{file: /e.json, literal: {}}]", "must be a relative path"),
        ('constraints: [{require: "a ==", message: m}]', "constraint 'm' require: 'a ==' is not a valid Jinja"),
        ("constraints: [{require: a}]", "'message' is required"),
        ("checks: [{run: check.sh}]", "must name a Python file"),
        ("checks: [{run: x.py, hlep: y}]", "did you mean 'help'"),
        ("max_name_length: forty", "max_name_length must be a whole number"),
        ("repeat: [{source: README.md, for_each: greeting, as: c, target: d}]", "for_each 'greeting' is not a list"),
        ("repeat: [{source: missing.json, for_each: trigger, as: c, target: d}]", "is not a list question"),
        ("questions: [{name: log_retention_days, default: 1}]", "'log_retention_days' is reserved by slsgen"),
        ("questions: [{name: runner, default: x}]", "'runner' is reserved by slsgen"),
        ("questions: [{name: _private, default: x}]", "'_private' is reserved by slsgen"),
        ("questions: [{name: env, default: x}]", "'env' is reserved by slsgen"),
        ('questions: [{name: a, help: "two\\nlines"}]', "'default' is required"),  # the entry named on one line
    ],
)
def test_malformed_entries_are_refused_when_the_blueprint_loads(tmp_path, body, message):
    folder = blueprint(tmp_path / "team", body + "\n")
    with pytest.raises(BlueprintInvalid, match=message) as caught:
        load_blueprint(str(folder))
    assert str(caught.value).startswith(str(folder / "blueprint.yaml"))
    assert "\n" not in str(caught.value)


def test_a_malformed_exclude_entry_is_one_line_from_the_cli(tmp_path):
    folder = blueprint(tmp_path / "team", "exclude: [{paht: docs/*}]\n")
    result = slsgen("new", str(folder), "svc", "--no-input", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert "unknown key 'paht'" in result.stderr


def test_a_repeat_source_must_be_a_file_of_the_blueprint(tmp_path):
    folder = blueprint(
        tmp_path / "team",
        """
        questions:
          - {name: locales, type: list, default: [en-US]}
        repeat:
          - {source: models/model.json, for_each: locales, as: locale, target: "models/{{ locale }}.json"}
        """,
    )
    with pytest.raises(BlueprintInvalid, match=r"repeat source 'models/model\.json' is not a file of the blueprint"):
        load_blueprint(str(folder))


def test_reserved_names_are_the_keys_the_rendering_context_derives():
    """One source: every variable build_context adds to the answers is a name no question may take."""
    from generator.options import RESERVED_NAMES
    from generator.project import resolve_answers
    from generator.render import build_context

    hello = load_blueprint("hello-world")
    answers = resolve_answers(hello)
    derived = set(build_context(hello, "svc", answers)) - set(answers)
    assert derived
    assert derived <= RESERVED_NAMES
    assert set(answers) - {question.name for question in hello.questions} <= RESERVED_NAMES
