"""Check-ins as a coach and a client use them, on every store: links, forms, who said what.

The client's side of a link is the service the check-in page calls (``open_checkin``,
``submit_checkin``); the form's round trip goes through ``checkin form`` and ``checkin accept``
(its page in a real browser: tests/integration/test_checkin_form_browser.py).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time
from freezegun.api import FrozenDateTimeFactory

import coachledger.services.transfer  # noqa: F401  (builds the export's schema before freezegun patches datetime)
from coachledger.domain.checkins.commands import Answer
from coachledger.errors import CheckinRefused, DomainError
from coachledger.services import checkins
from coachledger.services.bootstrap import open_ledger
from coachledger.settings import Settings
from conftest import Cli

CLIENT = "ana-lopez"


class Practice:
    """The coach at the command line and the client at the check-in, on one clock."""

    def __init__(self, cli: Cli, clock: FrozenDateTimeFactory) -> None:
        self.cli, self.clock = cli, clock
        self.ledger = open_ledger(Settings.from_values(cli.store, "maria"))

    def __call__(self, *args: str, ok: bool = True) -> Any:
        result = self.cli.run(*args, ok=ok)
        self.clock.tick(60)
        return result

    def json(self, *args: str) -> Any:
        return self.cli.json(*args)

    def link(self, *args: str) -> str:
        url = self("checkin", "link", CLIENT, *args).stdout.strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:8350/checkin/[A-Za-z0-9_-]{43}", url), url
        return url.rsplit("/", 1)[1]

    def submit(self, token: str, *answers: Answer, rating: int | None = None) -> Any:
        receipt = checkins.submit_checkin(self.ledger, token, list(answers), rating)
        self.clock.tick(60)
        return receipt

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.cli.run("export").stdout.splitlines()[1:]]


@pytest.fixture
def practice(cli: Cli) -> Iterator[Practice]:
    with freeze_time("2026-03-02T09:00:00Z", ignore=["psycopg"]) as frozen:
        assert isinstance(frozen, FrozenDateTimeFactory)
        p = Practice(cli, frozen)
        p("client", "add", CLIENT, "--name", "Ana López", "--coach", "maria")
        p(
            "kpi", "define", CLIENT, "satisfaction", "--name", "Job satisfaction", "--category",
            "job-satisfaction", "--unit", "points", "--direction", "increase", "--target", "8",
            "--due", "2026-12-31", "--scale", "1..10",
        )  # fmt: skip
        p(
            "kpi", "define", CLIENT, "salary", "--name", "Base salary", "--category", "salary",
            "--unit", "EUR", "--direction", "increase", "--target", "85000", "--due", "2026-12-31",
        )  # fmt: skip
        p("kpi", "baseline", CLIENT, "satisfaction", "5", "--at", "2026-03-01")
        try:
            yield p
        finally:
            p.ledger.close()


def test_a_link_is_a_url_whose_token_the_ledger_never_keeps(practice: Practice) -> None:
    result = practice(
        "checkin", "link", CLIENT, "--kpi", "satisfaction", "--base-url", "https://coach.example.org/"
    )
    url = result.stdout.strip()
    assert url.startswith("https://coach.example.org/checkin/") and len(result.stdout.splitlines()) == 1
    token = url.rsplit("/", 1)[1]
    assert "c1" in result.stderr and "satisfaction" in result.stderr
    issued = [e for e in practice.events() if e["type"] == "CheckinLinkIssued"]
    assert [e["data"]["kpis"] for e in issued] == [["satisfaction"]]
    assert issued[0]["data"]["token_hash"] == checkins.token_hash(token)
    assert token not in practice.cli.run("export").stdout
    assert token not in json.dumps(practice.json("timeline", CLIENT))


def test_a_clients_answers_are_self_measurements_by_the_client_through_the_link(practice: Practice) -> None:
    token = practice.link("--kpi", "satisfaction")
    view = checkins.open_checkin(practice.ledger, token)
    assert (view.client_name, [q.kpi for q in view.questions]) == ("Ana López", ["satisfaction"])
    question = view.questions[0]
    assert (question.name, question.unit, question.scale_min, question.scale_max, question.last_value) == (
        "Job satisfaction", "points", Decimal(1), Decimal(10), None,
    )  # fmt: skip
    receipt = practice.submit(token, Answer("satisfaction", Decimal(7), 8, "a good month"), rating=4)
    assert (receipt.measurements, receipt.amended, receipt.feedback) == (["m1"], [], "f1")

    lines = practice.json("timeline", CLIENT)["events"]
    measured = next(e for e in lines if e["type"] == "MeasurementRecorded")
    assert (measured["actor"], measured["data"]["source"], measured["data"]["via"]) == (
        "client:ana-lopez", "self", "link:c1",
    )  # fmt: skip
    assert "via check-in link c1" in measured["summary"]
    text = practice("timeline", CLIENT).stdout
    assert "client:ana-lopez" in text and "Check-in link c1 answered: recorded m1; feedback f1" in text
    exported = {e["type"]: e for e in practice.events()}
    assert exported["MeasurementRecorded"]["actor"] == "client:ana-lopez"
    assert exported["MeasurementRecorded"]["data"]["via"] == "link:c1"
    assert exported["FeedbackReceived"]["data"]["via"] == "link:c1"
    steps = practice.json("replay", CLIENT)["steps"]
    assert [s["actor"] for s in steps if s["type"] == "MeasurementRecorded"] == ["client:ana-lopez"]
    report = practice.json("report", CLIENT)
    [section] = [s for s in report["kpis"] if s["kpi"] == "satisfaction"]
    assert [(m["by"], m["via"], m["actor"]) for m in section["measurements"]] == [
        ("client", "link:c1", "client:ana-lopez")
    ]
    assert "client (link c1)" in practice("report", CLIENT, "--format", "md").stdout
    assert checkins.open_checkin(practice.ledger, token).questions[0].last_value == Decimal(7)
    [row] = practice.json("checkin", "list", CLIENT)["checkins"]
    assert (row["checkin"], row["status"], row["uses"]) == ("c1", "used", 1)


def test_a_second_answer_within_the_window_amends_the_first(practice: Practice) -> None:
    token = practice.link("--expires", "60d")
    practice.submit(token, Answer("satisfaction", Decimal(7), 8))
    practice.clock.tick(3 * 86400)
    again = practice.submit(token, Answer("satisfaction", Decimal(6), 5, "on second thought"))
    assert (again.measurements, again.amended) == ([], ["m1"])
    [item] = [i for i in practice.json("progress", CLIENT)["kpis"] if i["kpi"] == "satisfaction"]
    assert (item["current"], item["measurements"]) == (6, 1)
    assert practice.json("progress", CLIENT)["confidence"][0]["confidence"] == 5
    corrected = [e for e in practice.events() if e["type"] == "MeasurementCorrected"]
    assert [(e["actor"], e["data"]["confidence"]) for e in corrected] == [("client:ana-lopez", 5)]
    assert "within its monthly window (from 2026-03-02)" in corrected[0]["data"]["reason"]
    practice.clock.tick(31 * 86400)
    assert practice.submit(token, Answer("satisfaction", Decimal(8))).measurements == ["m2"]


def test_known_at_reads_show_a_check_in_only_from_when_it_arrived(practice: Practice) -> None:
    token = practice.link()
    before = practice.clock().isoformat()
    practice.clock.tick(86400)
    practice.submit(token, Answer("satisfaction", Decimal(7)))
    after = practice.clock().isoformat()

    def current(*args: str) -> Any:
        [item] = [i for i in practice.json("progress", CLIENT, *args)["kpis"] if i["kpi"] == "satisfaction"]
        return item["current"]

    assert (current("--known-at", before), current("--known-at", after), current()) == (None, 7, 7)
    assert not any(
        e["type"] == "MeasurementRecorded"
        for e in practice.json("timeline", CLIENT, "--known-at", before)["events"]
    )


def test_due_lists_a_check_in_until_the_next_session(practice: Practice) -> None:
    token = practice.link("--kpi", "satisfaction")
    practice.submit(token, Answer("satisfaction", Decimal(7)), rating=5)
    [item] = [i for i in practice.json("due")["items"] if i["kind"] == "checkin"]
    assert (item["client"], item["checkin"], item["via"], item["actor"], item["measurements"], item["feedback"]) == (
        CLIENT, "c1", "link", "client:ana-lopez", ["m1"], "f1",
    )  # fmt: skip
    assert "new check-in from client (link c1: satisfaction)" in practice("due").stdout
    assert "New check-in from Ana López" in practice("due", "--ics", "-").stdout
    practice("session", "log", CLIENT, "--notes", "Went through the check-in")
    assert not [i for i in practice.json("due")["items"] if i["kind"] == "checkin"]


@pytest.mark.parametrize("how", ["revoked", "expired", "tampered", "unknown"])
def test_a_link_that_opens_nothing_writes_nothing(practice: Practice, how: str) -> None:
    token = practice.link("--expires", "7d")
    if how == "revoked":
        practice("checkin", "revoke", CLIENT, "c1", "--reason", "sent to the wrong address")
    elif how == "expired":
        practice.clock.tick(7 * 86400)
    elif how == "tampered":
        token = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    else:
        token = "not-a-token"
    events = practice.events()
    for attempt in (
        lambda: checkins.open_checkin(practice.ledger, token),
        lambda: practice.submit(token, Answer("satisfaction", Decimal(7)), rating=3),
    ):
        with pytest.raises(CheckinRefused) as refusal:
            attempt()
        assert refusal.value.why == {"tampered": "unknown"}.get(how, how)
    assert practice.events() == events
    status = {"revoked": "revoked", "expired": "expired"}.get(how, "issued")
    assert practice.json("checkin", "list", CLIENT)["checkins"][0]["status"] == status


def test_answers_outside_the_rules_write_nothing(practice: Practice) -> None:
    token = practice.link("--kpi", "satisfaction")
    events = practice.events()
    for answers, match in (
        ([Answer("satisfaction", Decimal(11))], "outside the KPI's scale"),
        ([Answer("salary", Decimal(80000))], "not part of check-in c1"),
        ([Answer("satisfaction", Decimal(7), 12)], "confidence"),
    ):
        with pytest.raises(DomainError, match=match):
            practice.submit(token, *answers)
    assert practice.events() == events


def test_checkin_commands_refuse_with_one_error_line(practice: Practice) -> None:
    for args, message in (
        (("checkin", "link", CLIENT, "--kpi", "satisfation"), "unknown KPI 'satisfation'"),
        (("checkin", "link", CLIENT, "--expires", "soon"), "--expires takes a number of days"),
        (("checkin", "revoke", CLIENT, "c7"), "unknown check-in 'c7'"),
        (("checkin", "link", "ana-lopes"), "unknown client 'ana-lopes'"),
    ):
        result = practice(*args, ok=False)
        assert result.exit_code == 1 and result.stderr.startswith("Error: ") and message in result.stderr
        assert len(result.stderr.splitlines()) == 1
    assert practice("checkin", "link", CLIENT, "--base-url", "ftp://x", ok=False).exit_code == 2


# -- the form file's round trip (without a browser: the answers as the page saves them) ----------


def form_answers(page: str, **changes: Any) -> dict[str, Any]:
    data = dict(
        re.findall(r'data-([a-z]+)="([^"]*)"', page.split('<form id="checkin"', 1)[1].split(">", 1)[0])
    )
    saved = {
        "format": data["format"], "version": int(data["version"]), "client": html.unescape(data["client"]),
        "form": data["form"], "token": data["token"],
        "answers": [{"kpi": "satisfaction", "value": "6,5", "confidence": 7, "note": "from the form"}],
        "rating": 5, "comment": None, "saved_at": "2026-03-02T10:00:00.000Z",
    }  # fmt: skip
    saved.update(changes)
    return saved


def test_a_form_is_answered_once_and_an_edited_file_writes_nothing(
    practice: Practice, tmp_path: Path
) -> None:
    practice("client", "add", "bo", "--name", "Bo")
    practice(
        "kpi", "define", "bo", "satisfaction", "--name", "Satisfaction", "--category", "job-satisfaction",
        "--unit", "points", "--direction", "increase", "--target", "8", "--due", "2026-12-31",
    )  # fmt: skip
    practice("checkin", "form", "bo", "--out", str(tmp_path / "bo.html"))  # Bo's form is c1 too
    out = tmp_path / "ana.html"
    assert (
        "Wrote check-in form c1"
        in practice("checkin", "form", CLIENT, "--kpi", "satisfaction", "--out", str(out)).stdout
    )
    page = out.read_text("utf-8")
    assert "Ana López" in page and "Job satisfaction" in page and "http" not in page.replace("http-equiv", "")
    assert (out.stat().st_mode & 0o777) == 0o600
    events = practice.events()
    for edit, message in (
        ({"client": "bo"}, "do not match check-in form 'c1' of client 'bo'"),
        ({"form": "c2"}, "do not match check-in form 'c2' of client 'ana-lopez'"),
        ({"answers": [{"kpi": "salary", "value": "90000"}]}, "not part of check-in c1"),
        ({"token": "x" * 43}, "do not match"),
        ({"format": "something else"}, "not a check-in answer file"),
        ({"extra": 1}, "not a check-in answer file"),
    ):
        edited = tmp_path / "edited.json"
        edited.write_text(json.dumps(form_answers(page, **edit)), "utf-8")
        result = practice("checkin", "accept", str(edited), ok=False)
        assert result.exit_code == 1 and result.stderr.startswith("Error: ") and message in result.stderr, (
            result.stderr
        )
        assert len(result.stderr.splitlines()) == 1
    assert practice.events() == events
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(form_answers(page)), "utf-8")
    done = practice("checkin", "accept", str(answers)).stdout
    assert done.strip() == "Recorded check-in form c1 of ana-lopez: recorded m1; feedback f1."
    [measured] = [e for e in practice.events() if e["type"] == "MeasurementRecorded"]
    assert (measured["actor"], measured["data"]["value"], measured["data"]["via"]) == (
        "client:ana-lopez",
        "6.5",
        "form:c1",
    )
    events = practice.events()
    again = practice("checkin", "accept", str(answers), ok=False)
    assert again.exit_code == 1 and "already answered" in again.stderr
    assert practice.events() == events
    assert [(r["checkin"], r["status"]) for r in practice.json("checkin", "list", CLIENT)["checkins"]] == [
        ("c1", "used")
    ]


def test_an_export_with_check_ins_imports_unchanged_and_its_links_still_open(
    practice: Practice, tmp_path: Path
) -> None:
    token = practice.link("--kpi", "satisfaction")
    practice.submit(token, Answer("satisfaction", Decimal(7)), rating=4)
    exported = tmp_path / "ledger.jsonl"
    practice("export", "--out", str(exported))
    copy = Cli(str(tmp_path / "copy.sqlite"))
    copy.run("import", str(exported))
    assert copy.json("timeline", CLIENT) == practice.json("timeline", CLIENT)
    edited = tmp_path / "edited.jsonl"
    edited.write_text(exported.read_text("utf-8").replace('"via":"link:c1"', '"via":"link:c9"'), "utf-8")
    refused = Cli(str(tmp_path / "other.sqlite")).run("import", str(edited), ok=False)
    assert "field data.via: unknown check-in 'c9'" in refused.stderr
    ledger = open_ledger(Settings.from_values(copy.store, "maria"))
    try:
        assert checkins.open_checkin(ledger, token).questions[0].last_value == Decimal(7)
    finally:
        ledger.close()
