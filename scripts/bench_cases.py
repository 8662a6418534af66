"""The benchmark's figures a to f, each beside its anchor (see bench.py)."""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_data import Ledger, PgServer, cached, fresh_copy, generate
from bench_measure import (
    PG_RAW_READ,
    PG_READ_ANCHOR,
    PG_WRITE_ANCHOR,
    PY,
    RAW_READ,
    READ_ANCHOR,
    WRITE_ANCHOR,
    Sizes,
    alternate,
    bench_env,
    cli,
    cpu_ratio,
    med,
    ms,
    run,
    summary,
    time_v,
    wall,
)

# -- the benchmarks ---------------------------------------------------------------------------


@dataclass
class Context:
    sizes: Sizes
    workdir: Path
    results: dict[str, Any]
    pg: PgServer | None = None

    @property
    def prefix(self) -> str:
        return "pg_" if self.pg else ""


def reading_store(ctx: Context) -> Ledger:
    s = ctx.sizes
    return cached(
        ctx.workdir,
        f"clients{s.clients}x{s.client_events}-big{s.big_events}",
        lambda url: generate(url, s.clients, s.client_events, big_events=s.big_events, snapshots=True),
        ctx.pg,
    )


def bench_write_read(ctx: Context) -> None:
    """a. write latency and b. read latency, anchors alternating with the commands."""
    s = ctx.sizes
    ledger = reading_store(ctx)
    store = ledger.url if ctx.pg else str(fresh_copy(ledger, ctx.workdir, "write"))
    env = bench_env(store)
    client = ledger.clients[len(ledger.clients) // 2]
    big = ledger.big or client
    write_anchor, read_anchor = (PG_WRITE_ANCHOR, PG_READ_ANCHOR) if ctx.pg else (WRITE_ANCHOR, READ_ANCHOR)
    record = [*cli(), "measure", "record", client, "satisfaction", "7", "--source", "survey"]
    record_big = [*cli(), "measure", "record", big, "satisfaction", "7", "--source", "survey"]
    times = alternate(
        {"anchor": [PY, "-c", write_anchor], "write": record, "write_big": record_big}, env, s.runs
    )
    anchor = med(times["anchor"])
    ctx.results[ctx.prefix + "write"] = {
        "what": f"measure record on a client with {s.client_events} events "
        f"(store: {ledger.events} events, {len(ledger.clients) + 1} clients)",
        "anchor": f'python -c "{write_anchor}"',
        "anchor_ms": summary(times["anchor"]),
        "command_ms": summary(times["write"]),
        "ratio": round(med(times["write"]) / anchor, 3),
        "cpu_ratio": cpu_ratio(times["write"], times["anchor"]),
        "big_client_ms": summary(times["write_big"]),
        "big_client_ratio": round(med(times["write_big"]) / anchor, 3),
        "big_client_events": s.big_events,
    }
    # b. reads: the views are caught up by the first (untimed) run of alternate().
    progress = [*cli(), "progress", client, "--json"]
    progress_big = [*cli(), "progress", big, "--json"]
    times = alternate(
        {"anchor": [PY, "-c", read_anchor], "read": progress, "read_big": progress_big}, env, s.runs
    )
    anchor = med(times["anchor"])
    ctx.results[ctx.prefix + "read"] = {
        "what": f"progress --json on a client with {s.client_events} events, views current",
        "anchor": f'python -c "{read_anchor}"',
        "anchor_ms": summary(times["anchor"]),
        "command_ms": summary(times["read"]),
        "ratio": round(med(times["read"]) / anchor, 3),
        "cpu_ratio": cpu_ratio(times["read"], times["anchor"]),
        "big_client_ms": summary(times["read_big"]),
        "big_client_ratio": round(med(times["read_big"]) / anchor, 3),
    }


def bench_as_of(ctx: Context) -> None:
    """e. as-of / known-at on the big client: in-process engine time and the whole command."""
    s = ctx.sizes
    ledger = reading_store(ctx)
    store = ledger.url if ctx.pg else str(fresh_copy(ledger, ctx.workdir, "asof"))
    env = bench_env(store)
    assert ledger.big is not None
    code = (
        "import json, statistics, sys, time\n"
        "from datetime import UTC, datetime, timedelta\n"
        "from coachledger.settings import Settings\n"
        "from coachledger.projections.read import ReadSide\n"
        "slug, calls = sys.argv[1], int(sys.argv[2])\n"
        "rs = ReadSide(Settings.from_values(None, None))\n"
        "now = datetime.now(tz=UTC)\n"
        "cases = {'now': (None, None), 'as_of': (now - timedelta(days=700), None),\n"
        "         'known_at': (None, now - timedelta(days=400)),\n"
        "         'both': (now - timedelta(days=900), now - timedelta(days=300))}\n"
        "out = {}\n"
        "for name, (as_of, known_at) in cases.items():\n"
        "    rs.progress(slug, as_of, known_at)\n"
        "    samples = []\n"
        "    for _ in range(calls):\n"
        "        t = time.perf_counter(); rs.progress(slug, as_of, known_at)\n"
        "        samples.append(time.perf_counter() - t)\n"
        "    out[name] = samples\n"
        "print(json.dumps(out))\n"
    )
    run([*cli(), "progress", ledger.big, "--json"], env)  # catch the views up first
    engine = json.loads(run([PY, "-c", code, ledger.big, str(s.engine_calls)], env).stdout)
    loads = (
        "import json, sys, time\n"
        "from eventsourcing.application import Repository\n"
        "from coachledger.services.bootstrap import open_ledger\n"
        "from coachledger.settings import Settings\n"
        "app = open_ledger(Settings.from_values(None, None))\n"
        "def best(repo):\n"
        "    times = []\n"
        "    for _ in range(3):\n"
        "        t = time.perf_counter(); client = repo.get(app.ids.client_id(sys.argv[1]))\n"
        "        times.append(time.perf_counter() - t)\n"
        "    return min(times), client.version\n"
        "plain, version = best(Repository(event_store=app.events))\n"
        "snap, _ = best(app.repository)\n"
        "print(json.dumps([plain, snap, version]))\n"
    )
    load, snapshotted, version = json.loads(run([PY, "-c", loads, ledger.big], env).stdout)
    as_of = (datetime.now(tz=UTC) - timedelta(days=900)).date().isoformat()
    known_at = (datetime.now(tz=UTC) - timedelta(days=300)).isoformat(timespec="seconds")
    command = [*cli(), "progress", ledger.big, "--as-of", as_of, "--known-at", known_at, "--json"]
    times = alternate({"command": command}, env, s.runs)
    worst = max(statistics.median(v) for name, v in engine.items() if name != "now")
    ctx.results[ctx.prefix + "as_of"] = {
        "what": f"ReadSide.progress of a client with {s.big_events} events, in-process (median per case)",
        "engine_ms": {name: summary(v) for name, v in engine.items()},
        "worst_case_median_ms": ms(worst),
        "worst_case_of": "as_of, known_at, both (the 'now' case is plain progress, shown for reference)",
        "command_ms": summary(times["command"]),
        "command": "progress CLIENT --as-of DATE --known-at DATETIME --json",
        "anchor": "the library's unsnapshotted load of that client (best of 3)",
        "anchor_ms": ms(load),
        "snapshotted_load_ms": ms(snapshotted),
        "client_version": version,
        "ratio": round(worst / load, 4),
    }


def bench_import(ctx: Context) -> None:
    """c. import throughput vs a raw sqlite3 bulk insert of the same rows."""
    s = ctx.sizes
    if ctx.pg:
        return
    probe = run([*cli(), "import", "--help"], bench_env(ctx.workdir / "none.sqlite"), check=False)
    if probe.returncode != 0:
        ctx.results["import"] = {"skipped": "the import command is not available yet"}
        return
    clients = max(1, s.import_events // s.client_events)
    source = cached(
        ctx.workdir,
        f"import{clients}x{s.client_events}",
        lambda url: generate(url, clients, s.client_events),
    )
    export = ctx.workdir / f"import{clients}x{s.client_events}.jsonl"
    if not export.exists():
        run([*cli(), "export", "--out", str(export)], bench_env(source.url))
    rows = raw_rows(Path(source.url))
    raw_times = [raw_insert(rows, ctx.workdir / f"raw-insert-{n}.sqlite", Path(source.url)) for n in range(3)]
    command_times = []
    for n in range(3):
        target = ctx.workdir / f"import-{n}.sqlite"
        for old in ctx.workdir.glob(target.name + "*"):
            old.unlink()
        command_times.append(wall([*cli(), "import", str(export)], bench_env(target)))
    raw_rate = len(rows) / statistics.median(raw_times)
    rate = len(rows) / statistics.median(command_times)
    ctx.results["import"] = {
        "what": f"import of an export of {len(rows)} events into an empty store (whole command)",
        "anchor": "raw sqlite3 executemany of the same (stream, version, topic, state) rows into the "
        "same stored_events table, one transaction, same pragmas",
        "anchor_rows_per_s": round(raw_rate),
        "anchor_ms": summary(raw_times),
        "command_rows_per_s": round(rate),
        "command_ms": summary(command_times),
        "ratio": round(rate / raw_rate, 3),
    }


def raw_rows(path: Path) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events ORDER BY rowid"
        ).fetchall()


def raw_insert(rows: list[tuple[Any, ...]], target: Path, like: Path) -> float:
    """Seconds to bulk-insert ``rows`` into an empty table with the store's own stored_events DDL."""
    from coachledger.adapters.files import PRAGMAS

    for old in target.parent.glob(target.name + "*"):
        old.unlink()
    with contextlib.closing(sqlite3.connect(like)) as src:
        ddl = [
            sql
            for (sql,) in src.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'stored_events' AND sql IS NOT NULL"
            )
        ]
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        for pragma in PRAGMAS:
            conn.execute(pragma)
        for sql in ddl:
            conn.execute(sql)
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO stored_events VALUES (?,?,?,?)", rows)
        conn.execute("COMMIT")
        return time.perf_counter() - start
    finally:
        conn.close()


