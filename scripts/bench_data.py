"""Realistic ledgers for the benchmark, generated through the real domain, codec and recorders; a PostgreSQL server."""

from __future__ import annotations

import contextlib
import heapq
import json
import os
import random
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench_measure import ACTOR, GENERATOR_VERSION

# -- generating realistic ledgers ------------------------------------------------------------

KPIS: tuple[dict[str, Any], ...] = (
    {
        "kpi": "salary",
        "name": "Base salary",
        "category": "salary",
        "unit": "EUR",
        "direction": "increase",
        "target": Decimal(85000),
        "scale": None,
        "dimension": "professional",
        "horizon": "long",
        "range": (60000, 90000, 250),
        "cadence": "quarterly",
    },
    {
        "kpi": "satisfaction",
        "name": "Job satisfaction",
        "category": "job-satisfaction",
        "unit": "points",
        "direction": "increase",
        "target": Decimal(8),
        "scale": (Decimal(1), Decimal(10)),
        "dimension": "personal",
        "horizon": "short",
        "range": (1, 10, 1),
    },
    {
        "kpi": "stress",
        "name": "Stress level",
        "category": "work-life-balance",
        "unit": "points",
        "direction": "decrease",
        "target": Decimal(3),
        "scale": (Decimal(0), Decimal(10)),
        "dimension": "personal",
        "horizon": "short",
        "range": (0, 10, 1),
        "cadence": "weekly",
    },
    {
        "kpi": "contacts",
        "name": "New contacts a month",
        "category": "networking",
        "unit": "people",
        "direction": "increase",
        "target": Decimal(50),
        "scale": None,
        "dimension": "professional",
        "horizon": "short",
        "range": (0, 60, 2),
    },
    {
        "kpi": "reports",
        "name": "Direct reports",
        "category": "promotion",
        "unit": "people",
        "direction": "increase",
        "target": Decimal(5),
        "scale": None,
        "dimension": "professional",
        "horizon": "long",
        "range": (0, 6, 1),
        "goal": "lead-team",
        "weight": Decimal(2),
    },
)
NOTES = ("weekly check-in", "after the review", "survey export", None, None, None)


