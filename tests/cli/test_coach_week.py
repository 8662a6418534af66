"""A coach's week, end to end, as a coach runs it: the installed ``coachledger`` command in its
own process, on real SQLite files, with the real clock; dates are given with --at and --as-of
relative to today, so the week is this week whenever the test runs.

Monday: ``due`` across the demo practice says what to measure this week (a table, JSON and a
calendar feed). Then one client's week: a session agrees actions, which the next agenda lists
until they are done or dropped; a check-in loses confidence; a goal is achieved and the
portfolio counts it; a rename and a retracted session show in the timeline with their reasons,
the originals still there; and the journey replayed as known before the follow-ups shows what
was open and due then.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

TODAY = datetime.now(tz=UTC).date()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def installed_command() -> list[str]:
    """The ``coachledger`` a shell finds beside this interpreter (the install's console script)."""
    script = Path(sys.executable).with_name("coachledger")
    found = str(script) if script.exists() else shutil.which("coachledger")
    return [found] if found else [sys.executable, "-m", "coachledger"]


class Coach:
    """Runs the installed command as a coach types it, against one store."""

    def __init__(self, store: Path, home: Path, actor: str = "maria") -> None:
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("COACHLEDGER_")},
            "COACHLEDGER_STORE": str(store),
            "COACHLEDGER_ACTOR": actor,
            "XDG_DATA_HOME": str(home),
            "NO_COLOR": "1",
        }

    def run(self, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*installed_command(), *args], capture_output=True, text=True, env=self.env, timeout=300
        )
        assert done.returncode == code, f"coachledger {' '.join(args)} exited {done.returncode}:\n{done.stderr}"
        assert "Traceback" not in done.stderr
        return done

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.strip()

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)


# -- Monday: what is due across the practice ------------------------------------------------------


def test_due_across_a_demo_practice_says_what_to_measure_this_week(tmp_path: Path) -> None:
    from icalendar import Calendar

    store = tmp_path / "demo.sqlite"
    coach = Coach(store, tmp_path / "data")
    yesterday = day(-1)
    coach.run("demo", "--clients", "10", "--months", "6", "--until", yesterday, "--store", str(store))

    week = coach.json("due", "--within", "7d")  # as of now, and what falls due in the next 7 days

    items = week["items"]
    assert week["within_days"] == 7 and week["as_of"][:10] == TODAY.isoformat()
    assert {"measurement", "action"} <= {i["kind"] for i in items} <= {"measurement", "action", "checkin"}
    assert all(i["due"] <= day(7) and i["days_late"] == (TODAY - date.fromisoformat(i["due"])).days for i in items)
    assert [i["days_late"] for i in items] == sorted((i["days_late"] for i in items), reverse=True)  # most late first
    measured = [i for i in items if i["kind"] == "measurement"]
    assert {i["cadence"] for i in measured} >= {"weekly", "monthly"}
    for i in measured:  # next due = last measured (or baseline) + cadence, by UTC date
        cadence = {"weekly": 7, "biweekly": 14, "monthly": 30, "quarterly": 91}[i["cadence"]]
        assert date.fromisoformat(i["due"]) == date.fromisoformat(i["last_measured"][:10]) + timedelta(days=cadence)
    # Each coach sees their own clients; every client has a next session booked.
    maria = coach.json("due", "--within", "7d", "--coach", "maria")["items"]
    assert maria and {i["coach"] for i in maria} == {"maria"} and len(maria) < len(items)
    assert len(week["next_sessions"]) == 10 and all(s["at"][:10] > yesterday for s in week["next_sessions"])
    table = coach.out("due", "--within", "7d").splitlines()
    assert table[0] == f"Due by {TODAY.isoformat()} + 7 days:" and "Next sessions:" in table
    # The calendar feed: a to-do per due item, an event per booked session, for any calendar app.
    feed = tmp_path / "due.ics"
    result = coach.run("due", "--within", "7d", "--ics", str(feed))
    assert result.stderr.startswith(f"Wrote {len(items)} due item(s) and 10 session(s) to ")
    calendar = Calendar.from_ical(feed.read_bytes())
    todos, events = calendar.walk("VTODO"), calendar.walk("VEVENT")
    assert len(todos) == len(items) and len(events) == 10
    assert len({str(t["uid"]) for t in todos}) == len(todos)
    assert {t["due"].dt.isoformat() for t in todos} == {i["due"] for i in items}
    assert all(str(e["summary"]).startswith("Coaching session: ") for e in events)
    assert oct(feed.stat().st_mode & 0o777) == "0o600"


