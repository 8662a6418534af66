"""Answers: an HTML page from a Jinja2 template (every value escaped), or the page's JSON.

A page is JSON when its path ends in ``.json`` or the request asks for ``application/json``
(and not for HTML); the JSON is written as the CLI's ``--json`` writes it, so a page and its
command give the same document.
"""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from coachledger.projections.models import json_default
from coachledger.services.report.text import day, num, pct, when
from coachledger.web.security import CSRF_FIELD

TEMPLATES = Environment(
    loader=PackageLoader("coachledger.web", "templates"),
    autoescape=select_autoescape(["html"], default_for_string=True, default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.filters.update(num=num, pct=pct, when=when, day=day)
TEMPLATES.globals.update(CSRF_FIELD=CSRF_FIELD)


def trusted(markup: str) -> Markup:
    """Markup made by the report's own renderers, which escape every value they write."""
    return Markup(markup)  # built by services/report, which escapes every value


def wants_json(request: Request) -> bool:
    if request.url.path.endswith(".json"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def json_text(document: Any) -> str:
    """As ``coachledger ... --json`` prints it."""
    return json.dumps(document, ensure_ascii=False, indent=2, default=json_default) + "\n"


def json_response(document: Any, status: int = 200) -> Response:
    return Response(json_text(document), status_code=status, media_type="application/json")


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The template rendered with the request's viewer and CSRF token."""
    state = request.state
    text = TEMPLATES.get_template(template).render(
        viewer=getattr(state, "viewer", None),
        csrf=getattr(state, "csrf", ""),
        path=request.url.path,
        **context,
    )
    return HTMLResponse(text, status_code=status)


def answer(request: Request, template: str, document: Any, status: int = 200, **context: Any) -> Response:
    """The page's JSON ``document``, or its HTML page, as the request asks."""
    if wants_json(request):
        return json_response(document, status)
    return page(request, template, status, **context)