def client_history(slug: str, n_events: int, start: datetime, end: datetime, seed: int) -> Iterator[Any]:
    """About ``n_events`` stored events of one client, from real domain commands, recorded start..end.

    Yields ``LedgerStoredEvent`` objects in version order, with recording times spread
    evenly (plus jitter) over the period; measurements are often back-dated a few days.
    """
    from coachledger.adapters.codec import MsgspecMapper
    from coachledger.domain import Client

    rng = random.Random(seed)
    mapper = MsgspecMapper()
    step = (end - start) / max(n_events, 1)
    clock = [start]

    def at(i: int) -> datetime:
        moment = start + step * i + timedelta(seconds=rng.uniform(0, step.total_seconds() * 0.5))
        clock[0] = max(clock[0] + timedelta(microseconds=1), moment)
        return clock[0]

    def emit(aggregate: Any, i: int) -> list[Any]:
        out = []
        for event in aggregate.collect_events():
            object.__setattr__(event, "timestamp", at(i))
            out.append(mapper.to_stored_event(event))
        return out

    i = 0
    client = Client.register(ACTOR, slug, f"Client {slug}", ACTOR)
    yield from emit(client, i)
    for goal, text, horizon in (
        ("lead-team", "Lead a team of five", "long"),
        ("balance", "Evenings free", "short"),
    ):
        i += 1
        client.set_goal(ACTOR, goal, text, horizon)
        yield from emit(client, i)
    due = end + timedelta(days=400)
    for spec in KPIS:
        i += 1
        scale = spec["scale"] or (None, None)
        client.define_kpi(
            ACTOR,
            spec["kpi"],
            name=spec["name"],
            category=spec["category"],
            unit=spec["unit"],
            direction=spec["direction"],
            target=spec["target"],
            due=due,
            now=start,
            scale_min=scale[0],
            scale_max=scale[1],
            dimension=spec["dimension"],
            horizon=spec["horizon"],
            goal=spec.get("goal"),
            cadence=spec.get("cadence", "monthly"),
            weight=spec.get("weight", Decimal(1)),
        )
        yield from emit(client, i)
    level = {s["kpi"]: (s["range"][0] + s["range"][1]) / 2 for s in KPIS}
    rescaled_at = start + (end - start) * 0.4  # stress moves from 0..10 to 0..100

    def value(kpi: str, effective: datetime) -> Decimal:
        low, high, unit = next(s["range"] for s in KPIS if s["kpi"] == kpi)
        level[kpi] = min(high, max(low, level[kpi] + rng.choice((-1, 0, 1, 1)) * unit))
        v = Decimal(int(level[kpi]))
        return v * 10 if kpi == "stress" and effective >= rescaled_at else v

    for spec in KPIS:
        i += 1
        client.establish_baseline(ACTOR, spec["kpi"], value(spec["kpi"], start), start, "survey", None)
        yield from emit(client, i)
    live: list[tuple[str, str, datetime]] = []
    rescaled = False
    kpi_ids = [s["kpi"] for s in KPIS]
    while client.version < n_events:
        i += 1
        now = start + step * i
        r = rng.random()
        if not rescaled and now >= rescaled_at:
            client.adjust_kpi(
                ACTOR,
                "stress",
                reason="HR survey moved to a 100-point scale",
                effective_at=rescaled_at,
                scale_min=Decimal(0),
                scale_max=Decimal(100),
                rescale=True,
            )
            rescaled = True
        elif r < 0.80:
            kpi = rng.choice(kpi_ids)
            effective = max(start, now - timedelta(days=rng.choice((0, 0, 1, 2, 7))))
            if kpi == "stress" and not rescaled and effective >= rescaled_at:
                effective = rescaled_at - timedelta(days=1)
            mid = client.record_measurement(
                ACTOR,
                kpi,
                value(kpi, effective),
                effective,
                rng.choice(("coach", "self", "survey")),
                rng.choice(NOTES),
                rng.randint(2, 10) if rng.random() < 0.7 else None,  # most check-ins say a confidence
            )
            live.append((mid, kpi, effective))
        elif r < 0.83 and live:
            mid, kpi, effective = rng.choice(live)
            client.correct_measurement(ACTOR, mid, value(kpi, effective), "typo in the survey export")
        elif r < 0.84 and live:
            mid, kpi, effective = live.pop(rng.randrange(len(live)))
            client.retract_measurement(ACTOR, mid, "recorded for the wrong client")
        elif r < 0.91:
            # The loop between sessions: last time's actions done or dropped, this time's agreed.
            for action, status in list(client.actions.items()):
                if status == "open" and rng.random() < 0.9:
                    if rng.random() < 0.85:
                        client.complete_action(ACTOR, action, rng.choice((None, "done before the session")))
                    else:
                        client.drop_action(ACTOR, action, "no longer relevant")
            client.log_session(
                ACTOR, now, "reviewed progress and next steps", rng.sample(kpi_ids, 2), ["update the CV"]
            )
            client.agree_actions(ACTOR, ["update the CV"])
        elif r < 0.99:
            client.receive_feedback(ACTOR, rng.randint(3, 5), "helpful session", "session", now)
        elif r < 0.995:
            loop_fix(client, rng, now)
        else:
            kpi = rng.choice(("salary", "contacts"))
            target = (
                Decimal(rng.choice((80000, 85000, 90000)))
                if kpi == "salary"
                else Decimal(rng.choice((40, 50)))
            )
            client.adjust_kpi(ACTOR, kpi, reason="agreed a new target", effective_at=now, target=target)
        yield from emit(client, i)


def loop_fix(client: Any, rng: random.Random, now: datetime) -> None:
    """Now and then: the balance goal moves through its lifecycle, an action due soon is opened,
    a session's notes are amended or a feedback retracted."""
    roll = rng.random()
    state = client.goal_state("balance")
    if roll < 0.4:
        if state == "open":
            client.achieve_goal(ACTOR, "balance", now, "evenings free")
        else:
            client.reopen_goal(ACTOR, "balance", now, "overtime is back")
    elif roll < 0.6:
        client.adjust_goal(ACTOR, "balance", reason="a clearer goal", effective_at=now, text="Two evenings free")
    elif roll < 0.8:
        client.open_action(ACTOR, "send the survey", now + timedelta(days=14), "satisfaction")
    elif roll < 0.9 and client.sessions:
        last = f"s{len(client.sessions)}"
        if not client.sessions[last]["retracted"]:
            client.amend_session(ACTOR, last, "completed the notes", notes="reviewed progress; agreed next steps")
    elif client.feedback and not client.feedback[f"f{len(client.feedback)}"]:
        client.retract_feedback(ACTOR, f"f{len(client.feedback)}", "entered for the wrong client")


