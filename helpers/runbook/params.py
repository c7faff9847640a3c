"""Notebook parameters -> settings, and the settings check every notebook starts with.

:func:`start` is every notebook's first step: it refuses a secret-like parameter value
(AKV-SET-010) and decides whether a step with an error finding ends the run
(``fail_on_error``). :func:`check_form` is notebook 00's step: what the settings form's Check
button and the headless path both run.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from helpers.common.papermill_engine import ENGINE_NAME, is_scrubbed, secret_like_parameter
from helpers.common.redact import fingerprint
from helpers.findings import Finding, has_errors
from helpers.findings.codes.set import SECRET_VALUE_AS_NAME
from helpers.probe import probe
from helpers.runbook.connect import Connection
from helpers.runbook.results import (
    KERNEL,
    Section,
    StepResult,
    headless,
    never_raises,
    remember_secret_env,
    show,
    table_cell,
    unexpected,
)
from helpers.settings import (
    Settings,
    check_secret_env,
    looks_like_secret,
    settings_from_mapping,
    shown,
    shown_env_name,
)
from helpers.settings.load import as_bool

__all__ = [
    "NOTEBOOK_ONLY",
    "check_form",
    "check_settings",
    "resolve_fail_on_error",
    "secret_parameters",
    "settings_from_params",
    "start",
]

# Notebook parameters that are not settings.
NOTEBOOK_ONLY = frozenset(
    {
        "environment",
        "sandbox_scenario",
        "existing_config",
        "perform_grant",
        "run_dag",
        "principal",
        "fail_on_error",
        "conn",
    }
)
# What a kernel's namespace holds besides the parameters when the first step runs.
_NOT_PARAMETERS = frozenset({"In", "Out", "get_ipython", "exit", "quit", "open", "runbook"})


def _values(value: Any) -> list[Any]:
    if isinstance(value, list | tuple | set | frozenset):
        return [v for item in value for v in _values(item)]
    if isinstance(value, dict):
        return [v for item in [*value.keys(), *value.values()] for v in _values(item)]
    return [value]


def secret_parameters(namespace: Mapping[str, Any], *, headless_run: bool = True) -> list[Finding]:
    """AKV-SET-010 for each parameter in ``namespace`` (a notebook's globals) that holds a
    secret-like value, or the marker the akv-runbook papermill engine put in its place. The
    finding names the parameter (or its fingerprint, if the name itself looks secret) and
    says where the value is now; it never shows the value."""
    findings = []
    for name, value in namespace.items():
        if name.startswith("_") or name in _NOT_PARAMETERS:
            continue
        strings = [v for v in _values(value) if isinstance(v, str)]
        subject = f"parameter {shown(name, 60, quote=False)}"
        if any(is_scrubbed(v) for v in strings):
            where = (
                f"papermill's {ENGINE_NAME} engine kept it out of the executed notebook (a "
                "placeholder stands in the parameters cell and metadata)"
            )
        elif looks_like_secret(name) or any(secret_like_parameter(v) for v in strings):
            secret = next((v for v in strings if secret_like_parameter(v)), name)
            where = (
                f"its value ({fingerprint(secret)}) is in the output notebook papermill wrote "
                "(its injected-parameters cell and metadata.papermill.parameters): delete that "
                f"file and rotate the secret; papermill --engine {ENGINE_NAME} keeps such a "
                "value out"
                if headless_run
                else f"its value ({fingerprint(secret)}) is in this notebook's parameters cell: "
                "remove it there (and from any saved copy) and rotate the secret"
            )
        else:
            continue
        findings.append(
            SECRET_VALUE_AS_NAME(
                subject,
                f"{subject} holds what looks like a secret; {where}. Pass the NAME of an "
                "environment variable that holds it instead (client_secret_env).",
            )
        )
    return findings


def resolve_fail_on_error(value: object) -> bool:
    """The ``fail_on_error`` parameter: None (the default) means "when run headless"."""
    if value is None or value == "":
        return headless()
    if isinstance(value, int | float):  # papermill's -p turns 1 into an int
        return bool(value)
    try:
        return bool(as_bool(value))
    except ValueError:
        return headless()


def start(notebook: str, namespace: Mapping[str, Any]) -> None:
    """Every notebook's first step, given its parameters (``globals()``): names the notebook
    in every payload, resolves ``fail_on_error``, and stops the notebook with AKV-SET-010
    (always, whatever ``fail_on_error`` says) when a parameter holds a secret-like value."""
    KERNEL.notebook = str(notebook)
    KERNEL.fail_on_error = resolve_fail_on_error(namespace.get("fail_on_error"))
    findings = secret_parameters(namespace, headless_run=headless())
    if findings:
        show("parameters", StepResult("Parameters", findings), fail=True)


def _id_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part for part in re.split(r"[,\s]+", value) if part]
    return value


def _identity_values(values: dict[str, Any], conn: Connection | None) -> None:
    """A managed or workload identity without ``managed_identity_client_id`` is the one the
    connection's environment selects (AZURE_CLIENT_ID, AZURE_TENANT_ID: what `sandbox env
    --credential` or the platform set), as DefaultAzureCredential would pick it. ``imds`` is
    the sandbox's other managed-identity protocol: a managed identity to the settings."""
    if str(values.get("credential", "")).strip().lower() == "imds":
        values["credential"] = "managed_identity"
    kind = str(values.get("credential", "")).strip().lower().replace("-", "_")
    if conn is None or kind not in ("managed_identity", "workload_identity"):
        return
    if not values.get("managed_identity_client_id") and conn.client_id:
        values["managed_identity_client_id"] = conn.client_id
    if kind == "workload_identity" and not values.get("workload_identity_tenant_id"):
        values["workload_identity_tenant_id"] = conn.tenant_id or values.get("tenant_id", "")


def settings_from_params(
    *, conn: Connection | None = None, **params: Any
) -> tuple[Settings, list[Finding]]:
    """Settings from notebook parameters (vault_url, tenant_id, client_id, credential,
    managed_identity_client_id, client_secret_env, variables, connections, target, ...).
    Notebook-only parameters (environment, sandbox_scenario, existing_config, perform_grant,
    run_dag) are ignored; ``variables`` and ``connections`` may be comma-separated strings.
    With ``conn``, a managed or workload identity left unnamed is the one the connection's
    environment selects. Never raises."""
    values: dict[str, Any] = {}
    for key, value in params.items():
        if key in NOTEBOOK_ONLY:
            continue
        values[key] = _id_list(value) if key in ("variables", "connections") else value
    _identity_values(values, conn)
    if "name" not in values and params.get("environment"):
        values["name"] = str(params["environment"])
    try:
        settings, findings = settings_from_mapping(values)
    except Exception as err:  # noqa: BLE001 - settings_from_mapping already never raises
        return Settings(), [unexpected("settings", err)]
    if isinstance(settings.client_secret_env, str) and settings.client_secret_env:
        remember_secret_env(settings.client_secret_env)
    return settings, findings


def _settings_table(settings: Settings) -> list[list[str]]:
    kind = str(getattr(settings.credential, "value", settings.credential))
    if kind == "client_secret":
        identity = [
            ["client_id", table_cell(settings.client_id)],
            [
                "client_secret_env",
                f"{shown_env_name(settings.client_secret_env)} (the NAME of the variable)",
            ],
        ]
    else:  # no client secret at all: the platform proves the identity
        identity = [
            ["managed_identity_client_id", table_cell(settings.managed_identity_client_id)],
        ]
        if kind == "workload_identity":
            tenant = table_cell(settings.workload_identity_tenant_id)
            identity.append(["workload_identity_tenant_id", tenant])
    return [
        ["setting", "value"],
        ["vault_url", table_cell(settings.vault_url)],
        ["tenant_id", table_cell(settings.tenant_id)],
        ["credential", kind],
        *identity,
        ["variables", ", ".join(map(table_cell, settings.variables)) or "(none)"],
        ["connections", ", ".join(map(table_cell, settings.connections)) or "(none)"],
        ["target", str(getattr(settings.target, "value", settings.target))],
    ]


@never_raises("Settings")
def check_settings(settings: Settings, findings: Iterable[Finding] = ()) -> StepResult:
    """The settings as the runbook understood them, and every problem with them (offline)."""
    return StepResult("Settings", list(findings), [Section("", _settings_table(settings), "table")])


@never_raises("Check")
def check_form(values: Mapping[str, Any]) -> StepResult:
    """What 00's Check button and the headless path both run: validate the values, then sign
    in and read the first variable (or connection). Success shows AKV-AUTH-001 and
    AKV-SECRET-001. A ``client_secret`` value in ``values`` is refused, never used."""
    settings, problems = settings_from_params(**dict(values or {}))
    problems = problems + check_secret_env(settings, os.environ)
    title = f"Check: {settings.vault_url or '(no vault URL)'}"
    if has_errors(problems):
        return StepResult(title, problems)
    quick = dataclasses.replace(
        settings,
        variables=settings.variables[:1],
        connections=[] if settings.variables else settings.connections[:1],
    )
    result = probe(quick, through_backend=False, check_roles=False, timeout=10)
    return StepResult(title, problems + result.findings, data={"claims": result.claims})
