"""Fuzzed `slsgen new`: names, options, `--set`/`--env` strings, blueprint manifests and `.slsgen.json` records.

Properties, for every generated case: no traceback; nothing written outside the target folder; either a
complete project (exit 0) or exactly one line `error: ...` with exit code 2. The command line runs in this
process (`generator.cli.main` with `sys.argv` set), and the ruff format step is a no-op in most cases (it only
reformats files the e2e tests check; it cannot change where files go or which errors are raised); a few cases
run it for real. The cases are derandomized, so a failure replays on the next run; `SLSGEN_FUZZ_SCALE`
multiplies their number (bench/reliability.py).
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator import cli, render
from generator.blueprints import load_blueprint
from generator.errors import SlsgenError
from generator.placement import place, read_record, retired_files

SCALE = float(os.environ.get("SLSGEN_FUZZ_SCALE", "1"))
REPO = Path(__file__).resolve().parents[1]


def fuzz(examples: int) -> Any:
    """Derandomized (a failure replays on every run), no deadline (the machine is shared)."""
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,  # only module-scoped fixtures are used
        ],
    )


# What a shell can pass in argv: any text but NUL, with the surrogates Python uses for undecodable bytes.
ARG = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF),
    ),
    max_size=24,
)
NAMES = st.one_of(
    st.sampled_from(["my-api", "a", "x" * 64, "UPPER", "-lead", "trail-", "a--b", "..", ".", "a/b", "a\\b", ""]),
    st.from_regex(r"[a-z][a-z0-9-]{0,70}", fullmatch=True),
    ARG,
)
FLAG_VALUES: dict[str, list[str]] = {
    "--runtime": ["python3.12", "python3.13", "python3.14", "python3.10", "nodejs20.x"],
    "--arch": ["arm64", "x86_64", "ARM64", "riscv"],
    "--memory": ["128", "10240", "127", "10241", "256.5", "-1", "1e3", "0x100"],
    "--timeout": ["1", "900", "0", "901", "3.5"],
    "--handler": ["app.main", "lambda_function.lambda_handler", "a.b.c", "app.", ".main", "class.def", "ap p.x"],
    "--log-format": ["json", "text", "JSON", "xml"],
    "--log-level": ["DEBUG", "INFO", "TRACE", "WARN", "warning", "none"],
    "--ephemeral-storage": ["512", "10240", "511", "big"],
    "--reserved-concurrency": ["-1", "0", "5", "-2", "many"],
}
SWITCHES = ["--vpc", "--no-vpc", "--tracing", "--no-tracing", "--force", "--bogus", "-x"]
SET_KEYS = ["greeting", "trigger", "url_auth", "sizes", "memory", "handler", "env", "unknown", ""]
ENV_KEYS = ["GREETING", "AWS_REGION", "_X", "A", "1A", "LAMBDA_TASK_ROOT", "OK_KEY", "BIG"]


@st.composite
def new_commands(draw: st.DrawFn) -> list[str]:
    """`slsgen new` argument lists: mostly plausible, with every part open to garbage."""
    argv = ["new"]
    argv.append(draw(st.one_of(st.sampled_from(["hello-world", "image-resize", "nope"]), ARG)))
    argv.append(draw(NAMES))
    for flag in draw(st.lists(st.sampled_from(sorted(FLAG_VALUES)), max_size=4, unique=True)):
        argv += [flag, draw(st.one_of(st.sampled_from(FLAG_VALUES[flag]), ARG))]
    argv += draw(st.lists(st.sampled_from(SWITCHES), max_size=2))
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.one_of(st.sampled_from(SET_KEYS), ARG))
        value = draw(st.one_of(st.sampled_from(["Hi", "http-api", "function-url", "none", "128x128", ""]), ARG))
        argv += ["--set", draw(st.sampled_from([f"{key}={value}", key, f"={value}"]))]
    for _ in range(draw(st.integers(0, 2))):
        key = draw(st.one_of(st.sampled_from(ENV_KEYS), ARG))
        value = "v" * 5000 if key == "BIG" else draw(ARG)
        argv += ["--env", draw(st.sampled_from([f"{key}={value}", key]))]
    if draw(st.booleans()):
        argv.append(draw(ARG))  # a stray positional or option
    return argv


@contextlib.contextmanager
def no_format(enabled: bool = True) -> Iterator[None]:
    real = render.format_python
    if enabled:
        render.format_python = lambda project: None
    try:
        yield
    finally:
        render.format_python = real


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """`slsgen ARGV` in this process: its exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.argv
    sys.argv = ["slsgen", *argv]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = saved
        gc.enable()  # cli.main turns the collector off for its (normally one-shot) process
    return code, out.getvalue(), err.getvalue()


