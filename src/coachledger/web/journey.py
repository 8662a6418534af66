"""A client's journey: the replay stepper, a KPI's history, the timeline with filters."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from coachledger.adapters.event_reads import known_seq_at
from coachledger.errors import DomainError
from coachledger.projections.read import ReadSide, iso
from coachledger.services.access import Viewer, client_for
from coachledger.services.documents import replay_document, timeline_document
from coachledger.web import fields
from coachledger.web.auth import not_found, services, signed_in
from coachledger.web.pages import refused_params, travel
from coachledger.web.render import answer, json_response, page, wants_json


@signed_in
def replay_page(request: Request, viewer: Viewer, rs: ReadSide) -> Response:
    """Step N of M through the journey: the event, and the progress the coach saw right then."""
    slug = request.path_params["slug"]
    client = client_for(rs, viewer, slug)
    _, known_at, errors = travel(request)
    errors.pop("as_of", None)
    if errors and wants_json(request):
        return refused_params(errors)
    svc = services(request)
    # A client's replay is the same while its stream is: made once per process for each last event.
    last = known_seq_at(rs.db, client["stream"], "9999")
    doc = svc.replays.get((slug, iso(known_at), last), lambda: replay_document(rs.replay(slug, known_at)))
    total = len(doc.steps)
    try:
        step = fields.whole(request.query_params, "step", 1, max(total, 1)) or 1
    except fields.Unreadable as e:
        errors["step"] = str(e)
        step = 1
    if wants_json(request):
        return json_response(doc)
    return page(
        request,
        "replay.html",
        400 if errors else 200,
        client=client,
        step=step,
        total=total,
        current=doc.steps[step - 1] if total else None,
        known_at=request.query_params.get("known_at", "") if known_at or errors else "",
        errors=errors,
    )


@signed_in
def history_page(request: Request, viewer: Viewer, rs: ReadSide) -> Response:
    """Every definition version of a KPI, with its field-level changes."""
    slug, kpi = request.path_params["slug"], request.path_params["kpi"]
    client = client_for(rs, viewer, slug)
    try:
        doc = rs.history(slug, kpi)
    except DomainError:  # an unknown KPI
        return not_found(request)
    return answer(request, "history.html", doc, client=client, doc=doc)


def _moment(q: Mapping[str, Any], name: str, errors: dict[str, str]) -> datetime | None:
    try:
        return fields.moment(q, name)
    except fields.Unreadable as e:
        errors[name] = str(e)
        return None


@signed_in
def timeline_page(request: Request, viewer: Viewer, rs: ReadSide) -> Response:
    """Every event of the client, both times, who, what: by recording days, event type and actor."""
    slug = request.path_params["slug"]
    client = client_for(rs, viewer, slug)
    q = request.query_params
    errors: dict[str, str] = {}
    since, until, known_at = (_moment(q, name, errors) for name in ("from", "to", "known_at"))
    if errors and wants_json(request):
        return refused_params(errors)
    if until is not None:  # a day is included whole, as the CLI's --to
        until += timedelta(days=1) if until.time() == until.min.time() else timedelta(microseconds=1)
    doc = rs.timeline(slug, since, until, known_at)
    every = timeline_document(slug, doc.events)
    kinds = sorted({e["type"] for e in every["events"]})
    actors = sorted({e["actor"] for e in every["events"]})
    kind, actor = fields.text(q, "type"), fields.text(q, "actor")
    shown = [
        e for e in every["events"] if (kind is None or e["type"] == kind) and (actor is None or e["actor"] == actor)
    ]
    document = {"client": slug, "events": shown}
    return answer(
        request,
        "timeline.html",
        document,
        400 if errors else 200,
        client=client,
        events=shown,
        kinds=kinds,
        actors=actors,
        chosen={"type": kind or "", "actor": actor or ""},
        values={name: q.get(name, "") for name in ("from", "to", "known_at")},
        errors=errors,
    )
