"""A project made when slsgen copied its runner into every project (`lambda_runner/`) moves to the runner as a
dependency through `slsgen update`: unchanged runner files go, an edited one is kept and named with a hint, the
project's settings for the copy are dropped, and the project works (its own `make install test`).

The project is `data/image-resize-vendored-runner.tar.gz`: `slsgen new image-resize thumbs --no-input --no-git`
as slsgen's main made it before the runner became a distribution of its own (commit 869fb7f).
"""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest
from lambda_runner import __version__ as RUNNER_VERSION

from generator import snapshot

from helpers import SLSGEN, run

pytestmark = pytest.mark.e2e

DATA = Path(__file__).resolve().parent / "data" / "image-resize-vendored-runner.tar.gz"
EDITED = "lambda_runner/service/pricing.py"


def git(project: Path, *args: str) -> None:
    command = ["git", "-c", "user.email=dev@example.com", "-c", "user.name=dev", *args]
    subprocess.run(command, cwd=project, capture_output=True, text=True, check=True)


def test_an_image_resize_project_with_an_edited_vendored_file_moves_to_the_dependency(tmp_path):
    with tarfile.open(DATA) as archive:
        archive.extractall(tmp_path, filter="data")
    project = tmp_path / "thumbs"
    old_runner = sorted(path.relative_to(project).as_posix() for path in (project / "lambda_runner").rglob("*.py"))
    assert len(old_runner) > 40
    assert "lambda_runner" in (project / "pyproject.toml").read_text()
    pricing = project / EDITED
    pricing.write_text(pricing.read_text() + "\n# our team's local price list\n")
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "as generated, plus our edit")

    result = run([*SLSGEN, "update", "--no-input"], project)
    lines = result.stdout.splitlines()
    assert f"kept {EDITED}: the blueprint dropped it, but you changed it" in lines
    (hint,) = [line for line in lines if line.startswith("hint: ")]
    assert hint.startswith(f"hint: {EDITED}: your edits of the runner slsgen used to copy into the project")
    assert f"slsgen-runner {RUNNER_VERSION}" in hint
    assert "delete lambda_runner/" in hint
    assert not [line for line in lines if line.startswith("conflict")]

    left = [path.relative_to(project).as_posix() for path in (project / "lambda_runner").rglob("*") if path.is_file()]
    assert left == [EDITED]  # the edit kept, everything else of the old runner gone
    assert "our team's local price list" in pricing.read_text()
    pyproject = (project / "pyproject.toml").read_text()
    assert "lambda_runner/**" not in pyproject
    assert "per-file-target-version" not in pyproject
    assert f'"slsgen-runner=={RUNNER_VERSION}",' in pyproject
    assert "lambda_runner.pytest_plugin" not in (project / "tests" / "conftest.py").read_text()
    base = snapshot.read(project)
    assert base is not None
    assert not [path for path in base if path.startswith("lambda_runner/")]
    recorded = json.loads((project / ".slsgen.json").read_text())["files"]
    assert not [path for path in recorded if path.startswith("lambda_runner/")]

    run(["make", "install", "test"], project, timeout=600)
