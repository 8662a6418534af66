"""DOMAIN.md's worked examples 3 to 5 (what is due, goal roll-up and portfolio, confidence), through
the real CLI on each store, recorded as a coach would (the clock moves forward with freezegun).

Each test also finds its example's sentences in DOMAIN.md, so that the page and the numbers
cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time
from freezegun.api import FrozenDateTimeFactory

from coachledger.adapters import codec
from conftest import Cli

# Build every event schema now: under freezegun, `datetime` in the domain's type hints is FakeDatetime.
list(codec.SCHEMAS.values())

DOMAIN = (Path(__file__).resolve().parents[2] / "docs" / "DOMAIN.md").read_text("utf-8")
WORKED = " ".join(DOMAIN.split("## Worked examples", 1)[1].split("\n## ", 1)[0].split())


def says(*sentences: str) -> None:
    for sentence in sentences:
        assert sentence in WORKED, f"DOMAIN.md's worked examples no longer say: {sentence}"


@pytest.fixture
def clock() -> Iterator[FrozenDateTimeFactory]:
    with freeze_time("2026-01-05T10:00:00Z", ignore=["psycopg"]) as frozen:
        assert isinstance(frozen, FrozenDateTimeFactory)
        yield frozen


def define(cli: Cli, kpi: str, *extra: str, target: str = "90") -> None:
    cli.run(
        "kpi", "define", "ana", kpi, "--name", kpi.title(), "--category", "custom", "--unit", "points",
        "--direction", "increase", "--target", target, "--due", "2026-12-31", *extra,
    )  # fmt: skip


def due(cli: Cli, *args: str) -> list[tuple[str, str, int]]:
    return [(i["kpi"], i["due"], i["days_late"]) for i in cli.json("due", *args)["items"]]


def test_example_3_what_is_due(cli: Cli, clock: FrozenDateTimeFactory) -> None:
    says(
        "next due = 2026-01-20 + 14 days = 2026-02-03.",
        "`due --as-of 2026-02-03T08:00Z`: 2026-02-03 <= 2026-02-03, listed, days late 0.",
        "`due --as-of 2026-02-02T23:59Z`: not listed; with `--within 7d`: listed, days late -1.",
        "`due --as-of 2026-02-10`: days late 7.",
        "next due 2026-01-16; as of 2026-02-03, days late 18.",
    )
    cli.run("client", "add", "ana", "--name", "Ana")
    define(cli, "focus", "--cadence", "14d")
    cli.run("kpi", "baseline", "ana", "focus", "50", "--at", "2026-01-02")
    clock.move_to("2026-01-21T09:00:00Z")
    mid = cli.out("measure", "record", "ana", "focus", "60", "--at", "2026-01-20T18:30Z")
    clock.move_to("2026-02-11T09:00:00Z")

    assert due(cli, "--as-of", "2026-02-03T08:00Z") == [("focus", "2026-02-03", 0)]
    assert due(cli, "--as-of", "2026-02-02T23:59Z") == []
    assert due(cli, "--as-of", "2026-02-02T23:59Z", "--within", "7d") == [("focus", "2026-02-03", -1)]
    assert due(cli, "--as-of", "2026-02-10") == [("focus", "2026-02-03", 7)]

    def measure(as_of: str) -> list[str]:
        return [m["kpi"] for m in cli.json("agenda", "ana", "--as-of", as_of)["measurements_due"]]

    assert measure("2026-02-03T08:00Z") == [] and measure("2026-02-04T19:00Z") == ["focus"]

    cli.run("measure", "retract", "ana", mid, "--reason", "wrong client")
    assert due(cli, "--as-of", "2026-02-03") == [("focus", "2026-01-16", 18)]


def test_example_4_goal_roll_up_and_portfolio(cli: Cli, clock: FrozenDateTimeFactory) -> None:
    says(
        "Its progress_pct = (2 * 50 + 1 * 100) / (2 + 1) = 66.7.",
        "the open goals' average progress is 66.7 (`exam` has none)",
        "goals_achieved 2 (`lead-team`, `grow`), goals_open 1, goals_abandoned 1",
        "goal_achievement_rate_pct = 100 * 2 / 3 = 66.7.",
    )
    cli.run("client", "add", "ana", "--name", "Ana", "--coach", "maria")
    for goal in ("lead-team", "balance", "grow", "exam"):
        cli.run("goal", "add", "ana", goal, "--text", goal.title())
    define(cli, "salary", "--goal", "lead-team", "--weight", "2")
    define(cli, "reports", "--goal", "lead-team", target="4")
    define(cli, "network", "--goal", "lead-team")
    cli.run("kpi", "baseline", "ana", "salary", "70", "--at", "2026-01-01")
    cli.run("kpi", "baseline", "ana", "reports", "0", "--at", "2026-01-01")
    cli.run("measure", "record", "ana", "salary", "80")
    cli.run("measure", "record", "ana", "reports", "5")
    cli.run("goal", "abandon", "ana", "balance", "--reason", "priorities changed")
    cli.run("milestone", "celebrate", "ana", "grow", "--note", "grown")

    goals = {g["goal"]: g for g in cli.json("goal", "list", "ana")["goals"]}
    lead = goals["lead-team"]
    assert (lead["kpis"], lead["progress_pct"]) == (["salary", "reports", "network"], 66.7)
    progress = {k["kpi"]: k["progress_pct"] for k in cli.json("progress", "ana")["kpis"]}
    assert progress == {"salary": 50.0, "reports": 125.0, "network": None}

    assert cli.json("portfolio")["average_open_goal_progress_pct"] == 66.7
    cli.run("goal", "achieve", "ana", "lead-team")
    portfolio = cli.json("portfolio")
    assert portfolio["average_open_goal_progress_pct"] is None
    assert (
        portfolio["goals_achieved"],
        portfolio["goals_open"],
        portfolio["goals_abandoned"],
        portfolio["goal_achievement_rate_pct"],
    ) == (2, 1, 1, 66.7)
    assert {g: s["status"] for g, s in goals.items()} == {
        "lead-team": "open", "balance": "abandoned", "grow": "open", "exam": "open",
    }  # fmt: skip


def test_example_5_confidence(cli: Cli, clock: FrozenDateTimeFactory) -> None:
    says(
        "As of 2026-03-15: latest 4, previous 8, a drop of 4: `agenda` lists it (from 8 to 4);",
        "change = 4 - 6 = -2, `falling`, dropped.",
        "latest 8, previous 6, no drop; change +2, `rising`.",
    )
    cli.run("client", "add", "ana", "--name", "Ana")
    define(cli, "satisfaction", "--scale", "0..10", target="9")
    cli.run("kpi", "baseline", "ana", "satisfaction", "4", "--at", "2026-01-02")
    clock.move_to("2026-03-12T09:00:00Z")
    for day, value, sure in (("01-10", "5", "6"), ("02-10", "6", "8"), ("03-10", "5", "4")):
        last = cli.out("measure", "record", "ana", "satisfaction", value, "--at", f"2026-{day}", "--confidence", sure)

    def read(as_of: str = "2026-03-15") -> tuple[list[tuple[int, int]], dict[str, Any], dict[str, Any]]:
        drops = [(d["from"], d["to"]) for d in cli.json("agenda", "ana", "--as-of", as_of)["confidence_drops"]]
        report = cli.json("report", "ana", "--as-of", as_of)["confidence"][0]
        latest = cli.json("progress", "ana", "--as-of", as_of)["confidence"][0]
        return drops, report, latest

    drops, report, latest = read()
    assert drops == [(8, 4)] and (latest["confidence"], latest["previous"]) == (4, 8)
    assert (report["change"], report["dropped"], [p["confidence"] for p in report["points"]]) == (-2, True, [6, 8, 4])
    assert "falling from 6 to 4 (-2); down 4 at the latest check-in" in cli.out("report", "ana", "--as-of", "2026-03-15")

    cli.run("measure", "retract", "ana", last, "--reason", "entered twice")
    drops, report, latest = read()
    assert drops == [] and (latest["confidence"], latest["previous"]) == (8, 6)
    assert (report["change"], report["dropped"]) == (2, False)
    assert "rising from 6 to 8 (+2)" in cli.out("report", "ana", "--as-of", "2026-03-15")
