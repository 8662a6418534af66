"""s. The server: signed-in coaches browsing client pages of the 2,000-client demo ledger.

``coachledger serve`` runs in its own process on a free loopback port over the demo ledger
(``coachledger demo --clients 2000``, made once per workdir), each demo coach with an account.
Twenty users (threads of this process, plain ``http.client``, each with its own session) sign
in as the demo's five coaches, four each, and browse their coach's client pages for 30 s: a
page (``GET /clients/CLIENT``, the whole HTML page: progress, charts, goals, journal), then a
pause to read it (``THINK`` seconds, uniform), as a person clicks through a practice. Count and
time are bounded; nothing leaves the machine. After a 5 s warm-up of the same browsing, the
figure: p50 and p95 page time, and errors (any answer but 200, or no answer); the server's
CPU time per page; its memory (RSS of all its processes), sampled every second: at the start,
its highest, and at the end (flat: no growth). ``serve --workers 2`` (one per core).

Beside it, as the anchor, the CLI's ``progress CLIENT --json`` of the first client browsed
(median wall time of alternating runs): what a coach waits for at the terminal.

Also, for what it says about capacity and not against a goal: the same users without
pauses for a third of that time ("saturated"), pages per second and their p50 / p95.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_cases import Context
from bench_measure import alternate, bench_env, cli, med, ms, run, summary

USERS = 20
THINK = (0.5, 1.5)  # seconds a person spends on a page before the next click
WARM_UP = 5.0  # seconds of browsing before the figures (and the memory's start) are taken


def password(coach: str) -> str:
    return f"bench secret of {coach}"


def demo_store(ctx: Context, clients: int) -> str:
    """The demo ledger of ``clients`` clients, made once (on PostgreSQL: in a database of its own)."""
    if ctx.pg is not None:
        store = ctx.pg.url(f"demo{clients}")
        if not _has_events(store):
            run([*cli(), "demo", "--clients", str(clients), "--store", store], bench_env(store))
        return store
    path = ctx.workdir / f"demo-{clients}.sqlite"
    if not path.exists():
        run([*cli(), "demo", "--clients", str(clients), "--store", str(path)], bench_env(path))
    return str(path)


def _has_events(store: str) -> bool:
    result = run([*cli(), "--store", store, "client", "list", "--json"], bench_env(store), check=False)
    return result.returncode == 0 and bool(json.loads(result.stdout)["clients"])


def coaches_with_accounts(store: str) -> dict[str, list[str]]:
    """Each demo coach's clients; every coach gets an account, or a new password (``password``)."""
    env = bench_env(store)
    listed = json.loads(run([*cli(), "client", "list", "--json"], env).stdout)["clients"]
    theirs: dict[str, list[str]] = {}
    for c in listed:
        theirs.setdefault(c["coach"], []).append(c["client"])
    known = {c["coach"] for c in json.loads(run([*cli(), "coach", "list", "--json"], env).stdout)["coaches"]}
    for coach in sorted(theirs):
        subprocess.run(
            [*cli(), "coach", "password" if coach in known else "add", coach, "--password-stdin"],
            input=password(coach) + "\n",
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return theirs


class Session:
    """One signed-in user: a connection kept alive, and the session cookie."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict[str, str] | None = None) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            text = response.read().decode()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            return 0, ""
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        return response.status, text

    def sign_in(self, coach: str) -> None:
        _, page = self.request("GET", "/signin")
        found = re.search(r'name="csrf" value="([^"]+)"', page)
        assert found is not None, "no sign-in form"
        status, _ = self.request("POST", "/signin", {"csrf": found.group(1), "name": coach, "password": password(coach)})
        assert status == 303, f"sign-in of {coach} answered {status}"


def tree(pid: int) -> list[int]:
    """A process and all its descendants (the server and its workers)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def rss_mib(pid: int) -> float:
    """Resident memory of the server's processes, MiB."""
    total = 0
    for each in tree(pid):
        try:
            total += int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{each}/status").read_text()).group(1))  # type: ignore[union-attr]
        except (OSError, AttributeError):
            continue
    return total / 1024


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the server's processes have used: less disturbed by neighbours
    than wall time on a shared machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for each in tree(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / ticks


def browse(sessions: list[tuple[Session, list[str]]], seconds: float, think: tuple[float, float] | None) -> dict[str, Any]:
    """Every user browses its clients' pages until ``seconds`` have passed."""
    times: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def user(n: int, session: Session, slugs: list[str]) -> None:
        rng = random.Random(n)
        while time.monotonic() < deadline:
            slug = rng.choice(slugs)
            start = time.perf_counter()
            status, text = session.request("GET", f"/clients/{slug}")
            took = time.perf_counter() - start
            with lock:
                times.append(took)
                if status != 200 or ("progress-table" not in text and "No KPIs" not in text):
                    errors.append(status)
            if think is not None:
                time.sleep(rng.uniform(*think))

    threads = [threading.Thread(target=user, args=(n, s, c)) for n, (s, c) in enumerate(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ordered = sorted(times)
    return {
        "pages": len(times),
        "pages_per_s": round(len(times) / seconds, 1),
        "p50_ms": ms(statistics.median(ordered)),
        "p95_ms": ms(ordered[int(0.95 * (len(ordered) - 1))]),
        "max_ms": ms(ordered[-1]),
        "errors": len(errors),
        "error_statuses": sorted(set(errors)),
    }


def start_server(store: str, workers: int, home: Path) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**bench_env(store), "XDG_CONFIG_HOME": str(home / "config")}
    command = [*cli(), "--store", store, "serve", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"coachledger serve stopped ({process.returncode})")
        try:
            if Session(port).request("GET", "/signin")[0] == 200:
                return process, port
        except OSError:
            pass
        time.sleep(0.25)
    process.kill()
    raise RuntimeError("coachledger serve did not answer within 120 s")


def sampled(pid: int, during: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], list[float]]:
    """``during()``, with the server's memory sampled every second meanwhile."""
    samples = [rss_mib(pid)]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(1.0):
            samples.append(rss_mib(pid))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        figures = during()
    finally:
        done.set()
        sampler.join()
    samples.append(rss_mib(pid))
    return figures, samples


def bench_server(ctx: Context) -> None:
    """s. page times of 20 signed-in users browsing client pages, beside the CLI's progress --json."""
    clients, seconds = ctx.sizes.server_clients, ctx.sizes.server_seconds
    saturated_for = seconds / 3
    store = demo_store(ctx, clients)
    theirs = coaches_with_accounts(store)
    coaches = sorted(theirs)
    first = theirs[coaches[0]][0]
    env = bench_env(store)
    times = alternate({"progress": [*cli(), "progress", first, "--json"]}, env, ctx.sizes.runs)
    workers = min(2, os.cpu_count() or 1)
    process, port = start_server(store, workers, ctx.workdir)
    try:
        sessions = []
        for n in range(USERS):
            coach = coaches[n % len(coaches)]
            session = Session(port)
            session.sign_in(coach)
            slugs = theirs[coach] if n else [first, *theirs[coach]]
            session.request("GET", f"/clients/{slugs[0]}")
            sessions.append((session, slugs))
        browse(sessions, WARM_UP, THINK)  # each worker's threads and their connections get going
        used = cpu_s(process.pid)
        browsing, memory = sampled(process.pid, lambda: browse(sessions, seconds, THINK))
        browsing["server_cpu_ms_per_page"] = ms((cpu_s(process.pid) - used) / max(browsing["pages"], 1))
        saturated = browse(sessions, saturated_for, None)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    anchor = med(times["progress"])
    ctx.results[ctx.prefix + "server"] = {
        "what": f"{USERS} signed-in users browsing client pages (GET /clients/CLIENT, whole HTML page) for "
        f"{seconds:g} s, {THINK[0]:g}-{THINK[1]:g} s on each page; demo ledger of {clients} clients, "
        f"{len(coaches)} coaches; coachledger serve --workers {workers}",
        "anchor": f"coachledger progress {first} --json (median of {ctx.sizes.runs})",
        "anchor_ms": summary(times["progress"]),
        **browsing,
        "p95_vs_anchor": round(browsing["p95_ms"] / ms(anchor), 3),
        "server_rss_mib": {
            "start": round(memory[0], 1),
            "max": round(max(memory), 1),
            "end": round(memory[-1], 1),
            "growth": round(memory[-1] - memory[0], 1),
        },
        "saturated": {"what": f"the same users without pauses for {saturated_for:g} s", **saturated},
    }

