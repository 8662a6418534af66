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


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package in its installed shape (``projections/`` inside ``coachledger/``)."""
    root = tmp_path_factory.mktemp("installed")
    package = root / "coachledger"
    shutil.copytree(ROOT / "src" / "coachledger", package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        ROOT / "projections", package / "projections", ignore=shutil.ignore_patterns("__pycache__")
    )
    return root


def test_import_contracts_are_kept(installed: Path) -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    if not lint.exists():
        pytest.fail("import-linter is not installed: pip install -e '.[test]'")
    result = subprocess.run(
        [str(lint), str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=installed,
        env={"PYTHONPATH": str(installed), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# Every import counts, at module level or in a function (grimp reads both): no module may
# reach itself again through its imports.
CYCLES = r"""
import grimp

graph = grimp.build_graph("coachledger")
edges = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
index, low, stack, on_stack, cycles = {}, {}, [], set(), []

def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on_stack.add(v)
    for w in edges[v]:
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on_stack:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        component = []
        while True:
            w = stack.pop()
            on_stack.discard(w)
            component.append(w)
            if w == v:
                break
        if len(component) > 1 or v in edges[v]:
            cycles.append(" <-> ".join(sorted(component)))

for module in sorted(edges):
    if module not in index:
        visit(module)
print("\n".join(cycles))
"""


def test_no_import_cycles(installed: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CYCLES],
        env={"PYTHONPATH": str(installed), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"import cycles:\n{result.stdout}"