@dataclass
class Ledger:
    """A generated store and what the benchmarks need to know about it."""

    url: str
    events: int
    clients: list[str] = field(default_factory=list)
    big: str | None = None
    kinds: dict[str, int] = field(default_factory=dict)


def generate(
    url: str,
    clients: int,
    client_events: int,
    *,
    big_events: int = 0,
    months: int = 12,
    seed: int = 7,
    snapshots: bool = False,
) -> Ledger:
    """Write a ledger: ``clients`` realistic clients (and one big client) interleaved by recording time.

    Events are appended through the store's own recorder in chunks, so they are sealed and
    indexed exactly as the write side does it; big clients then get a snapshot, as they
    would have had from regular writes (every 100 versions).
    """
    from coachledger.services.bootstrap import open_ledger
    from coachledger.settings import Settings

    end = datetime.now(tz=UTC) - timedelta(days=1)
    start = end - timedelta(days=30 * months)
    histories = []
    slugs = [f"client-{n:05d}" for n in range(clients)]
    for n, slug in enumerate(slugs):
        # Clients start at different times within the period.
        first = start + (end - start) * (n % 10) / 40
        histories.append(client_history(slug, client_events, first, end, seed * 100_003 + n))
    big = None
    if big_events:
        big = "big-client"
        histories.append(client_history(big, big_events, start - timedelta(days=365 * 4), end, seed))
    ledger = open_ledger(Settings.from_values(url, ACTOR))
    merged = heapq.merge(*histories, key=lambda s: s.recorded_at)
    total = 0
    chunk: list[Any] = []
    kinds: dict[str, int] = {}
    versions: dict[Any, int] = {}
    for stored in merged:
        name = stored.topic.partition(":")[2]
        kinds[name] = kinds.get(name, 0) + 1
        versions[stored.originator_id] = stored.originator_version
        chunk.append(stored)
        if len(chunk) == 5000:
            ledger.recorder.insert_events(chunk)
            total += len(chunk)
            chunk = []
    if chunk:
        ledger.recorder.insert_events(chunk)
        total += len(chunk)
    if snapshots:
        # As regular writes would have left them: one every 100 versions (the Ledger's interval).
        for slug in [*slugs, *([big] if big else [])]:
            version = versions[ledger.ids.client_id(slug)]
            if version >= 100:
                ledger.take_snapshot(ledger.ids.client_id(slug), version=version // 100 * 100)
    with contextlib.suppress(Exception):
        ledger.close()
    return Ledger(url=url, events=total, clients=slugs, big=big, kinds=kinds)


def cached(workdir: Path, name: str, make: Callable[[str], Ledger], pg: PgServer | None = None) -> Ledger:
    """A generated SQLite store kept in ``workdir`` between runs (same name, same generator)."""
    if pg is not None:
        return make(pg.url(name))
    path = workdir / f"{name}-g{GENERATOR_VERSION}.sqlite"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        return Ledger(**json.loads(meta.read_text()))
    for stale in workdir.glob(path.name + "*"):
        stale.unlink()
    ledger = make(str(path))
    meta.write_text(json.dumps(asdict(ledger)))
    return ledger


def fresh_copy(ledger: Ledger, workdir: Path, name: str) -> Path:
    """A private copy of a cached store (benchmarks that write must not change the cache)."""
    src = Path(ledger.url)
    dst = workdir / f"{name}.sqlite"
    for old in workdir.glob(dst.name + "*"):
        old.unlink()
    with contextlib.closing(sqlite3.connect(src)) as a, contextlib.closing(sqlite3.connect(dst)) as b:
        a.backup(b)
    dst.chmod(0o600)
    return dst


# -- PostgreSQL --------------------------------------------------------------------------------


class PgServer:
    """Databases created for this run on a local PostgreSQL server, dropped at the end."""

    def __init__(self, admin_url: str) -> None:
        import psycopg

        self.admin_url = admin_url
        self.psycopg = psycopg
        self.created: list[str] = []
        with psycopg.connect(admin_url, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")

    def url(self, name: str) -> str:
        db = f"coachledger_bench_{os.getpid()}_{re.sub(r'[^a-z0-9]', '_', name)}"
        with self.psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db}")
            conn.execute(f"CREATE DATABASE {db}")
        self.created.append(db)
        base = self.admin_url.rsplit("/", 1)[0]
        return f"{base}/{db}"

    def drop_all(self) -> None:
        with self.psycopg.connect(self.admin_url, autocommit=True) as conn:
            for db in self.created:
                conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        self.created.clear()
