"""The demo's check-ins (see ``demo``): clients report their own values between sessions.

Through the domain's check-in commands, as ``services.checkins`` issues and takes them: the coach
issues a link (or a form) for the KPIs a client can report themselves, the client answers a few
days later (each value with a confidence, sometimes a rating of the coaching), actor
``client:<id>``, ``via`` the check-in. From a random stream of its own, so the rest of each story
stays what it was, and deterministic: a token is drawn from that stream and only its SHA-256 is
kept, as for a real check-in.

- The first client (Ana López): a link a third of the way in, answered and answered again the next
  day (an amendment within the window, the rating replaced); half-way a link revoked the day after
  (sent to an old address) and a form instead, answered; the day before the demo's last, after
  every session, a link answered (``due`` lists it: a new check-in from the client).
- The other even-numbered clients (their fixes retract no feedback: see ``demo_followup``): one or
  two links, most answered, some answered again within the window (an amendment), a few revoked
  unanswered, now and then a form instead.
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from coachledger.domain.checkins.commands import Answer
from coachledger.domain.checkins.events import checkin_state
from coachledger.services.demo_goals import confidence, working_time

# ``Story`` and ``KpiPlan`` are the demo's (``demo``), which imports this module: they are ``Any`` here.
Story = Any
KpiPlan = Any

# The KPIs a client can report themselves (the others come from documents or the coach).
SELF_REPORTED = ("satisfaction", "overtime", "stress", "public-speaking", "new-contacts", "coaching-value")
EXPIRES = timedelta(days=14)
DAY = timedelta(days=1)
COMMENTS = (None, None, "Quick to fill in on my phone", "Helps me notice the trend", "More questions next time?")
REVOKE_REASONS = ("Sent to an old e-mail address", "The client would rather report at the next session")


def plan(story: Story) -> None:
    """Plan the check-ins of one client's story (after its KPIs, sessions and fixes are planned)."""
    asked = [k for k in story.kpis if k.t.kpi in SELF_REPORTED]
    span = story.until - story.start
    if not asked or span < timedelta(days=45) or story.index % 2:
        return
    rng = random.Random(f"coachledger-demo-checkins:{story.seed}:{story.index}")

    def at(share: float, after: datetime | None = None) -> datetime:
        return working_time(rng, story.start + span * share if after is None else after + DAY)

    if story.index == 0:
        first = at(0.33)
        answered = at(0, first)
        _link(story, rng, first, asked[:2], [(answered, 4), (at(0, answered), 5)])  # the second amends
        sent = at(0.5)
        revoked = at(0, sent)
        _link(story, rng, sent, asked[:2], revoked=(revoked, REVOKE_REASONS[0]))
        _form(story, rng, revoked + timedelta(minutes=5), asked[:2], at(0, revoked + 2 * DAY))
        # The day before the last (no session is later): not seen yet, ``due`` lists it. Not a personal
        # KPI: their confidence drop in the last month (``demo_goals``) stays the latest.
        late = [k for k in asked if k.t.dimension == "professional"][:1]
        last = (story.until - DAY).replace(hour=9 + rng.randint(0, 6), minute=rng.randrange(0, 60, 5))
        if late and last.weekday() < 5:
            _link(story, rng, working_time(rng, story.until - 5 * DAY), late, [(last, None)])
        return
    for share in sorted(rng.sample((0.25, 0.45, 0.65, 0.85), rng.randint(1, 2))):
        sent = at(share)
        chosen = rng.sample(asked, min(len(asked), rng.randint(1, 2)))
        roll = rng.random()
        if roll < 0.15:
            _link(story, rng, sent, chosen, revoked=(at(0, sent), REVOKE_REASONS[1]))
        elif roll < 0.3:
            _form(story, rng, sent, chosen, working_time(rng, sent + rng.randint(2, 9) * DAY))
        else:
            answered = working_time(rng, sent + rng.randint(1, 6) * DAY)
            answers = [(answered, rng.choice((None, 3, 4, 4, 5, 5)))]
            if rng.random() < 0.3:  # answered again within the window: an amendment
                answers.append((working_time(rng, answered + rng.randint(1, 3) * DAY), None))
            _link(story, rng, sent, chosen, answers)


