"""Trust on real stores: the seal chain finds tampering, forget erases, files stay private."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coachledger.adapters.ciphers import stream_ids_for
from coachledger.adapters.sealing import seal
from coachledger.ids import stream_of
from coachledger.settings import Settings
from conftest import Cli, check_ins

NAME = "Zoraida Quintanilla"
NOTE = "promotion-talk-went-badly"
COMMENT = "felt-unheard-in-session-four"
SESSION = "discussed-divorce-and-relocation"
GOAL = "leave-the-bank-by-summer"
VALUE = "73519.25"
SECRETS = (NAME, NOTE, COMMENT, SESSION, GOAL, VALUE)
OTHER = "Bartholomew Oyelaran"


# -- helpers --------------------------------------------------------------------------------------


def coachledger(store: Path | str, *args: str, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process, as a coach runs it (umask 022 unless told)."""
    env = {**os.environ, "COACHLEDGER_STORE": str(store), "COACHLEDGER_ACTOR": "maria"}
    return subprocess.run(
        [sys.executable, "-m", "coachledger", *args],
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.umask(umask),
        check=False,
    )


def ok(store: Path | str, *args: str) -> str:
    result = coachledger(store, *args)
    assert result.returncode == 0, f"{args}: {result.stderr}"
    return result.stdout


def a_client(run: Any, slug: str = "zoraida", name: str = NAME, *, private: bool = True) -> None:
    """A client with a goal, a KPI, a baseline, a measurement with a note, feedback and a session."""
    run("client", "add", slug, "--name", name, "--coach", "maria")
    run("goal", "add", slug, "exit", "--text", GOAL if private else f"{slug}-goal")
    run(
        "kpi", "define", slug, "salary", "--name", "Base salary", "--category", "salary", "--unit", "EUR",
        "--direction", "increase", "--target", "90000", "--due", "2030-06-30", "--goal", "exit",
    )  # fmt: skip
    run("kpi", "baseline", slug, "salary", "70000", "--at", "2026-01-01")
    run(
        "measure",
        "record",
        slug,
        "salary",
        VALUE if private else "71000",
        "--note",
        NOTE if private else "ok",
    )
    run("feedback", "add", slug, "--rating", "2", "--comment", COMMENT if private else "fine")
    run("session", "log", slug, "--notes", SESSION if private else "routine")


def store_files(store: Path) -> list[Path]:
    return sorted(p for p in store.parent.iterdir() if p.name.startswith(store.name))


def files_containing(store: Path, text: str) -> list[str]:
    needle = text.encode()
    return [p.name for p in store_files(store) if needle in p.read_bytes()]


def sql(store: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Tamper with a store behind the ledger's back (``{seq}`` is the events' sequence column)."""
    if store.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(store, autocommit=True) as conn:
            cur = conn.execute(
                statement.format(seq="notification_id").replace("?", "%s"),
                params,  # type: ignore[arg-type]
            )
            return [tuple(r) for r in cur.fetchall()] if cur.description else []
    lite = sqlite3.connect(store, isolation_level=None)
    try:
        return lite.execute(statement.format(seq="rowid"), params).fetchall()
    finally:
        lite.close()


def ledger_stream(store: Path | str, slug: str) -> str:
    """The client's stream id as the ledger derives it (keyed on encrypted ledgers)."""
    return stream_ids_for(Settings.from_values(str(store), "maria")).stream_of(slug)


def verify(cli: Cli, *args: str) -> tuple[int, dict[str, Any], str]:
    """Exit code, JSON document and stderr of ``verify --json``."""
    result = cli.run("verify", *args, "--json", ok=False)
    return result.exit_code, json.loads(result.stdout), result.stderr


def first_bad(cli: Cli, *args: str) -> dict[str, Any]:
    code, doc, err = verify(cli, *args)
    assert code == 1 and doc["ok"] is False, doc
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    bad = doc["first_bad"]
    assert f"seq {bad['seq']}" in err and f"'{bad['client']}'" in err
    return bad  # type: ignore[no-any-return]


