"""Goals that live (adjust, achieve, abandon, reopen, roll-up), check-in confidence and KPI
templates, through the CLI on each backend."""

from __future__ import annotations

from pathlib import Path

from conftest import Cli

AS_OF = "2027-01-01"


def a_client(cli: Cli) -> None:
    """Two goals; lead-team served by two KPIs at 50 % and 100 % (as of 2027), move-abroad by none."""
    cli.run("client", "add", "ana", "--name", "Ana", "--coach", "maria")
    cli.run("goal", "add", "ana", "lead-team", "--text", "Lead a team", "--due", "2028-01-01")
    cli.run("goal", "add", "ana", "move-abroad", "--text", "Work abroad")
    for kpi in ("skill", "network"):
        cli.run(
            "kpi", "define", "ana", kpi, "--name", kpi, "--category", "skill", "--unit", "points",
            "--direction", "increase", "--target", "10", "--due", "2030-12-31", "--scale", "0..10",
            "--goal", "lead-team",
        )  # fmt: skip
        cli.run("kpi", "baseline", "ana", kpi, "0", "--at", "2026-01-01")
    cli.run("measure", "record", "ana", "skill", "5", "--at", "2026-03-01", "--confidence", "8")
    cli.run("measure", "record", "ana", "network", "10", "--at", "2026-03-01")


def refused(cli: Cli, *args: str) -> str:
    result = cli.run(*args, ok=False)
    assert result.exit_code == 1 and result.stdout == "", result.output
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("Error: ")
    return result.stderr.strip()


def events(cli: Cli) -> int:
    return len(cli.json("timeline", "ana")["events"])


def goal(cli: Cli, goal_id: str, *args: str) -> dict:  # type: ignore[type-arg]
    doc = cli.json("goal", "list", "ana", "--as-of", AS_OF, *args)
    return next(g for g in doc["goals"] if g["goal"] == goal_id)


def test_a_goal_rolls_up_the_mean_progress_of_its_kpis(cli: Cli) -> None:
    a_client(cli)

    lead = goal(cli, "lead-team")

    assert lead["progress_pct"] == 75.0  # (50 + 100) / 2, equal weights
    assert lead["kpis"] == ["skill", "network"] and lead["status"] == "open" and lead["status_at"] is None
    assert goal(cli, "move-abroad")["progress_pct"] is None  # no KPI serves it


def test_a_goal_moves_through_its_lifecycle_and_each_read_sees_it_as_of_its_date(cli: Cli) -> None:
    a_client(cli)

    cli.run(
        "goal",
        "adjust",
        "ana",
        "lead-team",
        "--text",
        "Lead a team of six",
        "--reason",
        "grew",
        "--at",
        "2026-04-01",
    )
    cli.run("goal", "achieve", "ana", "lead-team", "--note", "Leads six", "--at", "2026-06-01")
    cli.run("goal", "abandon", "ana", "move-abroad", "--reason", "family", "--at", "2026-06-01")
    cli.run("goal", "reopen", "ana", "move-abroad", "--reason", "offer", "--at", "2026-08-01")

    lead = goal(cli, "lead-team")
    assert (lead["status"], lead["status_note"], lead["text"]) == (
        "achieved",
        "Leads six",
        "Lead a team of six",
    )
    assert goal(cli, "move-abroad")["status"] == "open"
    assert goal(cli, "move-abroad", "--as-of", "2026-07-01")["status"] == "abandoned"
    assert goal(cli, "lead-team", "--as-of", "2026-05-01")["status"] == "open"
    types = [e["type"] for e in cli.json("timeline", "ana")["events"]][-4:]
    assert types == ["GoalAdjusted", "GoalAchieved", "GoalAbandoned", "GoalReopened"]


def test_goal_list_as_known_at_a_moment_before_the_achievement_shows_it_open(cli: Cli) -> None:
    a_client(cli)
    recorded = cli.json("timeline", "ana")["events"][-1]["recorded_at"]
    cli.run("goal", "achieve", "ana", "lead-team", "--at", "2026-06-01")

    assert goal(cli, "lead-team", "--known-at", recorded)["status"] == "open"
    assert goal(cli, "lead-team")["status"] == "achieved"


def test_lifecycle_refusals_write_nothing(cli: Cli) -> None:
    a_client(cli)
    cli.run("goal", "achieve", "ana", "lead-team")
    before = events(cli)

    assert refused(cli, "goal", "achieve", "ana", "lead-team") == (
        "Error: goal 'lead-team' is achieved, not open: reopen it first"
    )
    assert refused(cli, "goal", "abandon", "ana", "lead-team", "--reason", "x") == (
        "Error: goal 'lead-team' is achieved, not open: reopen it first"
    )
    assert refused(cli, "goal", "reopen", "ana", "move-abroad", "--reason", "x") == (
        "Error: goal 'move-abroad' is already open"
    )
    assert refused(cli, "goal", "achieve", "ana", "nope") == "Error: unknown goal 'nope' for client 'ana'"
    assert refused(cli, "goal", "adjust", "ana", "lead-team", "--reason", "x") == (
        "Error: a goal adjustment must change --text, --due or --horizon"
    )
    assert refused(cli, "goal", "abandon", "ana", "move-abroad", "--reason", " ") == (
        "Error: abandoning a goal needs a reason (--reason)"
    )
    assert cli.run("goal", "abandon", "ana", "move-abroad", ok=False).exit_code == 2  # --reason missing
    assert events(cli) == before


