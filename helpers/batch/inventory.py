"""Inventories: every environment a batch check covers, in one YAML file.

An inventory is ``defaults`` (merged into every environment) plus a list of
``environments``. Each environment is a settings mapping (see ``Settings``: vault URL,
tenant, client id, credential reference, prefixes, Airflow target, expected variables and
connections) with a few batch-only keys::

    version: 1
    defaults:
      tenant_id: 8c3d2f1e-4b5a-4c6d-9e7f-1a2b3c4d5e6f   # the directory GUID, not a domain
      credential: client_secret          # or managed_identity / workload_identity
      variables: [sample-variable]
      timeout: 60                        # seconds for the whole environment check
    environments:
      - name: team-a-prod
        vault_url: https://team-a-prod-kv.vault.azure.net/
        client_id: 3c9e1f7a-2d4b-4a6c-8e0f-5b7d9f1a3c42
        client_secret_env: TEAM_A_PROD_SECRET   # the NAME of the variable, never the value
        backend_kwargs: '{"vault_url": "https://team-a-prod-kv.vault.azure.net/"}'

``backend_kwargs`` is the deployment's ``[secrets] backend_kwargs`` text as configured; it is
linted exactly as Airflow parses it, and where valid its vault URL, prefixes and separator
are what the check uses (they are what the backend uses). :func:`load_inventory` never
raises: every problem is a finding, about the file or about one environment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.backend_config import lint_backend_kwargs
from helpers.common.facts import DEFAULT_ENV_TIMEOUT, MAX_ENV_TIMEOUT
from helpers.common.textio import InputError, load_yaml, read_text
from helpers.findings import Finding, has_errors
from helpers.findings.codes.inv import (
    DUPLICATE_ENVIRONMENT,
    ENV_NAME_INVALID,
    INVENTORY_EMPTY,
    INVENTORY_SHAPE,
    INVENTORY_UNKNOWN_KEY,
    INVENTORY_UNREADABLE,
    INVENTORY_VERSION,
    KWARGS_OVERRIDE_FIELD,
    TIMEOUT_INVALID,
)
from helpers.findings.codes.set import WRONG_TYPE
from helpers.settings import Settings, check_guid, settings_from_mapping, shown, suggest
from helpers.settings.load import as_bool

__all__ = [
    "EnvironmentSpec",
    "Inventory",
    "environment_from_mapping",
    "inventory_from_mapping",
    "load_inventory",
]

TOP_LEVEL_KEYS = ("version", "defaults", "environments")
SUPPORTED_VERSION = 1
# Keys an environment may carry besides the Settings fields.
BATCH_KEYS = ("timeout", "subscription_id", "backend_kwargs", "through_backend")
# backend_kwargs keys that decide what the backend reads (and so what the check reads).
KWARGS_DECIDE = ("vault_url", "variables_prefix", "connections_prefix", "config_prefix", "sep")
ENV_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
DEFAULT_TIMEOUT = DEFAULT_ENV_TIMEOUT
MAX_TIMEOUT = MAX_ENV_TIMEOUT


@dataclass
class EnvironmentSpec:
    """One environment of an inventory, validated: what the check of it needs."""

    name: str
    settings: Settings
    findings: list[Finding] = field(default_factory=list)  # about this environment's entry
    timeout: float = DEFAULT_TIMEOUT
    subscription_id: str = ""
    through_backend: bool = True
    backend_kwargs: str | None = None  # as configured (the text Airflow parses)

    @property
    def checkable(self) -> bool:
        """False when the settings themselves are broken: a live check would mislead."""
        return not has_errors(f for f in self.findings if not f.code.startswith("AKV-CFG-"))


@dataclass
class Inventory:
    source: str
    environments: list[EnvironmentSpec] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # about the file as a whole

    @property
    def usable(self) -> bool:
        """False when the file itself is broken (exit code 2: nothing sensible to run)."""
        return not has_errors(self.findings)

    def environment(self, name: str) -> EnvironmentSpec | None:
        return next((e for e in self.environments if e.name == name), None)


def load_inventory(path: str | Path) -> Inventory:
    """Read and validate an inventory file; never raises."""

    source = str(path)
    try:
        text = read_text(path)
    except InputError as err:
        return Inventory(source, findings=[INVENTORY_UNREADABLE(source, f"cannot read: {err}")])
    try:
        data = load_yaml(text)
    except InputError as err:
        return Inventory(
            source,
            findings=[INVENTORY_UNREADABLE(source, f"invalid YAML{err.where}: {err.reason}")],
        )
    return inventory_from_mapping(data, source=source)


def inventory_from_mapping(data: Any, *, source: str = "inventory") -> Inventory:
    inv = Inventory(source)
    if not isinstance(data, Mapping):
        inv.findings.append(
            INVENTORY_SHAPE(source, f"the top level is {shown(data)}, not a mapping")
        )
        return inv
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            guess = suggest(str(key), TOP_LEVEL_KEYS)
            hint = f"; did you mean {guess!r}?" if guess else ""
            inv.findings.append(
                INVENTORY_UNKNOWN_KEY(
                    shown(str(key), quote=False), f"unknown key {shown(str(key))}{hint}"
                )
            )
    version = data.get("version", SUPPORTED_VERSION)
    if isinstance(version, bool) or version != SUPPORTED_VERSION:
        inv.findings.append(
            INVENTORY_VERSION(
                "version", f"version {shown(version)} is not {SUPPORTED_VERSION} (unquoted)"
            )
        )
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        inv.findings.append(INVENTORY_SHAPE("defaults", "defaults must be a mapping"))
        defaults = {}
    entries = data.get("environments")
    if not isinstance(entries, list):
        inv.findings.append(
            INVENTORY_SHAPE("environments", f"environments must be a list, not {shown(entries)}")
        )
        return inv
    if not entries:
        inv.findings.append(INVENTORY_EMPTY("environments", "the list is empty"))
        return inv
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"environments[{index}]"
        if not isinstance(entry, Mapping):
            inv.findings.append(INVENTORY_SHAPE(where, f"{shown(entry)} is not a mapping"))
            continue
        spec = environment_from_mapping({**defaults, **entry}, where=where)
        if spec.name in seen:
            inv.findings.append(
                DUPLICATE_ENVIRONMENT(where, f"{spec.name!r} is already used above")
            )
            continue
        seen.add(spec.name)
        inv.environments.append(spec)
    return inv


def environment_from_mapping(data: Mapping[str, Any], *, where: str = "") -> EnvironmentSpec:
    """One environment entry (defaults already merged) -> EnvironmentSpec; never raises."""
    values = dict(data)
    batch = {k: values.pop(k) for k in BATCH_KEYS if k in values}
    findings: list[Finding] = []
    name = values.get("name")
    if not isinstance(name, str) or not ENV_NAME_RE.match(name.strip()):
        findings.append(
            ENV_NAME_INVALID(where or "name", f"name {shown(name)} is missing or not usable")
        )
        name = re.sub(r"[^A-Za-z0-9]+", "-", where).strip("-") or "environment"
    name = name.strip()
    values["name"] = name

    kwargs_text = batch.get("backend_kwargs")
    if isinstance(kwargs_text, Mapping):  # YAML mapping: what Airflow gets after json.loads
        kwargs_text = json.dumps(dict(kwargs_text))
    if kwargs_text is not None:
        kwargs_text = str(kwargs_text)
        findings += _apply_backend_kwargs(kwargs_text, values)

    settings, found = settings_from_mapping(values)
    findings += found
    timeout, problem = _timeout(batch.get("timeout", DEFAULT_TIMEOUT))
    if problem:
        findings.append(TIMEOUT_INVALID("timeout", problem))
    through = _through_backend(batch.get("through_backend", True), findings)
    subscription_id, found = check_guid(batch.get("subscription_id"), "subscription_id")
    findings += found
    if found:  # never carried on: it may be a pasted secret, and ARM would refuse it anyway
        subscription_id = ""
    return EnvironmentSpec(
        name=name,
        settings=settings,
        findings=findings,
        timeout=timeout,
        subscription_id=subscription_id,
        through_backend=through,
        backend_kwargs=kwargs_text,
    )


def _apply_backend_kwargs(text: str, values: dict[str, Any]) -> list[Finding]:
    """Lint the kwargs as Airflow parses them; valid ones decide what the check reads."""

    parsed, findings = lint_backend_kwargs(text, subject="backend_kwargs")
    if not parsed:
        return findings
    for key in KWARGS_DECIDE:
        if key not in parsed:
            continue
        mine = values.get(key)
        if mine is not None and str(mine).strip() != str(parsed[key]).strip():
            findings.append(
                KWARGS_OVERRIDE_FIELD(
                    key,
                    f"{key} is {shown(mine)} here but {shown(parsed[key])} in backend_kwargs; "
                    "the check uses backend_kwargs",
                )
            )
        values[key] = parsed[key]
    return findings


def _through_backend(value: Any, findings: list[Finding]) -> bool:
    """Only YAML's true and false: a quoted "no" is text, and text is not a switch."""
    if isinstance(value, bool):
        return value
    try:
        meant = as_bool(str(value) if isinstance(value, int) else value)
    except ValueError:
        meant = None
    hint = f"; write {str(meant).lower()} unquoted" if meant is not None else ""
    findings.append(
        WRONG_TYPE(
            "through_backend",
            f"through_backend must be true or false, not {shown(value)}{hint}",
            key="through_backend",
        )
    )
    return True if meant is None else meant


def _timeout(value: Any) -> tuple[float, str]:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return DEFAULT_TIMEOUT, f"timeout {shown(value)} is not a number"
    try:
        seconds = float(value)
    except ValueError:
        return DEFAULT_TIMEOUT, f"timeout {shown(value)} is not a number"
    if not 0 < seconds <= MAX_TIMEOUT:
        return DEFAULT_TIMEOUT, f"timeout {seconds:g} is outside 0-{MAX_TIMEOUT:.0f} seconds"
    return seconds, ""
