"""Signing in and out, and what every page and form goes through first.

``signed_in`` wraps a page: the session cookie is checked (signature, age, and the coach's
stream: not disabled, nothing changed since the sign-in), the views are brought up to date,
and a client that is not the viewer's answers 404 (``services.access.client_for`` raises
``ClientNotFound`` for an unknown client and for another coach's alike). ``posting`` wraps
a form's handler: the same, and the form's CSRF token must be the session's.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from coachledger.errors import ClientNotFound
from coachledger.projections.read import ReadSide
from coachledger.services import access
from coachledger.services.access import Viewer
from coachledger.web.render import json_response, page, wants_json
from coachledger.web.security import (
    CSRF_FIELD,
    SESSION_COOKIE,
    SESSION_HOURS,
    SIGNIN_COOKIE,
    SIGNIN_MINUTES,
    cookie_header,
    same_origin,
    same_token,
)
from coachledger.web.state import Services

log = logging.getLogger("coachledger.web")
Page = Callable[[Request, Viewer, ReadSide], Response]
Action = Callable[[Request, Viewer, ReadSide, FormData], Response]
MAX_FIELDS = 200  # a form of ours has a few dozen at most
MAX_BODY = 1 << 20  # bytes: a form of ours is a few kilobytes


class BadRequest(Exception):
    """A request that cannot be answered as asked: ``field`` (if any) and what is wrong."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def _viewer(request: Request, rs: ReadSide) -> Viewer | None:
    svc = services(request)
    session = svc.tokens.session(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None
    viewer = access.still_valid(rs, session.coach, session.version)
    if viewer is not None:
        request.state.viewer = viewer
        request.state.csrf = session.csrf
    return viewer


def not_found(request: Request) -> Response:
    """The same answer for an unknown client and for another coach's."""
    if wants_json(request):
        return json_response({"error": "not found"}, 404)
    return page(request, "error.html", 404, title="Not found", message="There is no such page here.")


def refused(request: Request, message: str, status: int) -> Response:
    if wants_json(request):
        return json_response({"error": message}, status)
    return page(request, "error.html", status, title="Refused", message=message)


def _to_sign_in(request: Request) -> Response:
    if wants_json(request):
        return json_response({"error": "sign in first"}, 401)
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?next={quote(back, safe='')}", status_code=303)


def _guarded(request: Request, run: Callable[[Viewer, ReadSide], Response]) -> Response:
    rs = services(request).reads()
    viewer = _viewer(request, rs)
    if viewer is None:
        return _to_sign_in(request)
    try:
        return run(viewer, rs)
    except ClientNotFound:
        return not_found(request)
    except BadRequest as e:
        return refused(request, str(e), 400)


def _unfit(request: Request) -> Response | None:
    """A POST refused before its body is read: from another site, or far larger than a form."""
    if not same_origin(request.headers, request.headers.get("host", "")):
        return refused(request, "This form was sent from another site.", 403)
    length = request.headers.get("content-length", "0")
    if not length.isdigit() or int(length) > MAX_BODY:
        return refused(request, "This form is too large.", 413)
    return None


def signed_in(fn: Page) -> Callable[[Request], Response]:
    """A page for signed-in coaches (run in a worker thread: it reads the store)."""

    @functools.wraps(fn)
    def endpoint(request: Request) -> Response:
        return _guarded(request, lambda viewer, rs: fn(request, viewer, rs))

    return endpoint


def posting(fn: Action) -> Callable[[Request], Any]:
    """A form's handler: signed in, same origin, and the session's CSRF token in the form."""

    @functools.wraps(fn)
    async def endpoint(request: Request) -> Response:
        refusal = _unfit(request)
        if refusal is not None:
            return refusal
        try:
            form = await request.form(max_files=0, max_fields=MAX_FIELDS)
        except Exception:  # a body that is no form of ours
            return refused(request, "This is not a form this server sent.", 400)

        def run(viewer: Viewer, rs: ReadSide) -> Response:
            if not same_token(getattr(request.state, "csrf", None), form.get(CSRF_FIELD)):
                return refused(request, "The form's security token is missing or stale: reload the page.", 403)
            return fn(request, viewer, rs, form)

        return await run_in_threadpool(_guarded, request, run)

    return endpoint


# -- signing in and out --------------------------------------------------------------------


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _next(value: Any) -> str:
    """Where to go after signing in: a path of this server only."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/dashboard"


def _sign_in_form(request: Request, status: int = 200, error: str | None = None, name: str = "") -> Response:
    cookie, token = services(request).tokens.new_signin()
    response = page(
        request, "signin.html", status, token=token, error=error, name=name, next=_next(request.query_params.get("next"))
    )
    response.headers.append(
        "set-cookie", cookie_header(SIGNIN_COOKIE, cookie, max_age=SIGNIN_MINUTES * 60, secure=_secure(request))
    )
    return response


def sign_in_page(request: Request) -> Response:
    rs = services(request).reads()
    if _viewer(request, rs) is not None:
        return RedirectResponse(_next(request.query_params.get("next")), status_code=303)
    return _sign_in_form(request)


async def sign_in(request: Request) -> Response:
    refusal = _unfit(request)
    if refusal is not None:
        return refusal
    try:
        form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    except Exception:
        return refused(request, "This is not a form this server sent.", 400)
    return await run_in_threadpool(_sign_in, request, form)


def _sign_in(request: Request, form: FormData) -> Response:
    svc = services(request)
    name, password = str(form.get("name") or "").strip(), str(form.get("password") or "")
    expected = svc.tokens.signin_token(request.cookies.get(SIGNIN_COOKIE))
    if not same_token(expected, form.get(CSRF_FIELD)):
        return _sign_in_form(request, 403, "The sign-in form was stale: please sign in again.", name)
    address = request.client.host if request.client else "-"
    wait = svc.limits.wait(address, name)
    if wait:
        minutes = max(1, round(wait / 60))
        return _sign_in_form(request, 429, f"Too many sign-in attempts: try again in {minutes} minute(s).", name)
    viewer = access.sign_in(svc.reads(), name, password)
    if viewer is None:
        svc.limits.failed(address, name)
        log.info("sign-in refused from %s", address)  # never the name or the password
        return _sign_in_form(request, 401, "Wrong name or password.", name)
    svc.limits.succeeded(name)
    cookie, _session = svc.tokens.new_session(viewer.name, viewer.version)
    response = RedirectResponse(_next(form.get("next")), status_code=303)
    response.headers.append(
        "set-cookie", cookie_header(SESSION_COOKIE, cookie, max_age=SESSION_HOURS * 3600, secure=_secure(request))
    )
    response.headers.append("set-cookie", cookie_header(SIGNIN_COOKIE, "", max_age=0, secure=_secure(request)))
    return response


@posting
def sign_out(request: Request, viewer: Viewer, rs: ReadSide, form: FormData) -> Response:
    response = RedirectResponse("/signin", status_code=303)
    response.headers.append("set-cookie", cookie_header(SESSION_COOKIE, "", max_age=0, secure=_secure(request)))
    return response
