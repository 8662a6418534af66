"""The HTML report as a browser renders it: Debian's headless Chromium, no network, no mocks.

A realistic ten-month journey is recorded through the CLI (clock under freezegun), its report
written with ``report --out``, and Chromium opens it from disk. A copy of the page gets a small
probe script (the report itself carries none, and its Content-Security-Policy forbids one):
it records each chart's rendered size, the rendered text and how many resources the page
loaded, into a ``<pre>`` that ``--dump-dom`` prints.

Run this file directly to refresh the README's screenshot:
``python tests/integration/test_report_browser.py docs/report-screenshot.png``.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from freezegun import freeze_time

import coachledger.adapters.codec  # noqa: F401  (builds the event schemas before freezegun patches datetime)
from coachledger.cli import main

CHROMIUM = "/usr/bin/chromium"
CLIENT = "ana-lopez"
AS_OF = "2026-10-15"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
KPI_NAMES = {
    "salary": "Base salary",
    "satisfaction": "Job satisfaction",
    "stress": "Stress level",
    "network": "Senior contacts",
    "exercise": "Exercise",
    "promotion": "Promotion to team lead",
    "applications": "Applications sent",
}
PROBE = """<pre id="probe"></pre><script>
window.addEventListener("load", () => {
  const box = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const sizes = [...document.querySelectorAll("svg.chart")].map((svg) => {
    const box = svg.getBoundingClientRect();
    return [svg.id, box.width, box.height];
  });
  const labels = [...document.querySelectorAll("svg.chart")].map((svg) =>
    [svg.id, box(svg.querySelector(".duelabel")), box(svg.querySelector(".asoflabel"))]);
  const table = document.querySelector("table.progress");
  document.getElementById("probe").textContent = JSON.stringify({
    sizes: sizes,
    text: document.body.innerText,
    resources: performance.getEntriesByType("resource").length,
    labels: labels,
    viewport: [document.documentElement.clientWidth, document.documentElement.scrollWidth],
    progress: table && {
      room: box(table.parentElement)[2] - parseFloat(getComputedStyle(table.parentElement).paddingRight),
      headers: [...table.querySelectorAll("th")].map((th) => [th.textContent, box(th)[2]]),
    },
  });
});
</script>"""


# -- the journey ------------------------------------------------------------------------------


def record_journey(store: str, clock: Any) -> None:
    """Ten months of coaching: six KPIs over both dimensions and horizons, with redefinitions."""

    def run(*args: str) -> str:
        result = CliRunner().invoke(
            main, ["--store", store, "--actor", "maria", *args], catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        return result.stdout.strip()

    run("client", "add", CLIENT, "--name", "Ana López", "--coach", "maria")
    run(
        "goal",
        "add",
        CLIENT,
        "lead",
        "--text",
        "Lead a backend team",
        "--horizon",
        "long",
        "--due",
        "2027-06-30",
    )
    run(
        "goal",
        "add",
        CLIENT,
        "pace",
        "--text",
        "A sustainable pace",
        "--horizon",
        "short",
        "--due",
        "2026-12-31",
    )
    defs = [
        ("salary", "salary", "EUR", "increase", "85000", "2027-06-30", "professional", "long", "lead", "payslip", None),
        ("satisfaction", "job-satisfaction", "points", "increase", "4", "2026-12-31", "professional", "short",
         "lead", "monthly pulse survey", "1..5"),
        ("stress", "work-life-balance", "points", "decrease", "3", "2026-12-31", "personal", "short", "pace",
         "weekly self check-in", "0..10"),
        ("network", "networking", "contacts", "increase", "40", "2027-03-31", "professional", "long", "lead",
         "people met who lead teams", None),
        ("exercise", "custom", "hours/week", "increase", "4", "2027-03-31", "personal", "long", "pace",
         "activity tracker", None),
        ("promotion", "promotion", "level", "increase", "1", "2027-06-30", "professional", "long", "lead",
         "title in the HR system", "0..1"),
        # A count due a few days before the as-of date: its chart's "due" and "as of" marks are close.
        ("applications", "custom", "applications", "increase", "12", "2026-10-10", "professional", "short",
         "lead", "applications sent", None),
    ]  # fmt: skip
    for kid, category, unit, direction, target, due, dimension, horizon, goal, method, scale in defs:
        args = [
            "kpi",
            "define",
            CLIENT,
            kid,
            "--name",
            KPI_NAMES[kid],
            "--category",
            category,
            "--unit",
            unit,
        ]
        args += ["--direction", direction, "--target", target, "--due", due, "--dimension", dimension]
        args += ["--horizon", horizon, "--goal", goal, "--method", method]
        run(*args, *(["--scale", scale] if scale else []))
    for kid, value in (("salary", "72000"), ("satisfaction", "2"), ("stress", "8"), ("network", "6")):
        run("kpi", "baseline", CLIENT, kid, value, "--at", "2026-01-01", "--source", "intake")
    run("kpi", "baseline", CLIENT, "exercise", "1", "--at", "2026-01-01")
    run("kpi", "baseline", CLIENT, "promotion", "0", "--at", "2026-01-01")
    run("kpi", "baseline", CLIENT, "applications", "0", "--at", "2026-01-01")

    satisfaction = ["2.5", "3", "3", "3.5", "6.5", "7", "6.5", "7.5", "8"]
    stress = ["7.5", "7", "6", "5.5", "5", "5.5", "4.5", "4", "4"]
    network = ["8", "11", "13", "17", "19", "22", "26", "28", "31"]
    ratings = ["4", "4", "3", "5", "4", "5", "4", "5", "5"]
    comments = [
        "Clear plan, a bit much homework",
        "The stress check-ins help",
        "Hard month; session felt rushed",
        "Great prep for the salary talk",
        "",
        "Loved the networking exercise",
        "",
        "Feeling in control again",
        "Best session so far",
    ]
    for n, month in enumerate(range(2, 11)):
        day = f"2026-{month:02d}-01"
        clock.move_to(f"{day}T17:30:00Z")
        run("measure", "record", CLIENT, "satisfaction", satisfaction[n], "--at", day, "--source", "survey")
        mid = run("measure", "record", CLIENT, "stress", stress[n], "--at", day, "--source", "self")
        run("measure", "record", CLIENT, "network", network[n], "--at", day, "--source", "self")
        if month == 4:
            typo = run("measure", "record", CLIENT, "satisfaction", "5", "--at", day, "--source", "survey")
            run("measure", "retract", CLIENT, typo, "--reason", "typed into the wrong row of the survey")
            run("measure", "correct", CLIENT, mid, "6.5", "--reason", "read from the wrong week")
        if month == 5:
            # Satisfaction moves to a 1-10 survey from June on: earlier values are rescaled.
            run(
                *(
                    "kpi",
                    "adjust",
                    CLIENT,
                    "satisfaction",
                    "--reason",
                    "The pulse survey moved to a 1-10 scale",
                ),
                *("--scale", "1..10", "--rescale", "--target", "8.5", "--at", "2026-06-01"),
            )
        if month in (4, 7):
            run("measure", "record", CLIENT, "salary", {4: "74500", 7: "78000"}[month], "--at", day)
        if month == 8:
            run(
                *(
                    "kpi",
                    "adjust",
                    CLIENT,
                    "salary",
                    "--reason",
                    "Offer benchmark moved up; salaries in kEUR",
                ),
                *("--factor", "0.001", "--unit", "kEUR", "--target", "88", "--at", "2026-08-01"),
            )
        if month == 10:
            run("measure", "record", CLIENT, "salary", "81.5", "--at", day, "--source", "document")
        if month == 7:
            run(
                "measure",
                "record",
                CLIENT,
                "promotion",
                "0",
                "--at",
                day,
                "--note",
                "Mid-year review: not yet",
            )
        if month in (5, 7, 9):  # entered late, dated to when it was true
            run(
                "measure",
                "record",
                CLIENT,
                "exercise",
                {5: "1.5", 7: "2", 9: "2.5"}[month],
                "--at",
                f"2026-{month - 1:02d}-15",
            )
        feedback = ["feedback", "add", CLIENT, "--rating", ratings[n], "--at", f"2026-{month:02d}-02"]
        run(*feedback, *(["--comment", comments[n]] if comments[n] else []))
        run(
            *("session", "log", CLIENT, "--at", f"2026-{month:02d}-02", "--notes", f"Monthly review {n + 1}"),
            *("--kpi", "stress", "--kpi", "satisfaction", "--action", "One focus day a week"),
            *(["--action", "Ask two leads for coffee"] if month % 2 else []),
        )
        if month in (3, 6, 9):
            run("measure", "record", CLIENT, "applications", str(month), "--at", day)
        if month == 9:
            run("milestone", "celebrate", CLIENT, "stress", "--note", "Stress below 5 for two months")
        if month == 10:  # logged as it happened (no --at): recorded at the current time
            run("session", "log", CLIENT, "--notes", "Offer negotiation", "--kpi", "salary")
    clock.move_to(f"{AS_OF}T09:00:00Z")


def write_report(store: str, out: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["--store", store, "report", CLIENT, "--as-of", AS_OF, "--out", str(out)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)


# -- Chromium ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium; installed once when missing, else the tests skip (or fail if required)."""
    if not os.access(CHROMIUM, os.X_OK) and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
            capture_output=True,
            timeout=900,
            check=False,
        )
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"{CHROMIUM} is missing and 'apt-get install -y chromium' did not provide it"
        if os.environ.get("COACHLEDGER_REQUIRE_BROWSER"):
            pytest.fail(f"{reason} (COACHLEDGER_REQUIRE_BROWSER is set)", pytrace=False)
        pytest.skip(reason)
    return CHROMIUM


