"""Shared ARM helpers for the sandbox tests: scenario ids, scopes, request builders, clients.

The plain helpers are imported like ``from tests.sandbox.conftest import RG, vault_scope``;
the fixtures are picked up by pytest. The ARM management SDKs are imported where they are
used, so collecting the sandbox tests does not import them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from tests.conftest import VAULT

if TYPE_CHECKING:
    from azure.mgmt.authorization import AuthorizationManagementClient
    from azure.mgmt.authorization.models import RoleAssignmentCreateParameters
    from azure.mgmt.keyvault import KeyVaultManagementClient
    from azure.mgmt.keyvault.models import VaultAccessPolicyParameters


RG = "rg-airflow"
TENANT_ID = "5f0c6e2a-3b1d-4c8e-9a7f-0d2b4e6f8a10"
BACKEND_OID = "9a1c3e5f-7b2d-4f6a-8c0e-2d4f6b8a0c53"
# Built-in role definition ids (azure-wire.md section 4).
ROLE = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Key Vault Reader": "21090545-7ca7-4776-b22c-e363652d74d2",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Key Vault Contributor": "f25e0fa2-a7c8-4377-a976-54943a77a395",
}


# -- scopes --------------------------------------------------------------------------------
def subscription() -> str:
    return os.environ["AZURE_SUBSCRIPTION_ID"]


def rg_scope() -> str:
    return f"/subscriptions/{subscription()}/resourceGroups/{RG}"


def vault_scope(name: str = VAULT) -> str:
    return f"{rg_scope()}/providers/Microsoft.KeyVault/vaults/{name}"


# -- request bodies ------------------------------------------------------------------------
def role_definition_id(role_guid: str) -> str:
    return (
        f"/subscriptions/{subscription()}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{role_guid}"
    )


def assignment(role_guid: str, principal: str) -> RoleAssignmentCreateParameters:
    from azure.mgmt.authorization.models import RoleAssignmentCreateParameters

    return RoleAssignmentCreateParameters(
        role_definition_id=role_definition_id(role_guid),
        principal_id=principal,
        principal_type="ServicePrincipal",
    )


def policy_update(object_id: str, *secrets: str) -> VaultAccessPolicyParameters:
    """One access-policy entry granting ``secrets`` permissions, for update_access_policy."""
    from azure.mgmt.keyvault.models import (
        AccessPolicyEntry,
        Permissions,
        VaultAccessPolicyParameters,
        VaultAccessPolicyProperties,
    )

    return VaultAccessPolicyParameters(
        properties=VaultAccessPolicyProperties(
            access_policies=[
                AccessPolicyEntry(
                    tenant_id=TENANT_ID,
                    object_id=object_id,
                    permissions=Permissions(secrets=list(secrets)),
                )
            ]
        )
    )


# -- management clients --------------------------------------------------------------------
@pytest.fixture
def admin_kv(akv_sandbox, admin_credential) -> KeyVaultManagementClient:
    from azure.mgmt.keyvault import KeyVaultManagementClient

    return KeyVaultManagementClient(admin_credential, subscription())


@pytest.fixture
def admin_auth(akv_sandbox, admin_credential) -> AuthorizationManagementClient:
    from azure.mgmt.authorization import AuthorizationManagementClient

    return AuthorizationManagementClient(admin_credential, subscription())
