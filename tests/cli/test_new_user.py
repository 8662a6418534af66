"""What a new user trips over, tried as one would: through the command line, on real SQLite files.

Where a terminal, the environment or a missing module matters, the installed command runs in a
subprocess (a pseudo-terminal for colours; a shim that makes ``import psycopg`` really fail).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from coachledger.cli import main
from conftest import Cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(str(tmp_path / "ledger.sqlite"), env={"XDG_DATA_HOME": str(tmp_path / "data")})


def ana_with_a_retired_kpi(cli: Cli) -> None:
    """Ana: satisfaction rescaled 1..5 -> 1..10 (current 3 -> 5.5), salary retired, one session."""
    cli.run("client", "add", "ana-lopez", "--name", "Ana López", "--coach", "maria")
    cli.run(
        "kpi", "define", "ana-lopez", "satisfaction", "--name", "Job satisfaction",
        "--category", "job-satisfaction", "--unit", "points", "--direction", "increase",
        "--target", "4", "--due", "2030-06-30", "--scale", "1..5",
    )  # fmt: skip
    cli.run(
        "kpi", "define", "ana-lopez", "salary", "--name", "Salary", "--category", "salary",
        "--unit", "EUR", "--direction", "increase", "--target", "90000", "--due", "2030-06-30",
    )  # fmt: skip
    cli.run("kpi", "baseline", "ana-lopez", "satisfaction", "2", "--at", "2026-01-01")
    cli.run("kpi", "baseline", "ana-lopez", "salary", "70000", "--at", "2026-01-01")
    cli.run("measure", "record", "ana-lopez", "satisfaction", "3", "--at", "2026-02-01")
    cli.run("measure", "record", "ana-lopez", "salary", "80000", "--at", "2026-02-01")
    cli.run(
        "kpi", "adjust", "ana-lopez", "satisfaction", "--scale", "1..10", "--rescale",
        "--reason", "HR survey moved to a 10-point scale", "--at", "2026-03-01",
    )  # fmt: skip
    cli.run("kpi", "retire", "ana-lopez", "salary", "--reason", "changed roles")
    cli.run("session", "log", "ana-lopez", "--notes", "Talked")


def installed(*args: str, env: dict[str, str] | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
    """The installed command in its own process, as a shell runs it."""
    return subprocess.run(
        [sys.executable, "-m", "coachledger", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        **kw,
    )


# -- 1, 7: words ---------------------------------------------------------------------------


def test_the_demo_counts_months_in_english(cli: Cli) -> None:
    out = cli.out("demo", "--clients", "1", "--months", "3")
    assert " over 3 months " in out and "monthes" not in out


def test_client_show_says_one_session_not_one_sessions(cli: Cli) -> None:
    ana_with_a_retired_kpi(cli)
    out = cli.out("client", "show", "ana-lopez")
    assert "1 session," in out and "1 sessions" not in out and "0 feedback entries" in out


# -- 2: colours ------------------------------------------------------------------------------


def on_a_terminal(store: str, env: dict[str, str]) -> bytes:
    """stdout of `progress` written to a pseudo-terminal, byte for byte."""
    import pty

    leader, follower = pty.openpty()
    full = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    subprocess.run(
        [sys.executable, "-m", "coachledger", "--store", store, "progress", "ana-lopez"],
        stdout=follower,
        stderr=follower,
        env={**full, **env},
        timeout=120,
        check=True,
    )
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal's other end is closed: all read
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    return out


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_no_color_and_a_dumb_terminal_get_no_colour_codes(cli: Cli) -> None:
    ana_with_a_retired_kpi(cli)
    coloured = on_a_terminal(cli.store, {"TERM": "xterm-256color"})
    assert b"\x1b[32mon-track\x1b[0m" in coloured  # colour where it is welcome
    assert b"retired\x1b" not in coloured and b"retired \x1b" not in coloured  # no stray reset code
    assert b"retired  " in coloured and re.search(rb"retired +\x1b", coloured) is None
    for env in ({"NO_COLOR": "1", "TERM": "xterm-256color"}, {"TERM": "dumb"}):
        plain = on_a_terminal(cli.store, env)
        assert b"\x1b" not in plain, env
        assert b"on-track" in plain


# -- 3: '-' is stdout where a file is written, stdin where one is read ----------------------


def test_dash_means_stdout_for_every_file_written(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana_with_a_retired_kpi(cli)
    monkeypatch.chdir(tmp_path)
    exported = cli.run("export", "--out", "-").stdout
    assert exported.startswith("{") and len(exported.splitlines()) == 11 and "Exported" not in exported
    html = cli.run("report", "ana-lopez", "--out", "-", "--format", "html").stdout
    assert html.lstrip().lower().startswith("<!doctype html")
    anchor = json.loads(cli.run("anchor", "--out", "-").stdout)
    assert anchor["events"] == 10
    assert not (tmp_path / "-").exists()


# -- 5, 6: one status and one KPI count everywhere --------------------------------------------


def test_a_retired_kpi_is_retired_in_the_table_the_csv_and_the_json(cli: Cli) -> None:
    ana_with_a_retired_kpi(cli)
    table = cli.out("progress", "ana-lopez")
    assert re.search(r"^salary .* retired ", table, re.M)
    rows = {r.split(",")[0]: r.split(",") for r in cli.out("progress", "ana-lopez", "--csv").splitlines()}
    header = rows["kpi"]
    assert rows["salary"][header.index("status")] == "retired"
    assert rows["salary"][header.index("retired")] == "true"
    assert rows["satisfaction"][header.index("retired")] == "false"
    items = {k["kpi"]: k for k in cli.json("progress", "ana-lopez")["kpis"]}
    assert items["salary"]["status"] == "retired" and items["salary"]["retired"] is True
    assert items["satisfaction"]["status"] == "on-track" and items["satisfaction"]["retired"] is False
    listed = {k["kpi"]: k for k in cli.json("kpi", "list", "ana-lopez")["kpis"]}
    assert listed["salary"]["status"] == "retired"
    replayed = cli.json("replay", "ana-lopez")["steps"][-1]["progress"]
    assert {k["kpi"]: k["status"] for k in replayed}["salary"] == "retired"


def test_client_list_and_client_show_count_the_same_kpis(cli: Cli) -> None:
    ana_with_a_retired_kpi(cli)
    listing = cli.out("client", "list")
    assert re.search(r"^ana-lopez .* 1  on-track$", listing, re.M)
    assert cli.json("client", "list")["clients"][0]["kpis"] == 1
    shown = cli.out("client", "show", "ana-lopez")
    assert "1 active KPI (1 retired)" in shown and "2 KPIs" not in shown


# -- 8, 9: history and replay ----------------------------------------------------------------


def test_history_says_from_the_start_and_prints_no_python_booleans(cli: Cli) -> None:
    ana_with_a_retired_kpi(cli)
    out = cli.out("history", "ana-lopez", "salary")
    assert out.splitlines()[0].endswith("effective from the start)")
    assert "False" not in out and "True" not in out
    assert "    retired: no -> yes" in out
    assert "True" not in cli.out("progress", "ana-lopez", "--csv")


def test_replay_shows_the_progress_line_an_adjustment_moves(cli: Cli) -> None:
    ana_with_a_retired_kpi(cli)
    out = cli.out("replay", "ana-lopez")
    after = out.split("Adjusted KPI satisfaction")[1].splitlines()
    assert after[1].strip() == "satisfaction: on-track (progress 50.0%, current 5.5)"


# -- 12, 13: refusals and usage errors ---------------------------------------------------------


def test_forget_without_yes_is_a_refusal_exit_1(cli: Cli) -> None:
    ana_with_a_retired_kpi(cli)
    result = cli.run("forget", "ana-lopez", ok=False)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: forgetting a client cannot be undone: add --yes to confirm"
    ]
    assert cli.json("client", "list")["clients"][0]["client"] == "ana-lopez"


@pytest.mark.parametrize("command", [("progress", "ana-lopez"), ("timeline", "ana-lopez")])
def test_json_and_csv_together_are_a_usage_error(cli: Cli, command: tuple[str, ...]) -> None:
    ana_with_a_retired_kpi(cli)
    result = cli.run(*command, "--json", "--csv", ok=False)
    assert result.exit_code == 2 and result.stdout == ""
    assert "--json and --csv" in result.stderr


# -- 14: after the Quick start -----------------------------------------------------------------


def test_the_demo_says_how_to_point_commands_at_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"XDG_DATA_HOME": str(data), "COACHLEDGER_STORE": ""}
    runner = CliRunner()
    demo = runner.invoke(main, ["demo", "--clients", "1", "--months", "2"], env=env)
    assert demo.exit_code == 0, demo.output
    demo_file = data / "coachledger" / "demo.sqlite"
    assert f"export COACHLEDGER_STORE={demo_file}" in demo.stdout
    listing = runner.invoke(main, ["client", "list"], env=env)
    assert listing.exit_code == 1
    assert listing.stderr.startswith(f"Error: no ledger at {data / 'coachledger' / 'ledger.sqlite'}")
    assert "coachledger init" in listing.stderr
    assert f"export COACHLEDGER_STORE={demo_file}" in listing.stderr
    pointed = runner.invoke(main, ["client", "list"], env={**env, "COACHLEDGER_STORE": str(demo_file)})
    assert pointed.exit_code == 0 and "ana-lopez" in pointed.stdout


def test_a_missing_ledger_says_how_to_create_one(tmp_path: Path) -> None:
    result = Cli(str(tmp_path / "none.sqlite")).run("export", ok=False)
    assert result.exit_code == 1
    assert "coachledger init" in result.stderr and len(result.stderr.splitlines()) == 1


# -- 15: PostgreSQL without its driver ------------------------------------------------------------

BLOCKER = """
import sys
BLOCKED = {blocked!r}
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
for name in list(sys.modules):
    if name.split(".")[0] in BLOCKED:
        del sys.modules[name]
