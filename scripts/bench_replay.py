"""Benchmark: `coachledger replay` of one client with 2k, 4k and 8k events (it should grow linearly).

Each size builds a SQLite ledger of one client through the domain, under the demo's controlled
clock (three KPIs, a baseline each, then measurements, with a correction, a retraction and a
rescale now and then), appends it in one go, brings the views up to date, then times
``coachledger replay CLIENT --json`` in-process (the read side only).

Usage: python scripts/bench_replay.py [--sizes 2000,4000,8000] [--folder DIR]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner

from coachledger.adapters.codec import MsgspecMapper
from coachledger.cli import main
from coachledger.domain import Client
from coachledger.projections.read import ReadSide
from coachledger.services.demo import controlled_clock
from coachledger.services.transfer import bulk_append
from coachledger.settings import Settings

START = datetime(2024, 1, 1, 9, tzinfo=UTC)
KPIS = ("satisfaction", "stress", "skill")


def build(path: Path, events: int) -> Settings:
    settings = Settings.from_values(str(path), "bench")
    with controlled_clock() as clock:
        clock.set(START)
        client = Client.register("bench", "ana", "Ana", "maria")
        for kpi in KPIS:
            client.define_kpi(
                "bench", kpi, name=kpi, category="skill", unit="points", direction="increase",
                target=Decimal(9), due=START + timedelta(days=3000), now=START,
                scale_min=Decimal(0), scale_max=Decimal(10),
            )  # fmt: skip
            client.establish_baseline("bench", kpi, Decimal(2), START)
        i = 0
        while len(client.pending_events) < events:
            i += 1
            now = START + timedelta(hours=6 * i)
            clock.set(now)
            kpi = KPIS[i % len(KPIS)]
            low, high = client._scale_at(kpi, now)
            assert low is not None and high is not None
            value = low + (high - low) * Decimal(i % 97) / 100
            mid = client.record_measurement("bench", kpi, value, now - timedelta(days=i % 3))
            if i % 53 == 0:
                client.correct_measurement("bench", mid, value, "typo")
            if i % 71 == 0:
                client.retract_measurement("bench", mid, "wrong KPI")
            if i % 1500 == 0:
                client.adjust_kpi(
                    "bench", kpi, reason="rescale", effective_at=now,
                    scale_min=low * 2, scale_max=high * 2, rescale=True,
                )  # fmt: skip
    mapper = MsgspecMapper()
    bulk_append(settings, [mapper.to_stored_event(e) for e in client.collect_events()])  # type: ignore[misc]
    ReadSide(settings).close()  # the views, built before the timing starts
    return settings


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,4000,8000")
    parser.add_argument("--folder", type=Path, default=None)
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.mkdtemp(prefix="bench-replay-"))
    previous = None
    for size in (int(s) for s in args.sizes.split(",")):
        path = folder / f"replay-{size}.sqlite"
        path.unlink(missing_ok=True)
        build(path, size)
        began = time.perf_counter()
        with redirect_stdout(io.StringIO()):
            result = CliRunner().invoke(main, ["--store", str(path), "replay", "ana", "--json"])
        took = time.perf_counter() - began
        assert result.exit_code == 0, result.output
        growth = f"  (x{took / previous:.1f})" if previous else ""
        print(f"{size:>7} events: replay {took:6.2f} s{growth}")
        previous = took


if __name__ == "__main__":
    main_()
