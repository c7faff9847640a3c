"""Role advice and grants: who may read the vault, the commands that grant it, and ARM.

The backend only ever calls ``get`` on secrets, so least privilege is **Key Vault Secrets
User** on an RBAC vault, or an access policy with secret ``get`` (``list`` for listing names)
on an access-policy vault. Role assignments name the service principal's OBJECT id, never its
client (app) id.

* :func:`grant_commands` — the grant as az CLI, PowerShell, Bicep and Terraform.
* :func:`find_vault` — resource id and permission model of a vault, through ARM.
* :func:`roles_held` — the role names a principal holds on a vault, when visible.
* :func:`perform_grant` — the grant itself, through ARM, when the caller may.
* :func:`wait_for_access` — re-probe with a bounded wait until the grant takes effect.

Nothing here raises on bad input or a failing service: problems come back as findings.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from helpers.common.redact import scrub_text
from helpers.findings import Finding
from helpers.findings.codes.role import (
    ACCESS_IN_EFFECT,
    ALREADY_GRANTED,
    BAD_INPUT,
    BROADER_THAN_NEEDED,
    CANNOT_CONFIRM,
    GRANT_FAILED,
    GRANTED,
    NOT_ALLOWED_TO_GRANT,
    NOT_YET_IN_EFFECT,
    POLICY_SET,
    PRINCIPAL_NOT_FOUND,
    UNKNOWN_ROLE,
    VAULT_NOT_FOUND,
)
from helpers.settings import GUID_RE as _GUID

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from helpers.settings import Settings

__all__ = [
    "BROADER_ROLES",
    "BUILTIN_ROLES",
    "GRANTORS",
    "LEAST_PRIVILEGE_ROLE",
    "PermissionModel",
    "VaultInfo",
    "find_vault",
    "grant_commands",
    "parse_vault_resource_id",
    "perform_grant",
    "role_id",
    "role_name",
    "roles_held",
    "vault_name_from_url",
    "wait_for_access",
]

LEAST_PRIVILEGE_ROLE = "Key Vault Secrets User"
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
# Roles that can do more than read secret values (write, delete, grant, manage the vault).
BROADER_ROLES = frozenset(BUILTIN_ROLES) - {LEAST_PRIVILEGE_ROLE}
# Who may create role assignments on a vault (Microsoft.Authorization/roleAssignments/write).
GRANTORS = ("Owner", "User Access Administrator", "Key Vault Data Access Administrator")
# Who may edit access policies (Microsoft.KeyVault/vaults/accessPolicies/write).
POLICY_EDITORS = ("Owner", "Contributor", "Key Vault Contributor")
POLICY_PERMISSIONS = ("get", "list")
VAULT_DOMAINS = ("vault.azure.net", "vault.azure.cn", "vault.usgovcloudapi.net")
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
        text = str(getattr(value, "value", value) or "").strip().lower().replace("-", "_")
        aliases = {"policy": "access_policy", "accesspolicy": "access_policy", "": "unknown"}
        try:
            return cls(aliases.get(text, text))
        except ValueError:
            return cls.UNKNOWN


# -- catalogue ---------------------------------------------------------------------------


# -- small helpers ---------------------------------------------------------------------------
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


def vault_name_from_url(vault_url: str) -> str | None:
    """``https://my-kv.vault.azure.net/`` -> ``my-kv`` (None when it is not a vault URL)."""
    try:
        host = (urlsplit(str(vault_url or "").strip()).hostname or "").lower()
    except ValueError:
        return None
    name, _, domain = host.partition(".")
    if name and domain in VAULT_DOMAINS:
        return name
    return None


def parse_vault_resource_id(resource_id: str) -> tuple[str, str, str] | None:
    """(subscription, resource group, vault name) from a vault resource id, else None."""
    match = _VAULT_ID.match(str(resource_id or "").strip())
    if not match:
        return None
    return match["sub"], match["rg"], match["name"]