def _link(
    story: Story,
    rng: random.Random,
    sent: datetime,
    kpis: list[KpiPlan],
    answers: Sequence[tuple[datetime, int | None]] = (),
    revoked: tuple[datetime, str] | None = None,
) -> None:
    """A link issued at ``sent``, then answered at each time of ``answers`` (with its rating) or revoked."""
    if sent >= story.until:
        return
    token = _token_hash(rng)
    ids: dict[str, str] = {}
    story._at(sent, _issue, story, ids, "link", kpis, sent, token)
    for n, (when, rating) in enumerate(answers):
        if when < min(story.until, sent + EXPIRES):
            story._at(when, _answer, story, ids, "link", kpis, when, token, rating, n > 0)
    if revoked is not None and revoked[0] < story.until:
        story._at(revoked[0], _revoke, story, ids, revoked[1])


def _form(story: Story, rng: random.Random, sent: datetime, kpis: list[KpiPlan], answered: datetime) -> None:
    """A form file issued at ``sent``, sent back filled in at ``answered`` (once)."""
    if sent >= story.until:
        return
    token = _token_hash(rng)
    ids: dict[str, str] = {}
    story._at(sent, _issue, story, ids, "form", kpis, sent, token)
    if answered < min(story.until, sent + EXPIRES):
        story._at(answered, _answer, story, ids, "form", kpis, answered, token, rng.choice((None, 4, 5)))


def _token_hash(rng: random.Random) -> str:
    """The SHA-256 of a token drawn as ``secrets.token_urlsafe(32)`` draws one (the token is not kept)."""
    token = base64.urlsafe_b64encode(rng.randbytes(32)).rstrip(b"=")
    return hashlib.sha256(token).hexdigest()


def _live(story: Story, kpis: list[KpiPlan], now: datetime) -> list[KpiPlan]:
    """The KPIs not retired, and not within two days of a change of scale or unit (the plan's
    values follow the change from its effective day; the change is recorded later that day)."""
    return [k for k in kpis if not story.c.kpis[k.t.kpi]["retired"] and _settled(k, now)]


def _settled(k: KpiPlan, at: datetime) -> bool:
    return all(c is None or not c - 2 * DAY <= at < c + 2 * DAY for c in (k.rescaled_at, k.factor_at))


def _checked_at(story: Story, kpi: str, now: datetime) -> datetime:
    """The moment whose scale and unit an answer at ``now`` is in: that of the check-in value it
    amends (within its window, the domain's rule), else ``now``."""
    earlier = story.c._in_window(kpi, story.c._cadence_at(kpi, now), now)
    return now if earlier is None else datetime.fromisoformat(story.c.measurements[earlier][1])


def _issue(
    story: Story, ids: dict[str, str], kind: str, kpis: list[KpiPlan], now: datetime, token_hash: str
) -> None:
    live = [k.t.kpi for k in _live(story, kpis, now)]
    if live:
        ids["checkin"] = story.c.issue_checkin(story.coach, kind, live, now + EXPIRES, token_hash, now)


def _answer(
    story: Story,
    ids: dict[str, str],
    kind: str,
    kpis: list[KpiPlan],
    now: datetime,
    token_hash: str,
    rating: int | None,
    again: bool = False,
) -> None:
    """The client's answers at ``now``: each KPI still asked and open, its value as the client sees it
    (``again``: answered before, one step up or down, "had the wrong week in mind")."""
    checkin = ids.get("checkin")
    if checkin is None or checkin_state(story.c)["issued"][checkin]["revoked"]:
        return
    asked = checkin_state(story.c)["issued"][checkin]["kpis"]
    answers = []
    for k in _live(story, kpis, now):
        at = _checked_at(story, k.t.kpi, now) if k.t.kpi in asked else now
        if k.t.kpi not in asked or not _settled(k, at):
            continue
        rng = random.Random(f"coachledger-demo-checkin:{story.slug}:{checkin}:{k.t.kpi}")
        value = story._true_value(k, now, rng)
        note = rng.choice((None, None, "Estimated from memory", "A good week"))
        if again:
            value = story._q(k.t, value + float(k.t.step) * rng.choice((-1, 1)))
            note = "Had the wrong week in mind"
        sure = confidence(story, k, f"{checkin}:{now.isoformat()}", now)
        answers.append(Answer(k.t.kpi, story._entered(k, value, at), sure, note))
    if answers or rating is not None:
        comment = random.Random(f"{story.slug}:{checkin}:{now}").choice(COMMENTS) if rating is not None else None
        story.c.answer_checkin(checkin, token_hash, answers, now, rating, comment, kind)


def _revoke(story: Story, ids: dict[str, str], reason: str) -> None:
    if "checkin" in ids:
        story.c.revoke_checkin(story.coach, ids["checkin"], reason)


__all__ = ["SELF_REPORTED", "plan"]