def test_progress_shows_goals_and_the_latest_confidence_beside_unchanged_kpi_rows(cli: Cli) -> None:
    a_client(cli)
    cli.run("measure", "record", "ana", "skill", "6", "--at", "2026-04-01", "--confidence", "7")

    doc = cli.json("progress", "ana", "--as-of", AS_OF)
    text = cli.out("progress", "ana", "--as-of", AS_OF)

    assert set(doc) == {"client", "as_of", "known_at", "kpis", "goals", "confidence"}
    assert set(doc["kpis"][0]) >= {"kpi", "progress_pct", "status", "trend_per_month", "retired"}
    assert "confidence" not in doc["kpis"][0]
    assert doc["confidence"] == [
        {"kpi": "skill", "confidence": 7, "effective_at": "2026-04-01T00:00:00.000000+00:00", "previous": 8}
    ]
    assert [(g["goal"], g["progress_pct"]) for g in doc["goals"]] == [
        ("lead-team", 80.0),
        ("move-abroad", None),
    ]
    assert "Confidence (latest check-in): skill 7/10 (was 8)" in text
    assert "  lead-team (open): 80% [skill, network] - Lead a team" in text


def test_the_portfolio_counts_achieved_goals_and_leaves_abandoned_ones_out(cli: Cli) -> None:
    a_client(cli)
    assert cli.json("portfolio", "--as-of", AS_OF)["goal_achievement_rate_pct"] == 0.0

    cli.run("goal", "achieve", "ana", "lead-team", "--at", "2026-06-01")
    half = cli.json("portfolio", "--as-of", AS_OF)
    cli.run("goal", "abandon", "ana", "move-abroad", "--reason", "family", "--at", "2026-06-01")
    whole = cli.json("portfolio", "--as-of", AS_OF)

    assert (half["goal_achievement_rate_pct"], half["goals_achieved"], half["goals_open"]) == (50.0, 1, 1)
    assert whole["goal_achievement_rate_pct"] == 100.0 and whole["goals_abandoned"] == 1
    assert cli.json("portfolio", "--as-of", "2026-05-01")["goals_achieved"] == 0  # not yet, then
    assert "1 achieved, 0 open, 1 abandoned" in cli.out("portfolio", "--as-of", AS_OF)


def test_a_drop_of_three_confidence_points_is_on_the_agenda(cli: Cli) -> None:
    a_client(cli)
    cli.run("measure", "record", "ana", "skill", "6", "--at", "2026-04-01", "--confidence", "6")
    assert cli.json("agenda", "ana", "--as-of", AS_OF)["confidence_drops"] == []  # 8 -> 6: two points

    cli.run("measure", "record", "ana", "skill", "6", "--at", "2026-05-01", "--confidence", "3")

    drops = cli.json("agenda", "ana", "--as-of", AS_OF)["confidence_drops"]
    assert [(d["kpi"], d["from"], d["to"]) for d in drops] == [("skill", 6, 3)]
    assert "skill: confidence 6 -> 3 of 10 (2026-05-01)" in cli.out("agenda", "ana", "--as-of", AS_OF)
    assert cli.json("agenda", "ana", "--as-of", "2026-04-15")["confidence_drops"] == []


def test_confidence_is_checked_recorded_by_import_and_trended_in_the_report(cli: Cli, tmp_path: Path) -> None:
    a_client(cli)
    assert cli.run("measure", "record", "ana", "skill", "6", "--confidence", "11", ok=False).exit_code == 2
    (tmp_path / "ok.csv").write_text(
        "kpi,value,date,confidence\nskill,6,2026-04-01,9\nnetwork,9,2026-04-01,\n"
    )
    (tmp_path / "bad.csv").write_text("kpi,value,date,confidence\nskill,6,2026-04-01,high\n")

    assert refused(cli, "measure", "import", "ana", str(tmp_path / "bad.csv")) == (
        "Error: line 2, field confidence: 'high' is not a whole number from 0 to 10"
    )
    cli.run("measure", "import", "ana", str(tmp_path / "ok.csv"))

    doc = _report(cli)
    assert doc["confidence"] == [
        {
            "kpi": "skill",
            "points": [
                {"effective_at": "2026-03-01T00:00:00.000000+00:00", "confidence": 8},
                {"effective_at": "2026-04-01T00:00:00.000000+00:00", "confidence": 9},
            ],
            "change": 1,
            "dropped": False,
        }
    ]
    assert [(g["goal"], g["status"]) for g in doc["goal_states"]] == [
        ("lead-team", "open"),
        ("move-abroad", "open"),
    ]
    markdown = cli.out("report", "ana", "--as-of", AS_OF)
    assert "| skill | rising from 8 to 9 (+1) | 2026-03-01: 8, 2026-04-01: 9 |" in markdown
    cli.run("measure", "record", "ana", "skill", "6", "--at", "2026-04-15", "--confidence", "5")
    html = cli.run("report", "ana", "--as-of", AS_OF, "--format", "html").stdout
    assert 'aria-label="confidence 8, 9, 5 of 10"' in html  # the trend, drawn
    assert "falling from 8 to 5 (-3); down 4 at the latest check-in" in html


