"""The processes slsgen starts while it writes a project (git, ruff, a blueprint's checks) end when slsgen does.

A generation killed midway is rolled back by the next run, which removes its work folder; a child still writing
into that folder after the rollback would leave half a file behind. On Linux each child asks the kernel to kill it
when its parent dies (PR_SET_PDEATHSIG); elsewhere a child finishes its short job on its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any


def run(command: Sequence[str], **options: Any) -> subprocess.CompletedProcess[Any]:
    """`subprocess.run(command, **options)` for a child that must not outlive slsgen; its exit code is the
    caller's to read (no `check`)."""
    return subprocess.run(command, check=False, preexec_fn=_die_with(os.getpid()), **options)


def _die_with(parent: int) -> Callable[[], None]:
    """The `preexec_fn` that has the kernel SIGKILL the child when `parent` ends (safe: no threads run while
    slsgen generates).

    A parent killed between the fork and the request is not seen by the kernel: the child has a new parent by
    then, so it checks and ends itself.
    """

    if sys.platform != "linux":
        return lambda: None
    import ctypes

    prctl = ctypes.CDLL(None).prctl  # looked up before the fork: the child only makes two system calls
    pr_set_pdeathsig = 1

    def die_with_parent() -> None:
        prctl(pr_set_pdeathsig, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)

    return die_with_parent
