"""The words the events describe themselves in, beside their fields (see ``events``).

Every event class says, as class attributes next to its fields:

- ``REFS``: what it records and what it refers to in its own stream (``Defines``, ``Refers``).
  An import checks every line with ``references(cls)``: an event may only refer to ids its
  stream recorded earlier, in the file or in the store, and may not record an id twice.
- ``EXPORT``: the fields of its ``data`` object in an export line (docs/export-format.md),
  in the order of the event's own fields.
- ``summary(event)``: the one line the audit timeline prints for it, as a coach would say it.

Which read-side views take an event is the read side's to say (``projections.registry``);
``tests/unit/test_event_catalogue.py`` walks every event class and fails when any of these
is missing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

Problem = tuple[str, str]  # (the line's field, what is wrong)
Check = Callable[[Any, "Known"], Problem | None]
EARLIER = "by an earlier line or in the store"
NOT_DATA = ("originator_id", "originator_version", "timestamp", "actor", "originator_topic")


@dataclass(frozen=True)
class Kind:
    """A kind of id a stream records: how problems name it, and where ``Known`` keeps it."""

    noun: str  # as a problem names it
    done: str  # what recording one is called: "set", "defined", "recorded"
    pool: str  # the ``Known`` attribute holding the ids recorded so far


KINDS = {
    "goal": Kind("goal", "set", "goals"),
    "kpi": Kind("KPI", "defined", "kpis"),
    "measurement": Kind("measurement", "recorded", "measurements"),
    # Between sessions (issue 13): actions by their ids, sessions and feedback by their numbers.
    "action": Kind("action", "opened", "actions"),
    "session": Kind("session", "logged", "sessions"),
    "feedback": Kind("feedback", "received", "feedback"),
    # Check-ins (issue 16): links and forms, by their ids (c1, c2, ...).
    "checkin": Kind("check-in", "issued", "checkins"),
}


@dataclass(frozen=True)
class Defines:
    """The event records a new id of ``kind`` (or, for ``client``, names its stream's client).

    Recording an id its stream already holds is refused.
    """

    field: str
    kind: str  # "client", or a key of KINDS


@dataclass(frozen=True)
class Refers:
    """Field ``field`` names an id of ``kind`` that its stream recorded earlier."""

    field: str
    kind: str  # a key of KINDS, or "" when the field ``kind_field`` names the kind
    optional: bool = False  # None refers to nothing
    many: bool = False  # a list of ids
    prefix: str = ""  # only a value with this prefix refers (to the id after it)
    kind_field: str = ""  # the event field naming the kind ("kpi", or else a goal)


@dataclass(frozen=True)
class Numbered(Defines):
    """The event records the next id of ``kind`` by its order in the stream: ``prefix`` and its
    number (s1, s2, ... for sessions). No id is read from ``field``: it names the event's
    main field, the one a coach knows it by."""

    prefix: str = ""


Ref = Defines | Refers


@dataclass
class Known:
    """What one stream recorded so far: enough to check that a new event fits it."""

    slug: str | None = None
    goals: set[str] = field(default_factory=set)
    kpis: set[str] = field(default_factory=set)
    measurements: set[str] = field(default_factory=set)
    actions: set[str] = field(default_factory=set)
    sessions: set[str] = field(default_factory=set)
    feedback: set[str] = field(default_factory=set)
    checkins: set[str] = field(default_factory=set)


def who(known: Known) -> str:
    """Whose stream, as a problem says it."""
    return f" of client '{known.slug}'" if known.slug else " of this stream"


def _unknown(name: str, kind: str, value: str, known: Known) -> Problem:
    k = KINDS[kind]
    return name, f"unknown {k.noun} '{value}'{who(known)} (not {k.done} {EARLIER})"


def _duplicate(name: str, kind: str, value: str, known: Known) -> Problem:
    k = KINDS[kind]
    return name, f"{k.noun} '{value}'{who(known)} is already {k.done}"


def _unknown_of_kind(name: str, kind: str, value: str, known: Known) -> Problem:
    return name, f"unknown {kind} '{value}'{who(known)} (not recorded {EARLIER})"


def _lines(refs: tuple[Ref, ...], *, check: bool) -> list[str]:
    """The body of one event class's check: ids recorded twice first, then what the event
    refers to (in ``REFS`` order), then what it records is remembered."""
    for ref in refs:
        names = (ref.field, ref.kind_field or "_") if isinstance(ref, Refers) else (ref.field,)
        kinds = (*KINDS, "client") if isinstance(ref, Defines) else (*KINDS, "")
        if not all(n.isidentifier() for n in names) or ref.kind not in kinds:
            raise ValueError(f"a reference needs field names and a kind, not {ref!r}")
    lines: list[str] = []
    defines = [r for r in refs if isinstance(r, Defines)]
    refers = [r for r in refs if isinstance(r, Refers)]
    for ref in defines if check else ():
        if ref.kind != "client" and not isinstance(ref, Numbered):
            pool, name = KINDS[ref.kind].pool, f"data.{ref.field}"
            lines += [
                f"    if d.{ref.field} in known.{pool}:",
                f"        return _duplicate({name!r}, {ref.kind!r}, d.{ref.field}, known)",
            ]
    for ref in refers if check else ():
        name = f"data.{ref.field}"
        if ref.kind_field:
            lines += [
                f"    if d.{ref.field} not in (known.kpis if d.{ref.kind_field} == 'kpi' else known.goals):",
                f"        return _unknown_of_kind({name!r}, d.{ref.kind_field}, d.{ref.field}, known)",
            ]
            continue
        pool = KINDS[ref.kind].pool
        if ref.many:
            values = f"(d.{ref.field} or ())" if ref.optional else f"d.{ref.field}"
            lines += [
                f"    for value in {values}:",
                f"        if value not in known.{pool}:",
                f"            return _unknown({name!r}, {ref.kind!r}, value, known)",
            ]
        elif ref.prefix:
            cut, maybe = len(ref.prefix), "value is not None and " if ref.optional else ""
            lines += [
                f"    value = d.{ref.field}",
                f"    if {maybe}value.startswith({ref.prefix!r}) and value[{cut}:] not in known.{pool}:",
                f"        return _unknown({name!r}, {ref.kind!r}, value[{cut}:], known)",
            ]
        else:
            maybe = f"d.{ref.field} is not None and " if ref.optional else ""
            lines += [
                f"    if {maybe}d.{ref.field} not in known.{pool}:",
                f"        return _unknown({name!r}, {ref.kind!r}, d.{ref.field}, known)",
            ]
    for ref in defines:
        if ref.kind == "client":
            lines.append(f"    known.slug = d.{ref.field}")
        elif isinstance(ref, Numbered):
            pool = KINDS[ref.kind].pool
            lines.append(f"    known.{pool}.add({ref.prefix!r} + str(len(known.{pool}) + 1))")
        else:
            lines.append(f"    known.{KINDS[ref.kind].pool}.add(d.{ref.field})")
    return [*lines, "    return None"]


def _compile(cls: type, *, check: bool) -> Any:
    """One event class's check (or, with ``check=False``, its remembering alone), made into a
    plain function once, as ``dataclasses`` makes ``__init__``: an import calls it for every
    line, so it costs what a hand-written check would."""
    source = "\n".join(["def check(d, known):", *_lines(cls.REFS, check=check)])  # type: ignore[attr-defined]
    scope: dict[str, Any] = {
        "_unknown": _unknown,
        "_duplicate": _duplicate,
        "_unknown_of_kind": _unknown_of_kind,
    }
    exec(compile(source, f"<references of {cls.__name__}>", "exec"), scope)
    return scope["check"]


_CHECKS: dict[type, Check] = {}
_RECORDERS: dict[type, Callable[[Any, Known], None]] = {}


def references(cls: type) -> Check:
    """The import's check of one event class's data against what its stream recorded.

    It returns the first problem (the line's field, what is wrong), or None after
    remembering what the event records. Ids recorded twice are refused first, then what
    the event refers to, in ``REFS`` order.
    """
    check = _CHECKS.get(cls)
    if check is None:
        check = _CHECKS[cls] = _compile(cls, check=True)
    return check


def remembers(cls: type) -> Callable[[Any, Known], None]:
    """Remember what a stored event of ``cls`` records (no checks: the store holds it already)."""
    record = _RECORDERS.get(cls)
    if record is None:
        record = _RECORDERS[cls] = _compile(cls, check=False)
    return record


def data_fields(cls: type) -> tuple[str, ...]:
    """The event's own fields (without the envelope every event has), in declaration order."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.name not in NOT_DATA)


# -- how summaries show values ------------------------------------------------------------


def amount(value: Decimal | None) -> str:
    """A number as the timeline shows it: thousands separated, at most six decimals, "-" for none."""
    if value is None:
        return "-"
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{round(float(value), 6):g}"


# -- where a value came from: a check-in (domain/checkins) -------------------------------------

# A measurement's or feedback's check-in, ``via``: "link:c1" or "form:c2" (None: typed by its actor).
VIA = (
    Refers("via", "checkin", optional=True, prefix="link:"),
    Refers("via", "checkin", optional=True, prefix="form:"),
)


def via_text(d: Any) -> str:
    """How the timeline says a check-in's ``via``: `` via check-in link c1`` (nothing without one)."""
    via = getattr(d, "via", None)
    return f" via check-in {via.replace(':', ' ')}" if via else ""
