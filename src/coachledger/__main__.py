"""``python -m coachledger``."""

from coachledger.cli import main

main(prog_name="coachledger")
