"""The shape of helpers/, pinned: no import cycles, the layer rule of docs/architecture.md,
small modules, no printing outside the CLI, an explicit public surface.

Every import in helpers/ is read with ``ast`` (module-level and function-level, absolute and
relative), never executed. The layer table is read from docs/architecture.md, its only home.
Imports under ``if TYPE_CHECKING:`` never run: they count for the layer rule, not for cycles.
Each failure lists every violation, one per line.
"""

from __future__ import annotations

import ast
import functools
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HELPERS = ROOT / "helpers"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
MAX_LINES = 700
CLI_PACKAGE = "cli"
# Seconds each to import; a test module imports them inside the tests that use them, so
# `pytest --collect-only` stays fast.
HEAVY_FOR_COLLECTION = (
    "airflow",
    "papermill",
    "nbformat",
    "nbclient",
    "nbconvert",
    "ipywidgets",
    "IPython",
    "playwright",
    "azure.mgmt",
)


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, e.g. helpers.batch.fast
    target: str  # the imported helpers module, e.g. helpers.probe
    where: str  # helpers/batch/fast.py:12
    in_function: bool
    type_checking_only: bool


# -- reading helpers/ -----------------------------------------------------------------------
@functools.cache
def _modules() -> dict[str, Path]:
    """Every module under helpers/, by dotted name (a package by its __init__)."""
    found = {}
    for path in sorted(HELPERS.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


@functools.cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{node.lineno}"


def _package_of(module: str) -> str:
    """The package a module's relative imports start from."""
    is_package = _modules()[module].name == "__init__.py"
    return module if is_package else module.rpartition(".")[0]


def _existing(dotted: str) -> str | None:
    """The longest prefix of ``dotted`` that is a helpers module."""
    parts = dotted.split(".")
    while parts:
        name = ".".join(parts)
        if name in _modules():
            return name
        parts.pop()
    return None


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The helpers modules one import statement reaches."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names if alias.name.split(".")[0] == "helpers"]
        return [t for t in map(_existing, names) if t]
    if node.level:
        base = _package_of(module).split(".")
        base = base[: len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    if source.split(".")[0] != "helpers":
        return []
    found = []
    for alias in node.names:
        sub = f"{source}.{alias.name}"
        target = sub if sub in _modules() else _existing(source)
        if target:
            found.append(target)
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, *, in_function: bool = False, type_checking: bool = False):
    """(node, in_function, under `if TYPE_CHECKING:`) for every node below ``node``."""
    for child in ast.iter_child_nodes(node):
        yield child, in_function, type_checking
        yield from _walk(
            child,
            in_function=in_function
            or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda),
            type_checking=type_checking or (isinstance(child, ast.If) and _is_type_checking(child)),
        )


@functools.cache
def _imports() -> tuple[Import, ...]:
    found = []
    for module, path in _modules().items():
        for node, in_function, type_checking in _walk(_tree(path)):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _targets(module, node):
                if target != module:
                    found.append(
                        Import(module, target, _where(path, node), in_function, type_checking)
                    )
    return tuple(dict.fromkeys(found))  # one per statement and target


