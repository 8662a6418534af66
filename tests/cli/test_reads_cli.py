"""The read commands a coach looks at: clients, KPIs, balance, portfolio, check, agenda, views.

One realistic ledger of three clients, recorded at controlled times, read through the CLI
on each backend. The expected numbers are worked out by hand in the comments.
"""

from __future__ import annotations

import contextlib
import csv
import io
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from freezegun import freeze_time
from freezegun.api import FrozenDateTimeFactory

from coachledger.adapters import codec
from conftest import Cli

# Build every event schema now: under freezegun, `datetime` in the domain's type hints is FakeDatetime.
list(codec.SCHEMAS.values())


def define(cli: Cli, client: str, kpi: str, **opts: str) -> None:
    args = {"name": kpi.title(), "unit": "points", "direction": "increase", "due": "2026-12-31", **opts}
    cli.run("kpi", "define", client, kpi, *[x for k, v in args.items() for x in (f"--{k}", v)])


NOW = "2026-02-15T12:00:00Z"
# The PostgreSQL pool's own threads keep real time, or closing the pool would wait forever.
KEEP_REAL_TIME = ["psycopg"]


def build(cli: Cli, clock: FrozenDateTimeFactory) -> None:
    """Three clients; "now" is 2026-02-15T12:00Z when the tests read.

    ana (maria): salary 70000 -> 77000 of 85000 (46.7 %, on-track), satisfaction 5 -> 7 of 9
    (50.0 %, on-track, personal/short), promotion 0 -> 1 of 1 (achieved, not celebrated, no goal),
    networking 0 -> 5 of 50 due 03-01 (10.0 % vs 76.3 % expected: off-track, last measured
    01-10: overdue, no goal); a session on 02-01, then feedback 4 and a new satisfaction target.
    bo (joan): one personal short-term skill KPI linked to a goal, measured on 02-14: no findings.
    cy (maria): a salary KPI whose target is met by its baseline, and a course without baseline.
    """
    cli.run("client", "add", "ana", "--name", "Ana López", "--coach", "maria")
    cli.run("goal", "add", "ana", "lead-team", "--text", "Lead a team of five")
    define(
        cli, "ana", "salary", category="salary", unit="EUR", target="85000", horizon="long", goal="lead-team"
    )
    define(
        cli, "ana", "sat", category="job-satisfaction", target="8", due="2026-06-30",
        scale="1..10", dimension="personal", goal="lead-team",
    )  # fmt: skip
    define(cli, "ana", "promo", category="promotion", unit="level", target="1", horizon="long")
    define(cli, "ana", "network", category="networking", unit="contacts", target="50", due="2026-03-01")
    for kpi, value in (("salary", "70000"), ("sat", "5"), ("promo", "0"), ("network", "0")):
        cli.run("kpi", "baseline", "ana", kpi, value, "--at", "2026-01-01")
    cli.run("client", "add", "bo", "--name", "Bo Berg", "--coach", "joan")
    cli.run("goal", "add", "bo", "speak", "--text", "Speak at a conference")
    define(cli, "bo", "skill", category="skill", target="10", dimension="personal", goal="speak")
    cli.run("kpi", "baseline", "bo", "skill", "2", "--at", "2026-01-01")
    cli.run("client", "add", "cy", "--name", "Cy Diaz", "--coach", "maria")
    define(cli, "cy", "raise", category="salary", unit="EUR", target="60000", horizon="long")
    define(cli, "cy", "course", category="skill", target="1", horizon="long")
    cli.run("kpi", "baseline", "cy", "raise", "60000", "--at", "2026-01-01")

    clock.move_to("2026-01-10T09:00:00Z")
    cli.run("measure", "record", "ana", "network", "5")
    clock.move_to("2026-02-01T09:00:00Z")
    cli.run("measure", "record", "ana", "salary", "77000")
    cli.run("measure", "record", "ana", "sat", "7", "--source", "survey")
    cli.run("measure", "record", "ana", "promo", "1", "--note", "Promoted to team lead")
    cli.run("session", "log", "ana", "--notes", "Salary talk prep", "--kpi", "salary")
    clock.move_to("2026-02-10T09:00:00Z")
    cli.run("feedback", "add", "ana", "--rating", "4", "--comment", "Clear next steps")
    cli.run("feedback", "add", "bo", "--rating", "5")
    clock.move_to("2026-02-11T09:00:00Z")
    cli.run("kpi", "adjust", "ana", "sat", "--target", "9", "--reason", "Aim higher")
    clock.move_to("2026-02-14T09:00:00Z")
    cli.run("measure", "record", "bo", "skill", "4")


