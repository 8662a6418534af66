"""The import's fast paths give exactly what the plain ones gave.

An import into a store without events checks and appends in one pass (appending each
batch as soon as it is checked, rolled back on refusal); any other import checks the whole
file first. Both must store the same rows, refuse with the same words and leave nothing
behind; the bulk appender's seals must be the ledger's seals.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coachledger.adapters import sqlite_events
from coachledger.adapters.sealing import seal
from coachledger.adapters.sqlite import SealedAppender, connect_threadable, seal_rows, sealed_appender
from coachledger.services.transfer import LINE_TYPES, REGISTERED, ImportRefused, import_from, open_store
from coachledger.services.transfer import importer as transfer_importer
from coachledger.services.transfer import references as transfer_references
from coachledger.services.transfer.references import _Stream
from coachledger.settings import Settings
from conftest import EVENT_ROWS, JOURNEY_EVENTS, Cli, a_journey

# The event tables' indexes (the journey's check-ins read, so its store has views too; an import has none).
DUMP = (
    *EVENT_ROWS,
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
    "AND tbl_name IN ('stored_events', 'event_index', 'stored_snapshots') ORDER BY name",
)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """A small ledger and its export (the path of the store, the export's lines)."""
    folder = tmp_path_factory.mktemp("source")
    cli = Cli(str(folder / "source.sqlite"))
    a_journey(cli)
    cli.run("export", "--out", str(folder / "ledger.jsonl"))
    lines = [json.loads(line) for line in (folder / "ledger.jsonl").read_text().splitlines()]
    return folder / "source.sqlite", lines


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of a few events: several appends, statements and a deferred time index on a small file."""
    monkeypatch.setattr(transfer_importer, "CHUNK", 3)
    monkeypatch.setattr(sqlite_events, "BULK_MIN", 4)
    monkeypatch.setattr(SealedAppender, "ROWS_PER_STATEMENT", 2)


def check_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every later import take the path that checks the whole file before writing."""
    monkeypatch.setattr(transfer_importer, "_holds_no_events", lambda settings: False)


def write_lines(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    return path


def dump(path: Path | str) -> list[list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return [conn.execute(sql).fetchall() for sql in DUMP]
    finally:
        conn.close()


def events_in(store: str) -> int:
    with open_store(Settings.from_values(store, "test")) as opened, opened.transaction(write=False) as tx:
        return tx.count()


def refusal(store: str, path: Path) -> str:
    with pytest.raises(ImportRefused) as refused:
        import_from(Settings.from_values(store, "test"), path)
    return str(refused.value)


# -- both paths store the same rows -----------------------------------------------------------


def test_both_paths_store_exactly_what_the_write_side_stored(
    tmp_path: Path,
    source: tuple[Path, list[dict[str, Any]]],
    small_batches: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store, lines = source
    path = write_lines(tmp_path / "ledger.jsonl", lines)
    one_pass, checked_first = tmp_path / "one-pass.sqlite", tmp_path / "checked-first.sqlite"

    import_from(Settings.from_values(str(one_pass), "test"), path)
    check_first(monkeypatch)
    import_from(Settings.from_values(str(checked_first), "test"), path)

    assert dump(one_pass) == dump(checked_first) == dump(store)  # rows, seals, time index
    assert Cli(str(one_pass)).out("verify").startswith(f"Ledger intact: {JOURNEY_EVENTS} events verified")


def test_a_file_with_blank_lines_and_a_later_header_imports_the_same(
    tmp_path: Path, source: tuple[Path, list[dict[str, Any]]], small_batches: None
) -> None:
    store, lines = source
    text = "\n" + "\n\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n  \n"
    (tmp_path / "spaced.jsonl").write_text(text)

    result = import_from(Settings.from_values(str(tmp_path / "t.sqlite"), "test"), tmp_path / "spaced.jsonl")

    assert (result.events, result.written, result.skipped, result.clients) == (
        JOURNEY_EVENTS,
        JOURNEY_EVENTS,
        0,
        2,
    )
    assert dump(tmp_path / "t.sqlite") == dump(store)


# -- and refuse with the same words, writing nothing -------------------------------------------


def _bad_files(lines: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    lines = [dict(line) for line in lines]
    kpi_line = next(i for i, line in enumerate(lines) if line.get("type") == "KpiDefined")
    return {
        "bad fields": [
            *lines[:4],
            {**lines[4], "data": {**lines[4]["data"], "target": "NaN"}},
            {**lines[5], "stream": "not-a-stream-id"},
            {**lines[6], "seq": 1},
            {**lines[7], "topic": "os:system"},
            *lines[8:],
        ],
        "a cut line": [*lines[:3], {"seq": 3}, *lines[4:]],
        "a short count": [{**lines[0], "events": 40}, *lines[1:]],
        "a gap and an unknown KPI": [
            {**lines[0], "events": len(lines) - 2},
            *lines[1:kpi_line],
            *lines[kpi_line + 1 :],
        ],
        "a client of another stream": [*lines[:3], {**lines[3], "client": "ben-okafor"}, *lines[4:]],
    }


@pytest.mark.parametrize(
    "case",
    ["bad fields", "a cut line", "a short count", "a gap and an unknown KPI", "a client of another stream"],
)
def test_both_paths_refuse_with_the_same_words_and_write_nothing(
    tmp_path: Path,
    store: str,
    source: tuple[Path, list[dict[str, Any]]],
    small_batches: None,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
) -> None:
    path = write_lines(tmp_path / "bad.jsonl", _bad_files(source[1])[case])
    with open_store(Settings.from_values(store, "test"), create=True):
        pass  # an existing, empty store (a refused import into a new file leaves no file)

    one_pass = refusal(store, path)
    assert events_in(store) == 0
    check_first(monkeypatch)
    checked_first = refusal(store, path)

    assert one_pass == checked_first
    assert events_in(store) == 0
    if not store.startswith("postgresql://"):  # the deferred time index is back (rolled back)
        assert ("event_index_by_time",) in sqlite3.connect(store).execute("SELECT name FROM sqlite_master")


# -- the bulk appender ------------------------------------------------------------------------

rows = st.lists(
    st.tuples(
        st.text("0123456789abcdef", min_size=32, max_size=32),
        st.integers(1, 10**6),
        st.sampled_from(sorted(LINE_TYPES)),
        st.binary(max_size=300),
        st.text(max_size=40),
    ),
    max_size=20,
)


@given(rows, st.binary(min_size=32, max_size=32))
def test_the_bulk_seals_are_the_ledger_seals(events: list[Any], previous: bytes) -> None:
    expected: list[bytes] = []
    chain = previous
    for stream, version, topic, state, recorded_at in events:
        chain = seal(chain, stream, version, topic, recorded_at, state)
        expected.append(chain)

    flat_events, flat_index, last = seal_rows(events, 7, previous)

    assert flat_index[4::5] == expected
    assert last == (expected[-1] if expected else previous)
    assert flat_events[0::5] == flat_index[0::5] == list(range(7, 7 + len(events)))
    assert [tuple(flat_events[i + 1 : i + 5]) for i in range(0, len(flat_events), 5)] == [
        e[:4] for e in events
    ]


def _appender_store(tmp_path: Path) -> sqlite3.Connection:
    from coachledger.services.bootstrap import open_ledger

    path = tmp_path / "ledger.sqlite"
    open_ledger(Settings.from_values(str(path), "maria")).close()
    return connect_threadable(path)


def test_an_insert_that_fails_in_the_thread_reaches_the_caller(tmp_path: Path) -> None:
    conn = _appender_store(tmp_path)
    row = ("a" * 32, 1, "coachledger:GoalSet", b"{}", "2026-01-01T00:00:00.000000+00:00")
    conn.execute("BEGIN IMMEDIATE")

    with pytest.raises(sqlite3.IntegrityError), sealed_appender(conn) as appender:
        appender.add([row])
        appender.add([row])  # the same stream and version again
        appender.finish()
    conn.rollback()

    assert conn.execute("SELECT count(*) FROM stored_events").fetchone() == (0,)


def test_the_appender_rebuilds_the_time_index_once_most_events_are_in(tmp_path: Path) -> None:
    conn = _appender_store(tmp_path)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("DROP INDEX event_index_by_time")
    made = [
        (("b" * 32), v, "coachledger:GoalSet", b"{}", f"2026-01-01T00:00:{v:02d}.000000+00:00")
        for v in (1, 2, 3)
    ]

    with sealed_appender(conn, index_after=2) as appender:
        appender.add(made[:2])
        appender.add(made[2:])
    conn.commit()

    assert conn.execute("SELECT count(*) FROM event_index").fetchone() == (3,)
    assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'event_index_by_time'").fetchone() == (1,)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# -- the reference checks, one function a topic, say what the rules say ---------------------------


def reference_check(topic: str, d: Any, s: _Stream) -> tuple[str, str] | None:
    """The rules of what an event may refer to, written once for every topic."""
    from coachledger.domain import Client
    from coachledger.services.transfer.references import _who

    who = _who(s)
    earlier = "by an earlier line or in the store"
    if topic == Client.GoalSet.TOPIC and d.goal in s.goals:
        return "data.goal", f"goal '{d.goal}'{who} is already set"
    if topic == Client.KpiDefined.TOPIC and d.kpi in s.kpis:
        return "data.kpi", f"KPI '{d.kpi}'{who} is already defined"
    if topic == Client.MeasurementRecorded.TOPIC and d.measurement_id in s.measurements:
        return "data.measurement_id", f"measurement '{d.measurement_id}'{who} is already recorded"
    if topic == Client.ActionOpened.TOPIC and d.action in s.actions:
        return "data.action", f"action '{d.action}'{who} is already opened"
    issued = (Client.CheckinLinkIssued.TOPIC, Client.CheckinFormIssued.TOPIC)
    if topic in issued and d.checkin in s.checkins:
        return "data.checkin", f"check-in '{d.checkin}'{who} is already issued"
    kpi = getattr(d, "kpi", None)
    if kpi is not None and topic != Client.KpiDefined.TOPIC and kpi not in s.kpis:
        return "data.kpi", f"unknown KPI '{kpi}'{who} (not defined {earlier})"
    goal = getattr(d, "goal", None)
    if goal is not None and topic != Client.GoalSet.TOPIC and goal not in s.goals:
        return "data.goal", f"unknown goal '{goal}'{who} (not set {earlier})"
    mid = getattr(d, "measurement_id", None)
    if mid is not None and topic != Client.MeasurementRecorded.TOPIC and mid not in s.measurements:
        return "data.measurement_id", f"unknown measurement '{mid}'{who} (not recorded {earlier})"
    # Between sessions: actions by id, sessions and feedback by number.
    action = getattr(d, "action", None)
    if action is not None and topic != Client.ActionOpened.TOPIC and action not in s.actions:
        return "data.action", f"unknown action '{action}'{who} (not opened {earlier})"
    session = getattr(d, "session", None)
    if session is not None and session not in s.sessions:
        return "data.session", f"unknown session '{session}'{who} (not logged {earlier})"
    if topic == Client.SessionAmended.TOPIC:
        for k in d.kpis or ():
            if k not in s.kpis:
                return "data.kpis", f"unknown KPI '{k}'{who} (not defined {earlier})"
    if topic == Client.FeedbackRetracted.TOPIC and d.feedback not in s.feedback:
        return "data.feedback", f"unknown feedback '{d.feedback}'{who} (not received {earlier})"
    if topic == Client.MilestoneRetracted.TOPIC and d.target not in (s.kpis if d.kind == "kpi" else s.goals):
        return "data.target", f"unknown {d.kind} '{d.target}'{who} (not recorded {earlier})"
    if topic == Client.SessionLogged.TOPIC:
        for k in d.kpis:
            if k not in s.kpis:
                return "data.kpis", f"unknown KPI '{k}'{who} (not defined {earlier})"
    if topic == Client.FeedbackReceived.TOPIC and d.about.startswith("kpi:") and d.about[4:] not in s.kpis:
        return "data.about", f"unknown KPI '{d.about[4:]}'{who} (not defined {earlier})"
    if topic == Client.MilestoneCelebrated.TOPIC and d.target not in (s.kpis if d.kind == "kpi" else s.goals):
        return "data.target", f"unknown {d.kind} '{d.target}'{who} (not recorded {earlier})"
    # Check-ins: links and forms by id; what a use recorded; a value's or a rating's check-in.
    if topic in issued:
        for k in d.kpis:
            if k not in s.kpis:
                return "data.kpis", f"unknown KPI '{k}'{who} (not defined {earlier})"
    used = (Client.CheckinLinkUsed.TOPIC, Client.CheckinFormUsed.TOPIC)
    if (topic in used or topic == Client.CheckinLinkRevoked.TOPIC) and d.checkin not in s.checkins:
        return "data.checkin", f"unknown check-in '{d.checkin}'{who} (not issued {earlier})"
    if topic in used:
        for name in ("measurements", "amended"):
            for m in getattr(d, name):
                if m not in s.measurements:
                    return f"data.{name}", f"unknown measurement '{m}'{who} (not recorded {earlier})"
        if d.feedback is not None and d.feedback not in s.feedback:
            return "data.feedback", f"unknown feedback '{d.feedback}'{who} (not received {earlier})"
    via = getattr(d, "via", None)
    if via is not None and via.split(":", 1)[1] not in s.checkins:
        return "data.via", f"unknown check-in '{via.split(':', 1)[1]}'{who} (not issued {earlier})"
    transfer_references._remember(s, topic, d)
    return None


VALUES: dict[str, Any] = {
    "slug": st.sampled_from(["ana", "ben"]),
    "goal": st.sampled_from(["g1", "g2"]),
    "kpi": st.sampled_from(["k1", "k2"]),
    "measurement_id": st.sampled_from(["m1", "m2"]),
    "kpis": st.lists(st.sampled_from(["k1", "k2"]), max_size=2),
    "about": st.sampled_from(["session", "process", "kpi:k1", "kpi:k2"]),
    "target": st.sampled_from(["k1", "g1", "k2"]),
    "kind": st.sampled_from(["kpi", "goal"]),
    "action": st.sampled_from(["a1", "a2"]),
    "session": st.sampled_from(["s1", "s2"]),
    "feedback": st.sampled_from(["f1", "f2"]),
    "checkin": st.sampled_from(["c1", "c2"]),
    "measurements": st.lists(st.sampled_from(["m1", "m2"]), max_size=2),
    "amended": st.lists(st.sampled_from(["m1", "m2"]), max_size=2),
    "via": st.sampled_from([None, "link:c1", "form:c2"]),
}


@st.composite
def event_data(draw: st.DrawFn) -> tuple[str, Any]:
    topic = draw(st.sampled_from(sorted(LINE_TYPES)))
    fields: dict[str, Any] = {}
    for name in LINE_TYPES[topic].data_fields:
        value = draw(VALUES[name]) if name in VALUES else None
        optional = name == "goal" and topic in (
            "coachledger:KpiDefined",
            "coachledger:KpiAdjusted",
        )
        fields[name] = None if optional and draw(st.booleans()) else value
    return topic, SimpleNamespace(**fields)


@given(st.lists(event_data(), max_size=30))
def test_each_topics_reference_check_follows_the_rules(events: list[tuple[str, Any]]) -> None:
    mine, reference = _Stream(), _Stream()
    for topic, data in events:
        expected = reference_check(topic, data, reference)
        assert LINE_TYPES[topic].refs(data, mine) == expected
        assert (mine.slug, mine.goals, mine.kpis, mine.measurements) == (
            reference.slug,
            reference.goals,
            reference.kpis,
            reference.measurements,
        )
    assert copy.deepcopy(mine) == reference


def test_every_topic_says_what_it_refers_to() -> None:
    assert set(transfer_references._REFS) == set(LINE_TYPES)
    assert LINE_TYPES[REGISTERED].registered
    assert sum(lt.registered for lt in LINE_TYPES.values()) == 1
