"""The wheels users install: slsgen's carries the skeleton, the blueprints and the runner's wheel that projects get;
the runner is a wheel of its own. `pip install ./runner .` works anywhere."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest
from lambda_runner import __version__ as RUNNER_VERSION

from helpers import run

ROOT = Path(__file__).resolve().parent.parent
UV = [sys.executable, "-m", "uv"]

pytestmark = pytest.mark.e2e


def test_wheel_installs_into_a_fresh_venv_and_generates_from_another_folder(tmp_path):
    run([*UV, "build", "--wheel", "--out-dir", str(tmp_path / "dist"), str(ROOT)], ROOT, timeout=300)
    run([*UV, "build", "--wheel", "--out-dir", str(tmp_path / "dist"), str(ROOT / "runner")], ROOT, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("slsgen-*.whl")
    (runner,) = (tmp_path / "dist").glob("slsgen_runner-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "generator/_data/templates/template.yaml" in names
    assert "generator/_data/blueprints/hello-world/blueprint.yaml" in names
    assert f"generator/_data/wheels/slsgen_runner-{RUNNER_VERSION}-py3-none-any.whl" in names
    assert not any(name.startswith(("lambda_runner/", "generator/runner/")) for name in names)  # its own wheel
    assert not any("__pycache__" in name for name in names)

    venv = tmp_path / "venv"
    run([*UV, "venv", "--quiet", "--python", sys.executable, str(venv)], tmp_path)
    install = [*UV, "pip", "install", "--quiet", "--python", str(venv / "bin/python"), str(runner), str(wheel)]
    run(install, tmp_path, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    slsgen = str(venv / "bin/slsgen")
    assert "hello-world" in run([slsgen, "list"], elsewhere).stdout
    run([slsgen, "new", "hello-world", "packaged", "--no-input"], elsewhere)
    project = elsewhere / "packaged"
    for name in ("template.yaml", "Makefile", "src/lambda_function.py", "events/hello.json"):
        assert (project / name).is_file(), name
    assert (project / f".slsgen/wheels/slsgen_runner-{RUNNER_VERSION}-py3-none-any.whl").read_bytes() == (
        ROOT / f"wheels/slsgen_runner-{RUNNER_VERSION}-py3-none-any.whl"
    ).read_bytes()
