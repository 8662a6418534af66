"""KPI templates: a set of KPI definitions in a TOML file, defined for a client all or nothing.

A template is a TOML file (read with ``tomllib``) with a ``description`` and one ``[[kpi]]`` table
per KPI; docs/CLI.md ("KPI templates") gives the schema. The shipped templates (the seed chapter's
eight common career-coaching KPIs, one template each, and ``career-essentials`` with all eight)
live in ``coachledger/templates`` as package data; ``--template`` takes their name or a file path.
"""

from __future__ import annotations

import re
import tomllib
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from coachledger.errors import InvalidValue, did_you_mean
from coachledger.moments import parse_moment

FIELDS = (
    *("id", "name", "category", "unit", "direction", "target", "due", "scale", "dimension", "horizon"),
    *("method", "goal", "defined_by", "cadence", "weight"),
)
REQUIRED = ("id", "name", "category", "unit", "direction", "target", "due")
_OFFSET = re.compile(r"^(\d{1,4})\s*(day|week|month|year)s?$")


@dataclass(frozen=True)
class Template:
    name: str
    description: str
    kpis: list[dict[str, Any]]  # the [[kpi]] tables as written

    def as_written(self) -> list[dict[str, Any]]:
        """The [[kpi]] tables as JSON can say them: TOML dates and times as ISO text."""
        return [{k: _plain(v) for k, v in kpi.items()} for kpi in self.kpis]


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    return value


def shipped() -> list[str]:
    """The names of the shipped templates, sorted."""
    folder = resources.files("coachledger") / "templates"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load(name_or_path: str) -> Template:
    """A shipped template by name, or a template file."""
    path = Path(name_or_path)
    if name_or_path in shipped():
        text = (resources.files("coachledger") / "templates" / f"{name_or_path}.toml").read_text("utf-8")
        name = name_or_path
    elif path.is_file():
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise InvalidValue(f"cannot read template {name_or_path}: {e}") from None
        name = path.stem
    else:
        hint = did_you_mean(name_or_path, shipped())
        raise InvalidValue(
            f"unknown template '{name_or_path}'{hint}: neither a file nor one of {', '.join(shipped())}"
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InvalidValue(f"template {name}: not valid TOML ({e})") from None
    kpis = data.get("kpi")
    if not isinstance(kpis, list) or not kpis or not all(isinstance(k, dict) for k in kpis):
        raise InvalidValue(f"template {name}: no [[kpi]] tables")
    unknown = sorted(set(data) - {"description", "kpi"})
    if unknown:
        raise InvalidValue(f"template {name}: unknown key '{unknown[0]}' (description, kpi)")
    return Template(name, str(data.get("description", "")), kpis)


def definitions(
    template: Template, now: datetime, goal: str | None = None, defined_by: str | None = None
) -> list[dict[str, Any]]:
    """The keyword arguments of ``Ledger.define_kpi`` for each KPI of the template.

    A relative ``due`` ("6 months") counts from ``now``; ``goal`` links every KPI that names none,
    and ``defined_by`` is that of every KPI that says none.
    """
    out = []
    for n, kpi in enumerate(template.kpis, start=1):
        where = f"template {template.name}, KPI {kpi.get('id', n)}"
        unknown = sorted(set(kpi) - set(FIELDS))
        if unknown:
            raise InvalidValue(f"{where}: unknown key '{unknown[0]}' (the keys are {', '.join(FIELDS)})")
        missing = [k for k in REQUIRED if k not in kpi]
        if missing:
            raise InvalidValue(f"{where}: '{missing[0]}' is required ({', '.join(REQUIRED)} are)")
        fields: dict[str, Any] = {
            k: _text(where, k, kpi[k]) for k in ("id", "name", "category", "unit", "direction") if k in kpi
        }
        fields["target"] = _number(where, "target", kpi["target"])
        fields["due"] = _due(where, kpi["due"], now)
        if "scale" in kpi:
            fields["scale_min"], fields["scale_max"] = _scale(where, kpi["scale"])
        for k in ("dimension", "horizon", "method", "goal", "defined_by", "cadence"):
            if k in kpi:
                fields[k] = _text(where, k, kpi[k])
        if "weight" in kpi:
            fields["weight"] = _number(where, "weight", kpi["weight"])
        if goal is not None and "goal" not in fields:
            fields["goal"] = goal
        if defined_by is not None and "defined_by" not in fields:
            fields["defined_by"] = defined_by
        fields["kpi"] = fields.pop("id")
        out.append(fields)
    ids = [f["kpi"] for f in out]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise InvalidValue(f"template {template.name}: KPI '{twice[0]}' appears twice")
    return out


def _text(where: str, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidValue(f"{where}: '{key}' must be text")
    return value


def _number(where: str, key: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidValue(f"{where}: '{key}' must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidValue(f"{where}: '{key}' must be a number, not '{value}'") from None
    if not number.is_finite():
        raise InvalidValue(f"{where}: '{key}' must be a finite number")
    return number


def _scale(where: str, value: Any) -> tuple[Decimal, Decimal]:
    parts = value.split("..") if isinstance(value, str) else value
    if not isinstance(parts, list) or len(parts) != 2:
        raise InvalidValue(f"{where}: 'scale' must be \"MIN..MAX\" or [MIN, MAX]")
    return _number(where, "scale", parts[0]), _number(where, "scale", parts[1])


def _due(where: str, value: Any, now: datetime) -> datetime:
    """A date (TOML date or ISO text), or an offset from now: "90 days", "6 weeks", "6 months", "1 year"."""
    if isinstance(value, datetime):
        return value if value.tzinfo else parse_moment(value.isoformat())
    if not isinstance(value, str):
        try:
            return parse_moment(value.isoformat())  # a TOML date
        except (AttributeError, ValueError):
            raise InvalidValue(f"{where}: 'due' must be a date or an offset like \"6 months\"") from None
    offset = _OFFSET.match(value.strip().lower())
    if offset is None:
        try:
            return parse_moment(value)
        except ValueError:
            raise InvalidValue(
                f"{where}: 'due' must be a date or an offset like \"6 months\", not '{value}'"
            ) from None
    count, unit = int(offset[1]), offset[2]
    if unit in ("day", "week"):
        return now + timedelta(days=count * (7 if unit == "week" else 1))
    months = now.month - 1 + count * (12 if unit == "year" else 1)
    year, month = now.year + months // 12, months % 12 + 1
    return now.replace(year=year, month=month, day=min(now.day, monthrange(year, month)[1]))
