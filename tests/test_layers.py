"""The layers are a contract checked by import-linter (pyproject's ``[tool.importlinter]``).

Like the mypy check, it runs on the package as it is installed: ``projections/`` sits inside
``coachledger/`` there, so the tree is copied into that shape first.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tokenize
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


def _function_imports(path: Path) -> list[tuple[int, int]]:
    """(first line, last line) of every import statement inside a function of ``path``."""
    found: list[tuple[int, int]] = []

    def walk(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if in_function and isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append((child.lineno, child.end_lineno or child.lineno))
            walk(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    walk(ast.parse(path.read_text()), False)
    return found


def _unexplained(path: Path) -> list[int]:
    """Function-level imports of ``path`` with no comment on their lines or the line before.

    Consecutive imports (blank lines between them allowed) share the comment above the first.
    """
    text = path.read_text()
    lines = text.splitlines()
    with path.open("rb") as f:
        commented = {
            tok.start[0] for tok in tokenize.tokenize(f.readline) if tok.type == tokenize.COMMENT
        }
    bad = []
    for first, last in _function_imports(path):
        if commented & set(range(first, last + 1)):
            continue
        above = first - 1
        while above > 0 and (
            not lines[above - 1].strip() or re.match(r"\s+(from|import) ", lines[above - 1])
        ):
            if above in commented:
                break
            above -= 1
        if above not in commented:
            bad.append(first)
    return bad


def test_function_level_imports_say_why() -> None:
    """An import inside a function is there to keep start-up lazy, and says so in a comment.

    Everything else is imported at the top of the module (layers and cycles are checked above).
    """
    missing = [
        f"{path.relative_to(ROOT)}:{line}"
        for folder in ("src", "projections")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line in _unexplained(path)
    ]
    assert not missing, (
        "function-level imports without a comment saying why they are not at the top "
        "(e.g. '# lazy: psycopg only for PostgreSQL stores'):\n" + "\n".join(missing)
    )


MAX_LINES = 500
# Modules still longer, each with the reason; the test fails once one is short enough to drop.
LONG_FOR_NOW: dict[str, str] = {}


def test_no_module_above_500_lines() -> None:
    """Every module of the package and of the scripts stays readable in one sitting."""
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for folder in ("src", "projections", "scripts")
        for path in sorted((ROOT / folder).rglob("*.py"))
    }
    too_long = [f"{name}: {lines} lines" for name, lines in sizes.items() if lines > MAX_LINES and name not in LONG_FOR_NOW]
    assert not too_long, f"modules above {MAX_LINES} lines:\n" + "\n".join(too_long)
    short_now = [name for name in LONG_FOR_NOW if sizes.get(name, 0) <= MAX_LINES]
    assert not short_now, f"no longer above {MAX_LINES} lines, drop from LONG_FOR_NOW: {short_now}"
