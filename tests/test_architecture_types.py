"""`mypy --strict` stays clean on generator/ (its configuration is pyproject's [tool.mypy]).

The runner (generator/runner/) is excluded for now: it is being restructured, and gets its types with that work.
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
    assert "strict = true" in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
