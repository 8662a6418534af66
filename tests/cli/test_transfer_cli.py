"""export, import and measure import as a coach types them: output, messages, refusals."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from coachledger.cli import main
from conftest import Cli


def a_client(cli: Cli) -> None:
    cli.run("client", "add", "ana-lopez", "--name", "Ana López", "--coach", "maria")
    cli.run(
        "kpi", "define", "ana-lopez", "satisfaction", "--name", "Job satisfaction",
        "--category", "job-satisfaction", "--unit", "points", "--direction", "increase",
        "--target", "8", "--due", "2030-12-31", "--scale", "1..10",
    )  # fmt: skip
    cli.run(
        "kpi", "define", "ana-lopez", "salary", "--name", "Base salary", "--category", "salary",
        "--unit", "EUR", "--direction", "increase", "--target", "85000", "--due", "2031-06-30",
    )  # fmt: skip
    cli.run("kpi", "baseline", "ana-lopez", "satisfaction", "4", "--at", "2026-01-01")


def refused(cli: Cli, *args: str) -> str:
    result = cli.run(*args, ok=False)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    return result.stderr


# -- export and import ----------------------------------------------------------------------------


def test_export_writes_only_json_lines_to_stdout(cli: Cli) -> None:
    a_client(cli)

    out = cli.run("export").stdout

    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0]["format"] == "coachledger-export"
    assert [line["type"] for line in lines[1:]] == [
        "ClientRegistered",
        "KpiDefined",
        "KpiDefined",
        "BaselineEstablished",
    ]


def test_import_reads_stdin_given_a_dash(cli: Cli, tmp_path: Path) -> None:
    a_client(cli)
    exported = cli.run("export").stdout
    runner = CliRunner()

    result = runner.invoke(main, ["--store", str(tmp_path / "copy.sqlite"), "import", "-"], input=exported)

    assert result.exit_code == 0, result.output
    assert result.stdout == "Imported 4 events for 1 client.\n"


def test_import_of_a_missing_file_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    result = cli.run("import", str(tmp_path / "nope.jsonl"), ok=False)

    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_import_refusal_names_line_and_field(cli: Cli, tmp_path: Path) -> None:
    a_client(cli)
    lines = cli.run("export").stdout.splitlines()
    lines[2] = lines[2].replace('"direction":"increase"', '"direction":1')
    (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n")
    copy = Cli(str(tmp_path / "copy.sqlite"))

    err = refused(copy, "import", str(tmp_path / "bad.jsonl"))

    assert err == "Error: line 3, field data.direction: expected str, got int\n"


# -- CSV measurements -----------------------------------------------------------------------------


def test_measure_import_records_every_row_and_says_how_many(cli: Cli, tmp_path: Path) -> None:
    a_client(cli)
    csv_file = tmp_path / "march.csv"
    csv_file.write_text(
        "\ufeffKPI,Value,Date,Source,Note\n"  # Excel's byte-order mark and capitalised headers
        "satisfaction,5,2026-02-01,,first survey\n"
        'satisfaction,6.5,2026-03-01T10:00:00,self,"a note, with a comma"\n'
        "salary,73000,2026-03-01,document,\n",
        encoding="utf-8",
    )

    assert cli.out("measure", "import", "ana-lopez", str(csv_file)) == (
        "Recorded 3 measurements for ana-lopez (m1..m3)."
    )

    events = [json.loads(line) for line in cli.run("export").stdout.splitlines()[5:]]
    assert [
        (e["data"]["kpi"], e["data"]["value"], e["data"]["source"], e["data"]["note"]) for e in events
    ] == [
        ("satisfaction", "5", "survey", "first survey"),
        ("satisfaction", "6.5", "self", "a note, with a comma"),
        ("salary", "73000", "document", None),
    ]
    assert [e["data"]["effective_at"] for e in events] == [
        "2026-02-01T00:00:00Z",
        "2026-03-01T10:00:00Z",
        "2026-03-01T00:00:00Z",
    ]
    assert {e["actor"] for e in events} == {"maria"}


def test_measure_import_columns_in_any_order_and_a_default_source(cli: Cli, tmp_path: Path) -> None:
    a_client(cli)
    csv_file = tmp_path / "s.csv"
    csv_file.write_text("date,value,kpi\n2026-02-01,7,satisfaction\n")

    assert cli.out("measure", "import", "ana-lopez", str(csv_file), "--source", "coach") == (
        "Recorded 1 measurement for ana-lopez (m1)."
    )
    assert '"source":"coach"' in cli.run("export").stdout.splitlines()[-1]


def test_measure_import_names_every_bad_row_and_records_none(cli: Cli, tmp_path: Path) -> None:
    a_client(cli)
    before = cli.run("export").stdout.splitlines()[1:]
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text(
        "kpi,value,date,source\n"
        "satisfaction,7,2026-02-01,\n"
        "satisfaction,11,2026-02-01,\n"
        "happiness,5,2026-02-01,\n"
        "satisfaction,x,2026-02-30,\n"
        "\n"
        "satisfaction,5,2026-02-01,self,extra\n"
        "salary,70000,2026-02-01,rumour\n"
    )

    err = refused(cli, "measure", "import", "ana-lopez", str(csv_file))

    assert err.splitlines() == [
        "Error: line 3, field value: value 11 is outside the KPI's scale 1..10",
        "Error: line 4, field kpi: unknown KPI 'happiness' for client 'ana-lopez'",
        "Error: line 5, field value: 'x' is not a number",
        "Error: line 5, field date: '2026-02-30' is not an ISO date (YYYY-MM-DD) or datetime",
        "Error: line 7: 5 cells, but the header has 4 columns",
        "Error: line 8, field source: 'rumour' is not one of self, coach, survey, document",
    ]
    assert cli.run("export").stdout.splitlines()[1:] == before


def test_measure_import_refuses_a_header_it_does_not_know(cli: Cli, tmp_path: Path) -> None:
    a_client(cli)
    (tmp_path / "h.csv").write_text("kpi,value,when\nsatisfaction,5,2026-02-01\n")
    (tmp_path / "empty.csv").write_text("kpi,value,date\n")

    assert refused(cli, "measure", "import", "ana-lopez", str(tmp_path / "h.csv")).splitlines() == [
        "Error: line 1, field when: unknown column (the columns are kpi, value, date, source, note, "
        "confidence; source, note, confidence optional)",
        "Error: line 1, field date: required column is missing (kpi, value and date are required)",
    ]
    assert refused(cli, "measure", "import", "ana-lopez", str(tmp_path / "empty.csv")) == (
        "Error: line 2: no measurements: the file has a header but no rows\n"
    )


def test_measure_import_on_a_retired_kpi_or_unknown_client_is_refused(cli: Cli, tmp_path: Path) -> None:
    a_client(cli)
    cli.run("kpi", "retire", "ana-lopez", "salary", "--reason", "changed roles")
    csv_file = tmp_path / "s.csv"
    csv_file.write_text("kpi,value,date\nsalary,70000,2026-02-01\n")

    assert refused(cli, "measure", "import", "ana-lopez", str(csv_file)) == (
        "Error: line 2, field kpi: KPI 'salary' is retired; it takes no new entries\n"
    )
    assert refused(cli, "measure", "import", "bob", str(csv_file)) == "Error: unknown client 'bob'\n"


def test_measured_values_after_a_rescale_are_checked_in_the_scale_of_their_date(
    cli: Cli, tmp_path: Path
) -> None:
    a_client(cli)
    cli.run(
        "kpi", "adjust", "ana-lopez", "satisfaction", "--scale", "1..100", "--rescale",
        "--reason", "new survey", "--at", "2026-03-01",
    )  # fmt: skip
    csv_file = tmp_path / "s.csv"
    csv_file.write_text("kpi,value,date\nsatisfaction,60,2026-03-15\nsatisfaction,60,2026-02-15\n")

    assert refused(cli, "measure", "import", "ana-lopez", str(csv_file)) == (
        "Error: line 3, field value: value 60 is outside the KPI's scale 1..10\n"
    )


def test_a_long_import_shows_progress_on_a_terminal_only(tmp_path: Path) -> None:
    store = tmp_path / "demo.sqlite"
    Cli(str(store)).run("demo", "--clients", "300", "--months", "12")
    export = tmp_path / "demo.jsonl"
    Cli(str(store)).run("export", "--out", str(export))
    assert export.stat().st_size >= 8_000_000

    on_terminal = _run_with_terminal_stderr(tmp_path / "a.sqlite", export)
    in_a_pipe = subprocess.run(
        [sys.executable, "-m", "coachledger", "--store", str(tmp_path / "b.sqlite"), "import", str(export)],
        capture_output=True,
        text=True,
        check=True,
    )

    assert "Checking" in on_terminal and "Writing" in on_terminal and "100%" in on_terminal
    assert in_a_pipe.stderr == ""


def _run_with_terminal_stderr(store: Path, export: Path) -> str:
    """Run an import whose stderr is a pseudo-terminal; what it drew there."""
    main_fd, child_fd = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "coachledger", "--store", str(store), "import", str(export)],
        stdout=subprocess.DEVNULL,
        stderr=child_fd,
    )
    os.close(child_fd)
    chunks = []
    while True:
        try:
            chunk = os.read(main_fd, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main_fd)
    assert process.wait() == 0
    return b"".join(chunks).decode(errors="replace")