@contextlib.contextmanager
def pg_database(base_url: str, name: str, template: str | None = None) -> Iterator[str]:
    """A database of its own on the test server (a copy of ``template`` when given)."""
    import psycopg

    admin_url = urlunsplit(urlsplit(base_url)._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        if template is not None:  # a template must have no other session
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (template,)
            )
        admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield urlunsplit(urlsplit(base_url)._replace(path="/" + name))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def shared_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The ledger's store, built once per backend for this module (the read tests only read it)."""
    if request.param == "sqlite":
        yield str(tmp_path_factory.mktemp("reads") / "ledger.sqlite")
        return
    base: str = request.getfixturevalue("pg_database")  # skips (or fails) without a server
    with pg_database(base, urlsplit(base).path.lstrip("/") + "_reads") as url:
        yield url


@pytest.fixture(scope="module")
def shared(shared_store: str) -> Cli:
    cli = Cli(shared_store)
    with freeze_time("2026-01-05T10:00:00Z", ignore=KEEP_REAL_TIME) as clock:
        assert isinstance(clock, FrozenDateTimeFactory)
        build(cli, clock)
        cli.run("client", "list")  # views caught up once, as a coach's first read would
    return cli


@pytest.fixture
def clock() -> Iterator[FrozenDateTimeFactory]:
    with freeze_time(NOW, ignore=KEEP_REAL_TIME) as frozen:
        assert isinstance(frozen, FrozenDateTimeFactory)
        yield frozen


@pytest.fixture
def ledger(shared: Cli, clock: FrozenDateTimeFactory) -> Cli:
    """The shared ledger, read at 2026-02-15T12:00Z; tests with this fixture only read."""
    return shared


@pytest.fixture
def own(
    shared: Cli, clock: FrozenDateTimeFactory, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Cli]:
    """A private copy of the ledger, for tests that write."""
    if not shared.store.startswith("postgresql://"):
        copy = tmp_path / "ledger.sqlite"
        source, target = sqlite3.connect(shared.store), sqlite3.connect(copy)
        with target:
            source.backup(target)
        source.close()
        target.close()
        yield Cli(str(copy))
        return
    template = urlsplit(shared.store).path.lstrip("/")
    with pg_database(shared.store, f"{template}_{uuid.uuid4().hex[:8]}", template) as url:
        yield Cli(url)


# -- clients and KPIs ------------------------------------------------------------------------


def test_client_list_json_has_the_contract_keys_and_the_most_pressing_status(ledger: Cli) -> None:
    clients = ledger.json("client", "list")["clients"]
    assert [c["client"] for c in clients] == ["ana", "bo", "cy"]
    assert all(set(c) == {"client", "name", "coach", "kpis", "status"} for c in clients)
    assert [(c["name"], c["coach"], c["kpis"], c["status"]) for c in clients] == [
        ("Ana López", "maria", 4, "off-track"),
        ("Bo Berg", "joan", 1, "on-track"),
        ("Cy Diaz", "maria", 2, "no-data"),
    ]


def test_client_list_table_is_aligned_and_plain_when_piped(ledger: Cli) -> None:
    lines = ledger.out("client", "list").splitlines()
    assert lines[0].split() == ["client", "name", "coach", "kpis", "status"]
    assert set(lines[1]) <= {"-", " "}
    assert len(lines) == 5
    assert "off-track" in lines[2] and "\x1b[" not in "".join(lines)
    status_column = lines[0].index("status")
    assert [line[status_column:].strip() for line in lines[2:]] == ["off-track", "on-track", "no-data"]


def test_client_list_on_an_empty_store(cli: Cli) -> None:
    cli.run("init")
    assert cli.json("client", "list") == {"clients": []}
    assert "No clients yet" in cli.out("client", "list")


