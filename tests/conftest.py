"""Shared fixtures: a real store on every backend, and a CLI runner bound to it."""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import freezegun
import pytest
from click.testing import CliRunner, Result

from coachledger.cli import main

# psycopg's connection pool keeps time in its own threads: a frozen clock must not reach them.
freezegun.configure(extend_ignore_list=["psycopg", "psycopg_pool"])


@dataclass
class Cli:
    """Runs coachledger commands against one store, as a coach would type them."""

    store: str
    actor: str = "maria"
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, ok: bool = True, actor: str | None = None, input: str | None = None) -> Result:
        runner = CliRunner()
        result = runner.invoke(
            main,
            ["--store", self.store, "--actor", actor or self.actor, *args],
            env=self.env,
            input=input,
            catch_exceptions=False,
        )
        if ok and result.exit_code != 0:
            raise AssertionError(f"coachledger {' '.join(args)} exited {result.exit_code}:\n{result.output}")
        return result

    def out(self, *args: str, input: str | None = None) -> str:
        return self.run(*args, input=input).stdout.strip()

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)


# Every stored event and its index row, as SQLite holds them (to compare two stores byte for byte).
EVENT_ROWS = (
    "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events ORDER BY rowid",
    "SELECT seq, originator_id, originator_version, recorded_at, seal FROM event_index ORDER BY seq",
)


# The events ``a_journey`` records (20, 13 of check-ins, 6 of the goal lifecycle and confidence, 11 of
# actions and fixes, 4 of a whole adjustment with cadence and weight, a confidence drop, a re-baseline,
# a contact cleared).
JOURNEY_EVENTS = 54


