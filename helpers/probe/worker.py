"""The workers' vantage point: a task checks the deployment it runs in, as findings.

:func:`check_worker` runs inside an Airflow task (the ``akv_selfcheck`` DAG without an
inventory) and looks at the secrets backend the way that task's own runner does:

1. **configuration** — ``[workers] secrets_backend`` / ``secrets_backend_kwargs``, falling back
   to ``[secrets] backend`` / ``backend_kwargs`` (Airflow's conf in the task process: the
   environment and airflow.cfg together), the per-key overrides and the ``AZURE_*`` variables
   the backend's DefaultAzureCredential sees, linted with
   :func:`helpers.backend_config.lint.lint_environment`;
2. **read** — through the backend instances the task runner itself built
   (``ensure_secrets_backend_loaded()``): a variable that cannot exist answers 404 when the
   identity may read (403/401/network errors become findings through
   :func:`helpers.vault.diagnose.diagnose`), and each variable the caller names is read;
3. **the API server's fallback** — every name is also asked from the API server through the
   Execution API (``GetVariable``: what ``Variable.get`` in a task sends when the task's own
   backends find nothing; the server walks its ``[secrets]`` chain). Workers whose effective
   kwargs point elsewhere than ``[secrets]`` (as the worker sees it), or answers that differ,
   are findings (AKV-RUN-015/016).

It never raises. Secret values never leave this module: reads are compared by their keyed
fingerprints. :func:`write_report` keeps the findings as a one-cell notebook whose output
carries the runbook's result payload (:data:`helpers.findings.results.MIMETYPE`), so
``collect_results(path)`` reads it back like an executed check notebook.

Airflow is imported inside :class:`AirflowView`'s methods only (a heavy optional dependency,
and the only place that knows the task runner's internals); tests pass a view of their own.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.backend_config.lint import lint_environment
from helpers.backend_config.names import is_valid_name, secret_name
from helpers.backend_config.read import settings_from_backend_kwargs
from helpers.common.redact import fingerprint
from helpers.findings import Finding, Severity, has_errors, render_html, scrub_findings, unique
from helpers.findings import worst as worst_of
from helpers.findings.codes.run import (
    SERVER_FALLBACK_AGREES,
    SERVER_FALLBACK_FAILED,
    SKIPPED,
    WORKER_CONFIG,
    WORKER_NO_BACKEND,
    WORKER_SERVER_CONFIG_DIFFER,
    WORKER_SERVER_DISAGREE,
)
from helpers.findings.codes.secret import NOTHING_TO_READ, SECRET_NOT_FOUND, SECRET_READ
from helpers.findings.codes.svc import BACKEND_UNAVAILABLE, UNEXPECTED
from helpers.findings.results import MIMETYPE
from helpers.probe.run import ACCESS_CHECK_KEY
from helpers.settings import Settings
from helpers.vault.credentials import AZURE_VARS
from helpers.vault.diagnose import diagnose, scrub_detail

__all__ = [
    "COMPARED",
    "OPTIONS",
    "STEP",
    "AirflowView",
    "ServerAnswer",
    "WorkerCheck",
    "check_worker",
    "log_findings",
    "write_report",
]

STEP = "Workers' vantage point"
# (section, key) -> the environment variable that sets it; lint subjects name these.
OPTIONS = {
    ("secrets", "backend"): "AIRFLOW__SECRETS__BACKEND",
    ("secrets", "backend_kwargs"): "AIRFLOW__SECRETS__BACKEND_KWARGS",
    ("workers", "secrets_backend"): "AIRFLOW__WORKERS__SECRETS_BACKEND",
    ("workers", "secrets_backend_kwargs"): "AIRFLOW__WORKERS__SECRETS_BACKEND_KWARGS",
}
_PER_KEY = ("AIRFLOW__SECRETS__BACKEND_KWARG__", "AIRFLOW__WORKERS__SECRETS_BACKEND_KWARG__")
# The backend attributes compared between the workers' backend and [secrets]'s (client_secret
# is compared too, but only ever reported as "differs").
COMPARED = (
    "vault_url",
    "variables_prefix",
    "connections_prefix",
    "config_prefix",
    "sep",
    "tenant_id",
    "client_id",
    "managed_identity_client_id",
    "workload_identity_tenant_id",
)
# Airflow's own backends in a task runner's chain (not the custom one).
_BUILTIN = (
    "airflow.secrets.environment_variables.EnvironmentVariablesBackend",
    "airflow.sdk.execution_time.secrets.execution_api.ExecutionAPISecretsBackend",
    "airflow.secrets.metastore.MetastoreBackend",
)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerAnswer:
    """The API server's answer to GetVariable: found (with the value), missing, or an error."""

    found: bool
    value: str | None = None
    error: str = ""


