"""The runner's import rules (`[tool.importlinter]` in its pyproject.toml) hold and would catch a break, and
`mypy --strict` finds nothing: the runner stands alone, and never imports slsgen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent  # runner/
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}  # the lambda_runner found in `root` comes first
    return subprocess.run(
        [str(LINT_IMPORTS), str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_every_import_contract_is_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "statement", "contract", "edge"),
    [
        # The template reader importing the event builders (as it once supplied their constants).
        (
            "lambda_runner/config/template.py",
            "from ..events import samples",
            "the runner's layers",
            "lambda_runner.config.template -> lambda_runner.events.samples",
        ),
        # The runner importing slsgen, which a project using the runner does not have.
        (
            "lambda_runner/sandboxes/worker.py",
            "from generator import settings",
            "the runner stands alone: it never imports slsgen, nor slsgen's own dependencies",
            "lambda_runner.sandboxes.worker -> generator",
        ),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path: Path, module: str, statement: str, contract: str, edge: str):
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "lambda_runner", tmp_path / "lambda_runner", ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / module
    path.write_text(path.read_text() + f"\n{statement}  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{contract} BROKEN" in result.stdout
    assert edge in result.stdout


def test_mypy_strict_finds_no_errors() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--config-file", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"mypy --strict found errors:\n{result.stdout}{result.stderr}"
    mypy_section = (ROOT / "pyproject.toml").read_text(encoding="utf-8").split("[tool.mypy]", 1)[1]
    assert "strict = true" in mypy_section
    assert "ignore_errors" not in mypy_section
