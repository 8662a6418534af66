"""The demo between sessions: actions agreed and followed up, and a few records fixed.

Kept beside ``demo`` (which calls in here): every session's agreed actions are opened; at
each later session the open ones are reviewed (most done, a few dropped, the rest still
open, so the last agenda has a "Follow up" list), and some sessions add an action with a
due date. One client is renamed and one logs its intake twice and retracts the copy. Its
own random generator keeps the rest of the demo exactly as it was, and the whole deterministic.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

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
    """Client 1 is renamed; client 0 logs its intake twice and retracts the copy."""
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
