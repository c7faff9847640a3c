"""Role grants: commands for both permission models, and the live flow against the sandbox:
ForbiddenByRbac -> grant through ARM as the operator -> wait (with progress) -> reads work."""

from __future__ import annotations

import os
import shlex
import uuid

import pytest

from helpers import roles
from helpers.cli import progress as cli_progress
from helpers.probe import probe, wait_for_access
from helpers.roles import (
    PermissionModel,
    find_vault,
    grant_commands,
    perform_grant,
)
from helpers.settings import Settings
from tests.conftest import POLICY_VAULT, credential_for, vault_url
from tests.sandbox.conftest import (
    BACKEND_OID,
    RG,
    TENANT_ID,
    policy_update,
    subscription,
    vault_scope,
)
from tests.test_probes import BACKEND_APP_ID, backend_settings, codes, revoke_backend_roles

SCOPE = (
    "/subscriptions/7d3a9c1e-5b2f-4e6d-8c0a-1f3e5d7b9c21/resourceGroups/rg-airflow"
    "/providers/Microsoft.KeyVault/vaults/airflow-sandbox-kv"
)
OID = "9a1c3e5f-7b2d-4f6a-8c0e-2d4f6b8a0c53"
SECRETS_USER_ID = "4633458b-17de-408a-b874-0445c86b69e6"


def offline_settings() -> Settings:
    return Settings(
        vault_url="https://airflow-sandbox-kv.vault.azure.net/",
        tenant_id=TENANT_ID,
        client_id=BACKEND_APP_ID,
    )


# -- commands ------------------------------------------------------------------------------
def test_rbac_grant_commands_name_the_object_id_and_the_vault_scope():
    commands = grant_commands(
        offline_settings(), OID, model=PermissionModel.RBAC, vault_resource_id=SCOPE
    )

    assert set(commands) >= {"az", "powershell", "bicep", "terraform"}
    az = shlex.split(commands["az"])
    assert az[:4] == ["az", "role", "assignment", "create"]
    assert az[az.index("--role") + 1] == "Key Vault Secrets User"
    assert az[az.index("--assignee-object-id") + 1] == OID
    assert az[az.index("--scope") + 1] == SCOPE
    assert BACKEND_APP_ID not in commands["az"]
    assert commands["powershell"] == (
        f"New-AzRoleAssignment -ObjectId '{OID}' -RoleDefinitionName 'Key Vault Secrets User' "
        f"-Scope '{SCOPE}'"
    )
    assert "Microsoft.Authorization/roleAssignments@2022-04-01" in commands["bicep"]
    assert f"principalId: '{OID}'" in commands["bicep"]
    assert f"'{SECRETS_USER_ID}'" in commands["bicep"]
    assert "name: 'airflow-sandbox-kv'" in commands["bicep"]
    assert 'resource "azurerm_role_assignment"' in commands["terraform"]
    assert f'scope                = "{SCOPE}"' in commands["terraform"]
    assert f'principal_id         = "{OID}"' in commands["terraform"]
    assert "enableRbacAuthorization" in commands["check_model"]


def test_access_policy_grant_commands_set_get_and_list_for_the_object_id():
    commands = grant_commands(
        offline_settings(), OID, model="access_policy", vault_resource_id=SCOPE
    )

    az = shlex.split(commands["az"])
    assert az[:3] == ["az", "keyvault", "set-policy"]
    assert az[az.index("--name") + 1] == "airflow-sandbox-kv"
    assert az[az.index("--resource-group") + 1] == "rg-airflow"
    assert az[az.index("--object-id") + 1] == OID
    assert az[az.index("--secret-permissions") + 1 :] == ["get", "list"]
    assert "Set-AzKeyVaultAccessPolicy -VaultName 'airflow-sandbox-kv'" in commands["powershell"]
    assert f"-ObjectId '{OID}' -PermissionsToSecrets get,list" in commands["powershell"]
    assert "Microsoft.KeyVault/vaults/accessPolicies@2023-07-01" in commands["bicep"]
    assert f"tenantId: '{TENANT_ID}'" in commands["bicep"]
    assert "secrets: ['get', 'list']" in commands["bicep"]
    assert f'key_vault_id       = "{SCOPE}"' in commands["terraform"]
    assert f'object_id          = "{OID}"' in commands["terraform"]
    assert 'secret_permissions = ["Get", "List"]' in commands["terraform"]


def test_grant_commands_quote_hostile_input_and_survive_a_bad_scope():
    hostile = "x'; rm -rf / #"
    commands = grant_commands(offline_settings(), hostile, model="rbac", vault_resource_id="nope")

    az = shlex.split(commands["az"])
    assert az[az.index("--assignee-object-id") + 1] == hostile
    assert "-ObjectId 'x''; rm -rf / #'" in commands["powershell"]
    assert "<subscription-id>" in commands["az"]  # placeholders, never an exception


