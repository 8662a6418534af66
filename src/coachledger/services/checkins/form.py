"""The offline check-in: a self-contained HTML form, and the answer file it saves.

``write_form`` issues a check-in form (``CheckinFormIssued``) and writes its page: no network,
no resource outside the file, a Content-Security-Policy that allows only the page's own
style and script (by their SHA-256). The client fills it in a browser, presses Save, and the
script saves the answers as a small JSON file (a download of a Blob) to send back to the coach.
``accept_answers`` records that file with the rules of every check-in: bound to the form's id,
its client, its KPIs and its token (whose SHA-256 the ledger keeps); a form is answered once.
"""

from __future__ import annotations

import base64
import hashlib
import html
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from coachledger.adapters.files import write_private
from coachledger.domain.checkins.commands import Receipt
from coachledger.errors import CheckinRefused, InvalidValue
from coachledger.projections.read import ReadSide
from coachledger.services.checkins import CheckinView, answer, issue, rating_of, token_hash, view_of

if TYPE_CHECKING:
    from coachledger.application import Ledger

FORMAT = "coachledger-checkin"
VERSION = 1
MAX_FILE = 256 * 1024


class FileAnswer(msgspec.Struct, forbid_unknown_fields=True):
    kpi: str
    value: str | int | float | None = None
    confidence: str | int | None = None
    note: str | None = None


class AnswerFile(msgspec.Struct, forbid_unknown_fields=True):
    """What the form saves (docs/CLI.md, ``checkin accept``)."""

    format: str
    version: int
    client: str
    form: str
    token: str
    answers: list[FileAnswer] = msgspec.field(default_factory=list)
    rating: str | int | None = None
    comment: str | None = None
    saved_at: str | None = None