class AirflowView:
    """What the task runner sees; every method imports Airflow (heavy, optional) itself."""

    def option(self, section: str, key: str) -> str | None:
        """A configuration option as Airflow's conf in this process resolves it (env first)."""
        # Airflow is heavy and optional: imported only inside a task
        from airflow.sdk.configuration import conf

        value = conf.get(section, key, fallback=None)
        return value if isinstance(value, str) and value.strip() else None

    def worker_backends(self) -> list[Any]:
        """The backend instances the task runner itself reads through (built once a process)."""
        # Airflow is heavy and optional: imported only inside a task
        from airflow.sdk.execution_time.supervisor import ensure_secrets_backend_loaded

        return list(ensure_secrets_backend_loaded())

    def server_backend(self) -> Any:
        """The backend [secrets] builds, as configured where this task runs (no request)."""
        # Airflow is heavy and optional: imported only inside a task
        from airflow.sdk.configuration import get_custom_secret_backend

        return get_custom_secret_backend(worker_mode=False)

    def in_task(self) -> bool:
        # Airflow is heavy and optional: imported only inside a task
        from airflow.sdk.execution_time import task_runner

        return getattr(task_runner, "SUPERVISOR_COMMS", None) is not None

    def ask_server(self, key: str) -> ServerAnswer:
        """GetVariable through the Execution API, as ExecutionAPISecretsBackend sends it."""
        # Airflow is heavy and optional: imported only inside a task
        from airflow.sdk.exceptions import ErrorType
        from airflow.sdk.execution_time import task_runner
        from airflow.sdk.execution_time.comms import ErrorResponse, GetVariable, VariableResult

        msg = task_runner.SUPERVISOR_COMMS.send(GetVariable(key=key))
        if isinstance(msg, VariableResult):
            return ServerAnswer(True, msg.value)
        if isinstance(msg, ErrorResponse):
            if msg.error == ErrorType.VARIABLE_NOT_FOUND:
                return ServerAnswer(False)
            status = (msg.detail or {}).get("status_code")
            return ServerAnswer(
                False, error=f"{msg.error.value}" + (f" ({status})" if status else "")
            )
        return ServerAnswer(False, error=f"unexpected answer {type(msg).__name__}")


@dataclass
class _Read:
    key: str
    kind: str  # "variable" or "connection"
    name: str | None  # the secret name the backend requests (None: no request possible)
    probe: bool = False  # the name certain not to exist
    fp: str | None = None  # fingerprint of what the workers' backend read
    finding: Finding | None = None  # the workers' read failed
    server: ServerAnswer | None = None