def test_access_policy_commands_fall_back_to_the_deployment_tenant_for_a_domain():
    settings = offline_settings()
    settings.tenant_id = "sandbox.onmicrosoft.com"

    commands = grant_commands(settings, OID, model="access_policy", vault_resource_id=SCOPE)

    assert "tenantId: subscription().tenantId" in commands["bicep"]
    assert "data.azurerm_client_config.current.tenant_id" in commands["terraform"]


# -- ARM lookups ---------------------------------------------------------------------------
def test_find_vault_as_admin_learns_resource_id_and_permission_model(akv_sandbox):
    admin = credential_for(akv_sandbox, "admin")

    rbac = find_vault(admin, subscription(), vault_url())
    policy = find_vault(admin, subscription(), vault_url(POLICY_VAULT))

    assert rbac.found and rbac.resource_id.endswith("/vaults/airflow-sandbox-kv")
    assert rbac.resource_group == RG
    assert rbac.permission_model is PermissionModel.RBAC
    assert policy.permission_model is PermissionModel.ACCESS_POLICY
    assert policy.access_policies[BACKEND_OID] == ["get", "list"]
    assert policy.tenant_id == TENANT_ID


def test_find_vault_as_the_backend_is_not_visible(akv_sandbox):
    info = find_vault(credential_for(akv_sandbox, "airflow-backend"), subscription(), vault_url())

    assert info.status == "not_visible"
    assert [f.code for f in info.findings] == ["AKV-ROLE-009"]


# -- the flow ------------------------------------------------------------------------------
def test_forbidden_by_rbac_then_grant_as_admin_then_access_works(akv_sandbox):
    revoke_backend_roles(akv_sandbox)
    settings = backend_settings()
    before = probe(settings, through_backend=False)
    assert "AKV-PERM-001" in codes(before)

    admin = credential_for(akv_sandbox, "admin")
    vault = find_vault(admin, subscription(), settings.vault_url)
    granted = perform_grant(
        admin, subscription(), vault.resource_id, before.claims["oid"], vault.permission_model
    )
    assert [f.code for f in granted] == ["AKV-ROLE-001"]
    assert granted[0].data["scope"] == vault.resource_id

    after = wait_for_access(settings, timeout=10, interval=0.2, progress=lambda *a: None)

    assert after[-1].code == "AKV-ROLE-007"
    assert [f.code for f in after].count("AKV-SECRET-001") == 3
    assert probe(settings).ok


def test_access_policy_grant_through_arm_restores_get(akv_sandbox):
    from azure.mgmt.keyvault import KeyVaultManagementClient

    admin = credential_for(akv_sandbox, "admin")
    KeyVaultManagementClient(admin, subscription()).vaults.update_access_policy(
        RG, POLICY_VAULT, "remove", policy_update(BACKEND_OID, "get", "list")
    )
    settings = backend_settings(POLICY_VAULT, connections=[])
    assert "AKV-PERM-002" in codes(probe(settings, through_backend=False))

    vault = find_vault(admin, subscription(), settings.vault_url)
    granted = perform_grant(admin, subscription(), vault.resource_id, BACKEND_OID, "access_policy")

    assert [f.code for f in granted] == ["AKV-ROLE-005"]
    assert wait_for_access(settings, timeout=5, interval=0.2, progress=print)[-1].code == (
        "AKV-ROLE-007"
    )


def test_propagation_delay_shows_progress_then_success(akv_sandbox):
    revoke_backend_roles(akv_sandbox)
    akv_sandbox.client.set_propagation_delay(2)
    admin = credential_for(akv_sandbox, "admin")
    perform_grant(admin, subscription(), vault_scope(), BACKEND_OID, "rbac")
    seen: list[tuple[int, float, str]] = []

    findings = wait_for_access(
        backend_settings(), timeout=15, interval=0.5, progress=lambda *a: seen.append(a)
    )

    assert findings[-1].code == "AKV-ROLE-007"
    assert len(seen) >= 2
    assert seen[0][0] == 1 and seen[0][2].startswith("AKV-PERM-001")
    assert seen[-1][2] == "access in effect"
    assert seen[-1][1] >= 1.5  # it really waited for the propagation delay
    assert [a for a, _, _ in seen] == list(range(1, len(seen) + 1))


def test_the_cli_wait_bar_draws_on_stderr(akv_sandbox, capsys):
    report, bar = cli_progress.wait_progress(5)
    try:
        findings = wait_for_access(backend_settings(), timeout=5, interval=0.2, progress=report)
    finally:
        bar.close()

    assert findings[-1].code == "AKV-ROLE-007"
    assert "waiting for access" in capsys.readouterr().err