def a_journey(cli: Cli) -> None:
    """Two clients, two coaches, and every kind of event the ledger knows (but the erasure of a
    client on request, which ends a stream: ``forget``), each field given a value somewhere.

    ``tests/integration/test_journey.py`` fails when an event of the catalogue is missing here.
    """
    cli.run("client", "add", "ana-lopez", "--name", "Ana López", "--coach", "maria")
    cli.run("client", "add", "ben-okafor", "--name", "Ben Okafor", "--coach", "li", actor="li")
    cli.run("goal", "add", "ana-lopez", "lead-team", "--text", "Lead a team of five")
    cli.run(
        "kpi", "define", "ana-lopez", "satisfaction", "--name", "Job satisfaction",
        "--category", "job-satisfaction", "--unit", "points", "--direction", "increase",
        "--target", "4", "--due", "2030-12-31", "--scale", "1..5", "--goal", "lead-team",
        "--dimension", "personal", "--cadence", "weekly", "--weight", "2", "--method", "Pulse survey",
        "--defined-by", "client",
    )  # fmt: skip
    cli.run(
        "kpi", "define", "ana-lopez", "salary", "--name", "Base salary", "--category", "salary",
        "--unit", "EUR", "--direction", "increase", "--target", "85000", "--due", "2031-06-30",
        "--horizon", "long", "--cadence", "quarterly", "--goal", "lead-team",
    )  # fmt: skip
    cli.run("kpi", "baseline", "ana-lopez", "satisfaction", "2", "--at", "2026-01-01")
    cli.run("kpi", "baseline", "ana-lopez", "salary", "72000.50", "--at", "2026-01-01")
    m1 = cli.out("measure", "record", "ana-lopez", "satisfaction", "3", "--at", "2026-02-01")
    m2 = cli.out("measure", "record", "ana-lopez", "satisfaction", "5", "--at", "2026-02-15", "--note", "ü ✓")
    cli.run("measure", "correct", "ana-lopez", m1, "3.5", "--reason", "typo")
    cli.run("measure", "retract", "ana-lopez", m2, "--reason", "wrong client")
    cli.run(
        "kpi", "adjust", "ana-lopez", "satisfaction", "--scale", "1..10", "--rescale",
        "--reason", "new survey", "--at", "2026-03-01",
    )  # fmt: skip
    cli.run("kpi", "adjust", "ana-lopez", "salary", "--unit", "kEUR", "--factor", "0.001", "--reason", "k")
    cli.run("measure", "record", "ana-lopez", "satisfaction", "7", "--at", "2026-03-15", "--source", "survey")
    cli.run("feedback", "add", "ana-lopez", "--rating", "5", "--about", "kpi:salary", "--comment", "good")
    cli.run("session", "log", "ana-lopez", "--notes", "Talked", "--kpi", "salary", "--action", "Ask")
    cli.run("milestone", "celebrate", "ana-lopez", "lead-team", "--note", "Promoted")
    # Check-ins: the client reports satisfaction and salary through a link and a form.
    check_ins(cli, "ana-lopez", ("satisfaction", "6"), ("salary", "74.5"))
    cli.run("kpi", "retire", "ana-lopez", "salary", "--reason", "changed roles")
    # the goal lifecycle and check-in confidence
    cli.run("measure", "record", "ana-lopez", "satisfaction", "8", "--at", "2026-03-20", "--confidence", "6")
    cli.run("goal", "add", "ana-lopez", "move-abroad", "--text", "Work abroad", "--due", "2028-01-01")
    cli.run(
        "goal", "adjust", "ana-lopez", "lead-team", "--text", "Lead a team of six", "--horizon", "short",
        "--due", "2029-12-31", "--reason", "grew",
    )  # fmt: skip
    cli.run("goal", "achieve", "ana-lopez", "lead-team", "--note", "Leads six")
    cli.run("goal", "abandon", "ana-lopez", "move-abroad", "--reason", "family")
    cli.run("goal", "reopen", "ana-lopez", "move-abroad", "--reason", "offer from Lisbon")
    cli.run(
        "kpi", "define", "ben-okafor", "stress", "--name", "Stress", "--category", "work-life-balance",
        "--unit", "points", "--direction", "decrease", "--target", "3", "--due", "2030-07-01",
        "--scale", "0..10",
    )  # fmt: skip
    cli.run("feedback", "add", "ben-okafor", "--rating", "4", "--comment", "useful", actor="li")
    # Between sessions: actions (one opened by the session above), and fixes of any record.
    cli.run(
        "action", "add", "ana-lopez", "Ask for the review ✓", "--due", "2030-01-31", "--kpi", "satisfaction"
    )
    cli.run("action", "done", "ana-lopez", "a2", "--note", "booked")
    cli.run("action", "drop", "ana-lopez", "a1", "--note", "moot")
    cli.run("client", "rename", "ana-lopez", "--name", "Ana López García", "--reason", "married name")
    cli.run(
        "client", "update", "ana-lopez", "--coach", "li", "--contact", "ana@example.org", "--reason", "leave"
    )
    cli.run("session", "log", "ana-lopez", "--notes", "Twice", "--at", "2026-03-20")
    cli.run(
        "session", "amend", "ana-lopez", "s1", "--notes", "Talked ü", "--at", "2026-03-19", "--kpi", "satisfaction",
        "--reason", "typo",
    )  # fmt: skip
    cli.run("session", "retract", "ana-lopez", "s2", "--reason", "logged twice")
    cli.run("feedback", "retract", "ben-okafor", "f1", "--reason", "other client", actor="li")
    cli.run("milestone", "retract", "ana-lopez", "lead-team", "--reason", "too early")
    # Cadence, weight and every other field of a definition changed part-way; a check-in whose
    # confidence dropped by 4 points; a re-baseline; a contact cleared.
    cli.run(
        "kpi", "adjust", "ana-lopez", "satisfaction", "--cadence", "14d", "--weight", "0.5",
        "--name", "Job satisfaction (pulse)", "--target", "8", "--due", "2031-01-31", "--method", "Monthly pulse",
        "--dimension", "professional", "--horizon", "long", "--goal", "lead-team",
        "--reason", "every two weeks", "--at", "2026-03-21",
    )  # fmt: skip
    cli.run("measure", "record", "ana-lopez", "satisfaction", "7.5", "--at", "2026-03-28", "--confidence", "2")
    cli.run(
        "kpi", "baseline", "ana-lopez", "satisfaction", "2.5", "--at", "2026-01-01", "--source", "survey",
        "--reason", "survey re-scored",
    )  # fmt: skip
    cli.run("client", "update", "ana-lopez", "--contact", "", "--reason", "no e-mail please")


