"""Who may read secrets: RBAC roles granted through ARM and access policies.

The acceptance flow: a principal without a data-plane role gets 403 ForbiddenByRbac; once
an admin grants "Key Vault Secrets User" through the real azure-mgmt-authorization client
the same read succeeds; after the assignment is deleted it fails again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.secrets import SecretClient

from helpers.sandbox import Sandbox
from helpers.sandbox.scenario import default_scenario_path
from tests.conftest import POLICY_VAULT, SAMPLE, VAULT, credential_for, vault_url
from tests.sandbox.conftest import (
    BACKEND_OID,
    RG,
    ROLE,
    assignment,
    policy_update,
    rg_scope,
    subscription,
    vault_scope,
)

if TYPE_CHECKING:
    from azure.mgmt.authorization import AuthorizationManagementClient


# -- helpers -------------------------------------------------------------------------------
def grant(auth: AuthorizationManagementClient, role: str, scope: str, principal=BACKEND_OID):
    """What `az role assignment create --role <role> --assignee-object-id <oid>` sends."""
    return auth.role_assignments.create(scope, str(uuid.uuid4()), assignment(ROLE[role], principal))


def revoke_all(auth: AuthorizationManagementClient, scope: str, principal=BACKEND_OID) -> int:
    """Delete every assignment of a principal visible from a scope; returns how many."""
    found = list(
        auth.role_assignments.list_for_scope(scope, filter=f"principalId eq '{principal}'")
    )
    for a in found:
        auth.role_assignments.delete(a.scope, a.name)
    return len(found)


def inner_code(err: HttpResponseError) -> str | None:
    return (err.response.json()["error"].get("innererror") or {}).get("code")


def forbidden(call) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as caught:
        call()
    assert caught.value.status_code == 403
    return caught.value


@pytest.fixture
def roleless_backend(admin_auth, backend_credential) -> SecretClient:
    """The backend's SecretClient after its scenario role was deleted through ARM."""
    assert revoke_all(admin_auth, vault_scope()) == 1
    return SecretClient(vault_url(), backend_credential)


# -- the acceptance flow -------------------------------------------------------------------
def test_principal_without_role_gets_forbidden_by_rbac(roleless_backend):
    err = forbidden(lambda: roleless_backend.get_secret(SAMPLE))

    assert err.error.code == "Forbidden"
    assert inner_code(err) == "ForbiddenByRbac"
    message = err.response.json()["error"]["message"]
    assert "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'" in message
    assert f"oid={BACKEND_OID}" in message
    assert "DecisionReason: 'DeniedWithNoValidRBAC'" in message
    assert "Retry-After" not in err.response.headers


def test_grant_secrets_user_through_arm_then_revoke(admin_auth, roleless_backend):
    forbidden(lambda: roleless_backend.get_secret(SAMPLE))

    created = grant(admin_auth, "Key Vault Secrets User", vault_scope())
    assert roleless_backend.get_secret(SAMPLE).value == (
        "sandbox sample value, read through Key Vault"
    )

    admin_auth.role_assignments.delete(vault_scope(), created.name)
    # Same client, same cached token: the decision is made per request, not per token.
    err = forbidden(lambda: roleless_backend.get_secret(SAMPLE))
    assert inner_code(err) == "ForbiddenByRbac"


def test_grant_found_by_role_name_like_the_cli_does(admin_auth, roleless_backend):
    from azure.mgmt.authorization.models import RoleAssignmentCreateParameters

    definition = next(
        iter(
            admin_auth.role_definitions.list(
                vault_scope(), filter="roleName eq 'Key Vault Secrets User'"
            )
        )
    )
    admin_auth.role_assignments.create(
        vault_scope(),
        str(uuid.uuid4()),
        RoleAssignmentCreateParameters(role_definition_id=definition.id, principal_id=BACKEND_OID),
    )

    assert roleless_backend.get_secret(SAMPLE).value


# -- what each role grants on the data plane -----------------------------------------------
@pytest.mark.parametrize("role", ["Key Vault Contributor", "Owner"])
def test_management_roles_grant_no_secret_access(admin_auth, roleless_backend, role):
    grant(admin_auth, role, vault_scope())

    err = forbidden(lambda: roleless_backend.get_secret(SAMPLE))
    assert inner_code(err) == "ForbiddenByRbac"
    err = forbidden(lambda: list(roleless_backend.list_properties_of_secrets()))
    assert inner_code(err) == "ForbiddenByRbac"


