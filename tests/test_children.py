"""The processes slsgen starts while writing a project end with it, so none writes into a rolled-back work folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from generator import children

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")


def ended(pid: int) -> bool:
    """Whether `pid` is gone or a zombie (a container's init may never reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] in "ZX"
    except (FileNotFoundError, IndexError):
        return True


def test_a_child_ends_when_slsgen_is_killed(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    script = textwrap.dedent(
        f"""
        from generator import children
        children.run(["sh", "-c", "echo $$ > {pidfile}.tmp && mv {pidfile}.tmp {pidfile} && exec sleep 60"])
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 30
        while not pidfile.exists():
            assert time.monotonic() < deadline, "the child never started"
            time.sleep(0.01)
        child = int(pidfile.read_text())
        assert not ended(child)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 10
    while not ended(child):
        assert time.monotonic() < deadline, "the child outlived slsgen"
        time.sleep(0.01)


def test_a_child_whose_parent_died_before_it_asked_ends_itself() -> None:
    """The kernel only kills children of a parent alive when they ask; a child that asks too late sees its new
    parent and ends before running the command."""
    late = children._die_with(os.getpid() + 1_000_000)  # a parent that is not this child's: it already died
    result = subprocess.run(["sh", "-c", "exit 0"], preexec_fn=late, check=False)
    assert result.returncode == 1
    assert children.run(["sh", "-c", "exit 0"]).returncode == 0
