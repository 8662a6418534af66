"""Coaches of the practice through the command line: add, password, disable, enable, list.

Passwords are asked twice without echo (or read from stdin with --password-stdin) and only
their argon2id hash is recorded: the store and an export never hold a password.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from coachledger.projections.coaches import coach as read_coach
from coachledger.projections.read import ReadSide
from coachledger.services import access
from coachledger.settings import Settings

if TYPE_CHECKING:
    from conftest import Cli

SECRET = "correct horse battery"


def test_a_coach_is_added_listed_and_signs_in_with_the_password_only(cli: Cli) -> None:
    assert cli.out("coach", "add", "maria", "--password-stdin", input=SECRET + "\n") == "Added coach maria."
    cli.run("coach", "add", "lena", "--admin", input=f"{SECRET}!\n{SECRET}!\n")  # asked twice, no echo
    cli.run("client", "add", "ana-lopez", "--name", "Ana López", "--coach", "maria")
    listed = cli.json("coach", "list")["coaches"]
    assert [(c["coach"], c["admin"], c["disabled"], c["clients"]) for c in listed] == [
        ("lena", True, False, 0),
        ("maria", False, False, 1),
    ]
    rs = ReadSide(Settings.from_values(cli.store, "x"))
    try:
        viewer = access.sign_in(rs, "maria", SECRET)
        assert viewer is not None and (viewer.name, viewer.admin) == ("maria", False)
        assert access.sign_in(rs, "maria", SECRET + "x") is None
        assert access.sign_in(rs, "nobody", SECRET) is None
        assert access.sign_in(rs, "lena", SECRET + "!") == access.Viewer("lena", True, 1)
        state = read_coach(rs.db, "maria")
        assert state is not None and state.password_hash.startswith("$argon2id$")
    finally:
        rs.close()
    table = cli.out("coach", "list")
    assert "maria" in table and "lena" in table


def test_password_disable_and_enable_end_the_sessions_made_before(cli: Cli) -> None:
    cli.run("coach", "add", "maria", "--password-stdin", input=SECRET + "\n")
    rs = ReadSide(Settings.from_values(cli.store, "x"))
    try:
        first = access.sign_in(rs, "maria", SECRET)
        assert first is not None and access.still_valid(rs, "maria", first.version) == first
        assert cli.out("coach", "password", "maria", "--password-stdin", input="a new secret\n") == (
            "Changed the password of coach maria."
        )
        assert access.still_valid(rs, "maria", first.version) is None
        assert access.sign_in(rs, "maria", SECRET) is None
        second = access.sign_in(rs, "maria", "a new secret")
        assert second is not None
        cli.run("coach", "disable", "maria")
        assert access.still_valid(rs, "maria", second.version) is None
        assert access.sign_in(rs, "maria", "a new secret") is None  # disabled: refused like a wrong password
        cli.run("coach", "enable", "maria")
        assert access.still_valid(rs, "maria", second.version) is None  # still over: a new sign-in is needed
        assert access.sign_in(rs, "maria", "a new secret") is not None
    finally:
        rs.close()
    assert [c["disabled"] for c in cli.json("coach", "list")["coaches"]] == [False]


@pytest.mark.parametrize(
    ("args", "stdin", "error"),
    [
        (("coach", "add", "maria garcia", "--password-stdin"), SECRET, "coach name 'maria garcia' must be"),
        (("coach", "add", "maria", "--password-stdin"), "short", "at least 8 characters"),
        (("coach", "add", "maria", "--password-stdin"), " padded secret ", "must not start or end with a space"),
        (("coach", "add", "jonas", "--password-stdin"), SECRET, "coach 'jonas' already exists"),
        (("coach", "password", "nobody", "--password-stdin"), SECRET, "unknown coach 'nobody'"),
        (("coach", "disable", "nobody"), "", "unknown coach 'nobody'"),
        (("coach", "enable", "jonas"), "", "coach 'jonas' is not disabled"),
    ],
)
def test_refusals_say_why_and_write_nothing(cli: Cli, args: tuple[str, ...], stdin: str, error: str) -> None:
    cli.run("coach", "add", "jonas", "--password-stdin", input=SECRET + "\n")
    before = cli.out("export", "--out", "-").splitlines()[1:]
    result = cli.run(*args, ok=False, input=stdin + "\n")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and error in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1
    assert cli.out("export", "--out", "-").splitlines()[1:] == before


def test_the_password_is_never_stored_and_an_export_carries_the_hash_to_a_new_store(
    cli: Cli, tmp_path: Path
) -> None:
    cli.run("coach", "add", "maria", "--admin", "--password-stdin", input=SECRET + "\n")
    cli.run("coach", "disable", "maria")
    cli.run("coach", "enable", "maria")
    cli.run("coach", "password", "maria", "--password-stdin", input="a new secret\n")
    cli.run("client", "add", "ana-lopez", "--name", "Ana López", "--coach", "maria")
    exported = cli.out("export", "--out", "-")
    assert SECRET not in exported and "a new secret" not in exported
    assert exported.count('"type":"Coach') == 4 and '"client":null' in exported
    if not cli.store.startswith("postgresql://"):
        with sqlite3.connect(cli.store) as conn:
            rows = conn.execute("SELECT state FROM stored_events").fetchall()
        assert not any(SECRET.encode() in bytes(r[0]) or b"a new secret" in bytes(r[0]) for r in rows)
    (tmp_path / "backup.jsonl").write_text(exported + "\n")
    copy = str(tmp_path / "copy.sqlite")
    from conftest import Cli as Runner

    target = Runner(copy)
    target.run("import", str(tmp_path / "backup.jsonl"))
    assert target.out("export", "--out", "-").splitlines()[1:] == exported.splitlines()[1:]
    rs = ReadSide(Settings.from_values(copy, "x"))
    try:
        assert access.sign_in(rs, "maria", "a new secret") == access.Viewer("maria", True, 4)
    finally:
        rs.close()
    target.run("import", str(tmp_path / "backup.jsonl"))  # twice: nothing changes


def test_an_import_refuses_a_coach_line_on_another_coachs_stream(cli: Cli, tmp_path: Path) -> None:
    cli.run("coach", "add", "maria", "--password-stdin", input=SECRET + "\n")
    lines = cli.out("export", "--out", "-").splitlines()
    lines[1] = lines[1].replace('"name":"maria"', '"name":"mallory"')
    (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n")
    from conftest import Cli as Runner

    result = Runner(str(tmp_path / "new.sqlite")).run("import", str(tmp_path / "bad.jsonl"), ok=False)
    assert result.exit_code == 1
    assert "line 2, field data.name: 'mallory' is not the coach of stream" in result.stderr


def test_coaches_on_an_encrypted_ledger(tmp_path: Path) -> None:
    from conftest import Cli as Runner

    cli = Runner(str(tmp_path / "secret.sqlite"))
    cli.run("init", "--encrypt")
    cli.run("coach", "add", "maria", "--password-stdin", input=SECRET + "\n")
    with sqlite3.connect(cli.store) as conn:
        (state,) = conn.execute("SELECT state FROM stored_events").fetchone()
    assert b"argon2id" not in bytes(state)  # encrypted with the coach's own key
    rs = ReadSide(Settings.from_values(cli.store, "x"))
    try:
        assert access.sign_in(rs, "maria", SECRET) is not None
    finally:
        rs.close()
    assert [c["coach"] for c in cli.json("coach", "list")["coaches"]] == ["maria"]
    # Keyed stream ids (an encrypted ledger): the coach's stream id is public, and travels as it is.
    cli.run("client", "add", "ana-lopez", "--name", "Ana López", "--coach", "maria")
    exported = cli.out("export", "--out", "-")
    (tmp_path / "backup.jsonl").write_text(exported + "\n")
    for target in (Runner(str(tmp_path / "copy.sqlite")), Runner(str(tmp_path / "secret-copy.sqlite"))):
        if "secret" in target.store:
            target.run("init", "--encrypt")
        target.run("import", str(tmp_path / "backup.jsonl"))
        assert target.out("export", "--out", "-").splitlines()[1:] == exported.splitlines()[1:]
        rs = ReadSide(Settings.from_values(target.store, "x"))
        try:
            assert access.sign_in(rs, "maria", SECRET) == access.Viewer("maria", False, 1)
            assert access.client_for(rs, access.Viewer("maria"), "ana-lopez")["client"] == "ana-lopez"
        finally:
            rs.close()
