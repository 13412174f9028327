"""`mypy --strict` stays clean on all of generator/ (the runner checks itself: runner/tests/test_contracts.py).

Its configuration is pyproject's [tool.mypy]: Python 3.10 (the oldest Python slsgen runs on), and only
third-party modules without stubs (cookiecutter, ruff, tomli) skipped.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_strict_finds_no_errors_in_generator():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--config-file", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"mypy --strict found errors:\n{result.stdout}{result.stderr}"
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "strict = true" in config
    mypy_section = config.split("[tool.mypy]", 1)[1]
    assert "ignore_errors" not in mypy_section
    assert "exclude" not in mypy_section.split("\n[tool.", 1)[0]
