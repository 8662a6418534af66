"""Check-ins: the coach issues a link or a form, the client answers, the ledger records who said what.

The token is made here (``secrets.token_urlsafe(32)``) and leaves only in the link's URL or
the form file; the ledger keeps its SHA-256. A check-in is found by that hash in the views,
and the client's aggregate checks it again before anything is shown or recorded.

``open_checkin`` and ``submit_checkin`` are what the check-in page calls; ``write_form`` and
``accept_answers`` the offline round trip (``form``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from coachledger.domain.checkins.commands import Answer, Receipt
from coachledger.errors import CheckinRefused, ClientNotFound, ClientWasForgotten, InvalidValue
from coachledger.moments import parse_moment
from coachledger.projections import calc, checkins, history, progress
from coachledger.projections.read import ReadSide

if TYPE_CHECKING:
    from coachledger.application import Ledger

DEFAULT_EXPIRY = "14d"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
UNKNOWN = "this check-in link is not valid: it is unknown or was altered"
EXPIRY = re.compile(r"^([1-9][0-9]{0,2})d$")


@dataclass(frozen=True)
class Question:
    """One KPI the client is asked about: what the page shows of it, nothing more."""

    kpi: str
    name: str
    unit: str
    scale_min: Decimal | None
    scale_max: Decimal | None
    last_value: Decimal | None  # the latest self-reported value, in today's unit
    last_at: str | None  # its date


@dataclass(frozen=True)
class CheckinView:
    """What a check-in shows its client: their name and the KPIs asked (nothing else of the ledger)."""

    client: str
    client_name: str
    checkin: str
    kind: str
    expires_at: str
    questions: list[Question] = field(default_factory=list)


@dataclass(frozen=True)
class Issued:
    client: str
    checkin: str
    kpis: list[str]
    expires_at: datetime
    token: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def expiry(text: str, now: datetime) -> datetime:
    """``14d`` (1..366 days from now) or an ISO date/time after now."""
    found = EXPIRY.match(text.strip())
    if found:
        days = int(found.group(1))
        if days > 366:
            raise InvalidValue(f"a check-in expires within 366 days, not {days}")
        return now + timedelta(days=days)
    try:
        return parse_moment(text)
    except ValueError:
        raise InvalidValue(
            f"--expires takes a number of days like 14d or a date, not '{text[:40]}'"
        ) from None


# -- the coach's side -----------------------------------------------------------------------


def issue(ledger: Ledger, client: str, kind: str, kpis: list[str], expires: str = DEFAULT_EXPIRY) -> Issued:
    """A new check-in link or form of ``client``; its token is returned here and stored nowhere."""
    now = datetime.now(tz=UTC)
    at = expiry(expires, now)
    token = secrets.token_urlsafe(32)
    digest = token_hash(token)
    checkin = ledger.change(
        client, lambda c: c.issue_checkin(ledger.actor, kind, list(kpis), at, digest, now)
    )
    asked = kpis or list(ledger.client(client).checkins["issued"][checkin]["kpis"])
    return Issued(client, checkin, asked, at, token)


def link_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/checkin/{token}"


def revoke(ledger: Ledger, client: str, checkin: str, reason: str | None) -> None:
    ledger.change(client, lambda c: c.revoke_checkin(ledger.actor, checkin, reason))


# -- the client's side: the check-in page ----------------------------------------------------


def locate(views: ReadSide, token: str) -> tuple[str, str, str]:
    """(client id, check-in id, hash) of a token; ``CheckinRefused`` for one that opens nothing."""
    if not TOKEN.match(token or ""):
        raise CheckinRefused("unknown", UNKNOWN)
    digest = token_hash(token)
    found = checkins.by_token(views.db, digest)
    if found is None:
        raise CheckinRefused("unknown", UNKNOWN)
    return found[0], found[1], digest


def open_checkin(
    ledger: Ledger, token: str, *, views: ReadSide | None = None, kind: str = "link"
) -> CheckinView:
    """What the check-in of ``token`` asks, when it is open now; else ``CheckinRefused``."""
    rs = views or ReadSide(ledger.settings)
    try:
        slug, checkin, digest = locate(rs, token)
        state = _aggregate(ledger, slug).open_checkin(checkin, digest, datetime.now(tz=UTC), kind)
        return view_of(rs, slug, checkin, state)
    finally:
        if views is None:
            rs.close()


def submit_checkin(
    ledger: Ledger,
    token: str,
    answers: list[Answer],
    rating: int | None = None,
    comment: str | None = None,
    *,
    views: ReadSide | None = None,
    kind: str = "link",
) -> Receipt:
    """Record the client's answers through the check-in of ``token``: all in one write, or nothing."""
    rs = views or ReadSide(ledger.settings)
    try:
        slug, checkin, digest = locate(rs, token)
    finally:
        if views is None:
            rs.close()
    try:
        return ledger.change(
            slug,
            lambda c: c.answer_checkin(checkin, digest, answers, datetime.now(tz=UTC), rating, comment, kind),
        )
    except (ClientNotFound, ClientWasForgotten):
        raise CheckinRefused("unknown", UNKNOWN) from None


def _aggregate(ledger: Ledger, slug: str) -> Any:
    try:
        return ledger.client(slug)
    except ClientNotFound:
        raise CheckinRefused("unknown", UNKNOWN) from None


def view_of(rs: ReadSide, slug: str, checkin: str, state: dict[str, Any]) -> CheckinView:
    """The client's name and, per KPI of the check-in, its name, unit, scale and last self-reported value."""
    c = rs.client(slug)
    now = datetime.now(tz=UTC)
    defs = history.def_rows(rs.db, c["key"], None)
    questions = []
    for kpi in state["kpis"]:
        definition = calc.definition_at(defs[kpi], now)
        last = _last_self(rs, c["key"], kpi)
        value = None
        if last is not None:
            value = calc.convert(Decimal(last[1]), datetime.fromisoformat(last[0]), now, defs[kpi])
        questions.append(
            Question(
                kpi,
                str(definition["name"]),
                str(definition["unit"]),
                definition["scale_min"],  # type: ignore[arg-type]
                definition["scale_max"],  # type: ignore[arg-type]
                value,
                last[0][:10] if last else None,
            )
        )
    return CheckinView(slug, c["name"], checkin, state["kind"], state["expires"], questions)


def _last_self(rs: ReadSide, key: int, kpi: str) -> tuple[str, str] | None:
    """(effective time, value as corrected) of the KPI's latest self-reported measurement."""
    rows = [
        m for m in progress.measurement_rows(rs.db, key, kpi) if m["source"] == "self" and not m["retracted"]
    ]
    if not rows:
        return None
    last = rows[-1]  # in effective order
    return last["effective_at"], last["corrected_value"] or last["value"]


# -- answers as the page and the form file give them -------------------------------------------


def answer(kpi: str, value: Any, confidence: Any = None, note: Any = None) -> Answer | None:
    """One answer from text fields (a blank value: the KPI is left unanswered)."""
    text = "" if value is None else str(value).strip().replace(",", ".")  # a phone's decimal comma
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise InvalidValue(f"the value for {kpi} is not a number: '{text[:40]}'") from None
    sure: int | None = None
    if confidence is not None and str(confidence).strip():
        try:
            sure = int(str(confidence).strip())
        except ValueError:
            raise InvalidValue(f"the confidence for {kpi} is not a whole number 0..10") from None
    said = str(note).strip() if note is not None else ""
    return Answer(kpi, number, sure, said or None)


def rating_of(value: Any) -> int | None:
    if value is None or not str(value).strip():
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        raise InvalidValue("the rating is a whole number 1..5") from None
