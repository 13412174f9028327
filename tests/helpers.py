"""Helpers the end-to-end tests share: run slsgen as a user does, and run what a user runs in the project."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

BIN = Path(sys.executable).parent
SLSGEN = [sys.executable, "-m", "generator"]


def shared_folder(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A folder every xdist worker of this session sees (the parent of the workers' own base folders). Here, not
    in conftest.py: `from conftest import` finds runner/tests/conftest.py when the whole suite is collected."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = root / name
    folder.mkdir(exist_ok=True)
    return folder


def run(
    command: list[str],
    cwd: Path,
    *,
    check: bool = True,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command; on an unexpected exit code fail with its whole output."""
    environment = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **(env or {})}
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, env=environment, timeout=timeout, input=stdin, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} exited {result.returncode} in {cwd}\n--- stdout\n{result.stdout}\n--- stderr\n"
            f"{result.stderr}"
        )
    return result


def git(*args: str, cwd: Path) -> str:
    """git with a fixed identity and no user configuration; its output, stripped."""
    environment = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=environment, check=True)
    return result.stdout.strip()


def slsgen(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([*SLSGEN, *args], cwd, check=check)


def generate(tmp_path: Path, blueprint: str, name: str, *args: str) -> Path:
    """`slsgen new BLUEPRINT NAME --no-input ARGS` into tmp_path; returns the project folder."""
    slsgen("new", blueprint, name, "--no-input", "-o", str(tmp_path), *args, cwd=tmp_path)
    project = tmp_path / name
    assert (project / "template.yaml").is_file()
    return project


def check_project(project: Path) -> None:
    """What a user runs in a fresh project: lint, format check, its own tests, cfn-lint. The tests run with the
    `aws_calls` plugin, and every AWS call the function made in them must be one its role allows (moto does not
    evaluate IAM)."""
    import aws_calls

    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], project)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], project)
    calls = project.parent / f"{project.name}.aws-calls.jsonl"
    plugin = {aws_calls.CALLS_FILE: str(calls), "PYTHONPATH": str(Path(aws_calls.__file__).parent)}
    run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "aws_calls"], project, env=plugin)
    problems = aws_calls.policy_problems(project, calls)
    assert problems == [], "calls the function's role does not allow:\n" + "\n".join(problems)
    run([str(BIN / "cfn-lint"), "template.yaml"], project)


def function_properties(project: Path, logical_id: str) -> dict:
    """A function's properties as SAM applies them: its own over those `Globals: Function:` gives every function."""
    from lambda_runner.config.template import load_template, merge_globals

    template = load_template(project / "template.yaml")
    shared = (template.get("Globals") or {}).get("Function") or {}
    return merge_globals(shared, template["Resources"][logical_id]["Properties"])


