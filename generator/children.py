"""The processes slsgen starts while it writes a project (git, ruff, a blueprint's checks) end when slsgen does.

A generation killed midway is rolled back by the next run, which removes its work folder; a child still writing
into that folder after the rollback would leave half a file behind. On Linux each child asks the kernel to kill it
when its parent dies (PR_SET_PDEATHSIG); elsewhere a child finishes its short job on its own.
"""

from __future__ import annotations

import signal
import sys


def die_with_slsgen() -> None:
    """`preexec_fn` of a child process: SIGKILL it when slsgen ends (safe: no threads run while slsgen generates)."""
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)
