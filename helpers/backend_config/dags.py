"""DAG files, read as text and never imported (AKV-DAG-*).

:func:`lint_dags` finds, from each file's syntax tree:

- parse-time Variable / connection lookups: a lookup at module level runs every time the
  scheduler parses the file, so each one is a vault request per parse (unless
  ``[secrets] use_cache``);
- what Airflow 3 removed (imports, DAG and operator arguments) or deprecated, as in the seed
  document's adf.py;
- a secret value passed to ``print`` or a logger (the seed's ``logger.info(variable_value)``).
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass
from pathlib import Path

from helpers.common.textio import InputError, read_bytes
from helpers.findings import Finding
from helpers.findings.codes.dag import (
    DAG_ARGUMENT_REMOVED,
    DAG_DEFAULT_HIDES_ERRORS,
    DAG_DEPRECATED,
    DAG_IMPORT_REMOVED,
    DAG_LOGS_SECRET,
    DAG_LOOKUP_CACHE_OFF,
    DAG_LOOKUP_CACHED,
    DAG_TOP_LEVEL_LOOKUP,
    DAG_UNREADABLE,
)

__all__ = ["dag_files", "dag_lookups", "lint_dags"]


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
    json: bool = False  # deserialize_json=True: the value is parsed as JSON


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
                as_json = any(
                    kw.arg == "deserialize_json"
                    and isinstance(kw.value, ast.Constant)
                    and kw.value.value is True
                    for kw in node.keywords
                )
                self.lookups.append(
                    _Lookup(
                        kind,
                        node.lineno,
                        key,
                        f"{owner_name}.{func.attr}",
                        self._parse_time,
                        has_default,
                        as_json,
                    )
                )
        self.generic_visit(node)


def dag_files(path: Path) -> list[Path]:
    """The .py files of a DAG folder (or the file itself), hidden folders and caches skipped."""
    if path.is_file():
        return [path]
    return sorted(
        p
        for p in path.rglob("*.py")
        if not any(
            part.startswith(".") or part == "__pycache__" for part in p.relative_to(path).parts
        )
    )


def _decoded(source: bytes) -> str:
    """The file's text as Python reads it (PEP 263: UTF-8 unless a coding line says otherwise);
    ``ast.parse`` of the raw bytes accepted a latin-1 comment that ``import`` refuses."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    return source.decode(encoding)


def dag_lookups(folder: Path) -> list[dict[str, object]]:
    """Every Variable / connection lookup the files of a folder make, with a literal key or
    None: ``{"file", "line", "kind", "key", "parse_time", "json"}``. Files that do not parse are
    skipped (:func:`lint_dags` reports them)."""
    base = folder if folder.is_dir() else folder.parent
    found: list[dict[str, object]] = []
    for path in dag_files(folder):
        rel = path.relative_to(base).as_posix()
        finder = _LookupFinder()
        try:
            finder.visit(ast.parse(_decoded(read_bytes(path)), filename=rel))
        except (InputError, OSError, ValueError, SyntaxError, RecursionError, MemoryError):
            continue
        found += [
            {
                "file": rel,
                "line": x.line,
                "kind": x.kind,
                "key": x.key,
                "parse_time": x.parse_time,
                "json": x.json,
            }
            for x in finder.lookups
        ]
    return found


