"""Export and import on real stores: history moves whole, byte for byte, or not at all."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from coachledger.domain import COACH_CLASSES
from coachledger.ids import stream_of
from coachledger.services.transfer import LINE_TYPES, export_to, import_from, open_store
from coachledger.settings import Settings
from conftest import EVENT_ROWS as DUMP
from conftest import JOURNEY_EVENTS as N  # the events of a_journey
from conftest import Cli, a_journey


def sqlite_dump(path: Path | str) -> list[list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return [conn.execute(sql).fetchall() for sql in DUMP]
    finally:
        conn.close()


def export_file(store: str, path: Path) -> list[dict[str, Any]]:
    Cli(store).run("export", "--out", str(path))
    return [json.loads(line) for line in path.read_text().splitlines()]


def reads(cli: Cli) -> dict[str, Any]:
    """What people see of the journey: progress at fixed dates, timelines, histories."""
    out: dict[str, Any] = {}
    for slug in ("ana-lopez", "ben-okafor"):
        for as_of in ("2026-02-20", "2026-04-01", "2031-01-01"):
            out[f"{slug} {as_of}"] = cli.json("progress", slug, "--as-of", as_of)
        out[f"{slug} timeline"] = cli.json("timeline", slug)
    out["history"] = cli.json("history", "ana-lopez", "satisfaction")
    out["clients"] = cli.json("client", "list")
    return out


def write_lines(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    return path


def events_in(store: str) -> int:
    """How many events the store holds (0 when it does not exist yet)."""
    with open_store(Settings.from_values(store, "test")) as opened, opened.transaction(write=False) as tx:
        return tx.count()


def refused(cli: Cli, *args: str) -> str:
    result = cli.run(*args, ok=False)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result.stderr


# -- the round trip -------------------------------------------------------------------------------


def test_export_then_import_into_an_empty_store_gives_identical_progress_and_timeline(
    tmp_path: Path, store: str
) -> None:
    source = Cli(str(tmp_path / "source.sqlite"))
    a_journey(source)
    target = Cli(store)
    export_file(source.store, tmp_path / "ledger.jsonl")

    assert target.out("import", str(tmp_path / "ledger.jsonl")) == f"Imported {N} events for 2 clients."

    assert reads(target) == reads(source)  # recorded times, actors and seqs included


def test_a_postgresql_ledger_exports_what_was_imported(tmp_path: Path, store: str) -> None:
    source = Cli(str(tmp_path / "source.sqlite"))
    a_journey(source)
    first = export_file(source.store, tmp_path / "first.jsonl")
    Cli(store).run("import", str(tmp_path / "first.jsonl"))

    again = export_file(store, tmp_path / "again.jsonl")

    assert again[1:] == first[1:]
    assert again[0]["events"] == first[0]["events"] == N


def test_imported_events_are_stored_byte_for_byte_as_the_write_side_stored_them(tmp_path: Path) -> None:
    source = Cli(str(tmp_path / "source.sqlite"))
    a_journey(source)
    export_file(source.store, tmp_path / "ledger.jsonl")
    copy = Cli(str(tmp_path / "copy.sqlite"))

    copy.run("import", str(tmp_path / "ledger.jsonl"))

    assert sqlite_dump(copy.store) == sqlite_dump(source.store)  # states, recorded times, seals


def test_importing_the_same_file_twice_changes_nothing(tmp_path: Path, store: str) -> None:
    source = Cli(str(tmp_path / "source.sqlite"))
    a_journey(source)
    export_file(source.store, tmp_path / "ledger.jsonl")
    target = Cli(store)
    target.run("import", str(tmp_path / "ledger.jsonl"))
    before = export_file(store, tmp_path / "before.jsonl")

    second = target.out("import", str(tmp_path / "ledger.jsonl"))

    assert second == f"Nothing to import: the store already holds all {N} events."
    assert export_file(store, tmp_path / "after.jsonl")[1:] == before[1:]


def test_an_import_continues_streams_the_store_already_holds(tmp_path: Path, store: str) -> None:
    source = Cli(str(tmp_path / "source.sqlite"))
    a_journey(source)
    lines = export_file(source.store, tmp_path / "ledger.jsonl")
    head = [{**lines[0], "events": 12}, *lines[1:13]]
    target = Cli(store)
    target.run("import", str(write_lines(tmp_path / "head.jsonl", head)))

    out = target.out("import", str(tmp_path / "ledger.jsonl"))

    assert out == f"Imported {N - 12} events for 2 clients (12 already in the store)."
    assert reads(target) == reads(source)


def test_a_partial_file_may_continue_a_stream_from_where_the_store_stands(tmp_path: Path) -> None:
    source = Cli(str(tmp_path / "source.sqlite"))
    a_journey(source)
    lines = export_file(source.store, tmp_path / "ledger.jsonl")
    target = Cli(str(tmp_path / "target.sqlite"))
    target.run(
        "import", str(write_lines(tmp_path / "head.jsonl", [{**lines[0], "events": 12}, *lines[1:13]]))
    )
    tail = [{**lines[0], "events": N - 12}, *lines[13:]]

    target.run("import", str(write_lines(tmp_path / "tail.jsonl", tail)))

    assert sqlite_dump(target.store) == sqlite_dump(source.store)


def test_dry_run_checks_everything_and_writes_nothing(tmp_path: Path, store: str) -> None:
    source = Cli(str(tmp_path / "source.sqlite"))
    a_journey(source)
    export_file(source.store, tmp_path / "ledger.jsonl")
    target = Cli(store)

    out = target.out("import", str(tmp_path / "ledger.jsonl"), "--dry-run")

    assert out == f"Checked {N} events: {N} would be imported for 2 clients; nothing written."
    assert events_in(store) == 0
    if not store.startswith("postgresql://"):
        assert not Path(store).exists()


# -- refusals: nothing written --------------------------------------------------------------------


@pytest.fixture
def exported(tmp_path: Path) -> list[dict[str, Any]]:
    source = Cli(str(tmp_path / "source.sqlite"))
    a_journey(source)
    return export_file(source.store, tmp_path / "ledger.jsonl")


def test_a_malformed_line_is_refused_naming_its_line_and_nothing_is_written(
    tmp_path: Path, store: str, exported: list[dict[str, Any]]
) -> None:
    path = write_lines(tmp_path / "bad.jsonl", exported)
    text = path.read_text().splitlines()
    text[7] = text[7][: len(text[7]) // 2]  # a line cut in half
    path.write_text("\n".join(text) + "\n")
    target = Cli(store)

    err = refused(target, "import", str(path))

    assert err == "Error: line 8: not a JSON object (input data was truncated)\n"
    assert events_in(store) == 0


def test_a_refused_import_into_a_new_store_file_leaves_no_file(
    tmp_path: Path, exported: list[dict[str, Any]]
) -> None:
    lines = [dict(line) for line in exported]
    lines[-2] = {**lines[-2], "version": 99}  # found only after most lines were checked (and appended)
    path = write_lines(tmp_path / "late.jsonl", lines)
    store = tmp_path / "new" / "ledger.sqlite"

    err = refused(Cli(str(store)), "import", str(path))

    assert err.startswith("Error: line ") and "field version" in err
    assert not store.exists()
    assert not [p for p in store.parent.glob("*")] if store.parent.exists() else True


def test_each_bad_field_is_named_with_its_line(
    tmp_path: Path, store: str, exported: list[dict[str, Any]]
) -> None:
    lines = [dict(line) for line in exported]
    lines[4] = {**lines[4], "data": {**lines[4]["data"], "target": "a lot"}}
    lines[6] = {**lines[6], "data": {**lines[6]["data"], "value": 70000.5, "extra": 1}}
    lines[9] = {k: v for k, v in lines[9].items() if k != "actor"}
    lines[10] = {**lines[10], "recorded_at": "2026-03-01T10:00:00"}
    lines[11] = {**lines[11], "topic": "os:system"}
    lines[12] = {**lines[12], "version": "11"}
    lines[14] = {**lines[14], "data": {**lines[14]["data"], "value": "NaN"}}
    target = Cli(store)

    err = refused(target, "import", str(write_lines(tmp_path / "bad.jsonl", lines)))

    assert err.splitlines() == [
        "Error: line 5, field data.target: invalid decimal string",
        "Error: line 7, field data.extra: not a field of this line",
        "Error: line 10, field actor: missing",
        "Error: line 11, field recorded_at: expected datetime with a timezone component",
        "Error: line 12, field topic: unknown event topic 'os:system'",
        "Error: line 13, field version: expected int, got str",
        "Error: line 15, field data.value: must be a finite number, not NaN",
    ]
    assert events_in(store) == 0


def test_errors_stop_after_fifty_lines_with_the_count_of_the_rest(tmp_path: Path) -> None:
    header = {
        "format": "coachledger-export",
        "version": 1,
        "exported_at": "2026-01-01T00:00:00Z",
        "events": 80,
    }
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(header) + "\n" + "{}\n" * 80)

    err = refused(Cli(str(tmp_path / "t.sqlite")), "import", str(path))

    lines = err.splitlines()
    assert len(lines) == 51
    assert lines[0] == "Error: line 2, field topic: missing"
    assert lines[49] == "Error: line 51, field topic: missing"
    assert lines[50] == "... and 30 more"


def test_a_file_that_is_not_an_export_is_refused(tmp_path: Path) -> None:
    cli = Cli(str(tmp_path / "t.sqlite"))
    (tmp_path / "a.csv").write_text("kpi,value,date\n")
    (tmp_path / "empty.jsonl").write_text("\n")
    (tmp_path / "v2.jsonl").write_text('{"format": "coachledger-export", "version": 2}\n')

    assert refused(cli, "import", str(tmp_path / "a.csv")).startswith("Error: line 1: not a JSON object")
    assert refused(cli, "import", str(tmp_path / "empty.jsonl")) == (
        "Error: line 1: the file is empty, not a coachledger export\n"
    )
    assert refused(cli, "import", str(tmp_path / "v2.jsonl")) == (
        "Error: line 1, field version: export version 2 is not readable here (only 1)\n"
    )
    assert not (tmp_path / "t.sqlite").exists()


def test_a_truncated_file_is_refused_by_its_header_count(
    tmp_path: Path, exported: list[dict[str, Any]]
) -> None:
    err = refused(
        Cli(str(tmp_path / "t.sqlite")), "import", str(write_lines(tmp_path / "cut.jsonl", exported[:-3]))
    )

    assert err == f"Error: line 1, field events: the header announces {N} events but the file has {N - 3}\n"


def test_a_gap_in_a_stream_is_refused(tmp_path: Path, store: str, exported: list[dict[str, Any]]) -> None:
    lines = [{**exported[0], "events": N - 1}, *exported[1:5], *exported[6:]]  # ana's version 4 left out
    target = Cli(store)

    err = refused(target, "import", str(write_lines(tmp_path / "gap.jsonl", lines)))

    assert err.splitlines()[0] == (
        "Error: line 6, field version: expected 4 (the previous line of this stream has 3), got 5"
    )
    assert events_in(store) == 0


def test_a_stream_must_start_where_the_store_stands(
    tmp_path: Path, store: str, exported: list[dict[str, Any]]
) -> None:
    ana = stream_of("ana-lopez")
    later = [line for line in exported[1:] if line["stream"] == ana][5:]
    target = Cli(store)

    err = refused(
        target,
        "import",
        str(write_lines(tmp_path / "l.jsonl", [{**exported[0], "events": len(later)}, *later])),
    )

    assert err.splitlines()[0] == (
        "Error: line 2, field version: expected at most 1 (the store has no such stream), got 6"
    )


def test_a_different_event_at_a_version_the_store_holds_is_refused(
    tmp_path: Path, store: str, exported: list[dict[str, Any]]
) -> None:
    target = Cli(store)
    target.run("import", str(write_lines(tmp_path / "ok.jsonl", exported)))
    changed = [dict(line) for line in exported]
    changed[8] = {**changed[8], "data": {**changed[8]["data"], "value": "4"}}  # m1 was 3, at version 7
    assert changed[8]["type"] == "MeasurementRecorded"

    err = refused(target, "import", str(write_lines(tmp_path / "changed.jsonl", changed)))

    assert err == (
        "Error: line 9, field version: the store already holds a different event at version 7 "
        "of client 'ana-lopez'\n"
    )


def test_events_must_refer_to_what_their_stream_recorded_earlier(
    tmp_path: Path, store: str, exported: list[dict[str, Any]]
) -> None:
    lines = [dict(line) for line in exported]
    lines[8] = {**lines[8], "data": {**lines[8]["data"], "kpi": "happiness"}}
    lines[5] = {**lines[5], "data": {**lines[5]["data"], "kpi": "satisfaction"}}  # defined twice
    target = Cli(store)

    err = refused(target, "import", str(write_lines(tmp_path / "refs.jsonl", lines))).splitlines()

    unknown = "(not defined by an earlier line or in the store)"
    assert err[:3] == [
        "Error: line 6, field data.kpi: KPI 'satisfaction' of client 'ana-lopez' is already defined",
        f"Error: line 8, field data.kpi: unknown KPI 'salary' of client 'ana-lopez' {unknown}",
        f"Error: line 9, field data.kpi: unknown KPI 'happiness' of client 'ana-lopez' {unknown}",
    ]
    assert f"Error: line 16, field data.about: unknown KPI 'salary' of client 'ana-lopez' {unknown}" in err
    assert f"Error: line 17, field data.kpis: unknown KPI 'salary' of client 'ana-lopez' {unknown}" in err
    assert events_in(store) == 0


def test_a_stream_id_must_be_its_clients_own(tmp_path: Path, exported: list[dict[str, Any]]) -> None:
    lines = [dict(line) for line in exported]
    lines[1] = {**lines[1], "data": {**lines[1]["data"], "slug": "someone-else"}}
    lines[2] = {**lines[2], "client": "someone-else"}

    err = refused(Cli(str(tmp_path / "t.sqlite")), "import", str(write_lines(tmp_path / "ids.jsonl", lines)))

    ana, ben = stream_of("ana-lopez"), stream_of("ben-okafor")
    assert err.splitlines() == [
        f"Error: line 2, field data.slug: 'someone-else' is not the client of stream {ana}",
        f"Error: line 3, field client: 'someone-else' is not the client of stream {ben}",
    ]


def test_a_file_cannot_name_a_class_to_load(tmp_path: Path, exported: list[dict[str, Any]]) -> None:
    lines = [dict(line) for line in exported]
    lines[1] = {**lines[1], "data": {**lines[1]["data"], "originator_topic": "os:system"}}

    err = refused(Cli(str(tmp_path / "t.sqlite")), "import", str(write_lines(tmp_path / "t.jsonl", lines)))

    assert err == "Error: line 2, field data.originator_topic: not a field of this line\n"


# -- export ---------------------------------------------------------------------------------------


def test_the_export_is_every_event_in_recording_order_with_times_actors_and_ids(
    tmp_path: Path, store: str
) -> None:
    cli = Cli(store)
    a_journey(cli)

    lines = export_file(store, tmp_path / "ledger.jsonl")

    header, events = lines[0], lines[1:]
    assert header["format"] == "coachledger-export" and header["version"] == 1
    assert header["events"] == len(events) == N
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    timeline = cli.json("timeline", "ana-lopez")["events"]
    ana = [e for e in events if e["client"] == "ana-lopez"]
    assert [(e["seq"], e["recorded_at"][:19], e["actor"], e["type"]) for e in ana] == [
        (t["seq"], t["recorded_at"][:19], t["actor"], t["type"]) for t in timeline
    ]
    assert {e["actor"] for e in events} == {"maria", "li", "client:ana-lopez"}  # the check-ins' answers
    assert all(e["stream"] == stream_of(e["client"]) for e in events)
    coaches = {cls.TOPIC for cls in COACH_CLASSES}  # a coach's stream: tests/cli/test_coaches.py
    assert {e["topic"] for e in events} == set(LINE_TYPES) - {"coachledger:ClientForgotten"} - coaches
    salary = next(e for e in events if e["type"] == "BaselineEstablished" and e["data"]["kpi"] == "salary")
    assert salary["data"]["value"] == "72000.50"  # decimals as strings, exactly


def test_the_export_file_is_private_and_replaced_only_when_complete(tmp_path: Path) -> None:
    cli = Cli(str(tmp_path / "l.sqlite"))
    a_journey(cli)
    out = tmp_path / "ledger.jsonl"
    out.write_text("old")
    out.chmod(0o644)

    assert cli.out("export", "--out", str(out)) == f"Exported {N} events to {out}."

    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert len(out.read_text().splitlines()) == N + 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".ledger")] == []


def test_exporting_a_store_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    err = refused(Cli(str(tmp_path / "none.sqlite")), "export")

    assert err == (  # issue 14: the error says how to create a ledger
        f"Error: no ledger at {tmp_path / 'none.sqlite'} (record something first, or run 'coachledger init')\n"
    )
    assert not (tmp_path / "none.sqlite").exists()


def test_the_python_interface_round_trips(tmp_path: Path) -> None:
    source = Cli(str(tmp_path / "source.sqlite"))
    a_journey(source)
    settings = Settings.from_values(source.store, "maria")
    with (tmp_path / "x.jsonl").open("wb") as sink:
        assert export_to(settings, None, sink).events == N

    result = import_from(Settings.from_values(str(tmp_path / "copy.sqlite"), "x"), tmp_path / "x.jsonl")

    assert (result.events, result.written, result.skipped, result.clients) == (N, N, 0, 2)
    assert sqlite_dump(tmp_path / "copy.sqlite") == sqlite_dump(source.store)


# -- encrypted stores -----------------------------------------------------------------------------


def encrypted(store: str) -> Cli:
    pytest.importorskip("coachledger.adapters.keys", reason="per-client encryption is not in this tree")
    cli = Cli(store)
    cli.run("init", "--encrypt")
    return cli


def test_an_encrypted_ledger_exports_in_clear_and_imports_encrypted(tmp_path: Path, store: str) -> None:
    source = encrypted(str(tmp_path / "source.sqlite"))
    a_journey(source)
    lines = export_file(source.store, tmp_path / "ledger.jsonl")
    assert lines[2]["data"]["name"] == "Ben Okafor"
    target = encrypted(store)

    target.run("import", str(tmp_path / "ledger.jsonl"))

    assert reads(target) == reads(source)
    assert export_file(store, tmp_path / "again.jsonl")[1:] == lines[1:]
    assert target.out("import", str(tmp_path / "ledger.jsonl")).startswith("Nothing to import")
    if not store.startswith("postgresql://"):
        states = b"".join(row[4] for row in sqlite_dump(store)[0])
        assert b"Ana L" not in states and b"lead-team" not in states


def test_a_forgotten_client_is_left_out_of_the_export(tmp_path: Path, store: str) -> None:
    source = encrypted(store)
    a_journey(source)
    source.run("forget", "ana-lopez", "--yes")

    out = source.out("export", "--out", str(tmp_path / "ledger.jsonl"))

    assert out == f"Exported 4 events to {tmp_path / 'ledger.jsonl'} (1 forgotten client left out)."
    lines = [json.loads(line) for line in (tmp_path / "ledger.jsonl").read_text().splitlines()]
    assert lines[0]["forgotten_clients"] == 1 and lines[0]["events"] == 4
    assert {line["client"] for line in lines[1:]} == {"ben-okafor"}
    copy = Cli(str(tmp_path / "copy.sqlite"))
    assert copy.out("import", str(tmp_path / "ledger.jsonl")) == "Imported 4 events for 1 client."


def test_every_event_type_is_stored_again_byte_for_byte(tmp_path: Path) -> None:
    source = Cli(str(tmp_path / "source.sqlite"))
    a_journey(source)
    source.run("coach", "add", "maria", "--admin", "--password-stdin", input="maria's secret\n")
    source.run("coach", "password", "maria", "--password-stdin", input="maria's new secret\n")
    source.run("coach", "disable", "maria")
    source.run("coach", "enable", "maria")
    from coachledger.services.bootstrap import open_ledger

    ledger = open_ledger(Settings.from_values(source.store, "maria"))
    try:
        ledger.forget("ben-okafor")  # the domain's own event, whatever the store's encryption
    finally:
        ledger.close()
    lines = export_file(source.store, tmp_path / "ledger.jsonl")
    assert {line["topic"] for line in lines[1:]} == set(LINE_TYPES)
    copy = Cli(str(tmp_path / "copy.sqlite"))

    copy.run("import", str(tmp_path / "ledger.jsonl"))

    assert sqlite_dump(copy.store) == sqlite_dump(source.store)


def test_a_ledger_recorded_under_a_frozen_clock_round_trips(tmp_path: Path) -> None:
    from freezegun import freeze_time

    with freeze_time("2026-04-02 09:30:00", tick=True):  # after the journey's last measurement date
        source = Cli(str(tmp_path / "source.sqlite"))
        a_journey(source)
        lines = export_file(source.store, tmp_path / "ledger.jsonl")
        copy = Cli(str(tmp_path / "copy.sqlite"))
        copy.run("import", str(tmp_path / "ledger.jsonl"))
        assert copy.out("import", str(tmp_path / "ledger.jsonl")).startswith("Nothing to import")

    assert lines[0]["exported_at"].startswith("2026-04-02T09:30:")
    assert lines[1]["recorded_at"].startswith("2026-04-02T09:30:")
    assert reads(copy) == reads(source)
