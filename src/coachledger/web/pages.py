"""The dashboard, a client's page and the report download.

Every client is resolved through ``services.access.client_for`` (404 for another coach's
client, as for an unknown one); every number comes from the read side the CLI uses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from coachledger.adapters.event_reads import last_seq_of
from coachledger.projections import clients
from coachledger.projections.read import ReadSide, now
from coachledger.services.access import Viewer, client_for
from coachledger.services.dashboard import dashboard
from coachledger.services.documents import progress_document, with_shown_status
from coachledger.services.report import build_report, render
from coachledger.services.report.html import CSS, LEGEND
from coachledger.services.report.svg import chart_svg
from coachledger.vocab import Status
from coachledger.web import fields
from coachledger.web.auth import services, signed_in
from coachledger.web.render import answer, json_response, page, trusted, wants_json
from coachledger.web.security import REPORT_CSP

# What a form's redirect may announce on the client's page (``?done=``): fixed words only.
DONE = {
    "measurement": "Measurement recorded.",
    "baseline": "Baseline recorded.",
    "feedback": "Feedback recorded.",
    "session": "Session logged.",
    "action": "Action opened.",
    "adjust": "KPI adjusted: a new definition version.",
}


def home(request: Request) -> Response:
    return RedirectResponse("/dashboard", status_code=303)


def report_css(request: Request) -> Response:
    """The report's stylesheet (its charts, tables and status badges), which the pages share."""
    return Response(CSS, media_type="text/css")


def travel(request: Request) -> tuple[datetime | None, datetime | None, dict[str, str]]:
    """The as-of date and known-at moment a page was asked for, and what could not be read."""
    errors: dict[str, str] = {}
    found: list[datetime | None] = []
    for name in ("as_of", "known_at"):
        try:
            found.append(fields.moment(request.query_params, name))
        except fields.Unreadable as e:
            errors[name] = str(e)
            found.append(None)
    return found[0], found[1], errors


def refused_params(errors: dict[str, str]) -> Response:
    field, message = next(iter(errors.items()))
    return json_response({"error": message, "field": field}, 400)


# -- the dashboard ---------------------------------------------------------------------------


@signed_in
def dashboard_page(request: Request, viewer: Viewer, rs: ReadSide) -> Response:
    svc = services(request)
    moment = now()
    # The same clients, the same events of theirs and the same minute give the same dashboard:
    # made once per process (a write to another coach's client changes nothing here).
    if viewer.admin:
        seen: tuple[Any, ...] = ("every client", svc.head(rs))
    else:
        streams = [c["stream"] for c in clients.all_clients(rs.db, viewer.coach_filter)]
        seen = (hash(tuple(streams)), last_seq_of(rs.db, streams))
    key = (viewer.name, viewer.admin, *seen, moment.strftime("%Y-%m-%dT%H:%M"))
    doc = svc.dashboards.get(key, lambda: dashboard(rs, viewer, moment))
    return answer(request, "dashboard.html", doc, doc=doc, Status=Status)


# -- a client's page -------------------------------------------------------------------------


@signed_in
def client_page(request: Request, viewer: Viewer, rs: ReadSide) -> Response:
    slug = request.path_params["slug"]
    client = client_for(rs, viewer, slug)
    as_of, known_at, errors = travel(request)
    if wants_json(request):
        if errors:
            return refused_params(errors)
        return json_response(progress_document(rs.progress(slug, as_of, known_at)))
    return client_html(request, rs, client, as_of, known_at, errors)


def client_html(
    request: Request,
    rs: ReadSide,
    client: dict[str, Any],
    as_of: datetime | None,
    known_at: datetime | None,
    errors: dict[str, str],
) -> Response:
    """The client's page as of ``as_of``, known at ``known_at``; ``errors``: what could not be read."""
    slug = client["client"]
    report = build_report(rs, slug, as_of, known_at, with_receipt=False)
    charts = [
        (section, trusted(chart_svg(section, report.as_of, f"chart-{n}")))
        for n, section in enumerate(report.kpis, 1)
    ]
    progress = with_shown_status(report.progress)
    active = [item for item in report.progress if not item.retired]
    return page(
        request,
        "client.html",
        400 if errors else 200,
        client=client,
        report=report,
        progress=progress,
        charts=charts,
        kpis=active,
        as_of=request.query_params.get("as_of", "") if as_of or errors else "",
        known_at=request.query_params.get("known_at", "") if known_at or errors else "",
        travelling=as_of is not None or known_at is not None or bool(errors),
        errors=errors,
        done=DONE.get(request.query_params.get("done", "")),
        legend=trusted(LEGEND),
    )


# -- the report, as the CLI writes it ---------------------------------------------------------


@signed_in
def report_download(request: Request, viewer: Viewer, rs: ReadSide) -> Response:
    slug = request.path_params["slug"]
    client_for(rs, viewer, slug)
    as_of, known_at, errors = travel(request)
    if errors:
        return refused_params(errors)
    path = request.url.path
    fmt = "json" if wants_json(request) else "md" if path.endswith(".md") else "html"
    text = render(build_report(rs, slug, as_of, known_at), fmt)
    if fmt == "json":
        return Response(text, media_type="application/json")
    suffix = "md" if fmt == "md" else "html"
    media = "text/markdown; charset=utf-8" if fmt == "md" else "text/html; charset=utf-8"
    response = Response(text, media_type=media)
    response.headers["content-disposition"] = f'attachment; filename="report-{slug}.{suffix}"'
    response.headers["content-security-policy"] = REPORT_CSP
    return response
