"""The ``Client`` commands of check-ins: issue a link or a form, revoke it, take its answers.

``Client`` takes them as a base class (``CheckinCommands``). The token never reaches the
domain: a command gets its SHA-256 (``token_hash``), and answers are taken only when the
hash given matches the one issued (compared in constant time).

The window rule (docs/DOMAIN.md, "Check-ins"): a KPI gets one check-in value per cadence
window. A window opens with a new check-in value and lasts the KPI's cadence (in force at
the moment of the answer); an answer within it amends that value (``MeasurementCorrected``,
with a reason) instead of adding a second one. The same holds for the rating: a rating within
the shortest window of the check-in's KPIs replaces the one before (``FeedbackRetracted``, then
``FeedbackReceived``).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from coachledger.domain.checkins import events as ce
from coachledger.domain.checkins.events import checkin_state
from coachledger.domain.rules import check_moment, iso
from coachledger.errors import CheckinRefused, InvalidValue, UnknownId
from coachledger.moments import DEFAULT_CADENCE, cadence_days

SHA256 = re.compile(r"^[0-9a-f]{64}$")
KINDS = ("link", "form")
MAX_NOTE = 2000


class Answer(NamedTuple):
    """A client's answer for one KPI of a check-in."""

    kpi: str
    value: Decimal
    confidence: int | None = None
    note: str | None = None


class Receipt(NamedTuple):
    """What one use of a check-in recorded."""

    checkin: str
    measurements: list[str]
    amended: list[str]
    feedback: str | None


