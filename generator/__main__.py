"""`python -m generator` runs the slsgen command line."""

from .entry import main

main()