def bench_rebuild_memory(ctx: Context) -> None:
    """d. rebuild throughput vs a raw read, and f. peak memory of rebuilds of growing stores."""
    s = ctx.sizes
    points = []
    for n in s.memory_events:
        clients = max(1, n // s.client_events)
        ledger = cached(
            ctx.workdir,
            f"rebuild{clients}x{s.client_events}",
            functools.partial(generate, clients=clients, client_events=s.client_events),
            ctx.pg,
        )
        env = bench_env(ledger.url)
        run([*cli(), "projections", "rebuild", "--json"], env)  # warm the file cache, create the views
        seconds, rss, out = time_v([*cli(), "projections", "rebuild", "--json"], env)
        doc = json.loads(out)
        rebuilt = doc["events"]
        # A big rebuild decodes in a helper process beside the command. GNU time gives the
        # larger of the two peaks; the figure is that plus the helper's own peak, an upper
        # bound of what both held at once.
        helper = float(doc.get("helper_max_rss_mib", 0.0))
        point: dict[str, Any] = {
            "events": rebuilt,
            "rebuild_s": round(seconds, 3),
            "rebuild_max_rss_mib": round(rss + helper, 1),
            "command_max_rss_mib": round(rss, 1),
            "helper_max_rss_mib": helper,
        }
        raw_s, raw_rss, raw_out = time_v([PY, "-c", PG_RAW_READ if ctx.pg else RAW_READ, ledger.url], env)
        assert int(raw_out) == rebuilt, (raw_out, rebuilt)
        point.update(raw_read_s=round(raw_s, 3), raw_read_max_rss_mib=round(raw_rss, 1))
        point["ratio"] = round(seconds / raw_s, 3)
        point["events_per_s"] = round(rebuilt / seconds)
        points.append(point)
    largest = points[-1]
    ctx.results[ctx.prefix + "rebuild"] = {
        "what": f"projections rebuild of {largest['events']} events (whole command)",
        "anchor": "psycopg reading every stored event row through a server-side cursor (whole process)"
        if ctx.pg
        else "python sqlite3 reading every (seq, stream, version, topic, state) row (whole process)",
        "anchor_s": largest["raw_read_s"],
        "command_s": largest["rebuild_s"],
        "events_per_s": largest["events_per_s"],
        "ratio": largest["ratio"],
    }
    ctx.results[ctx.prefix + "memory"] = {
        "what": "max RSS of projections rebuild (GNU time -v) plus its decoding helper's peak, by store size",
        "points": points,
        "peak_mib": largest["rebuild_max_rss_mib"],
        "growth_mib": round(largest["rebuild_max_rss_mib"] - points[0]["rebuild_max_rss_mib"], 1),
    }
