"""Fuzzed user config files (`SLSGEN_CONFIG`): defaults, presets, blueprint tables, search paths, trusted sources.

Valid configs are built from parts (the answers slsgen and the built-ins ask, with right and wrong values), then
some are mutated as text or bytes (cut, spliced, garbage, a BOM, bad UTF-8, odd unicode, huge values). Each goes
through `slsgen config show` and `slsgen new hello-world NAME --no-input` in this process (as test_fuzz_cli.py
runs them), with and without `--preset`. Properties: never a traceback; `config show` prints its table (exit 0)
or one `error: ...` line with exit 2; `new` makes a complete project or writes nothing and prints one `error:`
line with exit 2. Derandomized; `SLSGEN_FUZZ_SCALE` multiplies the cases.

Search-path entries are local paths only: a git URL there would be fetched, and the tests stay offline.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import event, example, given
from hypothesis import strategies as st
from test_fuzz_cli import check_outcome, fuzz, no_format, run_cli

# Text a user may type in a TOML file: any unicode a UTF-8 file holds (no lone surrogates), controls included.
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
ODD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\u202eevil",  # right-to-left override
        "e\u0301",  # a combining accent
        "\ufeffbom",
        "\u00a0nbsp",
        "\U0001f600",
        "a\x00b",
        "\x7f",
        "\u2028",
        "\uff50\uff59\uff54\uff48\uff4f\uff4e3.13",  # "python3.13" in fullwidth letters
        "python3.13\n",
        "x" * 100_000,
    ]
)
VALUES = st.one_of(
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([128, 512, 10240, 99999, 0, -1, 2**63, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["python3.12", "python3.13", "python3.10", "arm64", "x86_64", "riscv", "json", "DEBUG"]),
    st.sampled_from(["http-api", "function-url", "none", "Hi", "app.main", "a.b.c", "128x128,256x256"]),
    TEXT,
    ODD_TEXT,
    st.lists(st.one_of(st.integers(-5, 5), TEXT, st.booleans()), max_size=3),
)
KEYS = st.one_of(
    st.sampled_from(
        [
            "runtime",
            "arch",
            "architecture",
            "memory",
            "timeout",
            "tracing",
            "vpc",
            "handler",
            "log_format",
            "log-format",
            "log_level",
            "ephemeral_storage",
            "reserved_concurrency",
            "greeting",
            "trigger",
            "url_auth",
            "sizes",
            "env",
            "ci",
            "git",
            "handler_module",
            "unknown",
        ]
    ),
    TEXT,
)
ANSWERS = st.dictionaries(KEYS, VALUES, max_size=5)
BLUEPRINT_NAMES = st.one_of(st.sampled_from(["hello-world", "image-resize", "nope", "hello_world"]), TEXT)
SEARCH_PATHS = st.lists(
    st.one_of(st.sampled_from(["~/no-such-blueprints", "/nonexistent/x", "relative/dir", "", " ", "."]), TEXT),
    max_size=3,
).map(lambda entries: [entry for entry in entries if not any(mark in entry for mark in (":", "@", "git"))])
PRESET_NAMES = st.one_of(st.sampled_from(["prod", "dev", "hello-world"]), TEXT)


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    """A config as data: mostly the documented shape, each part open to wrong types and unknown keys."""
    config: dict[str, Any] = {}
    if draw(st.booleans()):
        config["blueprints"] = draw(SEARCH_PATHS) if draw(st.integers(0, 5)) != 5 else draw(VALUES)
    if draw(st.booleans()):
        config["trusted"] = draw(st.lists(TEXT, max_size=3)) if draw(st.integers(0, 5)) != 5 else draw(VALUES)
    if draw(st.booleans()):
        defaults: Any = draw(ANSWERS)
        for name in draw(st.lists(BLUEPRINT_NAMES, max_size=2)):
            defaults[name] = draw(st.one_of(ANSWERS, ANSWERS, VALUES))
        config["defaults"] = defaults if draw(st.integers(0, 5)) != 5 else draw(VALUES)  # at times not a table
    if draw(st.booleans()):
        presets: dict[str, Any] = {}
        for name in draw(st.lists(PRESET_NAMES, max_size=3)):
            preset: Any = draw(ANSWERS)
            if draw(st.booleans()):
                preset[draw(BLUEPRINT_NAMES)] = draw(st.one_of(ANSWERS, ANSWERS, VALUES))
                if draw(st.booleans()):  # nested one level too deep
                    preset["hello-world"] = {"inner": draw(ANSWERS)}
            presets[name] = preset if draw(st.integers(0, 7)) != 7 else draw(VALUES)
        config["presets"] = presets
    if all(draw(st.booleans()) for _ in range(3)):  # one in eight: an unknown top-level key
        config[draw(TEXT)] = draw(VALUES)
    return config


def toml_key(key: str) -> str:
    return toml_string(key)


def toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, except that TOML forbids escaped surrogates and raw DEL."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)  # beyond 64 bits: tomllib reads it, other parsers refuse it
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):  # an inline table
        return "{" + ", ".join(f"{toml_key(key)} = {toml_value(item)}" for key, item in value.items()) + "}"
    raise TypeError(value)


def to_toml(config: dict[str, Any], inline: bool) -> str:
    """The config as a TOML document: tables as `[a.b]` headers (or, with `inline`, as inline tables)."""
    lines: list[str] = []
    tables: list[tuple[tuple[str, ...], dict[str, Any]]] = []
    for key, value in config.items():
        if isinstance(value, dict) and not inline:
            tables.append(((key,), value))
        else:
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    while tables:
        path, table = tables.pop(0)
        lines.append("[" + ".".join(toml_key(part) for part in path) + "]")
        for key, value in table.items():
            if isinstance(value, dict):
                tables.append(((*path, key), value))
            else:
                lines.append(f"{toml_key(key)} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


def preset_args(draw: st.DrawFn, names: list[str]) -> list[str]:
    choice = draw(st.sampled_from(["none", "known", "unknown"]))
    if choice == "known" and names:
        return ["--preset", draw(st.sampled_from(names))]
    if choice == "unknown":
        return ["--preset", draw(st.sampled_from(["missing", "", "prod"]))]
    return []


@st.composite
def config_files(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """A config file's bytes, mutated or not, and `--preset NAME` (a name the data had, another one) or nothing."""
    config = draw(configs())
    presets = config.get("presets")
    names = [name for name in presets if isinstance(name, str)] if isinstance(presets, dict) else []
    data = to_toml(config, draw(st.integers(0, 4)) == 0).encode()
    mutation = draw(st.sampled_from(["none", "none", "none", "cut", "splice", "garbage", "bom", "crlf", "bytes"]))
    if mutation == "cut":
        data = data[: draw(st.integers(0, len(data)))]
    elif mutation == "splice":
        start = draw(st.integers(0, len(data)))
        end = draw(st.integers(start, min(len(data), start + 20)))
        insert = draw(st.sampled_from(["[", "]", "=", '"', "'''", "\n[defaults]\n", "\nmemory = 1\n", "#", "\\"]))
        data = data[:start] + insert.encode() + data[end:]
    elif mutation == "garbage":
        data += draw(st.binary(max_size=30))
    elif mutation == "bom":
        data = b"\xef\xbb\xbf" + data
    elif mutation == "crlf":
        data = data.replace(b"\n", b"\r\n")
    elif mutation == "bytes":
        data = draw(st.binary(max_size=200))
    return data, preset_args(draw, names)


