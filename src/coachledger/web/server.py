"""Starting the server: check the ledger, make the session key, listen, run uvicorn.

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


def listen(host: str, port: int) -> socket.socket:
    """The server's listening socket, or one line saying why there is none (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as e:
        sock.close()
        why = "the address is in use" if e.errno == errno.EADDRINUSE else (e.strerror or str(e))
        raise DomainError(f"cannot listen on {host}:{port}: {why}") from None
    sock.set_inheritable(True)
    return sock


def coaches_who_may_sign_in(settings: Settings) -> int:
    """How many coaches may sign in; refuses a missing ledger and catches its views up."""
    rs = ReadSide(settings)
    try:
        return len([c for c in all_coaches(rs.db, rs.decrypt) if not c.disabled])
    finally:
        rs.close()


def serve(
    settings: Settings,
    host: str,
    port: int,
    workers: int,
    key_file: Path | None,
    say: Callable[[str], None],
) -> None:
    coaches = coaches_who_may_sign_in(settings)
    sock = listen(host, port)
    port = int(sock.getsockname()[1])
    path = key_file or key_file_for(settings.store)
    try:
        ensure_key(path)
    except BaseException:
        sock.close()
        raise
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
    try:
        uvicorn.run(
            APP,
            factory=True,
            fd=sock.fileno(),  # the socket bound here: its port is the one printed (also for --port 0)
            workers=workers if workers > 1 else None,
            server_header=False,
            log_level="info",
        )
    finally:
        sock.close()
