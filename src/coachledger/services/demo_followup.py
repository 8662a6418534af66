"""The demo between sessions: actions agreed and followed up, and a few records fixed.

Kept beside ``demo`` (which calls in here): every session's agreed actions are opened; at
each later session the open ones are reviewed (most done, a few dropped, the rest still
open, so the last agenda has a "Follow up" list), and some sessions add an action with a
due date. One client is renamed and one logs its intake twice and retracts the copy. Its
own random generator keeps the rest of the demo exactly as it was, and the whole deterministic.

The rest of the loop (``plan_loop``, from a generator of its own too): a KPI's cadence and
another's weight changed part-way, a contact added, a session's notes amended, a feedback
entered for the wrong client and a milestone celebrated too early retracted, and every
client's next session booked after the demo's last day (so that ``due --ics`` has sessions).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from coachledger.services.demo_data import CADENCES, WEIGHTS
from coachledger.services.demo_goals import day_of, working_time

DUE_ACTIONS = (
    "Send the updated CV to the recruiter",
    "Prepare the salary review case",
    "Fill in the quarterly satisfaction survey",
    "Agree the training budget with the manager",
)


def rng_of(story: Any) -> random.Random:
    rng = getattr(story, "followup_rng", None)
    if rng is None:
        rng = story.followup_rng = random.Random(f"coachledger-demo-followup:{story.seed}:{story.index}")
    return rng


def log_session(story: Any, effective: datetime, notes: str, kpis: list[str], actions: list[str]) -> None:
    """Review the open actions, log the session, open its agreed actions (and maybe one with a due date)."""
    c, coach, rng = story.c, story.coach, rng_of(story)
    for action, status in sorted(c.actions.items(), key=lambda item: int(item[0][1:])):
        if status != "open":
            continue
        roll = rng.random()
        if roll < 0.65:
            c.complete_action(coach, action, rng.choice((None, "Done before the session", "Went well")))
        elif roll < 0.75:
            c.drop_action(coach, action, "No longer relevant")
    c.log_session(coach, effective, notes, kpis, actions)
    c.agree_actions(coach, actions)
    if kpis and rng.random() < 0.5:
        due = effective + timedelta(days=14)
        c.open_action(coach, rng.choice(DUE_ACTIONS), due, rng.choice(kpis))


def plan_fixes(story: Any) -> None:
    """Client 1 is renamed; client 0 logs its intake twice and retracts the copy; the rest of the loop."""
    plan_loop(story)
    if story.index == 1:
        new = f"{story.name}-{rng_of(story).choice(('Berg', 'Costa', 'Novak'))}"
        story._at(story.start + timedelta(minutes=30), _rename, story, new)
    if story.index == 0:
        day = story.start.replace(hour=0, minute=0, second=0, microsecond=0)
        story._at(story.start + timedelta(minutes=55), _duplicate_intake, story, day)
        story._at(story.start + timedelta(minutes=58), _retract_duplicate, story)


def _rename(story: Any, name: str) -> None:
    story.c.rename(story.coach, name, "Family name as on the contract")


def _duplicate_intake(story: Any, day: datetime) -> None:
    story.c.log_session(story.coach, day, "Intake: goals, KPIs and how we will measure them.", [], [])


def _retract_duplicate(story: Any) -> None:
    story.c.retract_session(story.coach, f"s{len(story.c.sessions)}", "Logged twice")


# -- the rest of the loop ---------------------------------------------------------------------


def plan_loop(story: Any) -> None:
    """Plan the loop's other corrections and changes of one client's story, and its next session."""
    rng = random.Random(f"coachledger-demo-loop:{story.seed}:{story.index}")
    span = story.until - story.start

    def at(share: float) -> datetime:
        return min(working_time(rng, story.start + span * share), story.until - timedelta(minutes=30))

    if span >= timedelta(days=60):
        if story.index % 4 == 0:
            story._at(at(0.5), _slower_cadence, story)
        if story.index % 3 == 0:
            story._at(at(0.55), _heavier_weight, story)
        if story.index % 4 == 2:
            story._at(story.start + timedelta(minutes=40), _contact, story)
        if story.index % 3 == 1:
            story._at(at(0.35), _amend_notes, story)
        if story.index % 4 == 3:
            story._at(at(0.6), _retract_feedback, story)
        if story.index % 2 == 0:
            story._at(at(0.95), _retract_milestone, story)
    booked = working_time(rng, day_of(story.until) + timedelta(days=rng.randint(3, 12)))
    story._at(story.until - timedelta(minutes=rng.randint(10, 25)), _book, story, booked)


def _slower_cadence(story: Any) -> None:
    """A weekly KPI moves to every two weeks: the client finds weekly check-ins too often."""
    for k in story.kpis:
        if CADENCES.get(k.t.kpi) == "weekly" and not story.c.kpis[k.t.kpi]["retired"]:
            story.c.adjust_kpi(
                story.coach, k.t.kpi, reason="Weekly check-ins were too often: every two weeks",
                effective_at=day_of(story.clock.now), cadence="biweekly",
            )  # fmt: skip
            return


def _heavier_weight(story: Any) -> None:
    """The first KPI of a goal served by several counts double in its progress from now on."""
    live = [k for k in story.kpis if not story.c.kpis[k.t.kpi]["retired"]]
    for k in live:
        if sum(1 for other in live if other.t.goal == k.t.goal) > 1:
            story.c.adjust_kpi(
                story.coach, k.t.kpi, reason="Agreed it matters most for this goal",
                effective_at=day_of(story.clock.now), weight=2 * WEIGHTS.get(k.t.kpi, Decimal(1)),
            )  # fmt: skip
            return


def _contact(story: Any) -> None:
    story.c.update(story.coach, None, f"{story.slug}@example.org", "Contact for session reminders")


def _amend_notes(story: Any) -> None:
    """The latest session's notes are completed after it (its date and KPIs stay)."""
    for session, state in reversed(list(story.c.sessions.items())):
        if not state["retracted"]:
            notes = state["notes"] + " Agreed to revisit the plan next month."
            story.c.amend_session(story.coach, session, "Completed the notes after the session", notes=notes)
            return


def _retract_feedback(story: Any) -> None:
    given = [f for f, retracted in story.c.feedback.items() if not retracted]
    if given:
        story.c.retract_feedback(story.coach, given[-1], "Entered for the wrong client")


def _retract_milestone(story: Any) -> None:
    """A KPI milestone celebrated too early: the latest figure fell back below the target."""
    kpis = [t for t in story.c.celebrated if t in story.c.kpis]
    if kpis:
        story.c.retract_milestone(story.coach, kpis[-1], "Celebrated too early: the next figure fell back")


def _book(story: Any, when: datetime) -> None:
    """The next session, booked: logged with its date after the demo's last day."""
    story.c.log_session(story.coach, when, "Booked: review the open actions and the due check-ins.", [], [])