def _report(cli: Cli) -> dict:  # type: ignore[type-arg]
    import json

    return json.loads(cli.run("report", "ana", "--format", "json", "--as-of", AS_OF).stdout)  # type: ignore[no-any-return]


def test_a_template_defines_the_chapters_eight_kpis_at_once(cli: Cli) -> None:
    cli.run("client", "add", "ana", "--name", "Ana")
    cli.run("goal", "add", "ana", "lead-team", "--text", "Lead a team")

    out = cli.out("kpi", "define", "ana", "--template", "career-essentials", "--goal", "lead-team")

    ids = ["satisfaction", "salary", "promotion", "skill", "network", "balance", "smart-goals", "feedback"]
    assert out.splitlines() == ids
    kpis = cli.json("kpi", "list", "ana")["kpis"]
    assert [k["kpi"] for k in kpis] == ids
    assert {k["category"] for k in kpis} == {
        "job-satisfaction", "salary", "promotion", "skill", "networking", "work-life-balance",
        "goal-achievement", "client-feedback",
    }  # fmt: skip
    assert all(k["goal"] == "lead-team" for k in kpis)


def test_a_template_file_is_all_or_nothing(cli: Cli, tmp_path: Path) -> None:
    cli.run("client", "add", "ana", "--name", "Ana")
    cli.run("kpi", "define", "ana", "--template", "skill")  # "skill" is taken from now on
    template = tmp_path / "mine.toml"
    template.write_text(
        'description = "mine"\n'
        '[[kpi]]\nid = "steps"\nname = "Steps"\ncategory = "custom"\nunit = "steps"\n'
        'direction = "increase"\ntarget = 8000\ndue = "90 days"\n'
        '[[kpi]]\nid = "skill"\nname = "Skill again"\ncategory = "skill"\nunit = "points"\n'
        'direction = "increase"\ntarget = 8\ndue = "2030-01-01"\n'
    )
    before = events(cli)

    assert refused(cli, "kpi", "define", "ana", "--template", str(template)) == (
        "Error: KPI 'skill' already exists for client 'ana'"
    )
    assert events(cli) == before
    template.write_text(template.read_text().replace('id = "skill"', 'id = "skill-2"'))
    assert cli.out("kpi", "define", "ana", "--template", str(template)).splitlines() == ["steps", "skill-2"]


def test_template_refusals_name_the_template_and_the_kpi(cli: Cli, tmp_path: Path) -> None:
    cli.run("client", "add", "ana", "--name", "Ana")
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[kpi]]\nid = "x"\nname = "X"\ncategory = "skill"\nunit = "u"\ndirection = "up"\ntarget = 1\ndue = "soon"\n'
    )

    assert refused(cli, "kpi", "define", "ana", "--template", str(bad)) == (
        "Error: template bad, KPI x: 'due' must be a date or an offset like \"6 months\", not 'soon'"
    )
    assert refused(cli, "kpi", "define", "ana", "--template", "nope").startswith(
        "Error: unknown template 'nope'"
    )
    bad.write_text("[[kpi]]\nid = ")
    assert refused(cli, "kpi", "define", "ana", "--template", str(bad)).startswith(
        "Error: template bad: not valid TOML"
    )
    usage = cli.run("kpi", "define", "ana", "x", "--template", "skill", ok=False)
    assert usage.exit_code == 2 and "--template defines the KPIs" in usage.stderr
    assert "Missing option '--name'" in cli.run("kpi", "define", "ana", "x", ok=False).stderr


def test_template_list_and_show(cli: Cli) -> None:
    listed = cli.json("kpi", "template", "list")["templates"]

    assert len(listed) == 9 and {"career-essentials", "job-satisfaction"} <= {t["template"] for t in listed}
    shown = cli.out("kpi", "template", "show", "job-satisfaction")
    assert 'id = "satisfaction"' in shown and 'due = "6 months"' in shown
