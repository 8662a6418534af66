"""`projections rebuild` gives exactly what incremental catch-up gave, for every read.

Commands are recorded live through the CLI, with reads in between so that the views catch
up a few events at a time; then every read's ``--json`` output and every view row are
captured, the views are rebuilt from the first event, and everything is captured again:
the two must be byte-identical. Once on a journey with every event type, then on random
valid command sequences (hypothesis).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from freezegun import freeze_time
from freezegun.api import FrozenDateTimeFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coachledger.adapters import codec
from coachledger.domain import CLIENT_EVENT_CLASSES, EVENT_NAMES
from coachledger.projections import runner
from conftest import Cli

# Build every event schema now: under freezegun, `datetime` in the domain's type hints is FakeDatetime.
list(codec.SCHEMAS.values())

# The PostgreSQL pool's threads and hypothesis's own timing keep real time.
KEEP_REAL_TIME = ["psycopg", "hypothesis"]
T = TypeVar("T")
START = datetime(2026, 1, 5, 10, tzinfo=UTC)
VIEW_TABLES = sorted({t for view in runner.VIEWS for t in view.TABLES} | {"view_tracking"})


def view_rows(store: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view table, in a stable order."""
    if store.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(store) as conn:
            return {
                t: sorted(map(tuple, conn.execute(f"SELECT * FROM {t}").fetchall()), key=repr)
                for t in VIEW_TABLES
            }
    lite = sqlite3.connect(store)
    try:
        return {t: sorted(lite.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in VIEW_TABLES}
    finally:
        lite.close()


def reads(cli: Cli, as_of: str, known_at: str) -> dict[str, str]:
    """The stdout of every read command's --json, as bytes would be compared."""
    commands: list[tuple[str, ...]] = [
        ("client", "list"),
        ("portfolio", "--as-of", as_of),
        ("portfolio", "--as-of", as_of, "--known-at", known_at),
        ("portfolio", "--coach", "maria", "--as-of", as_of, "--known-at", known_at),
        ("check", "--all"),
        ("check", "--all", "--as-of", as_of, "--known-at", known_at),
        ("due", "--as-of", as_of, "--within", "30d"),
        ("due", "--as-of", as_of, "--known-at", known_at),
    ]
    for client in cli.json("client", "list")["clients"]:
        slug = client["client"]
        commands += [
            ("progress", slug, "--as-of", as_of),
            ("progress", slug, "--as-of", as_of, "--known-at", known_at),
            ("timeline", slug),
            ("replay", slug),
            ("balance", slug, "--as-of", as_of),
            ("kpi", "list", slug),
            ("client", "show", slug),
            ("agenda", slug, "--as-of", as_of),
            ("agenda", slug, "--as-of", as_of, "--known-at", known_at),
            ("timeline", slug, "--known-at", known_at),
            ("replay", slug, "--known-at", known_at),
            ("check", slug),
            ("goal", "list", slug, "--as-of", as_of),
            ("goal", "list", slug, "--as-of", as_of, "--known-at", known_at),
            ("action", "list", slug, "--all", "--as-of", as_of),
            ("action", "list", slug, "--as-of", as_of, "--known-at", known_at),
        ]
        for kpi in cli.json("kpi", "list", slug)["kpis"]:
            commands.append(("history", slug, kpi["kpi"]))
    out = {}
    for command in commands:
        result = cli.run(*command, "--json", ok=False)
        assert result.exit_code in (0, 1) and not result.stderr, result.output  # check exits 1 on findings
        out[" ".join(command)] = result.stdout
    return out


def assert_rebuild_changes_nothing(cli: Cli, as_of: str, known_at: str) -> None:
    live = reads(cli, as_of, known_at)
    live_rows = view_rows(cli.store)
    rebuilt = cli.json("projections", "rebuild")
    assert all(v["behind"] == 0 for v in rebuilt["views"])
    assert view_rows(cli.store) == live_rows
    after = reads(cli, as_of, known_at)
    assert after.keys() == live.keys()
    for name in live:
        assert after[name] == live[name], name


def forget(store: str, slug: str) -> None:
    """Record ClientForgotten through the application (what `forget` records)."""
    from coachledger.services.bootstrap import open_ledger
    from coachledger.settings import Settings

    ledger = open_ledger(Settings.from_values(store, "maria"))
    try:
        ledger.forget(slug)
    finally:
        ledger.close()


@pytest.fixture
def clock() -> Iterator[FrozenDateTimeFactory]:
    with freeze_time(START, ignore=KEEP_REAL_TIME) as frozen:
        assert isinstance(frozen, FrozenDateTimeFactory)
        yield frozen


# -- a journey with every event type -------------------------------------------------------


def test_rebuild_after_a_journey_with_every_event_type(cli: Cli, clock: FrozenDateTimeFactory) -> None:
    def write(*args: str, actor: str | None = None) -> str:
        out = cli.run(*args, actor=actor).stdout.strip()
        clock.tick(timedelta(days=2))
        return out

    write("client", "add", "ana", "--name", "Ana López", "--coach", "maria")
    write("client", "add", "bo", "--name", "Bo Berg", "--coach", "joan")
    write("goal", "add", "ana", "lead-team", "--text", "Lead a team of five", "--due", "2027-06-30")
    write(
        "kpi", "define", "ana", "salary", "--name", "Base salary", "--category", "salary", "--unit", "EUR",
        "--direction", "increase", "--target", "85000", "--due", "2026-12-31", "--goal", "lead-team",
        "--cadence", "quarterly", "--weight", "2",
    )  # fmt: skip
    write(
        "kpi", "define", "ana", "sat", "--name", "Satisfaction", "--category", "job-satisfaction",
        "--unit", "points", "--direction", "increase", "--target", "4", "--due", "2026-09-30",
        "--scale", "1..5", "--dimension", "personal",
    )  # fmt: skip
    write(
        "kpi", "define", "bo", "stress", "--name", "Stress", "--category", "work-life-balance",
        "--unit", "level", "--direction", "decrease", "--target", "3", "--due", "2026-07-01", "--scale", "0..10",
    )  # fmt: skip
    cli.run("progress", "ana")
    write("kpi", "baseline", "ana", "salary", "70000", "--at", "2026-01-01")
    write("kpi", "baseline", "ana", "sat", "2", "--at", "2026-01-01", "--source", "survey")
    write("kpi", "baseline", "bo", "stress", "8", "--at", "2026-01-01")
    m1 = write("measure", "record", "ana", "salary", "72000", "--note", "Raise")
    write("measure", "record", "ana", "sat", "3", "--at", "2026-01-20", "--source", "survey")
    cli.run("timeline", "ana")
    write("measure", "correct", "ana", m1, "73000", "--reason", "Payslip")
    m3 = write("measure", "record", "ana", "salary", "99000", actor="joan")
    write("measure", "retract", "ana", m3, "--reason", "That was an offer")
    write(
        "kpi",
        "adjust",
        "ana",
        "sat",
        "--scale",
        "1..10",
        "--rescale",
        "--reason",
        "Ten points",
        "--at",
        "2026-01-15",
    )
    write("kpi", "adjust", "ana", "salary", "--unit", "kEUR", "--factor", "0.001", "--reason", "Thousands")
    write("kpi", "baseline", "ana", "sat", "4", "--at", "2026-02-01", "--reason", "New survey")
    write("measure", "record", "ana", "sat", "8")
    write("measure", "record", "bo", "stress", "5")
    cli.run("client", "list")
    write("feedback", "add", "ana", "--rating", "4", "--comment", "Clear next steps", "--about", "kpi:salary")
    write("session", "log", "ana", "--notes", "Salary talk", "--kpi", "salary", "--action", "Draft the case")
    write("milestone", "celebrate", "ana", "sat", "--note", "Happier")
    write("milestone", "celebrate", "ana", "lead-team")
    write("kpi", "retire", "ana", "sat", "--reason", "New job")
    write("kpi", "adjust", "ana", "salary", "--target", "90", "--due", "2027-03-31", "--reason", "Promotion")
    # Between sessions: actions and fixes of any record.
    write("action", "add", "ana", "Update the CV", "--due", "2026-03-01", "--kpi", "salary")
    write("action", "done", "ana", "a1", "--note", "Drafted")
    write("action", "drop", "ana", "a2", "--note", "Moot")
    write("client", "rename", "ana", "--name", "Ana López García", "--reason", "Married name")
    write("client", "update", "ana", "--coach", "joan", "--contact", "ana@example.org", "--reason", "Leave")
    write("session", "amend", "ana", "s1", "--notes", "Salary talk prep", "--reason", "Typo")
    write("session", "log", "ana", "--notes", "Twice")
    write("session", "retract", "ana", "s2", "--reason", "Logged twice")
    write("feedback", "retract", "ana", "f1", "--reason", "Other client")
    write("milestone", "retract", "ana", "lead-team", "--reason", "Too early")
    # Goals that live, confidence, cadence and weight.
    write("measure", "record", "ana", "salary", "80", "--confidence", "8")
    write("measure", "record", "ana", "salary", "81", "--confidence", "4")
    write("kpi", "adjust", "ana", "salary", "--cadence", "weekly", "--weight", "1.5", "--reason", "Closer look")
    write("goal", "adjust", "ana", "lead-team", "--due", "2027-12-31", "--reason", "Later")
    write("goal", "achieve", "ana", "lead-team", "--note", "Leads three")
    write("goal", "reopen", "ana", "lead-team", "--reason", "Five, not three")
    write("goal", "abandon", "ana", "lead-team", "--reason", "Specialist track")
    forget(cli.store, "bo")
    clock.tick(timedelta(hours=1))

    types = {e["type"] for e in cli.json("timeline", "ana")["events"]}
    client_events = {EVENT_NAMES[cls.TOPIC] for cls in CLIENT_EVENT_CLASSES}  # ana's: a client's stream
    assert types == client_events - {"ClientForgotten"}  # that one is on bo's stream
    assert [c["client"] for c in cli.json("client", "list")["clients"]] == ["ana"]
    as_of = (clock() - timedelta(days=1)).isoformat()
    assert_rebuild_changes_nothing(cli, as_of, (START + timedelta(days=2)).isoformat())


def test_rebuild_of_an_encrypted_ledger_after_a_client_was_forgotten(
    cli: Cli, clock: FrozenDateTimeFactory
) -> None:
    """Live, the views saw the client's events before the key was destroyed; a rebuild never does."""
    cli.run("init", "--encrypt")
    for slug in ("zo", "ana"):
        cli.run("client", "add", slug, "--name", slug.title(), "--coach", "maria")
        cli.run(
            "kpi", "define", slug, "sat", "--name", "Satisfaction", "--category", "job-satisfaction",
            "--unit", "points", "--direction", "increase", "--target", "8", "--due", "2026-12-31",
        )  # fmt: skip
        cli.run("kpi", "baseline", slug, "sat", "5", "--at", "2026-01-01")
        clock.tick(timedelta(days=1))
        cli.run("measure", "record", slug, "sat", "6", "--at", "2026-01-03", actor="joan")
        cli.run("feedback", "add", slug, "--rating", "4")
    cli.run("timeline", "zo")
    clock.tick(timedelta(days=1))
    cli.run("forget", "zo", "--yes")
    erased = {name: cli.run(name, "zo", "--json").stdout for name in ("timeline", "replay")}
    assert "Satisfaction" not in erased["timeline"]
    assert_rebuild_changes_nothing(cli, clock().isoformat(), (START + timedelta(hours=12)).isoformat())
    assert {name: cli.run(name, "zo", "--json").stdout for name in erased} == erased


def test_forgetting_a_client_while_the_views_are_behind(cli: Cli, clock: FrozenDateTimeFactory) -> None:
    """`forget` clears the client's view rows before the views caught up with its last events."""
    cli.run("client", "add", "ana", "--name", "Ana")
    cli.run(
        "kpi", "define", "ana", "sat", "--name", "Satisfaction", "--category", "job-satisfaction",
        "--unit", "points", "--direction", "increase", "--target", "8", "--due", "2026-12-31",
    )  # fmt: skip
    cli.run("progress", "ana")
    cli.run("kpi", "adjust", "ana", "sat", "--target", "9", "--reason", "Aim higher")
    cli.run("kpi", "retire", "ana", "sat", "--reason", "New job")
    cli.run("client", "add", "bo", "--name", "Bo")
    cli.run("forget", "ana", "--yes")
    assert [c["client"] for c in cli.json("client", "list")["clients"]] == ["bo"]
    assert_rebuild_changes_nothing(cli, clock().isoformat(), clock().isoformat())


def test_incremental_catch_up_after_a_rebuild_equals_a_second_rebuild(
    cli: Cli, clock: FrozenDateTimeFactory
) -> None:
    cli.run("client", "add", "ana", "--name", "Ana López")
    cli.run(
        "kpi", "define", "ana", "sat", "--name", "Satisfaction", "--category", "job-satisfaction",
        "--unit", "points", "--direction", "increase", "--target", "8", "--due", "2026-12-31", "--scale", "1..10",
    )  # fmt: skip
    cli.run("kpi", "baseline", "ana", "sat", "5", "--at", "2026-01-01")
    cli.run("projections", "rebuild")
    clock.tick(timedelta(days=3))
    cli.run("measure", "record", "ana", "sat", "6")
    cli.run("progress", "ana")
    clock.tick(timedelta(days=3))
    cli.run("kpi", "adjust", "ana", "sat", "--scale", "0..100", "--rescale", "--reason", "Finer")
    cli.run("measure", "record", "ana", "sat", "70")
    assert_rebuild_changes_nothing(cli, clock().isoformat(), (START + timedelta(days=4)).isoformat())


def test_views_dropped_by_hand_are_rebuilt_on_the_next_read(cli: Cli, clock: FrozenDateTimeFactory) -> None:
    cli.run("client", "add", "ana", "--name", "Ana López")
    cli.run("goal", "add", "ana", "g", "--text", "Grow")
    before = cli.run("client", "show", "ana", "--json").stdout
    rows = view_rows(cli.store)
    assert cli.json("projections", "status")["views"][0]["behind"] == 0
    cli.run("projections", "rebuild")
    assert cli.run("client", "show", "ana", "--json").stdout == before
    assert view_rows(cli.store) == rows


# -- random valid command sequences ---------------------------------------------------------


@dataclass
class Kpi:
    defined_at: datetime
    scale: tuple[int, int] | None
    adjustments: list[tuple[datetime, tuple[int, int] | None, Decimal | None]] = field(default_factory=list)
    baseline: bool = False
    retired: bool = False

    def scale_at(self, when: datetime) -> tuple[Decimal, Decimal] | None:
        """The scale in force at ``when``, as the domain checks values (see DOMAIN.md)."""
        if self.scale is None:
            return None
        low, high = Decimal(self.scale[0]), Decimal(self.scale[1])
        for effective, scale, factor in sorted(self.adjustments, key=lambda a: a[0]):
            if effective > when:
                break
            if scale is not None:
                low, high = Decimal(scale[0]), Decimal(scale[1])
            elif factor is not None:
                low, high = low * factor, high * factor
        return low, high


@dataclass
class Client:
    goals: list[str] = field(default_factory=list)
    kpis: dict[str, Kpi] = field(default_factory=dict)
    measurements: dict[str, tuple[str, datetime, bool]] = field(default_factory=dict)
    celebrated: set[str] = field(default_factory=set)
    forgotten: bool = False
    goal_states: dict[str, str] = field(default_factory=dict)  # goal -> open | achieved | abandoned
    actions: list[str] = field(default_factory=list)  # a1, a2, ...: open | closed
    sessions: list[bool] = field(default_factory=list)  # s1, s2, ...: retracted
    feedback: list[bool] = field(default_factory=list)  # f1, f2, ...: retracted


class Journey:
    """Draws one valid command at a time from what the ledger holds, and runs it through the CLI."""

    def __init__(self, cli: Cli, clock: FrozenDateTimeFactory, data: st.DataObject) -> None:
        self.cli = cli
        self.clock = clock
        self.data = data
        self.clients: dict[str, Client] = {}
        self.fixes = 0

    def draw(self, strategy: st.SearchStrategy[T]) -> T:
        return self.data.draw(strategy)

    def now(self) -> datetime:
        moment = self.clock()
        assert isinstance(moment, datetime)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment

    def run(self, *args: str, actor: str | None = None) -> str:
        result = self.cli.run(*args, ok=False, actor=actor)
        assert result.exit_code == 0, f"coachledger {' '.join(args)}: {result.output}"
        return result.stdout.strip()

    def back(self, most_days: int) -> datetime | None:
        """None (now), or a moment back-dated by up to ``most_days`` days, at midnight."""
        days = self.draw(st.none() | st.integers(0, most_days))
        if days is None:
            return None
        return (self.now() - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)

    def value(self, kpi: Kpi, when: datetime) -> str:
        scale = kpi.scale_at(when)
        if scale is None:
            return str(self.draw(st.integers(0, 200_000)))
        low, high = scale
        return str(self.draw(st.integers(int(low), int(high))))

    def live(self) -> list[str]:
        return [slug for slug, c in self.clients.items() if not c.forgotten]

    def step(self) -> None:
        self.clock.tick(timedelta(minutes=self.draw(st.sampled_from([0, 1, 90, 60 * 24, 60 * 24 * 9]))))
        slugs = self.live()
        choices = ["client"] if len(self.clients) < 3 else []
        if slugs:
            choices += ["goal", "kpi", "feedback", "session", "read", "read"]
            owners = [s for s in slugs if any(not k.retired for k in self.clients[s].kpis.values())]
            if owners:
                choices += ["baseline", "measure", "measure", "measure", "adjust", "retire"]
            if any(self.clients[s].measurements for s in slugs):
                choices += ["correct", "retract"]
            choices += ["milestone", "forget"]
            # Between sessions: actions, goals that live, fixes of any record.
            choices += ["action", "fix", "fix"]
            if any("open" in self.clients[s].actions for s in slugs):
                choices += ["close_action", "close_action"]
            if any(self.clients[s].goals for s in slugs):
                choices += ["goal_life", "goal_life"]
        if choices:  # else every client was forgotten: nothing more can be recorded
            getattr(self, "do_" + self.draw(st.sampled_from(choices)))()

    # -- the commands ------------------------------------------------------------------

    def do_client(self) -> None:
        slug = ["ana", "bo", "cy"][len(self.clients)]
        coach = self.draw(st.sampled_from(["maria", "joan", None]))
        self.run("client", "add", slug, "--name", slug.title(), *(["--coach", coach] if coach else []))
        self.clients[slug] = Client()

    def pick(self) -> tuple[str, Client]:
        slug = self.draw(st.sampled_from(self.live()))
        return slug, self.clients[slug]

    def do_goal(self) -> None:
        slug, c = self.pick()
        goal = f"g{len(c.goals) + 1}"
        self.run(
            "goal",
            "add",
            slug,
            goal,
            "--text",
            f"Goal {goal}",
            "--horizon",
            self.draw(st.sampled_from(["short", "long"])),
        )
        c.goals.append(goal)

    def do_kpi(self) -> None:
        slug, c = self.pick()
        kpi = f"k{len(c.kpis) + 1}"
        scale = self.draw(st.sampled_from([None, (1, 5), (0, 10)]))
        low, high = scale or (0, 100_000)
        target = self.draw(st.integers(low, high))
        due = (self.now() + timedelta(days=self.draw(st.integers(20, 400)))).date().isoformat()
        args = [
            "kpi", "define", slug, kpi, "--name", f"KPI {kpi}",
            "--category", self.draw(st.sampled_from(["salary", "job-satisfaction", "promotion", "skill", "goal-achievement"])),
            "--unit", "points", "--direction", self.draw(st.sampled_from(["increase", "decrease"])),
            "--target", str(target), "--due", due,
            "--dimension", self.draw(st.sampled_from(["professional", "personal"])),
            "--horizon", self.draw(st.sampled_from(["short", "long"])),
        ]  # fmt: skip
        if scale:
            args += ["--scale", f"{low}..{high}"]
        linked: bool = self.draw(st.booleans())
        if c.goals and linked:
            args += ["--goal", self.draw(st.sampled_from(c.goals))]
        cadence = self.draw(st.sampled_from([None, "weekly", "14d", "quarterly"]))
        weight = self.draw(st.sampled_from([None, "2", "0.5"]))
        args += [*(["--cadence", cadence] if cadence else []), *(["--weight", weight] if weight else [])]
        self.run(*args)
        c.kpis[kpi] = Kpi(self.now(), scale)

    def open_kpi(self) -> tuple[str, Client, str, Kpi]:
        slug = self.draw(
            st.sampled_from(
                [s for s in self.live() if any(not k.retired for k in self.clients[s].kpis.values())]
            )
        )
        c = self.clients[slug]
        kpi = self.draw(st.sampled_from([k for k, v in c.kpis.items() if not v.retired]))
        return slug, c, kpi, c.kpis[kpi]

    def do_baseline(self) -> None:
        slug, _, kpi, k = self.open_kpi()
        at = self.back(20)
        when = at or self.now()
        args = ["kpi", "baseline", slug, kpi, self.value(k, when), "--yes"]  # random values: any magnitude
        if at is not None:
            args += ["--at", at.isoformat()]
        if k.baseline:
            args += ["--reason", "Re-baselined"]
        self.run(*args)
        k.baseline = True

    def do_measure(self) -> None:
        slug, c, kpi, k = self.open_kpi()
        at = self.back(40)
        when = at or self.now()
        args = ["measure", "record", slug, kpi, self.value(k, when), "--yes"]  # random values: any magnitude
        if at is not None:
            args += ["--at", at.isoformat()]
        confidence = self.draw(st.none() | st.integers(0, 10))
        if confidence is not None:
            args += ["--confidence", str(confidence)]
        actor = self.draw(st.sampled_from([None, "joan"]))
        mid = self.run(*args, actor=actor)
        c.measurements[mid] = (kpi, when, False)

    def measurement(self) -> tuple[str, Client, str] | None:
        options = [
            (s, m)
            for s in self.live()
            for m, (_, _, gone) in self.clients[s].measurements.items()
            if not gone
        ]
        if not options:
            return None
        slug, mid = self.draw(st.sampled_from(options))
        return slug, self.clients[slug], mid

    def do_correct(self) -> None:
        found = self.measurement()
        if found is None:
            return
        slug, c, mid = found
        kpi, when, _ = c.measurements[mid]
        self.run("measure", "correct", slug, mid, self.value(c.kpis[kpi], when), "--reason", "Typo")

    def do_retract(self) -> None:
        found = self.measurement()
        if found is None:
            return
        slug, c, mid = found
        self.run("measure", "retract", slug, mid, "--reason", "Wrong client")
        kpi, when, _ = c.measurements[mid]
        c.measurements[mid] = (kpi, when, True)

    def do_adjust(self) -> None:
        slug, _, kpi, k = self.open_kpi()
        at = self.back(10)
        when = at or self.now()
        kind = self.draw(
            st.sampled_from(["target", "due", "name", "scale" if k.scale else "factor", "cadence", "weight"])
        )
        args = ["kpi", "adjust", slug, kpi, "--reason", f"Adjust {kind}"]
        scale: tuple[int, int] | None = None
        factor: Decimal | None = None
        if kind == "target":
            args += ["--target", self.value(k, when)]
        elif kind == "due":
            args += [
                "--due",
                (self.now() + timedelta(days=self.draw(st.integers(30, 500)))).date().isoformat(),
            ]
        elif kind == "name":
            args += ["--name", "Renamed", "--unit", "units"]
        elif kind == "cadence":
            args += ["--cadence", self.draw(st.sampled_from(["weekly", "biweekly", "monthly", "3d"]))]
        elif kind == "weight":
            args += ["--weight", self.draw(st.sampled_from(["1", "3", "0.25"]))]
        elif kind == "scale":
            scale = self.draw(st.sampled_from([(0, 100), (1, 10), (0, 20)]))
            args += ["--scale", f"{scale[0]}..{scale[1]}", "--rescale"]
        else:
            factor = Decimal(self.draw(st.sampled_from(["0.001", "2", "1000"])))
            args += ["--factor", str(factor)]
        if at is not None:
            args += ["--at", at.isoformat()]
        self.run(*args)
        k.adjustments.append((when, scale, factor))

    def do_retire(self) -> None:
        slug, _, kpi, k = self.open_kpi()
        self.run("kpi", "retire", slug, kpi, "--reason", "Done with it")
        k.retired = True

    def do_feedback(self) -> None:
        slug, c = self.pick()
        about = self.draw(st.sampled_from(["session", "process", *[f"kpi:{k}" for k in c.kpis]]))
        args = ["feedback", "add", slug, "--rating", str(self.draw(st.integers(1, 5))), "--about", about]
        at = self.back(15)
        if at is not None:
            args += ["--at", at.isoformat()]
        if self.draw(st.booleans()):
            args += ["--comment", "=SUM(A1) said the client"]
        self.run(*args)
        c.feedback.append(False)

    def do_session(self) -> None:
        slug, c = self.pick()
        kpis: list[str] = []
        if c.kpis:
            kpis = self.draw(st.lists(st.sampled_from(sorted(c.kpis)), max_size=2, unique=True))
        args = ["session", "log", slug, "--notes", "Talked it through"]
        for kpi in kpis:
            args += ["--kpi", kpi]
        at = self.back(5)
        if at is not None:
            args += ["--at", at.isoformat()]
        self.run(*args, "--action", "Next step")
        c.sessions.append(False)
        c.actions.append("open")

    def do_milestone(self) -> None:
        slug, c = self.pick()
        open_ = [t for t in [*c.kpis, *c.goals] if t not in c.celebrated]
        if not open_:
            return
        target = self.draw(st.sampled_from(open_))
        self.run("milestone", "celebrate", slug, target)
        c.celebrated.add(target)

    def do_action(self) -> None:
        slug, c = self.pick()
        args = ["action", "add", slug, "Send the CV"]
        due = self.draw(st.none() | st.integers(-20, 40))
        if due is not None:
            args += ["--due", (self.now() + timedelta(days=due)).date().isoformat()]
        if c.kpis and self.draw(st.booleans()):
            args += ["--kpi", self.draw(st.sampled_from(sorted(c.kpis)))]
        self.run(*args)
        c.actions.append("open")

    def do_close_action(self) -> None:
        slug = self.draw(st.sampled_from([s for s in self.live() if "open" in self.clients[s].actions]))
        c = self.clients[slug]
        open_ = [f"a{n}" for n, status in enumerate(c.actions, start=1) if status == "open"]
        action = self.draw(st.sampled_from(open_))
        self.run("action", self.draw(st.sampled_from(["done", "drop"])), slug, action, "--note", "Talked")
        c.actions[int(action[1:]) - 1] = "closed"

    def do_goal_life(self) -> None:
        slug = self.draw(st.sampled_from([s for s in self.live() if self.clients[s].goals]))
        c = self.clients[slug]
        goal = self.draw(st.sampled_from(c.goals))
        state = c.goal_states.get(goal, "open")
        at = self.back(10)
        when = ["--at", at.isoformat()] if at is not None else []
        moves = ["adjust", *(["achieve", "abandon"] if state == "open" else ["reopen"])]
        move = self.draw(st.sampled_from(moves))
        if move == "adjust":
            self.run("goal", "adjust", slug, goal, "--text", "Sharper", "--reason", "Clearer", *when)
        elif move == "achieve":
            self.run("goal", "achieve", slug, goal, "--note", "Done", *when)
        else:
            self.run("goal", move, slug, goal, "--reason", "Changed", *when)
        if move != "adjust":
            c.goal_states[goal] = {"achieve": "achieved", "abandon": "abandoned", "reopen": "open"}[move]

    def do_fix(self) -> None:
        slug, c = self.pick()
        kinds = ["rename", "update"]
        sessions = [f"s{n}" for n, gone in enumerate(c.sessions, start=1) if not gone]
        feedback = [f"f{n}" for n, gone in enumerate(c.feedback, start=1) if not gone]
        kinds += ["amend", "retract_session"] if sessions else []
        kinds += ["retract_feedback"] if feedback else []
        kinds += ["retract_milestone"] if c.celebrated else []
        kind = self.draw(st.sampled_from(kinds))
        self.fixes += 1  # names and contacts that always change
        if kind == "rename":
            self.run("client", "rename", slug, "--name", f"{slug.title()} {self.fixes}", "--reason", "Typo")
        elif kind == "update":
            coach = self.draw(st.sampled_from(["maria", "joan", "li"]))
            contact = f"{coach}-{self.fixes}@x.org"
            self.run("client", "update", slug, "--coach", coach, "--contact", contact, "--reason", "Move")
        elif kind == "amend":
            session = self.draw(st.sampled_from(sessions))
            at = self.back(5)
            when = ["--at", at.isoformat()] if at is not None else []
            self.run("session", "amend", slug, session, "--notes", "Talked more", *when, "--reason", "Notes")
        elif kind == "retract_session":
            session = self.draw(st.sampled_from(sessions))
            self.run("session", "retract", slug, session, "--reason", "Twice")
            c.sessions[int(session[1:]) - 1] = True
        elif kind == "retract_feedback":
            fb = self.draw(st.sampled_from(feedback))
            self.run("feedback", "retract", slug, fb, "--reason", "Other client")
            c.feedback[int(fb[1:]) - 1] = True
        else:
            target = self.draw(st.sampled_from(sorted(c.celebrated)))
            self.run("milestone", "retract", slug, target, "--reason", "Too early")
            c.celebrated.discard(target)

    def do_forget(self) -> None:
        if self.draw(st.integers(0, 3)):  # rarely
            return
        slug, c = self.pick()
        self.run("forget", slug, "--yes")
        c.forgotten = True

    def do_read(self) -> None:
        """A read in between: the views catch up with what was recorded so far."""
        slug, _ = self.pick()
        command = self.draw(
            st.sampled_from([("progress", slug), ("timeline", slug), ("client", "list"), ("agenda", slug)])
        )
        self.cli.run(*command, "--json")


def reset(store: str, tmp: Path) -> str:
    """An empty store for one example: a new SQLite file, or the PostgreSQL schema emptied."""
    if not store.startswith("postgresql://"):
        return str(tmp / f"{uuid.uuid4().hex}.sqlite")
    import psycopg

    with psycopg.connect(store, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return store


# Around 30 examples; fewer on PostgreSQL, where each command costs a few connections.
EXAMPLES = {"sqlite": 30, "postgres": 8}


def test_rebuild_after_random_commands_recorded_live(store: str, tmp_path: Path) -> None:
    backend = "postgres" if store.startswith("postgresql://") else "sqlite"

    @settings(
        max_examples=EXAMPLES[backend],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def random_journey(data: st.DataObject) -> None:
        cli = Cli(reset(store, tmp_path))
        if data.draw(st.booleans(), label="encrypted"):
            cli.run("init", "--encrypt")
        with freeze_time(START, ignore=KEEP_REAL_TIME) as clock:
            assert isinstance(clock, FrozenDateTimeFactory)
            journey = Journey(cli, clock, data)
            journey.do_client()
            for _ in range(data.draw(st.integers(3, 30), label="steps")):
                journey.step()
            clock.tick(timedelta(minutes=1))
            as_of = data.draw(st.sampled_from([journey.now(), START + timedelta(days=10)]), label="as-of")
            known_at = START + (journey.now() - START) / 2
            assert_rebuild_changes_nothing(cli, as_of.isoformat(), known_at.isoformat())
            assert_replay_matches_progress(cli, journey, data)

    random_journey()


def assert_replay_matches_progress(cli: Cli, journey: Journey, data: st.DataObject) -> None:
    """A few replay steps, each equal to progress known and as of its recording time.

    Only the last step of events recorded at the same instant can match: known-at that
    instant knows them all.
    """
    live = journey.live()
    if not live:
        return
    slug = data.draw(st.sampled_from(live), label="replayed")
    steps = cli.json("replay", slug)["steps"]
    last_of_instant = [
        s
        for s, after in zip(steps, [*steps[1:], None], strict=True)
        if after is None or after["recorded_at"] != s["recorded_at"]
    ]
    for step in data.draw(
        st.lists(st.sampled_from(last_of_instant), max_size=4, unique_by=lambda s: s["seq"]),
        label="steps checked",
    ):
        when = step["recorded_at"]
        assert step["progress"] == cli.json("progress", slug, "--known-at", when, "--as-of", when)["kpis"], (
            step["seq"]
        )
