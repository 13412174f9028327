"""The import rules of the architecture (`[tool.importlinter]` in pyproject.toml) hold, and would catch a break."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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


def test_an_upward_import_in_the_runner_breaks_a_contract(tmp_path: Path) -> None:
    """The template reader importing the event builders (as it once supplied their constants) is refused."""
    result = lint_imports(with_import(tmp_path, "generator/runner/config/template.py", "from ..events import samples"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the runner's layers BROKEN" in result.stdout
    assert "generator.runner.config.template -> generator.runner.events.samples" in result.stdout


def test_the_runner_importing_slsgen_breaks_a_contract(tmp_path: Path) -> None:
    result = lint_imports(with_import(tmp_path, "generator/runner/sandboxes/worker.py", "from ... import settings"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "never imports the rest of slsgen BROKEN" in result.stdout
    assert "generator.runner.sandboxes.worker -> generator.settings" in result.stdout
