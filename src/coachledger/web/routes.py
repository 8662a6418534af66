"""The server's route table: every page, form and file, in one list.

A page answers its JSON at the same path with ``.json`` (``page`` adds that route before
the page's own, so that ``/clients/ana-lopez.json`` is not read as a client id). To add a
page, add its routes here (a new module's handlers, with ``signed_in`` or ``posting`` from
``auth`` for pages that need a coach).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from coachledger.web import auth, checkin, forms, journey, pages


def page(path: str, endpoint: Callable[..., Any]) -> list[BaseRoute]:
    """A page and its JSON (``path.json``)."""
    return [Route(path + ".json", endpoint, methods=["GET"]), Route(path, endpoint, methods=["GET"])]


ROUTES: list[BaseRoute] = [
    Route("/", pages.home, methods=["GET"]),
    Route("/signin", auth.sign_in_page, methods=["GET"]),
    Route("/signin", auth.sign_in, methods=["POST"]),
    Route("/signout", auth.sign_out, methods=["POST"]),
    *page("/dashboard", pages.dashboard_page),
    # a client's check-in link: no sign-in, the token is the secret
    Route("/checkin/{token}", checkin.show, methods=["GET"]),
    Route("/checkin/{token}", checkin.submit, methods=["POST"]),
    # a client: its report, its journey, then its forms, then the page itself
    Route("/clients/{slug}/report.json", pages.report_download, methods=["GET"]),
    Route("/clients/{slug}/report.md", pages.report_download, methods=["GET"]),
    Route("/clients/{slug}/report.html", pages.report_download, methods=["GET"]),
    Route("/clients/{slug}/report", pages.report_download, methods=["GET"]),
    *page("/clients/{slug}/replay", journey.replay_page),
    *page("/clients/{slug}/timeline", journey.timeline_page),
    *page("/clients/{slug}/history/{kpi}", journey.history_page),
    *(
        route
        for name in forms.FORMS
        for route in (
            Route(f"/clients/{{slug}}/{name}", forms.show_form(name), methods=["GET"]),
            Route(f"/clients/{{slug}}/{name}", forms.submit_form(name), methods=["POST"]),
        )
    ),
    *page("/clients/{slug}", pages.client_page),
    Route("/static/report.css", pages.report_css, methods=["GET"]),
    Mount("/static", StaticFiles(packages=[("coachledger.web", "static")]), name="static"),
]