# -- one client's week --------------------------------------------------------------------------


@pytest.fixture
def coach(tmp_path: Path) -> Coach:
    return Coach(tmp_path / "ledger.sqlite", tmp_path / "data")


def follow_up(coach: Coach, *args: str) -> list[tuple[str, bool]]:
    return [(a["action"], a["overdue"]) for a in coach.json("agenda", "ana-lopez", *args)["follow_up"]]


def test_a_coachs_week_with_one_client(coach: Coach, tmp_path: Path) -> None:
    coach.run("client", "add", "ana-lopez", "--name", "Ana López", "--coach", "maria")
    Coach(tmp_path / "ledger.sqlite", tmp_path / "data", "li").run(
        "client", "add", "ben-okafor", "--name", "Ben Okafor", "--coach", "li"
    )
    coach.run("goal", "add", "ana-lopez", "lead-team", "--text", "Lead a team of five", "--due", day(300))
    coach.run(
        "kpi", "define", "ana-lopez", "satisfaction", "--name", "Job satisfaction", "--category", "job-satisfaction",
        "--unit", "points", "--direction", "increase", "--target", "8", "--due", day(200), "--scale", "1..10",
        "--goal", "lead-team", "--cadence", "weekly",
    )  # fmt: skip
    coach.run(
        "kpi", "define", "ana-lopez", "salary", "--name", "Base salary", "--category", "salary", "--unit", "EUR",
        "--direction", "increase", "--target", "80000", "--due", day(300), "--goal", "lead-team",
        "--cadence", "quarterly", "--weight", "2",
    )  # fmt: skip
    coach.run("kpi", "baseline", "ana-lopez", "satisfaction", "4", "--at", day(-60))
    coach.run("kpi", "baseline", "ana-lopez", "salary", "70000", "--at", day(-60))
    coach.run("measure", "record", "ana-lopez", "satisfaction", "6", "--at", day(-10), "--confidence", "8")

    # Last week's session agrees two actions; one more with a due date this week.
    logged = coach.out("session", "log", "ana-lopez", "--at", day(-7), "--notes", "Planned the review talk.",
                       "--kpi", "satisfaction", "--action", "Update the CV", "--action", "Ask for the review")  # fmt: skip
    assert logged.splitlines()[1:] == ["Opened action a1: Update the CV", "Opened action a2: Ask for the review"]
    assert coach.out("action", "add", "ana-lopez", "Send the CV", "--due", day(3), "--kpi", "salary") == "a3"
    coach.run("action", "add", "ana-lopez", "Book the training", "--due", day(-2))  # a4: overdue already
    before_follow_ups = datetime.now(tz=UTC)

    # The next agenda: every open action, overdue first, then by due date (none last).
    assert follow_up(coach) == [("a4", True), ("a3", False), ("a1", False), ("a2", False)]
    agenda = coach.out("agenda", "ana-lopez")
    assert "Follow up:\n  - a4: Book the training (due " in agenda and "a1: Update the CV" in agenda
    due = coach.json("due", "--within", "7d")["items"]
    assert [(i["kind"], i.get("action") or i["kpi"], i["due"], i["days_late"]) for i in due] == [
        ("measurement", "satisfaction", day(-3), 3),  # weekly: last measured 10 days ago
        ("action", "a4", day(-2), 2),
        ("action", "a3", day(3), -3),
    ]  # salary: quarterly from its baseline 60 days ago, due in 31 days: not this week

    # Done and dropped actions leave the agenda; the check-in shows a drop in confidence.
    coach.run("action", "done", "ana-lopez", "a1", "--note", "sent to two recruiters")
    coach.run("action", "drop", "ana-lopez", "a2", "--note", "the review moved to spring")
    coach.run("action", "done", "ana-lopez", "a4")
    coach.run("measure", "record", "ana-lopez", "satisfaction", "5", "--confidence", "4")
    assert follow_up(coach) == [("a3", False)]
    drops = coach.json("agenda", "ana-lopez")["confidence_drops"]
    assert [(d["kpi"], d["from"], d["to"]) for d in drops] == [("satisfaction", 8, 4)]
    due = coach.json("due", "--within", "7d")["items"]  # measured today: weekly, so due again in 7 days
    assert [(i.get("action") or i["kpi"], i["days_late"]) for i in due] == [("a3", -3), ("satisfaction", -7)]

    # The goal is reached: the portfolio counts it.
    assert coach.json("portfolio")["goals_achieved"] == 0
    coach.run("goal", "achieve", "ana-lopez", "lead-team", "--note", "Leads a team of five since Monday")
    portfolio = coach.json("portfolio")
    assert (portfolio["goals_achieved"], portfolio["goals_open"], portfolio["goal_achievement_rate_pct"]) == (1, 0, 100.0)
    assert coach.json("portfolio", "--known-at", before_follow_ups.isoformat())["goals_achieved"] == 0
    goals = coach.json("goal", "list", "ana-lopez")["goals"]
    assert [(g["goal"], g["status"], g["kpis"]) for g in goals] == [("lead-team", "achieved", ["satisfaction", "salary"])]

    # Fixing the record: a rename and a session logged twice; the timeline says what and why.
    coach.run("client", "rename", "ana-lopez", "--name", "Ana López García", "--reason", "married name")
    coach.run("session", "log", "ana-lopez", "--at", day(-7), "--notes", "Planned the review talk.")
    coach.run("session", "retract", "ana-lopez", "s2", "--reason", "logged twice")
    events = coach.json("timeline", "ana-lopez")["events"]
    lines = [(e["type"], e["summary"]) for e in events]
    assert lines[0] == ("ClientRegistered", "Registered Ana López (coach maria)")  # the original stays
    assert ("ClientRenamed", "Renamed client: Ana López -> Ana López García - married name") in lines
    logged_twice = [e for e in events if e["type"] == "SessionLogged"]
    assert [e["data"]["id"] for e in logged_twice] == ["s1", "s2"]  # the retracted session stays visible
    assert ("SessionRetracted", "Retracted session s2: logged twice") in lines
    text = coach.out("timeline", "ana-lopez")
    assert "married name" in text and "Retracted session s2: logged twice" in text
    assert coach.json("client", "show", "ana-lopez")["name"] == "Ana López García"
    assert len(coach.json("report", "ana-lopez")["sessions"]) == 1  # the retracted one is left out

    # Replayed as known before the follow-ups: what was open, and what was due, then.
    then = before_follow_ups.isoformat()
    replay = coach.json("replay", "ana-lopez", "--known-at", then)
    assert replay["steps"][-1]["type"] == "ActionOpened"
    assert [(a["action"], a["overdue"]) for a in replay["steps"][-1]["open_actions"]] == [
        ("a4", True), ("a3", False), ("a1", False), ("a2", False),
    ]  # fmt: skip
    assert "follow up: a4: Book the training" in coach.out("replay", "ana-lopez", "--known-at", then)
    assert follow_up(coach, "--known-at", then) == [("a4", True), ("a3", False), ("a1", False), ("a2", False)]
    due_then = coach.json("due", "--within", "7d", "--known-at", then)["items"]
    assert [i.get("action") or i["kpi"] for i in due_then] == ["satisfaction", "a4", "a3"]
    assert coach.json("client", "show", "ana-lopez")["name"] == "Ana López García"
    assert coach.json("due", "--known-at", then)["items"][0]["client_name"] == "Ana López"  # named as then