@dataclass
class WorkerCheck:
    """The findings, and what they were about (no values)."""

    findings: list[Finding] = field(default_factory=list)
    section: str = ""  # "[workers]", "[secrets]" or "" (no backend)
    backend: str = ""  # the custom backend's class
    vault_url: str = ""
    names: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not has_errors(self.findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    def payload(self, notebook: str = "") -> dict[str, Any]:
        """The runbook's result payload (what ``show()`` emits): step, notebook, ok, worst,
        findings."""
        return json.loads(
            json.dumps(
                {
                    "step": STEP,
                    "notebook": notebook,
                    "ok": self.ok,
                    "worst": worst_of(self.findings).value,
                    "findings": [f.to_dict() for f in self.findings],
                },
                default=str,
            )
        )


def check_worker(
    names: Iterable[str] = (),
    *,
    environ: Mapping[str, str] | None = None,
    airflow: AirflowView | None = None,
) -> WorkerCheck:
    """Check the secrets backend from inside a task; never raises (see the module docstring).

    ``names``: variables to read through the workers' backend and ask the API server for, on
    top of a name that cannot exist. ``environ`` (default os.environ) is what the backend's
    credential sees; ``airflow`` what the task runner sees (default: the real one)."""
    env = dict(os.environ if environ is None else environ)
    view = airflow or AirflowView()
    check = WorkerCheck(names=[str(n).strip() for n in names if str(n).strip()])
    sensitive = [v for v in (env.get("AZURE_CLIENT_SECRET"),) if v]
    try:
        _check(check, env, view, sensitive)
    except Exception as err:  # noqa: BLE001 - the check reports, it never raises
        detail = f"{type(err).__name__}: {scrub_detail(str(err), sensitive)}"
        check.findings.append(UNEXPECTED("worker check", detail))
    check.findings = scrub_findings(unique(check.findings), sensitive)
    sensitive.clear()
    return check


def _check(check: WorkerCheck, env: dict[str, str], view: AirflowView, sensitive: list) -> None:
    options = {name: view.option(section, key) for (section, key), name in OPTIONS.items()}
    check.findings += _lint(options, env)
    workers_backend = options["AIRFLOW__WORKERS__SECRETS_BACKEND"]
    check.section = (
        "[workers]"
        if workers_backend
        else "[secrets]"
        if options["AIRFLOW__SECRETS__BACKEND"]
        else ""
    )
    try:
        backends = view.worker_backends()
    except Exception as err:  # noqa: BLE001 - Airflow raises what the class import raised
        detail = f"{type(err).__name__}: {scrub_detail(str(err), sensitive)}"
        check.findings.append(BACKEND_UNAVAILABLE(check.section or "secrets backend", detail))
        return
    custom = [b for b in backends if _class_path(b) not in _BUILTIN]
    if not custom:
        loaded = ", ".join(type(b).__name__ for b in backends) or "none"
        check.findings.append(
            WORKER_NO_BACKEND(
                "task runner", f"the task runner's secrets backends: {loaded} (no custom backend)"
            )
        )
        return
    backend = custom[0]
    sensitive += [v for v in (getattr(backend, "client_secret", ""),) if v]
    check.backend, check.vault_url = _class_path(backend), str(getattr(backend, "vault_url", ""))
    server = _server_backend(view, check, sensitive)
    azure = [k for k in AZURE_VARS if env.get(k)]  # names only: what DefaultAzureCredential sees
    detail = f"{_describe(check, backend, server)}; AZURE_* set: {', '.join(azure) or 'none'}"
    check.findings.append(WORKER_CONFIG(check.section, detail))
    if check.section == "[workers]":
        check.findings += _compare_config(backend, server)
    settings = _settings_of(backend)
    reads = _plan(backend, check.names)
    for read in reads:
        _read(backend, read, settings, sensitive)
    in_task = view.in_task()
    for read in reads:
        if in_task and read.kind == "variable":
            try:
                read.server = view.ask_server(read.key)
            except Exception as err:  # noqa: BLE001 - a comms failure is a finding
                read.server = ServerAnswer(False, error=f"{type(err).__name__}")
            if read.server.value:
                sensitive.append(read.server.value)
    check.findings += _report_reads(reads, check.section)
    if in_task:
        check.findings += _report_server(reads)
    else:
        check.findings.append(
            SKIPPED(
                "API server",
                "not inside an Airflow task: the Execution API fallback needs "
                "the task runner's channel to its supervisor",
            )
        )


# -- configuration ---------------------------------------------------------------------------
def _lint(options: Mapping[str, str | None], env: Mapping[str, str]) -> list[Finding]:
    """The project's environment lint over the options as this process resolves them (env or
    airflow.cfg), the per-key overrides and the AZURE_* variables."""
    seen = {k: v for k, v in env.items() if k.startswith("AZURE_") or k.startswith(_PER_KEY)}
    seen.update({k: v for k, v in options.items() if v is not None})
    return lint_environment(seen)


def _class_path(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _server_backend(view: AirflowView, check: WorkerCheck, sensitive: list) -> Any:
    if check.section != "[workers]":
        return None  # workers fall back to [secrets]: one configuration, nothing to compare
    try:
        server = view.server_backend()
    except Exception as err:  # noqa: BLE001 - reported as the difference it is
        detail = f"{type(err).__name__}: {scrub_detail(str(err), sensitive)}"
        return _Unbuildable(detail)
    if server is not None:
        sensitive += [v for v in (getattr(server, "client_secret", ""),) if v]
    return server


@dataclass(frozen=True)
class _Unbuildable:
    detail: str


def _shown(value: Any) -> str:
    return "null" if value is None else repr(value)


def _describe(check: WorkerCheck, backend: Any, server: Any) -> str:
    parts = [
        f"tasks read through {type(backend).__name__} built from {check.section or 'no section'}",
        f"vault_url {_shown(getattr(backend, 'vault_url', None))}",
        f"variables_prefix {_shown(getattr(backend, 'variables_prefix', None))}",
        f"connections_prefix {_shown(getattr(backend, 'connections_prefix', None))}",
        f"sep {_shown(getattr(backend, 'sep', None))}",
    ]
    if check.section == "[secrets]":
        parts.append("no [workers] secrets_backend: workers and the API server share [secrets]")
    elif server is not None and not isinstance(server, _Unbuildable):
        parts.append(f"[secrets] (as this worker sees it): vault_url {_shown(server.vault_url)}")
    return "; ".join(parts)


def _norm(attr: str, value: Any) -> Any:
    """Equal when the backend would behave the same: a URL's case and trailing slash, and an
    empty identity field (the provider's default) do not count; a prefix "" vs null does."""
    if attr == "vault_url" and isinstance(value, str):
        return value.strip().rstrip("/").lower()
    if attr.endswith(("_id", "_tenant_id")):
        return value or None
    return value


def _compare_config(backend: Any, server: Any) -> list[Finding]:
    subject = "[workers] vs [secrets]"
    if server is None:
        return [
            WORKER_SERVER_CONFIG_DIFFER(
                subject,
                "[workers] secrets_backend is set but [secrets] backend is not (as this worker "
                "sees it): the API server reads no vault",
            )
        ]
    if isinstance(server, _Unbuildable):
        return [
            WORKER_SERVER_CONFIG_DIFFER(
                subject, f"[secrets] backend cannot be built here: {server.detail}"
            )
        ]
    diffs = []
    if type(server) is not type(backend):
        diffs.append(f"class: workers {type(backend).__name__}, [secrets] {type(server).__name__}")
    for attr in COMPARED:
        mine, theirs = getattr(backend, attr, None), getattr(server, attr, None)
        if _norm(attr, mine) != _norm(attr, theirs):
            diffs.append(f"{attr}: workers {_shown(mine)}, [secrets] {_shown(theirs)}")
    if (getattr(backend, "client_secret", "") or "") != (
        getattr(server, "client_secret", "") or ""
    ):
        diffs.append("client_secret: differs")
    if not diffs:
        return []
    return [WORKER_SERVER_CONFIG_DIFFER(subject, "; ".join(diffs), keys=len(diffs))]


def _settings_of(backend: Any) -> Settings | None:
    """Settings as these backend attributes describe them (for diagnose's hints)."""
    kwargs = {
        k: getattr(backend, k)
        for k in (*COMPARED, "client_secret")
        if isinstance(getattr(backend, k, None), str) and getattr(backend, k)
    }
    for prefix in ("variables_prefix", "connections_prefix", "config_prefix"):
        if hasattr(backend, prefix):
            kwargs[prefix] = getattr(backend, prefix)
    try:
        return settings_from_backend_kwargs(kwargs)[0]
    except Exception:  # noqa: BLE001 - hints only
        return None


# -- reads -----------------------------------------------------------------------------------
def _plan(backend: Any, names: Sequence[str]) -> list[_Read]:
    """A name certain not to exist (as a variable when the variables prefix makes a valid
    name, else as a connection), then each named variable."""
    sep = getattr(backend, "sep", "-")
    key = f"{ACCESS_CHECK_KEY}-{secrets.token_hex(8)}"
    probe = _Read(key, "variable", None, probe=True)
    for kind, attr in (("variable", "variables_prefix"), ("connection", "connections_prefix")):
        name = secret_name(getattr(backend, attr, None), key, sep)
        if name is not None and is_valid_name(name):
            probe = _Read(key, kind, name, probe=True)
            break
    reads = [probe]
    for key in names:
        name = secret_name(getattr(backend, "variables_prefix", None), key, sep)
        reads.append(_Read(key, "variable", name if is_valid_name(name) else None))
    return reads


def _read(backend: Any, read: _Read, settings: Settings | None, sensitive: list) -> None:
    if read.name is None:
        return  # the backend makes no request for it (prefix null, or an invalid name)
    subject = f"{read.kind} {read.key} (workers' backend)"
    try:
        if read.kind == "variable":
            value = backend.get_variable(read.key)
        else:
            value = backend.get_conn_value(read.key)
    except Exception as err:  # noqa: BLE001 - every failure becomes a finding
        read.finding = diagnose(
            err, subject=subject, settings=settings, secret=read.name, sensitive=sensitive
        )
        return
    if value is not None:
        sensitive.append(value)
        read.fp = fingerprint(value)


def _report_reads(reads: list[_Read], section: str) -> list[Finding]:
    out: list[Finding] = []
    for read in reads:
        where = f"through the workers' backend ({section})"
        if read.finding is not None:
            context = (
                f" (reading {read.name!r}, a name that does not exist, to check read access)"
                if read.probe
                else ""
            )
            out.append(
                read.finding.spec(
                    read.finding.subject, f"{read.finding.detail}{context}", **read.finding.data
                )
            )
        elif read.name is None:
            if read.probe:
                out.append(
                    SKIPPED(
                        "read access",
                        "the workers' backend requests nothing for variables or connections "
                        "(null prefixes): read access not checked",
                    )
                )
            else:
                out.append(
                    SECRET_NOT_FOUND(
                        f"variable {read.key}",
                        f"the workers' backend makes no request for {read.key!r} (null "
                        "variables_prefix, or not a valid Key Vault name)",
                    )
                )
        elif read.probe:
            detail = (
                f"{read.name!r}, a name that does not exist, answered 404 SecretNotFound {where} "
                "(a missing permission answers 403): tasks may read secrets"
            )
            if read.fp is not None:
                detail = f"{read.name!r} read a value {where}: tasks may read secrets"
            out.append(NOTHING_TO_READ("read access", detail, secret_name=read.name))
        elif read.fp is not None:
            out.append(
                SECRET_READ(
                    f"variable {read.key}",
                    f"secret {read.name!r}: {read.fp} (read {where})",
                    secret_name=read.name,
                    fingerprint=read.fp,
                )
            )
        elif read.server is None or not read.server.found:
            out.append(
                SECRET_NOT_FOUND(
                    f"variable {read.key}",
                    f"secret {read.name!r} not found {where}",
                    secret_name=read.name,
                )
            )
    return out


def _answer(read: _Read) -> str:
    if read.finding is not None:
        return f"failed ({read.finding.code})"
    if read.name is None:
        return "no request"
    return read.fp if read.fp is not None else "not found"


def _report_server(reads: list[_Read]) -> list[Finding]:
    out: list[Finding] = []
    agreed: list[str] = []
    for read in reads:
        answer = read.server
        if answer is None:
            continue
        subject = f"variable {read.key} (API server)"
        if answer.error:
            out.append(SERVER_FALLBACK_FAILED(subject, f"GetVariable answered {answer.error}"))
            continue
        server = fingerprint(answer.value) if answer.found and answer.value is not None else None
        said = server or ("found (empty)" if answer.found else "not found")
        if read.finding is not None:
            continue  # the workers' read failed: that finding says why; nothing to compare
        mine = read.fp
        if (server is None) != (mine is None) or (server and mine and server != mine):
            if read.probe and mine is None and not answer.found:
                agreed.append(f"{read.key!r}: not found (both)")
                continue
            out.append(
                WORKER_SERVER_DISAGREE(
                    f"variable {read.key}",
                    f"workers' backend: {_answer(read)}; API server (Execution API): {said}",
                    secret_name=read.name or "",
                )
            )
        else:
            agreed.append(f"{read.key!r}: {said} (both)")
    if agreed and not any(f.code == WORKER_SERVER_DISAGREE.code for f in out):
        out.append(
            SERVER_FALLBACK_AGREES(
                "API server",
                "GetVariable through the Execution API answered as the workers' backend: "
                + "; ".join(agreed),
            )
        )
    return out


# -- the kept report -------------------------------------------------------------------------
def log_findings(findings: Iterable[Finding], logger: logging.Logger = log) -> None:
    """One log record per finding (code, subject, detail, fix) at its severity's level."""
    levels = {
        Severity.ERROR: logging.ERROR,
        Severity.WARNING: logging.WARNING,
        Severity.INFO: logging.INFO,
        Severity.OK: logging.INFO,
    }
    for f in findings:
        logger.log(
            levels[f.severity],
            "%s %s [%s] %s — %s | fix: %s",
            f.code,
            f.severity.value.upper(),
            f.subject,
            f.title,
            f.detail,
            " ".join(f.fix.split()),
        )


def write_report(check: WorkerCheck, path: str) -> str:
    """Keep the findings as a one-cell notebook (nbformat 4.5) at ``path`` (a local path or a
    papermill URL such as abfs://); its output is the result payload ``collect_results``
    reads. Returns the path."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    payload = check.payload(notebook=name)
    codes = ", ".join(f.code for f in check.findings if f.severity is not Severity.OK)
    summary = f"{STEP}: {'OK' if check.ok else 'ERROR'} ({payload['worst']}"
    summary += f"; {codes})" if codes else ")"
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": 1,
                "id": "worker-check",
                "metadata": {"tags": ["akv-selfcheck-worker"]},
                "source": "# Written by the akv_selfcheck DAG (helpers.probe.worker.check_worker)",
                "outputs": [
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {
                            "text/plain": summary,
                            "text/html": render_html(check.findings, title=STEP),
                            MIMETYPE: payload,
                        },
                    }
                ],
            }
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if "://" in path:
        # papermill is heavy and optional: only for a remote report dir (abfs://, s3://)
        from papermill.iorw import papermill_io

        papermill_io.write(text, path)
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text, encoding="utf-8")
    return path
