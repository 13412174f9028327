"""The runner's wheel that every generated project carries (wheels/) is exactly what runner/ builds: never stale.

The wheel is committed rather than built at generation time, so that `slsgen new` works offline from an
editable install, a source checkout and slsgen's own wheel alike. This test keeps it honest: rebuilding the runner
from its source gives the same bytes, and slsgen depends on exactly that version.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

from helpers import run

ROOT = Path(__file__).resolve().parent.parent


def test_the_committed_wheel_is_the_runner_built_from_source(tmp_path):
    (committed,) = (ROOT / "wheels").glob("*.whl")
    run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)], ROOT / "runner")
    (built,) = tmp_path.glob("*.whl")
    fix = "rebuild it: cd runner && rm ../wheels/*.whl && python -m hatchling build -t wheel -d ../wheels"
    assert built.name == committed.name, fix
    assert built.read_bytes() == committed.read_bytes(), fix


def test_slsgen_depends_on_exactly_the_wheels_version():
    (committed,) = (ROOT / "wheels").glob("*.whl")
    version = committed.name.split("-")[1]
    init = (ROOT / "runner" / "lambda_runner" / "__init__.py").read_text(encoding="utf-8")
    assert re.search(r'^__version__ = "(.+)"$', init, re.MULTILINE)[1] == version
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    assert f"slsgen-runner=={version}" in dependencies
    changelog = (ROOT / "runner" / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## {version}" in changelog
