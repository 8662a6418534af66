"""A coach's dashboard: their clients, what is due, open actions, recent feedback, the portfolio.

One document from the read functions the command line uses (``client list``, ``due``,
``portfolio``) and two more across clients (open actions, recent feedback), each over the
viewer's clients only (``access.Viewer.coach_filter``: every client for an admin).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coachledger.projections import clients, followup, journal
from coachledger.projections.due import due
from coachledger.projections.read import ReadSide, iso
from coachledger.services.access import Viewer
from coachledger.services.documents import client_list_document

DUE_WITHIN_DAYS = 7
RECENT_FEEDBACK = 10


def dashboard(rs: ReadSide, viewer: Viewer, moment: datetime) -> dict[str, Any]:
    coach = viewer.coach_filter
    at = iso(moment) or ""
    mine = {c["key"]: c for c in clients.all_clients(rs.db, coach)}
    return {
        "coach": viewer.name,
        "admin": viewer.admin,
        "as_of": at,
        **client_list_document(rs.client_list(coach)),
        "due": due(rs.db, moment=moment, within_days=DUE_WITHIN_DAYS, coach=coach),
        "open_actions": followup.open_across(rs.db, mine, at, everyone=coach is None),
        "recent_feedback": journal.recent_feedback(rs.db, mine, at, RECENT_FEEDBACK, everyone=coach is None),
        "portfolio": rs.portfolio(coach, moment, None),
    }
