"""The ARM sliver as the real management SDKs see it.

Every call goes through the unmodified azure-mgmt-keyvault / azure-mgmt-authorization
clients (or raw ``requests`` for the wire-level cases), through the sandbox proxy.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import TYPE_CHECKING

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.secrets import SecretClient

from tests.conftest import POLICY_VAULT, SAMPLE, VAULT, vault_url
from tests.sandbox.conftest import (
    BACKEND_OID,
    RG,
    ROLE,
    TENANT_ID,
    assignment,
    policy_update,
    role_definition_id,
    subscription,
    vault_scope,
)

if TYPE_CHECKING:
    from azure.mgmt.authorization import AuthorizationManagementClient

BACKEND_APP_ID = "3c9e1f7a-2d4b-4a6c-8e0f-5b7d9f1a3c42"
ADMIN_OID = "b4d6f8a0-2c4e-4a6b-8d0f-4f6a8c0e2a75"
SECRETS_OFFICER = ROLE["Key Vault Secrets Officer"]
SECRETS_USER = ROLE["Key Vault Secrets User"]
READER = ROLE["Reader"]
ARM = "https://management.azure.com"


# -- helpers -------------------------------------------------------------------------------
def claims_of(credential, scope: str) -> dict:
    """The (unverified) payload of an access token, as a user would decode it with jwt.ms."""
    payload = credential.get_token(scope).token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture
def backend_auth(akv_sandbox, backend_credential) -> AuthorizationManagementClient:
    from azure.mgmt.authorization import AuthorizationManagementClient

    return AuthorizationManagementClient(backend_credential, subscription())


# -- vaults --------------------------------------------------------------------------------
def test_get_rbac_vault_reports_uri_and_permission_model(admin_kv):
    vault = admin_kv.vaults.get(RG, VAULT)

    assert vault.id == vault_scope()
    assert vault.name == VAULT
    assert vault.type == "Microsoft.KeyVault/vaults"
    assert vault.properties.vault_uri == vault_url()
    assert vault.properties.enable_rbac_authorization is True
    assert vault.properties.tenant_id == TENANT_ID
    assert vault.properties.access_policies == []
    assert vault.properties.enable_soft_delete is True
    assert vault.properties.network_acls.default_action == "Allow"


def test_get_access_policy_vault_lists_its_policies_by_object_id(admin_kv):
    vault = admin_kv.vaults.get(RG, POLICY_VAULT)

    assert vault.properties.enable_rbac_authorization is False
    policies = {p.object_id: p for p in vault.properties.access_policies}
    assert set(policies) == {BACKEND_OID, ADMIN_OID}
    assert sorted(policies[BACKEND_OID].permissions.secrets) == ["get", "list"]
    assert policies[BACKEND_OID].tenant_id == TENANT_ID


def test_list_vaults_by_subscription_and_by_resource_group(admin_kv):
    by_sub = {v.name for v in admin_kv.vaults.list_by_subscription()}
    by_rg = {v.name for v in admin_kv.vaults.list_by_resource_group(RG)}

    assert by_sub == by_rg == {VAULT, POLICY_VAULT}


def test_list_vaults_through_the_generic_resources_endpoint(admin_kv):
    found = {(r.name, r.type) for r in admin_kv.vaults.list()}

    assert found == {
        (VAULT, "Microsoft.KeyVault/vaults"),
        (POLICY_VAULT, "Microsoft.KeyVault/vaults"),
    }


def test_get_unknown_vault_is_resource_not_found(admin_kv):
    with pytest.raises(ResourceNotFoundError) as caught:
        admin_kv.vaults.get(RG, "no-such-kv")

    assert caught.value.status_code == 404
    assert caught.value.error.code == "ResourceNotFound"
    assert "Microsoft.KeyVault/vaults/no-such-kv" in caught.value.error.message


def test_group_owner_asking_outside_its_group_gets_authorization_failed(admin_kv):
    # admin owns rg-airflow only; ARM authorizes before looking anything up.
    with pytest.raises(HttpResponseError) as caught:
        admin_kv.vaults.get("rg-missing", VAULT)

    assert caught.value.status_code == 403
    assert caught.value.error.code == "AuthorizationFailed"


def test_backend_without_management_role_cannot_read_the_vault(akv_sandbox, backend_credential):
    from azure.mgmt.keyvault import KeyVaultManagementClient

    client = KeyVaultManagementClient(backend_credential, subscription())

    with pytest.raises(HttpResponseError) as caught:
        client.vaults.get(RG, VAULT)

    assert caught.value.status_code == 403
    assert caught.value.error.code == "AuthorizationFailed"
    assert "Microsoft.KeyVault/vaults/read" in caught.value.error.message


def test_backend_without_management_role_gets_403_not_404_for_a_missing_vault(
    akv_sandbox, backend_credential
):
    # ARM authorizes before it looks the resource up: no existence leak to outsiders.
    from azure.mgmt.keyvault import KeyVaultManagementClient

    client = KeyVaultManagementClient(backend_credential, subscription())

    with pytest.raises(HttpResponseError) as caught:
        client.vaults.get(RG, "no-such-kv")

    assert caught.value.status_code == 403
    assert caught.value.error.code == "AuthorizationFailed"


def test_backend_without_any_management_role_cannot_list_vaults(akv_sandbox, backend_credential):
    from azure.mgmt.keyvault import KeyVaultManagementClient

    client = KeyVaultManagementClient(backend_credential, subscription())

    with pytest.raises(HttpResponseError) as caught:
        list(client.vaults.list_by_resource_group(RG))

    assert caught.value.status_code == 403
    assert caught.value.error.code == "AuthorizationFailed"


def test_vault_list_is_filtered_to_what_a_partial_reader_can_see(
    akv_sandbox, admin_auth, backend_credential
):
    from azure.mgmt.keyvault import KeyVaultManagementClient

    admin_auth.role_assignments.create(
        vault_scope(POLICY_VAULT), str(uuid.uuid4()), assignment(READER, BACKEND_OID)
    )
    client = KeyVaultManagementClient(backend_credential, subscription())

    assert [v.name for v in client.vaults.list_by_subscription()] == [POLICY_VAULT]
    assert [v.name for v in client.vaults.list_by_resource_group(RG)] == [POLICY_VAULT]


# -- access policies -----------------------------------------------------------------------
def backend_policy(admin_kv) -> list[str] | None:
    vault = admin_kv.vaults.get(RG, POLICY_VAULT)
    for p in vault.properties.access_policies:
        if p.object_id == BACKEND_OID:
            return sorted(p.permissions.secrets)
    return None


def test_update_access_policy_remove_add_and_replace(admin_kv):
    removed = admin_kv.vaults.update_access_policy(
        RG, POLICY_VAULT, "remove", policy_update(BACKEND_OID, "list")
    )
    assert removed.properties.access_policies is not None
    assert backend_policy(admin_kv) == ["get"]

    admin_kv.vaults.update_access_policy(RG, POLICY_VAULT, "add", policy_update(BACKEND_OID, "set"))
    assert backend_policy(admin_kv) == ["get", "set"]

    admin_kv.vaults.update_access_policy(
        RG, POLICY_VAULT, "replace", policy_update(BACKEND_OID, "list")
    )
    assert backend_policy(admin_kv) == ["list"]

    admin_kv.vaults.update_access_policy(
        RG, POLICY_VAULT, "remove", policy_update(BACKEND_OID, "list")
    )
    assert backend_policy(admin_kv) is None


def test_access_policy_added_through_arm_takes_effect_on_the_data_plane(
    admin_kv, backend_credential
):
    secrets = SecretClient(vault_url(POLICY_VAULT), backend_credential)
    admin_kv.vaults.update_access_policy(
        RG, POLICY_VAULT, "remove", policy_update(BACKEND_OID, "get")
    )
    with pytest.raises(HttpResponseError) as caught:
        secrets.get_secret(SAMPLE)
    assert caught.value.response.json()["error"]["innererror"]["code"] == "ForbiddenByPolicy"

    admin_kv.vaults.update_access_policy(RG, POLICY_VAULT, "add", policy_update(BACKEND_OID, "get"))

    assert secrets.get_secret(SAMPLE).value


def test_backend_cannot_edit_access_policies(akv_sandbox, backend_credential):
    from azure.mgmt.keyvault import KeyVaultManagementClient

    client = KeyVaultManagementClient(backend_credential, subscription())

    with pytest.raises(HttpResponseError) as caught:
        client.vaults.update_access_policy(
            RG, POLICY_VAULT, "add", policy_update(BACKEND_OID, "set")
        )

    assert caught.value.status_code == 403
    assert "Microsoft.KeyVault/vaults/accessPolicies/write" in caught.value.error.message


# -- role assignments ----------------------------------------------------------------------
def test_role_assignment_create_get_list_and_delete(admin_auth):
    name = str(uuid.uuid4())

    created = admin_auth.role_assignments.create(
        vault_scope(), name, assignment(SECRETS_OFFICER, BACKEND_OID)
    )
    assert created.name == name
    assert created.scope == vault_scope()
    assert created.id == f"{vault_scope()}/providers/Microsoft.Authorization/roleAssignments/{name}"
    assert created.role_definition_id == role_definition_id(SECRETS_OFFICER)
    assert created.principal_id == BACKEND_OID
    assert created.principal_type == "ServicePrincipal"
    assert created.created_by == ADMIN_OID

    fetched = admin_auth.role_assignments.get(vault_scope(), name)
    assert fetched.as_dict() == created.as_dict()

    mine = admin_auth.role_assignments.list_for_scope(
        vault_scope(), filter=f"principalId eq '{BACKEND_OID}'"
    )
    assert {a.role_definition_id.rsplit("/", 1)[-1] for a in mine} == {
        SECRETS_USER,
        SECRETS_OFFICER,
    }

    deleted = admin_auth.role_assignments.delete(vault_scope(), name)
    assert deleted is not None and deleted.name == name
    with pytest.raises(ResourceNotFoundError) as caught:
        admin_auth.role_assignments.get(vault_scope(), name)
    assert caught.value.error.code == "RoleAssignmentNotFound"


def test_deleting_a_missing_role_assignment_is_a_no_op(admin_auth):
    assert admin_auth.role_assignments.delete(vault_scope(), str(uuid.uuid4())) is None


def test_list_at_scope_includes_inherited_but_not_child_assignments(admin_auth):
    rg_scope = f"/subscriptions/{subscription()}/resourceGroups/{RG}"

    at_vault = admin_auth.role_assignments.list_for_scope(vault_scope(), filter="atScope()")
    at_rg = admin_auth.role_assignments.list_for_scope(rg_scope, filter="atScope()")
    everything_in_rg = admin_auth.role_assignments.list_for_scope(rg_scope)

    # vault level: the 5 vault assignments (3 + the managed and the workload identity's,
    # issue 12) + admin's Owner inherited from the group
    assert sorted(a.scope for a in at_vault) == [rg_scope] + [vault_scope()] * 5
    assert [a.scope for a in at_rg] == [rg_scope]
    assert len(list(everything_in_rg)) == 6


def test_list_filtered_by_principal_id(admin_auth):
    backend = list(
        admin_auth.role_assignments.list_for_scope(
            vault_scope(), filter=f"atScope() and principalId eq '{BACKEND_OID}'"
        )
    )
    admin = list(
        admin_auth.role_assignments.list_for_scope(
            vault_scope(), filter=f"assignedTo('{ADMIN_OID}')"
        )
    )

    assert [a.role_definition_id for a in backend] == [role_definition_id(SECRETS_USER)]
    assert len(admin) == 3 and {a.principal_id for a in admin} == {ADMIN_OID}


def test_list_for_resource_group_and_for_resource_routes(admin_auth):
    ops = admin_auth.role_assignments
    for_rg = list(ops.list_for_resource_group(RG))
    for_vault = list(
        ops.list_for_resource(RG, "Microsoft.KeyVault", "vaults", VAULT, filter="atScope()")
    )

    assert len(for_rg) == len(for_vault) == 6


def test_creating_the_same_assignment_twice_is_role_assignment_exists(admin_auth):
    admin_auth.role_assignments.create(
        vault_scope(), str(uuid.uuid4()), assignment(SECRETS_OFFICER, BACKEND_OID)
    )

    with pytest.raises(ResourceExistsError) as caught:
        admin_auth.role_assignments.create(
            vault_scope(), str(uuid.uuid4()), assignment(SECRETS_OFFICER, BACKEND_OID)
        )

    assert caught.value.status_code == 409
    assert caught.value.error.code == "RoleAssignmentExists"


def test_putting_the_same_assignment_name_again_is_idempotent(admin_auth):
    name = str(uuid.uuid4())
    first = admin_auth.role_assignments.create(
        vault_scope(), name, assignment(SECRETS_OFFICER, BACKEND_OID)
    )
    again = admin_auth.role_assignments.create(
        vault_scope(), name, assignment(SECRETS_OFFICER, BACKEND_OID)
    )

    assert again.id == first.id


def test_reusing_an_assignment_name_for_another_grant_is_update_not_permitted(admin_auth):
    name = str(uuid.uuid4())
    admin_auth.role_assignments.create(
        vault_scope(), name, assignment(SECRETS_OFFICER, BACKEND_OID)
    )

    with pytest.raises(HttpResponseError) as caught:
        admin_auth.role_assignments.create(vault_scope(), name, assignment(READER, BACKEND_OID))

    assert caught.value.status_code == 409
    assert caught.value.error.code == "RoleAssignmentUpdateNotPermitted"


def test_backend_without_management_role_cannot_create_assignments(backend_auth):
    with pytest.raises(HttpResponseError) as caught:
        backend_auth.role_assignments.create(
            vault_scope(), str(uuid.uuid4()), assignment(SECRETS_OFFICER, BACKEND_OID)
        )

    err = caught.value
    assert err.status_code == 403
    assert err.error.code == "AuthorizationFailed"
    assert "Microsoft.Authorization/roleAssignments/write" in err.error.message
    assert f"object id '{BACKEND_OID}'" in err.error.message
    assert f"The client '{BACKEND_APP_ID}'" in err.error.message


def test_backend_without_management_role_cannot_list_assignments(backend_auth):
    with pytest.raises(HttpResponseError) as caught:
        list(backend_auth.role_assignments.list_for_scope(vault_scope()))

    assert caught.value.status_code == 403
    assert "Microsoft.Authorization/roleAssignments/read" in caught.value.error.message


def test_admin_owns_only_the_resource_group_not_the_subscription(admin_auth):
    with pytest.raises(HttpResponseError) as caught:
        admin_auth.role_assignments.create(
            f"/subscriptions/{subscription()}",
            str(uuid.uuid4()),
            assignment(SECRETS_USER, BACKEND_OID),
        )

    assert caught.value.status_code == 403
    assert caught.value.error.code == "AuthorizationFailed"


def test_client_id_passed_as_principal_id_is_principal_not_found(admin_auth):
    # The classic mistake: the app (client) id instead of the service principal's object id.
    with pytest.raises(HttpResponseError) as caught:
        admin_auth.role_assignments.create(
            vault_scope(), str(uuid.uuid4()), assignment(SECRETS_USER, BACKEND_APP_ID)
        )

    err = caught.value
    assert err.status_code == 400
    assert err.error.code == "PrincipalNotFound"
    assert BACKEND_APP_ID.replace("-", "") in err.error.message
    assert TENANT_ID in err.error.message


def test_unknown_role_definition_is_rejected(admin_auth):
    with pytest.raises(HttpResponseError) as caught:
        admin_auth.role_assignments.create(
            vault_scope(), str(uuid.uuid4()), assignment(str(uuid.uuid4()), BACKEND_OID)
        )

    assert caught.value.status_code == 400
    assert caught.value.error.code == "RoleDefinitionDoesNotExist"


def test_assignment_at_an_unknown_vault_scope_is_not_found(admin_auth):
    with pytest.raises(ResourceNotFoundError):
        admin_auth.role_assignments.create(
            vault_scope("no-such-kv"), str(uuid.uuid4()), assignment(SECRETS_USER, BACKEND_OID)
        )


def test_role_definitions_resolve_built_in_names(admin_auth):
    found = list(
        admin_auth.role_definitions.list(
            vault_scope(), filter="roleName eq 'Key Vault Secrets User'"
        )
    )

    assert [d.name for d in found] == [SECRETS_USER]
    assert found[0].role_name == "Key Vault Secrets User"
    assert found[0].permissions[0].data_actions
    assert admin_auth.role_definitions.get(vault_scope(), SECRETS_USER).role_name == (
        "Key Vault Secrets User"
    )


# -- authentication on the wire ------------------------------------------------------------
def test_token_carries_the_object_id_that_role_assignments_need(akv_sandbox, backend_credential):
    claims = claims_of(backend_credential, f"{ARM}/.default")

    assert claims["oid"] == BACKEND_OID
    assert claims["appid"] == BACKEND_APP_ID
    assert claims["oid"] != claims["appid"]
    assert claims["aud"] == f"{ARM}/"
    assert claims["tid"] == TENANT_ID


def test_request_without_token_is_401_authentication_failed(akv_sandbox):
    response = requests.get(f"{ARM}{vault_scope()}?api-version=2023-07-01", timeout=10)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AuthenticationFailed"
    assert response.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")


def test_vault_token_sent_to_arm_is_wrong_audience(akv_sandbox, admin_credential):
    token = admin_credential.get_token("https://vault.azure.net/.default").token

    response = requests.get(
        f"{ARM}{vault_scope()}?api-version=2023-07-01",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"


def test_forged_token_is_rejected(akv_sandbox):
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').decode().rstrip("=")
    body = base64.urlsafe_b64encode(json.dumps({"oid": ADMIN_OID}).encode()).decode().rstrip("=")

    response = requests.get(
        f"{ARM}{vault_scope()}?api-version=2023-07-01",
        headers={"Authorization": f"Bearer {header}.{body}."},
        timeout=10,
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_missing_api_version_is_rejected(akv_sandbox, admin_credential):
    token = admin_credential.get_token(f"{ARM}/.default").token

    response = requests.get(
        f"{ARM}{vault_scope()}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MissingApiVersionParameter"


def test_unknown_subscription_is_subscription_not_found(akv_sandbox, admin_credential):
    from azure.mgmt.keyvault import KeyVaultManagementClient

    client = KeyVaultManagementClient(admin_credential, str(uuid.uuid4()))

    with pytest.raises(ResourceNotFoundError) as caught:
        client.vaults.get(RG, VAULT)

    assert caught.value.error.code == "SubscriptionNotFound"