def check_ins(cli: Cli, client: str, first: tuple[str, str], second: tuple[str, str] | None = None) -> int:
    """Every check-in event and each of its fields, for two open KPIs of ``client`` ((kpi, value)):
    a link answered by the client (the first KPI, a confidence, a note and a rating), answered
    again within the window (an amendment) and revoked; then a form whose answer file records the
    second KPI, amends the first and rates again (the rating before it retracted). Without a second
    KPI, the form only amends. Returns the number of events recorded (13, or 12 without).

    The link is answered through the service the check-in page calls; the form through
    ``checkin accept`` with the file the form saves."""
    # Imported here: most tests never need the check-in service (or its read side).
    from coachledger.domain.checkins.commands import Answer
    from coachledger.services import checkins
    from coachledger.services.bootstrap import open_ledger
    from coachledger.settings import Settings

    kpi, value = first
    asked = ["--kpi", kpi, *(("--kpi", second[0]) if second else ())]
    token = cli.out("checkin", "link", client, *asked, "--expires", "30d").rsplit("/", 1)[1]
    link = cli.json("checkin", "list", client)["checkins"][-1]["checkin"]
    ledger = open_ledger(Settings.from_values(cli.store, cli.actor))
    try:
        said = Answer(kpi, Decimal(value), 7, "Felt calmer this week")
        checkins.submit_checkin(ledger, token, [said], rating=4, comment="Quick to answer")
        checkins.submit_checkin(ledger, token, [said._replace(value=Decimal(value) + 1, confidence=5)])
    finally:
        ledger.close()
    cli.run("checkin", "revoke", client, link, "--reason", "replaced by a form")
    page = cli.run("checkin", "form", client, *asked, "--out", "-").stdout
    token = page.split('data-token="', 1)[1].split('"', 1)[0]
    form = cli.json("checkin", "list", client)["checkins"][-1]["checkin"]
    with tempfile.TemporaryDirectory() as scratch:
        answers = Path(scratch) / "answers.json"
        given = [{"kpi": second[0], "value": second[1], "confidence": 6, "note": "From the payslip"}] if second else []
        answers.write_text(
            json.dumps(
                {"format": "coachledger-checkin", "version": 1, "client": client, "form": form, "token": token,
                 "answers": [*given, {"kpi": kpi, "value": value}], "rating": 5, "comment": "The form works offline"}
            ),
            "utf-8",
        )  # fmt: skip
        cli.run("checkin", "accept", str(answers))
    return 13 if second else 12


# -- PostgreSQL: one fresh database per test run, emptied before each test -------------

PG_SERVER_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"


def _pg_server_url() -> str:
    return os.environ.get("COACHLEDGER_TEST_POSTGRES_URL") or PG_SERVER_DEFAULT


def _pg_unavailable(reason: str) -> None:
    if os.environ.get("COACHLEDGER_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason} (COACHLEDGER_REQUIRE_POSTGRES=1)", pytrace=False)
    pytest.skip(f"{reason}; set COACHLEDGER_TEST_POSTGRES_URL to use another server")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """The URL of a database created for this test run (dropped at the end)."""
    try:
        import psycopg
    except ImportError:
        _pg_unavailable("psycopg is not installed (pip install -e '.[test]')")
    server = urlsplit(_pg_server_url())
    where = f"{server.hostname or 'localhost'}:{server.port or 5432}"
    try:
        admin = psycopg.connect(_pg_server_url(), autocommit=True, connect_timeout=3)
    except psycopg.Error as e:
        _pg_unavailable(f"no PostgreSQL server answers at {where} ({' '.join(str(e).split())})")
    name = f"coachledger_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin:
        try:  # a linguistic collation, as most servers have: the ledger must not depend on it
            admin.execute(
                f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
            )
        except psycopg.Error:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlunsplit(server._replace(path="/" + name))
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fresh_pg(request: pytest.FixtureRequest) -> str:
    """The test database, emptied: every table, view row and sequence of earlier tests dropped."""
    import psycopg

    url: str = request.getfixturevalue("pg_database")
    with psycopg.connect(url, autocommit=True) as conn:
        # Connections left by earlier tests (pools, followers) would hold locks.
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return url


@pytest.fixture
def pg_store(request: pytest.FixtureRequest) -> str:
    """An empty PostgreSQL ledger (for tests about PostgreSQL itself)."""
    return _fresh_pg(request)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store on each backend: a SQLite file, and a PostgreSQL database.

    The PostgreSQL runs skip with the reason when no server answers, and fail instead
    when COACHLEDGER_REQUIRE_POSTGRES=1 (as .ci/run sets).
    """
    if request.param == "postgres":
        yield _fresh_pg(request)
    else:
        yield str(tmp_path / "ledger.sqlite")


@pytest.fixture
def backend(store: str) -> str:
    """Which kind of store the test runs on: "sqlite" or "postgres"."""
    return "postgres" if store.startswith("postgresql://") else "sqlite"


@pytest.fixture
def cli(store: str) -> Cli:
    return Cli(store)