class CheckinCommands:
    """Check-in links and forms: issued by the coach, answered by the client."""

    slug: str
    kpis: dict[str, dict[str, Any]]
    measurements: dict[str, list[Any]]
    feedback: dict[str, bool]

    if TYPE_CHECKING:  # given by Aggregate and Client, which come after this class in the MRO

        def trigger_event(self, event_class: Any, **kwargs: Any) -> None: ...

        def _check_writable(self) -> None: ...

        def _open_kpi(self, kpi: str) -> dict[str, Any]: ...

        def _check_value(self, kpi: str, value: Decimal, effective_at: datetime) -> None: ...

        def _check_magnitude(self, kpi: str, value: Decimal, effective_at: datetime) -> None: ...

        record_measurement: Callable[..., str]
        receive_feedback: Callable[..., None]
        MeasurementCorrected: Any
        FeedbackRetracted: Any

    # -- the coach's side -------------------------------------------------------------------

    def issue_checkin(
        self, actor: str, kind: str, kpis: list[str], expires_at: datetime, token_hash: str, now: datetime
    ) -> str:
        """A new check-in (``kind`` link or form) for ``kpis`` (none given: every active KPI)."""
        self._check_writable()
        if kind not in KINDS:
            raise InvalidValue(f"a check-in is a link or a form, not '{kind}'")
        if not SHA256.match(token_hash):
            raise InvalidValue("a check-in keeps the SHA-256 of its token (64 hex digits)")
        if not kpis:
            kpis = [k for k, state in self.kpis.items() if not state["retired"]]
            if not kpis:
                raise InvalidValue(f"client '{self.slug}' has no active KPI to check in on")
        if len(set(kpis)) != len(kpis):
            raise InvalidValue("a KPI is named twice for the check-in")
        for kpi in kpis:
            self._open_kpi(kpi)
        check_moment("the expiry", expires_at)
        if expires_at <= now:
            raise InvalidValue("a check-in must expire after it is issued")
        issued = checkin_state(self)["issued"]
        checkin = f"c{len(issued) + 1}"
        event = ce.CheckinLinkIssued if kind == "link" else ce.CheckinFormIssued
        self.trigger_event(
            event, actor=actor, checkin=checkin, kpis=list(kpis), expires_at=expires_at, token_hash=token_hash
        )
        return checkin

    def revoke_checkin(self, actor: str, checkin: str, reason: str | None) -> None:
        self._check_writable()
        state = self._issued(checkin)
        if state["revoked"]:
            raise InvalidValue(f"check-in {checkin} was already revoked")
        reason = reason.strip() if reason and reason.strip() else None
        self.trigger_event(ce.CheckinLinkRevoked, actor=actor, checkin=checkin, reason=reason)

    def _issued(self, checkin: str) -> dict[str, Any]:
        try:
            return checkin_state(self)["issued"][checkin]  # type: ignore[no-any-return]
        except KeyError:
            raise UnknownId(f"unknown check-in '{checkin}' for client '{self.slug}'") from None

    # -- the client's side ------------------------------------------------------------------

    def open_checkin(
        self, checkin: str, token_hash: str, now: datetime, kind: str | None = None
    ) -> dict[str, Any]:
        """The check-in's state, when ``token_hash`` opens it at ``now``; else ``CheckinRefused``."""
        self._check_writable()
        state = checkin_state(self)["issued"].get(checkin)
        if state is None or not hmac.compare_digest(state["sha256"], token_hash):
            raise CheckinRefused("unknown", "this check-in link is not valid: it is unknown or was altered")
        noun = f"check-in {state['kind']}"
        if kind is not None and state["kind"] != kind:
            raise CheckinRefused("unknown", f"check-in {checkin} is a {state['kind']}, not a {kind}")
        if state["revoked"]:
            raise CheckinRefused("revoked", f"this {noun} was revoked by the coach")
        if iso(now) >= state["expires"]:
            raise CheckinRefused("expired", f"this {noun} expired on {state['expires'][:10]}")
        if state["kind"] == "form" and state["uses"]:
            raise CheckinRefused("used", f"this {noun} ({checkin}) was already answered")
        return state

    def answer_checkin(
        self,
        checkin: str,
        token_hash: str,
        answers: list[Answer],
        now: datetime,
        rating: int | None = None,
        comment: str | None = None,
        kind: str | None = None,
    ) -> Receipt:
        """Record the client's answers, all or none (the caller saves once): actor ``client:<id>``."""
        state = self.open_checkin(checkin, token_hash, now, kind)
        actor, via = f"client:{self.slug}", f"{state['kind']}:{checkin}"
        self._check_answers(checkin, state, answers, rating, comment)
        recorded: list[str] = []
        amended: list[str] = []
        for answer, cadence, earlier in self._plan(answers, now):
            if earlier is None:
                recorded.append(
                    self.record_measurement(
                        actor, answer.kpi, answer.value, now, source="self", note=answer.note,
                        confidence=answer.confidence, now=now, via=via,
                    )
                )  # fmt: skip
                continue
            since = self.measurements[earlier][1][:10]
            reason = f"answered again through check-in {state['kind']} {checkin} within its {cadence} window (from {since})"
            self.trigger_event(
                self.MeasurementCorrected,
                actor=actor, measurement_id=earlier, value=answer.value, reason=reason,
                confidence=answer.confidence, note=answer.note,
            )  # fmt: skip
            amended.append(earlier)
        feedback = None
        if rating is not None:
            days = min(cadence_days(self._cadence_at(kpi, now)) for kpi in state["kpis"])
            self._replace_rating(actor, checkin, days, now)
            self.receive_feedback(actor, rating, comment, "process", now, via=via)
            feedback = f"f{len(self.feedback)}"
        used = ce.CheckinLinkUsed if state["kind"] == "link" else ce.CheckinFormUsed
        self.trigger_event(
            used, actor=actor, checkin=checkin, effective_at=now, measurements=recorded, amended=amended,
            feedback=feedback,
        )  # fmt: skip
        return Receipt(checkin, recorded, amended, feedback)

    def _check_answers(
        self,
        checkin: str,
        state: dict[str, Any],
        answers: list[Answer],
        rating: int | None,
        comment: str | None,
    ) -> None:
        if not answers and rating is None:
            raise InvalidValue("a check-in needs at least one value or a rating")
        seen: set[str] = set()
        for answer in answers:
            if answer.kpi not in state["kpis"]:
                raise InvalidValue(f"KPI '{answer.kpi}' is not part of check-in {checkin}")
            if answer.kpi in seen:
                raise InvalidValue(f"KPI '{answer.kpi}' is answered twice")
            seen.add(answer.kpi)
            if answer.confidence is not None and not 0 <= answer.confidence <= 10:
                raise InvalidValue(f"confidence must be between 0 and 10, not {answer.confidence}")
            if answer.note is not None and len(answer.note) > MAX_NOTE:
                raise InvalidValue(f"a note has at most {MAX_NOTE} characters")
        if rating is not None and not 1 <= rating <= 5:
            raise InvalidValue(f"rating must be between 1 and 5, not {rating}")
        if comment is not None and len(comment) > MAX_NOTE:
            raise InvalidValue(f"a comment has at most {MAX_NOTE} characters")

    def _plan(self, answers: list[Answer], now: datetime) -> list[tuple[Answer, str, str | None]]:
        """Each answer with its KPI's cadence now and the check-in value it amends (None: a new one),
        every value checked first, so that a refusal leaves nothing half done."""
        plan = []
        for answer in answers:
            self._open_kpi(answer.kpi)
            cadence = self._cadence_at(answer.kpi, now)
            earlier = self._in_window(answer.kpi, cadence, now)
            at = now if earlier is None else datetime.fromisoformat(self.measurements[earlier][1])
            self._check_value(answer.kpi, answer.value, at)
            self._check_magnitude(answer.kpi, answer.value, at)
            plan.append((answer, cadence, earlier))
        return plan

    def _cadence_at(self, kpi: str, at: datetime) -> str:
        """The KPI's cadence in force at ``at`` (its definition's, then each change effective by then)."""
        state = self.kpis[kpi]
        cadence: str = state.get("cadence", DEFAULT_CADENCE)
        moment = iso(at)
        for effective, changed in state.get("cadences", ()):
            if effective <= moment:
                cadence = changed
        return cadence

    def _in_window(self, kpi: str, cadence: str, now: datetime) -> str | None:
        """The KPI's check-in value whose window ``now`` falls in (not retracted), if any."""
        mid = checkin_state(self)["last"].get(kpi)
        if mid is None or self.measurements[mid][2]:
            return None
        opened = datetime.fromisoformat(self.measurements[mid][1])
        return mid if now < opened + timedelta(days=cadence_days(cadence)) else None

    def _replace_rating(self, actor: str, checkin: str, days: int, now: datetime) -> None:
        """Retract the check-in rating given within ``days`` before ``now`` (one rating a window)."""
        last = checkin_state(self)["feedback"]
        if last is None or self.feedback.get(last[0], True):
            return
        if now < datetime.fromisoformat(last[1]) + timedelta(days=days):
            reason = f"rated again through check-in {checkin} within the same window"
            self.trigger_event(self.FeedbackRetracted, actor=actor, feedback=last[0], reason=reason)


__all__ = ["Answer", "CheckinCommands", "Receipt"]
