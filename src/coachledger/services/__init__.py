"""Application services: the jobs the command line (and later the web face) run on a ledger."""