def lint_dags(folder: Path | str, *, use_cache: bool | None = None) -> list[Finding]:
    """Parse-time (module level) Variable / connection lookups in DAG files, what Airflow 3
    removed or deprecated (AKV-DAG-006/007/008) and secret values logged (AKV-DAG-009).

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
    if not (root.is_dir() or root.is_file()):
        return [DAG_UNREADABLE(str(root), f"{root} is neither a DAG file nor a folder.")]
    try:
        files = dag_files(root)
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
            source = _decoded(read_bytes(path))
            tree = ast.parse(source, filename=rel)
        except UnicodeDecodeError as err:
            findings.append(
                DAG_UNREADABLE(
                    rel,
                    f"{rel}: not valid {err.encoding} (and no coding line says otherwise): "
                    "Python refuses to import it, so Airflow reports an import error.",
                )
            )
            continue
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
            found = _airflow3_findings(tree, rel) + _leak_findings(tree, rel, finder)
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
        findings += sorted(found, key=lambda f: f.data["line"])
    return findings


# -- Airflow 3: removed and deprecated ----------------------------------------------------------
# Airflow 3.3's own shims (airflow/{operators,sensors,hooks}/__init__.py): these submodules
# still import, with a deprecation warning, from their new home. Any other submodule of these
# packages is gone (ModuleNotFoundError).
_SHIMS = {
    "airflow.operators": {
        "python": "airflow.providers.standard.operators.python",
        "bash": "airflow.providers.standard.operators.bash",
        "datetime": "airflow.providers.standard.operators.datetime",
        "generic_transfer": "airflow.providers.common.sql.operators.generic_transfer",
        "weekday": "airflow.providers.standard.operators.weekday",
        "trigger_dagrun": "airflow.providers.standard.operators.trigger_dagrun",
        "latest_only": "airflow.providers.standard.operators.latest_only",
        "empty": "airflow.providers.standard.operators.empty",
        "email": "airflow.providers.smtp.operators.smtp",
        "smooth": "airflow.providers.standard.operators.smooth",
        "branch": "airflow.sdk (BaseBranchOperator)",
    },
    "airflow.sensors": {
        "base": "airflow.sdk (BaseSensorOperator)",
        "python": "airflow.providers.standard.sensors.python",
        "bash": "airflow.providers.standard.sensors.bash",
        "date_time": "airflow.providers.standard.sensors.date_time",
        "time_sensor": "airflow.providers.standard.sensors.time",
        "weekday": "airflow.providers.standard.sensors.weekday",
        "time_delta": "airflow.providers.standard.sensors.time_delta",
        "filesystem": "airflow.providers.standard.sensors.filesystem",
        "external_task": "airflow.providers.standard.sensors.external_task",
    },
    "airflow.hooks": {
        "base": "airflow.sdk (BaseHook)",
        "filesystem": "airflow.providers.standard.hooks.filesystem",
        "package_index": "airflow.providers.standard.hooks.package_index",
        "subprocess": "airflow.providers.standard.hooks.subprocess",
    },
}
# Airflow 2 module aliases that Airflow 3 removed, and where their classes live now.
_EMPTY = "airflow.providers.standard.operators.empty (EmptyOperator)"
_REMOVED_MODULES = {
    "airflow.operators.python_operator": "airflow.providers.standard.operators.python",
    "airflow.operators.bash_operator": "airflow.providers.standard.operators.bash",
    "airflow.operators.dummy_operator": _EMPTY,
    "airflow.operators.dummy": _EMPTY,
    "airflow.operators.email_operator": "airflow.providers.smtp.operators.smtp",
    "airflow.operators.subdag_operator": "a TaskGroup (SubDAGs were removed)",
    "airflow.operators.subdag": "a TaskGroup (SubDAGs were removed)",
    "airflow.sensors.base_sensor_operator": "airflow.sdk (BaseSensorOperator)",
    "airflow.sensors.external_task_sensor": "airflow.providers.standard.sensors.external_task",
    "airflow.hooks.base_hook": "airflow.sdk (BaseHook)",
}
# Names a DAG file should take from airflow.sdk rather than airflow.models.
_SDK_NAMES = {"Variable", "DAG", "Connection", "BaseOperator", "Param"}
_REMOVED_DAG_ARGS = {
    "schedule_interval": "use schedule=",
    "timetable": "pass the timetable as schedule=",
    "concurrency": "use max_active_tasks=",
    "fail_stop": "use fail_fast=",
    "default_view": "drop it (a UI setting now)",
    "orientation": "drop it (a UI setting now)",
    "full_filepath": "drop it",
}
_REMOVED_TASK_ARGS = {
    "task_concurrency": "use max_active_tis_per_dag=",
    "provide_context": "drop it (the context is passed to the callable anyway)",
}
_DEPRECATED_TASK_ARGS = {
    "email": "SmtpNotifier",
    "email_on_failure": "SmtpNotifier",
    "email_on_retry": "SmtpNotifier",
    "sla": "Deadline Alerts",
}


def _removed_module(module: str) -> str | None:
    """Where a module that Airflow 3 removed went (a sentence), or None when it imports."""
    if module in _REMOVED_MODULES:
        return _REMOVED_MODULES[module]
    if module == "airflow.contrib" or module.startswith("airflow.contrib."):
        return "the provider package of that service (airflow.contrib was removed)"
    for package, shims in _SHIMS.items():
        if module.startswith(package + "."):
            first = module[len(package) + 1 :].split(".")[0]
            if first not in shims:
                return "its provider package (apache-airflow-providers-standard for core ones)"
    return None


def _deprecated_module(module: str) -> str | None:
    for package, shims in _SHIMS.items():
        if module.startswith(package + "."):
            return shims.get(module[len(package) + 1 :].split(".")[0])
    return None


def _callee(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _import_findings(node: ast.Import | ast.ImportFrom, rel: str) -> list[Finding]:
    subject, data = f"{rel}:{node.lineno}", {"file": rel, "line": node.lineno}
    if isinstance(node, ast.Import):
        modules = [a.name for a in node.names]
        names: list[str] = []
    else:
        if node.level:
            return []
        modules, names = [node.module or ""], [a.name for a in node.names]
    out = []
    for module in modules:
        gone = _removed_module(module)
        if gone:
            out.append(
                DAG_IMPORT_REMOVED(
                    subject, f"{module} no longer exists in Airflow 3: import from {gone}", **data
                )
            )
            continue
        moved = _deprecated_module(module)
        if moved:
            out.append(
                DAG_DEPRECATED(subject, f"{module} is deprecated: import from {moved}", **data)
            )
        elif module == "airflow.models" or module.startswith("airflow.models."):
            sdk = sorted(n for n in names if n in _SDK_NAMES)
            if sdk:
                listed = ", ".join(sdk)
                out.append(
                    DAG_DEPRECATED(
                        subject,
                        f"{listed} from {module} is deprecated in DAG code: "
                        f"from airflow.sdk import {listed}",
                        **data,
                    )
                )
    return out


def _argument_findings(node: ast.Call, rel: str, dag_names: set[str]) -> list[Finding]:
    callee = _callee(node)
    subject, data = f"{rel}:{node.lineno}", {"file": rel, "line": node.lineno}
    keywords = {kw.arg: kw.value for kw in node.keywords if kw.arg}
    out = []
    if callee in dag_names:
        removed = _REMOVED_DAG_ARGS
        default_args = keywords.get("default_args")
        if isinstance(default_args, ast.Dict):
            keys = {k.value for k in default_args.keys if isinstance(k, ast.Constant)}
            old = sorted(k for k in keys if isinstance(k, str) and k in _DEPRECATED_TASK_ARGS)
            if old:
                out.append(_deprecated_args(subject, "default_args", old, data))
    elif callee.endswith(("Operator", "Sensor")):
        removed = _REMOVED_TASK_ARGS
        old = sorted(k for k in keywords if k in _DEPRECATED_TASK_ARGS)
        if old:
            out.append(_deprecated_args(subject, f"{callee}(...)", old, data))
    else:
        return []
    gone = [k for k in keywords if k in removed]
    if gone:
        detail = "; ".join(f"{k}= was removed: {removed[k]}" for k in gone)
        out.insert(0, DAG_ARGUMENT_REMOVED(subject, f"{callee}(...): {detail}", **data))
    return out


def _deprecated_args(subject: str, where: str, old: list[str], data: dict) -> Finding:
    instead = sorted({_DEPRECATED_TASK_ARGS[k] for k in old})
    return DAG_DEPRECATED(
        subject,
        f"{where} sets {', '.join(old)}: deprecated (use {' / '.join(instead)})",
        **data,
    )


def _airflow3_findings(tree: ast.AST, rel: str) -> list[Finding]:
    dag_names = {"DAG", "dag"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("airflow"):
            dag_names |= {a.asname for a in node.names if a.asname and a.name in ("DAG", "dag")}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            out += _import_findings(node, rel)
        elif isinstance(node, ast.Call):
            out += _argument_findings(node, rel, dag_names)
    return out


# -- secret values logged -----------------------------------------------------------------------
_LOG_METHODS = {
    "debug",
    "info",
    "warning",
    "warn",
    "error",
    "exception",
    "critical",
    "fatal",
    "log",
}
# Calls that keep the value readable in their result (anything else — len, a hash — does not).
_KEEPS_VALUE = {"str", "repr", "format", "strip", "lstrip", "rstrip", "upper", "lower", "decode"}
_CONNECTION_SECRETS = {"password", "extra", "extra_dejson", "get_password", "get_uri", "get_extra"}
_NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _owner(func: ast.Attribute) -> str:
    owner = func.value
    return owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")


def _region(nodes: list[ast.AST]) -> tuple[list[ast.AST], list[ast.AST]]:
    """The nodes of one scope (not descending into nested functions or classes), and those
    nested scopes."""
    here: list[ast.AST] = []
    nested: list[ast.AST] = []
    stack = list(nodes)
    while stack:
        node = stack.pop()
        here.append(node)
        for child in ast.iter_child_nodes(node):
            (nested if isinstance(child, _NESTED) else stack).append(child)
    return here, nested


class _Taint:
    """Which local names hold a secret value (and which a connection) in one scope."""

    def __init__(self, finder: _LookupFinder, values: dict[str, str], conns: set[str]) -> None:
        self.finder = finder
        self.values = dict(values)  # name -> where the value came from
        self.conns = set(conns)

    def lookup(self, node: ast.AST) -> str | None:
        """``Variable.get('k')`` / ``BaseHook.get_connection('c')`` as text, for a lookup call."""
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            return None
        owner, attr = _owner(node.func), node.func.attr
        key = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
        shown = f"({key!r})" if isinstance(key, str) else "(...)"
        if owner in self.finder.variable_names and attr == "get":
            return f"{owner}.get{shown}"
        if attr in ("get_connection", "get") and (
            owner in self.finder.connection_names
            or (owner.endswith("Hook") and attr == "get_connection")
        ):
            return f"{owner}.{attr}{shown}"
        return None

    def is_variable(self, found: str | None) -> bool:
        return bool(found) and found.split(".")[0] in self.finder.variable_names

    def is_connection(self, node: ast.AST) -> str | None:
        """The connection ``node`` is (a local name or a lookup call), as text."""
        if isinstance(node, ast.Name) and node.id in self.conns:
            return node.id
        found = self.lookup(node)
        return found if found and not self.is_variable(found) else None

    def source(self, node: ast.AST) -> str | None:
        """Where the secret in ``node``'s value comes from, if its value shows one."""
        if isinstance(node, ast.Name):
            return self.values.get(node.id)
        if isinstance(node, ast.Attribute):
            conn = self.is_connection(node.value) if node.attr in _CONNECTION_SECRETS else None
            return f"{conn}.{node.attr}" if conn else None
        if isinstance(node, ast.Call):
            found = self.lookup(node)
            if self.is_variable(found):
                return found
            func = node.func
            if isinstance(func, ast.Attribute):
                conn = self.is_connection(func.value) if func.attr in _CONNECTION_SECRETS else None
                if conn:
                    return f"{conn}.{func.attr}()"
                if func.attr in _KEEPS_VALUE or func.attr == "join":
                    return self.first([func.value, *node.args, *[k.value for k in node.keywords]])
                return None
            if isinstance(func, ast.Name) and func.id in _KEEPS_VALUE:
                return self.first([*node.args, *[k.value for k in node.keywords]])
            return None
        if isinstance(node, ast.JoinedStr):
            return self.first([v.value for v in node.values if isinstance(v, ast.FormattedValue)])
        if isinstance(node, ast.BinOp):
            return self.first([node.left, node.right])
        if isinstance(node, ast.Subscript | ast.Starred):
            return self.source(node.value)
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return self.first(list(node.elts))
        if isinstance(node, ast.Dict):
            return self.first([v for v in node.values if v is not None])
        if isinstance(node, ast.IfExp):
            return self.first([node.body, node.orelse])
        return None

    def first(self, nodes: list[ast.AST]) -> str | None:
        for n in nodes:
            found = self.source(n)
            if found:
                return found
        return None

    def learn(self, nodes: list[ast.AST]) -> None:
        """Names bound in this scope to a secret value or a connection (to a fixed point)."""
        pairs = []
        for node in nodes:
            if isinstance(node, ast.Assign):
                pairs += [(t, node.value) for t in node.targets]
            elif isinstance(node, ast.AnnAssign | ast.NamedExpr) and node.value is not None:
                pairs.append((node.target, node.value))
        for _ in range(3):
            before = (len(self.values), len(self.conns))
            for target, value in pairs:
                if not isinstance(target, ast.Name):
                    continue
                if self.is_connection(value):
                    self.conns.add(target.id)
                elif source := self.source(value):
                    self.values.setdefault(target.id, source)
            if (len(self.values), len(self.conns)) == before:
                break


