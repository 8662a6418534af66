"""Keeping the views of a PostgreSQL ledger current as events arrive (``projections run --follow``).

Every insert transaction of the ledger sends ``NOTIFY stored_events`` (the library's
channel), delivered when it commits. The follower LISTENs first, then catches up, then
waits for a notification and catches up again. Catch-up is the read side's own
(``projections.runner.catch_up``): it applies events in seq order from the views'
tracked position and commits the views and the position together, under the views'
advisory lock. So the follower resumes exactly where it stopped, never applies an event
twice, and runs safely beside readers and other followers. Writers commit in seq order
(the table lock), so an event that commits late is never passed over.

A lost connection is logged and retried; SIGINT and SIGTERM stop it cleanly between two
chunks of events.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

import psycopg

from coachledger.adapters.files import StoreError
from coachledger.adapters.postgres import connect, parse_url
from coachledger.projections import runner
from coachledger.projections.db import open_views
from coachledger.projections.read import read_decryptor

CHANNEL = "stored_events"
WAKE_EVERY_S = 0.5  # how often a quiet follower looks at its stop flag
SAFETY_POLL_S = 30.0  # catch up even without a notification, now and then
RETRY_S = (1.0, 2.0, 5.0, 10.0, 30.0)

log = logging.getLogger("coachledger.projections")


class _Stop(Exception):
    """Raised between two chunks when a stop was asked for."""


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[list[int]]:
    """SIGINT and SIGTERM set ``stop``; the previous handlers come back afterwards."""
    received: list[int] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def follow(settings: Any, stop: threading.Event | None = None) -> int:
    """Keep every view of the PostgreSQL ledger current until stopped; returns events applied."""
    stop = stop or threading.Event()
    with stop_on_signals(stop) as received:
        applied = _follow(settings, stop)
    if received:
        log.info("stopped by %s; %s events applied", signal.Signals(received[0]).name, applied)
    else:
        log.info("stopped; %s events applied", applied)
    return applied


def keep_current(settings: Any, stop: threading.Event) -> int:
    """As ``follow``, in a thread of a process that handles its own signals (``coachledger serve``):
    until ``stop`` is set; returns the events applied."""
    try:
        return _follow(settings, stop)
    except Exception:  # the server's pages still catch the views up on every read
        log.exception("the view follower stopped")
        return 0


def _follow(settings: Any, stop: threading.Event) -> int:
    state = {"applied": 0, "connected": 0}
    failures = 0
    while not stop.is_set():
        try:
            _session(settings, stop, state)
            failures = 0
        except (psycopg.OperationalError, psycopg.InterfaceError, StoreError) as e:
            if not state["connected"]:
                raise  # never reached the store: one clear error line, not a retry loop
            wait = RETRY_S[min(failures, len(RETRY_S) - 1)]
            failures += 1
            log.warning("lost the connection (%s); retrying in %.0f s", " ".join(str(e).split()), wait)
            stop.wait(wait)
    return state["applied"]


def _session(settings: Any, stop: threading.Event, state: dict[str, int]) -> None:
    """One connected stretch: LISTEN, catch up, then catch up again on every notification."""
    store = settings.store
    listener = connect(parse_url(store.url), autocommit=True)
    try:
        db = open_views(settings)
    except BaseException:
        listener.close()
        raise
    state["connected"] = 1
    try:
        listener.execute(f"LISTEN {CHANNEL}")  # before catching up: nothing committed after is missed
        decrypt = read_decryptor(settings)
        runner.ensure(db)
        log.info(
            "following %s; views at %s of %s",
            store.describe(),
            min(runner.positions(db).values(), default=0),
            runner.head(db),
        )
        while not stop.is_set():
            state["applied"] += _catch_up(runner, db, decrypt, stop)
            _wait_for_events(listener, stop)
    except _Stop:
        pass
    finally:
        with contextlib.suppress(psycopg.Error):
            db.close()
        with contextlib.suppress(psycopg.Error):
            listener.close()


def _catch_up(runner: Any, db: Any, decrypt: Any, stop: threading.Event) -> int:
    done = 0

    def chunk(n: int) -> None:
        nonlocal done
        done += n
        if stop.is_set():
            raise _Stop

    try:
        runner.catch_up(db, decrypt, chunk)
    finally:
        if done:
            log.info("applied %s events; views at %s", done, min(runner.positions(db).values(), default=0))
    return done


def _wait_for_events(listener: psycopg.Connection[Any], stop: threading.Event) -> None:
    """Until a notification arrives, the safety poll is due, or a stop is asked for."""
    waited = 0.0
    while not stop.is_set() and waited < SAFETY_POLL_S:
        # Consume the generator fully: it holds the connection's lock while suspended.
        if list(listener.notifies(timeout=WAKE_EVERY_S, stop_after=1)):
            _drain(listener)
            return
        waited += WAKE_EVERY_S


def _drain(listener: psycopg.Connection[Any]) -> None:
    """Notifications that arrived together need one catch-up, not one each."""
    for _ in listener.notifies(timeout=0.01):  # (a zero timeout would mean none)
        pass
