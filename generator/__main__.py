"""`python -m generator`: slsgen's command line, as the `slsgen` executable runs it.

`-m` puts the current folder first on the import path; in a project that folder may hold packages of its own
(an older project's copy of the runner, `lambda_runner/`), which must not stand in for slsgen's dependencies.
"""

import os
import sys

if sys.path and sys.path[0] in ("", os.getcwd()) and not os.path.isdir(os.path.join(os.getcwd(), "generator")):
    del sys.path[0]

from generator.entry import main

main()
