"""The runner's wheel is reproducible: built twice from the same source it is byte-identical, so the hash a
project pins names exactly one content, whoever builds it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build(out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("*.whl")
    return wheel


def test_two_builds_are_byte_identical(tmp_path):
    first = build(tmp_path / "one")
    (ROOT / "lambda_runner" / "errors.py").touch()  # a newer modification time changes nothing
    second = build(tmp_path / "two")
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as wheel:
        names = wheel.namelist()
        entry_points = wheel.read(next(name for name in names if name.endswith("entry_points.txt"))).decode()
    assert "lambda_runner/py.typed" in names
    assert not [name for name in names if "__pycache__" in name or name.startswith("tests/")]
    assert "[pytest11]\nlambda_runner.pytest_plugin = lambda_runner.pytest_plugin" in entry_points
