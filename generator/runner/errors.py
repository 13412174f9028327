"""Errors the local runner reports to its user.

`RunnerError` is a problem with the user's input (a missing template, an event file that is not JSON, an
unknown function): the command line prints its message on one line and exits with code 2. Failures of the
function itself are not exceptions of the runner: they are results, reported the way Lambda reports them.
"""

from __future__ import annotations


class RunnerError(Exception):
    """A one-line, user-facing problem with the runner's input; the message names the problem and the fix."""