def browse(chromium: str, profile: Path, *args: str) -> str:
    done = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("report")
    store = str(folder / "ledger.sqlite")
    with freeze_time("2026-01-05T10:00:00Z") as clock:
        record_journey(store, clock)
        write_report(store, folder / "report.html")
    yield folder / "report.html"


def probe(chromium: str, page: Path, profile: Path, width: int = 1200) -> dict[str, Any]:
    """Open a copy of the page with the probe script and read back what the browser rendered."""
    text = page.read_text(encoding="utf-8")
    text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", text)
    copy = page.with_name("probed.html")
    copy.write_text(text.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = browse(
        chromium,
        profile,
        "--run-all-compositor-stages-before-draw",
        "--virtual-time-budget=2000",
        f"--window-size={width},900",
        "--dump-dom",
        copy.as_uri(),
    )
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found and found.group(1), "the probe script did not run"
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return result


def test_browser_renders_every_kpi_and_a_sized_chart_for_each(
    chromium: str, report_file: Path, tmp_path: Path
) -> None:
    seen = probe(chromium, report_file, tmp_path / "profile")
    for name in KPI_NAMES.values():
        assert name in seen["text"], f"{name!r} is not in the rendered text"
    for heading in ("Progress", "KPIs", "Balance", "Sessions", "Feedback", "Ledger receipt"):
        assert heading in seen["text"]
    assert len(seen["sizes"]) == len(KPI_NAMES)
    for chart, width, height in seen["sizes"]:
        assert width > 300 and height > 100, f"{chart} renders at {width}x{height}"
    assert seen["resources"] == 0  # nothing fetched: the file is self-contained


def test_browser_takes_screenshots_at_1280_and_794_px(
    chromium: str, report_file: Path, tmp_path: Path
) -> None:
    for width in (1280, 794):  # a wide screen, and an A4 page's width
        shot = tmp_path / f"report-{width}.png"
        browse(
            chromium,
            tmp_path / "profile",
            f"--window-size={width},1400",
            f"--screenshot={shot}",
            report_file.as_uri(),
        )
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
        print(f"screenshot at {width} px: {shot}")


# -- layout: 794 px, print, charts and dates ----------------------------------------------------


@pytest.fixture(scope="module")
def narrow(chromium: str, report_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What the browser renders in a window as wide as an A4 page (794 px)."""
    return probe(chromium, report_file, tmp_path_factory.mktemp("profile"), width=794)


def overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_due_and_as_of_labels_never_overlap(narrow: dict[str, Any]) -> None:
    """Applications are due five days before the as-of date: the two marks almost touch."""
    assert len(narrow["labels"]) == len(KPI_NAMES)
    for chart, due, as_of in narrow["labels"]:
        assert not overlap(due, as_of), f"{chart}: 'due' {due} and 'as of' {as_of} overlap"


def test_the_progress_table_fits_at_794_px(narrow: dict[str, Any]) -> None:
    client, scroll = narrow["viewport"]
    assert scroll <= client, f"the page scrolls sideways: {scroll} px in a {client} px window"
    room = narrow["progress"]["room"]
    for header, right in narrow["progress"]["headers"]:
        assert right <= room + 0.5, f"column {header!r} ends at {right} px, past the page's {room} px"


@pytest.fixture(scope="module")
def printed(chromium: str, report_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The report printed to PDF by the browser (--print-to-pdf), read back with pypdf."""
    pypdf = pytest.importorskip("pypdf")
    folder = tmp_path_factory.mktemp("print")
    pdf = folder / "report.pdf"
    browse(
        chromium, folder / "profile", "--no-pdf-header-footer", f"--print-to-pdf={pdf}", report_file.as_uri()
    )
    print(f"printed: {pdf}")
    return pypdf.PdfReader(pdf)


def page_text(page: Any) -> tuple[str, float]:
    """A PDF page's text and the height (in points from the bottom) of its lowest line."""
    lowest: list[float] = []

    def seen(text: str, cm: list[float], tm: list[float], font: Any, size: Any) -> None:
        if text.strip():
            lowest.append(cm[1] * tm[4] + cm[3] * tm[5] + cm[5])

    return page.extract_text(visitor_text=seen), min(lowest, default=float(page.mediabox.height))


def test_print_is_a4(printed: Any) -> None:
    for page in printed.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)


def test_print_keeps_the_baseline_and_measurement_tables(printed: Any) -> None:
    text = "".join(page_text(page)[0] for page in printed.pages)
    assert "Baseline and measurements" in text
    assert "in force" in text and "Mid-year review: not yet" in text  # rows of those tables


def test_print_fills_page_one(printed: Any) -> None:
    """The first KPI starts on page 1 (it used to move whole to page 2, leaving a third empty)."""
    text, lowest = page_text(printed.pages[0])
    assert lowest < float(printed.pages[0].mediabox.height) * 0.2, (
        f"page 1 ends {lowest:.0f} pt from the bottom"
    )
    assert KPI_NAMES["salary"] + " (salary)" in text


def test_print_on_letter_paper_keeps_everything(chromium: str, report_file: Path, tmp_path: Path) -> None:
    """Letter, the fallback: the same page with the paper size a Letter print dialog would give."""
    pypdf = pytest.importorskip("pypdf")
    letter = tmp_path / "letter.html"
    page = report_file.read_text(encoding="utf-8")
    assert "@page { size: A4;" in page
    letter.write_text(page.replace("@page { size: A4;", "@page { size: letter;"), encoding="utf-8")
    pdf = tmp_path / "letter.pdf"
    browse(chromium, tmp_path / "profile", "--no-pdf-header-footer", f"--print-to-pdf={pdf}", letter.as_uri())
    print(f"printed on Letter: {pdf}")
    pages = pypdf.PdfReader(pdf).pages
    assert (round(float(pages[0].mediabox.width)), round(float(pages[0].mediabox.height))) == (612, 792)
    first, lowest = page_text(pages[0])
    assert "Trend/month" in first and "overdue" in first  # the progress table whole, on page 1
    assert lowest < float(pages[0].mediabox.height) * 0.2
    assert "in force" in "".join(page_text(p)[0] for p in pages)


def test_a_count_axis_does_not_go_below_zero(report_file: Path) -> None:
    page = report_file.read_text(encoding="utf-8")
    chart = re.search(r'<svg id="chart-7" .*?</svg>', page, re.S)
    assert chart and "Applications sent" in chart.group(0)
    ticks = re.findall(
        r'<text class="tick" x="[\d.]+" y="[\d.]+" text-anchor="end">([^<]*)</text>', chart.group(0)
    )
    assert ticks[0] == "0" and not [t for t in ticks if t.startswith("-")]
    assert not re.search(r'text-anchor="end">-', page)  # no value in this journey is negative


def test_session_dates_are_all_dates(report_file: Path) -> None:
    """Sessions logged with --at (midnight) and as they happened (17:30) read alike."""
    page = report_file.read_text(encoding="utf-8")
    sessions = page[page.index('<h2 id="sessions">') : page.index('<h2 id="feedback">')]
    dates = re.findall(r"<tr><td class=\"nw\">([^<]*)</td>", sessions)
    assert len(dates) == 10 and "Offer negotiation" in sessions
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for d in dates), dates


def screenshot(out: Path, height: int = 2300) -> None:
    """Record the journey, write its report, and save a screenshot of it at ``out``."""
    chromium = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = str(folder / "ledger.sqlite")
        with freeze_time("2026-01-05T10:00:00Z") as clock:
            record_journey(store, clock)
            write_report(store, folder / "report.html")
        browse(
            chromium,
            folder / "profile",
            f"--window-size=1100,{height}",
            f"--screenshot={out.absolute()}",
            (folder / "report.html").as_uri(),
        )
    print(out)


if __name__ == "__main__":
    screenshot(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/report-screenshot.png"))
