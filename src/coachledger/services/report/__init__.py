"""Client reports: one document built from the read side, rendered as Markdown, HTML or JSON.

The document (``document.build_report``) is plain data, exactly what ``--format json``
prints; Markdown (``markdown``) and HTML (``html``, with the charts of ``svg`` and the
stylesheet ``report.css``) are views of it, so the three formats never disagree. The HTML
is one self-contained file: inline CSS and SVG charts, no script, no network, fit for
printing. Every text a person typed is escaped on the way out.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from coachledger.adapters.files import write_private
from coachledger.errors import DomainError
from coachledger.projections.models import json_default
from coachledger.projections.read import ReadSide
from coachledger.services.report.document import ReportDoc, build_report, progress_under
from coachledger.services.report.html import render_html
from coachledger.services.report.markdown import render_markdown

__all__ = [
    "FORMATS",
    "ReportError",
    "build_report",
    "progress_under",
    "render",
    "render_report",
    "save_report",
    "write_report",
]

FORMATS = ("md", "html", "json")


class ReportError(DomainError):
    """The report cannot be produced as asked (a bad format, an unwritable file)."""


def render(doc: ReportDoc, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(doc, ensure_ascii=False, indent=2, default=json_default) + "\n"
    if fmt == "md":
        return render_markdown(doc)
    if fmt == "html":
        return render_html(doc)
    raise ReportError(f"unknown report format '{fmt}' (use one of: {', '.join(FORMATS)})")


def render_report(
    settings: Any,
    client: str,
    fmt: str,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
    definition_as_of: datetime | None = None,
) -> str:
    """The report of ``client`` as text in ``fmt`` (md, html or json)."""
    if fmt not in FORMATS:
        raise ReportError(f"unknown report format '{fmt}' (use one of: {', '.join(FORMATS)})")
    rs = ReadSide(settings)
    try:
        doc = build_report(rs, client, as_of, known_at, definition_as_of)
    finally:
        rs.close()
    return render(doc, fmt)


def write_report(
    settings: Any,
    client: str,
    fmt: str,
    out_path: str | os.PathLike[str],
    as_of: datetime | None = None,
    known_at: datetime | None = None,
    definition_as_of: datetime | None = None,
) -> str:
    """Write the report to ``out_path`` (owner-only, 0600) and return its absolute path."""
    text = render_report(settings, client, fmt, as_of, known_at, definition_as_of)
    return save_report(Path(out_path), text)


def save_report(path: Path, text: str) -> str:
    """Write a rendered report to ``path`` (owner-only, whole or not at all); its absolute path."""
    path = path.expanduser().absolute()
    try:
        write_private(path, text)
    except OSError as err:
        raise ReportError(f"cannot write the report to {path}: {err.strerror or err}") from None
    return str(path)
