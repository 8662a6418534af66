"""The real server for the web tests: ``coachledger serve`` in its own process, on a free
loopback port, over a real ledger built through the command line; a plain HTTP client with
its own cookies; and Debian's Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import Cli

CHROMIUM = "/usr/bin/chromium"
PASSWORDS = {"maria": "maria's secret", "jonas": "jonas's secret", "lena": "lena's secret"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def a_practice(cli: Cli) -> None:
    """Two coaches and an admin; Ana (Maria's) with two KPIs measured since January, Ben (Jonas's)."""
    for name, password in PASSWORDS.items():
        cli.run("coach", "add", name, "--password-stdin", *(["--admin"] if name == "lena" else []), input=password + "\n")
    cli.run("client", "add", "ana-lopez", "--name", "Ana López", "--coach", "maria")
    cli.run("client", "add", "ben-okafor", "--name", "Ben Okafor", "--coach", "jonas", actor="jonas")
    cli.run(
        "kpi", "define", "ana-lopez", "satisfaction", "--name", "Job satisfaction",
        "--category", "job-satisfaction", "--unit", "points", "--direction", "increase",
        "--target", "8", "--due", "2030-12-31", "--scale", "1..10", "--dimension", "personal",
    )  # fmt: skip
    cli.run(
        "kpi", "define", "ana-lopez", "salary", "--name", "Base salary", "--category", "salary",
        "--unit", "EUR", "--direction", "increase", "--target", "85000", "--due", "2031-06-30",
    )  # fmt: skip
    cli.run("kpi", "baseline", "ana-lopez", "satisfaction", "4", "--at", "2026-01-05")
    cli.run("kpi", "baseline", "ana-lopez", "salary", "72000", "--at", "2026-01-05")
    cli.run("measure", "record", "ana-lopez", "satisfaction", "5", "--at", "2026-03-01")
    cli.run("measure", "record", "ana-lopez", "satisfaction", "6", "--at", "2026-06-01")
    cli.run("measure", "record", "ana-lopez", "salary", "76000", "--at", "2026-06-01")
    cli.run("kpi", "adjust", "ana-lopez", "salary", "--target", "90000", "--reason", "Offer from another firm")
    cli.run("session", "log", "ana-lopez", "--notes", "Planned the salary talk", "--kpi", "salary",
            "--action", "Draft the case")  # fmt: skip
    cli.run("feedback", "add", "ana-lopez", "--rating", "5", "--comment", "Clear next steps")
    cli.run(
        "kpi", "define", "ben-okafor", "stress", "--name", "Stress", "--category", "work-life-balance",
        "--unit", "points", "--direction", "decrease", "--target", "3", "--due", "2030-07-01", "--scale", "0..10",
    )  # fmt: skip


TESTS = Path(__file__).resolve().parent.parent


def practice(store: str) -> None:
    """``a_practice`` through the command line, in a process of its own that ends before the server
    starts (as a coach's terminal would: no connection of it stays open beside the server's)."""
    script = "import sys\nfrom conftest import Cli\nfrom web.served import a_practice\na_practice(Cli(sys.argv[1]))\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", script, store], cwd=TESTS, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def event_count(store: str) -> int:
    """Events in the store, counted on the store itself."""
    if store.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(store) as conn:
            row = conn.execute("SELECT count(*) FROM stored_events").fetchone()
    else:
        import sqlite3

        with sqlite3.connect(store) as conn:
            row = conn.execute("SELECT count(*) FROM stored_events").fetchone()
    assert row is not None
    return int(row[0])


@dataclass
class Server:
    """``coachledger serve`` in a process of its own."""

    store: str
    home: Path
    port: int = field(default_factory=free_port)
    workers: int = 1
    process: subprocess.Popen[str] | None = None
    said: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        env = {**os.environ, "XDG_CONFIG_HOME": str(self.home / "config"), "COACHLEDGER_STORE": ""}
        env.pop("COACHLEDGER_STORE")
        command = ["--store", self.store, "serve", "--port", str(self.port), "--workers", str(self.workers)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "coachledger", *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server stopped: {self.process.stdout.read() if self.process.stdout else ''}")
            try:
                status, _, _ = Client(self.url).get("/signin")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError("the server did not answer within 60 s")

    def stop(self) -> str:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                out, _ = self.process.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                out, _ = self.process.communicate()
            self.said = out
        return self.said


class Client:
    """A plain HTTP client with its own cookies (what a script, or another coach, would send)."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.cookies: dict[str, str] = {}
        self.set_cookies: list[str] = []  # the Set-Cookie headers of the last answer

    def request(
        self, method: str, path: str, form: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            text = response.read().decode("utf-8")
            self.set_cookies = [v for k, v in response.getheaders() if k.lower() == "set-cookie"]
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    value = rest.split(";", 1)[0]
                    if "Max-Age=0" in rest:
                        self.cookies.pop(key, None)
                    else:
                        self.cookies[key] = value
            return response.status, {k.lower(): v for k, v in response.getheaders()}, text
        finally:
            conn.close()

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, form: dict[str, Any]) -> tuple[int, dict[str, str], str]:
        return self.request("POST", path, form)

    def json(self, path: str) -> Any:
        status, _, text = self.get(path)
        assert status == 200, (status, text[:500])
        return json.loads(text)

    def csrf(self, path: str) -> str:
        status, _, text = self.get(path)
        assert status == 200, (status, text[:300])
        found = re.search(r'name="csrf" value="([^"]+)"', text)
        assert found is not None
        return found.group(1)

    def sign_in(self, name: str, password: str | None = None) -> Client:
        token = self.csrf("/signin")
        status, headers, text = self.post(
            "/signin", {"csrf": token, "name": name, "password": password or PASSWORDS[name], "next": "/dashboard"}
        )
        assert status == 303 and headers["location"] == "/dashboard", (status, text[:500])
        return self


@contextlib.contextmanager
def served(store: str, home: Path, workers: int = 1) -> Iterator[Server]:
    server = Server(store, home, workers=workers).start()
    try:
        yield server
    finally:
        said = server.stop()
        assert "Traceback" not in said, said[-3000:]


