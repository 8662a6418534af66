"""The layers are a contract checked by import-linter (pyproject's ``[tool.importlinter]``).

Like the mypy check, it runs on the package as it is installed: ``projections/`` sits inside
``coachledger/`` there, so the tree is copied into that shape first.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept(tmp_path: Path) -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    if not lint.exists():
        pytest.fail("import-linter is not installed: pip install -e '.[test]'")
    package = tmp_path / "coachledger"
    shutil.copytree(ROOT / "src" / "coachledger", package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        ROOT / "projections", package / "projections", ignore=shutil.ignore_patterns("__pycache__")
    )
    result = subprocess.run(
        [str(lint), str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