STYLE = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2733;background:#f4f6f8}
main{max-width:40rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.2rem 0 .6rem}
fieldset{border:1px solid #c9d2dc;border-radius:.5rem;background:#fff;margin:0 0 1rem;padding:.8rem 1rem 1rem}
legend{font-weight:600;padding:0 .3rem}
label{display:block;margin:.6rem 0 .2rem}
input,textarea{display:block;width:100%;font:inherit;padding:.55rem .6rem;border:1px solid #9aa8b6;border-radius:.35rem}
textarea{min-height:4.5rem}
.hint{margin:.2rem 0;color:#52606d;font-size:.92rem}
.rating{display:flex;gap:.4rem;flex-wrap:wrap}
.rating label{display:inline-flex;align-items:center;gap:.3rem;margin:.2rem .6rem .2rem 0}
.rating input{width:auto}
button{font:inherit;font-weight:600;width:100%;padding:.8rem;border:0;border-radius:.5rem;background:#1f6feb;color:#fff}
#status{min-height:1.5rem;font-weight:600}
.error{color:#b42318}
""".strip()

SCRIPT = """
(() => {
  const form = document.getElementById("checkin");
  const status = document.getElementById("status");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const answers = [];
    for (const box of form.querySelectorAll("fieldset[data-kpi]")) {
      const kpi = box.dataset.kpi;
      const value = box.querySelector("[name=value]").value.trim();
      if (!value) continue;
      const sure = box.querySelector("[name=confidence]").value.trim();
      const note = box.querySelector("[name=note]").value.trim();
      answers.push({kpi: kpi, value: value, confidence: sure === "" ? null : Number(sure),
                    note: note === "" ? null : note});
    }
    const picked = form.querySelector("[name=rating]:checked");
    const comment = form.querySelector("[name=comment]").value.trim();
    if (!answers.length && !picked) {
      status.className = "error";
      status.textContent = "Please give at least one value or a rating.";
      return;
    }
    const saved = {format: form.dataset.format, version: Number(form.dataset.version),
                   client: form.dataset.client, form: form.dataset.form, token: form.dataset.token,
                   answers: answers, rating: picked ? Number(picked.value) : null,
                   comment: comment === "" ? null : comment, saved_at: new Date().toISOString()};
    const blob = new Blob([JSON.stringify(saved, null, 1) + "\\n"], {type: "application/json"});
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = form.dataset.file;
    document.body.appendChild(link);
    link.click();
    link.remove();
    status.className = "";
    status.textContent = "Saved as " + form.dataset.file + ": send this file to your coach.";
  });
})();
""".strip()


def _sha(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


CSP = (
    f"default-src 'none'; style-src '{_sha(STYLE)}'; script-src '{_sha(SCRIPT)}'; "
    "img-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'"
)


def _num(value: Decimal | None) -> str:
    return "" if value is None else format(value.normalize(), "f")


def render(view: CheckinView, token: str) -> str:
    """The form's page: every text escaped, the check-in's ids and token in data attributes."""
    e = html.escape
    file = f"checkin-{view.client}-{view.checkin}.json"
    boxes = []
    for q in view.questions:
        scale = (
            f"Scale {_num(q.scale_min)} to {_num(q.scale_max)}, in {q.unit}."
            if q.scale_min is not None
            else f"In {q.unit}."
        )
        last = f" Last time you said {_num(q.last_value)} ({q.last_at})." if q.last_value is not None else ""
        bounds = f' min="{_num(q.scale_min)}" max="{_num(q.scale_max)}"' if q.scale_min is not None else ""
        boxes.append(
            f'<fieldset data-kpi="{e(q.kpi)}"><legend>{e(q.name)}</legend>'
            f'<p class="hint">{e(scale + last)}</p>'
            f'<label for="v-{e(q.kpi)}">Your value now</label>'
            f'<input id="v-{e(q.kpi)}" name="value" type="number" step="any" inputmode="decimal"{bounds}>'
            f'<label for="c-{e(q.kpi)}">How confident are you of reaching your target? (0 to 10)</label>'
            f'<input id="c-{e(q.kpi)}" name="confidence" type="number" min="0" max="10" step="1" inputmode="numeric">'
            f'<label for="n-{e(q.kpi)}">A note (optional)</label>'
            f'<textarea id="n-{e(q.kpi)}" name="note" maxlength="2000"></textarea></fieldset>'
        )
    stars = "".join(f'<label><input type="radio" name="rating" value="{n}">{n}</label>' for n in range(1, 6))
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="referrer" content="no-referrer">
<title>Check-in for {e(view.client_name)}</title>
<style>{STYLE}</style>
</head>
<body>
<main>
<h1>Your check-in, {e(view.client_name)}</h1>
<p>Fill in what you can, then press <b>Save my answers</b> and send the saved file to your coach.
This form is open until {e(view.expires_at[:10])} and can be answered once.</p>
<noscript><p class="error">Saving the answers needs JavaScript: please open this file in a browser with it on.</p></noscript>
<form id="checkin" data-format="{FORMAT}" data-version="{VERSION}" data-client="{e(view.client)}" data-form="{e(view.checkin)}" data-token="{e(token)}" data-file="{e(file)}">
{"".join(boxes)}
<fieldset><legend>How is the coaching going? (optional)</legend>
<p class="hint">1 is poor, 5 is excellent.</p>
<div class="rating">{stars}</div>
<label for="comment">A comment (optional)</label>
<textarea id="comment" name="comment" maxlength="2000"></textarea>
</fieldset>
<button type="submit">Save my answers</button>
<p id="status" role="status"></p>
</form>
</main>
<script>{SCRIPT}</script>
</body>
</html>
"""


def write_form(ledger: Ledger, client: str, kpis: list[str], expires: str, out: str) -> tuple[str, str]:
    """Issue a check-in form of ``client`` and write its page to ``out`` ('-': returned only):
    (check-in id, the page)."""
    if out != "-" and not Path(out).resolve().parent.is_dir():
        raise InvalidValue(f"no folder for {out}: create it first")
    issued = issue(ledger, client, "form", kpis, expires)
    rs = ReadSide(ledger.settings)
    try:
        state = ledger.client(client).checkins["issued"][issued.checkin]
        page = render(view_of(rs, client, issued.checkin, state), issued.token)
    finally:
        rs.close()
    if out != "-":
        write_private(out, page)
    return issued.checkin, page


def accept_answers(ledger: Ledger, data: bytes) -> tuple[str, Receipt]:
    """Record a form's answer file: (client id, what it recorded). Refused whole, writing nothing,
    when it is no answer file, names another client, form or KPI, or its form was answered already."""
    if len(data) > MAX_FILE:
        raise InvalidValue(f"an answer file is at most {MAX_FILE // 1024} KiB")
    try:
        saved = msgspec.json.decode(data, type=AnswerFile)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise InvalidValue(f"not a check-in answer file: {e}") from None
    if saved.format != FORMAT or saved.version != VERSION:
        raise InvalidValue(
            f"not a check-in answer file (format {saved.format[:40]!r}, version {saved.version})"
        )
    answers = [
        a for a in (answer(x.kpi, x.value, x.confidence, x.note) for x in saved.answers) if a is not None
    ]
    rating = rating_of(saved.rating)
    digest = token_hash(saved.token)

    def record(c: Any) -> Receipt:
        return c.answer_checkin(
            saved.form, digest, answers, datetime.now(tz=UTC), rating, saved.comment, "form"
        )  # type: ignore[no-any-return]

    try:
        return saved.client, ledger.change(saved.client, record)
    except CheckinRefused as refusal:
        if refusal.why != "unknown":
            raise
        raise CheckinRefused(
            "unknown",
            f"the answers do not match check-in form '{saved.form[:40]}' of client '{saved.client[:80]}' "
            "(the file was edited, or is meant for another client or ledger)",
        ) from None
