"""Statuses and vocabularies are defined once (coachledger.vocab): the domain's choices, the
command line's choices, the progress numbers, the tables and the report's CSS all come from them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

import click
import pytest

from coachledger import domain
from coachledger.cli.journal import goal_add
from coachledger.cli.kpis import adjust, define
from coachledger.cli.measures import import_csv, record
from coachledger.cli.render import STATUS_COLOURS
from coachledger.projections import calc
from coachledger.projections.models import Progress, ReadModel, json_default
from coachledger.services.report import html
from coachledger.vocab import (
    SEVERITY,
    Category,
    Definer,
    Dimension,
    Direction,
    Horizon,
    Source,
    Status,
    values,
)

DOMAIN_TUPLES = [
    (domain.CATEGORIES, Category),
    (domain.DIRECTIONS, Direction),
    (domain.DIMENSIONS, Dimension),
    (domain.HORIZONS, Horizon),
    (domain.DEFINERS, Definer),
    (domain.SOURCES, Source),
]


@pytest.mark.parametrize(("choices", "vocabulary"), DOMAIN_TUPLES)
def test_the_domains_choices_are_the_vocabularys_values_as_plain_strings(
    choices: tuple[str, ...], vocabulary: type[StrEnum]
) -> None:
    assert choices == values(vocabulary) == tuple(m.value for m in vocabulary)
    assert all(type(c) is str for c in choices)  # click.Choice would show an enum's names


def _choices(command: click.Command, option: str) -> tuple[str, ...]:
    param = next(p for p in command.params if p.name == option)
    assert isinstance(param.type, click.Choice)
    return tuple(param.type.choices)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("command", "option", "vocabulary"),
    [
        (define, "category", Category),
        (define, "direction", Direction),
        (define, "dimension", Dimension),
        (define, "horizon", Horizon),
        (define, "defined_by", Definer),
        (adjust, "dimension", Dimension),
        (adjust, "horizon", Horizon),
        (goal_add, "horizon", Horizon),
        (record, "source", Source),
        (import_csv, "source", Source),
    ],
)
def test_every_cli_choice_is_a_vocabulary(
    command: click.Command, option: str, vocabulary: type[StrEnum]
) -> None:
    assert _choices(command, option) == values(vocabulary)
    default = next(p for p in command.params if p.name == option).default
    if isinstance(default, str):  # a given default (click's own "no default" is a sentinel)
        assert type(default) is str and default in values(vocabulary)


def test_the_reports_status_classes_are_statuses() -> None:
    rules = re.findall(r"^(\.status\.[^{]+)\{", html.CSS, flags=re.MULTILINE)
    classes = {c.strip() for rule in rules for c in rule.split(",")}
    assert classes == {f".status.{s.value}" for group, _ in html.STATUS_BACKGROUNDS for s in group}
    assert {s for group, _ in html.STATUS_BACKGROUNDS for s in group} <= set(Status)
    # The stylesheet itself names no status: its one place for them is filled from the enum.
    from importlib import resources

    sheet = resources.files("coachledger.services.report").joinpath("report.css").read_text("utf-8")
    assert not re.search(r"\.status\.[a-z]", sheet)
    assert "/* status colours */" in sheet


def test_tables_colour_statuses_and_severity_orders_every_computed_status() -> None:
    assert set(STATUS_COLOURS) <= set(Status)
    assert set(SEVERITY) == set(Status) - {Status.RETIRED, Status.NO_KPIS}
    assert set(STATUS_COLOURS) == set(SEVERITY)


def test_progress_status_is_a_status_and_json_keeps_the_documented_order() -> None:
    due = datetime(2026, 12, 31, tzinfo=UTC)
    fields: dict[str, object] = {
        "name": "Skill",
        "category": Category.SKILL.value,
        "unit": "points",
        "direction": Direction.INCREASE.value,
        "target": Decimal(100),
        "due": due,
        "dimension": Dimension.PERSONAL.value,
        "horizon": Horizon.SHORT.value,
    }
    start = datetime(2026, 1, 1, tzinfo=UTC)
    defs = [calc.DefRow(1, "defined", start, fields)]
    bare = calc.kpi_progress("k", defs, [], [], [], datetime(2026, 4, 1, tzinfo=UTC))
    assert bare.status is Status.NO_BASELINE
    item = calc.kpi_progress(
        "k",
        defs,
        [calc.BaselineRow(2, start, Decimal(50))],
        [calc.MeasurementRow(3, "m3", datetime(2026, 3, 1, tzinfo=UTC), Decimal(60))],
        [],
        datetime(2026, 4, 1, tzinfo=UTC),
    )
    assert isinstance(item, Progress) and isinstance(item, ReadModel)
    assert item.status is Status.ON_TRACK
    text = json.dumps({"kpis": [item]}, default=json_default)
    keys = list(json.loads(text)["kpis"][0])
    assert keys == list(Progress.__struct_fields__) == list(item)
    assert json.loads(text)["kpis"][0]["status"] == "on-track"
