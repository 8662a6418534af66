"""Open actions with a due date appear in ``due`` (and its calendar) until done or dropped."""

from __future__ import annotations

from conftest import Cli


def a_client_with_an_action(cli: Cli) -> None:
    cli.run("client", "add", "ana", "--name", "Ana", "--coach", "maria")
    cli.run(
        "kpi", "define", "ana", "sal", "--name", "Salary", "--category", "salary", "--unit", "EUR",
        "--direction", "increase", "--target", "90000", "--due", "2099-06-30",
    )
    cli.run("action", "add", "ana", "Send the CV to two recruiters", "--due", "2099-01-10", "--kpi", "sal")


def test_an_open_action_past_its_due_date_is_due(cli: Cli) -> None:
    a_client_with_an_action(cli)
    doc = cli.json("due", "--as-of", "2099-01-15")
    (item,) = [i for i in doc["items"] if i["kind"] == "action"]
    assert item["client"] == "ana" and item["action"] == "a1" and item["days_late"] == 5
    assert item["text"] == "Send the CV to two recruiters"
    (line,) = [row for row in cli.run("due", "--as-of", "2099-01-15").output.splitlines() if "action" in row]
    assert "Send the CV to two recruiters" in line


def test_an_action_not_yet_due_shows_only_within_its_window(cli: Cli) -> None:
    a_client_with_an_action(cli)
    assert not [i for i in cli.json("due", "--as-of", "2099-01-05")["items"] if i["kind"] == "action"]
    soon = cli.json("due", "--as-of", "2099-01-05", "--within", "7d")["items"]
    assert [i["days_late"] for i in soon if i["kind"] == "action"] == [-5]


def test_a_done_action_is_no_longer_due(cli: Cli) -> None:
    a_client_with_an_action(cli)
    cli.run("action", "done", "ana", "a1", "--note", "sent")
    assert not [i for i in cli.json("due", "--as-of", "2099-01-15")["items"] if i["kind"] == "action"]


def test_the_calendar_names_the_action(cli: Cli) -> None:
    a_client_with_an_action(cli)
    feed = cli.run("due", "--as-of", "2099-01-15", "--ics", "-").output
    assert "Follow up: Send the CV to two recruiters (Ana)" in feed
