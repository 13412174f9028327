"""Where slsgen's data lives: the shared skeleton (`templates/`), the built-in blueprints (`blueprints/`) and the
local runner's wheel (`wheels/`), which every generated project carries.

In a source checkout they sit beside the package; in an installed wheel they are packed inside it as
`generator/_data/` (see pyproject's force-include). Looking in both places keeps `pip install .` and an editable
install equivalent.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """The folder `templates`, `blueprints` or `wheels`, from the wheel's data or the source checkout."""
    for candidate in (PACKAGE_DIR / "_data" / name, PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"slsgen's {name}/ folder is missing from {PACKAGE_DIR}: reinstall slsgen")


def skeleton_dir() -> Path:
    """The skeleton every generated project shares."""
    return data_dir("templates")


def builtin_blueprints_dir() -> Path:
    """The folder of built-in blueprints, one sub-folder each."""
    return data_dir("blueprints")


def runner_wheel() -> Path:
    """The runner's wheel (`slsgen_runner-<version>-py3-none-any.whl`) that generated projects install.

    It is built reproducibly from `runner/` and committed; a test rebuilds it and compares the bytes, so it can
    never be stale, and slsgen's own dependency on the runner names the same version.
    """
    (wheel,) = sorted(data_dir("wheels").glob("slsgen_runner-*.whl"))
    return wheel