def test_wait_gives_up_after_the_timeout_AKV_ROLE_008(akv_sandbox):
    revoke_backend_roles(akv_sandbox)

    findings = wait_for_access(backend_settings(), timeout=0.6, interval=0.2, progress=None)

    assert findings[-1].code == "AKV-ROLE-008"
    assert "AKV-PERM-001" in [f.code for f in findings]


def test_wait_stops_at_once_when_the_problem_is_not_permission_AKV_ROLE_013(akv_sandbox):
    environ = dict(os.environ, AZURE_CLIENT_SECRET="wrong")
    calls = []

    findings = wait_for_access(
        backend_settings(), environ=environ, timeout=30, progress=lambda *a: calls.append(a)
    )

    assert findings[-1].code == "AKV-ROLE-013"
    assert "AKV-AUTH-003" in [f.code for f in findings]
    assert len(calls) == 1


# -- refusals ------------------------------------------------------------------------------
def test_backend_cannot_grant_itself_AKV_ROLE_003(akv_sandbox):
    backend = credential_for(akv_sandbox, "airflow-backend")

    findings = perform_grant(backend, subscription(), vault_scope(), BACKEND_OID, "rbac")

    assert [f.code for f in findings] == ["AKV-ROLE-003"]
    assert findings[0].data["may_grant"] == [
        "Owner",
        "User Access Administrator",
        "Key Vault Data Access Administrator",
    ]
    assert "roleAssignments/write" in findings[0].detail


def test_client_id_instead_of_object_id_is_PrincipalNotFound_AKV_ROLE_004(akv_sandbox):
    admin = credential_for(akv_sandbox, "admin")

    findings = perform_grant(admin, subscription(), vault_scope(), BACKEND_APP_ID, "rbac")

    assert [f.code for f in findings] == ["AKV-ROLE-004"]


def test_granting_a_role_already_held_is_AKV_ROLE_002(akv_sandbox):
    admin = credential_for(akv_sandbox, "admin")

    findings = perform_grant(admin, subscription(), vault_scope(), BACKEND_OID, "rbac")

    assert [f.code for f in findings] == ["AKV-ROLE-002"]


def test_granting_key_vault_contributor_is_refused_AKV_ROLE_014(akv_sandbox):
    admin = credential_for(akv_sandbox, "admin")

    findings = perform_grant(
        admin,
        subscription(),
        vault_scope(),
        BACKEND_OID,
        "rbac",
        role="Key Vault Contributor",
    )

    # the issue: a role that reads no secret value gets a finding and is not granted
    assert [f.code for f in findings] == ["AKV-ROLE-014"]
    assert "no access to secret values" in findings[0].detail


def test_unknown_role_name_is_AKV_ROLE_011(akv_sandbox):
    admin = credential_for(akv_sandbox, "admin")

    findings = perform_grant(
        admin, subscription(), vault_scope(), BACKEND_OID, "rbac", role="Vault Wizard"
    )

    assert [f.code for f in findings] == ["AKV-ROLE-011"]


@pytest.mark.parametrize(
    ("scope", "object_id"),
    [("not-a-resource-id", OID), (SCOPE, "not-a-guid"), ("", ""), (None, None)],
)
def test_malformed_grant_inputs_are_AKV_ROLE_012_without_a_request(scope, object_id):
    findings = perform_grant(None, "", scope, object_id, "rbac")

    assert [f.code for f in findings] == ["AKV-ROLE-012"]


def test_role_names_and_ids_round_trip():
    assert roles.role_id("key vault secrets user") == SECRETS_USER_ID
    assert roles.role_name(f"/subscriptions/x/providers/roleDefinitions/{SECRETS_USER_ID}") == (
        "Key Vault Secrets User"
    )
    assert roles.role_id("Vault Wizard") is None
    assert PermissionModel.parse("access-policy") is PermissionModel.ACCESS_POLICY
    assert PermissionModel.parse(None) is PermissionModel.UNKNOWN
    assert roles.vault_name_from_url("https://kv1.vault.azure.cn/") == "kv1"
    assert roles.vault_name_from_url("https://example.com") is None


def test_unknown_vault_scope_is_a_grant_failure(akv_sandbox):
    admin = credential_for(akv_sandbox, "admin")
    scope = vault_scope().replace("airflow-sandbox-kv", f"kv-{uuid.uuid4().hex[:8]}")

    findings = perform_grant(admin, subscription(), scope, BACKEND_OID, "rbac")

    assert [f.code for f in findings] == ["AKV-ROLE-006"]
