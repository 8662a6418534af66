"""The check-in page, ``/checkin/<token>``: a client reports their own values, without signing in.

The token in the path is the secret (the ledger keeps only its SHA-256; ``services.checkins``
finds and checks it). The page shows the client's name and, per KPI of the link, its name,
scale, unit and last self-reported value: nothing else of the ledger. A POST is refused from
another site (``Origin``, ``Sec-Fetch-Site``) and without the stamp the page was rendered with
(signed by the server's key, bound to the token); requests are limited per link and per
address (``SignInLimits``). A bad value comes back beside its field with nothing written; an
unknown or altered link answers 404, a revoked, expired or used one 410, each one page.
The token never reaches the access log (``redact_access_log``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from coachledger.errors import CheckinRefused, DomainError
from coachledger.services import checkins
from coachledger.services.access import Viewer
from coachledger.web.auth import MAX_FIELDS, _unfit, services
from coachledger.web.render import page
from coachledger.web.security import CSRF_FIELD

PREFIX = "/checkin/"
STATUS = {"unknown": 404, "revoked": 410, "expired": 410, "used": 410}
TITLES = {
    "unknown": "This link is not valid",
    "revoked": "This link was withdrawn",
    "expired": "This link has expired",
    "used": "This link was used already",
}


class RedactCheckinTokens(logging.Filter):
    """Keeps check-in tokens out of the access log: ``/checkin/<token>`` is logged as ``/checkin/…``."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (
            isinstance(args, tuple)
            and len(args) >= 3
            and isinstance(args[2], str)
            and args[2].startswith(PREFIX)
        ):
            record.args = (*args[:2], PREFIX + "…", *args[3:])
        return True


def redact_access_log() -> None:
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactCheckinTokens) for f in logger.filters):
        logger.addFilter(RedactCheckinTokens())


def _address(request: Request) -> str:
    return request.client.host if request.client else "-"


def _limited(request: Request, token: str) -> Response | None:
    """Too many requests for this link, or too many unknown links from this address."""
    wait = services(request).checkin_limits.wait("link:" + checkins.token_hash(token), _address(request))
    if not wait:
        return None
    minutes = max(1, round(wait / 60))
    response = _closed(
        request,
        "Too many requests",
        f"Too many requests for this link: try again in {minutes} minute(s).",
        429,
    )
    response.headers["retry-after"] = str(wait)
    return response


def _closed(request: Request, title: str, message: str, status: int) -> Response:
    return page(request, "checkin_closed.html", status, title=title, message=message)


def _refusal(request: Request, token: str, refusal: CheckinRefused) -> Response:
    if refusal.why == "unknown":
        services(request).checkin_limits.failed("link:" + checkins.token_hash(token), _address(request))
    message = str(refusal)
    return _closed(
        request,
        TITLES.get(refusal.why, "This link takes no answers"),
        message[:1].upper() + message[1:] + ".",
        STATUS.get(refusal.why, 410),
    )


def _form(
    request: Request,
    token: str,
    view: Any,
    status: int = 200,
    errors: dict[str, str] | None = None,
    typed: Any = None,
) -> Response:
    stamp = services(request).tokens.new_checkin(checkins.token_hash(token))
    return page(
        request, "checkin.html", status, view=view, action=PREFIX + token, stamp=stamp,
        errors=errors or {}, typed=typed or {},
    )  # fmt: skip


def _show(request: Request, token: str) -> Response:
    svc = services(request)
    rs = svc.reads()
    try:
        with svc.writing(Viewer("client")) as ledger:
            view = checkins.open_checkin(ledger, token, views=rs)
    except CheckinRefused as refusal:
        return _refusal(request, token, refusal)
    return _form(request, token, view)


async def show(request: Request) -> Response:
    token = str(request.path_params["token"])
    limited = _limited(request, token)
    if limited is not None:
        return limited
    return await run_in_threadpool(_show, request, token)


def _field_of(message: str, view: Any) -> str:
    """The field a refusal is about: a KPI's value or confidence, the rating, the comment, or the form."""
    lowered = message.lower()
    if "rating" in lowered:
        return "rating"
    if "comment" in lowered:
        return "comment"
    for q in view.questions:
        if q.kpi in message or q.name in message:
            return ("confidence-" if "confidence" in lowered else "value-") + q.kpi
    return "_form"


def _placed(ledger: Any, view: Any, digest: str, answers: list[Any], refusal: DomainError) -> dict[str, str]:
    """A refusal beside the field it is about: when it names none, each answer is tried alone on
    the client's aggregate as loaded (in memory, never saved) to find the one refused."""
    field = _field_of(str(refusal), view)
    if field != "_form":
        return {field: str(refusal)}
    errors: dict[str, str] = {}
    now = datetime.now(tz=UTC)
    for one in answers:
        try:
            ledger.client(view.client).answer_checkin(view.checkin, digest, [one], now, None, None, view.kind)
        except DomainError as e:
            errors[("confidence-" if "confidence" in str(e).lower() else "value-") + one.kpi] = str(e)
    return errors or {"_form": str(refusal)}


def _submit(request: Request, token: str, form: FormData) -> Response:
    svc = services(request)
    rs = svc.reads()
    with svc.writing(Viewer("client")) as ledger:
        try:
            view = checkins.open_checkin(ledger, token, views=rs)
        except CheckinRefused as refusal:
            return _refusal(request, token, refusal)
        digest = checkins.token_hash(token)
        if not svc.tokens.checkin_stamp_ok(form.get(CSRF_FIELD), digest):
            return _form(
                request,
                token,
                view,
                403,
                {"_form": "This page was stale: please check your answers and send them again."},
                form,
            )
        errors: dict[str, str] = {}
        answers = []
        for q in view.questions:
            try:
                found = checkins.answer(
                    q.kpi,
                    form.get("value-" + q.kpi),
                    form.get("confidence-" + q.kpi),
                    form.get("note-" + q.kpi),
                )
            except DomainError as e:
                errors[_field_of(str(e), view)] = str(e)
                continue
            if found is not None and found.confidence is not None and not 0 <= found.confidence <= 10:
                errors["confidence-" + q.kpi] = (
                    f"the confidence is a whole number 0..10, not {found.confidence}"
                )
            elif found is not None:
                answers.append(found)
        rating = None
        try:
            rating = checkins.rating_of(form.get("rating"))
        except DomainError as e:
            errors["rating"] = str(e)
        if errors:
            return _form(request, token, view, 400, errors, form)
        comment = str(form.get("comment") or "").strip() or None
        try:
            receipt = checkins.submit_checkin(ledger, token, answers, rating, comment, views=rs)
        except CheckinRefused as refusal:
            return _refusal(request, token, refusal)
        except DomainError as e:
            return _form(request, token, view, 400, _placed(ledger, view, digest, answers, e), form)
    return page(request, "checkin_done.html", 200, view=view, receipt=receipt)


async def submit(request: Request) -> Response:
    token = str(request.path_params["token"])
    refusal = _unfit(request)
    if refusal is None and request.headers.get("sec-fetch-site", "same-origin") not in (
        "same-origin",
        "none",
    ):
        refusal = _closed(request, "Refused", "This form was sent from another site.", 403)
    if refusal is not None:
        return refusal
    limited = _limited(request, token)
    if limited is not None:
        return limited
    try:
        form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    except Exception:  # a body that is no form of ours
        return _closed(request, "Refused", "This is not a form this server sent.", 400)
    return await run_in_threadpool(_submit, request, token, form)
