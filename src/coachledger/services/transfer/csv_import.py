"""Measurements from a CSV file, recorded on one client together or not at all."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from coachledger.domain import (
    SOURCES,
    Client,
    DomainError,
    RetiredKpi,
    UnknownId,
)
from coachledger.domain.rules import iso
from coachledger.errors import FromTheFuture
from coachledger.moments import parse_moment
from coachledger.services.transfer.schema import ImportRefused

if TYPE_CHECKING:
    from coachledger.application import Ledger


CSV_COLUMNS = ("kpi", "value", "date", "source", "note", "confidence")
CSV_REQUIRED = ("kpi", "value", "date")


@dataclass(frozen=True)
class CsvRow:
    line: int
    kpi: str
    value: Decimal
    at: datetime
    source: str
    note: str | None
    confidence: int | None = None


def read_measurements_csv(
    text: str, default_source: str
) -> tuple[list[CsvRow], list[tuple[int, str | None, str]]]:
    """The readable rows of a measurements CSV, and a problem for each bad cell (line, column).

    A bad header is refused at once (ImportRefused): without it no row can be read.
    """

    delimiter = sniff_delimiter(text)
    seen = DELIMITER_NAMES[delimiter]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportRefused([(1, None, "the file is empty; expected a header line kpi,value,date")]) from None
    except csv.Error as e:
        raise ImportRefused([(1, None, f"not a CSV file ({e})")]) from None
    columns = [h.strip().lower() for h in header]
    problems: list[tuple[int, str | None, str]] = []
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    missing = [c for c in CSV_REQUIRED if c not in columns]
    if unknown:
        problems.append(
            (
                1,
                unknown[0],
                f"unknown column (the columns are {', '.join(CSV_COLUMNS)}; source, note, confidence optional"
                + (f"; the cells were split at {seen})" if _misread(columns, unknown[0]) else ")"),
            )
        )
    if missing:
        problems.append((1, missing[0], "required column is missing (kpi, value and date are required)"))
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        problems.append((1, duplicated[0], "the column appears twice"))
    if problems:
        raise ImportRefused(problems)
    split_at = "" if delimiter == "," else f" (split at {seen})"  # where the delimiter may be the cause
    rows: list[CsvRow] = []
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise ImportRefused([*problems, (start, None, f"not valid CSV ({e})")]) from None
        line, start = start, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(columns):
            problems.append(
                (
                    line,
                    None,
                    f"{len(cells)} cells, but the header has {len(columns)} columns{split_at}",
                )
            )
            continue
        row = dict(zip(columns, (c.strip() for c in cells), strict=True))
        bad: list[tuple[str, str]] = []
        if not row["kpi"]:
            bad.append(("kpi", "empty"))
        value = Decimal(0)
        try:
            value = Decimal(decimal_text(row["value"], delimiter))
            if not value.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            why = f"; the delimiter is {seen}" if "," in row["value"] or delimiter != "," else ""
            if "," in row["value"] and delimiter != ";":
                why = f" (a decimal comma is read only in a ';'-separated file){why}"
            bad.append(("value", f"'{row['value']}' is not a number{why}"))
        at = datetime.min
        try:
            at = parse_moment(row["date"])
        except ValueError:
            bad.append(("date", f"'{row['date']}' is not an ISO date (YYYY-MM-DD) or datetime"))
        source = row.get("source") or default_source
        if source not in SOURCES:
            bad.append(("source", f"'{source}' is not one of {', '.join(SOURCES)}"))
        confidence = None
        if row.get("confidence"):
            if row["confidence"].isdigit() and 0 <= int(row["confidence"]) <= 10:
                confidence = int(row["confidence"])
            else:
                bad.append(("confidence", f"'{row['confidence']}' is not a whole number from 0 to 10"))
        if bad:
            problems.extend((line, f, what) for f, what in bad)
            continue
        rows.append(CsvRow(line, row["kpi"], value, at, source, row.get("note") or None, confidence))
    if not rows and not problems:
        raise ImportRefused([(2, None, "no measurements: the file has a header but no rows")])
    return rows, problems


DELIMITER_NAMES = {",": "',' (comma)", ";": "';' (semicolon)", "\t": "tab"}


def sniff_delimiter(text: str) -> str:
    """The delimiter of a survey export: ',' or, as European tools write, ';' (or a tab).

    csv.Sniffer reads the first lines; a file it cannot decide on is read with ','.
    """
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(DELIMITER_NAMES)).delimiter
    except csv.Error:
        return ","


def _misread(columns: list[str], unknown: str) -> bool:
    """A header that looks split at the wrong character (one column, or a name holding a delimiter)."""
    return len(columns) == 1 or any(c in unknown for c in ",;\t|")


def decimal_text(value: str, delimiter: str) -> str:
    """A ';'-separated file writes decimals with a comma (6,5): read it as 6.5."""
    if delimiter == ";" and value.count(",") == 1 and "." not in value:
        return value.replace(",", ".")
    return value


def record_csv_rows(
    client: Client,
    actor: str,
    rows: Sequence[CsvRow],
    problems: Sequence[tuple[int, str | None, str]] = (),
    confirmed: bool = False,
) -> list[str]:
    """Record every row on the client, or raise ImportRefused naming each refused row.

    ``problems`` (rows that could not be read) are reported together with the rows the
    ledger refuses, so one run names every bad line.
    """
    problems = list(problems)
    ids: list[str] = []
    for row in rows:
        try:
            ids.append(
                client.record_measurement(
                    actor, row.kpi, row.value, row.at, row.source, row.note, row.confidence, confirmed=confirmed
                )
            )
        except (UnknownId, RetiredKpi) as e:
            problems.append((row.line, "kpi", str(e)))
        except FromTheFuture as e:
            problems.append((row.line, "date", str(e)))
        except DomainError as e:
            problems.append((row.line, "value", str(e)))
    if problems:
        raise ImportRefused(problems)
    return ids


@dataclass(frozen=True)
class CsvImport:
    """What a CSV import recorded (or, with ``dry_run``, would record)."""

    ids: list[str]  # the new measurement ids, in file order
    rows: list[CsvRow]  # the rows recorded, in file order
    skipped: int  # rows already recorded: same KPI, date, value and source


def import_measurements(
    ledger: Ledger,
    slug: str,
    source: Path | BinaryIO,
    default_source: str = "survey",
    dry_run: bool = False,
    confirmed: bool = False,
) -> CsvImport:
    """All new rows of a CSV file (or an open binary stream, e.g. stdin) as measurements of one
    client, saved together or not at all.

    A row already recorded (the same KPI, effective time, value and source as a measurement
    of the client, retracted or not) is skipped, so importing a file again records nothing twice.
    ``dry_run``: every row is checked the same way, and nothing is saved.
    """
    try:
        data = source.read_bytes() if isinstance(source, Path) else source.read()
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError(f"{_name(source)} is not UTF-8 text") from None
    except OSError as e:
        raise DomainError(f"cannot read {_name(source)}: {e.strerror}") from None
    rows, problems = read_measurements_csv(text, default_source)
    seen = recorded_measurements(ledger, slug)
    new = [r for r in rows if (r.kpi, iso(r.at), r.value, r.source) not in seen]
    if dry_run:
        ids = record_csv_rows(ledger.client(slug), ledger.actor, new, problems, confirmed)
    else:
        record = lambda c: record_csv_rows(c, ledger.actor, new, problems, confirmed)  # noqa: E731
        ids = ledger.change(slug, record) if new else []
        if not new and problems:
            raise ImportRefused(problems)
    return CsvImport(ids, new, len(rows) - len(new))


def recorded_measurements(ledger: Ledger, slug: str) -> set[tuple[str, str, Decimal, str]]:
    """(KPI, effective time, value, source) of every measurement recorded for the client."""
    return {
        (e.kpi, iso(e.effective_at), e.value, e.source)
        for e in ledger.repository.event_store.get(ledger.ids.client_id(slug))
        if isinstance(e, Client.MeasurementRecorded)
    }


def _name(source: Path | BinaryIO) -> str:
    return str(source) if isinstance(source, Path) else "stdin"
