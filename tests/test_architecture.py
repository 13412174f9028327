"""The import rules of slsgen's architecture (`[tool.importlinter]` in pyproject.toml) hold, and would catch a
break. The runner, a distribution of its own, checks its rules in its own tests (runner/tests/test_contracts.py)."""

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
    env = {**os.environ, "PYTHONPATH": str(root)}  # the package found in `root` comes first
    return subprocess.run(
        [str(LINT_IMPORTS), str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def with_import(tmp_path: Path, source: Path, package: str, module: str, statement: str) -> Path:
    """A copy of `package` and its contracts in tmp_path, with `statement` added to `module`: a break to catch."""
    shutil.copy(source / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(source / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / module
    path.write_text(path.read_text() + f"\n{statement}  # noqa\n")
    return tmp_path


def test_every_import_contract_is_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("source", "package", "module", "statement", "contract", "edge"),
    [
        # A low layer of slsgen importing a command.
        (
            ROOT,
            "generator",
            "generator/settings.py",
            "from . import cli",
            "slsgen's layers: commands on top, settings at the bottom",
            "generator.settings -> generator.cli",
        ),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path, source, package, module, statement, contract, edge):
    result = lint_imports(with_import(tmp_path, source, package, module, statement))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{contract} BROKEN" in result.stdout
    assert edge in result.stdout
