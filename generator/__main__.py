"""`python -m generator` runs the slsgen command line."""

from .cli import main

main()