def test_client_show_gives_details_goals_kpis_and_journal_counts(ledger: Cli) -> None:
    doc = ledger.json("client", "show", "ana")
    assert (doc["client"], doc["name"], doc["coach"]) == ("ana", "Ana López", "maria")
    assert doc["registered_at"] == "2026-01-05T10:00:00.000000+00:00"
    assert [g["goal"] for g in doc["goals"]] == ["lead-team"]
    assert [k["kpi"] for k in doc["kpis"]] == ["salary", "sat", "promo", "network"]
    assert (doc["sessions"], doc["feedback"], doc["milestones"]) == (1, 1, [])
    text = ledger.out("client", "show", "ana")
    assert text.splitlines()[0] == "Ana López (ana), coached by maria"
    assert "goal lead-team (long): Lead a team of five" in text
    assert "4 active KPIs, 1 session, 1 feedback entry" in text  # issue 14: counts in English


def test_kpi_list_shows_the_current_definition_and_status(ledger: Cli) -> None:
    kpis = {k["kpi"]: k for k in ledger.json("kpi", "list", "ana")["kpis"]}
    assert list(kpis) == ["salary", "sat", "promo", "network"]
    sat = kpis["sat"]
    assert (sat["target"], sat["scale_min"], sat["scale_max"], sat["versions"]) == (9, 1, 10, 2)
    assert (sat["dimension"], sat["horizon"], sat["goal"], sat["baseline"]) == (
        "personal",
        "short",
        "lead-team",
        5,
    )
    assert (kpis["promo"]["status"], kpis["network"]["status"]) == ("achieved", "off-track")
    assert kpis["salary"]["retired"] is False


def test_kpi_list_table_marks_a_retired_kpi(own: Cli) -> None:
    own.run("kpi", "retire", "cy", "course", "--reason", "Dropped")
    rows = {line.split()[0]: line for line in own.out("kpi", "list", "cy").splitlines()[2:]}
    assert rows["course"].rstrip().endswith("retired")
    assert own.json("client", "list")["clients"][2]["kpis"] == 1


# -- balance and portfolio --------------------------------------------------------------------


def test_balance_spreads_the_kpis_over_dimension_and_horizon(ledger: Cli) -> None:
    doc = ledger.json("balance", "ana")
    quadrants = {(q["dimension"], q["horizon"]): q for q in doc["quadrants"]}
    assert list(quadrants) == [
        ("professional", "short"),
        ("professional", "long"),
        ("personal", "short"),
        ("personal", "long"),
    ]
    assert (quadrants["professional", "short"]["kpis"], quadrants["professional", "short"]["statuses"]) == (
        ["network"],
        {"off-track": 1},
    )
    long = quadrants["professional", "long"]
    assert (long["kpis"], long["count"]) == (["salary", "promo"], 2)
    assert long["statuses"] == {"achieved": 1, "on-track": 1}
    assert long["average_progress_pct"] == 73.4  # (46.7 + 100.0) / 2, half away from zero
    assert quadrants["personal", "short"]["average_progress_pct"] == 50.0
    assert (
        quadrants["personal", "long"]["count"],
        quadrants["personal", "long"]["average_progress_pct"],
    ) == (0, None)
    text = ledger.out("balance", "ana")
    assert text.splitlines()[-1] == "Not covered: personal/long"


def test_portfolio_across_every_client(ledger: Cli) -> None:
    doc = ledger.json("portfolio")
    assert doc["clients"] == 3
    assert (doc["promotion_rate_pct"], doc["clients_with_promotion_kpi"]) == (100.0, 1)
    assert doc["median_salary_change_pct"] == 10.0  # ana 70000 -> 77000; cy has no current value
    assert doc["average_satisfaction_change"] == 2.0
    assert doc["goal_achievement_rate_pct"] == 0.0  # two goals, none celebrated
    assert (doc["average_feedback"], doc["feedback_count"]) == (4.5, 2)


def test_portfolio_of_one_coach(own: Cli) -> None:
    doc = own.json("portfolio", "--coach", "joan")
    assert (doc["coach"], doc["clients"], doc["average_feedback"]) == ("joan", 1, 5.0)
    assert (doc["promotion_rate_pct"], doc["median_salary_change_pct"]) == (None, None)
    own.run("milestone", "celebrate", "bo", "speak", "--note", "Accepted at PyCon")
    assert own.json("portfolio", "--coach", "joan")["goal_achievement_rate_pct"] == 100.0
    text = own.out("portfolio", "--coach", "joan")
    assert "average feedback (1-5)" in text and "5" in text


# -- check ----------------------------------------------------------------------------------


def test_check_of_a_smart_balanced_client_exits_0(ledger: Cli) -> None:
    result = ledger.run("check", "bo")
    assert result.stdout.startswith("No findings")
    assert ledger.json("check", "bo") == {"ok": True, "findings": []}


