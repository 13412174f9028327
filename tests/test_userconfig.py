"""The user's config file: default answers, presets, and precedence flags > --set > preset > config > blueprint."""

from __future__ import annotations

import json
import textwrap

import pytest

from generator import load_blueprint
from generator.defaults import apply, configured, effective
from generator.errors import ConfigInvalid, InvalidOption
from generator.userconfig import config_path, load

from helpers import SLSGEN, run, slsgen

CONFIG = """\
# the team's answers
[defaults]
runtime = "python3.12"
memory = 256
arch = "x86_64"
author = "Jane"

[defaults.hello-world]
greeting = "Howdy"

[presets.prod]
memory = 1024
tracing = true

[presets.prod.hello-world]
greeting = "Hello, production"
"""


@pytest.fixture
def config(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    monkeypatch.setenv("SLSGEN_CONFIG", str(path))
    monkeypatch.delenv("SLSGEN_BLUEPRINTS", raising=False)
    return path


def values(rows):
    return {row.name: (row.value, row.origin) for row in rows}


def test_precedence_flags_over_set_over_preset_over_config_over_blueprint(config):
    hello = load_blueprint("hello-world")
    user = load()
    rows = values(effective(hello, user, None, {}, []))
    assert rows["memory"] == (256, f"{config}:4")
    assert rows["architecture"] == ("x86_64", f"{config}:5")
    assert rows["greeting"] == ("Howdy", f"{config}:9")
    assert rows["log_level"][1] == "slsgen default"
    assert rows["trigger"][1] == "blueprint hello-world"
    assert rows["author"] == ("Jane", f"{config}:6, not asked by hello-world")
    rows = values(effective(hello, user, "prod", {}, []))
    assert rows["memory"] == (1024, f"preset prod ({config}:12)")
    assert rows["tracing"][0] is True
    assert rows["greeting"] == ("Hello, production", f"preset prod ({config}:16)")
    assert rows["runtime"] == ("python3.12", f"{config}:3")  # the preset does not set it: the defaults do
    rows = values(effective(hello, user, "prod", {}, ["memory=512"]))
    assert rows["memory"] == (512, "--set")
    rows = values(effective(hello, user, "prod", {"memory": "2048"}, ["memory=512"]))
    assert rows["memory"] == (2048, "flag --memory")


def test_configured_values_become_the_defaults_a_prompt_offers(config):
    hello = apply(load_blueprint("hello-world"), configured(load(), "hello-world", "prod"))
    assert hello.question("memory").default == 1024
    assert hello.question("greeting").default == "Hello, production"


def test_new_uses_the_layers_end_to_end(config, tmp_path):
    out = tmp_path / "out"
    slsgen(
        "new",
        "hello-world",
        "svc",
        "--no-input",
        "-o",
        str(out),
        "--preset",
        "prod",
        "--set",
        "memory=512",
        cwd=tmp_path,
    )
    answers = json.loads((out / "svc" / ".slsgen.json").read_text())["answers"]
    assert (answers["memory"], answers["tracing"], answers["runtime"]) == (512, True, "python3.12")
    assert answers["greeting"] == "Hello, production"
    assert "MemorySize: 512" in (out / "svc" / "template.yaml").read_text()


def test_config_show_prints_each_value_and_its_origin(config, tmp_path):
    result = run([*SLSGEN, "config", "show", "hello-world", "--preset", "prod"], tmp_path, env={"COLUMNS": "250"})
    assert f"config file: {config}" in result.stdout
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert lines["memory"].split()[1:4] == ["1024", "preset", "prod"]
    assert "python3.12" in lines["runtime"]
    assert "slsgen default" in lines["log_level"]


def test_an_unknown_preset_names_the_ones_there_are(config, tmp_path):
    result = slsgen("new", "hello-world", "svc", "--no-input", "--preset", "staging", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert result.stderr == f"error: unknown preset 'staging' in {config}; presets: prod\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[defaults]\nmemory = \n", r"not valid TOML: .*\(at line 2, column 10\)"),
        ("[defaults]\nruntime = 'python3.13'\nmemory = 99999\n", r":3: memory: memory must be between 128 and 10240"),
        ("[presets.prod]\narch = 'sparc'\n", r"preset prod \(.*:2\): architecture: architecture must be one of"),
        ("colour = 'blue'\n", r":1: unknown key 'colour'; valid keys: blueprints, trusted, defaults, presets"),
        ("trusted = 'x'\n", r":1: trusted: use a list of strings"),
        ("[defaults]\nhandler = {a = {b = 1}}\n", r"tables nest one level"),
    ],
)
def test_a_bad_config_file_is_one_line_naming_file_line_and_key(config, tmp_path, text, message):
    config.write_text(text)
    preset = "prod" if "presets" in text else None
    with pytest.raises((ConfigInvalid, InvalidOption), match=message) as caught:
        apply(load_blueprint("hello-world"), configured(load(), "hello-world", preset))
    assert str(config) in str(caught.value)
    result = slsgen("new", "hello-world", "svc", "--no-input", "-o", str(tmp_path / "out"), cwd=tmp_path, check=False)
    if "presets" not in text:
        assert result.returncode == 2
        assert result.stderr.startswith(f"error: {config}")
        assert result.stderr.count("\n") == 1
        assert not (tmp_path / "out").exists()


def test_the_config_file_lives_in_the_platform_config_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("SLSGEN_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_path() == tmp_path / "xdg" / "slsgen" / "config.toml"
    assert load().exists is False


def test_a_config_default_the_question_refuses_names_its_line(config):
    config.write_text(textwrap.dedent("[defaults.hello-world]\ntrigger = 'smoke-signal'\n"))
    with pytest.raises(ConfigInvalid, match=rf"^{config}:2: trigger: trigger must be one of"):
        apply(load_blueprint("hello-world"), configured(load(), "hello-world", None))
