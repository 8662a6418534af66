"""The read models: the typed rows and documents the read side answers with.

Each is a msgspec ``Struct``: cheaper to build than a dict, and typed. Fields are declared
in the order the ``--json`` documents show them; ``json_default`` turns a model into its
fields in that order where a document meets ``json.dumps``, so the output is what the
dicts these replace gave, byte for byte.

Models also read by key (``row["status"]``, ``row.get("dimension")``), as those dicts did,
so that renderers and reports written against the documents keep working unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec

from coachledger.vocab import Status

__all__ = [
    "BalanceDoc",
    "CheckinRow",
    "ClientRow",
    "CoachRow",
    "Feedback",
    "Finding",
    "Goal",
    "GoalState",
    "GoalsDoc",
    "HistoryDoc",
    "KpiConfidence",
    "KpiVersion",
    "Milestone",
    "Progress",
    "ProgressDoc",
    "Quadrant",
    "ReadModel",
    "ReplayDoc",
    "ReplayStep",
    "Session",
    "TimelineDoc",
    "TimelineEntry",
    "json_default",
]


class ReadModel(msgspec.Struct, gc=False):
    """A read model; its fields also read by key, as a mapping of field names (in declaration
    order) to values."""

    def __iter__(self) -> Iterator[str]:
        return iter(self.__struct_fields__)

    def __contains__(self, key: object) -> bool:
        return key in self.__struct_fields__

    def keys(self) -> tuple[str, ...]:
        return self.__struct_fields__

    def __getitem__(self, key: str) -> Any:
        if key not in self.__struct_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default) if key in self.__struct_fields__ else default


def json_default(value: Any) -> dict[str, Any]:
    """``json.dumps(..., default=json_default)``: a read model as its fields, in declaration order."""
    if isinstance(value, msgspec.Struct):
        return msgspec.structs.asdict(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class Progress(ReadModel):
    """One KPI's progress as of a date (one item of ``progress --json``; DOMAIN.md's numbers).

    Category, direction, dimension and horizon are the definition's, as recorded (values of
    ``coachledger.vocab``'s Category, Direction, Dimension and Horizon).
    """

    kpi: str
    name: str | None
    category: str | None
    unit: str | None
    direction: str | None
    baseline: int | float | None
    current: int | float | None
    target: int | float
    due: str
    progress_pct: float | None
    expected_pct: float | None
    status: Status
    measurements: int
    trend_per_month: float | None
    retired: bool
    baseline_at: str | None
    dimension: str | None
    horizon: str | None


class KpiVersion(ReadModel):
    """One version of a KPI's definition: what its event changed, and the definition after it."""

    version: int
    seq: int
    kind: str  # "defined" | "adjusted" | "retired"
    recorded_at: str
    effective_at: str
    actor: str
    reason: str | None
    changes: dict[str, list[Any]]  # field -> [before, after], keys sorted
    definition: dict[str, Any]


class TimelineEntry(ReadModel):
    """One event of a client's audit timeline (a placeholder once its data is erased)."""

    seq: int
    version: int
    recorded_at: str
    effective_at: str | None
    actor: str
    type: str
    summary: str
    data: dict[str, Any]


class ClientRow(ReadModel):
    """One client of ``client list``: active KPIs and the most pressing status among them."""

    client: str
    name: str
    coach: str | None
    kpis: int
    status: Status


class CoachRow(ReadModel):
    """One coach of ``coach list``: may they sign in, do they see every client, how many are theirs."""

    coach: str
    admin: bool
    disabled: bool
    clients: int
    added_at: str
    changed_at: str


class Quadrant(ReadModel):
    """One of the four balance quadrants (dimension x horizon) of the active KPIs."""

    dimension: str
    horizon: str
    kpis: list[str]
    count: int
    average_progress_pct: float | None
    statuses: dict[str, int]


class KpiConfidence(ReadModel):
    """A KPI's latest confidence (0..10) of reaching its target, and the one before it."""

    kpi: str
    confidence: int
    effective_at: str
    previous: int | None


class ProgressDoc(ReadModel):
    client: str
    as_of: str | None
    known_at: str | None
    kpis: list[Progress]
    goals: list[GoalState] = msgspec.field(default_factory=list)
    confidence: list[KpiConfidence] = msgspec.field(default_factory=list)


class GoalsDoc(ReadModel):
    client: str
    as_of: str | None
    known_at: str | None
    goals: list[GoalState]


class BalanceDoc(ReadModel):
    client: str
    as_of: str | None
    known_at: str | None
    quadrants: list[Quadrant]


class HistoryDoc(ReadModel):
    client: str
    kpi: str
    versions: list[KpiVersion]


class TimelineDoc(ReadModel):
    client: str
    known_at: str | None
    events: list[TimelineEntry]


class ReplayStep(ReadModel):
    """After one event: the progress the coach saw right then."""

    seq: int
    type: str
    recorded_at: str
    actor: str
    summary: str
    progress: list[Progress]
    open_actions: list[dict[str, Any]] = []  # the actions open right after this event (followup)


class ReplayDoc(ReadModel):
    client: str
    known_at: str | None
    steps: list[ReplayStep]


class Goal(ReadModel):
    """A career goal of a client (the R of SMART); ``due`` is a date."""

    goal: str
    text: str
    horizon: str
    due: str | None
    seq: int
    recorded_at: str


class GoalState(ReadModel):
    """A goal as of a date: its text, horizon and due date after adjustments, its lifecycle
    status ("open" | "achieved" | "abandoned", since ``status_at``, with the note or reason),
    and its progress rolled up from its linked KPIs."""

    goal: str
    text: str
    horizon: str
    due: str | None
    status: str
    status_at: str | None
    status_note: str | None
    progress_pct: float | None
    kpis: list[str]


class Feedback(ReadModel):
    seq: int
    rating: int
    comment: str | None
    about: str
    effective_at: str
    recorded_at: str
    actor: str
    feedback: str | None = None  # its id: f1, f2, ... by order in the stream (followup)


class Session(ReadModel):
    seq: int
    effective_at: str
    notes: str
    kpis: list[str]
    actions: list[str]
    recorded_at: str
    actor: str
    session: str | None = None  # its id: s1, s2, ... by order in the stream (followup)
    amended: list[dict[str, Any]] = []  # the amendments applied: reason, recorded_at


class Milestone(ReadModel):
    seq: int
    target: str
    kind: str  # "goal" | "kpi"
    note: str | None
    recorded_at: str
    actor: str


class Finding(ReadModel):
    """One SMART or consistency finding of ``check``."""

    client: str
    kpi: str | None
    rule: str
    message: str


class CheckinRow(ReadModel):
    """One check-in link or form of a client (``checkin list``): its status at the moment asked."""

    checkin: str
    kind: str  # link | form
    kpis: list[str]
    issued_at: str
    issued_by: str
    expires_at: str
    status: str  # issued | used | expired | revoked
    uses: int
    last_used_at: str | None
    revoked_at: str | None
    reason: str | None
