"""What the read commands ask: answered from current views, for any as-of date and known-at time."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from coachledger.adapters.ciphers import CLEAR, LedgerKeys, ledger_keys
from coachledger.errors import ClientNotFound, ClientWasForgotten, DomainError, did_you_mean
from coachledger.projections import (
    clients,
    followup,
    goals,
    history,
    journal,
    progress,
    replay,
    runner,
    timeline,
)
from coachledger.projections.calc import round1
from coachledger.projections.db import ViewDB, open_views
from coachledger.projections.models import (
    BalanceDoc,
    ClientRow,
    Feedback,
    GoalsDoc,
    GoalState,
    HistoryDoc,
    KpiConfidence,
    Progress,
    ProgressDoc,
    Quadrant,
    ReplayDoc,
    ReplayStep,
    TimelineDoc,
)
from coachledger.projections.progress import Facts
from coachledger.vocab import SEVERITY, Category, Dimension, Horizon, Status

CADENCE = timedelta(days=30)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="microseconds")


def now() -> datetime:
    return datetime.now(tz=UTC)


class ReadSide:
    """The views of one store, brought up to date when opened."""

    def __init__(self, settings: Any, *, catch_up: bool = True) -> None:
        self.db: ViewDB = open_views(settings)
        keys = ledger_keys(settings)
        self.decrypt = _decryptor(keys)
        self.stream_of = keys.ids.stream_of  # the ledger's stream id of a slug
        if catch_up:
            runner.current(self.db, self.decrypt)

    def close(self) -> None:
        self.db.close()

    # -- clients ----------------------------------------------------------

    def client(self, slug: str, *, forgotten_ok: bool = False) -> dict[str, Any]:
        stream = self.stream_of(slug)
        found = clients.one_client(self.db, stream)
        if found is not None:
            return found
        if timeline.was_forgotten(self.db, stream):
            if forgotten_ok:
                return {
                    "stream": stream,
                    "key": None,
                    "client": slug,
                    "name": None,
                    "coach": None,
                    "forgotten": True,
                }
            raise ClientWasForgotten(
                f"client '{slug}' was forgotten on request: only the timeline's erased placeholders remain"
            )
        raise ClientNotFound(slug)

    def client_as_known(self, slug: str, known_at: datetime | None) -> dict[str, Any]:
        """The client with its name, coach and contact as known at ``known_at`` (unknown before)."""
        c = self.client(slug)
        known = self.known_seq(c["stream"], known_at)
        if known == 0:
            raise DomainError(f"client '{slug}' was not registered yet at {iso(known_at)}")
        return c if known is None else followup.client_as_known(self.db, c, known)

    def known_seq(self, stream: str, known_at: datetime | None) -> int | None:
        return None if known_at is None else runner.known_seq_at(self.db, stream, known_at)

    def client_list(
        self, coach: str | None = None, as_of: datetime | None = None, known_at: datetime | None = None
    ) -> list[ClientRow]:
        """Every client (of ``coach``) with its active KPIs' status as of ``as_of``, as known at ``known_at``."""
        moment = as_of or now()
        out = []
        for c in clients.all_clients(self.db, coach if known_at is None else None):
            known = self.known_seq(c["stream"], known_at)
            if known == 0:
                continue  # not registered yet
            if known is not None:  # its name and coach as known then
                c = followup.client_as_known(self.db, c, known)
                if coach is not None and c["coach"] != coach:
                    continue
            items = progress.client_progress(self.db, c["key"], moment, known)
            active = [i for i in items if not i.retired]
            out.append(ClientRow(c["client"], c["name"], c["coach"], len(active), overall(active)))
        return out

    # -- progress ---------------------------------------------------------

    def progress(self, slug: str, as_of: datetime | None, known_at: datetime | None) -> ProgressDoc:
        c = self.client(slug)
        moment = as_of or now()
        known = self.known_seq(c["stream"], known_at)
        if known == 0:
            return ProgressDoc(slug, iso(moment), iso(known_at), [])
        facts = progress.Facts(self.db, c["key"], known, effective_until=moment)
        items = [facts.progress(kpi, moment) for kpi in facts.kpis()]
        states = self._goal_states(c["key"], moment, known, facts, items)
        return ProgressDoc(
            slug, iso(moment), iso(known_at), items, states, self._confidence(c["key"], moment, known)
        )

    # -- goals and confidence (the goal lifecycle's roll-up; check-in confidence) --

    def goals(self, slug: str, as_of: datetime | None, known_at: datetime | None) -> GoalsDoc:
        c = self.client(slug)
        moment = as_of or now()
        known = self.known_seq(c["stream"], known_at)
        if known == 0:
            return GoalsDoc(slug, iso(moment), iso(known_at), [])
        facts = progress.Facts(self.db, c["key"], known, effective_until=moment)
        items = [facts.progress(kpi, moment) for kpi in facts.kpis()]
        return GoalsDoc(
            slug, iso(moment), iso(known_at), self._goal_states(c["key"], moment, known, facts, items)
        )

    def _goal_states(
        self, key: int, moment: datetime, known: int | None, facts: Facts, items: list[Progress]
    ) -> list[GoalState]:
        definitions = {kpi: facts.definition(kpi, moment) for kpi in facts.kpis()}
        at = iso(moment) or ""
        return goals.goal_states(self.db, key, at, known, goals.links(items, definitions))

    def _confidence(self, key: int, moment: datetime, known: int | None) -> list[KpiConfidence]:
        out = []
        for kpi, rows in progress.confidences(self.db, key, known, moment).items():
            last = rows[-1]
            previous = rows[-2].confidence if len(rows) > 1 else None
            out.append(KpiConfidence(kpi, last.confidence, last.effective_at, previous))
        return out

    def kpi_list(
        self, slug: str, as_of: datetime | None = None, known_at: datetime | None = None
    ) -> dict[str, Any]:
        """Each KPI's definition in force and status as of ``as_of``, from what was recorded by ``known_at``."""
        c = self.client(slug)
        known = self.known_seq(c["stream"], known_at)
        facts = progress.Facts(self.db, c["key"], known)
        moment = as_of or now()
        kpis = []
        for kpi in facts.kpis():
            definition = history.display(facts.definition(kpi, moment))
            item = facts.progress(kpi, moment)
            kpis.append(
                {
                    "kpi": kpi,
                    **definition,
                    "baseline": item.baseline,
                    "status": item.status,
                    "versions": len(facts.defs[kpi]),
                }
            )
        return {"client": slug, "as_of": iso(moment), "known_at": iso(known_at), "kpis": kpis}

    def history(self, slug: str, kpi: str, known_at: datetime | None = None) -> HistoryDoc:
        c = self.client(slug)
        versions = history.versions(self.db, c["key"], kpi, self.known_seq(c["stream"], known_at))
        if not versions:
            hint = did_you_mean(kpi, history.kpi_ids(self.db, c["key"]))
            raise DomainError(f"unknown KPI '{kpi}' for client '{slug}'{hint}")
        return HistoryDoc(slug, kpi, versions)

    def timeline(
        self, slug: str, since: datetime | None, until: datetime | None, known_at: datetime | None
    ) -> TimelineDoc:
        c = self.client(slug, forgotten_ok=True)
        known = self.known_seq(c["stream"], known_at)
        events = timeline.events(
            self.db, c["stream"], since=iso(since), until=iso(until), known_seq=known, decrypt=self.decrypt
        )
        return TimelineDoc(slug, iso(known_at), events)

    def replay(self, slug: str, known_at: datetime | None) -> ReplayDoc:
        """After each event: progress as of its recording time, known at that event."""
        c = self.client(slug, forgotten_ok=True)
        known = self.known_seq(c["stream"], known_at)
        events = timeline.events(self.db, c["stream"], known_seq=known, decrypt=self.decrypt)
        facts = progress.Facts(self.db, c["key"], known)
        open_at = followup.open_by_step(self.db, c["key"], known)  # the actions open at each step
        replays = [replay.of(facts, kpi) for kpi in facts.kpis()]
        steps = []
        for ev in events:
            moment = datetime.fromisoformat(ev.recorded_at)
            kpis = [r.at(ev.seq, moment) for r in replays if r.first_seq <= ev.seq]
            steps.append(ReplayStep(ev.seq, ev.type, ev.recorded_at, ev.actor, ev.summary, kpis, open_at(ev.seq, ev.recorded_at)))
        return ReplayDoc(slug, iso(known_at), steps)

    # -- balance, portfolio, journal ---------------------------------------

    def balance(self, slug: str, as_of: datetime | None, known_at: datetime | None) -> BalanceDoc:
        doc = self.progress(slug, as_of, known_at)
        return BalanceDoc(slug, doc.as_of, doc.known_at, balance_of(doc.kpis))

    def portfolio(
        self, coach: str | None, as_of: datetime | None, known_at: datetime | None
    ) -> dict[str, Any]:
        moment = as_of or now()
        rows = []
        for c in clients.all_clients(self.db, coach if known_at is None else None):
            known = self.known_seq(c["stream"], known_at)
            if known == 0:
                continue
            if known is not None:  # the coach as known then (a later handover not yet)
                c = followup.client_as_known(self.db, c, known)
                if coach is not None and c["coach"] != coach:
                    continue
            facts = progress.Facts(self.db, c["key"], known, effective_until=moment)
            items = [facts.progress(kpi, moment) for kpi in facts.kpis()]
            fb = journal.feedback(self.db, c["key"], known, iso(moment))
            celebrated = {m.target for m in journal.milestones(self.db, c["key"], known) if m.kind == "goal"}
            states = self._goal_states(c["key"], moment, known, facts, items)  # with their roll-up
            rows.append((c, items, fb, states, celebrated))
        return {"coach": coach, "as_of": iso(moment), "known_at": iso(known_at), **portfolio_of(rows)}

    def journal(
        self, slug: str, as_of: datetime | None = None, known_at: datetime | None = None
    ) -> dict[str, Any]:
        """Goals, feedback, sessions and milestones, as known at ``known_at``; feedback and sessions
        effective by ``as_of`` (without it: all of them, booked sessions too)."""
        c = self.client(slug)
        s, known, until = c["key"], self.known_seq(c["stream"], known_at), iso(as_of)
        return {
            "goals": clients.goals(self.db, s, known),
            "feedback": journal.feedback(self.db, s, known, until),
            "sessions": journal.sessions(self.db, s, known, until),
            "milestones": [m for m in journal.milestones(self.db, s, known) if m.recorded_at <= (until or "9999")],
        }