@contextlib.contextmanager
def config_file(root: Path, data: bytes) -> Iterator[Path]:
    """`SLSGEN_CONFIG` naming a file holding `data`; no search path from this machine's environment, and `root`
    as the working folder, so that relative search paths (".", "relative/dir") find the same nothing every run."""
    path = root / "config.toml"
    path.write_bytes(data)
    saved = {key: os.environ.get(key) for key in ("SLSGEN_CONFIG", "SLSGEN_BLUEPRINTS")}
    os.environ["SLSGEN_CONFIG"] = str(path)
    os.environ.pop("SLSGEN_BLUEPRINTS", None)
    here = os.getcwd()
    os.chdir(root)
    try:
        yield path
    finally:
        os.chdir(here)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def outcome(code: int, err: str) -> None:
    """Count the kinds of outcome in hypothesis's statistics: the cases must reach past the TOML parser."""
    if code == 0:
        event("exit 0")
        return
    kinds = ("not valid TOML", "cannot read", "unknown key", "preset", "must be a table", "tables nest", "use a")
    event("error: " + next((kind for kind in kinds if kind in err), "an answer refused"))


def check_one_error_line(code: int, err: str) -> None:
    assert "Traceback" not in err, err
    assert code == 2, (code, err)
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert lines[0].isprintable(), f"a control or bidi character reaches the terminal: {lines[0]!r}"


# Found by this fuzzing, pinned: keys with a newline or an escape sequence reached the error line as they were
# (two lines, or the terminal interpreting them), and a key set in an inline table was reported at line "None".
PINNED = [
    (b'presets = {"a\\nb" = 5}\n', []),
    (b'[presets."dev\\u001b[31m"]\n"hello-world" = {inner = {x = 1}}\n', []),
    (b'[defaults]\n"x\\u202egnp.exe" = {a = {}}\n', []),
    (b"[presets]\ndev = 5\n", ["--preset", "dev"]),
]


@fuzz(130)
@given(case=config_files(), blueprint=st.sampled_from(["hello-world", "image-resize", "data-processing"]))
@example(case=PINNED[0], blueprint="hello-world")
@example(case=PINNED[1], blueprint="hello-world")
@example(case=PINNED[2], blueprint="image-resize")
@example(case=PINNED[3], blueprint="hello-world")
def test_config_show_with_fuzzed_config_files(case: tuple[bytes, list[str]], blueprint: str) -> None:
    content, preset = case
    with tempfile.TemporaryDirectory() as tmp, config_file(Path(tmp), content):
        code, out, err = run_cli(["config", "show", blueprint, *preset])
    outcome(code, err)
    if code == 0:
        assert "Traceback" not in err, err
        assert out.strip(), "config show printed nothing"
    else:
        check_one_error_line(code, err)


@fuzz(130)
@given(case=config_files())
@example(case=PINNED[0])
@example(case=PINNED[1])
def test_new_with_fuzzed_config_files(case: tuple[bytes, list[str]]) -> None:
    content, preset = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "sentinel").write_text("untouched")
        argv = ["new", "hello-world", "my-api", "--no-input", "--no-git", "-o", str(root / "out"), *preset]
        with config_file(root, content), no_format():
            code, _, err = run_cli(argv)
        (root / "config.toml").unlink()
        outcome(code, err)
        check_outcome(root, code, err, "my-api")
        if code != 0:
            check_one_error_line(code, err)
