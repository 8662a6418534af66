#!/usr/bin/env python
"""The README's screenshots of ``coachledger serve``: the dashboard and a client's page.

Makes the demo ledger in a temporary folder, gives its coach maria an account, starts the
server on a free loopback port, signs in with Debian's Chromium (Playwright, never a
downloaded browser) and writes docs/img/dashboard.png and docs/img/client.png.

Usage:  python scripts/web_screenshots.py [--out docs/img] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a demo password"
AS_OF = "2026-10-30"  # the demo's last day


def coachledger(*args: str, store: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "coachledger", "--store", store, *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"coachledger {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "docs" / "img"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="coachledger-shots-") as folder:
        store = str(Path(folder) / "demo.sqlite")
        coachledger("demo", store=store)
        coachledger("coach", "add", "maria", "--password-stdin", store=store, stdin=PASSWORD + "\n")
        port = free_port()
        env = {**os.environ, "XDG_CONFIG_HOME": str(Path(folder) / "config")}
        server = subprocess.Popen(
            [sys.executable, "-m", "coachledger", "--store", store, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(url + "/signin", timeout=2).read()
                    break
                except OSError:
                    time.sleep(0.2)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1280, "height": 1000}, device_scale_factor=1)
                page.goto(url + "/signin")
                page.fill("#name", "maria")
                page.fill("#password", PASSWORD)
                page.click("#signin button[type=submit]")
                page.wait_for_url("**/dashboard")
                page.screenshot(path=str(out / "dashboard.png"))
                page.goto(f"{url}/clients/ana-lopez?as_of={AS_OF}")
                page.screenshot(path=str(out / "client.png"), clip={"x": 0, "y": 0, "width": 1280, "height": 1365}, full_page=True)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"wrote {out / 'dashboard.png'} and {out / 'client.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