def _layer(module: str) -> str | None:
    """The direct child of helpers/ a module belongs to (None for helpers/__init__.py)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


@functools.cache
def _ranks() -> dict[str, int]:
    """The layer table of docs/architecture.md: package -> rank."""
    text = ARCHITECTURE.read_text()
    table = text.split("<!-- layers:start -->", 1)[1].split("<!-- layers:end -->", 1)[0]
    ranks = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].isdigit():
            ranks[cells[1]] = int(cells[0])
    return ranks


def _cycle_in(component: set[str], graph: dict[str, set[str]]) -> list[str]:
    """One cycle through the first module of a strongly connected component."""
    start = min(component)
    parents: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & component):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return [*reversed(path), start]
            if nxt not in parents:
                parents[nxt] = node
                queue.append(nxt)
    return [start, start]


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                found.append(component)
    return found


def _fail(what: str, violations: list[str]) -> None:
    if violations:
        pytest.fail(f"{len(violations)} {what}:\n" + "\n".join(violations), pytrace=False)


# -- the pins --------------------------------------------------------------------------------
def test_the_walker_resolves_relative_absolute_and_from_package_imports():
    assert len(_modules()) > 40
    edges = {(i.source, i.target) for i in _imports()}
    # `from .runtime import Sandbox` in a module of helpers.sandbox
    assert ("helpers.sandbox.pytest_plugin", "helpers.sandbox.runtime") in edges
    # `from .runtime import (...)` in a package __init__
    assert ("helpers.sandbox", "helpers.sandbox.runtime") in edges
    tree = ast.parse("from helpers import sandbox\nfrom helpers.sandbox import Sandbox\n")
    first, second = tree.body
    assert _targets("helpers.common.facts", first) == ["helpers.sandbox"]
    assert _targets("helpers.common.facts", second) == ["helpers.sandbox"]
    assert _targets("helpers.sandbox.state", ast.parse("from . import control").body[0]) == [
        "helpers.sandbox.control"
    ]
    assert _targets("helpers.sandbox.arm.models", ast.parse("from .. import certs").body[0]) == [
        "helpers.sandbox.certs"
    ]
    assert _targets("helpers.cli", ast.parse("import helpers.sandbox.runtime").body[0]) == [
        "helpers.sandbox.runtime"
    ]


def test_the_layer_table_names_every_package_of_helpers():
    children = {_layer(m) for m in _modules()} - {None}
    ranks = _ranks()
    missing = sorted(children - ranks.keys())
    unknown = sorted(ranks.keys() - children)
    _fail(
        "mismatches between helpers/ and the layer table of docs/architecture.md",
        [f"helpers/{name} has no row in the layer table" for name in missing]
        + [f"the layer table names {name}, which is not in helpers/" for name in unknown],
    )


def test_no_import_cycle_between_helpers_modules():
    graph: dict[str, set[str]] = {m: set() for m in _modules()}
    lines: dict[tuple[str, str], str] = {}
    for imp in _imports():
        if not imp.type_checking_only:
            graph[imp.source].add(imp.target)
            lines.setdefault((imp.source, imp.target), imp.where)
    violations = []
    for component in _strongly_connected(graph):
        if len(component) < 2:
            continue
        cycle = _cycle_in(component, graph)
        steps = ", ".join(f"{a} -> {b} ({lines[a, b]})" for a, b in itertools.pairwise(cycle))
        violations.append(
            f"cycle {' -> '.join(cycle)} [component: {', '.join(sorted(component))}]: {steps}"
        )
    _fail("import cycles in helpers/", violations)


def test_packages_import_only_packages_of_a_lower_rank():
    ranks = _ranks()
    violations = []
    for imp in _imports():
        source, target = _layer(imp.source), _layer(imp.target)
        if source is None or target is None or source == target:
            continue
        if source not in ranks or target not in ranks:
            continue  # reported by test_the_layer_table_names_every_package_of_helpers
        if ranks[target] >= ranks[source]:
            violations.append(
                f"{imp.where}: {imp.source} ({source}, rank {ranks[source]}) imports "
                f"{imp.target} ({target}, rank {ranks[target]})"
            )
    _fail("imports against the layer rule of docs/architecture.md", violations)


def test_no_helpers_module_is_over_700_lines():
    violations = []
    for path in _modules().values():
        count = len(path.read_text().splitlines())
        if count > MAX_LINES:
            violations.append(f"{path.relative_to(ROOT)}: {count} lines (max {MAX_LINES})")
    _fail(f"modules over {MAX_LINES} lines", violations)


def test_only_the_cli_prints_or_draws_progress_bars():
    violations = []
    for module, path in _modules().items():
        if _layer(module) == CLI_PACKAGE:
            continue
        for node in ast.walk(_tree(path)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "print"
            ):
                violations.append(f"{_where(path, node)}: print(")
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            if any(name.split(".")[0] == "tqdm" for name in names):
                violations.append(f"{_where(path, node)}: imports tqdm")
    _fail("prints or progress bars outside helpers/cli/", violations)


def _top_level_names(tree: ast.Module) -> set[str]:
    """Names a module binds at top level (inside if/try/with blocks too, not inside defs)."""
    names: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                for alias in node.names:
                    names.add(alias.asname or alias.name.split(".")[0])
            elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
            for field in ("body", "orelse", "finalbody", "handlers"):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    inner = getattr(node, field, None)
                    if isinstance(inner, list):
                        visit([n for n in inner if isinstance(n, ast.stmt)])
            if isinstance(node, ast.ExceptHandler):
                visit(node.body)

    visit(tree.body)
    return names


def _declared_all(tree: ast.Module) -> list[str] | None:
    """The strings of a top-level ``__all__ = [...]`` (and ``+=``), or None when absent."""
    found = None
    for node in tree.body:
        target = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            target = node.target
        if isinstance(target, ast.Name) and target.id == "__all__" and node.value is not None:
            values = [
                elt.value
                for elt in getattr(node.value, "elts", [])
                if isinstance(elt, ast.Constant) and isinstance(elt.value, str)
            ]
            found = (found or []) + values if isinstance(node, ast.AugAssign) else values
    return found


def _is_empty(tree: ast.Module) -> bool:
    """Only a docstring (an __init__ that defines and re-exports nothing)."""
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return not body


def _public_modules() -> dict[str, Path]:
    return {
        module: path
        for module, path in _modules().items()
        if not any(part.startswith("_") for part in module.split("."))
        and not (path.name == "__init__.py" and _is_empty(_tree(path)))
    }


def test_every_public_module_declares_all_and_every_listed_name_exists():
    violations = []
    for path in _public_modules().values():
        tree = _tree(path)
        declared = _declared_all(tree)
        where = path.relative_to(ROOT)
        if declared is None:
            violations.append(f"{where}: no __all__")
            continue
        bound = _top_level_names(tree)
        violations += [
            f"{where}: __all__ lists {name}, not defined" for name in declared if name not in bound
        ]
    _fail("modules without a correct __all__", violations)


def test_every_public_def_and_class_is_in_all_or_the_docstring_says_why():
    violations = []
    for path in _public_modules().values():
        if path.name == "__init__.py":
            continue
        tree = _tree(path)
        declared = _declared_all(tree)
        if declared is None:
            continue  # reported by the test above
        docstring = ast.get_docstring(tree) or ""
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            name = node.name
            if (
                name.startswith("_")
                or name in set(declared)
                or re.search(rf"\b{name}\b", docstring)
            ):
                continue
            violations.append(f"{_where(path, node)}: {name} is public but not in __all__")
    _fail("public names missing from __all__", violations)


def test_no_function_level_import_of_a_helpers_module():
    violations = [
        f"{imp.where}: {imp.source} imports {imp.target} inside a function"
        for imp in _imports()
        if imp.in_function
    ]
    _fail("function-level imports of helpers modules (they hide cycles)", violations)


def test_test_modules_import_heavy_sdks_only_inside_tests():
    violations = []
    collected = [*(ROOT / "tests").rglob("test_*.py"), *(ROOT / "tests").rglob("conftest.py")]
    for path in sorted(p for p in collected if "data" not in p.relative_to(ROOT).parts):
        for node, in_function, type_checking in _walk(_tree(path)):
            if in_function or type_checking:
                continue
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            heavy = [
                n for n in names for h in HEAVY_FOR_COLLECTION if n == h or n.startswith(h + ".")
            ]
            violations += [
                f"{_where(path, node)}: imports {name} at module level" for name in heavy
            ]
    _fail("module-level imports that slow down collection", violations)
