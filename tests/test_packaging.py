"""A non-editable install ships every package of the tree: pyproject lists them by hand."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _packages_in_tree() -> set[str]:
    found = set()
    for base, prefix in (
        (ROOT / "src" / "coachledger", "coachledger"),
        (ROOT / "projections", "coachledger.projections"),
    ):
        for init in base.rglob("__init__.py"):
            if "__pycache__" in init.parts:
                continue
            rel = init.parent.relative_to(base).parts
            found.add(".".join((prefix, *rel)))
    return found


def test_every_package_of_the_tree_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    assert _packages_in_tree() == listed


def test_the_shipped_kpi_templates_are_package_data() -> None:
    """``kpi define --template NAME`` reads them from the installed package."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["coachledger"]
    base = ROOT / "src" / "coachledger"
    templates = sorted(p.relative_to(base) for p in (base / "templates").glob("*"))
    assert len(templates) == 9
    assert all(any(t.match(pattern) for pattern in patterns) for t in templates)
