"""Notebook parameters -> settings, and the settings check every notebook starts with.

:func:`check_form` is notebook 00's step: what the settings form's Check button and the
headless path both run.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from helpers.findings import Finding, has_errors
from helpers.probe import probe
from helpers.runbook.results import (
    Section,
    StepResult,
    never_raises,
    remember_secret_env,
    table_cell,
    unexpected,
)
from helpers.settings import (
    Settings,
    check_secret_env,
    settings_from_mapping,
    shown_env_name,
)

__all__ = ["NOTEBOOK_ONLY", "check_form", "check_settings", "settings_from_params"]

# Notebook parameters that are not settings.
NOTEBOOK_ONLY = frozenset(
    {"environment", "sandbox_scenario", "existing_config", "perform_grant", "run_dag", "principal"}
)


def _id_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part for part in re.split(r"[,\s]+", value) if part]
    return value


def settings_from_params(**params: Any) -> tuple[Settings, list[Finding]]:
    """Settings from notebook parameters (vault_url, tenant_id, client_id, client_secret_env,
    variables, connections, target, ...). Notebook-only parameters (environment,
    sandbox_scenario, existing_config, perform_grant, run_dag) are ignored; ``variables`` and
    ``connections`` may be comma-separated strings. Never raises."""
    values: dict[str, Any] = {}
    for key, value in params.items():
        if key in NOTEBOOK_ONLY:
            continue
        values[key] = _id_list(value) if key in ("variables", "connections") else value
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
    return [
        ["setting", "value"],
        ["vault_url", table_cell(settings.vault_url)],
        ["tenant_id", table_cell(settings.tenant_id)],
        ["client_id", table_cell(settings.client_id)],
        [
            "client_secret_env",
            f"{shown_env_name(settings.client_secret_env)} (the NAME of the variable)",
        ],
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
