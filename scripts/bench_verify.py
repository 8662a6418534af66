"""Benchmark: verify the seal chain of 1,000,000 events in at most 10 s.

Builds a SQLite ledger of N sealed events (1,000 clients, interleaved, realistic
MeasurementRecorded payloads) by writing rows straight through
``sqlite_store.insert_sealed``, then times, in the same run and on the same rows:

- a raw read with the standard library's sqlite3 (the floor: every row fetched once);
- ``coachledger verify`` (``trust.verify``: the same rows, every seal recomputed).

Usage: python scripts/bench_verify.py [--events N] [--store PATH] [--limit SECONDS]
Exits 1 when verify takes longer than the limit, or finds the ledger broken.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from coachledger.adapters.codec import LedgerStoredEvent, encode
from coachledger.adapters.files import connect, immediate
from coachledger.adapters.sqlite import insert_sealed
from coachledger.ids import client_id
from coachledger.services.bootstrap import open_ledger
from coachledger.services.trust import verify
from coachledger.settings import Settings, parse_store

CLIENTS = 1_000
BATCH = 20_000
TOPIC = "coachledger:MeasurementRecorded"


def build(path: Path, events: int) -> None:
    """Write ``events`` sealed events (one transaction per batch), as fast as SQLite takes them."""
    settings = Settings(parse_store(str(path)), "bench")
    open_ledger(settings).close()  # the library's tables and the event index
    streams = [client_id(f"client-{i:04d}") for i in range(CLIENTS)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    conn = connect(path)
    conn.execute("PRAGMA synchronous=NORMAL")  # building the fixture only; verify reads it as stored
    written = 0
    while written < events:
        batch = []
        for n in range(written, min(written + BATCH, events)):
            stream = streams[n % CLIENTS]
            version = n // CLIENTS + 1
            moment = start + timedelta(seconds=n)
            state = encode(
                {
                    "timestamp": moment,
                    "actor": "maria",
                    "measurement_id": f"m{version}",
                    "kpi": "satisfaction",
                    "value": str(5 + n % 5),
                    "effective_at": moment,
                    "source": "survey",
                    "note": f"quarterly survey {uuid.UUID(int=n)}",
                }
            )
            batch.append(
                LedgerStoredEvent(
                    originator_id=stream,
                    originator_version=version,
                    topic=TOPIC,
                    state=state,
                    recorded_at=moment.isoformat(timespec="microseconds"),
                )
            )
        with immediate(conn):
            insert_sealed(conn, batch)
        written += len(batch)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def raw_read(path: Path) -> tuple[int, float]:
    """Every row of the two tables, fetched once with plain sqlite3: the floor for verify."""
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    cursor = conn.execute(
        "SELECT e.rowid, e.originator_id, e.originator_version, e.topic, e.state, "
        "i.originator_id, i.originator_version, i.seal "
        "FROM stored_events e LEFT JOIN event_index i ON i.seq = e.rowid ORDER BY e.rowid"
    )
    count = 0
    while rows := cursor.fetchmany(10_000):
        count += len(rows)
    conn.close()
    return count, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--store", type=Path, help="Reuse (or build) the ledger at this path.")
    parser.add_argument("--limit", type=float, default=10.0, help="Seconds verify may take.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.store or Path(tmp) / "bench.sqlite"
        if not path.exists():
            started = time.perf_counter()
            build(path, args.events)
            print(f"built {args.events:,} sealed events in {time.perf_counter() - started:.1f} s")
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        print(f"store: {path} ({size / 1e6:.0f} MB)")

        count, raw_s = raw_read(path)
        print(f"raw sqlite3 read:  {count:,} rows in {raw_s:.2f} s")
        started = time.perf_counter()
        result = verify(Settings(parse_store(str(path)), "bench"))
        verify_s = time.perf_counter() - started
        print(
            f"coachledger verify: {result.events:,} events in {verify_s:.2f} s "
            f"({verify_s / raw_s:.1f}x the raw read), head {result.head.hex()[:16]}…"
        )
    if not result.ok:
        print(f"FAIL: the ledger does not verify: {result.first_bad}", file=sys.stderr)
        return 1
    if verify_s > args.limit:
        print(f"FAIL: verify took {verify_s:.2f} s, more than {args.limit:.0f} s", file=sys.stderr)
        return 1
    print(f"OK: within {args.limit:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
