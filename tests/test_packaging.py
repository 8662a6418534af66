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
