"""The runner's behaviour tests run in every execution mode: a test that takes `mode` gets one case per mode.

`--emulate` runs AWS's own runtime client (awslambdaric), so a behaviour tested in all three modes is checked
against the real runtime. A test whose behaviour is defined only for some modes says which with
`@pytest.mark.modes("isolated", ...)`, and the reason next to it.
"""

from __future__ import annotations

import pytest

ALL_MODES = ("inprocess", "isolated", "emulate")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "modes(*names): the runner modes a test that takes `mode` runs in")


def _names(argnames: str | tuple[str, ...] | list[str]) -> list[str]:
    return [name.strip() for name in argnames.split(",")] if isinstance(argnames, str) else list(argnames)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrized = any("mode" in _names(marker.args[0]) for marker in metafunc.definition.iter_markers("parametrize"))
    if "mode" in metafunc.fixturenames and not parametrized:  # a test may still list its own modes
        marker = metafunc.definition.get_closest_marker("modes")
        metafunc.parametrize("mode", marker.args if marker else ALL_MODES)