def test_owner_can_grant_itself_data_access(akv_sandbox, admin_auth, backend_credential):
    from azure.mgmt.authorization import AuthorizationManagementClient

    revoke_all(admin_auth, vault_scope())
    grant(admin_auth, "Owner", vault_scope())
    secrets = SecretClient(vault_url(), backend_credential)
    forbidden(lambda: secrets.get_secret(SAMPLE))

    own_auth = AuthorizationManagementClient(backend_credential, subscription())
    grant(own_auth, "Key Vault Secrets User", vault_scope())

    assert secrets.get_secret(SAMPLE).value


def test_key_vault_reader_lists_names_but_cannot_read_values(admin_auth, roleless_backend):
    grant(admin_auth, "Key Vault Reader", vault_scope())

    names = {p.name for p in roleless_backend.list_properties_of_secrets()}
    assert SAMPLE in names
    assert len(list(roleless_backend.list_properties_of_secret_versions(SAMPLE))) == 1
    err = forbidden(lambda: roleless_backend.get_secret(SAMPLE))
    assert inner_code(err) == "ForbiddenByRbac"


def test_secrets_user_reads_but_cannot_write(akv_sandbox, backend_credential):
    secrets = SecretClient(vault_url(), backend_credential)

    assert secrets.get_secret(SAMPLE).value
    err = forbidden(lambda: secrets.set_secret("written-by-backend", "x"))
    assert inner_code(err) == "ForbiddenByRbac"
    assert "secrets/setSecret/action" in err.response.json()["error"]["message"]
    err = forbidden(lambda: secrets.begin_delete_secret(SAMPLE))
    assert inner_code(err) == "ForbiddenByRbac"


def test_secrets_officer_can_write_and_read(admin_auth, roleless_backend):
    grant(admin_auth, "Key Vault Secrets Officer", vault_scope())

    roleless_backend.set_secret("written-by-backend", "officer value")

    assert roleless_backend.get_secret("written-by-backend").value == "officer value"


def test_key_vault_administrator_can_write_and_read(admin_auth, roleless_backend):
    grant(admin_auth, "Key Vault Administrator", vault_scope())

    roleless_backend.set_secret("written-by-backend", "admin value")

    assert roleless_backend.get_secret("written-by-backend").value == "admin value"


# -- scope inheritance ---------------------------------------------------------------------
def test_role_at_resource_group_scope_covers_the_vault(admin_auth, roleless_backend):
    grant(admin_auth, "Key Vault Secrets User", rg_scope())

    assert roleless_backend.get_secret(SAMPLE).value


def test_role_on_another_vault_does_not_cover_this_one(admin_auth, roleless_backend):
    grant(admin_auth, "Key Vault Secrets User", vault_scope(POLICY_VAULT))

    err = forbidden(lambda: roleless_backend.get_secret(SAMPLE))
    assert inner_code(err) == "ForbiddenByRbac"


def subscription_owner_scenario(tmp_path: Path) -> Path:
    """The default scenario, plus: admin is Owner of the whole subscription."""
    data = yaml.safe_load(default_scenario_path().read_text(encoding="utf-8"))
    data["role_assignments"].append(
        {"principal": "admin", "role": "Owner", "scope": "subscription"}
    )
    path = tmp_path / "subscription-owner.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def subscription_owner_sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(
        scenario=subscription_owner_scenario(tmp_path), state_dir=tmp_path / "state", ephemeral=True
    ) as sandbox:
        yield sandbox


def test_role_at_subscription_scope_covers_the_vault(subscription_owner_sandbox):
    from azure.mgmt.authorization import AuthorizationManagementClient

    admin = AuthorizationManagementClient(
        credential_for(subscription_owner_sandbox, "admin"), subscription()
    )
    revoke_all(admin, vault_scope())
    secrets = SecretClient(
        vault_url(), credential_for(subscription_owner_sandbox, "airflow-backend")
    )
    forbidden(lambda: secrets.get_secret(SAMPLE))

    grant(admin, "Key Vault Secrets User", f"/subscriptions/{subscription()}")

    assert secrets.get_secret(SAMPLE).value


def test_subscription_owner_sees_resource_group_not_found(subscription_owner_sandbox):
    from azure.mgmt.keyvault import KeyVaultManagementClient

    admin = KeyVaultManagementClient(
        credential_for(subscription_owner_sandbox, "admin"), subscription()
    )

    with pytest.raises(ResourceNotFoundError) as caught:
        admin.vaults.get("rg-missing", VAULT)

    assert caught.value.error.code == "ResourceGroupNotFound"


