"""Compiled templates kept between runs (`generator.compiled`): a second project reads them instead of compiling,
renders the same bytes, and a damaged or foreign cache entry is never used."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

import generator
from generator import compiled, trust


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(folder).parts
    }


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the templates Jinja compiles from a loader (file contents, not path names)."""
    names: list[str] = []
    original = jinja2.Environment.compile

    def counted(self, source, name=None, filename=None, raw=False, defer_init=False):  # type: ignore[no-untyped-def]
        if filename is not None:
            names.append(name)
        return original(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", counted)
    return names


def test_a_second_project_reads_compiled_templates_and_renders_the_same_bytes(tmp_path, monkeypatch, compiles):
    monkeypatch.setenv("SLSGEN_CACHE", str(tmp_path / "cache"))
    cold = generator.new_project("hello-world", "app", output_dir=tmp_path / "cold", git=False)
    assert compiles, "the first project compiles its templates"
    entries = sorted((tmp_path / "cache" / compiled.FOLDER).glob("*.jinja"))
    assert len(entries) == len(set(compiles))

    compiles.clear()
    warm = generator.new_project("hello-world", "app", output_dir=tmp_path / "warm", git=False)
    assert compiles == []  # every template came from the cache
    assert files_of(warm) == files_of(cold)

    for entry in entries:  # damaged entries: Jinja's own checks refuse them, the templates compile again
        entry.write_bytes(b"not bytecode")
    compiles.clear()
    again = generator.new_project("hello-world", "app", output_dir=tmp_path / "again", git=False)
    assert len(compiles) == len(entries)
    assert files_of(again) == files_of(cold)
    assert all(entry.read_bytes() != b"not bytecode" for entry in entries)  # and are written anew


def test_an_entry_is_keyed_by_source_and_delimiters_not_only_by_name(tmp_path):
    """The same template name with another source, or the same source lexed with other delimiters, compiles to
    other code: neither may be served the other's."""
    loader = jinja2.DictLoader({"t": "{{ cookiecutter.x }}[[ cookiecutter.x ]]"})
    plain = trust.sandboxed_environment(loader=loader)
    brackets = trust.sandboxed_environment(loader=loader, variable_start_string="[[", variable_end_string="]]")
    results = []
    for environment in (plain, brackets, plain):
        cache = compiled.DeferredBytecodeCache(tmp_path, environment)
        environment.bytecode_cache = cache
        environment.cache = None  # Jinja's in-memory cache off: each render goes to the bytecode cache
        results.append(environment.get_template("t").render(cookiecutter={"x": "1"}))
        cache.save()
    assert results == ["1[[ cookiecutter.x ]]", "{{ cookiecutter.x }}1", "1[[ cookiecutter.x ]]"]
    assert len(list(tmp_path.glob("*.jinja"))) == 2

    other = trust.sandboxed_environment(loader=jinja2.DictLoader({"t": "{{ cookiecutter.x }}!"}))
    other.bytecode_cache = compiled.DeferredBytecodeCache(tmp_path, other)
    assert other.get_template("t").render(cookiecutter={"x": "1"}) == "1!"
