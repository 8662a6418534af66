"""Check-ins: the links and forms issued to clients, their uses and revocations.

``checkin list`` reads a client's check-ins with their status; the check-in page and
``checkin accept`` find a check-in by its token's SHA-256 here (the aggregate then checks
the hash again); ``due`` lists the check-ins that arrived since the client's last session.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from coachledger.projections.batch import dumps, utc_text
from coachledger.projections.db import ViewDB
from coachledger.projections.models import CheckinRow
from coachledger.projections.registry import on

NAME = "checkins"
TABLES = {
    "checkins": "CREATE TABLE IF NOT EXISTS checkins (seq INTEGER PRIMARY KEY, client_key INTEGER NOT NULL, "
    "checkin TEXT NOT NULL, kind TEXT NOT NULL, kpis TEXT NOT NULL, expires_at TEXT NOT NULL, "
    "token_hash TEXT NOT NULL, recorded_at TEXT NOT NULL, actor TEXT NOT NULL)",
    "checkin_changes": "CREATE TABLE IF NOT EXISTS checkin_changes (seq INTEGER PRIMARY KEY, "
    "client_key INTEGER NOT NULL, checkin TEXT NOT NULL, change TEXT NOT NULL, reason TEXT, "
    "measurements TEXT NOT NULL, amended TEXT NOT NULL, feedback TEXT, recorded_at TEXT NOT NULL, "
    "actor TEXT NOT NULL)",
}
INDEXES = (
    "CREATE INDEX IF NOT EXISTS checkins_by_stream ON checkins (client_key, seq)",
    "CREATE INDEX IF NOT EXISTS checkins_by_token ON checkins (token_hash)",
    "CREATE INDEX IF NOT EXISTS checkin_changes_by_stream ON checkin_changes (client_key, seq)",
)
UNKNOWN = 1 << 62
_ISSUED = "INSERT INTO checkins VALUES (?,?,?,?,?,?,?,?,?)"
_CHANGE = "INSERT INTO checkin_changes VALUES (?,?,?,?,?,?,?,?,?,?)"


def _issued(seq: int, key: int, d: Any, kind: str) -> tuple[Any, ...]:
    at = utc_text(d.expires_at)
    return (seq, key, d.checkin, kind, dumps(list(d.kpis)), at, d.token_hash, utc_text(d.timestamp), d.actor)


def _used(seq: int, key: int, d: Any) -> tuple[Any, ...]:
    return (
        *(seq, key, d.checkin, "used", None, dumps(list(d.measurements)), dumps(list(d.amended))),
        *(d.feedback, utc_text(d.timestamp), d.actor),
    )


@on("CheckinLinkIssued", _ISSUED)
def _link_issued(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    return _issued(seq, key, d, "link")


@on("CheckinFormIssued", _ISSUED)
def _form_issued(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    return _issued(seq, key, d, "form")


@on("CheckinLinkUsed", _CHANGE)
def _link_used(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    return _used(seq, key, d)


@on("CheckinFormUsed", _CHANGE)
def _form_used(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    return _used(seq, key, d)


@on("CheckinLinkRevoked", _CHANGE)
def _revoked(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    return (seq, key, d.checkin, "revoked", d.reason, "[]", "[]", None, utc_text(d.timestamp), d.actor)


def forget(db: Any, stream: str, key: int | None) -> None:
    for table in TABLES:
        db.execute(f"DELETE FROM {table} WHERE client_key = ?", (key,))


def by_token(db: ViewDB, token_hash: str) -> tuple[str, str] | None:
    """(client id, check-in id) of the check-in whose token has this SHA-256, if any."""
    row = db.execute(
        "SELECT c.client, k.checkin FROM checkins k JOIN clients c ON c.seq = k.client_key "
        "WHERE k.token_hash = ?",
        (token_hash,),
    ).fetchone()
    return None if row is None else (row[0], row[1])


def status(kind: str, expires_at: str, uses: int, revoked: bool, moment: str) -> str:
    """``revoked``; a form answered is ``used`` for good; else ``expired`` from its expiry on;
    else ``used`` once answered, ``issued`` before."""
    if revoked:
        return "revoked"
    if kind == "form" and uses:
        return "used"
    if moment >= expires_at:
        return "expired"
    return "used" if uses else "issued"


def client_checkins(db: ViewDB, key: int, moment: datetime, known_seq: int | None = None) -> list[CheckinRow]:
    """A client's check-ins in the order issued, with their status at ``moment``."""
    upto = known_seq if known_seq is not None else UNKNOWN
    changes: dict[str, list[tuple[str, str | None, str]]] = {}
    for checkin, change, reason, recorded_at in db.execute(
        "SELECT checkin, change, reason, recorded_at FROM checkin_changes WHERE client_key = ? AND seq <= ? "
        "ORDER BY seq",
        (key, upto),
    ).fetchall():
        changes.setdefault(checkin, []).append((change, reason, recorded_at))
    now = moment.astimezone(UTC).isoformat(timespec="microseconds")
    out = []
    for checkin, kind, kpis, expires_at, recorded_at, actor in db.execute(
        "SELECT checkin, kind, kpis, expires_at, recorded_at, actor FROM checkins "
        "WHERE client_key = ? AND seq <= ? ORDER BY seq",
        (key, upto),
    ).fetchall():
        seen = changes.get(checkin, [])
        uses = [at for change, _, at in seen if change == "used"]
        revoked = [(reason, at) for change, reason, at in seen if change == "revoked"]
        out.append(
            CheckinRow(
                checkin=checkin,
                kind=kind,
                kpis=json.loads(kpis),
                issued_at=recorded_at,
                issued_by=actor,
                expires_at=expires_at,
                status=status(kind, expires_at, len(uses), bool(revoked), now),
                uses=len(uses),
                last_used_at=uses[-1] if uses else None,
                revoked_at=revoked[0][1] if revoked else None,
                reason=revoked[0][0] if revoked else None,
            )
        )
    return out


