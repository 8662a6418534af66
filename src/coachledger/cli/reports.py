"""``report``: a client's progress report as Markdown, one self-contained HTML file, or JSON."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from coachledger.cli.common import MOMENT, Env, complete_client, pass_env

FORMATS = ("md", "html", "json")
SUFFIXES = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".json": "json"}


@click.command()
@click.argument("client", shell_complete=complete_client)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="md, html or json (default: from --out's suffix, else md).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    metavar="FILE",
    help="Write the report to FILE (readable by you only) and print its path ('-': stdout).",
)
@click.option("--as-of", type=MOMENT, help="Effective date: what was true then (default: now).")
@click.option("--known-at", type=MOMENT, help="Recording time: only what had been recorded by then.")
@click.option(
    "--definition-as-of",
    type=MOMENT,
    metavar="DATE",
    help="Use the KPI definitions in force at DATE (see above).",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@pass_env
def report(
    env: Env,
    client: str,
    fmt: str | None,
    out: Path | None,
    as_of: datetime | None,
    known_at: datetime | None,
    definition_as_of: datetime | None,
    as_json: bool,
) -> None:
    """A progress report of CLIENT: progress table, a chart per KPI, KPI change history,
    balance, goals, milestones, sessions, feedback and the ledger's receipt (head digest).

    HTML is one self-contained, print-friendly file (inline CSS and SVG, no network);
    Markdown has the same sections as tables; JSON is the whole report document.
    Values are shown in the scale and unit of the KPI definition in force at the as-of date.

    --definition-as-of DATE regenerates the numbers under the KPI definitions in force at
    DATE: target, due date, scale and unit are those of DATE, while the baselines,
    measurements, corrections and retractions are those counted as of --as-of (and known
    at --known-at), each converted into DATE's scale and unit; expected progress and status
    compare the as-of date with DATE's due date. A "Definition effect" section then splits
    each KPI's change since DATE into the real change (measurements, judged by DATE's
    definition) and the part that comes from redefining the KPI.

    \b
    Example:
      coachledger report ana-lopez
      coachledger report ana-lopez --format html --out ana-lopez.html
      coachledger report ana-lopez --as-of 2026-04-01 --definition-as-of 2026-02-15 --json
    """
    if out is not None and str(out) == "-":
        out = None  # '-' is stdout, as everywhere a file is written
    if as_json:
        if fmt not in (None, "json"):
            raise click.UsageError("--json and --format " + fmt + " contradict each other")
        fmt = "json"
    if fmt is None:
        fmt = SUFFIXES.get(out.suffix.lower(), "md") if out is not None else "md"
    # lazy: keeps 'coachledger --help' fast
    from coachledger.services.report import render_report, save_report

    text = render_report(env.settings, client, fmt, as_of, known_at, definition_as_of)
    if out is None:
        click.echo(text, nl=False)
        return
    click.echo(save_report(out, text))
