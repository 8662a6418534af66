"""Starting the server: check the ledger and the address, make the session key, run uvicorn.

uvicorn runs ``--workers N`` processes (each imports ``app.from_environment``); this process
puts the store and the key file in their environment. The ledger's views are brought up to
date here first, so that no worker starts with a long catch-up.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable
from pathlib import Path

from coachledger.errors import DomainError
from coachledger.projections.coaches import all_coaches
from coachledger.projections.read import ReadSide
from coachledger.settings import Settings
from coachledger.web.app import KEY_FILE_ENV, THREADS, THREADS_ENV
from coachledger.web.keyfile import ensure_key, key_file_for

APP = "coachledger.web.app:from_environment"


def url_of(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def check_address(host: str, port: int) -> None:
    """Refuse now, in one line, an address the server could not listen on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            why = "the address is in use" if e.errno == errno.EADDRINUSE else (e.strerror or str(e))
            raise DomainError(f"cannot listen on {host}:{port}: {why}") from None


def prepare(settings: Settings, key_file: Path | None) -> tuple[Path, int]:
    """The key file (made if missing), and how many coaches may sign in."""
    rs = ReadSide(settings)  # refuses a missing ledger; catches the views up
    try:
        coaches = [c for c in all_coaches(rs.db, rs.decrypt) if not c.disabled]
    finally:
        rs.close()
    path = key_file or key_file_for(settings.store)
    ensure_key(path)
    return path, len(coaches)


def serve(
    settings: Settings,
    host: str,
    port: int,
    workers: int,
    key_file: Path | None,
    say: Callable[[str], None],
) -> None:
    check_address(host, port)
    path, coaches = prepare(settings, key_file)
    # lazy: uvicorn only once everything is checked
    import uvicorn

    store = settings.store
    os.environ["COACHLEDGER_STORE"] = str(store.path) if store.kind == "sqlite" else store.url
    os.environ[KEY_FILE_ENV] = str(path)
    os.environ.setdefault(THREADS_ENV, str(THREADS))
    say(f"coachledger serve: {url_of(host, port)}")
    say(f"Ledger: {store.describe()}; session key: {path}; workers: {workers}")
    if not coaches:
        say("No coach can sign in yet: add one with 'coachledger coach add NAME' (the server need not stop).")
    uvicorn.run(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        server_header=False,
        log_level="info",
    )
