"""`python -m lambda_runner` (in a generated project) or `python -m lambda_runner` (in slsgen) runs the CLI."""

from .cli import main

raise SystemExit(main())
