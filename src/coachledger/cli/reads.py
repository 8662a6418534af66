"""Reading the ledger: progress, history, timeline, replay, balance, portfolio, check, agenda."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from typing import Any

import click

from coachledger.cli.common import (
    MOMENT,
    Env,
    complete_client,
    complete_kpi,
    emit_json,
    json_option,
    pass_env,
)
from coachledger.cli.render import (
    read_side,
    render_progress,
    shown_status,
    table,
    write_csv,
)
from coachledger.services.documents import replay_document, timeline_document


def follow_up_line(a: dict[str, Any]) -> str:
    """One open action as agenda, replay and due show it."""
    due = f" (due {a['due']}{', OVERDUE' if a['overdue'] else ''})" if a["due"] else ""
    return f"{a['action']}: {a['text']}{due}"


def as_of_option(f: Any) -> Any:
    return click.option("--as-of", type=MOMENT, help="Effective date: what was true then (default: now).")(f)


def known_at_option(f: Any) -> Any:
    return click.option(
        "--known-at", type=MOMENT, help="Recording time: only what had been recorded by then."
    )(f)


def csv_option(f: Any) -> Any:
    return click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout (spreadsheet-safe).")(f)


def one_format(as_json: bool, as_csv: bool) -> None:
    if as_json and as_csv:
        raise click.UsageError("--json and --csv contradict each other: give one of them")


@click.command()
@click.argument("client", shell_complete=complete_client)
@as_of_option
@known_at_option
@json_option
@csv_option
@pass_env
def progress(
    env: Env, client: str, as_of: datetime | None, known_at: datetime | None, as_json: bool, as_csv: bool
) -> None:
    """Progress of each KPI of CLIENT: baseline, current, target, progress vs expected, status.

    Values are shown in the scale and unit of the KPI definition in force at the as-of date.

    \b
    Example:
      coachledger progress ana-lopez
      coachledger progress ana-lopez --as-of 2026-04-01 --known-at 2026-04-02T09:00 --json
    """
    one_format(as_json, as_csv)
    render_progress(read_side(env).progress(client, as_of, known_at), as_json, as_csv)


@click.command()
@click.argument("client", shell_complete=complete_client)
@click.argument("kpi", shell_complete=complete_kpi)
@known_at_option
@json_option
@pass_env
def history(env: Env, client: str, kpi: str, known_at: datetime | None, as_json: bool) -> None:
    """Every definition version of a KPI: field-level changes, reason, actor, both times.

    With --known-at, the versions recorded by then.

    \b
    Example:
      coachledger history ana-lopez satisfaction
      coachledger history ana-lopez satisfaction --known-at 2026-03-02
    """
    doc = read_side(env).history(client, kpi, known_at)
    if as_json:
        emit_json(doc)
        return
    for v in doc["versions"]:
        who = f"{v['recorded_at'][:16].replace('T', ' ')} by {v['actor']}"
        effective = "from the start" if v["version"] == 1 else v["effective_at"][:10]
        click.echo(f"v{v['version']} {v['kind']} (recorded {who}, effective {effective})")
        if v["reason"]:
            click.echo(f"    reason: {v['reason']}")
        for field, (old, new) in v["changes"].items():
            click.echo(f"    {field}: {_value(old)} -> {_value(new)}")


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@click.command()
@click.argument("client", shell_complete=complete_client)
@click.option("--from", "since", type=MOMENT, help="First recording day (included).")
@click.option("--to", "until", type=MOMENT, help="Last recording day (included).")
@known_at_option
@json_option
@csv_option
@pass_env
def timeline(
    env: Env,
    client: str,
    since: datetime | None,
    until: datetime | None,
    known_at: datetime | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    """The audit timeline of CLIENT: every event, both times, who, what.

    \b
    Example:
      coachledger timeline ana-lopez --from 2026-03-01 --to 2026-03-31
    """
    one_format(as_json, as_csv)
    if until is not None and until.time() == until.min.time():
        until = until + timedelta(days=1)  # a day is included whole
    elif until is not None:
        until = until + timedelta(microseconds=1)
    doc = read_side(env).timeline(client, since, until, known_at)
    shown = timeline_document(client, doc["events"])
    events = shown["events"]
    if as_json:
        emit_json(shown)
        return
    rows = [
        (
            e["seq"],
            e["recorded_at"][:16].replace("T", " "),
            (e["effective_at"] or "")[:10],
            e["actor"],
            e["type"],
            e["summary"] + (f" ({e['data']['id']})" if "id" in e["data"] else ""),  # s1, f1, ...
        )
        for e in events
    ]
    if as_csv:
        write_csv(
            ("seq", "recorded_at", "effective_at", "actor", "type", "summary"),
            [
                (e["seq"], e["recorded_at"], e["effective_at"], e["actor"], e["type"], e["summary"])
                for e in events
            ],
        )
        return
    table(("seq", "recorded", "effective", "actor", "event", "what"), rows)


@click.command()
@click.argument("client", shell_complete=complete_client)
@known_at_option
@json_option
@pass_env
def replay(env: Env, client: str, known_at: datetime | None, as_json: bool) -> None:
    """Replay CLIENT's journey step by step: each event and the progress the coach saw right then.

    \b
    Example:
      coachledger replay ana-lopez --known-at 2026-06-30
    """
    doc = replay_document(read_side(env).replay(client, known_at))
    if as_json:
        emit_json(doc)
        return
    before: dict[str, tuple[Any, ...]] = {}
    following: list[str] = []
    for step in doc["steps"]:
        click.echo(f"{step['recorded_at'][:16].replace('T', ' ')}  {step['actor']}: {step['summary']}")
        for item in step["progress"]:
            now = (shown_status(item), item["progress_pct"], item["current"], item["target"])
            if before.get(item["kpi"]) != now:
                pct = "-" if item["progress_pct"] is None else f"{item['progress_pct']}%"
                click.echo(
                    f"    {item['kpi']}: {click.style(item['status'], bold=True)} (progress {pct}, "
                    f"current {item['current'] if item['current'] is not None else '-'})"
                )
                before[item["kpi"]] = now
        follow = [follow_up_line(a) for a in step.get("open_actions", ())]
        if follow != following:  # the open actions, when they change
            click.echo("    follow up: " + ("; ".join(follow) if follow else "nothing open"))
            following = follow


@click.command()
@click.argument("client", shell_complete=complete_client)
@as_of_option
@known_at_option
@json_option
@pass_env
def balance(env: Env, client: str, as_of: datetime | None, known_at: datetime | None, as_json: bool) -> None:
    """Balance of CLIENT's KPIs: professional vs personal, short vs long term.

    \b
    Example:
      coachledger balance ana-lopez --json
    """
    doc = read_side(env).balance(client, as_of, known_at)
    if as_json:
        emit_json(doc)
        return
    table(
        ("dimension", "horizon", "kpis", "avg progress %", "statuses"),
        [
            (
                q["dimension"],
                q["horizon"],
                q["count"],
                q["average_progress_pct"],
                ", ".join(f"{k} {n}" for k, n in q["statuses"].items()),
            )
            for q in doc["quadrants"]
        ],
    )
    missing = [f"{q['dimension']}/{q['horizon']}" for q in doc["quadrants"] if not q["count"]]
    if missing:
        click.echo(f"Not covered: {', '.join(missing)}")


@click.command()
@click.option("--coach", help="Only this coach's clients.")
@as_of_option
@known_at_option
@json_option
@pass_env
def portfolio(
    env: Env, coach: str | None, as_of: datetime | None, known_at: datetime | None, as_json: bool
) -> None:
    """The coach's portfolio across clients: promotions, salary, satisfaction, goals, feedback.

    \b
    Example:
      coachledger portfolio --coach maria
    """
    doc = read_side(env).portfolio(coach, as_of, known_at)
    if as_json:
        emit_json(doc)
        return
    labels = (
        ("clients", "clients"),
        ("promotion rate %", "promotion_rate_pct"),
        ("median salary change %", "median_salary_change_pct"),
        ("average satisfaction change", "average_satisfaction_change"),
        ("goal achievement rate %", "goal_achievement_rate_pct"),
        ("open goals' average progress %", "average_open_goal_progress_pct"),
        ("average feedback (1-5)", "average_feedback"),
    )
    goals = f"{doc['goals_achieved']} achieved, {doc['goals_open']} open, {doc['goals_abandoned']} abandoned"
    table(("measure", "value"), [*((label, doc[key]) for label, key in labels), ("goals", goals)])


@click.command()
@click.argument("client", required=False, shell_complete=complete_client)
@click.option("--all", "all_clients", is_flag=True, help="Check every client.")
@as_of_option
@known_at_option
@json_option
@pass_env
def check(
    env: Env,
    client: str | None,
    all_clients: bool,
    as_of: datetime | None,
    known_at: datetime | None,
    as_json: bool,
) -> None:
    """SMART and consistency findings, all at once; exits 1 when there are any.

    --as-of: measurements overdue by then (each KPI's cadence); --known-at: from what had been
    recorded by then (with --all, clients registered later are left out).

    \b
    Example:
      coachledger check ana-lopez
      coachledger check --all --as-of 2026-10-30 --json
    """
    # lazy: only check and agenda give advice
    from coachledger.projections.advice import findings
    from coachledger.projections.clients import all_clients as every_client

    if bool(client) == all_clients:
        raise click.UsageError("give either CLIENT or --all")
    rs = read_side(env)
    if client is None:
        slugs = [c["client"] for c in every_client(rs.db) if rs.known_seq(c["stream"], known_at) != 0]
    else:
        slugs = [client]
    found = [f for slug in slugs for f in findings(rs, slug, as_of, known_at)]
    if as_json:
        emit_json({"ok": not found, "findings": found})
    elif found:
        table(
            ("client", "kpi", "rule", "finding"),
            [(f["client"], f["kpi"], f["rule"], f["message"]) for f in found],
        )
    else:
        click.echo("No findings: every KPI is SMART and the set is balanced.")
    if found:
        sys.exit(1)


@click.command()
@click.argument("client", shell_complete=complete_client)
@as_of_option
@known_at_option
@json_option
@pass_env
def agenda(env: Env, client: str, as_of: datetime | None, known_at: datetime | None, as_json: bool) -> None:
    """What the next session with CLIENT should cover, from the KPI results.

    \b
    Example:
      coachledger agenda ana-lopez
      coachledger agenda ana-lopez --as-of 2026-03-02 --known-at 2026-03-02T09:00
    """
    # lazy: only check and agenda give advice
    from coachledger.projections.advice import agenda as build

    doc = build(read_side(env), client, as_of, known_at)
    if as_json:
        emit_json(doc)
        return
    click.echo(
        f"Agenda for {client}"
        + (f" (last session {doc['last_session'][:10]})" if doc["last_session"] else "")
    )
    sections = (
        (
            "Needs attention",
            [
                f"{i['kpi']}: {i['status']}, {i['current']} of {i['target']} {i['unit']} "
                f"(progress {i['progress_pct']}% vs expected {i['expected_pct']}%)"
                for i in doc["attention"]
            ],
        ),
        (
            "Measure",
            [
                f"{m['kpi']}: last measured {(m['last_measured'] or 'never')[:10]}"
                for m in doc["measurements_due"]
            ],
        ),
        ("Celebrate", [f"{i['kpi']}: target {i['target']} {i['unit']} reached" for i in doc["to_celebrate"]]),
        (
            "Feedback",
            [
                f"{f['rating']}/5 about {f['about']}" + (f": {f['comment']}" if f["comment"] else "")
                for f in doc["recent_feedback"]
            ],
        ),
        (
            "Confidence dropped",
            [
                f"{d['kpi']}: confidence {d['from']} -> {d['to']} of 10 ({d['effective_at'][:10]})"
                for d in doc.get("confidence_drops", ())
            ],
        ),
        (
            "KPI changes",
            [
                f"{a['kpi']} v{a['version']} {a['kind']}: {a['reason']}"
                for a in doc["adjustments_since_last_session"]
            ],
        ),
        ("Follow up", [follow_up_line(a) for a in doc.get("follow_up", ())]),
    )
    for title, lines in sections:
        if lines:
            click.echo(f"\n{title}:")
            for line in lines:
                click.echo(f"  - {line}")
    if not any(lines for _, lines in sections):
        click.echo("Nothing pressing: every KPI is on track and measured.")