def read_decryptor(settings: Any) -> Any:
    """What the read side decrypts events with: None when the store keeps them in clear."""
    return _decryptor(ledger_keys(settings))


def _decryptor(keys: LedgerKeys) -> Any:
    decrypt = keys.decrypt
    return None if decrypt is CLEAR else decrypt  # None: the events are stored in clear


def overall(items: list[Progress]) -> Status:
    """A client's status: the most pressing status among their active KPIs."""
    if not items:
        return Status.NO_KPIS
    return min((i.status for i in items), key=SEVERITY.index)


def balance_of(items: list[Progress]) -> list[Quadrant]:
    """Professional vs personal x short vs long term: how the active KPIs spread and fare."""
    import statistics  # here, not at the top: progress, the most frequent read, never needs it

    out = []
    for dimension in Dimension:
        for horizon in Horizon:
            group = [i for i in items if not i.retired and i.dimension == dimension and i.horizon == horizon]
            pcts = [i.progress_pct for i in group if i.progress_pct is not None]
            statuses: dict[str, int] = {}
            for i in group:
                statuses[i.status] = statuses.get(i.status, 0) + 1
            out.append(
                Quadrant(
                    dimension=dimension,
                    horizon=horizon,
                    kpis=[i.kpi for i in group],
                    count=len(group),
                    average_progress_pct=_round1(statistics.fmean(pcts)) if pcts else None,
                    statuses=dict(sorted(statuses.items())),
                )
            )
    return out


