"""Which views take which events: row builders registered per event class, any number each.

A view module registers each of its row builders with ``on``, naming the event class as the
``Client`` aggregate does (``@on("GoalSet", sql)`` is ``Client.GoalSet``); several views may
take one event. The names are resolved to the classes, and so to their topics, only when a
catch-up first needs them: reading views that are current never imports the domain (with
eventsourcing, about 80 ms, which every read command would pay).

Every row comes from one event alone (no view looks at other rows while it is written), so a
catch-up needs no state between events and a rebuild only appends. An event that no view
takes as a row says here who treats it instead (``elsewhere``): a forgotten client, say, is
removed from every view by the catch-up itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

Builder = Callable[[int, str, int, Any], tuple[Any, ...]]  # (seq, stream, client key, event) -> row


class Handler(NamedTuple):
    """One view's row for one event class: the statement, and the builder of its row."""

    view: str
    sql: str
    build: Builder


_DECLARED: list[tuple[str, Handler]] = []  # (event class name, handler), in registration order
_ELSEWHERE: dict[str, str] = {}  # event class name -> who treats it instead of a view row
_RESOLVED: dict[type, tuple[Handler, ...]] = {}


def on(event: str, sql: str) -> Callable[[Builder], Builder]:
    """Register the decorated builder: each ``Client.<event>`` event becomes a row for ``sql``.

    The builder takes the event decoded by ``codec.text_decoder`` (times and decimals as the
    stored text); its view is the module defining it.
    """

    def register(build: Builder) -> Builder:
        _DECLARED.append((event, Handler(build.__module__.rsplit(".", 1)[-1], sql, build)))
        _RESOLVED.clear()
        return build

    return register


def elsewhere(event: str, by: str) -> None:
    """Say that ``Client.<event>`` makes no view row, and who treats it (``by``)."""
    _ELSEWHERE[event] = by


def event_class(name: str) -> type:
    """``Client.<name>``: one of the aggregate's event classes (``Coach.<name>`` for a coach's)."""
    # lazy: reads that need no catch-up never load the domain
    from coachledger.domain import EVENT_CLASSES, Client, Coach

    owner, _, attr = name.rpartition(".")
    aggregate: Any = {"": Client, "Coach": Coach}.get(owner)
    cls = getattr(aggregate, attr, None) if aggregate is not None else None
    if cls not in EVENT_CLASSES:
        raise LookupError(f"a view takes {owner or 'Client'}.{attr}, which is no event class of that aggregate")
    return cls  # type: ignore[no-any-return]


def handlers() -> dict[type, tuple[Handler, ...]]:
    """Every event class some view takes, with its handlers in registration order."""
    if not _RESOLVED:
        found: dict[type, list[Handler]] = {}
        for name, handler in _DECLARED:
            found.setdefault(event_class(name), []).append(handler)
        _RESOLVED.update({cls: tuple(hs) for cls, hs in found.items()})
    return _RESOLVED


def treated_elsewhere() -> dict[type, str]:
    """Every event class no view takes as a row, with who treats it instead."""
    return {event_class(name): by for name, by in _ELSEWHERE.items()}