# -- propagation delay ---------------------------------------------------------------------
def test_new_grant_is_forbidden_until_it_has_propagated(akv_sandbox, admin_auth, roleless_backend):
    akv_sandbox.client.set_propagation_delay(1)
    grant(admin_auth, "Key Vault Secrets User", vault_scope())

    err = forbidden(lambda: roleless_backend.get_secret(SAMPLE))
    assert inner_code(err) == "ForbiddenByRbac"
    assert "observe propagation time" in err.response.json()["error"]["message"]

    time.sleep(1.1)
    assert roleless_backend.get_secret(SAMPLE).value


def test_reset_clears_the_propagation_delay(akv_sandbox, admin_auth, roleless_backend):
    akv_sandbox.client.set_propagation_delay(30)
    akv_sandbox.client.reset()
    assert akv_sandbox.client.status()["propagation_delay"] == 0

    revoke_all(admin_auth, vault_scope())
    grant(admin_auth, "Key Vault Secrets User", vault_scope())
    assert roleless_backend.get_secret(SAMPLE).value


def test_reset_restores_the_scenario_role_assignments(akv_sandbox, admin_auth, roleless_backend):
    forbidden(lambda: roleless_backend.get_secret(SAMPLE))

    akv_sandbox.client.reset()

    assert roleless_backend.get_secret(SAMPLE).value


# -- access-policy vaults ------------------------------------------------------------------
def test_access_policy_vault_without_get_is_forbidden_by_policy(admin_kv, backend_credential):
    secrets = SecretClient(vault_url(POLICY_VAULT), backend_credential)
    assert secrets.get_secret(SAMPLE).value

    admin_kv.vaults.update_access_policy(
        RG, POLICY_VAULT, "remove", policy_update(BACKEND_OID, "get")
    )

    err = forbidden(lambda: secrets.get_secret(SAMPLE))
    assert err.error.code == "Forbidden"
    assert inner_code(err) == "ForbiddenByPolicy"
    assert "does not have secrets get permission on key vault" in err.error.message
    # 'list' was kept, so listing still works.
    assert SAMPLE in {p.name for p in secrets.list_properties_of_secrets()}


def test_access_policy_added_through_arm_grants_get(admin_kv, backend_credential):
    admin_kv.vaults.update_access_policy(
        RG, POLICY_VAULT, "remove", policy_update(BACKEND_OID, "get")
    )
    secrets = SecretClient(vault_url(POLICY_VAULT), backend_credential)
    forbidden(lambda: secrets.get_secret(SAMPLE))

    admin_kv.vaults.update_access_policy(RG, POLICY_VAULT, "add", policy_update(BACKEND_OID, "get"))

    assert secrets.get_secret(SAMPLE).value


def test_access_policy_vault_ignores_rbac_data_roles(admin_kv, admin_auth, backend_credential):
    admin_kv.vaults.update_access_policy(
        RG, POLICY_VAULT, "remove", policy_update(BACKEND_OID, "get")
    )
    grant(admin_auth, "Key Vault Secrets User", vault_scope(POLICY_VAULT))
    secrets = SecretClient(vault_url(POLICY_VAULT), backend_credential)

    err = forbidden(lambda: secrets.get_secret(SAMPLE))
    assert inner_code(err) == "ForbiddenByPolicy"


def test_rbac_vault_ignores_access_policies(admin_kv, roleless_backend):
    admin_kv.vaults.update_access_policy(
        RG, VAULT, "add", policy_update(BACKEND_OID, "get", "list")
    )

    err = forbidden(lambda: roleless_backend.get_secret(SAMPLE))
    assert inner_code(err) == "ForbiddenByRbac"


def test_key_vault_contributor_can_grant_itself_access_on_a_policy_vault(
    admin_kv, admin_auth, backend_credential
):
    from azure.mgmt.keyvault import KeyVaultManagementClient

    admin_kv.vaults.update_access_policy(
        RG, POLICY_VAULT, "remove", policy_update(BACKEND_OID, "get")
    )
    grant(admin_auth, "Key Vault Contributor", vault_scope(POLICY_VAULT))
    secrets = SecretClient(vault_url(POLICY_VAULT), backend_credential)
    forbidden(lambda: secrets.get_secret(SAMPLE))

    own_kv = KeyVaultManagementClient(backend_credential, subscription())
    own_kv.vaults.update_access_policy(RG, POLICY_VAULT, "add", policy_update(BACKEND_OID, "get"))

    assert secrets.get_secret(SAMPLE).value
