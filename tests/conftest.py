"""The suite on CI's two cores (`pytest -n 2`): the projects and virtual environments its tests share, built once
per session, and an order that starts the slowest work first.

Shared work. `matrix` generates each blueprint with each option set once per session, for every test that only
reads a project (the security scans, the template checks): under a file lock in the folder all of a session's
workers share, so two workers never build the same project; the second one waits for it, then reuses it.
`shared_venv` builds one virtual environment per dependency set with the project's own `make install` (the
dependencies, the dependency groups and the Python decide it; that install also writes the project's uv.lock), for
every test that runs a project's Makefile in a fresh venv (the CI commands): once per worker, since later targets
install their groups into it (`make lint`, `make validate`), which two workers must not do into one venv at the same
time.

Order. With `--dist loadgroup --no-loadscope-reorder` (pyproject's addopts), xdist hands out tests in collection
order, one unit at a time to whichever worker is free, so the order decides the wall time. Tests that share a
module-scoped fixture form one unit (one xdist group, so the fixture is built once). Units are ordered by how long
they took the last time this checkout ran them (pytest's cache, written at the end of every run), slowest first;
where there is no such record (a fresh clone, as on CI), end-to-end units first, the largest first. No hand-kept
table of timings.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from helpers import generate, run, shared_folder

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

DURATIONS_KEY = "slsgen/durations"


def pytest_configure(config: pytest.Config) -> None:
    """One uv cache for every project venv the tests build (`make install`, checkov's tool environment), linked
    into each venv rather than copied: uv's default on Linux, set here so that a user's UV_LINK_MODE=copy or
    UV_NO_CACHE does not make every end-to-end test copy or download its wheels again. Never a Python download:
    the tests use pyenv's or PATH's interpreters."""
    os.environ["UV_LINK_MODE"] = "hardlink"
    os.environ.pop("UV_NO_CACHE", None)
    os.environ["UV_PYTHON_DOWNLOADS"] = "never"
    # `slsgen new` locks only when a test asks (`--lock`): whether uv's cache could lock offline would otherwise
    # depend on what earlier tests downloaded. A project's first `make install` locks it, as for a user without uv.
    os.environ["SLSGEN_LOCK"] = "0"
    # Bytecode caches, as a user's shell has them (a CI image may set PYTHONDONTWRITEBYTECODE=1): a project's tools
    # (cfn-lint, moto, boto3) then compile once per virtual environment instead of at every command the tests
    # run, and `package` is tested against the __pycache__ folders a real project has.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False
    config.stash[_durations] = {}


_durations = pytest.StashKey[dict[str, float]]()


# --- what the session's tests share ----------------------------------------------------------------------------


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    with open(path.with_suffix(".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """`matrix(blueprint, *args)`: that project as `slsgen new BLUEPRINT NAME --no-input ARGS` generates it, made
    once per session (all workers): read it, never change it (copy it first)."""
    root = shared_folder(tmp_path_factory, "matrix")

    def project(blueprint: str, *args: str) -> Path:
        key = hashlib.sha256(json.dumps([blueprint, *args]).encode()).hexdigest()[:10]
        folder = root / key
        name = f"{blueprint.rsplit('/', 1)[-1]}-{key[:4]}"
        with locked(folder):
            if not (folder / name / ".slsgen.json").is_file():
                folder.mkdir(exist_ok=True)
                generate(folder, blueprint, name, *args)
        return folder / name

    return project


@pytest.fixture(scope="session")
def shared_venv(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], Path]:
    """`shared_venv(project)`: a virtual environment that `make install` built for a project with the same
    requirements, dependency groups and Python, once per worker. The project's Makefile uses it with `VENV=` it
    (its own variable); its stamps live inside it, so later `make install`s only audit it."""
    root = tmp_path_factory.mktemp("venvs")

    def venv_for(project: Path) -> Path:
        pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
        inputs = [
            pyproject["project"]["dependencies"],  # the functions' groups are among the dependency groups
            pyproject["dependency-groups"],
            pyproject["project"]["requires-python"],
            pyproject.get("tool", {}).get("uv", {}).get("sources", {}),
        ]
        key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:12]
        venv = root / key / ".venv"
        if not (venv / ".installed").is_file():
            run(["make", "install", f"VENV={venv}"], project, timeout=900)
        return venv

    return venv_for


# --- the order -------------------------------------------------------------------------------------------------


def module_fixture_unit(item: pytest.Item) -> str | None:
    """The test module whose tests share a module-scoped fixture with `item`, if it uses one (session-scoped ones
    are shared across workers through the file system instead: see the module docstring)."""
    info = getattr(item, "_fixtureinfo", None)  # pytest's own record of the fixtures an item uses
    if info is None:
        return None
    for definitions in info.name2fixturedefs.values():
        if definitions and definitions[-1].scope in ("module", "package") and definitions[-1].baseid:
            return item.path.stem
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the xdist_group marks set here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order the units slowest first: by the last run's durations if known, else end-to-end ones first."""
    cache = getattr(config, "cache", None)  # None with `-p no:cacheprovider`
    last: dict[str, float] = cache.get(DURATIONS_KEY, {}) if cache is not None else {}
    units: dict[str, list[pytest.Item]] = {}
    for item in items:
        unit = module_fixture_unit(item)
        if unit is not None:
            item.add_marker(pytest.mark.xdist_group(unit))
        units.setdefault(unit or item.nodeid, []).append(item)

    def cost(unit: str) -> tuple[float, float]:
        members = units[unit]
        known = sum(last.get(item.nodeid, 0.0) for item in members)
        end_to_end = sum(1 for item in members if item.get_closest_marker("e2e"))
        return (known, end_to_end) if last else (end_to_end, 0.0)

    order = sorted(units, key=cost, reverse=True)  # stable: equals keep their collection order
    items[:] = [item for unit in order for item in units[unit]]


_session: list[pytest.Session] = []  # the running session, for the report hook (which gets no config)


def pytest_sessionstart(session: pytest.Session) -> None:
    _session[:] = [session]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _session and report.when in ("setup", "call", "teardown"):
        durations = _session[0].config.stash.get(_durations, {})
        durations[report.nodeid] = durations.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Record this run's durations for the next run's order (on the controller: it sees every worker's reports)."""
    cache = getattr(session.config, "cache", None)
    if os.environ.get("PYTEST_XDIST_WORKER") or cache is None:
        return
    durations = session.config.stash.get(_durations, {})
    if durations:
        recorded = cache.get(DURATIONS_KEY, {})
        recorded.update({key: round(value, 2) for key, value in durations.items()})
        cache.set(DURATIONS_KEY, recorded)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The README lines the README tests did not run as written (`# needs AWS`, `# needs a terminal`), each with
    what was checked instead: a mark is reported, never silent (tests/readme_commands.py)."""
    lines = [
        f"{report.nodeid.split('::')[-1]}: {line}"
        for report in terminalreporter.stats.get("passed", [])
        if report.when == "call"
        for name, value in report.user_properties
        if name == "readme_not_run_as_written"
        for line in value
    ]
    if lines:
        terminalreporter.section("README lines not run as written")
        for line in lines:
            terminalreporter.line(line)
