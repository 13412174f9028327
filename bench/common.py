"""What the bench scripts share: the bench environment (.bench/venv), a clean environment for the measured
tools, the one error that stops a bench instead of timing a broken run, and the table of timed commands."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VENV = ROOT / ".bench" / "venv"
Env = dict[str, str]


class BenchError(Exception):
    """A setup step or a run failed: the bench stops rather than time a broken run."""


def run_setup(venv: Path) -> float:
    """Create or refresh the bench venv with bench/setup.sh; return the seconds it took."""
    start = time.perf_counter()
    result = subprocess.run(["bash", str(ROOT / "bench" / "setup.sh"), str(venv)], check=False)
    if result.returncode != 0:
        raise BenchError(f"bench/setup.sh failed with exit code {result.returncode}")
    return time.perf_counter() - start


def find_uv() -> str | None:
    found = shutil.which("uv")
    if found:
        return found
    local = ROOT / ".venv" / "bin" / "uv"
    return str(local) if local.exists() else None


def tool_env(home: Path, venv: Path) -> Env:
    """The environment every measured tool runs in: a throw-away HOME, the bench venv first on PATH."""
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        SAM_CLI_TELEMETRY="0",
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        NO_COLOR="1",
    )
    # Users' interpreters cache bytecode (a CI-style PYTHONDONTWRITEBYTECODE would make every run recompile);
    # VIRTUAL_ENV would steer `slsgen invoke` away from the project's .venv; PYTHONUNBUFFERED would make every
    # tool write line by line.
    for name in (
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONUNBUFFERED",
        "VIRTUAL_ENV",
        "PYTHONPATH",
        "PYTHONSTARTUP",
        "PYTHONWARNINGS",
        "COOKIECUTTER_CONFIG",
        "__SAM_CLI_APP_DIR",
    ):
        env.pop(name, None)
    return env


def version_of(argv: list[str], env: Env, *, last_line: bool = False) -> str:
    """What a tool prints for its version (some print it last, after notices)."""
    result = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    lines = (result.stdout or result.stderr).strip().splitlines()
    return (lines[-1] if last_line else lines[0]) if lines else "?"


class Timed(Protocol):
    """A command timed over several runs (seconds)."""

    name: str
    times: list[float]

    @property
    def median(self) -> float: ...


def print_times(title: str, cases: Sequence[Timed], *, first: str, ratio: str) -> None:
    """Median, min and max in ms of each case, and its ratio to the first case's median (the reference)."""
    base = cases[0].median
    width = max(len(case.name) for case in cases)
    median_width, ratio_width = max(len("median ms"), 7), max(len(ratio), 8)
    print(f"\n{title}")
    print(f"  {first:<{width}}  {'median ms':>{median_width}}  {'min':>7}  {'max':>7}  {ratio:>{ratio_width}}")
    for case in cases:
        print(
            f"  {case.name:<{width}}  {case.median * 1000:{median_width}.1f}  {min(case.times) * 1000:7.1f}  "
            f"{max(case.times) * 1000:7.1f}  {case.median / base:{ratio_width - 1}.2f}x"
        )
