"""The grant as commands to copy: az CLI, PowerShell, Bicep and Terraform.

RBAC vaults get a role assignment at the vault's resource id; access-policy vaults get a
policy with secret ``get`` and ``list``. Every value is quoted for its language.
"""

from __future__ import annotations

import re
import shlex

from helpers.roles.model import (
    PermissionModel,
    is_guid,
    parse_vault_resource_id,
    role_id,
    role_name,
    vault_name_from_url,
)
from helpers.roles.privilege import LEAST_PRIVILEGE_ROLE, POLICY_PERMISSIONS
from helpers.settings import Settings

__all__ = ["grant_commands"]


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
    tenant = settings.tenant_id if is_guid(settings.tenant_id) else ""
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
