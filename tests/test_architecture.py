"""The import rules of the architecture (`[tool.importlinter]` in pyproject.toml) hold, and would catch a break."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}  # the `generator` package found in `root` comes first
    return subprocess.run(
        [str(LINT_IMPORTS), str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def with_import(tmp_path: Path, module: str, statement: str) -> Path:
    """A copy of the package and its contracts in tmp_path, with `statement` added to `module`: a break to catch."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "generator", tmp_path / "generator", ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / module
    path.write_text(path.read_text() + f"\n{statement}  # noqa\n")
    return tmp_path


def test_every_import_contract_is_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "statement", "contract", "edge"),
    [
        # The template reader importing the event builders (as it once supplied their constants).
        (
            "generator/runner/config/template.py",
            "from ..events import samples",
            "the runner's layers",
            "generator.runner.config.template -> generator.runner.events.samples",
        ),
        # The runner importing the rest of slsgen, which is not copied into projects.
        (
            "generator/runner/sandboxes/worker.py",
            "from ... import settings",
            "the runner is copied into projects alone: it never imports the rest of slsgen",
            "generator.runner.sandboxes.worker -> generator.settings",
        ),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path: Path, module: str, statement: str, contract: str, edge: str):
    result = lint_imports(with_import(tmp_path, module, statement))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{contract} BROKEN" in result.stdout
    assert edge in result.stdout
