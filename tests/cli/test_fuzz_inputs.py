"""Whatever a coach types: exit 0, 1 or 2, never a traceback, and a refused command writes nothing."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coachledger.cli import main

# Command-line text: any character a shell can pass (no NUL), surrogate escapes of non-UTF-8 bytes included.
TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=()), max_size=30)
DIGITS = st.text("0123456789", min_size=1, max_size=420)
NUMBERS = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(repr),
    st.integers(-(10**40), 10**40).map(str),
    st.builds(lambda s, d, e: f"{s}{d}e{e}", st.sampled_from(("", "-")), DIGITS, st.integers(-999, 999)),
    st.builds(lambda d, f: f"{d}.{f}", DIGITS, DIGITS),
    TEXT,
)
DATES = st.one_of(
    st.builds(
        lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}",
        st.integers(1, 9999),
        st.integers(1, 12),
        st.integers(1, 28),
    ),
    st.builds(
        lambda y, h, sign, off: f"{y:04d}-12-31T{h:02d}:59:59{sign}{off:02d}:00",
        st.sampled_from((1, 2, 1899, 1900, 2026, 2200, 2201, 9998, 9999)),
        st.integers(0, 23),
        st.sampled_from(("+", "-")),
        st.integers(0, 23),
    ),
    st.sampled_from(("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "9999-12-31", "2026-02-30")),
    TEXT,
)
IDS = st.one_of(st.from_regex(r"[a-z0-9][a-z0-9._-]{0,70}", fullmatch=True), TEXT, st.just("a" * 10_000))


def command(draw: st.DrawFn) -> list[str]:
    kind = draw(st.integers(0, 8))
    if kind == 0:
        return ["measure", "record", "--at", draw(DATES), "ana", "sal", "--", draw(NUMBERS)]
    if kind == 1:
        return [
            "kpi",
            "baseline",
            "--at",
            draw(DATES),
            "--reason",
            draw(TEXT),
            "ana",
            "sal",
            "--",
            draw(NUMBERS),
        ]
    if kind == 2:
        return [
            "kpi",
            "adjust",
            "ana",
            "sal",
            "--target",
            draw(NUMBERS),
            "--reason",
            "r",
            "--due",
            draw(DATES),
        ]
    if kind == 3:
        return ["client", "add", draw(IDS), "--name", draw(TEXT)]
    if kind == 4:
        return ["goal", "add", "ana", draw(IDS), "--text", draw(TEXT), "--due", draw(DATES)]
    if kind == 5:
        return [
            "feedback",
            "add",
            "ana",
            "--rating",
            draw(NUMBERS),
            "--comment",
            draw(TEXT),
            "--at",
            draw(DATES),
        ]
    if kind == 6:
        return [
            "progress",
            draw(st.sampled_from(("ana", draw(IDS)))),
            "--as-of",
            draw(DATES),
            "--known-at",
            draw(DATES),
        ]
    if kind == 7:
        return ["timeline", "ana", "--from", draw(DATES), "--to", draw(DATES)]
    return ["kpi", "adjust", "ana", "sal", "--scale", f"{draw(NUMBERS)}..{draw(NUMBERS)}", "--reason", "r"]


@st.composite
def commands(draw: st.DrawFn) -> list[str]:
    return command(draw)


@pytest.fixture(scope="module")
def ledger() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ledger.sqlite"
        for args in (
            ["client", "add", "ana", "--name", "Ana"],
            [
                "kpi", "define", "ana", "sal", "--name", "Salary", "--category", "salary", "--unit", "EUR",
                "--direction", "increase", "--target", "60000", "--due", "2030-12-31", "--scale", "0..1e9",
            ],
            ["kpi", "baseline", "ana", "sal", "50000", "--at", "2026-01-01"],
        ):  # fmt: skip
            result = CliRunner().invoke(main, ["--store", str(path), "--actor", "t", *args])
            assert result.exit_code == 0, result.output
        yield path


def events(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM stored_events").fetchone()[0])
    finally:
        conn.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=commands())
def test_any_value_is_an_answer_or_a_refusal_never_a_traceback(ledger: Path, args: list[str]) -> None:
    before = events(ledger)

    result = CliRunner().invoke(main, ["--store", str(ledger), "--actor", "t", *args])

    assert result.exit_code in (0, 1, 2), (args, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
    assert "Traceback" not in result.output
    if result.exit_code != 0:
        assert "Error: " in result.output, (args, result.output)
        assert events(ledger) == before, args
