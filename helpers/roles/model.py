"""Which vault, which permission model, which roles: what ARM says about a vault.

* :func:`find_vault` — resource id and permission model of a vault, through ARM.
* :func:`roles_held` — the role names a principal holds on a vault, when visible.
* :func:`role_id` / :func:`role_name` — built-in role names <-> definition GUIDs.

Role assignments name the service principal's OBJECT id, never its client (app) id. Nothing
here raises on bad input or a failing service: problems come back as findings or None.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from azure.core.credentials import TokenCredential

from helpers.common.redact import scrub_text
from helpers.findings import Finding
from helpers.findings.codes.role import VAULT_NOT_FOUND
from helpers.settings import CLOUDS, vault_name_from_url
from helpers.settings import GUID_RE as _GUID
from helpers.vault.credentials import transport_kwargs

__all__ = [
    "ARM_API_TIMEOUT",
    "BUILTIN_ROLES",
    "VAULT_DOMAINS",
    "PermissionModel",
    "VaultInfo",
    "arm_error",
    "find_vault",
    "is_guid",
    "parse_vault_resource_id",
    "role_id",
    "role_name",
    "roles_held",
    "vault_name_from_url",
]

# Built-in role definition ids (the same GUID in every subscription).
BUILTIN_ROLES = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Key Vault Contributor": "f25e0fa2-a7c8-4377-a976-54943a77a395",
    "Key Vault Reader": "21090545-7ca7-4776-b22c-e363652d74d2",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Data Access Administrator": "8b54135c-b56d-4d72-a534-26097cfdc8d8",
}
_NAME_BY_ID = {guid: name for name, guid in BUILTIN_ROLES.items()}
VAULT_DOMAINS = tuple(CLOUDS)  # the settings' cloud table is the one list of suffixes
_VAULT_ID = re.compile(
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.KeyVault/vaults/(?P<name>[^/]+)/?\Z",
    re.IGNORECASE,
)
ARM_API_TIMEOUT = 15.0


class PermissionModel(StrEnum):
    RBAC = "rbac"  # properties.enableRbacAuthorization = true (recommended)
    ACCESS_POLICY = "access_policy"  # the older vault access policies
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, value: object) -> PermissionModel:
        """The model ``value`` names (its value, with "-" for "_", or an alias), else UNKNOWN."""
        text = str(getattr(value, "value", value) or "").strip().lower().replace("-", "_")
        try:
            return cls(_MODEL_ALIASES.get(text, text))
        except ValueError:
            return cls.UNKNOWN

    @classmethod
    def accepted_names(cls) -> list[str]:
        """Every spelling :meth:`parse` turns into a known model (values first, then aliases)."""
        known = [m.value for m in cls if m is not cls.UNKNOWN]
        names = known + [n.replace("_", "-") for n in known if "_" in n]
        return names + [a for a, v in _MODEL_ALIASES.items() if a and v != cls.UNKNOWN.value]


_MODEL_ALIASES = {"policy": "access_policy", "accesspolicy": "access_policy", "": "unknown"}


def role_id(role: str) -> str | None:
    """The built-in role definition GUID for a name or GUID (None when unknown)."""
    text = str(role or "").strip()
    tail = text.rsplit("/", 1)[-1]
    if _GUID.match(tail):
        return tail.lower()
    for name, guid in BUILTIN_ROLES.items():
        if name.lower() == text.lower():
            return guid
    return None


def role_name(role: str) -> str:
    """The built-in display name for a GUID, roleDefinitionId or name (else the input)."""
    text = str(role or "").strip()
    guid = text.rsplit("/", 1)[-1].lower()
    if guid in _NAME_BY_ID:
        return _NAME_BY_ID[guid]
    for name in BUILTIN_ROLES:
        if name.lower() == text.lower():
            return name
    return text


def parse_vault_resource_id(resource_id: str) -> tuple[str, str, str] | None:
    """(subscription, resource group, vault name) from a vault resource id, else None."""
    match = _VAULT_ID.match(str(resource_id or "").strip())
    if not match:
        return None
    return match["sub"], match["rg"], match["name"]


def is_guid(value: str) -> bool:
    return bool(_GUID.match(str(value or "").strip()))


def arm_error(err: BaseException) -> tuple[str, str]:
    """ARM's error code and message from an azure-core exception (both may be empty)."""
    error = getattr(err, "error", None)
    code = str(getattr(error, "code", "") or "")
    message = str(getattr(error, "message", "") or "")
    if not code:
        response = getattr(err, "response", None)
        # a body that is not JSON (or not ARM's envelope) just has no code
        with contextlib.suppress(Exception):
            body = response.json() if response is not None else {}
            code = str(body.get("error", {}).get("code", "") or "")
            message = message or str(body.get("error", {}).get("message", "") or "")
    return code, scrub_text((message or str(err)).strip())


