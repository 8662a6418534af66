"""The goal lifecycle commands of the ``Client`` aggregate: adjust, achieve, abandon, reopen.

A goal is open once set; achieving or abandoning it closes it, reopening opens it again:
open -> achieved | abandoned -> (reopened) open. Each change names when it took effect.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from coachledger.domain import events
from coachledger.domain.rules import HORIZONS, check_choice, require_reason
from coachledger.errors import InvalidValue, UnknownId, did_you_mean


class GoalCommands:
    """Mixed into ``Client``: the commands that move a goal through its lifecycle."""

    slug: str
    goals: dict[str, str]

    if TYPE_CHECKING:  # the Client's and its Aggregate's (a definition here would shadow them)

        def _check_writable(self) -> None: ...

        def trigger_event(self, event_class: Any, **kwargs: Any) -> None: ...

    def goal_state(self, goal: str) -> str:
        """ "open", "achieved" or "abandoned"."""
        status: dict[str, str] = self.__dict__.get("goal_status", {})  # reading never adds state
        return status.get(goal, "open")

    def _known_goal(self, goal: str) -> str:
        self._check_writable()
        if goal not in self.goals:
            raise UnknownId(f"unknown goal '{goal}' for client '{self.slug}'{did_you_mean(goal, self.goals)}")
        return self.goal_state(goal)

    def adjust_goal(
        self,
        actor: str,
        goal: str,
        *,
        reason: str | None,
        effective_at: datetime,
        text: str | None = None,
        horizon: str | None = None,
        due: datetime | None = None,
    ) -> None:
        self._known_goal(goal)
        reason = require_reason(reason, "a goal adjustment")
        check_choice("horizon", horizon, HORIZONS)
        if text is None and horizon is None and due is None:
            raise InvalidValue("a goal adjustment must change --text, --due or --horizon")
        if text is not None and not text.strip():
            raise InvalidValue("goal text must not be empty")
        self.trigger_event(
            events.GoalAdjusted,
            actor=actor,
            goal=goal,
            reason=reason,
            effective_at=effective_at,
            text=text.strip() if text is not None else None,
            horizon=horizon,
            due=due,
        )

    def achieve_goal(self, actor: str, goal: str, effective_at: datetime, note: str | None = None) -> None:
        state = self._known_goal(goal)
        if state != "open":
            raise InvalidValue(f"goal '{goal}' is {state}, not open: reopen it first")
        self.trigger_event(events.GoalAchieved, actor=actor, goal=goal, effective_at=effective_at, note=note)

    def abandon_goal(self, actor: str, goal: str, effective_at: datetime, reason: str | None) -> None:
        state = self._known_goal(goal)
        reason = require_reason(reason, "abandoning a goal")
        if state != "open":
            raise InvalidValue(f"goal '{goal}' is {state}, not open: reopen it first")
        self.trigger_event(
            events.GoalAbandoned, actor=actor, goal=goal, effective_at=effective_at, reason=reason
        )

    def reopen_goal(self, actor: str, goal: str, effective_at: datetime, reason: str | None) -> None:
        state = self._known_goal(goal)
        reason = require_reason(reason, "reopening a goal")
        if state == "open":
            raise InvalidValue(f"goal '{goal}' is already open")
        self.trigger_event(
            events.GoalReopened, actor=actor, goal=goal, effective_at=effective_at, reason=reason
        )