def test_check_reports_every_finding_at_once_and_exits_1(ledger: Cli) -> None:
    result = ledger.run("check", "cy", "--json", ok=False)
    assert result.exit_code == 1
    import json

    doc = json.loads(result.stdout)
    assert doc["ok"] is False
    found = {(f["kpi"], f["rule"]) for f in doc["findings"]}
    assert found == {
        ("raise", "not-relevant"),
        ("raise", "target-met-at-baseline"),
        ("raise", "measurement-overdue"),
        ("course", "not-relevant"),
        ("course", "no-baseline"),
        (None, "unbalanced"),
    }
    assert sum(1 for f in doc["findings"] if f["rule"] == "unbalanced") == 2
    assert all(f["client"] == "cy" and f["message"] for f in doc["findings"])


def test_check_all_covers_every_client(ledger: Cli) -> None:
    result = ledger.run("check", "--all", ok=False)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["client", "kpi", "rule", "finding"]
    clients = {line.split()[0] for line in lines[2:]}
    assert clients == {"ana", "cy"}
    assert any("network" in line and "measurement-overdue" in line for line in lines)
    assert any("promo" in line and "not-relevant" in line for line in lines)


def test_check_finds_an_overdue_kpi(ledger: Cli, clock: FrozenDateTimeFactory) -> None:
    clock.move_to("2026-03-02T09:00:00Z")
    rules = {(f["kpi"], f["rule"]) for f in _findings(ledger, "ana")}
    assert ("network", "overdue") in rules


def _findings(cli: Cli, client: str) -> list[dict[str, Any]]:
    import json

    return json.loads(cli.run("check", client, "--json", ok=False).stdout)["findings"]  # type: ignore[no-any-return]


# -- agenda -----------------------------------------------------------------------------------


def test_agenda_json_has_every_section(ledger: Cli) -> None:
    doc = ledger.json("agenda", "ana")
    assert doc["last_session"] == "2026-02-01T09:00:00.000000+00:00"
    assert [(i["kpi"], i["status"]) for i in doc["attention"]] == [("network", "off-track")]
    assert doc["attention"][0]["progress_pct"] == 10.0
    assert [m["kpi"] for m in doc["measurements_due"]] == ["network"]
    assert doc["measurements_due"][0]["last_measured"] == "2026-01-10T09:00:00.000000+00:00"
    assert [i["kpi"] for i in doc["to_celebrate"]] == ["promo"]
    assert [(f["rating"], f["comment"]) for f in doc["recent_feedback"]] == [(4, "Clear next steps")]
    [change] = doc["adjustments_since_last_session"]
    assert (change["kpi"], change["version"], change["reason"], change["changes"]) == (
        "sat",
        2,
        "Aim higher",
        {"target": [8, 9]},
    )


def test_agenda_reads_as_a_list_of_sections(ledger: Cli) -> None:
    text = ledger.out("agenda", "ana")
    assert text.splitlines()[0] == "Agenda for ana (last session 2026-02-01)"
    for title in ("Needs attention:", "Measure:", "Celebrate:", "Feedback:", "KPI changes:"):
        assert title in text
    assert "  - network: off-track, 5 of 50 contacts" in text
    assert "  - promo: target 1 level reached" in text
    assert "  - 4/5 about session: Clear next steps" in text
    assert "  - sat v2 adjusted: Aim higher" in text


def test_a_celebrated_milestone_leaves_the_agenda(own: Cli) -> None:
    own.run("milestone", "celebrate", "ana", "promo", "--note", "Team lead")
    assert own.json("agenda", "ana")["to_celebrate"] == []


def test_an_agenda_with_nothing_pressing(own: Cli) -> None:
    own.run("session", "log", "bo", "--notes", "Rehearsal")
    assert own.out("agenda", "bo").splitlines()[-1] == "Nothing pressing: every KPI is on track and measured."


# -- the views --------------------------------------------------------------------------------


