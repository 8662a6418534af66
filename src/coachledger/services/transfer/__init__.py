"""Data in and out: whole ledgers as JSON Lines, and measurements from CSV files.

An export is every event in recording order, one JSON object a line after a header
line, in the versioned schema of ``docs/export-format.md``. The schema is a set of msgspec
Structs derived from the domain's event classes (one line type per event topic, tagged by
``topic``), so a line is parsed and type-checked in one pass, and a new event field with a
default never breaks an older file.

An import restores history rather than re-recording it: every line is checked first
(schema, stream continuity, references, and against what the store already holds), then
all new events are appended in one transaction with their original recording times and
actors, re-encoded exactly as the write side encodes them. Events the store already
holds, identical, are skipped, so importing a file twice changes nothing.

The parts: ``schema`` (the format), ``references`` (what an event may point at),
``export``, ``lines`` (reading lines), ``importer`` and
``csv_import``. They read and write the store through ``adapters.eventstore``.
"""

from coachledger.adapters.eventstore import EventStore, open_event_store
from coachledger.services.transfer.csv_import import (
    CSV_COLUMNS,
    CSV_REQUIRED,
    CsvRow,
    import_measurements,
    read_measurements_csv,
    record_csv_rows,
)
from coachledger.services.transfer.export import ExportResult, export_lines, export_to
from coachledger.services.transfer.importer import (
    bulk_append,
    check_against_store,
    import_from,
    parse_lines,
)
from coachledger.services.transfer.lines import ImportResult, Parsed, gc_paused, no_progress, read_lines
from coachledger.services.transfer.references import REGISTERED
from coachledger.services.transfer.schema import (
    FORMAT,
    LINE_TYPES,
    MAX_ERRORS,
    VERSION,
    CipherFor,
    Header,
    ImportRefused,
    LineType,
    Progress,
)
from coachledger.settings import Settings


def open_store(settings: Settings, *, create: bool = False) -> EventStore:
    """The event store of ``settings`` (``create`` makes its tables first); see ``open_event_store``."""
    return open_event_store(settings.store, create=create)


__all__ = [
    "CSV_COLUMNS",
    "CSV_REQUIRED",
    "FORMAT",
    "LINE_TYPES",
    "MAX_ERRORS",
    "REGISTERED",
    "VERSION",
    "CipherFor",
    "CsvRow",
    "EventStore",
    "ExportResult",
    "Header",
    "ImportRefused",
    "ImportResult",
    "LineType",
    "Parsed",
    "Progress",
    "bulk_append",
    "check_against_store",
    "export_lines",
    "export_to",
    "gc_paused",
    "import_from",
    "import_measurements",
    "no_progress",
    "open_store",
    "parse_lines",
    "read_lines",
    "read_measurements_csv",
    "record_csv_rows",
]
