"""A blueprint's files that cookiecutter cannot render are one line, exit 2, nothing written: a text file that is
not UTF-8, a layer whose name another layer has (a blueprint named like the one it extends, or `skeleton`), and a
template that never ends (a file extending itself, a macro calling itself). Binary files are copied as they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import SLSGEN, run

MANIFEST = "name: {name}\ntitle: T\ndescription: d\nversion: 1.0.0\nextends: {extends}\n"


def blueprint(
    folder: Path, name: str, extends: str = "hello-world", files: dict[str, bytes | str] | None = None
) -> Path:
    folder.mkdir(parents=True)
    (folder / "blueprint.yaml").write_text(MANIFEST.format(name=name, extends=extends))
    for relative, content in (files or {}).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    return folder


def new(tmp_path: Path, folder: Path):
    return run(
        [*SLSGEN, "new", str(folder), "svc", "--no-input", "--no-git", "-o", str(tmp_path / "out")],
        tmp_path,
        check=False,
        env={"SLSGEN_CONFIG": str(tmp_path / "none.toml")},
    )


def refused(result, message: str) -> None:
    assert result.returncode == 2, result.stdout
    assert result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr


def test_a_non_utf8_text_file_is_one_line_naming_it_and_a_binary_file_is_copied(tmp_path):
    binary = b"\x00\x9f\x92\x96 not text \xff"
    folder = blueprint(
        tmp_path / "team", "team", files={"NOTES.md": "caf\xe9\n".encode("latin-1"), "data/blob.bin": binary}
    )
    result = new(tmp_path, folder)
    refused(
        result, f"blueprint team: {folder / 'NOTES.md'} is not UTF-8 text (byte 0xe9 at offset 3): save it as UTF-8"
    )
    assert not (tmp_path / "out").exists()
    (folder / "NOTES.md").unlink()
    assert new(tmp_path, folder).returncode == 0
    assert (tmp_path / "out" / "svc" / "data" / "blob.bin").read_bytes() == binary


@pytest.mark.parametrize(
    ("name", "whose"), [("hello-world", "the blueprint it extends"), ("skeleton", "slsgen's skeleton")]
)
def test_a_blueprint_named_like_a_layer_it_extends_is_refused(tmp_path, name, whose):
    folder = blueprint(tmp_path / name, name, files={"README.md": f'{{% extends "{name}/README.md" %}}\n'})
    refused(new(tmp_path, folder), f"name {name!r} is also the name of {whose}")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "content",
    ['{% extends "team/README.md" %}\n', "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}\n"],
)
def test_a_template_that_never_ends_is_one_line(tmp_path, content):
    folder = blueprint(tmp_path / "team", "team", files={"README.md": content})
    refused(new(tmp_path, folder), "README.md: a template that never ends")
    assert not (tmp_path / "out").exists()


def test_a_manifest_that_is_not_utf8_is_one_line(tmp_path):
    folder = blueprint(tmp_path / "team", "team")
    (folder / "blueprint.yaml").write_bytes(b"name: team\ntitle: caf\xe9\ndescription: d\nversion: 1.0.0\n")
    refused(new(tmp_path, folder), f"{folder / 'blueprint.yaml'} is not UTF-8 text (offset 21): save it as UTF-8")


def test_a_cookiecutter_json_whose_extensions_are_not_a_list_is_one_line(tmp_path):
    folder = tmp_path / "tpl"
    (folder / "{{cookiecutter.project_name}}").mkdir(parents=True)
    (folder / "cookiecutter.json").write_text('{"project_name": "x", "_extensions": 5}')
    refused(new(tmp_path, folder), "_extensions must be a list of strings, not 5")
