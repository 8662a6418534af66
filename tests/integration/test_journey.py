"""Every event of the catalogue, through everything that moves or checks a ledger.

The shared journey (``conftest.a_journey``) records every kind of event the ledger knows (the
erasure on request apart, which ``forget`` records) and gives every field of each a value. On
each store: export -> import, ``store copy`` there and back, ``projections rebuild`` and
``verify`` keep every event and every read; ``forget`` erases every one of the client's.
A new event class, or a new field, that the journey does not record fails the first test.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from coachledger.domain import CLIENT_EVENT_CLASSES, EVENT_NAMES
from conftest import EVENT_ROWS, JOURNEY_EVENTS, Cli, a_journey

AS_OF = "2026-04-01"
LATER = "2030-02-01"  # after every recording time of the journey (its actions count from theirs)
# What a value that says nothing looks like in an export line.
NO_VALUE = {"null", "false", "[]", '""'}
# The journey's words that only ana-lopez's events hold (forget must leave none of them).
ANA_SECRETS = (
    "Ana López", "ana@example.org", "Ask for the review", "married name", "Lead a team of six", "Leads six",
    "Work abroad", "offer from Lisbon", "Talked ü", "Job satisfaction (pulse)", "survey re-scored",
    "no e-mail please", "booked", "Promoted", "Pulse survey", "Monthly pulse", "wrong client", "logged twice",
)  # fmt: skip


def export_lines(cli: Cli) -> list[dict[str, Any]]:
    return [json.loads(line) for line in cli.run("export").stdout.splitlines()]


def middle_of(cli: Cli) -> str:
    """A recording time half-way through the journey (for --known-at)."""
    events = [e for e in export_lines(cli)[1:]]
    return str(events[len(events) // 2]["recorded_at"])


def every_read(cli: Cli, known_at: str, slugs: tuple[str, ...] = ("ana-lopez", "ben-okafor")) -> dict[str, Any]:
    """The --json of every read, for each client, as of a date and as known half-way."""
    commands: list[tuple[str, ...]] = [
        ("client", "list"),
        ("portfolio", "--as-of", AS_OF),
        ("portfolio", "--as-of", AS_OF, "--known-at", known_at),
        ("due", "--as-of", AS_OF, "--within", "30d"),
        ("due", "--as-of", LATER, "--within", "30d"),
        ("due", "--as-of", LATER, "--known-at", known_at),
        ("check", "--all", "--as-of", AS_OF),
    ]
    for slug in slugs:
        commands += [
            ("client", "show", slug),
            ("kpi", "list", slug, "--as-of", AS_OF),
            ("kpi", "list", slug, "--as-of", LATER, "--known-at", known_at),
            ("progress", slug, "--as-of", AS_OF),
            ("progress", slug, "--as-of", AS_OF, "--known-at", known_at),
            ("goal", "list", slug, "--as-of", AS_OF),
            ("action", "list", slug, "--all", "--as-of", LATER),
            ("action", "list", slug, "--as-of", LATER, "--known-at", known_at),
            ("agenda", slug, "--as-of", AS_OF),
            ("agenda", slug, "--as-of", LATER, "--known-at", known_at),
            ("balance", slug, "--as-of", AS_OF),
            ("timeline", slug),
            ("replay", slug),
            ("replay", slug, "--known-at", known_at),
            ("report", slug, "--as-of", AS_OF),
        ]
        for kpi in cli.json("kpi", "list", slug)["kpis"]:
            commands.append(("history", slug, kpi["kpi"]))
    out: dict[str, Any] = {}
    for command in commands:
        result = cli.run(*command, "--json", ok=False)
        assert result.exit_code in (0, 1) and not result.stderr, (command, result.output)  # check: 1
        doc = json.loads(result.stdout)
        if command[0] == "report":
            doc.pop("generated_at")
        out[" ".join(command)] = doc
    return out


def sqlite_rows(path: str) -> list[list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return [conn.execute(sql).fetchall() for sql in EVENT_ROWS]
    finally:
        conn.close()


def verified(cli: Cli, *args: str) -> dict[str, Any]:
    result = cli.run("verify", *args, "--json", ok=False)
    doc = json.loads(result.stdout)
    assert result.exit_code == 0 and doc["ok"], (result.stderr, doc)
    return doc  # type: ignore[no-any-return]


# The events of a client's stream: a coach's are recorded by tests/cli/test_coaches.py and
# test_transfer.py's byte-for-byte round trip.
CLIENT_EVENTS = {EVENT_NAMES[cls.TOPIC] for cls in CLIENT_EVENT_CLASSES}


@pytest.fixture(scope="module")
def journey(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """The journey on a SQLite file, recorded once for the module (tests copy, never write it)."""
    cli = Cli(str(tmp_path_factory.mktemp("journey") / "source.sqlite"))
    a_journey(cli)
    return cli


# -- the journey is the catalogue -----------------------------------------------------------------


def test_the_journey_records_every_event_of_the_catalogue_with_every_field(journey: Cli) -> None:
    lines = export_lines(journey)[1:]
    assert len(lines) == JOURNEY_EVENTS
    recorded = {line["type"] for line in lines}
    missing = CLIENT_EVENTS - {"ClientForgotten"} - recorded
    assert not missing, f"conftest.a_journey records no {sorted(missing)}: add them"
    values: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for line in lines:
        for field, value in line["data"].items():
            values[line["type"]][field].add(json.dumps(value))
    unset = [f"{t}.{f}" for t, fields in values.items() for f, seen in fields.items() if seen <= NO_VALUE]
    assert not unset, f"conftest.a_journey gives no value to {unset}: give each one"
    defined = [line["data"] for line in lines if line["type"] == "KpiDefined"]
    assert {d["cadence"] for d in defined} >= {"weekly", "quarterly"} and "2" in {d["weight"] for d in defined}


# -- export -> import, store copy, rebuild, verify -------------------------------------------------


def test_export_then_import_keeps_every_event_and_every_read(journey: Cli, store: str, tmp_path: Path) -> None:
    export = tmp_path / "ledger.jsonl"
    journey.run("export", "--out", str(export))
    target = Cli(store)

    assert target.out("import", str(export)) == f"Imported {JOURNEY_EVENTS} events for 2 clients."

    assert export_lines(target)[1:] == export_lines(journey)[1:]
    known = middle_of(journey)
    assert every_read(target, known) == every_read(journey, known)
    assert verified(target)["events"] == JOURNEY_EVENTS
    if not store.startswith("postgresql://"):
        assert sqlite_rows(store) == sqlite_rows(journey.store)  # states, recorded times, seals


def test_store_copy_there_and_back_keeps_every_event_and_every_read(
    journey: Cli, store: str, tmp_path: Path
) -> None:
    back = tmp_path / "back.sqlite"
    there = Cli(store).out("store", "copy", "--from", journey.store, "--to", store)
    assert there.startswith(f"Copied {JOURNEY_EVENTS} events of 2 clients")
    Cli(store).run("store", "copy", "--from", store, "--to", str(back))

    assert sqlite_rows(str(back)) == sqlite_rows(journey.store)
    known = middle_of(journey)
    expected = every_read(journey, known)
    for copy in (Cli(store), Cli(str(back))):
        assert every_read(copy, known) == expected
        assert verified(copy)["head"] == verified(journey)["head"]


def test_rebuild_gives_every_read_as_catch_up_gave_it(journey: Cli, store: str, tmp_path: Path) -> None:
    export = tmp_path / "ledger.jsonl"
    journey.run("export", "--out", str(export))
    cli = Cli(store)
    cli.run("import", str(export))
    known = middle_of(cli)
    live = every_read(cli, known)

    rebuilt = cli.json("projections", "rebuild")

    assert all(view["behind"] == 0 for view in rebuilt["views"])
    assert every_read(cli, known) == live
    assert verified(cli, "--views")["events"] == JOURNEY_EVENTS  # the views equal a rebuild aside


def test_verify_finds_a_changed_event_of_every_kind(journey: Cli, store: str, tmp_path: Path) -> None:
    export = tmp_path / "ledger.jsonl"
    journey.run("export", "--out", str(export))
    cli = Cli(store)
    cli.run("import", str(export))
    firsts: dict[str, int] = {}
    for line in export_lines(cli)[1:]:
        firsts.setdefault(line["type"], line["seq"])
    assert len(firsts) == len(CLIENT_EVENTS) - 1

    for kind, seq in firsts.items():
        original = _state(store, seq)
        _set_state(store, seq, original[:-2] + bytes([original[-2] ^ 1]) + original[-1:])
        try:
            result = cli.run("verify", "--json", ok=False)
            doc = json.loads(result.stdout)
            assert result.exit_code == 1 and doc["first_bad"]["seq"] == seq, (kind, doc)
        finally:
            _set_state(store, seq, original)
    assert verified(cli)["events"] == JOURNEY_EVENTS


def _state(store: str, seq: int) -> bytes:
    sql = (
        "SELECT e.state FROM stored_events e JOIN event_index i ON i.originator_id = e.originator_id "
        "AND i.originator_version = e.originator_version WHERE i.seq = {}"
    )
    if store.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(store) as conn:
            row = conn.execute(sql.format("%s"), (seq,)).fetchone()
    else:
        with sqlite3.connect(store) as lite:
            row = lite.execute(sql.format("?"), (seq,)).fetchone()
    return bytes(row[0])


def _set_state(store: str, seq: int, state: bytes) -> None:
    sql = (
        "UPDATE stored_events SET state = {p} WHERE (originator_id, originator_version) = "
        "(SELECT originator_id, originator_version FROM event_index WHERE seq = {p})"
    )
    if store.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(store, autocommit=True) as conn:
            conn.execute(sql.format(p="%s"), (state, seq))
    else:
        lite = sqlite3.connect(store)
        try:
            with lite:
                lite.execute(sql.format(p="?"), (state, seq))
        finally:
            lite.close()


# -- forget ----------------------------------------------------------------------------------------


def test_forget_erases_every_event_of_the_client(store: str, tmp_path: Path) -> None:
    cli = Cli(store)
    cli.run("init", "--encrypt")
    a_journey(cli)
    known = middle_of(cli)
    every_read(cli, known)  # the views hold every text of the journey
    ben = {k: v for k, v in every_read(cli, known).items() if "ben-okafor" in k}
    assert _holding(store, "Ask for the review"), "the search finds what the views hold"

    cli.run("forget", "ana-lopez", "--yes")

    for secret in ANA_SECRETS:
        assert _holding(store, secret) == [], secret
    assert verified(cli)["events"] == JOURNEY_EVENTS + 1
    timeline = cli.json("timeline", "ana-lopez")["events"]
    assert len(timeline) == JOURNEY_EVENTS - 4 + 1 and timeline[-1]["type"] == "ClientForgotten"
    assert not any(secret in json.dumps(timeline, ensure_ascii=False) for secret in ANA_SECRETS)
    assert [c["client"] for c in cli.json("client", "list")["clients"]] == ["ben-okafor"]
    assert not [i for i in cli.json("due", "--as-of", AS_OF, "--within", "3650d")["items"] if i["client"] == "ana-lopez"]
    assert cli.json("portfolio", "--as-of", AS_OF)["clients"] == 1
    after = {k: v for k, v in every_read(cli, known, ("ben-okafor",)).items() if "ben-okafor" in k}
    for reads in (after, ben):  # the receipt names the ledger's head, which the erasure moved
        reads["report ben-okafor --as-of 2026-04-01"].pop("receipt")
    assert after == ben
    lines = export_lines(cli)
    assert lines[0]["forgotten_clients"] == 1 and {line["client"] for line in lines[1:]} == {"ben-okafor"}


def _holding(store: str, secret: str) -> list[str]:
    """Where the store keeps ``secret`` in clear: its files (SQLite), its tables' rows (PostgreSQL)."""
    needle = secret.encode()
    if not store.startswith("postgresql://"):
        folder = Path(store).parent
        return [p.name for p in sorted(folder.iterdir()) if p.is_file() and needle in p.read_bytes()]
    import psycopg

    found = []
    with psycopg.connect(store) as conn:
        tables = [
            t for (t,) in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            ).fetchall()
        ]  # fmt: skip
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"').fetchall():
                for value in row:
                    text = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
                    if needle in text:
                        found.append(table)
    return sorted(set(found))
