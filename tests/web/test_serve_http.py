"""``coachledger serve`` as a script or an attacker would meet it: plain HTTP against the real
server, in its own process, over a ledger built through the command line.

Isolation (another coach's client answers exactly as an unknown one, in pages, JSON and
reports), CSRF, the response headers, sessions that end, sign-in limits, JSON in the CLI's
shapes, the session key file, and the command's own refusals.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from web.served import PASSWORDS, Client, Server, event_count, free_port, practice, served


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("serve-http")
    store = str(home / "ledger.sqlite")
    practice(store)
    with served(store, home) as running:
        yield running


def cli(server: Server, *args: str, input: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "coachledger", "--store", server.store, *args],
        input=input,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


# -- isolation -------------------------------------------------------------------------------------

CLIENT_PATHS = (
    "/clients/{}",
    "/clients/{}.json",
    "/clients/{}/report",
    "/clients/{}/report.html",
    "/clients/{}/report.json",
    "/clients/{}/report.md",
    "/clients/{}/replay",
    "/clients/{}/replay.json",
    "/clients/{}/timeline",
    "/clients/{}/timeline.json",
    "/clients/{}/history/satisfaction",
    "/clients/{}/history/satisfaction.json",
    "/clients/{}/measurement",
    "/clients/{}/adjust",
)


@pytest.mark.parametrize("path", CLIENT_PATHS)
def test_another_coachs_client_answers_exactly_as_an_unknown_one(server: Server, path: str) -> None:
    maria = Client(server.url).sign_in("maria")
    jonas = Client(server.url).sign_in("jonas")
    assert maria.get(path.format("ana-lopez"))[0] == 200
    theirs = jonas.get(path.format("ana-lopez"))
    unknown = jonas.get(path.format("nobody-at-all"))
    assert theirs[0] == unknown[0] == 404
    assert theirs[2] == unknown[2]  # the same page: nothing tells the two apart
    assert "Ana" not in theirs[2]
    as_json = jonas.get(path.format("ana-lopez"), headers={"Accept": "application/json"})
    assert as_json[0] == 404 and json.loads(as_json[2]) == {"error": "not found"}


def test_another_coachs_client_takes_no_write(server: Server) -> None:
    jonas = Client(server.url).sign_in("jonas")
    token = jonas.csrf("/clients/ben-okafor/measurement")
    events = event_count(server.store)
    status, _, _ = jonas.post(
        "/clients/ana-lopez/measurement", {"csrf": token, "kpi": "satisfaction", "value": "9"}
    )
    assert status == 404
    assert event_count(server.store) == events


def test_the_admin_sees_every_client_and_a_coach_only_theirs(server: Server) -> None:
    lena = Client(server.url).sign_in("lena").json("/dashboard.json")
    assert {c["client"] for c in lena["clients"]} == {"ana-lopez", "ben-okafor"}
    maria = Client(server.url).sign_in("maria").json("/dashboard.json")
    assert [c["client"] for c in maria["clients"]] == ["ana-lopez"]
    assert {i["client"] for i in maria["due"]["items"]} <= {"ana-lopez"}
    assert {a["client"] for a in maria["open_actions"]} == {"ana-lopez"}
    assert maria["portfolio"]["clients"] == 1


def test_a_page_without_a_session_sends_to_the_sign_in(server: Server) -> None:
    anybody = Client(server.url)
    status, headers, _ = anybody.get("/clients/ana-lopez?as_of=2026-04-01")
    assert status == 303 and headers["location"] == "/signin?next=%2Fclients%2Fana-lopez%3Fas_of%3D2026-04-01"
    status, _, text = anybody.get("/clients/ana-lopez.json")
    assert status == 401 and json.loads(text) == {"error": "sign in first"}


# -- forms: CSRF and origin ----------------------------------------------------------------------


def test_a_post_without_the_csrf_token_is_refused_and_writes_nothing(server: Server) -> None:
    maria = Client(server.url).sign_in("maria")
    events = event_count(server.store)
    for form in ({"kpi": "satisfaction", "value": "7"}, {"kpi": "satisfaction", "value": "7", "csrf": "guess"}):
        status, _, text = maria.post("/clients/ana-lopez/measurement", form)
        assert status == 403 and "security token" in text
    token = maria.csrf("/clients/ana-lopez/measurement")
    status, _, _ = maria.request(
        "POST",
        "/clients/ana-lopez/measurement",
        {"csrf": token, "kpi": "satisfaction", "value": "7"},
        headers={"Origin": "http://evil.example"},
    )
    assert status == 403
    status, _, _ = Client(server.url).post("/signout", {})  # no session, no token
    assert status == 303
    assert event_count(server.store) == events


def test_the_sign_in_form_needs_its_own_token(server: Server) -> None:
    status, _, text = Client(server.url).post("/signin", {"name": "maria", "password": PASSWORDS["maria"]})
    assert status == 403 and "stale" in text


def test_a_refused_form_answers_json_when_asked(server: Server) -> None:
    maria = Client(server.url).sign_in("maria")
    token = maria.csrf("/clients/ana-lopez/measurement")
    status, _, text = maria.request(
        "POST",
        "/clients/ana-lopez/measurement",
        {"csrf": token, "kpi": "satisfaction", "value": "11"},
        headers={"Accept": "application/json"},
    )
    assert status == 422
    assert json.loads(text) == {"error": "value 11 is outside the KPI's scale 1..10", "field": "value"}


# -- headers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/signin", "/dashboard", "/clients/ana-lopez", "/clients/ana-lopez.json", "/nope"])
def test_every_answer_has_a_policy_without_inline_script(server: Server, path: str) -> None:
    _, headers, _ = Client(server.url).sign_in("maria").get(path)
    policy = dict(p.strip().split(" ", 1) for p in headers["content-security-policy"].split(";"))
    assert policy["script-src"] == "'self'" and "unsafe-inline" not in headers["content-security-policy"]
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"
    assert "server" not in headers


def test_pages_carry_no_inline_script_and_escape_what_was_typed(server: Server) -> None:
    cli(server, "feedback", "add", "ana-lopez", "--rating", "4", "--comment", "<script>alert(1)</script>")
    text = Client(server.url).sign_in("maria").get("/dashboard")[2]
    assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    scripts = re.findall(r"<script[^>]*>", text)
    assert scripts == ['<script src="/static/app.js" defer>']


def test_the_report_downloads_as_a_file_with_no_script_allowed(server: Server) -> None:
    status, headers, text = Client(server.url).sign_in("maria").get("/clients/ana-lopez/report?as_of=2026-07-01")
    assert status == 200 and text.startswith("<!DOCTYPE html>")
    assert headers["content-disposition"] == 'attachment; filename="report-ana-lopez.html"'
    assert "script-src" not in headers["content-security-policy"]
    assert headers["content-security-policy"].startswith("default-src 'none'")


def test_the_session_cookie_is_signed_httponly_strict_and_expires(server: Server) -> None:
    maria = Client(server.url).sign_in("maria")
    (cookie,) = [c for c in maria.set_cookies if c.startswith("coachledger_session=")]
    assert cookie.endswith("; Path=/; Max-Age=43200; HttpOnly; SameSite=Strict")
    value = maria.cookies["coachledger_session"]
    maria.cookies["coachledger_session"] = value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB")
    assert maria.get("/dashboard")[0] == 303  # a changed cookie is no session


def test_after_sign_in_only_a_path_of_this_server(server: Server) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "/clients/ana-lopez"):
        maria = Client(server.url)
        token = maria.csrf("/signin")
        status, headers, _ = maria.post(
            "/signin", {"csrf": token, "name": "maria", "password": PASSWORDS["maria"], "next": target}
        )
        assert status == 303 and headers["location"] == (target if target.startswith("/c") else "/dashboard")
        assert maria.get("/signin?next=//evil.example")[1]["location"] == "/dashboard"  # signed in already


def test_a_value_far_off_after_a_unit_change_asks_to_be_confirmed(server: Server) -> None:
    """The CLI's --yes is the form's confirm box, shown when the refusal asks for it."""
    cli(server, "kpi", "adjust", "ana-lopez", "salary", "--unit", "kEUR", "--factor", "0.001", "--reason", "thousands")
    maria = Client(server.url).sign_in("maria")
    token = maria.csrf("/clients/ana-lopez/measurement")
    assert 'name="confirm"' not in maria.get("/clients/ana-lopez/measurement")[2]
    events = event_count(server.store)
    typed = {"csrf": token, "kpi": "salary", "value": "80000"}
    status, _, text = maria.post("/clients/ana-lopez/measurement", typed)
    assert status == 422 and "more than 100x away" in text and 'name="confirm"' in text
    assert "confirm with yes" in text  # the CLI's words, without the option's dashes
    assert event_count(server.store) == events
    status, headers, _ = maria.post("/clients/ana-lopez/measurement", {**typed, "confirm": "on"})
    assert status == 303 and headers["location"] == "/clients/ana-lopez?done=measurement"
    assert event_count(server.store) == events + 1


# -- the CLI's JSON shapes ----------------------------------------------------------------------------


def test_every_page_answers_the_json_of_its_command(server: Server) -> None:
    maria = Client(server.url).sign_in("maria")
    assert maria.json("/clients/ana-lopez.json?as_of=2026-06-15") == json.loads(
        cli(server, "progress", "ana-lopez", "--as-of", "2026-06-15", "--json")
    )
    accepted = maria.get("/clients/ana-lopez?as_of=2026-06-15", headers={"Accept": "application/json"})
    assert json.loads(accepted[2]) == maria.json("/clients/ana-lopez.json?as_of=2026-06-15")
    assert maria.json("/clients/ana-lopez/history/salary.json") == json.loads(
        cli(server, "history", "ana-lopez", "salary", "--json")
    )
    assert maria.json("/clients/ana-lopez/timeline.json?from=2026-01-01") == json.loads(
        cli(server, "timeline", "ana-lopez", "--from", "2026-01-01", "--json")
    )
    assert maria.json("/clients/ana-lopez/replay.json") == json.loads(cli(server, "replay", "ana-lopez", "--json"))
    page = maria.json("/clients/ana-lopez/report.json?as_of=2026-07-01")
    command = json.loads(cli(server, "report", "ana-lopez", "--as-of", "2026-07-01", "--json"))
    assert {k: v for k, v in page.items() if k not in ("generated_at", "receipt")} == {
        k: v for k, v in command.items() if k not in ("generated_at", "receipt")
    }
    dashboard = maria.json("/dashboard.json")
    assert dashboard["clients"] == [
        c for c in json.loads(cli(server, "client", "list", "--json"))["clients"] if c["coach"] == "maria"
    ]
    portfolio = json.loads(cli(server, "portfolio", "--coach", "maria", "--json"))
    assert {k: v for k, v in dashboard["portfolio"].items() if k != "as_of"} == {
        k: v for k, v in portfolio.items() if k != "as_of"
    }


def test_timeline_filters(server: Server) -> None:
    maria = Client(server.url).sign_in("maria")
    kinds = {e["type"] for e in maria.json("/clients/ana-lopez/timeline.json?type=KpiDefined")["events"]}
    assert kinds == {"KpiDefined"}
    assert maria.json("/clients/ana-lopez/timeline.json?actor=nobody")["events"] == []
    status, _, text = maria.get("/clients/ana-lopez/timeline.json?from=someday")
    assert status == 400 and json.loads(text) == {
        "error": "'someday' is not an ISO date (YYYY-MM-DD) or datetime",
        "field": "from",
    }


# -- sessions end ---------------------------------------------------------------------------------------


def test_a_new_password_or_a_disabling_ends_the_sessions(server: Server) -> None:
    cli(server, "coach", "add", "sam", "--password-stdin", input="sam's first secret\n")
    sam = Client(server.url).sign_in("sam", "sam's first secret")
    assert sam.get("/dashboard")[0] == 200
    cli(server, "coach", "password", "sam", "--password-stdin", input="sam's second secret\n")
    assert sam.get("/dashboard")[0] == 303
    sam = Client(server.url).sign_in("sam", "sam's second secret")
    assert sam.get("/dashboard")[0] == 200
    cli(server, "coach", "disable", "sam")
    assert sam.get("/dashboard")[0] == 303
    token = sam.csrf("/signin")
    status, _, text = sam.post("/signin", {"csrf": token, "name": "sam", "password": "sam's second secret"})
    assert status == 401 and "Wrong name or password." in text


def test_sign_in_attempts_are_limited_per_name(server: Server) -> None:
    cli(server, "coach", "add", "kim", "--password-stdin", input="kim's secret\n")
    kim = Client(server.url)
    wrong = []
    for _ in range(5):
        token = kim.csrf("/signin")
        wrong.append(kim.post("/signin", {"csrf": token, "name": "kim", "password": "guess"})[0])
    assert wrong == [401] * 5
    token = kim.csrf("/signin")
    status, _, text = kim.post("/signin", {"csrf": token, "name": "kim", "password": "kim's secret"})
    assert status == 429 and "Too many sign-in attempts" in text
    token = kim.csrf("/signin")
    unknown = kim.post("/signin", {"csrf": token, "name": "nobody-here", "password": "guess"})
    assert unknown[0] == 401 and "Wrong name or password." in unknown[2]  # as for a wrong password


def test_nothing_secret_reaches_the_servers_log(server: Server) -> None:
    maria = Client(server.url).sign_in("maria")
    maria.get("/dashboard")
    server.stop()
    said = server.said
    server.start()  # the module's other tests may still need it
    for secret in (*PASSWORDS.values(), maria.cookies["coachledger_session"]):
        assert secret not in said
    assert "127.0.0.1" in said and "POST /signin" in said


# -- the command ------------------------------------------------------------------------------------------


def test_the_session_key_is_made_once_beside_the_ledger_readable_by_its_owner_only(server: Server) -> None:
    key = Path(server.store + ".session-key")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert re.fullmatch(r"[0-9a-f]{64}\n", key.read_text())


def test_serve_refuses_in_one_line(tmp_path: Path) -> None:
    store = str(tmp_path / "ledger.sqlite")

    def serve(*args: str, store: str = store) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "coachledger", "--store", store, "serve", *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")},
        )

    missing = serve("--port", str(free_port()), store=str(tmp_path / "none.sqlite"))
    assert missing.returncode == 1 and missing.stderr.startswith("Error: no ledger at")
    practice(store)
    key = Path(store + ".session-key")
    key.write_text("00" * 32 + "\n")
    key.chmod(0o644)
    shared = serve("--port", str(free_port()))
    assert shared.returncode == 1 and shared.stderr == f"Error: the session key file {key} may be read by others (mode 644): chmod 600 {key}\n"
    key.unlink()
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = serve("--port", str(taken.getsockname()[1]))
    assert busy.returncode == 1 and busy.stderr.startswith("Error: cannot listen on 127.0.0.1:")
    assert not key.exists()  # nothing made for a server that did not start


BLOCKER = """
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("starlette", "argon2"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Blocker())
sys.argv[0] = "coachledger"
from coachledger.cli import main
main()
"""


@pytest.mark.parametrize("command", [("serve",), ("coach", "add", "maria", "--password-stdin")])
def test_without_the_web_extra_one_error_line_says_what_to_install(tmp_path: Path, command: tuple[str, ...]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER, "--store", str(tmp_path / "l.sqlite"), *command],
        input="a good password\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: ") and "pip install 'coachledger[web]'" in line


def test_a_new_user_serves_any_free_port_and_reads_the_address(tmp_path: Path) -> None:
    """A ledger with a coach and nothing else; --port 0 takes a free port, and the first line says which."""
    store = str(tmp_path / "ledger.sqlite")
    added = subprocess.run(
        [sys.executable, "-m", "coachledger", "--store", store, "coach", "add", "maria", "--password-stdin"],
        input=PASSWORDS["maria"] + "\n",
        capture_output=True,
        text=True,
    )
    assert added.returncode == 0, added.stderr
    process = subprocess.Popen(
        [sys.executable, "-m", "coachledger", "--store", store, "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = re.fullmatch(r"coachledger serve: (http://127\.0\.0\.1:(\d+)/)\n", first)
        assert found is not None, first
        maria = Client(found.group(1).rstrip("/"))
        for _ in range(100):
            try:
                maria.get("/signin")
                break
            except OSError:
                time.sleep(0.1)
        dashboard = maria.sign_in("maria").get("/dashboard")[2]
        assert "No clients yet" in dashboard
    finally:
        process.terminate()
        process.communicate(timeout=30)
