"""``report``: one document in three formats, values in the scale in force, definitions of any date.

The journey follows DOMAIN.md's worked examples (skill and stress, defined 2026-01-05), with
a redefinition of each, a correction, a retraction, feedback and a session; recording
times are controlled with freezegun.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from freezegun import freeze_time
from freezegun.api import FrozenDateTimeFactory

import coachledger.adapters.codec  # noqa: F401  (builds the event schemas before freezegun patches datetime)

if TYPE_CHECKING:
    from conftest import Cli

CLIENT = "ana-lopez"
AS_OF = "2026-04-01"
EVIL = '<script>alert("x")</script> & more'


@pytest.fixture
def clock() -> Iterator[FrozenDateTimeFactory]:
    with freeze_time("2026-01-05T10:00:00Z", ignore=["psycopg"]) as frozen:
        assert isinstance(frozen, FrozenDateTimeFactory)
        yield frozen


@pytest.fixture
def journey(cli: Cli, clock: FrozenDateTimeFactory) -> dict[str, str]:
    """Worked examples 1 and 2, then a target change, a correction and a retraction."""
    cli.run("client", "add", CLIENT, "--name", "Ana López", "--coach", "maria")
    cli.run("goal", "add", CLIENT, "grow", "--text", "Grow into a senior role", "--horizon", "long")
    cli.run(
        *("kpi", "define", CLIENT, "skill", "--name", "Backend skill", "--category", "skill"),
        *("--unit", "points", "--direction", "increase", "--target", "100", "--due", "2026-12-31"),
        *("--dimension", "professional", "--horizon", "long", "--goal", "grow"),
    )
    cli.run(
        *("kpi", "define", CLIENT, "stress", "--name", "Stress <level>", "--category", "work-life-balance"),
        *("--unit", "points", "--direction", "decrease", "--target", "3", "--due", "2026-07-01"),
        *("--scale", "0..10", "--dimension", "personal", "--horizon", "short"),
    )
    cli.run("kpi", "baseline", CLIENT, "skill", "50", "--at", "2026-01-01")
    cli.run("kpi", "baseline", CLIENT, "stress", "8", "--at", "2026-01-01")
    ids: dict[str, str] = {}
    clock.move_to("2026-02-01T18:00:00Z")
    ids["stress-feb"] = cli.out("measure", "record", CLIENT, "stress", "6", "--at", "2026-02-01")
    ids["skill-feb"] = cli.out("measure", "record", CLIENT, "skill", "55", "--at", "2026-02-01")
    clock.move_to("2026-03-01T09:00:00Z")
    cli.run(
        *("kpi", "adjust", CLIENT, "stress", "--reason", "finer survey scale"),
        *("--scale", "0..100", "--rescale", "--at", "2026-03-01"),
    )
    cli.run("kpi", "adjust", CLIENT, "skill", "--reason", "scope narrowed to backend", "--target", "80")
    cli.run("feedback", "add", CLIENT, "--rating", "4", "--comment", EVIL, "--at", "2026-03-02")
    cli.run(
        *("session", "log", CLIENT, "--at", "2026-03-02", "--notes", "Reviewed | stress"),
        *("--kpi", "stress", "--action", "Block focus time"),
    )
    clock.move_to("2026-03-15T12:00:00Z")
    ids["stress-mar"] = cli.out("measure", "record", CLIENT, "stress", "50", "--at", "2026-03-15")
    clock.move_to("2026-03-20T12:00:00Z")
    ids["stress-typo"] = cli.out(
        "measure", "record", CLIENT, "stress", "40", "--at", "2026-03-20", "--note", "<b>great</b> week"
    )
    cli.run("measure", "retract", CLIENT, ids["stress-typo"], "--reason", "entered twice")
    clock.move_to("2026-03-24T12:00:00Z")
    ids["skill-mar"] = cli.out("measure", "record", CLIENT, "skill", "70", "--at", "2026-03-24")
    clock.move_to("2026-03-26T12:00:00Z")
    cli.run("measure", "correct", CLIENT, ids["skill-mar"], "65", "--reason", "rounding <i>error</i>")
    clock.move_to("2026-04-02T08:00:00Z")
    return ids


def report(cli: Cli, *args: str) -> str:
    return cli.run("report", CLIENT, "--as-of", AS_OF, *args).stdout


def report_json(cli: Cli, *args: str) -> dict[str, Any]:
    return json.loads(report(cli, "--format", "json", *args))


def by_kpi(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {i["kpi"]: i for i in items}


def numbers(item: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("baseline", "current", "target", "unit", "progress_pct", "expected_pct", "status")
    return tuple(item[k] for k in keys)


# -- the document ------------------------------------------------------------------------


def test_report_progress_equals_the_progress_command(cli: Cli, journey: dict[str, str]) -> None:
    doc = report_json(cli)
    assert doc["progress"] == cli.json("progress", CLIENT, "--as-of", AS_OF)["kpis"]
    assert numbers(by_kpi(doc["progress"])["stress"]) == (80, 50, 30, "points", 60.0, 49.7, "on-track")
    assert numbers(by_kpi(doc["progress"])["skill"]) == (50, 65, 80, "points", 50.0, 24.7, "on-track")
    assert doc["definition_as_of"] is None and doc["definition_effect"] is None


def test_known_at_cuts_the_report_like_progress(cli: Cli, journey: dict[str, str]) -> None:
    known = "2026-03-25T00:00:00Z"
    doc = report_json(cli, "--known-at", known)
    assert doc["progress"] == cli.json("progress", CLIENT, "--as-of", AS_OF, "--known-at", known)["kpis"]
    skill = by_kpi(doc["kpis"])["skill"]
    m = next(m for m in skill["measurements"] if m["mid"] == journey["skill-mar"])
    assert (m["value"], m["corrected_value"], m["shown"]) == (70, None, 70)  # before its correction


def test_chart_values_are_in_the_scale_in_force_at_the_as_of_date(cli: Cli, journey: dict[str, str]) -> None:
    stress = by_kpi(report_json(cli)["kpis"])["stress"]
    assert [(b["value"], b["shown"], b["in_force"]) for b in stress["baselines"]] == [(8, 80, True)]
    shown = {m["mid"]: (m["value"], m["shown"], m["counted"], m["retracted"]) for m in stress["measurements"]}
    assert shown == {
        journey["stress-feb"]: (6, 60, True, False),
        journey["stress-mar"]: (50, 50, True, False),
        journey["stress-typo"]: (40, 40, False, True),
    }
    before = by_kpi(cli.json("report", CLIENT, "--as-of", "2026-02-15")["kpis"])["stress"]
    assert [m["shown"] for m in before["measurements"]] == [6]  # the old scale, before the rescale


def test_corrected_measurement_is_shown_at_its_corrected_value(cli: Cli, journey: dict[str, str]) -> None:
    skill = by_kpi(report_json(cli)["kpis"])["skill"]
    m = next(m for m in skill["measurements"] if m["mid"] == journey["skill-mar"])
    assert (m["value"], m["corrected_value"], m["shown"], m["original_shown"]) == (70, 65, 65, 70)
    assert m["correction_reason"] == "rounding <i>error</i>"


def test_definition_as_of_uses_the_old_definition_with_todays_measurements(
    cli: Cli, journey: dict[str, str]
) -> None:
    doc = report_json(cli, "--definition-as-of", "2026-02-15")
    items = by_kpi(doc["progress"])
    # Worked example 2 under the old scale: baseline 8, current 50 -> 5, target 3.
    assert numbers(items["stress"]) == (8, 5, 3, "points", 60.0, 49.7, "on-track")
    # The old target 100: (65 - 50) / (100 - 50).
    assert numbers(items["skill"]) == (50, 65, 100, "points", 30.0, 24.7, "on-track")
    assert by_kpi(doc["kpis"])["stress"]["definition"]["scale_max"] == 10
    assert "2026-02-15" in doc["definitions"] and AS_OF in doc["definitions"]


def test_definition_effect_splits_real_change_from_redefinition(cli: Cli, journey: dict[str, str]) -> None:
    effect = by_kpi(report_json(cli, "--definition-as-of", "2026-02-15")["definition_effect"])
    skill = effect["skill"]
    # Then: 55 of 50..100 = 10%; now under that definition 30%; now under the current one 50%.
    assert skill["then"]["progress_pct"] == 10.0
    assert skill["under_definition_as_of"]["progress_pct"] == 30.0
    assert skill["under_as_of_definition"]["progress_pct"] == 50.0
    assert (skill["real_change_pct"], skill["redefinition_pct"]) == (20.0, 20.0)
    # A rescale maps values and target alike: no progress comes from it.
    stress = effect["stress"]
    assert (stress["then"]["progress_pct"], stress["real_change_pct"], stress["redefinition_pct"]) == (
        40.0,
        20.0,
        0.0,
    )


def test_definition_as_of_the_as_of_date_changes_nothing(cli: Cli, journey: dict[str, str]) -> None:
    assert report_json(cli, "--definition-as-of", AS_OF)["progress"] == report_json(cli)["progress"]


def test_change_history_names_versions_reasons_and_actors(cli: Cli, journey: dict[str, str]) -> None:
    stress = by_kpi(report_json(cli)["kpis"])["stress"]
    assert [(v["version"], v["kind"], v["actor"], v["reason"]) for v in stress["history"]] == [
        (1, "defined", "maria", None),
        (2, "adjusted", "maria", "finer survey scale"),
    ]
    assert stress["adjustments"][0]["changes"]["scale_max"] == [10, 100]
    assert "rescaled" in stress["adjustments"][0]["conversion"]


def test_journal_sections_stop_at_the_as_of_date(cli: Cli, journey: dict[str, str]) -> None:
    doc = report_json(cli)
    assert [f["comment"] for f in doc["feedback"]] == [EVIL]
    assert [s["notes"] for s in doc["sessions"]] == ["Reviewed | stress"]
    early = cli.json("report", CLIENT, "--as-of", "2026-03-01")
    assert early["feedback"] == [] and early["sessions"] == []


def test_receipt_taken_then_is_reproduced_with_known_at(
    cli: Cli, journey: dict[str, str], clock: FrozenDateTimeFactory
) -> None:
    first = report_json(cli)["receipt"]
    assert first["events"] == len(cli.json("timeline", CLIENT)["events"])
    assert re.fullmatch(r"[0-9a-f]{64}", first["head"])
    clock.move_to("2026-04-03T08:00:00Z")
    cli.run("measure", "record", CLIENT, "skill", "72", "--at", "2026-04-03")
    later = report_json(cli)["receipt"]
    assert later["events"] == first["events"] + 1 and later["head"] != first["head"]
    assert report_json(cli, "--known-at", "2026-04-02T08:00:00Z")["receipt"] == first


# -- HTML ----------------------------------------------------------------------------------


def test_html_has_a_chart_per_kpi_and_names_every_kpi(cli: Cli, journey: dict[str, str]) -> None:
    page = report(cli, "--format", "html")
    assert page.startswith("<!DOCTYPE html>")
    assert len(re.findall(r'<svg id="chart-\d+" class="chart"', page)) == 2
    for name in ("Backend skill", "Stress &lt;level&gt;", "(skill)", "(stress)"):
        assert name in page
    assert '<span class="status on-track">on-track</span>' in page
    for part in (
        "Progress",
        "KPIs",
        "Balance",
        "Goals and milestones",
        "Sessions",
        "Feedback",
        "Ledger receipt",
    ):
        assert f">{part}</h2>" in page


def test_html_chart_marks_adjustments_corrections_and_retractions(cli: Cli, journey: dict[str, str]) -> None:
    page = report(cli, "--format", "html")
    adjustments = re.findall(r'<g class="adjustment"><title>([^<]*)</title>', page)
    assert any("finer survey scale" in a for a in adjustments)
    assert any("scope narrowed to backend" in a for a in adjustments)
    assert page.count('<g class="retracted">') == 1
    assert page.count('class="measurement corrected"') == 1
    assert page.count('class="targetline"') == 2 and page.count('class="duemark"') == 2


def test_html_escapes_every_user_text(cli: Cli, journey: dict[str, str]) -> None:
    page = report(cli, "--format", "html")
    assert "<script" not in page and "<b>great" not in page and "<i>error" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more" in page
    assert "&lt;b&gt;great&lt;/b&gt; week" in page
    assert "Stress <level>" not in page


def test_html_is_self_contained_and_print_friendly(cli: Cli, journey: dict[str, str]) -> None:
    page = report(cli, "--format", "html")
    assert re.findall(r"https?://[^\s\"'<>]+", page) == ["http://www.w3.org/2000/svg"] * page.count("xmlns=")
    assert not re.search(r"<(link|script|img|iframe|object)\b", page)
    assert not re.search(r"\b(src|href)=", page) and "@import" not in page and "url(" not in page
    assert "@media print" in page and "default-src 'none'" in page


# -- Markdown --------------------------------------------------------------------------------


def test_markdown_has_the_same_sections_as_tables(cli: Cli, journey: dict[str, str]) -> None:
    text = report(cli)  # Markdown is the default on stdout
    assert text.startswith("# Progress report: Ana López (ana-lopez)")
    for part in (
        "Progress",
        "KPIs",
        "Balance",
        "Goals",
        "Milestones",
        "Sessions",
        "Feedback",
        "Ledger receipt",
    ):
        assert f"\n## {part}\n" in text
    assert "| Backend skill (skill) | 50 | 65 | 80 | points | 2026-12-31 | 50% | 24.7% | on-track |" in text
    assert "Reviewed \\| stress" in text and "&lt;script&gt;" in text and "<script" not in text
    assert re.search(r"`[▁▂▃▄▅▆▇█]{3}`", text)  # the stress path as a sparkline


# -- files and errors ----------------------------------------------------------------------------


def test_out_writes_a_private_file_and_prints_its_path(
    cli: Cli, journey: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "ana.html"
    target.write_text("old")
    target.chmod(0o644)
    printed = cli.out("report", CLIENT, "--as-of", AS_OF, "--out", str(target))
    assert printed == str(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")  # format from the suffix
    data = tmp_path / "ana.json"
    cli.run("report", CLIENT, "--as-of", AS_OF, "--out", str(data))
    assert json.loads(data.read_text())["client"] == CLIENT
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]  # no temporary file left


def test_json_flag_is_format_json(cli: Cli, journey: dict[str, str]) -> None:
    assert cli.json("report", CLIENT, "--as-of", AS_OF)["progress"] == report_json(cli)["progress"]


def error_line(cli: Cli, *args: str, code: int = 1) -> str:
    result = cli.run(*args, ok=False)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.stderr.strip()


def test_unknown_client_is_one_error_line(cli: Cli, journey: dict[str, str]) -> None:
    assert error_line(cli, "report", "nobody") == "Error: unknown client 'nobody'"


def test_unwritable_out_is_refused_and_writes_nothing(
    cli: Cli, journey: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "missing" / "ana.html"
    line = error_line(cli, "report", CLIENT, "--out", str(target))
    assert line.startswith("Error: cannot write the report to ") and "\n" not in line
    assert not target.parent.exists()


@pytest.mark.parametrize(
    "args",
    [
        ("--format", "pdf"),
        ("--json", "--format", "md"),
        ("--definition-as-of", "last week"),
        ("--as-of", "2026-13-01"),
    ],
)
def test_bad_options_are_usage_errors(cli: Cli, journey: dict[str, str], args: tuple[str, ...]) -> None:
    assert error_line(cli, "report", CLIENT, *args, code=2).startswith("Usage:")


def test_known_at_before_anything_gives_an_empty_report(cli: Cli, journey: dict[str, str]) -> None:
    doc = report_json(cli, "--known-at", "2025-12-31")
    assert doc["nothing_known"] is True and doc["progress"] == [] and doc["receipt"] is None
    assert "Nothing had been recorded" in report(cli, "--known-at", "2025-12-31", "--format", "html")
