"""Bounds (DOMAIN.md): every entry point refuses what lies outside them, and every read survives
what an older version accepted."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from coachledger.domain import Client
from conftest import Cli

READS = (
    ("progress", "ana"),
    ("progress", "ana", "--json"),
    ("report", "ana"),
    ("check", "ana"),
    ("agenda", "ana"),
    ("balance", "ana"),
    ("portfolio",),
    ("portfolio", "--json"),
    ("kpi", "list", "ana"),
    ("history", "ana", "sal"),
    ("timeline", "ana"),
    ("replay", "ana"),
    ("client", "list"),
)


def a_kpi(cli: Cli) -> None:
    cli.run("client", "add", "ana", "--name", "Ana")
    cli.run(
        "kpi", "define", "ana", "sal", "--name", "Salary", "--category", "salary", "--unit", "EUR",
        "--direction", "increase", "--target", "60000", "--due", "2030-12-31",
    )  # fmt: skip
    cli.run("kpi", "baseline", "ana", "sal", "50000", "--at", "2026-01-01")


def event_count(cli: Cli) -> int:
    return len(cli.run("export").stdout.splitlines())


@pytest.mark.parametrize(
    "args",
    [
        ("measure", "record", "ana", "sal", "1e308"),
        ("measure", "record", "ana", "sal", "1" + "0" * 400),
        ("measure", "record", "ana", "sal", "1000000000000000"),
        ("measure", "record", "ana", "sal", "--", "-1e15"),
        ("measure", "record", "ana", "sal", "0.0000000000001"),
        ("measure", "record", "ana", "sal", "1." + "1" * 40),
        ("measure", "record", "ana", "sal", "5", "--at", "0001-01-01"),
        ("measure", "record", "ana", "sal", "5", "--at", "0001-01-01T00:00:00+01:00"),
        ("measure", "record", "ana", "sal", "5", "--at", "9999-12-31T23:59:59-01:00"),
        ("measure", "record", "ana", "sal", "5", "--at", "1899-12-31T23:59:59"),
        ("kpi", "baseline", "ana", "sal", "1e20", "--reason", "again"),
        ("kpi", "adjust", "ana", "sal", "--target", "1e16", "--reason", "x"),
        ("kpi", "adjust", "ana", "sal", "--factor", "1e-13", "--reason", "x"),
        ("kpi", "adjust", "ana", "sal", "--due", "9999-12-31", "--reason", "x"),
        ("kpi", "adjust", "ana", "sal", "--scale", "0..1e16", "--reason", "x"),
        ("goal", "add", "ana", "g", "--text", "t", "--due", "2201-01-01"),
        (
            "kpi",
            "define",
            "ana",
            "k",
            "--name",
            "K",
            "--category",
            "salary",
            "--unit",
            "EUR",
            "--direction",
            "increase",
            "--target",
            "1",
            "--due",
            "9999-12-31",
        ),
        ("timeline", "ana", "--to", "9999-12-31"),
        ("progress", "ana", "--as-of", "0001-01-01T00:00:00+01:00"),
        ("report", "ana", "--as-of", "9999-12-31T23:59:59-01:00"),
    ],
)
def test_values_and_dates_outside_the_bounds_are_refused_with_one_line(
    cli: Cli, args: tuple[str, ...]
) -> None:
    a_kpi(cli)
    before = event_count(cli)

    result = cli.run(*args, ok=False)

    assert result.exit_code in (1, 2), result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.strip().splitlines()[-1].startswith("Error: ")
    assert event_count(cli) == before


def test_the_bounds_themselves_are_accepted(cli: Cli) -> None:
    a_kpi(cli)
    cli.run("measure", "record", "ana", "sal", "999999999999999.999999999999", "--at", "1900-01-01")
    # The last moment of the range, on a due date: a measurement may not come from the future.
    cli.run("kpi", "adjust", "ana", "sal", "--due", "2200-12-31T23:59:59", "--reason", "a long horizon")
    cli.run("measure", "record", "ana", "sal", "--", "-999999999999999")
    cli.run("measure", "record", "ana", "sal", "0.000000000001")
    assert cli.json("progress", "ana", "--as-of", "2200-12-31T23:59:59")["kpis"][0]["measurements"] == 2


def test_a_csv_import_refuses_out_of_range_values_and_dates(cli: Cli, tmp_path: Path) -> None:
    a_kpi(cli)
    before = event_count(cli)
    for row in ("sal,1e308,2026-02-01", "sal,5,0001-01-01T00:00:00+01:00", "sal,5,9999-12-31"):
        csv = tmp_path / "m.csv"
        csv.write_text(f"kpi,value,date\n{row}\n")
        result = cli.run("measure", "import", "ana", str(csv), ok=False)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
    assert event_count(cli) == before


def legacy(cli: Cli, *values: Decimal, due: datetime | None = None) -> None:
    """What an older version accepted: events written past today's checks."""
    from coachledger.services.bootstrap import open_ledger
    from coachledger.settings import Settings

    ledger = open_ledger(Settings.from_values(cli.store, "old"))
    client = ledger.client("ana")
    for i, value in enumerate(values):
        client.trigger_event(
            Client.MeasurementRecorded,
            actor="old",
            measurement_id=f"m{100 + i}",
            kpi="sal",
            value=value,
            effective_at=datetime(2026, 2, 1 + i, tzinfo=UTC),
            source="coach",
            note=None,
        )
    if due is not None:
        client.trigger_event(
            Client.KpiAdjusted, actor="old", kpi="sal", reason="old", effective_at=datetime(2026, 3, 1, tzinfo=UTC),
            due=due,
        )  # fmt: skip
    ledger.save(client)
    ledger.close()


@pytest.mark.parametrize(
    "values",
    [
        (Decimal("1e308"),),
        (Decimal("1" + "0" * 400),),
        (Decimal("-1e400"), Decimal("7e-400")),
        (Decimal("1e400") + Decimal("0.5"),),
    ],
)
def test_every_read_survives_values_an_older_version_accepted(cli: Cli, values: tuple[Decimal, ...]) -> None:
    a_kpi(cli)
    legacy(cli, *values, due=datetime(9999, 12, 31, tzinfo=UTC))

    for args in READS:
        result = cli.run(*args, ok=False)
        assert result.exit_code == 0 or (args[0] == "check" and result.exit_code == 1), (args, result.output)
        assert "Error" not in result.output
        if "--json" in args:
            json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("value", "1e308", "must be below 10^15 in magnitude"),
        ("value", "0.0000000000001", "must have at most 12 decimals and 30 digits"),
        ("effective_at", "0001-01-01T00:00:00+01:00", "must lie in the years 1900..2200"),
        ("effective_at", "2201-01-01T00:00:00Z", "must lie in the years 1900..2200"),
    ],
)
def test_an_import_refuses_values_and_dates_outside_the_bounds(
    cli: Cli, tmp_path: Path, field: str, value: str, message: str
) -> None:
    source = Cli(str(tmp_path / "source.sqlite"))
    a_kpi(source)
    lines = source.run("export").stdout.splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        event = json.loads(line)
        if event["type"] == "BaselineEstablished":
            event["data"][field] = value
        out.append(json.dumps(event))
    export = tmp_path / "export.jsonl"
    export.write_text("\n".join(out) + "\n")

    cli.run("init")
    result = cli.run("import", str(export), ok=False)

    assert result.exit_code == 1, result.output
    assert f"field data.{field}: {message}" in result.output
    assert [c["client"] for c in cli.json("client", "list")["clients"]] == []
