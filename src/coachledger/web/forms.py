"""The forms: record a measurement, a baseline, feedback, a session, an action; adjust a KPI.

Each form calls the write side the CLI calls (``application.Ledger``), as the signed-in
coach. A refusal is the CLI's own (the same domain errors, ``cli/common.py`` maps them to
``Error:`` lines): the form comes back with the message beside the field it is about and
the values as typed, and nothing is written (the domain refuses before an event exists).
After a write, the browser is sent to the client's page (``?done=`` names what was done).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from coachledger.errors import (
    DomainError,
    FromTheFuture,
    NeedsConfirmation,
    ReasonRequired,
    RetiredKpi,
)
from coachledger.projections import clients
from coachledger.projections.read import ReadSide
from coachledger.services.access import Viewer, client_for
from coachledger.vocab import Dimension, Horizon, Source, values
from coachledger.web import fields
from coachledger.web.auth import posting, services, signed_in
from coachledger.web.render import json_response, page, wants_json

if TYPE_CHECKING:
    from coachledger.application import Ledger


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text | number | date | datetime | select | textarea | checkbox | checkboxes
    required: bool = False
    help: str = ""
    options: str = ""  # select and checkboxes: "kpis", "goals", "sources", "about", "ratings", ...
    words: tuple[str, ...] = ()  # what a refusal about this field says (see ``field_of``)


@dataclass(frozen=True)
class Form:
    name: str
    title: str
    button: str
    fields: tuple[Field, ...]
    record: Callable[[Ledger, str, Mapping[str, Any]], Any]
    fallback: str | None = None  # the field a refusal is about when it names none
    by_type: dict[type, str] = field(default_factory=dict)


AT = Field("at", "Effective date", "date", help="When it was true (default: now). Times are UTC.", words=("dated", "date", "future", "years"))
KPI = Field("kpi", "KPI", "select", True, options="kpis", words=("unknown kpi", "retired", "kpi '"))


def _measurement(ledger: Ledger, slug: str, v: Mapping[str, Any]) -> Any:
    return ledger.record_measurement(
        slug,
        fields.required(v, "kpi", "KPI"),
        _required_number(v, "value"),
        fields.moment(v, "at"),
        fields.choice(v, "source", SOURCES) or Source.COACH.value,
        fields.text(v, "note"),
        fields.whole(v, "confidence", 0, 10),
        confirmed=fields.flag(v, "confirm"),
    )


def _baseline(ledger: Ledger, slug: str, v: Mapping[str, Any]) -> Any:
    return ledger.establish_baseline(
        slug,
        fields.required(v, "kpi", "KPI"),
        _required_number(v, "value"),
        fields.moment(v, "at"),
        fields.text(v, "source"),
        fields.text(v, "reason"),
        confirmed=fields.flag(v, "confirm"),
    )


def _feedback(ledger: Ledger, slug: str, v: Mapping[str, Any]) -> Any:
    rating = fields.whole(v, "rating", 1, 5)
    if rating is None:
        raise fields.Unreadable("rating", "rating is required")
    return ledger.receive_feedback(
        slug, rating, fields.text(v, "comment"), fields.text(v, "about") or "session", fields.moment(v, "at")
    )


def _session(ledger: Ledger, slug: str, v: Mapping[str, Any]) -> Any:
    kpis = [k for k in _all(v, "kpis") if k]
    actions = [line.strip() for line in (fields.text(v, "actions") or "").splitlines() if line.strip()]
    return ledger.log_session(slug, fields.moment(v, "at"), fields.required(v, "notes"), kpis, actions)


def _action(ledger: Ledger, slug: str, v: Mapping[str, Any]) -> Any:
    return ledger.open_action(slug, fields.required(v, "text"), fields.moment(v, "due"), fields.text(v, "kpi"))


def _adjust(ledger: Ledger, slug: str, v: Mapping[str, Any]) -> Any:
    kpi, reason = fields.required(v, "kpi", "KPI"), fields.required(v, "reason")
    scale = fields.scale(v, "scale")
    rescale = fields.flag(v, "rescale")
    if rescale and scale is None:
        raise fields.Unreadable("rescale", "rescale needs a new scale")
    return ledger.adjust_kpi(
        slug,
        kpi,
        reason,
        fields.moment(v, "at"),
        target=fields.number(v, "target"),
        due=fields.moment(v, "due"),
        unit=fields.text(v, "unit"),
        name=fields.text(v, "name"),
        scale_min=scale[0] if scale else None,
        scale_max=scale[1] if scale else None,
        rescale=rescale,
        factor=fields.number(v, "factor"),
        method=fields.text(v, "method"),
        goal=fields.text(v, "goal"),
        dimension=fields.choice(v, "dimension", values(Dimension)),
        horizon=fields.choice(v, "horizon", values(Horizon)),
        cadence=fields.text(v, "cadence"),
        weight=fields.number(v, "weight"),
    )


def _required_number(v: Mapping[str, Any], name: str) -> Any:
    value = fields.number(v, name)
    if value is None:
        raise fields.Unreadable(name, f"{name} is required")
    return value


def _all(v: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(v, "getlist", None)
    return [str(x) for x in getlist(name)] if getlist is not None else []


SOURCES = values(Source)
VALUE = Field("value", "Value", "number", True, help="In the scale and unit of the KPI in force at the date.", words=("value", "scale", "100x"))
CONFIRM = Field("confirm", "Record it anyway", "checkbox", help="The value is far from the last one after a unit change: I checked it.")

FORMS: dict[str, Form] = {
    form.name: form
    for form in (
        Form(
            "measurement",
            "Record a measurement",
            "Record",
            (
                KPI,
                VALUE,
                AT,
                Field("source", "Source", "select", options="sources", words=("source",)),
                Field("confidence", "Confidence (0-10)", "number", help="Of reaching the target.", words=("confidence",)),
                Field("note", "Note", words=("note",)),
                CONFIRM,
            ),
            _measurement,
            fallback="value",
            by_type={FromTheFuture: "at", NeedsConfirmation: "value", RetiredKpi: "kpi"},
        ),
        Form(
            "baseline",
            "Establish a baseline",
            "Record the baseline",
            (
                KPI,
                VALUE,
                AT,
                Field("source", "Source", help="Where the value comes from.", words=("source",)),
                Field("reason", "Reason", help="Needed to re-baseline a KPI that has a baseline.", words=("reason",)),
                CONFIRM,
            ),
            _baseline,
            fallback="value",
            by_type={FromTheFuture: "at", NeedsConfirmation: "value", ReasonRequired: "reason", RetiredKpi: "kpi"},
        ),
        Form(
            "feedback",
            "Record feedback",
            "Record the feedback",
            (
                Field("rating", "Rating", "select", True, options="ratings", words=("rating",)),
                Field("about", "About", "select", options="about", words=("about",)),
                Field("comment", "Comment", "textarea", words=("comment",)),
                AT,
            ),
            _feedback,
            fallback="rating",
        ),
        Form(
            "session",
            "Log a session",
            "Log the session",
            (
                AT,
                Field("notes", "Notes", "textarea", True, words=("notes",)),
                Field("kpis", "KPIs discussed", "checkboxes", options="kpis", words=("kpi",)),
                Field("actions", "Agreed actions", "textarea", help="One per line; each opens an action.", words=("action",)),
            ),
            _session,
            fallback="notes",
        ),
        Form(
            "action",
            "Open an action",
            "Open the action",
            (
                Field("text", "Action", required=True, words=("text",)),
                Field("due", "Due", "date", words=("due", "years")),
                Field("kpi", "Serves KPI", "select", options="kpis-optional", words=("kpi",)),
            ),
            _action,
            fallback="text",
        ),
        Form(
            "adjust",
            "Adjust a KPI",
            "Adjust",
            (
                KPI,
                Field("reason", "Reason", required=True, help="Why the KPI changes.", words=("reason",)),
                Field("target", "New target", "number", words=("target",)),
                Field("due", "New due date", "date", words=("due date", "due")),
                Field("unit", "New unit", words=("unit",)),
                Field("factor", "Unit factor", "number", help="new = old × factor (EUR → kEUR: 0.001).", words=("factor",)),
                Field("scale", "New scale", help="MIN..MAX, e.g. 1..10", words=("scale",)),
                Field("rescale", "Map earlier values onto the new scale", "checkbox", words=("rescale",)),
                Field("name", "New name", words=("name",)),
                Field("method", "Measured by", words=("method",)),
                Field("goal", "Serves goal", "select", options="goals-optional", words=("goal",)),
                Field("dimension", "Dimension", "select", options="dimensions", words=("dimension",)),
                Field("horizon", "Horizon", "select", options="horizons", words=("horizon",)),
                Field("cadence", "Cadence", help="weekly, biweekly, monthly, quarterly or Nd", words=("cadence",)),
                Field("weight", "Weight in its goal", "number", words=("weight",)),
                Field("at", "Effective date", "date", help="When the change takes effect (default: now).", words=("effective",)),
            ),
            _adjust,
            by_type={ReasonRequired: "reason", RetiredKpi: "kpi"},
        ),
    )
}


def field_of(form: Form, error: Exception) -> str | None:
    """The field a refusal is about: by its kind, else by what it says, else the form's main field."""
    if isinstance(error, fields.Unreadable):
        return error.field
    for kind, name in form.by_type.items():
        if isinstance(error, kind):
            return name
    said = str(error).lower()
    for f in form.fields:
        if any(word in said for word in f.words):
            return f.name
    return form.fallback