@pytest.fixture
def two_clients(cli: Cli) -> Cli:
    """Interleaved events of two clients (seqs 1..16), the read side caught up."""
    a_client(cli.run)
    a_client(cli.run, "bart", OTHER, private=False)
    cli.run("measure", "record", "zoraida", "salary", "72000")
    cli.run("measure", "record", "bart", "salary", "72500")
    cli.run("client", "list")  # the views know both clients by name
    return cli


def seq_of(store: str, slug: str, version: int) -> int:
    rows = sql(
        store, "SELECT seq FROM event_index WHERE originator_id = ? AND originator_version = ?",
        (stream_of(slug), version),
    )  # fmt: skip
    return int(rows[0][0])


# -- verify: tampering is found and named ----------------------------------------------------------


def test_an_intact_ledger_verifies_with_its_event_count_and_head(two_clients: Cli) -> None:
    code, doc, _ = verify(two_clients)
    assert code == 0 and doc["ok"] is True and doc["first_bad"] is None
    assert doc["events"] == 16 and len(doc["head"]) == 64
    line = two_clients.out("verify")
    assert "\n" not in line and "16 events" in line and doc["head"] in line


def test_a_flipped_bit_in_an_event_is_found_and_named(two_clients: Cli, store: str) -> None:
    seq = seq_of(store, "zoraida", 5)
    state = bytearray(sql(store, "SELECT state FROM stored_events WHERE {seq} = ?", (seq,))[0][0])
    state[len(state) // 2] ^= 0x04
    sql(store, "UPDATE stored_events SET state = ? WHERE {seq} = ?", (bytes(state), seq))
    bad = first_bad(two_clients)
    assert (bad["client"], bad["seq"]) == ("zoraida", seq)
    assert "seal mismatch" in bad["reason"]


def test_a_changed_topic_or_seal_is_found(two_clients: Cli, store: str) -> None:
    seq = seq_of(store, "bart", 3)
    sql(store, "UPDATE stored_events SET topic = 'coachledger:GoalSet' WHERE {seq} = ?", (seq,))
    assert (first_bad(two_clients)["seq"], first_bad(two_clients)["client"]) == (seq, "bart")
    sql(store, "UPDATE stored_events SET topic = 'coachledger:KpiDefined' WHERE {seq} = ?", (seq,))
    assert verify(two_clients)[0] == 0
    sql(store, "UPDATE event_index SET seal = ? WHERE seq = ?", (bytes(32), seq))
    assert first_bad(two_clients)["seq"] == seq


def test_a_changed_recording_time_is_found(two_clients: Cli, store: str) -> None:
    """--known-at answers from the recording time, so the seal covers it too."""
    seq = seq_of(store, "bart", 3)
    sql(
        store, "UPDATE event_index SET recorded_at = '2020-01-01T00:00:00.000000+00:00' WHERE seq = ?", (seq,)
    )
    bad = first_bad(two_clients)
    assert (bad["client"], bad["seq"]) == ("bart", seq)
    assert "seal mismatch" in bad["reason"]


def test_a_deleted_event_is_found_at_the_next_event(two_clients: Cli, store: str, backend: str) -> None:
    seq = seq_of(store, "zoraida", 4)
    sql(store, "DELETE FROM stored_events WHERE {seq} = ?", (seq,))
    sql(store, "DELETE FROM event_index WHERE seq = ?", (seq,))
    bad = first_bad(two_clients)
    assert bad["seq"] == seq + 1
    if backend == "sqlite":  # SQLite never skips a sequence number: the hole is named
        assert f"seq {seq} is missing" in bad["reason"]


def test_an_event_deleted_without_its_index_row_is_named(two_clients: Cli, store: str) -> None:
    seq = seq_of(store, "zoraida", 6)
    sql(store, "DELETE FROM stored_events WHERE {seq} = ?", (seq,))
    bad = first_bad(two_clients)
    assert (bad["client"], bad["seq"]) == ("zoraida", seq)
    assert "gone" in bad["reason"]


def test_an_event_without_a_seal_is_named(two_clients: Cli, store: str) -> None:
    seq = seq_of(store, "bart", 2)
    sql(store, "DELETE FROM event_index WHERE seq = ?", (seq,))
    bad = first_bad(two_clients)
    assert (bad["client"], bad["seq"]) == ("bart", seq)
    assert "no seal" in bad["reason"]


def test_an_inserted_event_is_found(two_clients: Cli, store: str) -> None:
    last = int(sql(store, "SELECT max(seq) FROM event_index")[0][0])
    state = sql(store, "SELECT state FROM stored_events WHERE {seq} = ?", (seq_of(store, "bart", 7),))[0][0]
    stream = stream_of("bart")
    sql(
        store, "INSERT INTO stored_events (originator_id, originator_version, topic, state) VALUES (?,?,?,?)",
        (stream, 99, "coachledger:MeasurementRecorded", bytes(state)),
    )  # fmt: skip
    bad = first_bad(two_clients)
    assert (bad["client"], bad["seq"]) == ("bart", last + 1)
    previous = bytes(sql(store, "SELECT seal FROM event_index WHERE seq = ?", (last,))[0][0])
    forged = seal(previous, stream, 99, "coachledger:MeasurementRecorded", "2026-01-01", bytes(state))
    sql(store, "INSERT INTO event_index VALUES (?,?,?,?,?)", (last + 1, stream, 99, "2026-01-01", forged))
    bad = first_bad(two_clients)  # sealed like the ledger would, but not the next version
    assert bad["seq"] == last + 1 and "version gap" in bad["reason"]


def test_reordered_events_are_found(two_clients: Cli, store: str) -> None:
    first, second = seq_of(store, "zoraida", 5), seq_of(store, "zoraida", 6)
    a = sql(store, "SELECT topic, state FROM stored_events WHERE {seq} = ?", (first,))[0]
    b = sql(store, "SELECT topic, state FROM stored_events WHERE {seq} = ?", (second,))[0]
    sql(store, "UPDATE stored_events SET topic = ?, state = ? WHERE {seq} = ?", (b[0], bytes(b[1]), first))
    sql(store, "UPDATE stored_events SET topic = ?, state = ? WHERE {seq} = ?", (a[0], bytes(a[1]), second))
    assert first_bad(two_clients)["seq"] == first


def test_a_rewritten_chain_with_a_missing_version_is_a_version_gap(two_clients: Cli, store: str) -> None:
    """Someone who deletes an event and reseals everything after it still leaves a version gap."""
    seq = seq_of(store, "zoraida", 5)
    sql(store, "DELETE FROM stored_events WHERE {seq} = ?", (seq,))
    sql(store, "DELETE FROM event_index WHERE seq = ?", (seq,))
    rows = sql(
        store,
        "SELECT e.{seq}, e.originator_id, e.originator_version, e.topic, e.state, i.recorded_at "
        "FROM stored_events e JOIN event_index i ON i.seq = e.{seq} ORDER BY e.{seq}",
    )
    previous = bytes(32)
    for s, stream, version, topic, state, recorded_at in rows:
        previous = seal(previous, stream, version, topic, recorded_at, bytes(state))
        sql(store, "UPDATE event_index SET seal = ? WHERE seq = ?", (previous, s))
    bad = first_bad(two_clients)
    assert (bad["client"], bad["seq"]) == ("zoraida", seq_of(store, "zoraida", 6))
    assert "version gap" in bad["reason"]


def test_a_truncated_tail_is_found_against_an_anchor(two_clients: Cli, store: str, tmp_path: Path) -> None:
    anchor = tmp_path / "anchor.json"
    two_clients.run("anchor", "--out", str(anchor))
    assert json.loads(anchor.read_text())["events"] == 16
    sql(store, "DELETE FROM stored_events WHERE {seq} > 14")
    sql(store, "DELETE FROM event_index WHERE seq > 14")
    assert verify(two_clients)[0] == 0  # a shorter chain is a valid chain ...
    bad = first_bad(two_clients, "--anchor", str(anchor))  # ... but not the anchored one
    assert bad["seq"] == 16 and "newest events were removed" in bad["reason"]


def test_a_history_rewritten_up_to_the_anchor_is_found(two_clients: Cli, store: str, tmp_path: Path) -> None:
    anchor = tmp_path / "anchor.json"
    two_clients.run("anchor", "--out", str(anchor))
    two_clients.run("measure", "record", "bart", "salary", "73000")
    assert verify(two_clients, "--anchor", str(anchor))[0] == 0  # growing past the anchor is fine
    doc = json.loads(anchor.read_text())
    doc["head"] = "ab" * 32
    anchor.write_text(json.dumps(doc))
    bad = first_bad(two_clients, "--anchor", str(anchor))
    assert bad["seq"] == 16 and "anchor" in bad["reason"]


def test_a_deleted_last_event_whose_index_row_remains_is_found_without_an_anchor(
    two_clients: Cli, store: str
) -> None:
    sql(store, "DELETE FROM stored_events WHERE {seq} = 16")
    bad = first_bad(two_clients)
    assert (bad["client"], bad["seq"]) == ("bart", 16)


def test_a_client_unknown_to_the_views_is_named_by_its_registration(store: str) -> None:
    cli = Cli(store)
    cli.run("client", "add", "solo", "--name", "Solo")  # no read command: no views yet
    cli.run("goal", "add", "solo", "g", "--text", "a goal")
    sql(store, "UPDATE stored_events SET state = ? WHERE {seq} = 2", (b"{}",))
    assert first_bad(cli)["client"] == "solo"  # issue 14: the client's id, not its stream
    assert first_bad(cli)["stream"] == stream_of("solo")


def test_a_flipped_bit_in_the_raw_file_is_found(tmp_path: Path) -> None:
    store = tmp_path / "ledger.sqlite"
    a_client(lambda *a: ok(store, *a))
    data = bytearray(store.read_bytes())
    at = data.index(SESSION.encode())
    data[at + 3] ^= 0x01
    store.write_bytes(bytes(data))
    result = coachledger(store, "verify")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: client '") and ", seq 7: seal mismatch" in result.stderr


def test_an_event_stored_as_text_is_named_not_a_traceback(tmp_path: Path) -> None:
    """SQLite keeps whatever type is written: an event's bytes rewritten as text are named."""
    path = tmp_path / "ledger.sqlite"
    cli = Cli(str(path))
    a_client(cli.run)
    cli.run("client", "list")
    lite = sqlite3.connect(path)
    with lite:
        lite.execute("UPDATE stored_events SET state = CAST(state AS TEXT) WHERE rowid = 2")
    lite.close()
    bad = first_bad(cli)
    assert (bad["client"], bad["seq"]) == ("zoraida", 2)
    assert "not stored as bytes" in bad["reason"]


def test_verify_runs_in_one_snapshot_while_others_write(two_clients: Cli, store: str) -> None:
    assert verify(two_clients)[0] == 0
    two_clients.run("client", "add", "late", "--name", "Late")
    code, doc, _ = verify(two_clients)
    assert code == 0 and doc["events"] == 17


# -- anchors and private files ---------------------------------------------------------------------


def test_anchor_and_key_files_are_0600_under_umask_022(tmp_path: Path) -> None:
    store = tmp_path / "ledger.sqlite"
    ok(store, "init", "--encrypt")
    a_client(lambda *a: ok(store, *a))
    anchor = tmp_path / "anchor.json"
    anchor.write_text("old and readable\n")
    anchor.chmod(0o644)
    printed = ok(store, "anchor", "--out", str(anchor))
    assert "7 events" in printed
    doc = json.loads(anchor.read_text())
    assert set(doc) >= {"events", "head", "created_at"} and doc["events"] == 7
    ok(store, "forget", "zoraida", "--yes")
    ok(store, "verify", "--anchor", str(anchor))
    files = [*store_files(store), anchor]
    assert {p.name for p in files} >= {"ledger.sqlite", "ledger.sqlite.keys", "anchor.json"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_anchor_prints_the_head_and_refuses_a_broken_ledger(two_clients: Cli, store: str) -> None:
    doc = json.loads(two_clients.out("anchor"))
    assert doc["events"] == 16 and doc["head"] == verify(two_clients)[1]["head"]
    sql(store, "UPDATE stored_events SET state = ? WHERE {seq} = 3", (b"{}",))
    result = two_clients.run("anchor", ok=False)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: the ledger fails verification") and "seq 3" in result.stderr


# -- encryption and forgetting ------------------------------------------------------------------------


@pytest.fixture
def encrypted(tmp_path: Path) -> Iterator[Path]:
    """An encrypted SQLite ledger with two clients, written and read by separate processes."""
    store = tmp_path / "ledger.sqlite"
    assert "encrypted" in ok(store, "init", "--encrypt")
    a_client(lambda *a: ok(store, *a))
    a_client(lambda *a: ok(store, *a), "bart", OTHER, private=False)
    ok(store, "timeline", "zoraida")  # the views hold the client's text too
    ok(store, "progress", "bart")
    yield store


def test_an_encrypted_store_keeps_no_event_in_clear(encrypted: Path) -> None:
    conn = sqlite3.connect(encrypted)
    states = conn.execute("SELECT topic, state FROM stored_events").fetchall()
    conn.close()
    assert len(states) == 14
    for _, state in states:
        assert state[:1] == b"\x01" and b"maria" not in state
    assert "promotion-talk-went-badly" in ok(encrypted, "timeline", "zoraida")
    progress = json.loads(ok(encrypted, "progress", "zoraida", "--json"))
    assert progress["kpis"][0]["current"] == float(VALUE)


def test_forget_leaves_no_plaintext_of_the_client_in_any_store_file(encrypted: Path) -> None:
    assert files_containing(encrypted, NAME)  # the search works: the views hold the name
    result = coachledger(encrypted, "forget", "zoraida", "--yes")
    assert result.returncode == 0, result.stderr
    assert "forgot" in result.stdout.lower() and result.stderr == ""
    for secret in (*SECRETS, "zoraida"):
        assert files_containing(encrypted, secret) == [], secret
    assert files_containing(encrypted, OTHER)  # the other client is untouched
    ok(encrypted, "verify")
    # Reading again (views catch up on the ClientForgotten event) brings nothing back.
    assert "zoraida" not in ok(encrypted, "client", "list")
    assert OTHER in ok(encrypted, "client", "list")
    assert json.loads(ok(encrypted, "progress", "bart", "--json"))["kpis"][0]["current"] == 71000
    for secret in SECRETS:
        assert files_containing(encrypted, secret) == [], secret
    keys = sqlite3.connect(encrypted.with_name("ledger.sqlite.keys"))
    assert keys.execute("SELECT stream FROM client_keys").fetchall() == [(ledger_stream(encrypted, "bart"),)]
    keys.close()


def test_the_timeline_of_a_forgotten_client_shows_placeholders(encrypted: Path) -> None:
    ok(encrypted, "forget", "zoraida", "--yes")
    doc = json.loads(ok(encrypted, "timeline", "zoraida", "--json"))
    assert [e["type"] for e in doc["events"]][-1] == "ClientForgotten"
    assert len(doc["events"]) == 8
    assert not any(secret in json.dumps(doc) for secret in SECRETS)


def test_a_forgotten_client_takes_no_more_events_and_cannot_come_back(encrypted: Path) -> None:
    ok(encrypted, "forget", "zoraida", "--yes")
    for args in (
        ("measure", "record", "zoraida", "salary", "1"),
        ("client", "add", "zoraida", "--name", NAME),
        ("forget", "zoraida", "--yes"),
    ):
        result = coachledger(encrypted, *args)
        assert result.returncode == 1, args
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
        assert "forgotten" in result.stderr
    assert files_containing(encrypted, NAME) == []
    ok(encrypted, "verify")


def test_init_encrypt_is_refused_once_events_are_stored_in_clear(tmp_path: Path) -> None:
    store = tmp_path / "ledger.sqlite"
    ok(store, "client", "add", "bo", "--name", "Bo")
    before = store.read_bytes()
    result = coachledger(store, "init", "--encrypt")
    assert result.returncode == 1 and result.stderr.startswith("Error: ") and "unencrypted" in result.stderr
    assert result.stderr.count("\n") == 1
    assert not store.with_name("ledger.sqlite.keys").exists()
    assert store.read_bytes() == before
    ok(store, "client", "add", "cy", "--name", "Cy")  # still a clear store


def test_init_encrypt_again_keeps_the_keys(encrypted: Path) -> None:
    ok(encrypted, "init", "--encrypt")
    ok(encrypted, "init")
    assert OTHER in ok(encrypted, "client", "show", "bart")


def test_an_encrypted_store_without_its_key_file_says_so(encrypted: Path, tmp_path: Path) -> None:
    keys = encrypted.with_name("ledger.sqlite.keys")
    keys.rename(tmp_path / "elsewhere.keys")
    for args in (("measure", "record", "bart", "salary", "1"), ("client", "add", "new", "--name", "N")):
        result = coachledger(encrypted, *args)
        assert result.returncode == 1 and "key store" in result.stderr and "Traceback" not in result.stderr
    assert not keys.exists()  # never silently recreated
    ok(encrypted, "verify")  # the chain needs no keys


def test_a_key_file_of_another_ledger_is_refused(encrypted: Path, tmp_path: Path) -> None:
    other = tmp_path / "other" / "ledger.sqlite"
    other.parent.mkdir()
    ok(other, "init", "--encrypt")
    encrypted.with_name("ledger.sqlite.keys").replace(other.with_name("ledger.sqlite.keys"))
    result = coachledger(other, "client", "add", "x", "--name", "X")
    assert result.returncode == 1 and "belongs to another ledger" in result.stderr


def test_forget_also_erases_the_clients_snapshots(tmp_path: Path) -> None:
    store = tmp_path / "ledger.sqlite"
    cli = Cli(str(store))
    cli.run("init", "--encrypt")
    a_client(cli.run)
    for i in range(100):
        cli.run("measure", "record", "zoraida", "salary", str(70000 + i))
    conn = sqlite3.connect(store)
    (snapshot,) = conn.execute("SELECT state FROM stored_snapshots").fetchone()
    assert snapshot[:1] == b"\x01" and NAME.encode() not in snapshot
    conn.close()
    cli.run("forget", "zoraida", "--yes")
    conn = sqlite3.connect(store)
    assert conn.execute("SELECT count(*) FROM stored_snapshots").fetchone() == (0,)
    conn.close()
    cli.run("verify")


def test_forget_without_encryption_clears_the_views_and_warns(tmp_path: Path) -> None:
    store = tmp_path / "ledger.sqlite"
    a_client(lambda *a: ok(store, *a))
    a_client(lambda *a: ok(store, *a), "bart", OTHER, private=False)
    ok(store, "timeline", "zoraida")
    result = coachledger(store, "forget", "zoraida", "--yes")
    assert result.returncode == 0, result.stderr
    warning = result.stderr.strip()
    assert warning.startswith("Warning: ") and "\n" not in warning
    assert "not encrypted" in warning and "in clear" in warning
    conn = sqlite3.connect(store)
    tables = [
        t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if t not in ("stored_events", "event_index", "stored_snapshots", "ledger_meta")
    ]  # fmt: skip
    # Views name a client by its stream id, or by its key: the seq of its registration.
    (key,) = conn.execute("SELECT min(seq) FROM event_index WHERE originator_id = ?", (stream_of("zoraida"),))
    checked = 0
    for table in tables:
        columns = [c[1] for c in conn.execute(f"PRAGMA table_info({table})")]
        for column, value in (("stream", stream_of("zoraida")), ("client_key", key[0])):
            if column in columns:
                texts = conn.execute(f"SELECT * FROM {table} WHERE {column} = ?", (value,)).fetchall()
                assert not any(s in repr(texts) for s in SECRETS), (table, texts)
                checked += 1
    assert checked >= 5
    conn.close()
    assert "zoraida" not in ok(store, "client", "list")
    ok(store, "verify")


def test_forget_needs_yes_and_a_known_client(tmp_path: Path) -> None:
    store = tmp_path / "ledger.sqlite"
    result = coachledger(store, "forget", "nobody")
    assert result.returncode == 1 and "--yes" in result.stderr  # issue 14: a refusal, exit 1
    result = coachledger(store, "forget", "nobody", "--yes")
    assert result.returncode == 1 and result.stderr == "Error: unknown client 'nobody'\n"
    assert not store.exists()


# -- both backends --------------------------------------------------------------------------------


def test_forget_on_an_encrypted_store_on_every_backend(store: str, backend: str) -> None:
    cli = Cli(store)
    cli.run("init", "--encrypt")
    a_client(cli.run)
    a_client(cli.run, "bart", OTHER, private=False)
    check_ins(cli, "zoraida", ("salary", "74000"))  # the client's own answers are hers to be forgotten too
    assert NAME in cli.out("client", "list")
    cli.run("forget", "zoraida", "--yes")
    assert verify(cli)[0] == 0
    listing = cli.out("client", "list")
    assert NAME not in listing and OTHER in listing
    keys = store if backend == "postgres" else store + ".keys"  # SQLite: a file of its own
    assert sql(keys, "SELECT stream FROM client_keys") == [(ledger_stream(store, "bart"),)]
    assert sql(keys, "SELECT stream FROM erased_streams") == [(ledger_stream(store, "zoraida"),)]
    forgotten = sql(
        store, "SELECT topic, state FROM stored_events WHERE originator_id = ? ORDER BY originator_version",
        (ledger_stream(store, "zoraida"),),
    )  # fmt: skip
    assert forgotten[-1][0] == "coachledger:ClientForgotten"
    assert all(bytes(state)[:1] == b"\x01" for _, state in forgotten[:-1])
    result = cli.run("feedback", "add", "zoraida", "--rating", "5", ok=False)
    assert result.exit_code == 1 and "forgotten" in result.stderr


# -- crash safety: kill -9 during an import --------------------------------------------------------

IMPORTED_CLIENTS = 2
MEASUREMENTS = 3000


def _export_of_a_busy_ledger(folder: Path) -> tuple[Path, int]:
    """An export file of a few thousand events, written through the domain in one save per client."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from coachledger.domain import Client
    from coachledger.services.bootstrap import open_ledger
    from coachledger.settings import Settings

    source = folder / "source.sqlite"
    ledger = open_ledger(Settings.from_values(str(source), "maria"))
    for c in range(IMPORTED_CLIENTS):
        client = Client.register("maria", f"imported-{c}", f"Imported {c}", None)
        client.define_kpi(
            "maria", "sat", name="Satisfaction", category="job-satisfaction", unit="points",
            direction="increase", target=Decimal(9), due=datetime(2030, 1, 1, tzinfo=UTC),
            scale_min=Decimal(0), scale_max=Decimal(10), dimension="professional", horizon="short",
            method=None, goal=None, defined_by="coach", now=datetime(2026, 1, 1, tzinfo=UTC),
        )  # fmt: skip
        for i in range(MEASUREMENTS):
            client.record_measurement(
                "maria",
                "sat",
                Decimal(i % 11),
                datetime(2026, 1, 2, tzinfo=UTC),
                "survey",
                f"weekly pulse {i}",
            )
        ledger.save(client)
    ledger.close()
    export = folder / "export.jsonl"
    ok(source, "export", "--out", str(export))
    return export, IMPORTED_CLIENTS * (MEASUREMENTS + 2)


def _counts(store: Path) -> tuple[int, int, str]:
    conn = sqlite3.connect(store)
    try:
        (check,) = conn.execute("PRAGMA integrity_check").fetchone()
        (events,) = conn.execute("SELECT count(*) FROM stored_events").fetchone()
        (index,) = conn.execute("SELECT count(*) FROM event_index").fetchone()
    finally:
        conn.close()
    assert events == index
    return events, index, check


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # not created yet, or removed as the import ends
        return 0


def _start_import(store: Path, export: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "COACHLEDGER_STORE": str(store), "COACHLEDGER_ACTOR": "maria"}
    return subprocess.Popen(
        [sys.executable, "-m", "coachledger", "import", str(export)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: os.umask(0o022),
    )


def test_an_import_killed_at_random_moments_is_all_or_nothing(tmp_path: Path) -> None:
    import random
    import shutil
    import signal
    import time

    export, imported = _export_of_a_busy_ledger(tmp_path)
    bases = {}
    for kind in ("plain", "encrypted"):
        base = tmp_path / kind / "ledger.sqlite"
        base.parent.mkdir()
        if kind == "encrypted":
            ok(base, "init", "--encrypt")
        a_client(lambda *a, store=base: ok(store, *a), "keeper", "Keeper Already-There", private=False)
        bases[kind] = base
    before = _counts(bases["plain"])[0]

    started = time.monotonic()
    scratch = tmp_path / "scratch.sqlite"
    shutil.copy(bases["plain"], scratch)
    ok(scratch, "import", str(export))
    whole = time.monotonic() - started

    rng = random.Random(20260401)
    outcomes: list[str] = []
    for trial in range(12):
        kind = ("plain", "encrypted")[trial % 2]
        folder = tmp_path / f"trial-{trial}"
        folder.mkdir()
        store = folder / "ledger.sqlite"
        for side in bases[kind].parent.iterdir():
            shutil.copy(side, folder / side.name)
        process = _start_import(store, export)
        if trial % 3 == 2:  # kill once the import's transaction has spilled this far into the WAL
            wal, threshold = store.with_name("ledger.sqlite-wal"), rng.uniform(0, 4_000_000)
            while process.poll() is None and _size(wal) < threshold:
                time.sleep(0.0005)
        else:  # kill after a random share of an uninterrupted import's time
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=rng.uniform(0.05, 1.1) * whole)
        process.send_signal(signal.SIGKILL)
        process.wait()
        events, _, check = _counts(store)
        assert check == "ok", (trial, check)
        assert events in (before, before + imported), (trial, events)
        outcomes.append(
            f"{kind}:{'killed' if process.returncode == -signal.SIGKILL else 'done'}:"
            f"{'all' if events > before else 'nothing'}"
        )
        if kind == "encrypted":
            keys = sqlite3.connect(store.with_name("ledger.sqlite.keys"))
            assert keys.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            keys.close()
        ok(store, "verify")
        ok(store, "import", str(export))  # a re-run completes it (or finds it all there)
        assert _counts(store)[0] == before + imported
        ok(store, "verify")
        listing = json.loads(ok(store, "client", "list", "--json"))
        assert sorted(c["client"] for c in listing["clients"]) == ["imported-0", "imported-1", "keeper"]
    assert any(o.endswith(":killed:nothing") for o in outcomes), outcomes
