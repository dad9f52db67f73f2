"""`python -m toksmith` runs the command line."""

from toksmith.cli import main

main()
