"""ruff and mypy are part of the test run, so a green suite means a clean tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str) -> list[str]:
    if shutil.which(name) is None and not (Path(sys.executable).parent / name).exists():
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return [sys.executable, "-m", name]


def test_ruff_finds_nothing() -> None:
    result = subprocess.run(
        [*_tool("ruff"), "check", "src", "projections", "tests", "scripts"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing(tmp_path: Path) -> None:
    """Type-check the package as it is installed: projections/ sits inside coachledger/."""
    package = tmp_path / "coachledger"
    shutil.copytree(ROOT / "src" / "coachledger", package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        ROOT / "projections", package / "projections", ignore=shutil.ignore_patterns("__pycache__")
    )
    result = subprocess.run(
        [
            *_tool("mypy"),
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / ".mypy"),
            "-p",
            "coachledger",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