sys.meta_path.insert(0, Blocker())
sys.argv[0] = "coachledger"
from coachledger.cli import main
main()
"""


@pytest.mark.parametrize("blocked", [("psycopg", "psycopg_pool"), ("psycopg_pool",)])
@pytest.mark.parametrize("command", [("client", "list"), ("client", "add", "x", "--name", "X"), ("verify",)])
def test_a_postgresql_url_without_the_driver_is_one_error_line(
    blocked: tuple[str, ...], command: tuple[str, ...]
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER.format(blocked=blocked), "--store", "postgresql://coach@127.0.0.1:1/db",
         *command],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: ") and "pip install 'coachledger[postgres]'" in line


# -- 17: help and completion ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "group", ["client", "goal", "kpi", "measure", "feedback", "session", "milestone", "projections", "store"]
)
def test_every_group_help_has_an_example(group: str) -> None:
    result = CliRunner().invoke(main, [group, "--help"], env={"COACHLEDGER_STORE": "/nonexistent/x.sqlite"})
    assert result.exit_code == 0 and "Example:" in result.stdout
    assert f"coachledger {group} " in result.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_shell_script(shell: str) -> None:
    result = CliRunner().invoke(main, ["completion", shell])
    assert result.exit_code == 0 and "_COACHLEDGER_COMPLETE" in result.stdout


def complete(words: str, env: dict[str, str]) -> list[str]:
    """What bash would offer for the last word of `words` (Click's bash protocol)."""
    parts = shlex.split(words)
    if words.endswith(" "):
        parts.append("")
    result = installed(
        env={
            **env,
            "_COACHLEDGER_COMPLETE": "bash_complete",
            "COMP_WORDS": " ".join(parts),
            "COMP_CWORD": str(len(parts) - 1),
        }
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if line]


def test_client_and_kpi_ids_complete_from_the_ledger(cli: Cli, tmp_path: Path) -> None:
    ana_with_a_retired_kpi(cli)
    cli.run("client", "add", "ben-okafor", "--name", "Ben")
    env = {"COACHLEDGER_STORE": cli.store}
    assert complete("coachledger progress ", env) == ["ana-lopez", "ben-okafor"]
    assert complete("coachledger client show b", env) == ["ben-okafor"]
    assert complete("coachledger measure record ana-lopez s", env) == ["salary", "satisfaction"]
    assert complete(f"coachledger --store {cli.store} history ana-lopez sat", {}) == ["satisfaction"]
    assert complete("coachledger kpi retire nobody ", env) == []


def test_completion_without_a_ledger_offers_nothing_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nothing" / "ledger.sqlite"
    assert complete("coachledger progress ", {"COACHLEDGER_STORE": str(missing)}) == []
    assert complete("coachledger kpi adjust ana ", {"COACHLEDGER_STORE": str(missing)}) == []
    assert not missing.parent.exists()
    unreachable = {"COACHLEDGER_STORE": "postgresql://coach@127.0.0.1:1/none"}
    assert complete("coachledger progress ", unreachable) == []


# -- 10, 11: the README and the contract say what the commands do -----------------------------


def readme_journey() -> list[tuple[list[str], str]]:
    """The README's console session: each command (continuation lines joined) and its output."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## A client's journey", 1)[1].split("```console\n", 1)[1].split("```", 1)[0]
    steps: list[tuple[list[str], str]] = []
    lines = block.splitlines()
    while lines:
        line = lines.pop(0)
        assert line.startswith("$ "), line
        command = line[2:]
        while command.endswith("\\"):
            command = command[:-1] + lines.pop(0)
        output = []
        while lines and not lines[0].startswith("$ "):
            output.append(lines.pop(0))
        steps.append((shlex.split(command, comments=True), "\n".join(output)))
    return steps


def test_the_readme_journey_prints_what_the_readme_shows_on_any_day(tmp_path: Path) -> None:
    env: dict[str, str] = {}
    for words, expected in readme_journey():
        if words[0] == "export":
            env.update(word.split("=", 1) for word in words[1:])
            continue
        assert words[0] == "coachledger", words
        env["COACHLEDGER_STORE"] = str(tmp_path / Path(env["COACHLEDGER_STORE"]).name)
        result = CliRunner().invoke(main, words[1:], env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert result.stdout.rstrip("\n") == expected, " ".join(words)


def documented_commands() -> str:
    return (ROOT / "docs" / "CLI.md").read_text()


def test_cli_md_names_every_option_of_every_command() -> None:
    from test_help import COMMANDS

    doc = documented_commands()
    lines: list[str] = []  # each documented command with its continuation lines
    for line in doc.splitlines():
        if line.startswith("coachledger "):
            lines.append(line)
        elif line.startswith(" ") and lines:
            lines[-1] += line
    missing = []
    for command in COMMANDS:
        ctx = click.Context(main)
        leaf: Any = main
        for name in command:
            leaf = leaf.get_command(ctx, name)
        usage = [line for line in lines if line.startswith(f"coachledger {' '.join(command)} ")]
        documented = "\n".join(usage)
        for param in leaf.params:
            for opt in param.opts if isinstance(param, click.Option) else ():
                if opt.startswith("--") and opt != "--help" and opt not in documented:
                    missing.append(f"{' '.join(command)} {opt}")
    assert not missing, missing


# -- 4: verify names the client, not its stream -------------------------------------------------


def tamper(store: str, rowid: int) -> None:
    import sqlite3

    conn = sqlite3.connect(store)
    with conn:
        conn.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (b'{"x":1}', rowid))
    conn.close()


def test_verify_names_the_client_of_a_tampered_event_by_its_id(cli: Cli) -> None:
    from coachledger.ids import stream_of

    ana_with_a_retired_kpi(cli)  # no read has run: the views do not know Ana yet
    tamper(cli.store, 3)
    result = cli.run("verify", ok=False)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: client 'ana-lopez', seq 3: ")
    doc = json.loads(cli.run("verify", "--json", ok=False).stdout)["first_bad"]
    assert (doc["client"], doc["seq"], doc["stream"]) == ("ana-lopez", 3, stream_of("ana-lopez"))


def test_verify_says_when_the_client_cannot_be_named(cli: Cli) -> None:
    from coachledger.ids import stream_of

    ana_with_a_retired_kpi(cli)
    tamper(cli.store, 1)  # the registration itself
    result = cli.run("verify", ok=False)
    assert result.stderr.startswith(
        f"Error: client '(unknown)' (stream {stream_of('ana-lopez')}: its registration is missing or unreadable)"
    )
    assert json.loads(cli.run("verify", "--json", ok=False).stdout)["first_bad"]["client"] == "(unknown)"


def test_verify_never_names_a_forgotten_client(cli: Cli) -> None:
    ana_with_a_retired_kpi(cli)
    cli.run("client", "add", "ben-okafor", "--name", "Ben")
    cli.run("forget", "ana-lopez", "--yes")
    tamper(cli.store, 3)
    result = cli.run("verify", ok=False)
    assert result.stderr.startswith("Error: client '(forgotten)' (stream ")
    assert "ana-lopez" not in result.stderr
    assert json.loads(cli.run("verify", "--json", ok=False).stdout)["first_bad"]["client"] == "(forgotten)"


def test_dash_means_stdin_for_every_file_read(cli: Cli, tmp_path: Path) -> None:
    ana_with_a_retired_kpi(cli)
    anchor = cli.run("anchor", "--out", "-").stdout
    exported = cli.run("export").stdout
    runner = CliRunner()
    verified = runner.invoke(main, ["--store", cli.store, "verify", "--anchor", "-"], input=anchor)
    assert verified.exit_code == 0 and "Anchor of 10 events" in verified.stdout, verified.output
    measured = runner.invoke(
        main,
        ["--store", cli.store, "measure", "import", "ana-lopez", "-"],
        input="kpi,value,date\nsatisfaction,7,2026-04-01\n",
    )
    assert measured.exit_code == 0 and measured.stdout.startswith("Recorded 1 measurement"), measured.output
    copy = str(tmp_path / "copy.sqlite")
    imported = runner.invoke(main, ["--store", copy, "import", "-"], input=exported)
    assert imported.exit_code == 0 and imported.stdout.startswith("Imported 10 events"), imported.output
    bad = runner.invoke(main, ["--store", cli.store, "verify", "--anchor", "-"], input="{}")
    assert bad.exit_code == 1 and bad.stderr.startswith("Error: the anchor on stdin is not a coachledger")


# -- 16: CSV from European survey tools -------------------------------------------------------------


def measure_import(cli: Cli, tmp_path: Path, text: str, ok: bool = True) -> Any:
    survey = tmp_path / "survey.csv"
    survey.write_text(text, encoding="utf-8")
    return cli.run("measure", "import", "ana-lopez", str(survey), ok=ok)


def test_a_semicolon_separated_survey_with_decimal_commas_imports(cli: Cli, tmp_path: Path) -> None:
    ana_with_a_retired_kpi(cli)
    result = measure_import(cli, tmp_path, "date;kpi;value;note\n2026-04-01;satisfaction;6,5;a, b\n")
    assert result.stdout.startswith("Recorded 1 measurement for ana-lopez")
    items = {k["kpi"]: k for k in cli.json("progress", "ana-lopez", "--as-of", "2026-04-02")["kpis"]}
    assert items["satisfaction"]["current"] == 6.5
    tabbed = measure_import(cli, tmp_path, "kpi\tvalue\tdate\nsatisfaction\t7\t2026-04-03\n")
    assert tabbed.stdout.startswith("Recorded 1 measurement")


def test_csv_errors_say_which_delimiter_was_seen(cli: Cli, tmp_path: Path) -> None:
    ana_with_a_retired_kpi(cli)
    comma = measure_import(cli, tmp_path, 'kpi,value,date\nsatisfaction,"6,5",2026-04-01\n', ok=False)
    assert comma.exit_code == 1
    assert comma.stderr == (
        "Error: line 2, field value: '6,5' is not a number (a decimal comma is read only in a "
        "';'-separated file); the delimiter is ',' (comma)\n"
    )
    piped = measure_import(cli, tmp_path, "kpi|value|date\nsatisfaction|6|2026-04-01\n", ok=False)
    assert piped.exit_code == 1 and "the cells were split at ',' (comma)" in piped.stderr
    semi = measure_import(cli, tmp_path, "kpi;value;date\nsatisfaction;6.5.1;2026-04-01\n", ok=False)
    assert "the delimiter is ';' (semicolon)" in semi.stderr
    assert cli.json("kpi", "list", "ana-lopez")  # nothing half-written: still readable
