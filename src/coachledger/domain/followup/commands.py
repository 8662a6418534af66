"""The ``Client`` commands of actions and record fixes: each validates, then triggers its event.

``Client`` takes them as a base class (``FollowUps``), beside its own commands; the state
they read (``actions``, ``sessions``, ``feedback``, ``contact``) is set by the events'
``apply`` and by ``Client.__init__``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from coachledger.domain.followup import events as fe
from coachledger.domain.rules import require_reason
from coachledger.errors import InvalidValue, UnknownId, did_you_mean


class FollowUps:
    """Actions (open, done, drop) and fixes of any record (client, session, feedback, milestone)."""

    slug: str
    name: str
    coach: str | None
    contact: str | None
    kpis: dict[str, dict[str, Any]]
    goals: dict[str, str]
    celebrated: list[str]
    actions: dict[str, str]
    sessions: dict[str, dict[str, Any]]
    feedback: dict[str, bool]

    if TYPE_CHECKING:  # given by Aggregate and Client, which come after this class in the MRO

        def trigger_event(self, event_class: Any, **kwargs: Any) -> None: ...

        def _check_writable(self) -> None: ...

        def _known_kpi(self, kpi: str) -> dict[str, Any]: ...

    # -- actions ------------------------------------------------------------

    def open_action(
        self,
        actor: str,
        text: str,
        due: datetime | None = None,
        kpi: str | None = None,
        session: str | None = None,
    ) -> str:
        self._check_writable()
        if not text.strip():
            raise InvalidValue("action text must not be empty")
        if kpi is not None:
            self._known_kpi(kpi)
        if session is not None:
            self._session(session)
        action = f"a{len(self.actions) + 1}"
        self.trigger_event(
            fe.ActionOpened, actor=actor, action=action, text=text.strip(), due=due, kpi=kpi, session=session
        )
        return action

    def agree_actions(self, actor: str, actions: list[str]) -> list[str]:
        """Open the actions agreed in the session logged last (``session log --action``)."""
        session = f"s{len(self.sessions)}"
        return [self.open_action(actor, text, session=session) for text in actions if text.strip()]

    def complete_action(self, actor: str, action: str, note: str | None = None) -> None:
        self._open_action(action)
        self.trigger_event(fe.ActionCompleted, actor=actor, action=action, note=note)

    def drop_action(self, actor: str, action: str, note: str | None = None) -> None:
        self._open_action(action)
        self.trigger_event(fe.ActionDropped, actor=actor, action=action, note=note)

    def _open_action(self, action: str) -> None:
        self._check_writable()
        try:
            status = self.actions[action]
        except KeyError:
            hint = did_you_mean(action, self.actions) or _open_ones(self.actions)
            raise UnknownId(f"unknown action '{action}' for client '{self.slug}'{hint}") from None
        if status != "open":
            raise InvalidValue(f"action '{action}' is already {status}; only an open action can change")

    # -- fixing a record ----------------------------------------------------

    def rename(self, actor: str, name: str, reason: str | None) -> None:
        self._check_writable()
        reason = require_reason(reason, "a rename")
        if not name.strip():
            raise InvalidValue("client name must not be empty")
        if name.strip() == self.name:
            raise InvalidValue(f"client '{self.slug}' is already named {self.name}")
        self.trigger_event(
            fe.ClientRenamed, actor=actor, name=name.strip(), previous=self.name, reason=reason
        )

    def update(self, actor: str, coach: str | None, contact: str | None, reason: str | None) -> None:
        self._check_writable()
        reason = require_reason(reason, "a client update")
        coach = None if coach is None else coach.strip()
        contact = None if contact is None else contact.strip()
        if coach is not None and (coach or None) == self.coach:
            coach = None
        if contact is not None and (contact or None) == self.contact:
            contact = None
        if coach is None and contact is None:
            raise InvalidValue("an update must change the coach or the contact (--coach, --contact)")
        self.trigger_event(
            fe.ClientUpdated,
            actor=actor,
            coach=coach,
            contact=contact,
            previous_coach=self.coach,
            previous_contact=self.contact,
            reason=reason,
        )

    def amend_session(
        self,
        actor: str,
        session: str,
        reason: str | None,
        notes: str | None = None,
        effective_at: datetime | None = None,
        kpis: list[str] | None = None,
    ) -> None:
        self._check_writable()
        state = self._session(session)
        reason = require_reason(reason, "a session amendment")
        if notes is not None and not notes.strip():
            raise InvalidValue("session notes must not be empty")
        for kpi in kpis or ():
            self._known_kpi(kpi)
        if notes is None and effective_at is None and kpis is None:
            raise InvalidValue("an amendment must change the notes, the date or the KPIs")
        self.trigger_event(
            fe.SessionAmended,
            actor=actor,
            session=session,
            reason=reason,
            notes=notes,
            effective_at=effective_at,
            kpis=None if kpis is None else list(kpis),
            previous_notes=state["notes"],
            previous_effective_at=datetime.fromisoformat(state["at"]),
            previous_kpis=list(state["kpis"]),
        )

    def retract_session(self, actor: str, session: str, reason: str | None) -> None:
        self._check_writable()
        self._session(session)
        reason = require_reason(reason, "a session retraction")
        self.trigger_event(fe.SessionRetracted, actor=actor, session=session, reason=reason)

    def retract_feedback(self, actor: str, feedback: str, reason: str | None) -> None:
        self._check_writable()
        if feedback not in self.feedback:
            hint = did_you_mean(feedback, self.feedback)
            raise UnknownId(f"unknown feedback '{feedback}' for client '{self.slug}'{hint}")
        if self.feedback[feedback]:
            raise InvalidValue(f"feedback '{feedback}' was retracted")
        reason = require_reason(reason, "a feedback retraction")
        self.trigger_event(fe.FeedbackRetracted, actor=actor, feedback=feedback, reason=reason)

    def retract_milestone(self, actor: str, target: str, reason: str | None) -> None:
        self._check_writable()
        if target not in self.celebrated:
            hint = did_you_mean(target, self.celebrated)
            raise UnknownId(f"no celebrated milestone '{target}' for client '{self.slug}'{hint}")
        reason = require_reason(reason, "a milestone retraction")
        kind = "kpi" if target in self.kpis else "goal"
        self.trigger_event(fe.MilestoneRetracted, actor=actor, target=target, kind=kind, reason=reason)

    def _session(self, session: str) -> dict[str, Any]:
        try:
            state = self.sessions[session]
        except KeyError:
            hint = did_you_mean(session, self.sessions)
            raise UnknownId(f"unknown session '{session}' for client '{self.slug}'{hint}") from None
        if state["retracted"]:
            raise InvalidValue(f"session '{session}' was retracted")
        return state


def _open_ones(actions: dict[str, str]) -> str:
    """`` (open: a3, a5)``: the open actions, to name when no id is close to a mistyped one."""
    found = [a for a, status in actions.items() if status == "open"]
    if not found:
        return ""
    shown = ", ".join(found[-5:])
    return f" (open: {shown})" if len(found) <= 5 else f" (open: {len(found)}, the latest {shown})"
