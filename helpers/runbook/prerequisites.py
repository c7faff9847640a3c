"""Notebook 01's steps: installed packages, the AZURE_* variables, sign-in and the vault."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import os
import sys
from collections.abc import Mapping

from helpers.backend_config.identity import identity_of, kind_of
from helpers.findings import Finding
from helpers.findings.codes.run import ENV_DIFFERS, PACKAGE_INSTALLED, PACKAGE_MISSING
from helpers.probe import probe
from helpers.runbook.results import Section, StepResult, never_raises, table_cell
from helpers.settings import (
    Credential,
    Settings,
    check_secret_env,
    lint_versions,
    shown_env_name,
)

__all__ = ["PACKAGES", "check_azure_env", "check_packages", "check_sign_in"]

PACKAGES = {
    "apache-airflow": "Airflow itself",
    "apache-airflow-providers-microsoft-azure": "provides AzureKeyVaultBackend",
    "azure-identity": "signs in (DefaultAzureCredential, ClientSecretCredential)",
    "azure-keyvault-secrets": "reads secrets (SecretClient)",
}


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


@never_raises("Installed packages")
def check_packages() -> StepResult:
    """azure-identity, azure-keyvault-secrets and the provider, against the Airflow version."""
    versions = {name: _version(name) for name in PACKAGES}
    python = ".".join(str(p) for p in sys.version_info[:3])
    rows = [["package", "version", "why"]]
    findings: list[Finding] = []
    for name, why in PACKAGES.items():
        rows.append([name, versions[name] or "not installed", why])
        if versions[name]:
            findings.append(PACKAGE_INSTALLED(name, f"{name} {versions[name]}"))
        else:
            findings.append(PACKAGE_MISSING(name, f"{name} is not installed in {sys.prefix}"))
    rows.append(["python", python, "the interpreter"])
    findings += lint_versions(
        versions["apache-airflow"], versions["apache-airflow-providers-microsoft-azure"], python
    )
    data = {"versions": versions, "python": python}
    return StepResult("Installed packages", findings, [Section("", rows, "table")], data)


_USED_BY = {
    "AZURE_TENANT_ID": "the backend's sign-in",
    "AZURE_CLIENT_ID": "the backend's sign-in",
    "AZURE_CLIENT_SECRET": "the backend's sign-in",
    "AZURE_FEDERATED_TOKEN_FILE": "workload identity: the projected token (its path only)",
    "IDENTITY_ENDPOINT": "managed identity: the platform's token endpoint",
    "IDENTITY_HEADER": "managed identity: the endpoint's header (a secret)",
    "AZURE_SUBSCRIPTION_ID": "the runbook's ARM checks (permission model, roles)",
    "AZURE_KEYVAULT_URL": "SDK samples only — Airflow reads vault_url from backend_kwargs",
    "AZURE_AUTHORITY_HOST": "sovereign clouds only",
    "AZURE_TOKEN_CREDENTIALS": "DefaultAzureCredential: which credential to try",
}
# Shown as set or not set, never their value.
_HIDDEN = frozenset({"AZURE_CLIENT_SECRET", "IDENTITY_HEADER"})


def _wanted(settings: Settings, secret_env: str) -> dict[str, str | None]:
    """Each variable the settings' credential kind uses, with the value it must have."""
    kind = kind_of(settings)
    if kind is Credential.CLIENT_SECRET:
        sign_in: dict[str, str | None] = {
            "AZURE_TENANT_ID": settings.tenant_id,
            "AZURE_CLIENT_ID": settings.client_id,
            "AZURE_CLIENT_SECRET": None,
            secret_env: None,
        }
    else:
        identity, tenant = identity_of(settings)
        sign_in = {"AZURE_CLIENT_ID": identity or None}
        if kind is Credential.WORKLOAD_IDENTITY:
            sign_in = {"AZURE_TENANT_ID": tenant, **sign_in, "AZURE_FEDERATED_TOKEN_FILE": None}
        else:
            sign_in.update({"IDENTITY_ENDPOINT": None, "IDENTITY_HEADER": None})
    return {
        **sign_in,
        "AZURE_SUBSCRIPTION_ID": None,
        "AZURE_KEYVAULT_URL": settings.vault_url,
        "AZURE_AUTHORITY_HOST": None,
        "AZURE_TOKEN_CREDENTIALS": None,
    }


@never_raises("AZURE_* variables")
def check_azure_env(settings: Settings, environ: Mapping[str, str] | None = None) -> StepResult:
    """The AZURE_* variables Airflow's backend signs in with, next to the settings. A managed
    or workload identity has no client secret: its rows are the platform's variables."""
    env = os.environ if environ is None else environ
    secret_env = str(settings.client_secret_env or "AZURE_CLIENT_SECRET").strip()
    wanted = _wanted(settings, secret_env)
    rows = [["variable", "value", "used by"]]
    findings = list(check_secret_env(settings, env))
    for name, expected in wanted.items():
        value = env.get(name)
        secret = name in _HIDDEN or (name == secret_env and secret_env in wanted)
        cell = "(not set)" if not value else "set (value hidden)" if secret else table_cell(value)
        label = shown_env_name(name)
        rows.append(
            [label, cell, _USED_BY.get(name, "holds the client secret (client_secret_env)")]
        )
        if value and expected and value.strip().rstrip("/") != str(expected).strip().rstrip("/"):
            note = " (the runbook uses vault_url)" if name == "AZURE_KEYVAULT_URL" else ""
            findings.append(
                ENV_DIFFERS(
                    name,
                    f"{name}={table_cell(value)} but the setting is "
                    f"{table_cell(str(expected))}{note}",
                )
            )
    if secret_env != "AZURE_CLIENT_SECRET" and secret_env in wanted and env.get(secret_env):
        rows.append(
            [
                "note",
                f"Airflow reads AZURE_CLIENT_SECRET; set it from ${secret_env} where Airflow runs",
                "",
            ]
        )
    return StepResult("AZURE_* variables", findings, [Section("", rows, "table")])


_SIGN_IN_AREAS = ("AKV-AUTH-", "AKV-NET-", "AKV-SVC-", "AKV-SET-")


@never_raises("Sign-in and vault")
def check_sign_in(settings: Settings) -> StepResult:
    """Tenant and service principal (sign-in, with the OBJECT id) and the vault's answer."""
    quiet = dataclasses.replace(settings, variables=[], connections=[])
    result = probe(quiet, through_backend=False, check_roles=False, timeout=10)
    findings = [f for f in result.findings if f.code.startswith(_SIGN_IN_AREAS)]
    sections = []
    if result.claims:
        c = result.claims
        rows = [
            ["claim", "value", "meaning"],
            ["tid", c.get("tid", ""), "tenant the token was issued in"],
            ["appid", c.get("appid", ""), "client (application) id: AZURE_CLIENT_ID"],
            ["oid", c.get("oid", ""), "service principal OBJECT id: what role assignments name"],
        ]
        sections.append(Section("The service principal's token", rows, "table"))
    return StepResult("Sign-in and vault", findings, sections, {"claims": result.claims})