def _is_guid(value: str) -> bool:
    return bool(_GUID.match(str(value or "").strip()))


def _arm_error(err: BaseException) -> tuple[str, str]:
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


def _mgmt_kwargs(retries: int, timeout: float) -> dict[str, Any]:
    return {
        "retry_total": retries,
        "retry_backoff_factor": 0.2,
        "connection_timeout": timeout,
        "read_timeout": timeout,
    }


# -- grant commands --------------------------------------------------------------------------
def grant_commands(
    settings: Settings,
    object_id: str,
    *,
    model: PermissionModel | str,
    vault_resource_id: str,
    role: str = LEAST_PRIVILEGE_ROLE,
) -> dict[str, str]:
    """The grant as ``az``, ``powershell``, ``bicep`` and ``terraform`` snippets.

    RBAC vaults get a role assignment at the vault's resource id; access-policy vaults get a
    policy with secret ``get`` and ``list``. An unknown model gets the RBAC grant (the
    recommended model) plus ``check_model``, the command that tells which model a vault uses.
    """
    parsed = parse_vault_resource_id(vault_resource_id)
    vault = parsed[2] if parsed else (vault_name_from_url(settings.vault_url) or "<vault-name>")
    group = parsed[1] if parsed else "<resource-group>"
    sub = parsed[0] if parsed else "<subscription-id>"
    scope = (
        vault_resource_id
        if parsed
        else (
            f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{vault}"
        )
    )
    oid = str(object_id or "").strip() or "<object-id>"
    tenant = settings.tenant_id if _is_guid(settings.tenant_id) else ""
    model = PermissionModel.parse(model)
    if model is PermissionModel.ACCESS_POLICY:
        commands = _policy_commands(vault, group, sub, oid, tenant, scope)
    else:
        commands = _rbac_commands(vault, scope, oid, role_name(role) or LEAST_PRIVILEGE_ROLE, role)
    commands["check_model"] = (
        f"az keyvault show --name {shlex.quote(vault)} --resource-group {shlex.quote(group)} "
        f"--subscription {shlex.quote(sub)} --query properties.enableRbacAuthorization"
    )
    return commands


