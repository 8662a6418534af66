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


Ref = Defines | Refers


@dataclass
class Known:
    """What one stream recorded so far: enough to check that a new event fits it."""

    slug: str | None = None
    goals: set[str] = field(default_factory=set)
    kpis: set[str] = field(default_factory=set)
    measurements: set[str] = field(default_factory=set)


def who(known: Known) -> str:
    """Whose stream, as a problem says it."""
    return f" of client '{known.slug}'" if known.slug else " of this stream"


def _unknown(name: str, kind: Kind, value: str, known: Known) -> Problem:
    return name, f"unknown {kind.noun} '{value}'{who(known)} (not {kind.done} {EARLIER})"


def _duplicate(ref: Defines) -> Check:
    kind = KINDS[ref.kind]
    name, attr, pool = f"data.{ref.field}", ref.field, kind.pool

    def check(d: Any, known: Known) -> Problem | None:
        value = getattr(d, attr)
        if value in getattr(known, pool):
            return name, f"{kind.noun} '{value}'{who(known)} is already {kind.done}"
        return None

    return check


def _refers(ref: Refers) -> Check:
    name, attr = f"data.{ref.field}", ref.field
    if ref.kind_field:  # the kind is the event's own: a KPI, or else a goal
        kind_field = ref.kind_field

        def by_kind(d: Any, known: Known) -> Problem | None:
            kind = getattr(d, kind_field)
            value = getattr(d, attr)
            if value in (known.kpis if kind == "kpi" else known.goals):
                return None
            return name, f"unknown {kind} '{value}'{who(known)} (not recorded {EARLIER})"

        return by_kind
    kind = KINDS[ref.kind]
    pool, prefix, optional = kind.pool, ref.prefix, ref.optional
    if ref.many:

        def each(d: Any, known: Known) -> Problem | None:
            ids = getattr(known, pool)
            for value in getattr(d, attr):
                if value not in ids:
                    return _unknown(name, kind, value, known)
            return None

        return each
    if prefix:
        cut = len(prefix)

        def prefixed(d: Any, known: Known) -> Problem | None:
            value = getattr(d, attr)
            if value.startswith(prefix) and value[cut:] not in getattr(known, pool):
                return _unknown(name, kind, value[cut:], known)
            return None

        return prefixed

    def one(d: Any, known: Known) -> Problem | None:
        value = getattr(d, attr)
        if (value is None and optional) or value in getattr(known, pool):
            return None
        return _unknown(name, kind, value, known)

    return one


def _recorder(refs: tuple[Ref, ...]) -> Callable[[Any, Known], None]:
    """What the event records, remembered in ``Known`` for the events after it."""
    steps = [(r.field, r.kind) for r in refs if isinstance(r, Defines)]
    if not steps:
        return _nothing
    if steps == [(steps[0][0], "client")]:
        attr = steps[0][0]

        def name_client(d: Any, known: Known) -> None:
            known.slug = getattr(d, attr)

        return name_client
    pools = [(attr, KINDS[kind].pool) for attr, kind in steps]

    def record(d: Any, known: Known) -> None:
        for attr, pool in pools:
            getattr(known, pool).add(getattr(d, attr))

    return record


def _nothing(d: Any, known: Known) -> None:
    return None


_CHECKS: dict[type, Check] = {}
_RECORDERS: dict[type, Callable[[Any, Known], None]] = {}


def references(cls: type) -> Check:
    """The import's check of one event class's data against what its stream recorded.

    It returns the first problem, or None after remembering what the event records. Ids
    recorded twice are refused first, then what the event refers to, in ``REFS`` order.
    """
    check = _CHECKS.get(cls)
    if check is None:
        refs: tuple[Ref, ...] = cls.REFS  # type: ignore[attr-defined]
        checks = [_duplicate(r) for r in refs if isinstance(r, Defines) and r.kind != "client"]
        checks += [_refers(r) for r in refs if isinstance(r, Refers)]
        record = remembers(cls)
        if not checks:

            def check(d: Any, known: Known) -> Problem | None:
                record(d, known)
                return None

        elif len(checks) == 1:
            (first,) = checks

            def check(d: Any, known: Known) -> Problem | None:
                problem = first(d, known)
                if problem is None:
                    record(d, known)
                return problem

        else:

            def check(d: Any, known: Known) -> Problem | None:
                for step in checks:
                    problem = step(d, known)
                    if problem is not None:
                        return problem
                record(d, known)
                return None

        _CHECKS[cls] = check
    return check


def remembers(cls: type) -> Callable[[Any, Known], None]:
    """Remember what a stored event of ``cls`` records (no checks: the store holds it already)."""
    record = _RECORDERS.get(cls)
    if record is None:
        record = _RECORDERS[cls] = _recorder(cls.REFS)  # type: ignore[attr-defined]
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
