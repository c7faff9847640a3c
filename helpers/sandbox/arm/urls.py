"""Paths served on management.azure.com (method, regex, handler in responses.py)."""

from __future__ import annotations

import re

__all__ = [
    "ASSIGNMENTS",
    "DEFINITIONS",
    "RG",
    "SCOPE",
    "SUB",
    "URLS",
    "VAULT",
    "subscription_of",
]

SUB = r"/subscriptions/(?P<sub>[^/]+)"
RG = rf"{SUB}/resourceGroups/(?P<rg>[^/]+)"
VAULT = rf"{RG}/providers/Microsoft\.KeyVault/vaults/(?P<vault>[^/]+)"
_VAULT_TAIL = r"(?:/providers/Microsoft\.KeyVault/vaults/[^/]+)?"
SCOPE = rf"(?P<scope>(?:/subscriptions/[^/]+(?:/resourceGroups/[^/]+{_VAULT_TAIL})?)?)"
ASSIGNMENTS = rf"{SCOPE}/providers/Microsoft\.Authorization/roleAssignments"
DEFINITIONS = rf"{SCOPE}/providers/Microsoft\.Authorization/roleDefinitions"

URLS = [
    ("GET", r"/subscriptions", "list_subscriptions"),
    ("GET", SUB, "get_subscription"),
    ("GET", rf"{SUB}/providers/Microsoft\.KeyVault/vaults", "list_vaults_by_subscription"),
    ("GET", rf"{SUB}/resources", "list_resources"),
    ("GET", rf"{RG}/providers/Microsoft\.KeyVault/vaults", "list_vaults_by_resource_group"),
    ("GET", VAULT, "get_vault"),
    ("PUT", VAULT, "create_or_update_vault"),
    ("PUT", rf"{VAULT}/accessPolicies/(?P<kind>add|replace|remove)", "update_access_policy"),
    ("GET", ASSIGNMENTS, "list_role_assignments"),
    ("PUT", rf"{ASSIGNMENTS}/(?P<name>[^/]+)", "create_role_assignment"),
    ("GET", rf"{ASSIGNMENTS}/(?P<name>[^/]+)", "get_role_assignment"),
    ("DELETE", rf"{ASSIGNMENTS}/(?P<name>[^/]+)", "delete_role_assignment"),
    ("GET", DEFINITIONS, "list_role_definitions"),
    ("GET", rf"{DEFINITIONS}/(?P<role>[^/]+)", "get_role_definition"),
]


_SUBSCRIPTION = re.compile(r"/subscriptions/([^/?]+)", re.IGNORECASE)


def subscription_of(path: str) -> str | None:
    """The subscription a request is about (ARM throttles per subscription), or None for a
    tenant-level request."""
    found = _SUBSCRIPTION.match(path)
    return found.group(1) if found else None
