"""Architecture rules that import-linter cannot state, checked on the source tree.

- Orchestration stays readable: no function in `app/service`, `app/gate` or `app/github` is longer
  than 80 lines (a long one is a list of steps that wants names).
- `app.semdiff` has a public API: code outside it imports only from `app.semdiff` itself, and only
  names that `app.semdiff.__all__` exports (tests may reach inside).
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"
MAX_FUNCTION_LINES = 80
SHORT_FUNCTION_PACKAGES = ("service", "gate", "github")


def _modules(folder: Path) -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(folder.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def long_functions(folder: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """`path:line name (N lines)` for every function (nested ones too) longer than `limit`."""
    out: list[str] = []
    for path, tree in _modules(folder):
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > limit:
                    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                    out.append(f"{where}:{node.lineno} {node.name} ({length} lines)")
    return out


def semdiff_reaches(folder: Path, public: set[str]) -> list[str]:
    """Imports of `app.semdiff` internals (or of names it does not export) outside app/semdiff."""
    out: list[str] = []
    for path, tree in _modules(folder):
        if path.is_relative_to(APP / "semdiff"):
            continue
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                bad = [a.name for a in node.names if a.name.startswith("app.semdiff.")]
            elif isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("app.semdiff."):
                    bad = [node.module]
                elif node.module == "app.semdiff":
                    bad = [f"app.semdiff.{a.name}" for a in node.names if a.name not in public]
                else:
                    bad = []
            else:
                bad = []
            out += [f"{where}:{node.lineno} imports {name}" for name in bad]
    return out


@pytest.mark.parametrize("package", SHORT_FUNCTION_PACKAGES)
def test_no_function_over_80_lines(package: str) -> None:
    too_long = long_functions(APP / package)
    assert not too_long, (
        f"functions over {MAX_FUNCTION_LINES} lines in app/{package} (split them into named "
        "steps):\n" + "\n".join(too_long)
    )


def test_long_function_check_sees_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "m.py").write_text(f"def short():\n    pass\n\n\ndef long():\n{body}\n")
    [found] = long_functions(tmp_path, MAX_FUNCTION_LINES)
    assert " long (81 lines)" in found


def test_code_outside_semdiff_imports_its_public_api() -> None:
    semdiff = importlib.import_module("app.semdiff")
    reaches = semdiff_reaches(APP, set(getattr(semdiff, "__all__", ())))
    assert not reaches, (
        "import these from `app.semdiff` (add the name to app/semdiff/__init__.py when it is "
        "missing):\n" + "\n".join(reaches)
    )


def test_semdiff_public_names_resolve() -> None:
    """Every exported name loads (the package imports its modules lazily, so a typo would only
    show when a caller first reaches for the name)."""
    semdiff = importlib.import_module("app.semdiff")
    missing = [name for name in semdiff.__all__ if getattr(semdiff, name, None) is None]
    assert not missing
    with pytest.raises(AttributeError):
        _ = semdiff.no_such_name


def test_semdiff_all_lists_every_export() -> None:
    semdiff = importlib.import_module("app.semdiff")
    assert sorted(semdiff.__all__) == sorted(semdiff._EXPORTS)