def _ps(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _hcl(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("${", "$${") + '"'


def _bicep(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("${", "\\${") + "'"


def _rbac_commands(vault: str, scope: str, oid: str, name: str, role: str) -> dict[str, str]:
    guid = role_id(role) or "<role-definition-guid>"
    label = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "role"
    return {
        "az": (
            f"az role assignment create --role {shlex.quote(name)} "
            f"--assignee-object-id {shlex.quote(oid)} "
            f"--assignee-principal-type ServicePrincipal --scope {shlex.quote(scope)}"
        ),
        "powershell": (
            f"New-AzRoleAssignment -ObjectId {_ps(oid)} -RoleDefinitionName {_ps(name)} "
            f"-Scope {_ps(scope)}"
        ),
        "bicep": "\n".join(
            [
                *_bicep_existing_vault(vault),
                f"resource {label} 'Microsoft.Authorization/roleAssignments@2022-04-01' = {{",
                f"  name: guid(vault.id, {_bicep(oid)}, {_bicep(guid)})",
                "  scope: vault",
                "  properties: {",
                "    roleDefinitionId: subscriptionResourceId("
                f"'Microsoft.Authorization/roleDefinitions', {_bicep(guid)})",
                f"    principalId: {_bicep(oid)}",
                "    principalType: 'ServicePrincipal'",
                "  }",
                "}",
            ]
        ),
        "terraform": "\n".join(
            [
                f'resource "azurerm_role_assignment" "airflow_{label}" {{',
                f"  scope                = {_hcl(scope)}",
                f"  role_definition_name = {_hcl(name)}",
                f"  principal_id         = {_hcl(oid)}",
                '  principal_type       = "ServicePrincipal"',
                "}",
            ]
        ),
    }


def _bicep_existing_vault(vault: str) -> list[str]:
    """The Bicep lines both grant forms start with: a reference to the existing vault."""
    return [
        "// Deploy to the vault's resource group: az deployment group create -g <rg> "
        "-f grant.bicep",
        "resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {",
        f"  name: {_bicep(vault)}",
        "}",
        "",
    ]


def _policy_commands(
    vault: str, group: str, sub: str, oid: str, tenant: str, scope: str
) -> dict[str, str]:
    perms = " ".join(POLICY_PERMISSIONS)
    bicep_tenant = _bicep(tenant) if tenant else "subscription().tenantId"
    tf_tenant = _hcl(tenant) if tenant else "data.azurerm_client_config.current.tenant_id"
    tf_head = [] if tenant else ['data "azurerm_client_config" "current" {}', ""]
    return {
        "az": (
            f"az keyvault set-policy --name {shlex.quote(vault)} "
            f"--resource-group {shlex.quote(group)} --subscription {shlex.quote(sub)} "
            f"--object-id {shlex.quote(oid)} --secret-permissions {perms}"
        ),
        "powershell": (
            f"Set-AzKeyVaultAccessPolicy -VaultName {_ps(vault)} -ResourceGroupName {_ps(group)} "
            f"-ObjectId {_ps(oid)} -PermissionsToSecrets {','.join(POLICY_PERMISSIONS)}"
        ),
        "bicep": "\n".join(
            [
                *_bicep_existing_vault(vault),
                "resource airflowPolicy 'Microsoft.KeyVault/vaults/accessPolicies@2023-07-01' = {",
                "  parent: vault",
                "  name: 'add'",
                "  properties: {",
                "    accessPolicies: [",
                "      {",
                f"        tenantId: {bicep_tenant}",
                f"        objectId: {_bicep(oid)}",
                "        permissions: {",
                "          secrets: [" + ", ".join(f"'{p}'" for p in POLICY_PERMISSIONS) + "]",
                "        }",
                "      }",
                "    ]",
                "  }",
                "}",
            ]
        ),
        "terraform": "\n".join(
            [
                *tf_head,
                'resource "azurerm_key_vault_access_policy" "airflow" {',
                f"  key_vault_id       = {_hcl(scope)}",
                f"  tenant_id          = {tf_tenant}",
                f"  object_id          = {_hcl(oid)}",
                "  secret_permissions = ["
                + ", ".join(f'"{p.capitalize()}"' for p in POLICY_PERMISSIONS)
                + "]",
                "}",
            ]
        ),
    }


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
        from azure.mgmt.keyvault import KeyVaultManagementClient

        client = KeyVaultManagementClient(
            credential, info.subscription_id, **_mgmt_kwargs(retries, timeout)
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
        code, message = _arm_error(err)
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
        from azure.mgmt.authorization import AuthorizationManagementClient

        client = AuthorizationManagementClient(
            credential, subscription_id, **_mgmt_kwargs(retries, timeout)
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


# -- ARM: the grant ---------------------------------------------------------------------------
def perform_grant(
    credential: TokenCredential,
    subscription_id: str,
    vault_resource_id: str,
    object_id: str,
    model: PermissionModel | str,
    role: str = LEAST_PRIVILEGE_ROLE,
    *,
    retries: int = 1,
    timeout: float = ARM_API_TIMEOUT,
) -> list[Finding]:
    """Grant read access through ARM with the caller's ``credential``; returns findings.

    RBAC: a role assignment of ``role`` to ``object_id`` at the vault's resource id
    (azure-mgmt-authorization). Access policy: secret get + list (azure-mgmt-keyvault).
    """
    parsed = parse_vault_resource_id(vault_resource_id)
    oid = str(object_id or "").strip()
    if parsed is None or not _is_guid(oid):
        what = "vault resource id" if parsed is None else "object id"
        return [BAD_INPUT(what, f"{what} {vault_resource_id if parsed is None else oid!r}")]
    sub = str(subscription_id or "").strip() or parsed[0]
    findings: list[Finding] = []
    if PermissionModel.parse(model) is PermissionModel.ACCESS_POLICY:
        return findings + _grant_policy(credential, sub, parsed, oid, retries, timeout)
    name = role_name(role)
    if name in BROADER_ROLES:
        note = (
            "Key Vault Contributor grants no access to secret values on an RBAC vault"
            if name == "Key Vault Contributor"
            else f"{name} can do more than read secrets"
        )
        findings.append(BROADER_THAN_NEEDED(name, note, role=name))
    return findings + _grant_role(credential, sub, vault_resource_id, oid, role, retries, timeout)


def _grant_role(
    credential: TokenCredential,
    sub: str,
    scope: str,
    oid: str,
    role: str,
    retries: int,
    timeout: float,
) -> list[Finding]:
    subject = f"{role_name(role)} for {oid}"
    try:
        from azure.mgmt.authorization import AuthorizationManagementClient
        from azure.mgmt.authorization.models import RoleAssignmentCreateParameters

        client = AuthorizationManagementClient(credential, sub, **_mgmt_kwargs(retries, timeout))
        guid = role_id(role)
        if guid is None:
            wanted = str(role).replace("'", "''")
            match = next(
                iter(client.role_definitions.list(scope, filter=f"roleName eq '{wanted}'")), None
            )
            if match is None:
                return [UNKNOWN_ROLE(str(role), f"no role named {role!r} at {scope}")]
            guid = str(match.name)
        definition = (
            f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
        )
        created = client.role_assignments.create(
            scope,
            str(uuid.uuid4()),
            RoleAssignmentCreateParameters(
                role_definition_id=definition,
                principal_id=oid,
                principal_type="ServicePrincipal",
            ),
        )
    except Exception as err:  # noqa: BLE001 - every failure becomes a finding
        return [_grant_failure(err, subject, scope, oid, policy=False)]
    return [
        GRANTED(
            subject,
            f"{role_name(role)} assigned to object id {oid} at {scope}",
            assignment_id=getattr(created, "id", None),
            scope=scope,
            object_id=oid,
            role=role_name(role),
        )
    ]


def _grant_policy(
    credential: TokenCredential,
    sub: str,
    parsed: tuple[str, str, str],
    oid: str,
    retries: int,
    timeout: float,
) -> list[Finding]:
    _, group, vault = parsed
    subject = f"access policy for {oid}"
    scope = (
        f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{vault}"
    )
    try:
        from azure.mgmt.keyvault import KeyVaultManagementClient
        from azure.mgmt.keyvault.models import (
            AccessPolicyEntry,
            Permissions,
            VaultAccessPolicyParameters,
            VaultAccessPolicyProperties,
        )

        client = KeyVaultManagementClient(credential, sub, **_mgmt_kwargs(retries, timeout))
        tenant = client.vaults.get(group, vault).properties.tenant_id
        client.vaults.update_access_policy(
            group,
            vault,
            "add",
            VaultAccessPolicyParameters(
                properties=VaultAccessPolicyProperties(
                    access_policies=[
                        AccessPolicyEntry(
                            tenant_id=tenant,
                            object_id=oid,
                            permissions=Permissions(secrets=list(POLICY_PERMISSIONS)),
                        )
                    ]
                )
            ),
        )
    except Exception as err:  # noqa: BLE001 - every failure becomes a finding
        return [_grant_failure(err, subject, scope, oid, policy=True)]
    return [
        POLICY_SET(
            subject,
            f"secret {', '.join(POLICY_PERMISSIONS)} for object id {oid} on vault {vault}",
            scope=scope,
            object_id=oid,
        )
    ]


def _grant_failure(err: BaseException, subject: str, scope: str, oid: str, *, policy: bool):
    code, message = _arm_error(err)
    data = {"scope": scope, "object_id": oid, "arm_code": code or type(err).__name__}
    if code == "AuthorizationFailed":
        who = POLICY_EDITORS if policy else GRANTORS
        return NOT_ALLOWED_TO_GRANT(
            subject,
            f"{message} — ask someone with {', '.join(who)} on {scope}",
            may_grant=list(who),
            **data,
        )
    if code == "PrincipalNotFound":
        return PRINCIPAL_NOT_FOUND(
            subject, f"{oid} is not a service principal object id in this tenant", **data
        )
    if code == "RoleAssignmentExists":
        return ALREADY_GRANTED(subject, f"already assigned at {scope}", **data)
    if code == "RoleDefinitionDoesNotExist":
        return UNKNOWN_ROLE(subject, message, **data)
    if not code:
        from helpers.probe import diagnose  # network, TLS and sign-in problems read the same here

        return diagnose(err, subject=f"ARM: {subject}")
    return GRANT_FAILED(subject, f"{code}: {message}", **data)


# -- wait for the grant to take effect --------------------------------------------------------
Progress = Callable[[int, float, str], None]


def wait_for_access(
    settings: Settings,
    *,
    environ: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    interval: float = 2.0,
    progress: Progress | None = None,
    request_timeout: float = 10.0,
) -> list[Finding]:
    """Re-probe until reads stop answering 403, for at most ``timeout`` seconds.

    ``progress(attempt, elapsed_seconds, status)`` is called after every probe; with no
    callback a tqdm bar is drawn when stderr is a terminal. Returns the last probe's findings
    plus AKV-ROLE-007 (in effect), AKV-ROLE-008 (still 403 at the deadline) or AKV-ROLE-013
    (the probe failed for a reason waiting does not fix).
    """
    from helpers import probe as probes

    timeout = max(0.0, float(timeout))
    interval = max(0.05, float(interval))
    bar = _tqdm_bar(timeout) if progress is None and _stderr_is_tty() else None
    started = time.monotonic()
    attempt = 0
    credentials = probes.CredentialPool()  # sign in once, not on every attempt
    try:
        while True:
            attempt += 1
            result = probes.probe(
                settings,
                environ=environ,
                through_backend=False,
                check_roles=False,
                timeout=request_timeout,
                credentials=credentials,
            )
            elapsed = time.monotonic() - started
            forbidden = [f for f in result.findings if f.code in probes.FORBIDDEN_CODES]
            read = [f for f in result.findings if f.code in probes.AUTHORIZED_CODES]
            if forbidden:
                status = f"{forbidden[0].code} {forbidden[0].title}: waiting for propagation"
            elif read:
                status = "access in effect"
            else:
                status = "probe failed for another reason"
            _report(progress, bar, attempt, elapsed, status)
            subject = settings.vault_url or settings.name
            if not forbidden and read:
                return [
                    *result.findings,
                    ACCESS_IN_EFFECT(subject, f"after {elapsed:.1f} s ({attempt} probes)"),
                ]
            if not forbidden:
                return [*result.findings, CANNOT_CONFIRM(subject, f"after {attempt} probes")]
            if elapsed + interval > timeout:
                return [
                    *result.findings,
                    NOT_YET_IN_EFFECT(
                        subject,
                        f"still {forbidden[0].code} after {elapsed:.1f} s ({attempt} probes)",
                    ),
                ]
            time.sleep(interval)
    finally:
        if bar is not None:
            bar.close()


def _stderr_is_tty() -> bool:
    try:
        return bool(sys.stderr and sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


def _tqdm_bar(total: float) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=round(total, 1), desc="waiting for access", unit="s", file=sys.stderr)


def _report(progress: Progress | None, bar: Any, attempt: int, elapsed: float, status: str):
    if progress is not None:
        with contextlib.suppress(Exception):  # a broken callback must not stop the wait
            progress(attempt, elapsed, status)
    if bar is not None:
        bar.n = min(round(elapsed, 1), bar.total)
        bar.set_postfix_str(f"probe {attempt}: {status}", refresh=True)