def shown(error: Exception) -> str:
    """A refusal as the page says it: the CLI's words, without its option dashes (--reason)."""
    text = re.sub(r" \((?:--[a-z-]+(?:, )?)+\)", "", str(error))  # " (--reason)": an option to type
    return re.sub(r"--(?=[a-z])", "", text)


def options(rs: ReadSide, client: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """The choices of the selects, from the client's KPIs and goals."""
    kpis = [(k["kpi"], f"{k['name']} ({k['kpi']}, {k['unit']})") for k in rs.kpi_list(client["client"])["kpis"] if not k["retired"]]
    goals = [(g.goal, f"{g.text} ({g.goal})") for g in clients.goals(rs.db, client["key"])]
    return {
        "kpis": kpis,
        "kpis-optional": [("", "-"), *kpis],
        "goals-optional": [("", "unchanged"), *goals],
        "sources": [(s, s) for s in sorted(SOURCES, key=lambda s: s != Source.COACH.value)],  # the CLI's default first
        "ratings": [("", "-"), *((str(n), f"{n} of 5") for n in range(5, 0, -1))],
        "about": [("session", "the session"), ("process", "the coaching process"), *((f"kpi:{k}", f"KPI {k}") for k, _ in kpis)],
        "dimensions": [("", "unchanged"), *((d, d) for d in values(Dimension))],
        "horizons": [("", "unchanged"), *((h, h) for h in values(Horizon))],
    }


def form_page(
    request: Request,
    rs: ReadSide,
    client: dict[str, Any],
    form: Form,
    typed: Mapping[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    typed = typed or {}
    return page(
        request,
        "form.html",
        status,
        client=client,
        form=form,
        choices=options(rs, client),
        typed={f.name: (_all(typed, f.name) if f.kind == "checkboxes" else typed.get(f.name, "")) for f in form.fields},
        errors=errors or {},
        ask_confirm=bool(errors) and any(f.name == "confirm" for f in form.fields) and bool(typed.get("_confirm")),
    )


def show_form(name: str) -> Callable[[Request], Response]:
    form = FORMS[name]

    @signed_in
    def endpoint(request: Request, viewer: Viewer, rs: ReadSide) -> Response:
        client = client_for(rs, viewer, request.path_params["slug"])
        return form_page(request, rs, client, form, dict(request.query_params))

    endpoint.__name__ = f"{name}_form"
    return endpoint


def submit_form(name: str) -> Callable[[Request], Any]:
    form = FORMS[name]

    @posting
    def endpoint(request: Request, viewer: Viewer, rs: ReadSide, typed: FormData) -> Response:
        slug = request.path_params["slug"]
        client = client_for(rs, viewer, slug)  # another coach's client: 404, nothing written
        try:
            with services(request).writing(viewer) as ledger:
                done = form.record(ledger, slug, typed)
        except (DomainError, fields.Unreadable) as error:
            where = field_of(form, error)
            if wants_json(request):
                return json_response({"error": shown(error), "field": where}, 422)
            again: dict[str, Any] = {k: typed.get(k) for k in typed}
            again["kpis"] = typed.getlist("kpis")
            again["_confirm"] = isinstance(error, NeedsConfirmation)
            return form_page(request, rs, client, form, _Typed(again, typed), {where or "_form": shown(error)}, 422)
        if wants_json(request):
            return json_response({"client": slug, "done": name, "id": done if isinstance(done, str) else None}, 201)
        return RedirectResponse(f"/clients/{slug}?done={name}", status_code=303)

    endpoint.__name__ = f"{name}_submit"
    return endpoint


class _Typed(dict[str, Any]):
    """The values as typed, with the lists of repeated fields (the KPIs of a session)."""

    def __init__(self, values: dict[str, Any], form: FormData) -> None:
        super().__init__(values)
        self._form = form

    def getlist(self, name: str) -> list[Any]:
        return list(self._form.getlist(name))
