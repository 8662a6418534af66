"""The JSON documents of the reads, as ``--json`` prints them and ``coachledger serve`` answers.

One builder per document, shared by the command line and the web pages, so that a page's
JSON and its command's are the same document. Light to import: every read command loads it.
"""

from __future__ import annotations

from typing import Any

from coachledger.vocab import Status

TIMELINE_KEYS = ("seq", "recorded_at", "effective_at", "actor", "type", "summary", "data")


def shown_status(item: Any) -> str:
    """One status everywhere: a retired KPI is ``retired`` in tables, CSV and JSON alike."""
    return Status.RETIRED if item["retired"] else item["status"]  # type: ignore[no-any-return]


def with_shown_status(items: list[Any]) -> list[Any]:
    """The items (dicts or read models) with the status a person is shown."""
    # lazy: keeps 'coachledger --help' fast
    import msgspec

    return [
        item
        if not item["retired"]
        else {**item, "status": Status.RETIRED}
        if isinstance(item, dict)
        else msgspec.structs.replace(item, status=Status.RETIRED)
        for item in items
    ]


def progress_document(doc: Any) -> Any:
    """``progress --json``: the read side's ProgressDoc with the statuses a person is shown."""
    # lazy: keeps 'coachledger --help' fast
    import msgspec

    return msgspec.structs.replace(doc, kpis=with_shown_status(doc.kpis))


def replay_document(doc: Any) -> Any:
    """``replay --json``: each step's progress with the statuses a person is shown."""
    # lazy: keeps 'coachledger --help' fast
    import msgspec

    steps = [msgspec.structs.replace(s, progress=with_shown_status(s.progress)) for s in doc.steps]
    return msgspec.structs.replace(doc, steps=steps)


def timeline_document(client: str, events: list[Any]) -> dict[str, Any]:
    """``timeline --json``: the client and each event's keys a reader needs, in recording order."""
    return {"client": client, "events": [{k: e[k] for k in TIMELINE_KEYS} for e in events]}


def client_list_document(rows: list[Any]) -> dict[str, Any]:
    """``client list --json``."""
    return {"clients": rows}
