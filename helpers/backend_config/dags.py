"""Parse-time Variable / connection lookups in DAG files (AKV-DAG-*).

A lookup at module level runs every time the scheduler parses the file, so each one is a
vault request per parse (unless ``[secrets] use_cache``); :func:`lint_dags` finds them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from helpers.common.textio import InputError, read_bytes
from helpers.findings import Finding
from helpers.findings.codes.dag import (
    DAG_DEFAULT_HIDES_ERRORS,
    DAG_LOOKUP_CACHE_OFF,
    DAG_LOOKUP_CACHED,
    DAG_TOP_LEVEL_LOOKUP,
    DAG_UNREADABLE,
)

__all__ = ["lint_dags"]


_VARIABLE_METHODS = {"get", "get_variable_from_secrets"}
_CONNECTION_METHODS = {"get_connection", "get_connection_from_secrets", "get"}


@dataclass
class _Lookup:
    kind: str  # "variable" | "connection"
    line: int
    key: str | None
    call: str
    parse_time: bool
    has_default: bool


class _LookupFinder(ast.NodeVisitor):
    """Variable / connection lookups, and whether each runs when the file is parsed."""

    def __init__(self) -> None:
        self.lookups: list[_Lookup] = []
        self.variable_names = {"Variable"}
        self.connection_names = {"Connection", "BaseHook"}
        self.dag_decorators = {"dag"}
        self._parse_time = True

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if (node.module or "").startswith("airflow"):
            for alias in node.names:
                local = alias.asname or alias.name
                if alias.name == "Variable":
                    self.variable_names.add(local)
                elif alias.name in ("Connection", "BaseHook"):
                    self.connection_names.add(local)
                elif alias.name == "dag":
                    self.dag_decorators.add(local)

    def _visit_in(self, nodes: list[ast.AST], parse_time: bool) -> None:
        saved, self._parse_time = self._parse_time, parse_time
        for n in nodes:
            self.visit(n)
        self._parse_time = saved

    def _is_dag_decorator(self, node: ast.expr) -> bool:
        target = node.func if isinstance(node, ast.Call) else node
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        return name in self.dag_decorators

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        args = node.args
        self._visit_in(
            [*node.decorator_list, *args.defaults, *[d for d in args.kw_defaults if d]],
            self._parse_time,
        )
        body_runs_at_parse = self._parse_time and any(
            self._is_dag_decorator(d) for d in node.decorator_list
        )
        self._visit_in(list(node.body), body_runs_at_parse)

    visit_AsyncFunctionDef = visit_FunctionDef  # noqa: N815

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        main_guard = (
            isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name)
            and test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
        )
        self._visit_in([test], self._parse_time)
        self._visit_in(list(node.body), self._parse_time and not main_guard)
        self._visit_in(list(node.orelse), self._parse_time)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_in([*node.args.defaults], self._parse_time)
        self._visit_in([node.body], False)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            owner = func.value
            owner_name = (
                owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            )
            kind = None
            if owner_name in self.variable_names and func.attr in _VARIABLE_METHODS:
                kind = "variable"
            elif func.attr in _CONNECTION_METHODS and (
                owner_name in self.connection_names
                or (owner_name.endswith("Hook") and func.attr == "get_connection")
            ):
                kind = "connection"
            if kind:
                key = None
                if node.args and isinstance(node.args[0], ast.Constant):
                    key = node.args[0].value if isinstance(node.args[0].value, str) else None
                for kw in node.keywords:
                    if kw.arg in ("key", "conn_id") and isinstance(kw.value, ast.Constant):
                        key = kw.value.value if isinstance(kw.value.value, str) else key
                has_default = kind == "variable" and (
                    len(node.args) >= 2
                    or any(kw.arg in ("default", "default_var") for kw in node.keywords)
                )
                self.lookups.append(
                    _Lookup(
                        kind,
                        node.lineno,
                        key,
                        f"{owner_name}.{func.attr}",
                        self._parse_time,
                        has_default,
                    )
                )
        self.generic_visit(node)


def _dag_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(
        p
        for p in path.rglob("*.py")
        if not any(
            part.startswith(".") or part == "__pycache__" for part in p.relative_to(path).parts
        )
    )


def lint_dags(folder: Path | str, *, use_cache: bool | None = None) -> list[Finding]:
    """Parse-time (module level) Variable / connection lookups in DAG files.

    ``use_cache`` is ``[secrets] use_cache`` as configured: None (unknown; Airflow's default is
    off) gives AKV-DAG-001, False AKV-DAG-002, True AKV-DAG-003.
    """
    try:
        root = Path(folder)
        exists = root.exists()
    except (TypeError, ValueError, OSError) as err:
        return [DAG_UNREADABLE(str(folder), f"not a path: {type(err).__name__}.")]
    if not exists:
        return [DAG_UNREADABLE(str(root), f"{root} does not exist.")]
    try:
        files = _dag_files(root)
    except OSError as err:
        return [DAG_UNREADABLE(str(root), f"cannot list {root}: {err.strerror or err}.")]
    spec = {None: DAG_TOP_LEVEL_LOOKUP, False: DAG_LOOKUP_CACHE_OFF, True: DAG_LOOKUP_CACHED}.get(
        use_cache, DAG_TOP_LEVEL_LOOKUP
    )
    findings: list[Finding] = []
    base = root if root.is_dir() else root.parent
    for path in files:
        rel = path.relative_to(base).as_posix()
        try:
            source = read_bytes(path)
            tree = ast.parse(source, filename=rel)
        except SyntaxError as err:
            findings.append(
                DAG_UNREADABLE(
                    rel,
                    f"{rel}: syntax error"
                    + (f" at line {err.lineno}" if err.lineno else "")
                    + f": {err.msg}.",
                )
            )
            continue
        except InputError as err:
            findings.append(DAG_UNREADABLE(rel, f"{rel}: cannot read: {err}."))
            continue
        except (OSError, ValueError, RecursionError, MemoryError) as err:
            findings.append(DAG_UNREADABLE(rel, f"{rel}: cannot parse ({type(err).__name__})."))
            continue
        finder = _LookupFinder()
        try:
            finder.visit(tree)
        except RecursionError:
            findings.append(DAG_UNREADABLE(rel, f"{rel}: nested too deeply to analyse."))
            continue
        for lookup in finder.lookups:
            what = f"{lookup.call}({lookup.key!r})" if lookup.key else f"{lookup.call}(...)"
            data = {"file": rel, "line": lookup.line, "kind": lookup.kind, "key": lookup.key}
            if lookup.parse_time:
                findings.append(spec(f"{rel}:{lookup.line}", f"{what} runs at parse time.", **data))
            if lookup.has_default:
                findings.append(
                    DAG_DEFAULT_HIDES_ERRORS(
                        f"{rel}:{lookup.line}",
                        f"{what} has a default, so a vault error returns it silently.",
                        **data,
                    )
                )
    return findings