def tree(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*")}


def check_outcome(root: Path, code: int, err: str, name: str) -> None:
    """The properties: no traceback, one error line and exit 2, or a complete project, and nothing elsewhere."""
    assert "Traceback" not in err, err
    out_dir = root / "out"
    if code == 0:
        project = out_dir / name
        assert (project / ".slsgen.json").is_file()
        assert (project / "template.yaml").is_file()
        assert read_record(project), "the record lists the project's files"
        written = tree(root) - {"out", "sentinel"}
        assert all(path == f"out/{name}" or path.startswith(f"out/{name}/") for path in written), written
    else:
        assert code == 2, (code, err)
        lines = err.strip("\n").split("\n")
        assert len(lines) == 1, err
        assert lines[0].startswith("error: "), err
        assert tree(root) - {"out", "sentinel"} == set(), "a failed run wrote files"
    assert (root / "sentinel").read_text() == "untouched"


@fuzz(300)
@given(argv=new_commands())
def test_new_with_fuzzed_arguments(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "sentinel").write_text("untouched")
        argv = [*argv, "--no-input", "-o", str(root / "out")]
        with no_format():
            code, _, err = run_cli(argv)
        check_outcome(root, code, err, argv[2])


@fuzz(6)
@given(argv=new_commands())
def test_new_with_fuzzed_arguments_and_the_real_format_step(argv: list[str]) -> None:
    """A few cases end to end, ruff included (in a child process of slsgen's, as always)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "sentinel").write_text("untouched")
        argv = [*argv, "--no-input", "-o", str(root / "out")]
        code, _, err = run_cli(argv)
        check_outcome(root, code, err, argv[2])


# --- blueprint manifests: valid ones built from parts, and mutations of the built-in ones ---

HELLO = yaml.safe_load((REPO / "blueprints" / "hello-world" / "blueprint.yaml").read_text())
YAML_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=True), ARG),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(ARG, inner, max_size=3)),
    max_leaves=8,
)
QUESTION = st.fixed_dictionaries(
    {"name": st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True)},
    optional={
        "type": st.sampled_from(["str", "int", "bool", "choice", "list", "float"]),
        "default": YAML_VALUES,
        "choices": st.lists(ARG, max_size=3),
        "pattern": st.sampled_from(["[a-z]+", "(", "[", ".*", "a{2,1}"]),
        "min": st.integers(-5, 5),
        "max": st.integers(-5, 5),
        "when": st.sampled_from(["x == 1", "(", "{{", "owner != 'a'", "__import__('os')"]),
        "help": ARG,
        "rules": st.lists(st.fixed_dictionaries({"match": st.sampled_from(["[a-z]+", "("]), "message": ARG})),
    },
)


@st.composite
def manifests(draw: st.DrawFn) -> Any:
    """A manifest: the built-in one with keys replaced, removed or added, or parts assembled afresh."""
    manifest: Any = json.loads(json.dumps(HELLO))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["set", "drop", "question", "garbage", "extends"]))
        key = draw(st.sampled_from([*sorted(HELLO), "exclude", "repeat", "constraints", "checks", "runtime"]))
        if action == "set":
            manifest[key] = draw(YAML_VALUES)
        elif action == "drop":
            manifest.pop(key, None)
        elif action == "question":
            manifest["questions"] = draw(st.lists(QUESTION, max_size=3))
        elif action == "extends":
            manifest["extends"] = draw(st.sampled_from(["hello-world", "image-resize", "../..", "/etc", "nope"]))
        else:
            return draw(st.one_of(YAML_VALUES, st.just("[unclosed"), st.just("a: b: c"), st.just("\x00\x01")))
    return manifest


@fuzz(400)
@given(manifest=manifests())
def test_blueprint_manifests_load_or_are_refused_in_one_line(manifest: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bp"
        folder.mkdir()
        text = manifest if isinstance(manifest, str) else yaml.safe_dump(manifest, allow_unicode=True)
        (folder / "blueprint.yaml").write_text(text, encoding="utf-8", errors="surrogateescape")
        problem = ""
        try:
            blueprint = load_blueprint(str(folder))
        except SlsgenError as exc:
            problem = str(exc)
        if problem:
            assert "\n" not in problem.strip(), problem
            return
        assert blueprint.name
        code, _, err = run_cli(["show", str(folder)])
        assert "Traceback" not in err
        assert code in (0, 2), err


# --- .slsgen.json records, as --force regeneration's stale-file logic reads them ---

RECORD_PATHS = st.one_of(
    st.sampled_from(
        [
            "Makefile",
            "src/lambda_function.py",
            "events/hello.json",
            "../outside.txt",
            "/etc/passwd",
            "..",
            ".",
            "",
            "src",
            "src/../../outside.txt",
            "C:\\x",
            "a\\..\\..\\b",
            "link/inside.txt",
            "NOTES.md",
            "src//lambda_function.py",
            "./Makefile",
        ]
    ),
    ARG,
)


@st.composite
def records(draw: st.DrawFn) -> Any:
    files = draw(st.dictionaries(RECORD_PATHS, st.one_of(st.sampled_from(["real", "wrong"]), YAML_VALUES), max_size=8))
    record: Any = {"files": files, "blueprint": {"name": "hello-world"}}
    return draw(st.sampled_from([record, files, [files], None, "text", {"files": [list(files)]}]))


@pytest.fixture(scope="module")
def rendered_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small rendered project with its record (the placement logic is what is fuzzed, not the rendering)."""
    project = tmp_path_factory.mktemp("render") / "app"
    for name, text in {"Makefile": "new\n", "src/lambda_function.py": "x = 1\n", "events/get.json": "{}\n"}.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    (project / ".slsgen.json").write_text(json.dumps({"files": render.file_digests(project)}))
    return project


@fuzz(500)
@given(record=records(), raw=st.one_of(st.none(), st.binary(max_size=64)))
def test_force_regeneration_with_fuzzed_records(rendered_project: Path, record: Any, raw: bytes | None) -> None:
    """A target with an arbitrary record (and files at some of its paths): only files inside it ever go."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "outside.txt").write_text("outside")
        target = root / "work" / "app"
        (target / "src").mkdir(parents=True)
        (target / "Makefile").write_text("user's Makefile")
        (target / "NOTES.md").write_text("notes")
        (target / "link").symlink_to(root)  # a link out of the project: nothing is removed through it
        (root / "inside.txt").write_text("linked")
        if isinstance(record, dict) and isinstance(record.get("files"), dict):
            for name, digest in list(record["files"].items()):
                if digest == "real" and name in ("NOTES.md", "Makefile"):
                    record["files"][name] = hashlib_of(target / name)
        payload = raw if raw is not None else json.dumps(record).encode()
        (target / ".slsgen.json").write_bytes(payload)
        before = tree(root)
        rendered = root / "rendered" / "app"
        shutil.copytree(rendered_project, rendered)
        retired = retired_files(rendered, target)
        for path in (*retired.removed, *retired.kept):
            resolved = (target / path).resolve()
            assert resolved.is_relative_to(target.resolve()) or path in retired.kept, path
        place(rendered, target, root / "backup")
        assert (root / "outside.txt").read_text() == "outside"
        assert (root / "inside.txt").read_text() == "linked"
        after = tree(root)
        outside = {path for path in after ^ before if not path.startswith(("work/app", "rendered", "backup"))}
        assert outside == set()
        assert read_record(target) == read_record(rendered_project)


def hashlib_of(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()
