"""What one server process holds: its settings, its connections, its caches.

- Reads: each request thread keeps its own read side (``projections.read.ReadSide``: one
  connection), and brings the views up to date before each request, as every CLI read does
  (one freshness query when they are current). On PostgreSQL a follower thread also keeps
  them current as events arrive (``projections.follow``), so that pages rarely wait for it.
- Writes: one write side (``application.Ledger``) per process, used by one request at a time
  and recording as the signed-in coach; concurrent writers in other processes are the
  store's to order, as they are for the CLI.
- Caches: documents that cost more than a page should (the dashboard of a coach with
  hundreds of clients, a client's replay) are kept per process, keyed by what they depend
  on: the events they were made from (the store's head, or the client's last event) and
  the minute they are as of. Bounded: ``CACHE_SIZE`` documents each.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from coachledger.adapters.event_reads import head
from coachledger.projections import runner
from coachledger.projections.read import ReadSide
from coachledger.services.access import Viewer
from coachledger.services.bootstrap import open_ledger
from coachledger.settings import Settings
from coachledger.web.security import SignInLimits, Tokens

if TYPE_CHECKING:
    from coachledger.application import Ledger

CACHE_SIZE = 32
log = logging.getLogger("coachledger.web")


class Cache:
    """A small least-recently-used map, safe across threads."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


class Services:
    """One server process's view of the ledger."""

    def __init__(self, settings: Settings, key: bytes) -> None:
        self.settings = settings
        self.tokens = Tokens(key)
        self.limits = SignInLimits()
        # check-ins: requests per link (attempts), unknown links per address (per_name)
        self.checkin_limits = SignInLimits(attempts=60, failures=30, per_name=20)
        self.dashboards = Cache()
        self.replays = Cache()
        self._local = threading.local()
        self._write = threading.Lock()
        self._ledger: Ledger | None = None
        self._stop = threading.Event()
        self._follower: threading.Thread | None = None

    # -- reads ---------------------------------------------------------------------------

    def reads(self) -> ReadSide:
        """This thread's read side, with the views brought up to date."""
        rs: ReadSide | None = getattr(self._local, "reads", None)
        if rs is not None:
            try:
                runner.current(rs.db, rs.decrypt)
                return rs
            except Exception:  # a connection that broke (a restarted server): open a new one
                log.warning("reopening the read connection", exc_info=True)
                with contextlib.suppress(Exception):
                    rs.close()
        rs = self._local.reads = ReadSide(self.settings)
        return rs

    def head(self, rs: ReadSide) -> int:
        return head(rs.db)

    # -- writes --------------------------------------------------------------------------

    @contextlib.contextmanager
    def writing(self, viewer: Viewer) -> Iterator[Ledger]:
        """The write side, recording as ``viewer``, for one request at a time."""
        with self._write:
            if self._ledger is None:
                self._ledger = open_ledger(self.settings._replace(actor=viewer.name))
            self._ledger.actor = viewer.name
            yield self._ledger

    # -- keeping the views current (PostgreSQL) -------------------------------------------

    def start_following(self) -> None:
        if self.settings.store.kind != "postgres" or self._follower is not None:
            return
        # lazy: psycopg and the follower only for a PostgreSQL store
        from coachledger.projections.follow import keep_current

        self._follower = threading.Thread(
            target=keep_current, args=(self.settings, self._stop), name="coachledger-views", daemon=True
        )
        self._follower.start()

    def stop(self) -> None:
        self._stop.set()
        if self._follower is not None:
            self._follower.join(timeout=5)
        if self._ledger is not None:
            with contextlib.suppress(Exception):
                self._ledger.close()
