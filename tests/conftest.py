"""Shared fixtures: a real store on every backend, and a CLI runner bound to it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from coachledger.cli import main


@dataclass
class Cli:
    """Runs coachledger commands against one store, as a coach would type them."""

    store: str
    actor: str = "maria"
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, ok: bool = True, actor: str | None = None) -> Result:
        runner = CliRunner()
        result = runner.invoke(
            main,
            ["--store", self.store, "--actor", actor or self.actor, *args],
            env=self.env,
            catch_exceptions=False,
        )
        if ok and result.exit_code != 0:
            raise AssertionError(
                f"coachledger {' '.join(args)} exited {result.exit_code}:\n{result.output}"
            )
        return result

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.strip()

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)


@pytest.fixture(params=["sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store URL on each backend (PostgreSQL joins the parametrisation where a server answers)."""
    yield str(tmp_path / "ledger.sqlite")


@pytest.fixture
def cli(store: str) -> Cli:
    return Cli(store)