# -- ARM: find the vault, list roles -----------------------------------------------------------
@dataclass
class VaultInfo:
    """What ARM says about a vault. ``status``: found | not_visible | error."""

    name: str
    subscription_id: str
    status: str = "error"
    resource_id: str | None = None
    resource_group: str | None = None
    permission_model: PermissionModel = PermissionModel.UNKNOWN
    tenant_id: str | None = None
    # object id (lower case) -> secret permissions of that access policy
    access_policies: dict[str, list[str]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.status == "found"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "subscription_id": self.subscription_id,
            "status": self.status,
            "resource_id": self.resource_id,
            "resource_group": self.resource_group,
            "permission_model": self.permission_model.value,
            "tenant_id": self.tenant_id,
            "access_policies": self.access_policies,
            "findings": [f.to_dict() for f in self.findings],
        }


def find_vault(
    credential: TokenCredential,
    subscription_id: str,
    vault_url: str,
    *,
    retries: int = 1,
    timeout: float = ARM_API_TIMEOUT,
) -> VaultInfo:
    """Locate a vault by URL in a subscription (azure-mgmt-keyvault): resource id and model.

    ``status`` is ``not_visible`` when ARM refuses (AuthorizationFailed) or lists no such
    vault — the caller holds no management role on it — and ``error`` for anything else.
    """
    name = vault_name_from_url(vault_url) or ""
    info = VaultInfo(name=name, subscription_id=str(subscription_id or ""))
    if not name:
        info.findings.append(VAULT_NOT_FOUND("vault", f"{vault_url!r} is not a Key Vault URL"))
        return info
    if not str(subscription_id or "").strip():
        info.findings.append(VAULT_NOT_FOUND(name, "no subscription id given"))
        return info
    try:
        # azure.mgmt.* is heavy and only needed when ARM is asked
        from azure.mgmt.keyvault import KeyVaultManagementClient

        client = KeyVaultManagementClient(
            credential, info.subscription_id, **transport_kwargs(retries, timeout)
        )
        match = next(
            (v for v in client.vaults.list_by_subscription() if (v.name or "").lower() == name),
            None,
        )
        if match is None:
            info.status = "not_visible"
            info.findings.append(
                VAULT_NOT_FOUND(name, f"not listed in subscription {info.subscription_id}")
            )
            return info
        parsed = parse_vault_resource_id(match.id or "")
        vault = match  # a listed vault carries its properties: no second request
    except Exception as err:  # noqa: BLE001 - every failure becomes a finding
        code, message = arm_error(err)
        info.status = "not_visible" if code == "AuthorizationFailed" else "error"
        info.findings.append(VAULT_NOT_FOUND(name, f"{code or type(err).__name__}: {message}"))
        return info
    props = vault.properties
    info.status = "found"
    info.resource_id = vault.id
    info.resource_group = parsed[1] if parsed else None
    info.tenant_id = str(getattr(props, "tenant_id", "") or "") or None
    rbac = getattr(props, "enable_rbac_authorization", None)
    info.permission_model = PermissionModel.RBAC if rbac else PermissionModel.ACCESS_POLICY
    for policy in getattr(props, "access_policies", None) or []:
        secrets = list(getattr(policy.permissions, "secrets", None) or [])
        info.access_policies[str(policy.object_id).lower()] = sorted(
            str(getattr(p, "value", p)).lower() for p in secrets
        )
    return info


def roles_held(
    credential: TokenCredential,
    subscription_id: str,
    vault_resource_id: str,
    object_id: str,
    *,
    retries: int = 1,
    timeout: float = ARM_API_TIMEOUT,
) -> list[str] | None:
    """Role names assigned to ``object_id`` at, above or below the vault (None: not visible)."""
    try:
        # azure.mgmt.* is heavy and only needed when ARM is asked
        from azure.mgmt.authorization import AuthorizationManagementClient

        client = AuthorizationManagementClient(
            credential, subscription_id, **transport_kwargs(retries, timeout)
        )
        found = client.role_assignments.list_for_scope(
            vault_resource_id, filter=f"principalId eq '{object_id}'"
        )
        names = []
        for assignment in found:
            if str(assignment.principal_id or "").lower() != str(object_id).lower():
                continue
            names.append(role_name(assignment.role_definition_id or ""))
        return sorted(set(names))
    except Exception:  # noqa: BLE001 - not visible to this identity (or ARM unreachable)
        return None
