"""The read side's connection to a PostgreSQL ledger: the SQLite views' SQL, unchanged.

The read side writes plain SQL for SQLite (``?`` or ``:name`` placeholders, INTEGER /
TEXT / REAL / BLOB columns) and runs it on a connection in autocommit mode with
explicit write transactions. This adapter gives PostgreSQL the same behaviour:

- placeholders become psycopg's (``%s`` / ``%(name)s``; a literal ``%`` is escaped);
- ``CREATE TABLE`` maps SQLite's types onto PostgreSQL's (INTEGER -> BIGINT, REAL ->
  DOUBLE PRECISION, BLOB -> BYTEA) and gives TEXT columns the "C" collation, so that
  ``ORDER BY`` on text sorts by code point exactly as SQLite does;
- rows come back as tuples of the values SQLite would give (bytes, int, float, str):
  numeric results such as ``sum()`` become int or float, booleans 0 or 1;
- statements outside ``write_lock()`` commit on their own (no open transaction, no
  lock held between reads); ``write_lock()`` is one transaction that also holds a
  transaction-level advisory lock, so catch-up runs in one process at a time.

Write portable SQL: ``INSERT ... ON CONFLICT``, ``coalesce``, no ``INSERT OR REPLACE``,
``IFNULL``, ``group_concat`` or ``rowid`` (use ``events_after`` and ``event_key``).
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import pq

from coachledger.adapters.postgres import VIEWS_LOCK_KEY, connect, ensure_schema, parse_url
from coachledger.settings import StoreLocation

EVENTS_AFTER_SQL = (
    "SELECT notification_id, originator_id, originator_version, topic, state FROM stored_events "
    "WHERE notification_id > ? ORDER BY notification_id LIMIT ?"
)

# "INSERT INTO table VALUES (?,?,...)": every column in table order, as COPY takes them.
_INSERT_ROWS = re.compile(r"INSERT INTO (\w+) VALUES \(\?(?:,\?)*\)\Z")
COPY_MIN = 100  # rows from which executemany copies them in instead

_TOKENS = re.compile(
    r"""
    (?P<quoted>'(?:[^']|'')*'|"(?:[^"]|"")*")   # string literals and quoted identifiers
  | (?P<comment>--[^\n]*)
  | (?P<cast>::)
  | (?P<named>:[A-Za-z_][A-Za-z0-9_]*)
  | (?P<qmark>\?)
  | (?P<percent>%)
    """,
    re.VERBOSE,
)
_CREATE_TABLE = re.compile(r"^\s*CREATE\s+(TEMP\w*\s+)?TABLE\b", re.IGNORECASE)
# A column definition: after "(" or ",", a name, then one of SQLite's type names.
_COLUMN = re.compile(
    r"""([(,]\s*)("(?:[^"]|"")*"|\w+)(\s+)(INTEGER|REAL|BLOB|TEXT)\b(?!\s+COLLATE)""", re.IGNORECASE
)
_PG_TYPES = {"INTEGER": "BIGINT", "REAL": "DOUBLE PRECISION", "BLOB": "BYTEA", "TEXT": 'TEXT COLLATE "C"'}


@functools.lru_cache(maxsize=512)
def translate(sql: str, placeholders: bool = True) -> str:
    """SQLite's SQL as psycopg expects it (placeholders, and column types in CREATE TABLE).

    Without parameters psycopg sends the text as it is, so ``%`` stays unescaped.
    """

    def token(m: re.Match[str]) -> str:
        kind = m.lastgroup
        if kind == "qmark":
            return "%s"
        if kind == "named":
            return f"%({m.group()[1:]})s"
        if kind == "percent":
            return "%%"
        if kind in ("quoted", "comment"):
            return m.group().replace("%", "%%")
        return m.group()

    out = _TOKENS.sub(token, sql) if placeholders else sql
    if _CREATE_TABLE.match(out):
        out = _COLUMN.sub(lambda m: m.group(1) + m.group(2) + m.group(3) + _PG_TYPES[m.group(4).upper()], out)
    return out