def invoke(project: Path, event: str, *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The project's own runner on one event, as `make invoke` runs it."""
    return run([sys.executable, "-m", "lambda_runner", "invoke", "-e", event, *extra], project, check=check)


def response(result: subprocess.CompletedProcess[str]) -> object:
    return json.loads(result.stdout)


def runtime_python(version: str) -> str | None:
    """The CPython of a function's runtime (`3.13`), from pyenv or PATH, as the generated Makefile looks for it."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = sorted(root.glob(f"{version}*/bin/python{version}"), reverse=True)
    return str(found[0]) if found else shutil.which(f"python{version}")


def require_python(version: str) -> str:
    """`runtime_python`, or the test fails (never skips): a missing Python must not pass as a green run."""
    python = runtime_python(version)
    if python is None:
        pytest.fail(f"Python {version} is needed for this test (pyenv install {version})")
    return python


def refused(tmp_path: Path, blueprint: str, *args: str) -> str:
    """`slsgen new BLUEPRINT` expected to refuse: exit 2, one `error:` line, no traceback, nothing written.

    Returns the line. The project would go to tmp_path/out: tmp_path must hold afterwards just what it held before.
    """
    before = sorted(tmp_path.iterdir())
    output = tmp_path / "out"
    result = run([*SLSGEN, "new", blueprint, "x", "--no-input", "-o", str(output), *args], tmp_path, check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    assert sorted(tmp_path.iterdir()) == before
    return line


def with_venv(project: Path) -> Path:
    """The project's .venv over this interpreter's packages (what `make install` would give, in a second), its
    stamps touched so that make goes straight to the target and the project's commands use this .venv."""
    run([sys.executable, "-m", "venv", "--system-site-packages", str(project / ".venv")], project)
    # "System" packages are the base interpreter's, not this venv's: add this one's site-packages (and its .pth
    # files: the runner may be an editable install) to the new venv's.
    import sysconfig

    new_site = run(
        [str(project / ".venv/bin/python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], project
    )
    here = sysconfig.get_path("purelib")
    Path(new_site.stdout.strip(), "slsgen_tests.pth").write_text(f"import site; site.addsitedir({here!r})\n")
    for stamp in (".created", ".installed", ".installed-validate"):
        (project / ".venv" / stamp).touch()
    return project


ELF_MACHINE = {"arm64": 183, "x86_64": 62}  # e_machine: EM_AARCH64, EM_X86_64
WHEEL_ARCH = {"arm64": "aarch64", "x86_64": "x86_64"}


def check_zip(path: Path, architecture: str, handler_file: str, python_tag: str = "cp313") -> None:
    """A Lambda zip: code at the root, nothing of the build machine's, native code for Linux on `architecture`,
    and every distribution the function depends on (`pyproject.toml` beside `dist/`).

    Each shared library must be an ELF file for that machine, and each wheel with platform tags manylinux ones
    for it, built for the runtime's CPython (`python_tag`) or the stable ABI.
    """
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert handler_file in names
        metadata = {name.split(".dist-info/")[0] for name in names if ".dist-info/" in name}  # NAME-VERSION
        installed = {canonicalize_name(folder.rsplit("-", 1)[0]) for folder in metadata}
        assert required_distributions(path.parent.parent) <= installed, installed
        assert not [name for name in names if "__pycache__" in name or name.endswith((".pyc", ".pyo"))]
        assert not [name for name in names if name.startswith(("tests/", "bin/")) or name == "requirements.txt"]
        for name in names:
            if re.search(r"\.so(\.\d+)*$", name):
                header = archive.read(name)[:20]
                assert header[:4] == b"\x7fELF", name
                assert int.from_bytes(header[18:20], "little") == ELF_MACHINE[architecture], name
            if name.endswith(".dist-info/WHEEL"):
                tags = re.findall(r"^Tag: (\S+)$", archive.read(name).decode(), re.MULTILINE)
                platforms = {tag.split("-")[2] for tag in tags}
                if platforms != {"any"}:
                    assert all(p.startswith("manylinux") and p.endswith(WHEEL_ARCH[architecture]) for p in platforms)
                    for tag in tags:
                        python, abi, _ = tag.split("-")
                        assert python == python_tag or abi == "abi3", tag


def required_distributions(project: Path) -> set[str]:
    """The distributions the function depends on (pyproject.toml's `dependencies`), as pip compares names (PEP 503)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    return {canonicalize_name(Requirement(line).name) for line in pyproject["project"]["dependencies"]}


def data_processing_triggers() -> list[str]:
    """Every data-processing trigger but the default, which the blueprint's own test case (no --set) covers."""
    import generator

    question = next(q for q in generator.load_blueprint("data-processing").all_questions() if q.name == "trigger")
    assert question.default in question.choices
    return [choice for choice in question.choices if choice != question.default]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def served(command: list[str], cwd: Path, path: str, *, env: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Start a server (`command` holding `{port}`), GET `path` once it answers, stop it; the status and body."""
    import time
    import urllib.request

    port = free_port()
    argv = [part.replace("{port}", str(port)) for part in command]
    server = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
                    return reply.status, reply.read()
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=10)
