"""The `slsgen` executable: project commands go straight to the project's runner, the rest to the Typer app.

`slsgen invoke` runs again and again while a function is developed. Importing Typer and the generator first
would make it slower than the runner it hands over to (bench/README.md), so the pass-through commands are picked
out of `sys.argv` here, before anything heavy is imported; `slsgen --help` still lists them (see `cli.py`).
Ctrl-C while those imports run is caught here, since no other handler exists yet.
"""

from __future__ import annotations

import sys

from .passthrough import RUNNER_COMMANDS  # only os, sys and slsgen's settings: nothing heavy before the hand-over


def main() -> None:
    """Run slsgen; an interrupt before the command line takes over (while modules load) ends quietly too."""
    try:
        dispatch(sys.argv[1:])
    except KeyboardInterrupt:
        print("\naborted: nothing was written", file=sys.stderr)
        sys.exit(130)


def dispatch(args: list[str]) -> None:
    if args and args[0] in RUNNER_COMMANDS:
        from .errors import SlsgenError
        from .passthrough import run

        try:
            sys.exit(run(args[0], args[1:]))
        except SlsgenError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(exc.exit_code)
    from .cli import main as cli_main

    cli_main()
