"""The check-in page, ``/checkin/<token>``, on the real server: a client opens the link their coach
sent in Debian's Chromium at phone width (390x844), with JavaScript off, and reports their values;
the ledger records them with the client as actor and the link as the way they came. A second
answer in the same window amends the first. Revoked, expired and altered links, cross-site posts
and bad values write nothing; the token never reaches the server's log.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conftest import Cli
from web.served import Client, Server, event_count, practice, served

ISSUED: list[str] = []  # every token issued here: none may appear in the server's log


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("checkin")
    store = str(home / "ledger.sqlite")
    practice(store)
    with served(store, home) as running:
        yield running
    assert "/checkin/" in running.said  # the requests were logged ...
    assert not [t for t in ISSUED if t in running.said]  # ... without their tokens


def link(server: Server, *args: str) -> str:
    url = Cli(server.store).out("checkin", "link", "ana-lopez", "--base-url", server.url, *args)
    ISSUED.append(url.rsplit("/", 1)[1])
    return url


@pytest.fixture
def phone(browser: Any, server: Server) -> Iterator[Any]:
    context = browser.new_context(
        base_url=server.url, viewport={"width": 390, "height": 844}, java_script_enabled=False
    )
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()


def no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def timeline(server: Server) -> list[dict[str, Any]]:
    found = Cli(server.store).json("timeline", "ana-lopez")
    return found["events"] if isinstance(found, dict) else found


def test_a_client_checks_in_on_a_phone_and_a_second_answer_amends(phone: Any, server: Server) -> None:
    url = link(server, "--kpi", "satisfaction", "--kpi", "salary")
    phone.goto(url)
    assert phone.inner_text("h1") == "Your check-in, Ana López"
    assert phone.locator("fieldset.kpi").count() == 2
    assert "Job satisfaction" in phone.inner_text(
        "#checkin"
    ) and "Scale 1 to 10, in points." in phone.inner_text("#checkin")
    assert "In EUR." in phone.inner_text("#checkin")
    assert (
        "Planned the salary talk" not in phone.content() and "90000" not in phone.content()
    )  # nothing else of the ledger
    assert no_sideways_scroll(phone)
    events = event_count(server.store)
    phone.fill("#value-satisfaction", "7")
    phone.fill("#confidence-satisfaction", "8")
    phone.fill("#note-satisfaction", "A good month")
    phone.check("input[name=rating][value='4']")
    phone.click("#checkin button[type=submit]")
    assert phone.locator("#thanks").count() == 1, phone.inner_text("body")
    assert phone.inner_text("#thanks") == "Thank you, Ana López"
    assert no_sideways_scroll(phone)
    assert event_count(server.store) > events
    mine = [e for e in timeline(server) if e["actor"] == "client:ana-lopez"]
    recorded = [e for e in mine if e["type"] == "MeasurementRecorded"]
    assert [(e["data"]["kpi"], e["data"]["value"], e["data"]["source"]) for e in recorded] == [
        ("satisfaction", 7, "self")
    ]
    via = recorded[0]["data"]["via"]
    assert re.fullmatch(r"link:c\d+", via) and recorded[0]["data"]["confidence"] == 8
    assert [e["data"]["rating"] for e in mine if e["type"] == "FeedbackReceived"] == [4]

    # the coach sees the value, reported by the client
    coach = Client(server.url).sign_in("maria")
    shown = {k["kpi"]: k for k in coach.json("/clients/ana-lopez.json")["kpis"]}
    assert shown["satisfaction"]["current"] == 7 and shown["satisfaction"]["measurements"] == 3
    assert shown["salary"]["current"] == 76000  # left unanswered

    # the same link again, in the same window: the value is amended, not added
    phone.goto(url)
    assert phone.inner_text("fieldset[data-kpi=satisfaction] .last") == "7"
    before = len([e for e in timeline(server) if e["type"] == "MeasurementRecorded"])
    phone.fill("#value-satisfaction", "6")
    phone.click("#checkin button[type=submit]")
    assert "corrected" in phone.inner_text("main")
    after = timeline(server)
    assert len([e for e in after if e["type"] == "MeasurementRecorded"]) == before
    corrected = [e for e in after if e["type"] == "MeasurementCorrected"]
    assert corrected[-1]["actor"] == "client:ana-lopez" and corrected[-1]["data"]["value"] == 6
    shown = {k["kpi"]: k for k in coach.json("/clients/ana-lopez.json")["kpis"]}
    assert (
        shown["satisfaction"]["current"] == 6 and shown["satisfaction"]["measurements"] == 3
    )  # one value, corrected
    phone.goto(url)
    assert phone.inner_text("fieldset[data-kpi=satisfaction] .last") == "6"


def test_a_bad_value_is_shown_beside_its_field_and_nothing_is_written(phone: Any, server: Server) -> None:
    phone.goto(link(server, "--kpi", "satisfaction"))
    events = event_count(server.store)
    phone.fill("#value-satisfaction", "seven")
    phone.click("#checkin button[type=submit]")
    assert "not a number" in phone.inner_text("#error-value-satisfaction")
    assert phone.input_value("#value-satisfaction") == "seven"  # as typed
    phone.fill("#value-satisfaction", "5")
    phone.fill("#confidence-satisfaction", "12")
    phone.click("#checkin button[type=submit]")
    assert "0..10" in phone.inner_text("#error-confidence-satisfaction")
    assert phone.locator("#error-value-satisfaction").count() == 0
    phone.fill("#value-satisfaction", "42")
    phone.fill("#confidence-satisfaction", "")
    phone.click("#checkin button[type=submit]")
    assert phone.locator("#error-value-satisfaction").count() == 1, phone.inner_text(
        "main"
    )  # outside the scale 1..10
    assert no_sideways_scroll(phone)
    assert event_count(server.store) == events


def closed(phone: Any, server: Server, url: str, status: int, words: str) -> None:
    events = event_count(server.store)
    answered = phone.goto(url)
    assert answered.status == status
    assert words in phone.inner_text("#refusal")
    assert phone.locator("#checkin").count() == 0
    path = url.removeprefix(server.url)
    got, _, _ = Client(server.url).post(path, {"value-satisfaction": "5", "rating": "3"})
    assert got == status
    assert event_count(server.store) == events


def test_revoked_expired_and_altered_links_write_nothing(phone: Any, server: Server) -> None:
    revoked = link(server)
    checkin = Cli(server.store).json("checkin", "list", "ana-lopez")
    ids = [c["checkin"] for c in (checkin["checkins"] if isinstance(checkin, dict) else checkin)]
    Cli(server.store).run(
        "checkin",
        "revoke",
        "ana-lopez",
        sorted(ids, key=lambda c: int(c[1:]))[-1],
        "--reason",
        "sent to the wrong address",
    )
    closed(phone, server, revoked, 410, "revoked")

    soon = (datetime.now(tz=UTC) + timedelta(seconds=2)).isoformat(timespec="seconds")
    expired = link(server, "--expires", soon)
    time.sleep(2.5)
    closed(phone, server, expired, 410, "expired")

    good = link(server)
    token = good.rsplit("/", 1)[1]
    altered = good[: -len(token)] + ("A" if token[0] != "A" else "B") + token[1:]
    closed(phone, server, altered, 404, "not valid")
    closed(phone, server, server.url + "/checkin/short", 404, "not valid")


def test_a_post_from_another_site_or_without_the_pages_stamp_is_refused(server: Server) -> None:
    url = link(server, "--kpi", "satisfaction")
    path = url.removeprefix(server.url)
    client = Client(server.url)
    status, headers, text = client.get(path)
    assert status == 200
    assert (
        "script-src 'self'" in headers["content-security-policy"]
        and "unsafe-inline" not in headers["content-security-policy"]
    )
    assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"
    stamp = re.search(r'name="csrf" value="([^"]+)"', text)
    assert stamp is not None
    other = re.search(r'name="csrf" value="([^"]+)"', client.get(link(server).removeprefix(server.url))[2])
    assert other is not None
    events = event_count(server.store)
    form = {"csrf": stamp.group(1), "value-satisfaction": "5"}
    assert client.request("POST", path, form, {"Origin": "http://evil.example"})[0] == 403
    assert client.request("POST", path, form, {"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert client.post(path, {**form, "csrf": ""})[0] == 403
    assert client.post(path, {**form, "csrf": other.group(1)})[0] == 403  # another link's stamp
    assert event_count(server.store) == events
    assert client.post(path, form)[0] == 200
    assert event_count(server.store) > events


def test_requests_per_link_are_limited(server: Server) -> None:
    path = link(server, "--kpi", "satisfaction").removeprefix(server.url)
    client = Client(server.url)
    statuses = [client.get(path)[0] for _ in range(61)]
    assert statuses[:60] == [200] * 60 and statuses[60] == 429