def test_projections_status_shows_how_far_each_view_is_behind(own: Cli) -> None:
    own.run("progress", "ana")
    doc = own.json("projections", "status")
    head = doc["head"]
    assert head == 27
    # The timeline reads the events themselves: it has no position to report.
    assert [v["view"] for v in doc["views"]] == ["checkins", "clients", "history", "journal", "progress"]
    assert all((v["position"], v["behind"]) == (head, 0) for v in doc["views"])
    own.run("measure", "record", "bo", "skill", "5")
    own.run("feedback", "add", "bo", "--rating", "4")
    behind = own.json("projections", "status")
    assert behind["head"] == head + 2
    assert all((v["position"], v["behind"]) == (head, 2) for v in behind["views"])
    lines = own.out("projections", "status").splitlines()
    assert lines[0].split() == ["view", "position", "behind"]
    assert lines[2].split() == ["checkins", str(head), "2"]
    own.run("timeline", "bo")
    assert all(v["behind"] == 0 for v in own.json("projections", "status")["views"])


def test_projections_rebuild_reports_what_it_did_and_changes_no_answer(own: Cli) -> None:
    before = [own.run(*cmd, "--json", ok=False).stdout for cmd in READS]
    assert own.out("projections", "rebuild") == "Rebuilt 5 views from 27 events."
    doc = own.json("projections", "rebuild")
    assert doc["events"] == 27
    assert all((v["position"], v["behind"]) == (27, 0) for v in doc["views"])
    assert [own.run(*cmd, "--json", ok=False).stdout for cmd in READS] == before


READS = (
    ("progress", "ana", "--as-of", "2026-02-15"),
    ("history", "ana", "sat"),
    ("timeline", "ana"),
    ("replay", "ana"),
    ("balance", "ana"),
    ("portfolio",),
    ("client", "list"),
    ("client", "show", "ana"),
    ("kpi", "list", "ana"),
    ("check", "--all"),
    ("agenda", "ana"),
)


# -- CSV --------------------------------------------------------------------------------------


def test_csv_neutralises_cells_a_spreadsheet_would_run_as_formulas(own: Cli) -> None:
    define(own, "bo", "evil", name='=HYPERLINK("http://x","y")', unit="+1", category="custom", target="5")
    own.run("kpi", "baseline", "bo", "evil", "10")
    own.run("measure", "record", "bo", "evil", "20", actor="@admin")
    rows = list(csv.DictReader(io.StringIO(own.out("progress", "bo", "--csv"))))
    evil = next(r for r in rows if r["kpi"] == "evil")
    assert evil["name"] == '\'=HYPERLINK("http://x","y")'
    assert evil["unit"] == "'+1"
    assert evil["progress_pct"] == "-200.0"  # a negative number stays a number
    timeline = list(csv.DictReader(io.StringIO(own.out("timeline", "bo", "--csv"))))
    assert timeline[-1]["actor"] == "'@admin"
    assert list(timeline[0]) == ["seq", "recorded_at", "effective_at", "actor", "type", "summary"]


def test_progress_csv_has_one_row_per_kpi_with_the_json_numbers(ledger: Cli) -> None:
    rows = list(csv.DictReader(io.StringIO(ledger.out("progress", "ana", "--csv"))))
    doc = ledger.json("progress", "ana")
    assert [r["kpi"] for r in rows] == [k["kpi"] for k in doc["kpis"]]
    assert [r["progress_pct"] for r in rows] == [str(k["progress_pct"]) for k in doc["kpis"]]


# -- help -------------------------------------------------------------------------------------

READ_COMMANDS = (
    ("progress",),
    ("history",),
    ("timeline",),
    ("replay",),
    ("balance",),
    ("portfolio",),
    ("check",),
    ("agenda",),
    ("client", "list"),
    ("client", "show"),
    ("kpi", "list"),
    ("projections", "status"),
    ("projections", "rebuild"),
)


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_every_read_command_has_help_with_an_example_and_json(command: tuple[str, ...]) -> None:
    from click.testing import CliRunner

    from coachledger.cli import main

    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    example = result.stdout.split("Example:", 1)[1].splitlines()[1]
    assert example.strip().startswith(f"coachledger {' '.join(command)}")
    assert "--json" in result.stdout


def test_a_retracted_measurement_does_not_count_as_measured(own: Cli) -> None:
    own.run("measure", "retract", "bo", "m1", "--reason", "Wrong client")
    [due] = own.json("agenda", "bo")["measurements_due"]
    assert (due["kpi"], due["last_measured"]) == ("skill", "2026-01-01T00:00:00.000000+00:00")
    assert ("skill", "measurement-overdue") in {(f["kpi"], f["rule"]) for f in _findings(own, "bo")}
