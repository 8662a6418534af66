"""The demo's goal lifecycle and check-in confidence (see ``demo``): deterministic, from their own
random streams, so that the rest of each client's story stays what it was.

- Confidence: every check-in carries one, rising with the share of the KPI's time spent (4 at the
  start, 9 near the due date, +-1 of noise); the first client's personal KPI loses heart in the
  last month (a drop of 3 or more: an agenda item at the end of the demo).
- Goals: the first goal's due date is moved at 40 % of the coaching; a goal is achieved when
  every KPI serving it is celebrated; every third client achieves their first goal at the review
  at 85 %; every fourth abandons their last goal at 70 %, and every eighth reopens it at 80 %.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

# ``Story`` and ``KpiPlan`` are the demo's (``demo``), which imports this module: they are ``Any`` here.
Story = Any
KpiPlan = Any

LOW_MONTH = timedelta(days=32)  # the first client's last check-in of a personal KPI, in the last month


def confidence(story: Story, k: KpiPlan, handle: str, effective: datetime) -> int:
    """The check-in's confidence (0..10) of reaching the KPI's target."""
    rng = random.Random(f"coachledger-demo-confidence:{story.slug}:{handle}")
    total = max(1.0, (k.due - story.start).total_seconds())
    spent = min(1.0, max(0.0, (effective - story.start).total_seconds() / total))
    if story.index == 0 and k.t.dimension == "personal" and effective >= story.until - LOW_MONTH:
        return 3 + rng.randint(0, 1)
    return max(0, min(10, round(4 + 5 * spent) + rng.randint(-1, 1)))


def plan(story: Story) -> None:
    """Plan the goal lifecycle of one client's story (after its KPIs and sessions are planned)."""
    rng = random.Random(f"coachledger-demo-goals:{story.slug}:{story.index}")
    goals = sorted({k.t.goal for k in story.kpis})
    span = story.until - story.start
    if not goals or span < timedelta(days=60):
        return

    def at(share: float) -> datetime:
        moment = working_time(rng, day_of(story.start + span * share))
        return min(moment, story.until - timedelta(minutes=30))

    first, last = goals[0], goals[-1]
    moved = at(0.4)
    due = day_of(story.start + timedelta(days=600))
    story._at(
        moved,
        _run,
        story,
        "adjust_goal",
        first,
        day_of(moved),
        {"reason": "The plan needs more time", "due": due},
    )
    if story.index % 3 == 0:
        review = at(0.85)
        story._at(
            review,
            _run,
            story,
            "achieve_goal",
            first,
            day_of(review),
            {"note": "Agreed at the review: reached"},
        )
    if story.index % 4 == 1 and len(goals) > 1:
        dropped = at(0.7)
        story._at(
            dropped, _run, story, "abandon_goal", last, day_of(dropped), {"reason": "Priorities changed"}
        )
        if story.index % 8 == 5:
            back = at(0.8)
            story._at(back, _run, story, "reopen_goal", last, day_of(back), {"reason": "Back on the table"})


def achieve_if_open(story: Story, goal: str, effective: datetime) -> None:
    """Every KPI of ``goal`` reached its target: the goal is achieved (if still open)."""
    if story.c.goal_state(goal) == "open":
        story.c.achieve_goal(story.coach, goal, effective, "Every KPI of this goal reached its target")


def _run(story: Story, command: str, goal: str, effective: datetime, fields: dict[str, Any]) -> None:
    """A lifecycle command, when the goal's state allows it at that time (stories are not replanned)."""
    state = story.c.goal_state(goal)
    if command == "adjust_goal":
        story.c.adjust_goal(story.coach, goal, effective_at=effective, **fields)
    elif (command == "reopen_goal") == (state != "open"):
        getattr(story.c, command)(story.coach, goal, effective, *fields.values())


def day_of(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def working_time(rng: random.Random, day: datetime) -> datetime:
    """A moment during office hours on ``day`` or the next weekday (as the demo's other entries)."""
    day = day_of(day)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day + timedelta(hours=rng.randint(8, 17), minutes=rng.randrange(0, 60, 5))
