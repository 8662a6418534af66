"""The benchmark's sizes and how it measures: alternating runs, wall and CPU time, max RSS."""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
GENERATOR_VERSION = 5  # 5: the coaching loop (confidence, actions, goal lifecycle, fixes)
ACTOR = "maria"
WRITE_ANCHOR = "import click, msgspec, eventsourcing.application, eventsourcing.sqlite"
READ_ANCHOR = "import click"
# On PostgreSQL the floors import the library's PostgreSQL module and the driver instead.
PG_WRITE_ANCHOR = "import click, msgspec, eventsourcing.application, eventsourcing.postgres"
PG_READ_ANCHOR = "import click, psycopg"
RAW_READ = (
    "import sqlite3, sys\n"
    "conn = sqlite3.connect(sys.argv[1])\n"
    "n = 0\n"
    "for row in conn.execute("
    "'SELECT rowid, originator_id, originator_version, topic, state FROM stored_events ORDER BY rowid'):\n"
    "    n += 1\n"
    "print(n)\n"
)
PG_RAW_READ = (
    "import psycopg, sys\n"
    "with psycopg.connect(sys.argv[1]) as conn, conn.cursor(name='raw') as cur:\n"
    "    cur.itersize = 5000\n"
    "    cur.execute('SELECT notification_id, originator_id, originator_version, topic, state "
    "FROM stored_events ORDER BY notification_id')\n"
    "    print(sum(1 for _ in cur))\n"
)
GOALS = {
    "write": ("ratio", "<=", 1.3),
    "read": ("ratio", "<=", 1.5),
    "import": ("ratio", ">=", 0.5),
    "rebuild": ("ratio", "<=", 4.0),
    "as_of": ("ms", "<=", 20.0),
    "memory": ("MiB", "<=", 80.0),
    "server": ("ms", "<=", 150.0),
}


# -- sizes ---------------------------------------------------------------------------------


@dataclass
class Sizes:
    runs: int = 15  # timed runs of each short command (and of its anchor)
    clients: int = 30  # clients in the write/read store
    client_events: int = 300  # a realistic client: a year of weekly sessions and measurements
    big_events: int = 10_000  # the as-of / known-at client
    import_events: int = 100_000
    memory_events: tuple[int, ...] = (250_000, 1_000_000)  # the largest is also the rebuild figure
    engine_calls: int = 30  # in-process as-of / known-at calls per case
    server_clients: int = 2000  # the demo ledger the server figure browses
    server_seconds: float = 30.0  # how long its users browse

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            runs=10,
            clients=8,
            import_events=20_000,
            memory_events=(25_000, 100_000),
            engine_calls=15,
            server_clients=300,
            server_seconds=10.0,
        )


# -- measuring -----------------------------------------------------------------------------


def cli() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m coachledger``."""
    script = Path(PY).parent / "coachledger"
    return [str(script)] if script.exists() else [PY, "-m", "coachledger"]


def bench_env(store: str | Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COACHLEDGER_")}
    env.update(COACHLEDGER_STORE=str(store), COACHLEDGER_ACTOR=ACTOR)
    return env


def run(cmd: Sequence[str], env: dict[str, str], *, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(list(cmd), env=env, capture_output=True, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}): {result.stderr.decode()[-2000:]}")
    return result


def timed(cmd: Sequence[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run; CPU time is less disturbed by neighbours."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err.read().decode()[-2000:]}")
    return seconds, usage.ru_utime + usage.ru_stime


def wall(cmd: Sequence[str], env: dict[str, str]) -> float:
    return timed(cmd, env)[0]


Samples = list[tuple[float, float]]


def alternate(cases: dict[str, Sequence[str]], env: dict[str, str], runs: int) -> dict[str, Samples]:
    """Run each case ``runs`` times, round-robin, after one untimed warm-up run each."""
    for cmd in cases.values():
        run(cmd, env)
    times: dict[str, Samples] = {name: [] for name in cases}
    for _ in range(runs):
        for name, cmd in cases.items():
            times[name].append(timed(cmd, env))
    return times


def med(samples: Samples) -> float:
    """Median wall seconds."""
    return statistics.median(w for w, _ in samples)


def cpu_ratio(samples: Samples, anchor: Samples) -> float:
    return round(statistics.median(c for _, c in samples) / statistics.median(c for _, c in anchor), 3)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def summary(samples: Sequence[float] | Samples) -> dict[str, Any]:
    walls = [s[0] if isinstance(s, tuple) else s for s in samples]
    out = {
        "median_ms": ms(statistics.median(walls)),
        "min_ms": ms(min(walls)),
        "max_ms": ms(max(walls)),
        "runs": len(walls),
    }
    cpus = [s[1] for s in samples if isinstance(s, tuple)]
    if cpus:
        out["cpu_median_ms"] = ms(statistics.median(cpus))
    return out


def time_v(cmd: Sequence[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, max RSS in MiB (GNU time -v) and stdout of one run."""
    gnu_time = shutil.which("time") or "/usr/bin/time"
    start = time.perf_counter()
    result = run([gnu_time, "-v", *cmd], env)
    seconds = time.perf_counter() - start
    found = re.search(rb"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    if found is None:
        raise RuntimeError("GNU time -v printed no maximum resident set size")
    return seconds, int(found.group(1)) / 1024, result.stdout.decode()
