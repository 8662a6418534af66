"""PostgreSQL: forget leaves no copy of the client in the tables' files (no dead tuples kept).

A DELETE only marks rows dead: their bytes stay in the table's heap file until the table
is rewritten. The test reads the heap files themselves (the data directory, readable by
root or the server's user) after a checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from coachledger.projections import runner
from conftest import Cli, check_ins

NAME = "Zoraida Quintanilla"
SECRETS = (
    NAME, "promotion-talk-went-badly", "felt-unheard-in-session-four", "leave-the-bank-by-summer",
    "ask-hr-about-the-transfer", "zoraida-private@example.org", "Zoraida Quintanilla-Marsh", "divorce-papers-signed",
    "Felt calmer this week", "Quick to answer", "replaced by a form", "The form works offline",
)  # fmt: skip
# Every table of every view (the loop's actions and fixes included), the snapshots and the keys.
TABLES = (*(table for view in runner.VIEWS for table in view.TABLES), "stored_snapshots", "client_keys")


def a_private_client(cli: Cli) -> None:
    cli.run("client", "add", "zoraida", "--name", NAME, "--coach", "maria")
    cli.run("goal", "add", "zoraida", "exit", "--text", SECRETS[3])
    cli.run(
        "kpi", "define", "zoraida", "salary", "--name", "Base salary", "--category", "salary", "--unit", "EUR",
        "--direction", "increase", "--target", "90000", "--due", "2030-06-30", "--goal", "exit",
    )  # fmt: skip
    cli.run("measure", "record", "zoraida", "salary", "73000", "--note", SECRETS[1])
    cli.run("feedback", "add", "zoraida", "--rating", "2", "--comment", SECRETS[2])
    cli.run("session", "log", "zoraida", "--notes", "discussed-relocation", "--action", SECRETS[4])
    cli.run("client", "update", "zoraida", "--contact", SECRETS[5], "--reason", "reminders")
    cli.run("client", "rename", "zoraida", "--name", SECRETS[6], "--reason", "married")
    cli.run("session", "amend", "zoraida", "s1", "--notes", SECRETS[7], "--reason", "more")
    check_ins(cli, "zoraida", ("salary", "74000"))  # what the client said through a link and a form
    cli.run("client", "list")


def heap_files(conn: Any) -> dict[str, list[Path]]:
    """Each table's files (heap, TOAST heap, indexes), as the server keeps them now."""
    conn.execute("CHECKPOINT")
    data = Path(conn.execute("SHOW data_directory").fetchone()[0])
    files: dict[str, list[Path]] = {}
    for table in TABLES:
        rows = conn.execute(
            "SELECT pg_relation_filepath(c.oid) FROM pg_class c WHERE c.oid = to_regclass(%s) "
            "OR c.oid = (SELECT reltoastrelid FROM pg_class WHERE oid = to_regclass(%s)) "
            "OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = to_regclass(%s))",
            (table, table, table),
        ).fetchall()
        files[table] = [data / r[0] for r in rows if r[0]]
    return files


def containing(files: dict[str, list[Path]], needle: bytes) -> list[str]:
    found = []
    for table, paths in files.items():
        for path in paths:
            chunks = [
                p.read_bytes() for p in path.parent.glob(path.name + "*") if p.name.split(".")[0] == path.name
            ]
            if any(needle in chunk for chunk in chunks):
                found.append(f"{table} ({path.name})")
    return found


@pytest.mark.parametrize("encrypted", [True, False])
def test_forget_leaves_no_dead_copy_in_the_postgres_tables(pg_store: str, encrypted: bool) -> None:
    import psycopg

    cli = Cli(pg_store)
    if encrypted:
        cli.run("init", "--encrypt")
    a_private_client(cli)
    with psycopg.connect(pg_store, autocommit=True) as conn:
        if not Path(conn.execute("SHOW data_directory").fetchone()[0]).exists():
            pytest.skip("the server's data directory is not on this machine")
        before = heap_files(conn)
        key = conn.execute("SELECT key FROM client_keys").fetchone() if encrypted else None
    if not any(p.exists() and p.stat().st_size for ps in before.values() for p in ps):
        pytest.skip("the server's files are not readable here")
    assert containing(before, NAME.encode()), "the views hold the name before forget"

    result = cli.run("forget", "zoraida", "--yes")
    assert "write-ahead log" in result.stderr, result.stderr  # what may still hold a copy is said

    with psycopg.connect(pg_store, autocommit=True) as conn:
        after = heap_files(conn)
    for secret in SECRETS:
        assert containing(after, secret.encode()) == [], secret
    if key is not None:
        assert containing(after, bytes(key[0])) == []