def _sink(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name) and func.id == "print":
        return "print"
    if isinstance(func, ast.Attribute) and func.attr in _LOG_METHODS:
        owner = _owner(func)
        if "log" in owner.lower() or owner == "warnings":
            return f"{owner}.{func.attr}"
    return None


def _leak_findings(tree: ast.AST, rel: str, finder: _LookupFinder) -> list[Finding]:
    out: list[Finding] = []
    scopes: list[tuple[list[ast.AST], dict[str, str], set[str]]] = [([tree], {}, set())]
    while scopes:
        nodes, values, conns = scopes.pop()
        here, nested = _region(nodes)
        taint = _Taint(finder, values, conns)
        taint.learn(here)
        for node in here:
            if not isinstance(node, ast.Call) or not (sink := _sink(node)):
                continue
            args = [*node.args, *[k.value for k in node.keywords if k.arg not in ("exc_info",)]]
            source = taint.first(args)
            if source:
                out.append(
                    DAG_LOGS_SECRET(
                        f"{rel}:{node.lineno}",
                        f"{sink}(...) writes the value of {source} to the log",
                        file=rel,
                        line=node.lineno,
                    )
                )
        for scope in nested:
            body = [scope.body] if isinstance(scope, ast.Lambda) else list(scope.body)
            scopes.append((body, taint.values, taint.conns))
    return out
