"""A project's records are input: a `.slsgen.json`, a snapshot or a pending update edited by hand is refused in
one line naming the file, the field and the fix, before `update` acts on it (never a traceback)."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from generator import snapshot
from generator.project import generate_project

from helpers import SLSGEN, run


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return generate_project("hello-world", "svc", output_dir=tmp_path_factory.mktemp("gen")).path


@pytest.fixture
def project(generated, tmp_path):
    copy = tmp_path / "svc"
    shutil.copytree(generated, copy)
    return copy


def update(project: Path, *args: str):
    return run([*SLSGEN, "update", str(project), *args], project.parent, check=False, env={"SLSGEN_CONFIG": "/none"})


def edit_record(project: Path, change) -> None:
    path = project / ".slsgen.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps(change(record)))


def assert_one_line(result, *parts: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    for part in parts:
        assert part in result.stderr


RECORDS = [
    (lambda r: {**r, "answers": "abc"}, "answers must be a mapping with text keys, not abc"),
    (
        lambda r: {**r, "answers": {**r["answers"], "env": "x"}},
        "answers.env must be a mapping of variable names to text",
    ),
    (lambda r: {**r, "blueprint": {**r["blueprint"], "ref": 5}}, "blueprint: ref must be text (quote it), not 5"),
    (lambda r: {**r, "blueprint": {**r["blueprint"], "ref": "--upload-pack=x"}}, "must be a git ref or folder name"),
    (lambda r: {**r, "blueprint": {"source": "builtin:hello-world"}}, "blueprint: 'name' is required"),
    (lambda r: {**r, "blueprint": "hello-world"}, "blueprint must be a mapping with the keys name, source"),
    (lambda r: {**r, "project_name": 7}, "project_name must be text (quote it), not 7"),
    (lambda r: {**r, "project_name": "../up"}, "project_name: project name '../up' must be a plain name"),
    (lambda r: {**r, "files": [1]}, "files must be a mapping with text keys, not [1]"),
    (lambda r: {**r, "files": {"../x": "0" * 64}}, "files: '../x': "),
    (lambda r: {**r, "blueprint": {**r["blueprint"], "commit": "abc"}}, "commit must be a full git commit id"),
    (lambda r: {**r, "extra": 1}, "unknown key 'extra'"),
    (lambda r: [r], "must be a mapping with the keys slsgen_version"),
]


@pytest.mark.parametrize(("change", "message"), RECORDS)
def test_a_record_edited_by_hand_is_one_line_naming_the_field(project, change, message):
    edit_record(project, change)
    before = (project / ".slsgen.json").read_bytes()
    result = update(project, "--force")
    assert_one_line(result, f"{project / '.slsgen.json'}", message, "restore it from version control")
    assert (project / ".slsgen.json").read_bytes() == before


def test_a_record_that_is_not_json_or_not_utf8(project):
    (project / ".slsgen.json").write_bytes(b"\xff{")
    assert_one_line(update(project, "--dry-run"), "is not readable JSON")


SNAPSHOTS = [
    ({"format": 1}, "files must be a mapping of paths to entries, not None"),
    ({"format": 1, "files": []}, "files must be a mapping of paths to entries, not []"),
    ({"format": 2, "files": {}}, "format must be 1, not 2"),
    ({"files": {}}, "format must be 1, not None"),
    ({"format": 1, "files": {"a": 5}}, "files['a'] must be a mapping of text or base64"),
    ({"format": 1, "files": {"a": {"text": 5}}}, "files['a'] needs exactly one of text"),
    ({"format": 1, "files": {"a": {"base64": "!!"}}}, "files['a'].base64 is not valid base64"),
    ({"format": 1, "files": {"a": {"text": "x", "executable": "yes"}}}, "files['a'].executable must be true or false"),
    ({"format": 1, "files": {"../a": {"text": "x"}}}, "files: '../a' is not a path inside the project"),
    ([1], "format must be 1, not [1]"),
]


@pytest.mark.parametrize(("document", "message"), SNAPSHOTS)
def test_a_snapshot_edited_by_hand_is_one_line_naming_the_field(project, document, message):
    (project / snapshot.SNAPSHOT).write_bytes(gzip.compress(json.dumps(document).encode()))
    result = update(project, "--force")
    assert_one_line(result, str(project / snapshot.SNAPSHOT), message, "restore it from version control")


def test_a_damaged_pending_update_is_one_line(project):
    pending = project / ".slsgen" / "pending"
    pending.mkdir()
    (pending / "state.json").write_text(json.dumps({"conflicts": "README.md"}))
    assert_one_line(update(project, "--continue"), "state.json: conflicts must be a list")
    (pending / "state.json").write_text(json.dumps({"conflicts": ["../../etc/passwd"]}))
    assert_one_line(update(project, "--continue"), "'../../etc/passwd' is not a path inside the project")
    (pending / "state.json").write_text(json.dumps({"conflicts": []}))
    assert_one_line(update(project, "--continue"), "is incomplete")
    record = json.loads((project / ".slsgen.json").read_text())
    (pending / "record.json").write_text(json.dumps({**record, "blueprint": {"source": "x"}}))
    (pending / "base.json.gz").write_bytes((project / snapshot.SNAPSHOT).read_bytes())
    assert_one_line(update(project, "--continue"), "record.json: blueprint: 'name' is required", f"remove {pending}")
