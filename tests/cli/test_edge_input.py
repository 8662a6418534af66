"""Edge input never gives a traceback: odd store URLs, far dates, terminal escapes, huge ids."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from coachledger.cli import main
from conftest import Cli

# What may reach a terminal: printable text, newlines, tabs, and colour/bold (SGR) sequences.
UNSAFE = re.compile(r"\x1b(?!\[[0-9;]*m)|[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f]")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@[::1/db",
        "postgresql://u:secret@[::1/db",
        "postgresql://u@host:99999/db",
        "postgresql://u@host:port/db",
    ],
)
def test_a_store_url_that_cannot_be_read_is_one_error_line(url: str) -> None:
    result = CliRunner().invoke(main, ["--store", url, "progress", "ana"])

    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: the PostgreSQL URL cannot be read (")
    assert "secret" not in result.output


@pytest.mark.parametrize("option", ["--as-of", "--known-at"])
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "9999-12-31"])
def test_far_dates_on_read_options_are_usage_errors(cli: Cli, option: str, value: str) -> None:
    cli.run("client", "add", "ana", "--name", "Ana")

    result = cli.run("progress", "ana", option, value, ok=False)

    assert result.exit_code == 2
    assert "is outside the years 1900..2200" in result.output


def test_names_actors_and_notes_reach_the_terminal_without_control_characters(cli: Cli) -> None:
    evil = "\x1b]0;owned\x07\x1b[2J\rX\x9b31m\x7f"
    cli.run("client", "add", "ana", "--name", f"Ana{evil}", actor=f"eve{evil}")
    cli.run("goal", "add", "ana", "g", "--text", f"Lead{evil}")
    cli.run("session", "log", "ana", "--notes", f"Talked{evil}", "--action", f"Ask{evil}")

    for args in (("client", "show", "ana"), ("client", "list"), ("timeline", "ana"), ("replay", "ana")):
        out = cli.run(*args).stdout
        assert not UNSAFE.search(out), (args, out)
        assert "Ana" in out or "eve" in out or "Lead" in out or "Talked" in out, (args, out)


def test_a_refused_long_id_is_cut_in_the_message(cli: Cli) -> None:
    long_id = "A" * 10_000
    cli.run("client", "add", "ana", "--name", "Ana")

    for args in (
        ("client", "add", long_id, "--name", "x"),
        ("progress", long_id),
        ("progress", "a" * 10_000),
    ):
        result = cli.run(*args, ok=False)
        assert result.exit_code == 1
        assert result.output.startswith("Error: ") and len(result.output) < 400, len(result.output)
        assert "(10000 characters)" in result.output


def test_bytes_that_are_not_utf8_are_refused_and_nothing_is_written(cli: Cli) -> None:
    cli.run("client", "add", "ana", "--name", "Ana")
    before = cli.run("export").stdout.splitlines()[1:]

    for args in (
        ("client", "add", "bob", "--name", "B\udcff"),
        ("goal", "add", "ana", "g", "--text", "t\udc9b"),
    ):
        result = cli.run(*args, ok=False)
        assert result.exit_code == 1
        assert result.output.startswith("Error: text must be valid UTF-8")
    assert cli.run("export").stdout.splitlines()[1:] == before


def test_an_error_quoting_a_value_stays_on_one_line(cli: Cli) -> None:
    cli.run("client", "add", "ana", "--name", "Ana")

    for args in (("progress", "ana", "--as-of", "2026\n01"), ("client", "add", "a\nb", "--name", "x")):
        result = cli.run(*args, ok=False)
        assert result.exit_code in (1, 2)
        assert result.output.strip().splitlines()[-1].startswith("Error: "), result.output
