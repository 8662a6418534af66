"""Every command explains itself with an example, and --help never touches a store."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from coachledger.cli import main


def leaf_commands() -> list[tuple[str, ...]]:
    ctx = click.Context(main)
    found: list[tuple[str, ...]] = []

    def walk(group: click.Group, path: tuple[str, ...]) -> None:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None
            if isinstance(command, click.Group):
                walk(command, (*path, name))
            else:
                found.append((*path, name))

    walk(main, ())
    return found


COMMANDS = leaf_commands()


def test_the_contract_commands_exist() -> None:
    names = {" ".join(c) for c in COMMANDS}
    for required in (
        "client add",
        "client list",
        "client show",
        "goal add",
        "kpi define",
        "kpi baseline",
        "kpi adjust",
        "kpi retire",
        "kpi list",
        "measure record",
        "measure correct",
        "measure retract",
        "feedback add",
        "session log",
        "milestone celebrate",
        "progress",
        "history",
        "timeline",
        "replay",
        "balance",
        "portfolio",
        "check",
        "agenda",
        "projections status",
        "projections rebuild",
    ):
        assert required in names


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(command: tuple[str, ...], tmp_path: object) -> None:
    result = CliRunner().invoke(
        main, [*command, "--help"], env={"COACHLEDGER_STORE": "/nonexistent/x.sqlite"}
    )
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output