def _value(v: Any) -> Any:
    if isinstance(v, memoryview):
        return v.tobytes()
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, Decimal):
        if v == v.to_integral_value() and v.as_tuple().exponent >= 0:  # type: ignore[operator]
            return int(v)
        return float(v)
    return v


def _row(row: Sequence[Any] | None) -> tuple[Any, ...] | None:
    return None if row is None else tuple(_value(v) for v in row)


# The only types whose values _value changes: bool, bytea, numeric. Rows of other columns
# are returned as psycopg gives them (a long history's rows are thousands of tuples).
_CONVERTED_TYPES = frozenset({16, 17, 1700})


def _needs_conversion(description: Any) -> bool:
    return any(column.type_code in _CONVERTED_TYPES for column in description)


class PgCursor:
    """The result of one statement, read like sqlite3's cursor."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._cursor.description is None:
            return None
        return _row(self._cursor.fetchone())

    def fetchall(self) -> list[tuple[Any, ...]]:
        description = self._cursor.description
        if description is None:
            return []
        if not _needs_conversion(description):
            return self._cursor.fetchall()
        return [_row(r) for r in self._cursor.fetchall()]  # type: ignore[misc]

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchall())

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def description(self) -> Any:
        return self._cursor.description


class PgViews:
    """The views of a ledger on PostgreSQL (the counterpart of the SQLite views connection)."""

    kind = "postgres"
    event_key = "notification_id"

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self._last: PgCursor | None = None
        self._depth = 0

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> PgCursor:
        cursor = self.conn.cursor()
        if params:
            cursor.execute(translate(sql), params)
        else:
            cursor.execute(translate(sql, placeholders=False))
        self._last = PgCursor(cursor)
        return self._last

    def events_after(self, start: int, limit: int) -> list[tuple[Any, ...]]:
        """Up to ``limit`` events after ``start``: (seq, stream, version, topic, state)."""
        return self.execute(EVENTS_AFTER_SQL, (start, limit)).fetchall()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]] | Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        whole_rows = _INSERT_ROWS.match(sql)
        if whole_rows is not None and len(rows) >= COPY_MIN and not isinstance(rows[0], Mapping):
            # Many whole rows: PostgreSQL's bulk path, several times faster than INSERTs.
            with self.conn.cursor() as cursor, cursor.copy(f"COPY {whole_rows[1]} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)  # type: ignore[arg-type] # whole rows, not mappings (checked above)
            return
        with self.conn.cursor() as cursor:
            cursor.executemany(translate(sql), rows)

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._last.fetchone() if self._last else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._last.fetchall() if self._last else []

    @property
    def in_transaction(self) -> bool:
        return self.conn.info.transaction_status != pq.TransactionStatus.IDLE

    def commit(self) -> None:
        if self.in_transaction:
            self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.conn.execute("ROLLBACK")

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        """One transaction holding the views' lock: catch-up never runs twice at once.

        Nested uses join the outer transaction.
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.rollback()  # nothing is pending outside write_lock; never inherit an aborted transaction
        self.conn.execute("BEGIN")
        self._depth = 1
        try:
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (VIEWS_LOCK_KEY,))
            yield
        except BaseException:
            self._depth = 0
            with contextlib.suppress(psycopg.Error):
                self.rollback()
            raise
        self._depth = 0
        if self.conn.info.transaction_status == pq.TransactionStatus.INERROR:
            self.rollback()
            raise psycopg.errors.InFailedSqlTransaction("a statement failed inside write_lock()")
        self.commit()

    def has_table(self, name: str) -> bool:
        row = self.execute("SELECT to_regclass(?) IS NOT NULL", (name,)).fetchone()
        return bool(row and row[0])

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> PgViews:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect_views(store: StoreLocation) -> PgViews:
    """Open the views of the PostgreSQL ledger at ``store``; one clear error line when unreachable."""
    conn = connect(parse_url(store.url), autocommit=True)
    ensure_schema(conn)  # a read before the first write sees an empty ledger
    return PgViews(conn)
