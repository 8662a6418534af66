"""The check-in form's round trip in a real browser, at phone width: ``checkin form`` writes the
page, Debian's Chromium (driven by Playwright, never a downloaded browser) opens it from disk,
a client fills it and saves the answers (the download is captured), ``checkin accept`` records
them. An answer file edited to name another client or KPI, or accepted twice, writes nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Cli

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}


def _unavailable(reason: str) -> None:
    if os.environ.get("COACHLEDGER_REQUIRE_BROWSER"):
        pytest.fail(f"{reason} (COACHLEDGER_REQUIRE_BROWSER is set)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield launched
        finally:
            launched.close()


def a_client(cli: Cli) -> None:
    cli.run("client", "add", "ana-lopez", "--name", "Ana López", "--coach", "maria")
    cli.run("client", "add", "bo", "--name", "Bo")
    for client in ("ana-lopez", "bo"):
        cli.run(
            "kpi", "define", client, "satisfaction", "--name", "Job satisfaction", "--category",
            "job-satisfaction", "--unit", "points", "--direction", "increase", "--target", "8",
            "--due", "2099-12-31", "--scale", "1..10",
        )  # fmt: skip
    cli.run(
        "kpi", "define", "ana-lopez", "stress", "--name", "Stress <level>", "--category", "work-life-balance",
        "--unit", "points", "--direction", "decrease", "--target", "3", "--due", "2099-12-31", "--scale", "0..10",
    )  # fmt: skip
    cli.run("kpi", "define", "ana-lopez", "salary", "--name", "Salary", "--category", "salary", "--unit", "EUR",
            "--direction", "increase", "--target", "90000", "--due", "2099-12-31")  # fmt: skip
    cli.run("measure", "record", "ana-lopez", "satisfaction", "5", "--source", "self")
    cli.run("checkin", "form", "bo", "--out", os.devnull)  # Bo has a form c1 of his own


def fill_and_save(browser: Any, page_file: Path, saved: Path) -> dict[str, Any]:
    """What a client does with the form on a phone; returns what the page showed and did."""
    context = browser.new_context(viewport=PHONE, accept_downloads=True)
    page = context.new_page()
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(page_file.as_uri())
    seen = {
        "text": page.inner_text("main"),
        "width": page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        ),
        "legends": page.locator("legend").all_inner_texts(),
    }
    page.click("button[type=submit]")  # nothing filled in: the page asks for something, saves nothing
    seen["empty"] = page.inner_text("#status")
    page.fill("#v-satisfaction", "7.5")
    page.fill("#c-satisfaction", "8")
    page.fill("#n-satisfaction", "Better since the new project")
    page.fill("#v-stress", "4")
    page.check("input[name=rating][value='4']")
    page.fill("#comment", "Helpful session")
    with page.expect_download() as download:
        page.click("button[type=submit]")
    download.value.save_as(saved)
    seen.update(
        status=page.inner_text("#status"),
        filename=download.value.suggested_filename,
        requests=requests,
        problems=problems,
        button=page.locator("button[type=submit]").bounding_box(),
    )
    context.close()
    return seen


def test_the_form_round_trip_in_a_real_browser_at_phone_width(cli: Cli, browser: Any, tmp_path: Path) -> None:
    a_client(cli)
    form = tmp_path / "ana-checkin.html"
    cli.run("checkin", "form", "ana-lopez", "--kpi", "satisfaction", "--kpi", "stress", "--out", str(form))
    saved = tmp_path / "answers.json"
    seen = fill_and_save(browser, form, saved)

    assert "Your check-in, Ana López" in seen["text"] and "Last time you said 5" in seen["text"]
    assert seen["legends"][:2] == ["Job satisfaction", "Stress <level>"]  # escaped, shown as typed
    assert "Salary" not in seen["text"]  # only the form's KPIs
    assert seen["width"][0] <= seen["width"][1] == PHONE["width"]  # nothing wider than the phone
    assert seen["button"]["width"] <= PHONE["width"]
    assert seen["empty"] == "Please give at least one value or a rating."
    assert seen["requests"] == [form.as_uri()]  # no network, nothing outside the file
    assert seen["problems"] == []  # the page's style and script pass its Content-Security-Policy
    assert seen["filename"] == "checkin-ana-lopez-c1.json"
    assert "send this file to your coach" in seen["status"]
    answers = json.loads(saved.read_text("utf-8"))
    assert (answers["client"], answers["form"], answers["rating"], answers["comment"]) == (
        "ana-lopez", "c1", 4, "Helpful session",
    )  # fmt: skip
    assert answers["answers"] == [
        {"kpi": "satisfaction", "value": "7.5", "confidence": 8, "note": "Better since the new project"},
        {"kpi": "stress", "value": "4", "confidence": None, "note": None},
    ]

    before = cli.run("export").stdout.splitlines()[1:]
    for edit in ({"client": "bo"}, {"answers": [{"kpi": "salary", "value": "95000"}]}):
        edited = tmp_path / "edited.json"
        edited.write_text(json.dumps({**answers, **edit}), "utf-8")
        refused = cli.run("checkin", "accept", str(edited), ok=False)
        assert refused.exit_code == 1 and refused.stderr.startswith("Error: ")
        assert len(refused.stderr.splitlines()) == 1
    assert cli.run("export").stdout.splitlines()[1:] == before

    done = cli.run("checkin", "accept", str(saved)).stdout.strip()
    assert done == "Recorded check-in form c1 of ana-lopez: recorded m2, m3; feedback f1."
    measured = [e for e in cli.json("timeline", "ana-lopez")["events"] if e["type"] == "MeasurementRecorded"]
    assert [(e["actor"], e["data"]["value"], e["data"]["via"]) for e in measured[1:]] == [
        ("client:ana-lopez", 7.5, "form:c1"),
        ("client:ana-lopez", 4, "form:c1"),
    ]
    after = cli.run("export").stdout.splitlines()[1:]
    twice = cli.run("checkin", "accept", str(saved), ok=False)
    assert twice.exit_code == 1 and "already answered" in twice.stderr
    assert cli.run("export").stdout.splitlines()[1:] == after
