"""The house of ``ecrm_lib`` (issue 9): sub-packages whose imports flow one way, no private
name used across modules, no module far over 800 lines, and only ``run`` knowing the run folder."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ecrm_lib

ROOT = Path(ecrm_lib.__file__).resolve().parent

#: Floors from the ground up; a module may import its own floor and those below it.
#: channels -> value -> seef are one after another (seef uses customer values, value uses identities).
FLOORS = ["core", "data", "channels", "value", "seef", "report", "run"]
#: Imports inside a function that break a real cycle: none may climb a floor either.
MAX_LINES = 850


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "bundled" not in p.parts)


def _package(path: Path) -> str | None:
    rel = path.relative_to(ROOT).parts
    return rel[0] if len(rel) > 1 else None


def _imports(tree: ast.AST) -> list[tuple[int, str, list[str]]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            for a in node.names:
                out.append((node.lineno, a.name, []))
    return out


def test_imports_flow_one_way():
    wrong = []
    for path in _modules():
        pkg = _package(path)
        if pkg not in FLOORS:
            continue
        for line, module, _ in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            parts = module.split(".")
            if parts[0] != "ecrm_lib" or len(parts) < 2 or parts[1] not in FLOORS:
                continue
            if FLOORS.index(parts[1]) > FLOORS.index(pkg):
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({pkg}) imports {module}")
    assert not wrong, "imports that climb a floor:\n" + "\n".join(wrong)


def test_no_private_name_used_across_modules():
    wrong = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported_modules = set()
        for line, module, names in _imports(tree):
            if not module.startswith("ecrm_lib"):
                continue
            for name in names:
                if name.startswith("_") and not name.startswith("__"):
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}.{name}")
                imported_modules.add(name)
            if not names:
                imported_modules.add(module.split(".")[0])
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and isinstance(node.value, ast.Name) and node.value.id in imported_modules):
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not wrong, "\n".join(wrong)


def test_no_module_far_over_800_lines():
    long = {str(p.relative_to(ROOT)): n for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, long


def _code_strings(tree: ast.AST) -> list[tuple[int, str]]:
    """String constants of the code, docstrings left out."""
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docs.add(id(first.value))
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


@pytest.mark.parametrize("floor", [f for f in FLOORS if f != "run"])
def test_only_run_knows_the_run_folder(floor):
    """Library code below ``run`` takes tables and parameters; no path of the run folder's layout is written there."""
    markers = ("run.json", "manifest.json", "_interactive", "products/", "metrics/", "private/canonical")
    wrong = [f"{path.relative_to(ROOT)}:{line} {value!r}"
             for path in (ROOT / floor).rglob("*.py")
             for line, value in _code_strings(ast.parse(path.read_text(encoding="utf-8")))
             if any(m in value for m in markers)]
    assert not wrong, "\n".join(wrong)
