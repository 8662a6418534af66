"""The SQLite store against the library's own recorder contract (eventsourcing.tests.persistence).

Every recorder comes from ``LedgerSQLiteFactory`` on a ledger file, as the application gets
it; after the library's checks, the seal chain of whatever they wrote must still hold.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    IntegrityError,
    OperationalError,
    ProcessRecorder,
    StoredEvent,
    Tracking,
    TrackingRecorder,
)
from eventsourcing.sqlite import SQLiteTrackingRecorder

pytest.importorskip("Crypto", reason="the library's test cases need pycryptodome (pip install -e '.[test]')")
from eventsourcing.tests.persistence import (
    AggregateRecorderTestCase,
    ApplicationRecorderTestCase,
    InfrastructureFactoryTestCase,
    ProcessRecorderTestCase,
    TrackingRecorderTestCase,
)
from eventsourcing.utils import Environment, get_topic

from coachledger.adapters.sealing import GENESIS, seal
from coachledger.adapters.snapshots import check_snapshots
from coachledger.adapters.sqlite import (
    LedgerSQLiteFactory,
    LedgerSQLiteProcessRecorder,
    LedgerSQLiteRecorder,
    LedgerSQLiteSnapshotRecorder,
)

FACTORY_TOPIC = get_topic(LedgerSQLiteFactory)


class LedgerFile:
    """A fresh ledger file per test, and the factories opened on it (closed at the end)."""

    def setUp(self) -> None:
        self._dir = tempfile.TemporaryDirectory()
        self.path = Path(self._dir.name) / "ledger.sqlite"
        self.factories: list[LedgerSQLiteFactory] = []
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]
        for factory in self.factories:
            factory.close()
        self._dir.cleanup()

    def new_factory(self, **settings: str) -> LedgerSQLiteFactory:
        env = {"SQLITE_DBNAME": str(self.path), "CREATE_TABLE": "y", **settings}
        factory = LedgerSQLiteFactory(Environment("coachledger", env))
        self.factories.append(factory)
        return factory

    def existing_ledger(self) -> None:
        """A ledger with its tables and one sealed event, as the application leaves it."""
        recorder = self.new_factory().application_recorder()
        recorder.insert_events([StoredEvent(uuid4(), 1, "topic0", b"state0")])

    def assert_sealed(self) -> None:
        """Every event in stored_events has its index row, and the chain of seals holds."""
        with sqlite3.connect(self.path) as conn:
            rows = conn.execute(
                "SELECT e.rowid, e.originator_id, e.originator_version, e.topic, e.state, "
                "i.seq, i.recorded_at, i.seal FROM stored_events e LEFT JOIN event_index i "
                "ON i.seq = e.rowid ORDER BY e.rowid"
            ).fetchall()
            indexed = conn.execute("SELECT count(*) FROM event_index").fetchone()[0]
        assert indexed == len(rows), "event_index rows without their events"
        previous = GENESIS
        for seq, stream, version, topic, state, index_seq, recorded_at, sealed in rows:
            assert index_seq == seq, f"event {seq} was written without its seal"
            previous = seal(previous, stream, version, topic, recorded_at, state)
            assert previous == sealed, f"the seal of event {seq} does not hold"


SNAPSHOTS_DIFFER = (
    "by design: a snapshot is sealed to the event it was taken at (these bare snapshots have "
    "none) and only the latest snapshot of a stream is kept (issue 18); see the tests below"
)


class TestLedgerSnapshotRecorder(LedgerFile, AggregateRecorderTestCase):
    def create_recorder(self) -> AggregateRecorder:
        recorder = self.new_factory().aggregate_recorder("snapshots")
        assert type(recorder) is LedgerSQLiteSnapshotRecorder
        return recorder

    @pytest.mark.skip(reason=SNAPSHOTS_DIFFER)
    def test_insert_and_select(self) -> None:
        """"""

    @pytest.mark.skip(reason=SNAPSHOTS_DIFFER)
    def test_performance(self) -> None:
        """"""

    def test_snapshots_are_sealed_and_one_per_stream(self) -> None:
        stream = uuid4()
        self.new_factory().application_recorder().insert_events(
            [StoredEvent(stream, v, "t", b"e") for v in (1, 2, 3)]
        )
        recorder = self.create_recorder()
        with pytest.raises(IntegrityError, match="no event 4"):
            recorder.insert_events([StoredEvent(stream, 4, "snap", b"s4")])
        recorder.insert_events([StoredEvent(stream, 2, "snap", b"s2")])
        recorder.insert_events([StoredEvent(stream, 3, "snap", b"s3")])
        assert recorder.select_events(stream, desc=True, limit=1) == [StoredEvent(stream, 3, "snap", b"s3")]
        with sqlite3.connect(self.path) as conn:
            assert conn.execute("SELECT originator_version FROM stored_snapshots").fetchall() == [(3,)]
            conn.execute("UPDATE stored_snapshots SET state = CAST(state || x'00' AS BLOB)")
            assert [b.version for b in check_snapshots(conn)] == [3]
        assert recorder.select_events(stream, desc=True, limit=1) == []
        assert recorder.rejected == {stream.hex}


class TestLedgerApplicationRecorder(LedgerFile, ApplicationRecorderTestCase[ApplicationRecorder]):
    def create_recorder(self) -> ApplicationRecorder:
        recorder = self.new_factory().application_recorder()
        assert type(recorder) is LedgerSQLiteRecorder
        return recorder

    def tearDown(self) -> None:
        self.assert_sealed()
        super().tearDown()

    def test_ids_come_back_as_they_went_in(self) -> None:
        recorder = self.create_recorder()
        stream = uuid4()
        recorder.insert_events([StoredEvent(stream, 1, "t", b"s")])
        (event,) = recorder.select_events(stream)
        (note,) = recorder.select_notifications(None, 10)
        assert type(event.originator_id) is UUID and event.originator_id == stream
        assert type(note.originator_id) is UUID and note.originator_id == stream

    def test_concurrent_no_conflicts(self, initial_position: int = 0) -> None:
        # 10,000 sealed events in 100 writes from 10 threads: the whole contract, on a ledger file.
        super().test_concurrent_no_conflicts(initial_position)


class TestLedgerTrackingRecorder(LedgerFile, TrackingRecorderTestCase):
    """On an existing ledger (tables present), as a projection process would open it."""

    def create_recorder(self) -> TrackingRecorder:
        self.existing_ledger()
        return self.new_factory().tracking_recorder()

    def test_single_row_tracking_setting(self) -> None:
        self.existing_ledger()
        self.new_factory().tracking_recorder()  # a single-row tracking table
        with pytest.raises(OperationalError, match="multi-row tracking"):
            self.new_factory(SINGLE_ROW_TRACKING="n").tracking_recorder()

    def test_multi_row_tracking(self) -> None:
        self.existing_ledger()
        recorder = self.new_factory(SINGLE_ROW_TRACKING="n").tracking_recorder()
        assert not recorder.datastore.single_row_tracking
        recorder.insert_tracking(Tracking("upstream", 1))
        recorder.insert_tracking(Tracking("upstream", 3))
        assert recorder.max_tracking_id("upstream") == 3


class TestLedgerProcessRecorder(LedgerFile, ProcessRecorderTestCase):
    """Events written with tracking are sealed and indexed like every other event."""

    def create_recorder(self) -> ProcessRecorder:
        self.existing_ledger()
        recorder = self.new_factory().process_recorder()
        assert type(recorder) is LedgerSQLiteProcessRecorder
        return recorder

    def tearDown(self) -> None:
        self.assert_sealed()
        super().tearDown()

    def test_tracking_rolls_back_with_the_events(self) -> None:
        recorder = self.create_recorder()
        stream = uuid4()
        recorder.insert_events([StoredEvent(stream, 1, "t", b"s")], tracking=Tracking("up", 5))
        with pytest.raises(Exception, match="tracking"):
            recorder.insert_events([StoredEvent(stream, 2, "t", b"s")], tracking=Tracking("up", 5))
        assert len(recorder.select_events(stream)) == 1
        assert recorder.max_tracking_id("up") == 5


class TestLedgerSQLiteFactory(LedgerFile, InfrastructureFactoryTestCase[LedgerSQLiteFactory]):
    class TrackingRecorderSubclass(SQLiteTrackingRecorder):
        pass

    def expected_factory_class(self) -> type[LedgerSQLiteFactory]:
        return LedgerSQLiteFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return LedgerSQLiteSnapshotRecorder

    def test_create_aggregate_recorder(self) -> None:
        """The library's test asks for aggregate_recorder('events'): it would write unsealed events
        into the ledger, so it is refused; the snapshot recorder is the ledger's only one."""
        assert type(self.factory.aggregate_recorder("snapshots")) is LedgerSQLiteSnapshotRecorder
        self.env["CREATE_TABLE"] = "f"
        assert type(self.factory.aggregate_recorder("snapshots")) is LedgerSQLiteSnapshotRecorder
        with pytest.raises(OSError, match=r"aggregate_recorder\('events'\) is not supported"):
            self.factory.aggregate_recorder()

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return LedgerSQLiteRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return SQLiteTrackingRecorder

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return self.TrackingRecorderSubclass

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return LedgerSQLiteProcessRecorder

    def setUp(self) -> None:
        self._dir = tempfile.TemporaryDirectory()
        self.path = Path(self._dir.name) / "ledger.sqlite"
        self.factories = []
        self.env = Environment("coachledger")
        self.env[InfrastructureFactory.PERSISTENCE_MODULE] = FACTORY_TOPIC
        self.env["SQLITE_DBNAME"] = str(self.path)
        super(LedgerFile, self).setUp()

    def construct(self) -> Any:
        factory = InfrastructureFactory.construct(self.env)
        self.factories.append(factory)  # type: ignore[arg-type]
        return factory

    def test_lock_timeout_setting(self) -> None:
        assert self.construct().datastore.pool.lock_timeout is None
        self.env["SQLITE_LOCK_TIMEOUT"] = "7"
        factory = self.construct()
        assert factory.datastore.pool.lock_timeout == 7
        recorder = factory.application_recorder()
        with recorder.datastore.get_connection(commit=False) as connection:
            assert connection._sqlite_conn.execute("PRAGMA busy_timeout").fetchone()[0] == 7000
        self.env["SQLITE_LOCK_TIMEOUT"] = "abc"
        with pytest.raises(OSError, match="SQLITE_LOCK_TIMEOUT"):
            self.construct()

    def test_single_row_tracking_setting(self) -> None:
        assert self.construct().datastore.single_row_tracking is True
        self.env["SINGLE_ROW_TRACKING"] = "f"
        assert self.construct().datastore.single_row_tracking is False

    def test_originator_id_type_setting(self) -> None:
        """UUIDs only: the seal covers a stream id's 32 hex digits, so text ids are refused."""
        assert self.construct().datastore.originator_id_type == "uuid"
        self.env["ORIGINATOR_ID_TYPE"] = "uuid"
        assert self.construct().datastore.originator_id_type == "uuid"
        self.env["ORIGINATOR_ID_TYPE"] = "text"
        with pytest.raises(OSError, match="ORIGINATOR_ID_TYPE 'text' is not supported by the ledger"):
            self.construct()
        self.env["ORIGINATOR_ID_TYPE"] = "int"
        with pytest.raises(OSError, match="Invalid ORIGINATOR_ID_TYPE"):
            self.construct()


del AggregateRecorderTestCase, ApplicationRecorderTestCase, TrackingRecorderTestCase
del ProcessRecorderTestCase, InfrastructureFactoryTestCase
