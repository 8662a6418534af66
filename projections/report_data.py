"""What only the client report asks of the views: change reasons and the ledger's receipt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coachledger.projections.db import ViewDB
from coachledger.projections.read import iso

_ALL = 1 << 62


def change_reasons(db: ViewDB, key: int, known_seq: int | None) -> dict[str, dict[str, str | None]]:
    """For each measurement id, the reason of its correction and of its retraction (by kind)."""
    rows = db.execute(
        "SELECT mid, kind, reason FROM measurement_changes WHERE client_key = ? AND seq <= ? ORDER BY seq",
        (key, _ALL if known_seq is None else known_seq),
    ).fetchall()
    out: dict[str, dict[str, str | None]] = {}
    for mid, kind, reason in rows:
        out.setdefault(mid, {})[kind] = reason
    return out


def receipt(db: ViewDB, known_at: datetime | None = None) -> dict[str, Any] | None:
    """The ledger's head seal and event count (as recorded by ``known_at``); None when unsealed."""
    if known_at is None:
        row = db.execute("SELECT count(*), max(seq) FROM event_index").fetchone()
    else:
        row = db.execute(
            "SELECT count(*), max(seq) FROM event_index WHERE seq <= "
            "(SELECT coalesce(max(seq), 0) FROM event_index WHERE recorded_at <= ?)",
            (iso(known_at),),
        ).fetchone()
    count, last = int(row[0] or 0), row[1]
    if not count or last is None:
        return None
    seal = db.execute("SELECT seal, recorded_at FROM event_index WHERE seq = ?", (last,)).fetchone()
    return {"events": count, "last_seq": int(last), "head": bytes(seal[0]).hex(), "recorded_at": seal[1]}
