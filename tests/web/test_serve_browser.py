"""``coachledger serve`` in a real browser: Debian's Chromium through Playwright, against the real
server in its own process, over a ledger built through the command line.

A coach signs in, opens a client, records a measurement through the form and sees the progress
and the chart change, travels back to an earlier date, steps through the replay, and sees a bad
value refused beside its field with nothing written. Everything also works with JavaScript off.
The key flow runs on both stores (PostgreSQL with two server processes).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from web.served import PASSWORDS, Server, event_count, practice, served


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("serve")
    store = str(home / "ledger.sqlite")
    practice(store)
    with served(store, home) as running:
        yield running


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    opened = context.new_page()
    problems: list[str] = []
    opened.on("console", lambda m: problems.append(m.text) if m.type == "error" and "status of 4" not in m.text else None)
    opened.on("pageerror", lambda e: problems.append(str(e)))
    yield opened
    context.close()
    assert problems == []  # no script error, no Content-Security-Policy violation


def sign_in(page: Any, name: str = "maria") -> None:
    page.goto("/")
    assert page.url.endswith("/signin?next=%2Fdashboard")
    page.fill("#name", name)
    page.fill("#password", PASSWORDS[name])
    page.click("#signin button[type=submit]")
    page.wait_for_url("**/dashboard")


def cell(page: Any, kpi: str, column: str = "current") -> str:
    return str(page.inner_text(f'#progress-table tr[data-kpi="{kpi}"] td.{column}')).strip()


def chart(page: Any, kpi: str) -> str:
    return str(page.inner_html(f"#kpi-{kpi} svg.chart"))


def test_a_coach_signs_in_and_sees_only_their_clients(page: Any) -> None:
    sign_in(page)
    assert page.inner_text("h1").startswith("My clients")
    clients = page.inner_text("table.clients")
    assert "Ana López" in clients and "Ben Okafor" not in clients
    assert "Planned" not in page.inner_text("#feedback")
    assert "Clear next steps" in page.inner_text("#feedback")  # recent feedback
    assert "Draft the case" in page.inner_text("#actions")  # open actions
    assert page.inner_text("dl.figures").startswith("Clients\n1")  # the portfolio of her one client


def test_recording_a_measurement_changes_the_progress_and_the_chart(page: Any, server: Server) -> None:
    sign_in(page)
    page.click("table.clients >> text=ana-lopez")
    page.wait_for_url("**/clients/ana-lopez")
    assert cell(page, "satisfaction") == "6"
    before_chart, before_pct = chart(page, "satisfaction"), cell(page, "satisfaction", "pct")
    assert page.locator("#kpi-satisfaction svg.chart .measurement").count() == 2
    events = event_count(server.store)
    page.select_option("#m-kpi", "satisfaction")
    page.fill("#m-value", "7.5")
    page.fill("#m-at", "2026-09-01")
    page.click("#measure button[type=submit]")
    page.wait_for_url("**/clients/ana-lopez?done=measurement")
    assert "Measurement recorded." in page.inner_text("p.done")
    assert cell(page, "satisfaction") == "7.5"
    assert cell(page, "satisfaction", "pct") != before_pct
    assert page.locator("#kpi-satisfaction svg.chart .measurement").count() == 3
    assert chart(page, "satisfaction") != before_chart
    assert event_count(server.store) == events + 1


def test_moving_the_as_of_date_shows_earlier_values(page: Any) -> None:
    sign_in(page)
    page.goto("/clients/ana-lopez")
    page.fill("#as_of", "2026-04-01")
    page.click("#travel button[type=submit]")
    page.wait_for_url("**/clients/ana-lopez?as_of=2026-04-01*")
    assert cell(page, "satisfaction") == "5"  # March's value; June's was not true yet
    assert (cell(page, "salary", "baseline"), cell(page, "salary")) == ("72,000", "-")  # no measurement yet
    assert "As of 2026-04-01" in page.inner_text("#asof-line")
    page.fill("#as_of", "2026-13-01")
    page.click("#travel button[type=submit]")
    assert "is not an ISO date" in page.inner_text("#as_of-error")
    page.click("text=Back to now")
    assert cell(page, "satisfaction") != "5"


def test_known_at_shows_what_had_been_recorded_then(page: Any) -> None:
    sign_in(page)
    page.goto("/clients/ana-lopez/history/salary")
    recorded = page.inner_text("#v2 td:nth-child(4)")  # the salary adjustment's recording time
    page.goto("/clients/ana-lopez?known_at=2000-01-01")
    assert "Nothing had been recorded" in page.inner_text("main")
    assert recorded


def test_stepping_through_the_replay(page: Any) -> None:
    sign_in(page)
    page.goto("/clients/ana-lopez")
    page.click("header.client >> text=Replay")
    total = int(re.search(r"of (\d+)", page.inner_text("#step-of")).group(1))  # type: ignore[union-attr]
    assert page.inner_text("#step-of") == f"Step 1 of {total}"
    assert page.inner_text("#step-summary").startswith("Registered Ana López")
    page.click("#next")
    assert page.inner_text("#step-of") == f"Step 2 of {total}"
    assert "Defined KPI satisfaction" in page.inner_text("#step-summary")
    page.click("#next")
    page.click("#next")
    assert page.inner_text("#step-of") == f"Step 4 of {total}"
    assert "Baseline of satisfaction" in page.inner_text("#step-summary") or "baseline" in page.inner_text("#step-summary").lower()
    assert page.inner_text("table.progress tr[data-kpi=satisfaction] td.baseline").strip() == "4"
    page.keyboard.press("ArrowLeft")  # app.js: the arrow keys step too
    page.wait_for_url("**step=3*")
    assert page.inner_text("#step-of") == f"Step 3 of {total}"
    page.click("text=Last »")
    assert page.inner_text("#step-of") == f"Step {total} of {total}"
    assert page.locator("#next").count() == 0


def test_a_bad_value_is_refused_beside_its_field_and_nothing_is_written(page: Any, server: Server) -> None:
    sign_in(page)
    events = event_count(server.store)
    page.goto("/clients/ana-lopez")
    page.select_option("#m-kpi", "satisfaction")
    page.fill("#m-value", "11")
    page.click("#measure button[type=submit]")
    assert page.inner_text("#error-value") == "value 11 is outside the KPI's scale 1..10"
    assert page.input_value("#measurement-value") == "11"  # what was typed stays
    page.fill("#measurement-value", "seven")
    page.click("#form-measurement button[type=submit]")
    assert page.inner_text("#error-value") == "'seven' is not a number"
    page.fill("#measurement-value", "7")
    page.fill("#measurement-at", "2099-01-01")
    page.click("#form-measurement button[type=submit]")
    assert "cannot be dated after the moment it is recorded" in page.inner_text("#error-at")
    page.goto("/clients/ana-lopez/adjust")
    page.select_option("#adjust-kpi", "salary")
    page.fill("#adjust-target", "95000")
    page.click("#form-adjust button[type=submit]")
    assert page.inner_text("#error-reason") == "reason is required"
    assert event_count(server.store) == events


@pytest.mark.parametrize("form", ["baseline", "feedback", "session", "action", "adjust"])
def test_every_form_records_what_the_cli_would(page: Any, server: Server, form: str) -> None:
    sign_in(page)
    page.goto(f"/clients/ana-lopez/{form}")
    fill = {
        "baseline": {"#baseline-kpi": ("select", "salary"), "#baseline-value": "73000", "#baseline-reason": "Payslip found"},
        "feedback": {"#feedback-rating": ("select", "4"), "#feedback-comment": "Good pace"},
        "session": {"#session-notes": "Reviewed the month", "#session-actions": "Ask for feedback\nUpdate the CV"},
        "action": {"#action-text": "Book the review", "#action-due": "2030-01-31"},
        "adjust": {"#adjust-kpi": ("select", "salary"), "#adjust-target": "95000", "#adjust-reason": "New offer"},
    }[form]
    for selector, value in fill.items():
        if isinstance(value, tuple):
            page.select_option(selector, value[1])
        else:
            page.fill(selector, value)
    events = event_count(server.store)
    page.click(f"#form-{form} button[type=submit]")
    page.wait_for_url(f"**/clients/ana-lopez?done={form}")
    assert event_count(server.store) == events + (3 if form == "session" else 1)  # a session opens its actions


def test_everything_works_with_javascript_off(browser: Any, server: Server) -> None:
    context = browser.new_context(base_url=server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page)
        page.goto("/clients/ana-lopez")
        page.select_option("#m-kpi", "satisfaction")
        page.fill("#m-value", "8")
        page.click("#measure button[type=submit]")
        page.wait_for_url("**done=measurement")
        assert cell(page, "satisfaction") == "8"
        page.goto("/clients/ana-lopez/replay?step=2")
        page.click("#next")
        assert page.inner_text("#step-of").startswith("Step 3 of")
        page.goto("/clients/ana-lopez/timeline")
        page.select_option("#f-type", "MeasurementRecorded")
        page.click("#filters button[type=submit]")
        kinds = {row.strip() for row in page.locator("#timeline-table td code").all_inner_texts()}
        assert kinds == {"MeasurementRecorded"}
    finally:
        context.close()


def test_another_coachs_client_is_not_there(page: Any) -> None:
    sign_in(page, "jonas")
    assert "Ben Okafor" in page.inner_text("table.clients") and "Ana" not in page.inner_text("table.clients")
    for path in ("/clients/ana-lopez", "/clients/ana-lopez/replay", "/clients/ana-lopez/measurement"):
        response = page.goto(path)
        assert response.status == 404
        assert "There is no such page here." in page.inner_text("main")


def test_the_admin_sees_every_client(page: Any) -> None:
    sign_in(page, "lena")
    clients = page.inner_text("table.clients")
    assert "Ana López" in clients and "Ben Okafor" in clients
    assert page.goto("/clients/ben-okafor").status == 200


# -- the key flow on each store ------------------------------------------------------------------


def test_the_key_flow_on_each_store(store: str, browser: Any, tmp_path: Path) -> None:
    """Sign in, record through the form, see progress change, 404 for another coach's client:
    on SQLite, and on PostgreSQL with two server processes sharing the ledger."""
    practice(store)
    workers = 2 if store.startswith("postgresql://") else 1
    with served(store, tmp_path, workers=workers) as server:
        context = browser.new_context(base_url=server.url)
        page = context.new_page()
        try:
            sign_in(page)
            page.goto("/clients/ana-lopez")
            assert cell(page, "satisfaction") == "6"
            events = event_count(store)
            page.select_option("#m-kpi", "satisfaction")
            page.fill("#m-value", "9")
            page.click("#measure button[type=submit]")
            page.wait_for_url("**done=measurement")
            assert event_count(store) == events + 1
            for _ in range(4):  # each request may land on either process: all see the new value
                page.goto("/clients/ana-lopez")
                assert cell(page, "satisfaction") == "9"
            page.fill("#m-value", "12")
            page.click("#measure button[type=submit]")
            assert "outside the KPI's scale" in page.inner_text("#error-value")
            assert event_count(store) == events + 1
        finally:
            context.close()
        other = browser.new_context(base_url=server.url)
        page = other.new_page()
        try:
            sign_in(page, "jonas")
            assert page.goto("/clients/ana-lopez").status == 404
            assert page.goto("/clients/ana-lopez.json").status == 404
            assert page.goto("/clients/ben-okafor").status == 200
        finally:
            other.close()