def _round1(x: float) -> float:
    value = round1(x)
    assert value is not None
    return value


def _finite(compute: Any) -> list[float]:
    """``[compute()]``, or nothing beyond a float's range (values only an older version accepted)."""
    try:
        value = compute()
    except OverflowError:
        return []
    return [value] if math.isfinite(value) else []


def portfolio_of(
    rows: list[tuple[Any, list[Progress], list[Feedback], list[GoalState], set[str]]],
) -> dict[str, Any]:
    """The coach-level KPIs of the seed chapter, across clients."""
    # lazy: only the portfolio takes medians
    import statistics

    promo_clients = promoted = 0
    salary_changes: list[float] = []
    satisfaction: list[float] = []
    goal_kpis = goal_kpis_met = goal_count = goals_met = goals_abandoned = 0
    ratings: list[int] = []
    open_progress: list[float] = []  # the rolled-up progress of each open goal that has one
    for _c, items, fb, states, celebrated in rows:
        met, counted = goals.goal_rate(states, celebrated)
        goal_count += counted
        goals_met += met
        goals_abandoned += sum(1 for g in states if g.status == "abandoned")
        open_progress += [
            g.progress_pct
            for g in states
            if g.status != "abandoned" and not goals.achieved(g, celebrated) and g.progress_pct is not None
        ]
        ratings += [f.rating for f in fb]
        promos = [i for i in items if i.category == Category.PROMOTION]
        if promos:
            promo_clients += 1
            promoted += any(i.status == Status.ACHIEVED for i in promos)
        for i in items:
            b, c = i.baseline, i.current
            if i.category == Category.SALARY and b and c is not None:
                salary_changes += _finite(lambda: 100.0 * (c - b) / b)  # noqa: B023 - called at once
            if i.category == Category.JOB_SATISFACTION and b is not None and c is not None:
                satisfaction += _finite(lambda: float(c - b))  # noqa: B023 - called at once
            if i.category == Category.GOAL_ACHIEVEMENT and not i.retired:
                goal_kpis += 1
                goal_kpis_met += i.status == Status.ACHIEVED

    def pct(n: int, d: int) -> float | None:
        return _round1(100.0 * n / d) if d else None

    return {
        "clients": len(rows),
        "promotion_rate_pct": pct(promoted, promo_clients),
        "clients_with_promotion_kpi": promo_clients,
        "median_salary_change_pct": _round1(statistics.median(salary_changes)) if salary_changes else None,
        "average_satisfaction_change": _round1(statistics.fmean(satisfaction)) if satisfaction else None,
        "goal_achievement_rate_pct": pct(goal_kpis_met + goals_met, goal_kpis + goal_count),
        "goals_achieved": goals_met,
        "goals_open": goal_count - goals_met,
        "goals_abandoned": goals_abandoned,
        "average_open_goal_progress_pct": _round1(statistics.fmean(open_progress)) if open_progress else None,
        "average_feedback": _round1(statistics.fmean(ratings)) if ratings else None,
        "feedback_count": len(ratings),
    }
