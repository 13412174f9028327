"""The config file's environment variables and its typos: nothing the user wrote is dropped without a word."""

from __future__ import annotations

import pytest
import yaml

from helpers import SLSGEN, run


@pytest.fixture
def config(tmp_path):
    return tmp_path / "config.toml"


def slsgen(config, cwd, *args):
    return run([*SLSGEN, *args], cwd, check=False, env={"SLSGEN_CONFIG": str(config), "SLSGEN_BLUEPRINTS": ""})


def variables(project):
    template = yaml.compose((project / "template.yaml").read_text())
    for key in ("Resources", "HelloWorldFunction", "Properties", "Environment", "Variables"):
        template = next(value for name, value in template.value if name.value == key)
    return {name.value: value.value for name, value in template.value}


def test_env_tables_are_environment_variables_under_env_flags(config, tmp_path):
    config.write_text(
        '[defaults]\nenv = { TEAM = "payments", STAGE = "dev" }\n\n'
        '[presets.prod.env]\nSTAGE = "prod"\n\n'
        '[defaults.hello-world]\nenv = { GREETER = "hw" }\n'
    )
    result = slsgen(
        config,
        tmp_path,
        "new",
        "hello-world",
        "svc",
        "--no-input",
        "--no-git",
        "-o",
        str(tmp_path),
        "--preset",
        "prod",
        "--env",
        "TEAM=ops",
    )
    assert result.returncode == 0, result.stderr
    assert variables(tmp_path / "svc") == {"GREETING": "Hello", "TEAM": "ops", "STAGE": "prod", "GREETER": "hw"}
    shown = slsgen(config, tmp_path, "config", "show", "--preset", "prod").stdout
    assert {"env.STAGE", "env.GREETER", "env.TEAM"} <= {line.split()[0] for line in shown.splitlines() if line}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[defaults]\nenv = ["A=1"]\n', ":2: defaults.env: environment variables are a table of strings"),
        ("[presets.p]\nenv = { A = 1 }\n", ":2: presets.p.env: environment variables are a table of strings"),
        ('[defaults]\nenv = { "1X" = "a" }\n', ":2: env.1X: environment variable name '1X' must start with a letter"),
        ('[defaults]\nenv = { AWS_REGION = "a" }\n', ":2: env.AWS_REGION: environment variable AWS_REGION is reserved"),
        (
            '[defaults.hello-world]\ngreetng = "Hi"\n',
            ":2: greetng: hello-world has no question greetng; did you mean greeting?",
        ),
        (
            "[presets.p.hello-world]\nmemroy = 512\n",
            ":2: memroy: hello-world has no question memroy; did you mean memory?",
        ),
    ],
)
def test_a_bad_env_table_or_an_unknown_key_of_a_blueprint_s_own_table_is_one_line(config, tmp_path, text, message):
    config.write_text(text)
    preset = ["--preset", "p"] if "presets" in text else []
    for command in (["new", "hello-world", "svc", "--no-input", "-o", str(tmp_path / "out")], ["config", "show"]):
        result = slsgen(config, tmp_path, *command, *preset)
        assert result.returncode == 2, result.stdout
        assert result.stderr.startswith(f"error: {config}")
        assert message in result.stderr
        assert result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_shared_key_close_to_a_question_warns_with_the_question(config, tmp_path):
    config.write_text("[defaults]\nsizes = '64x64'\n\n[presets.big]\nmemroy = 1024\n")
    result = slsgen(
        config, tmp_path, "new", "hello-world", "svc", "--no-input", "--no-git", "-o", str(tmp_path), "--preset", "big"
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        f"warning: {config}:5: memroy is not a question of hello-world (did you mean memory?); it is left unused\n"
    )  # `sizes` is image-resize's question, nothing close in hello-world: used by another blueprint, no warning
    shown = slsgen(config, tmp_path, "config", "show", "--preset", "big").stdout
    assert "did you mean" in shown
    assert "memory?" in shown