def arrivals(db: ViewDB, known: int, until: str) -> list[dict[str, Any]]:
    """Every use of a check-in recorded by ``until`` (and known by sequence ``known``): what arrived."""
    rows = db.execute(
        "SELECT u.client_key, u.checkin, k.kind, k.kpis, u.measurements, u.amended, u.feedback, u.recorded_at, "
        "u.actor FROM checkin_changes u JOIN checkins k ON k.client_key = u.client_key AND k.checkin = u.checkin "
        "WHERE u.change = 'used' AND u.seq <= ? AND u.recorded_at <= ? ORDER BY u.seq",
        (known, until),
    ).fetchall()
    keys = ("key", "checkin", "via", "kpis", "measurements", "amended", "feedback", "arrived_at", "actor")
    out = []
    for row in rows:
        item = dict(zip(keys, row, strict=True))
        for field in ("kpis", "measurements", "amended"):
            item[field] = json.loads(item[field])
        out.append(item)
    return out


def due_checkins(cut: Any) -> list[dict[str, Any]]:
    """For ``due``: every check-in answered since its client's last session (before the as-of moment),
    for the coach to look at: due the day it arrived. A session logged after it (and not retracted)
    means it was seen."""
    if not cut.clients:
        return []
    keys = list(cut.clients)
    marks = ", ".join("?" for _ in keys)
    retracted = {
        (int(key), target)
        for key, target in cut.db.execute(
            f"SELECT client_key, target FROM record_fixes WHERE client_key IN ({marks}) AND seq <= ? "
            "AND kind = 'session' AND change = 'retracted'",
            (*keys, cut.known),
        ).fetchall()
    }
    last_session: dict[int, str] = {}
    numbers: dict[int, int] = {}  # sessions are numbered per client: s1, s2, ...
    for key, at in cut.db.execute(
        f"SELECT client_key, effective_at FROM sessions WHERE client_key IN ({marks}) AND seq <= ? ORDER BY seq",
        (*keys, cut.known),
    ).fetchall():
        numbers[int(key)] = numbers.get(int(key), 0) + 1
        if (int(key), f"s{numbers[int(key)]}") not in retracted and at <= cut.moment_text:
            last_session[int(key)] = max(last_session.get(int(key), ""), at)
    out = []
    for item in arrivals(cut.db, cut.known, cut.moment_text):
        key = int(item.pop("key"))
        if key not in cut.clients or item["arrived_at"] <= last_session.get(key, ""):
            continue
        c = cut.clients[key]
        arrived = datetime.fromisoformat(item["arrived_at"]).astimezone(UTC).date()
        out.append(
            {
                "kind": "checkin",
                "client": c["client"],
                "client_name": c["name"],
                "coach": c["coach"],
                "due": arrived.isoformat(),
                "days_late": (cut.day - arrived).days,
                **item,
            }
        )
    return out
