"""The unmodified az CLI (pinned, in a throw-away venv: see az_cli.py) against the sandbox,
with only `akv-runbook sandbox env` applied: sign-in, Key Vault, Microsoft Graph principal
lookups, role assignments, and every az command the runbook emits for a grant, verbatim.

Each az call costs about a second of start-up, so the tests batch what they check.
"""

from __future__ import annotations

import shlex

import pytest
from azure.keyvault.secrets import SecretClient

from helpers.roles.commands import grant_commands
from helpers.roles.model import PermissionModel
from helpers.settings import Settings
from tests.conftest import POLICY_VAULT, SAMPLE, VAULT, vault_url
from tests.sandbox.az_cli import AzCli, install_az_cli
from tests.sandbox.conftest import BACKEND_OID, RG, TENANT_ID, vault_scope

BACKEND_APP_ID = "3c9e1f7a-2d4b-4a6c-8e0f-5b7d9f1a3c42"
SECRETS_USER = "Key Vault Secrets User"


@pytest.fixture(scope="module")
def az(request, akv_sandbox_session, tmp_path_factory) -> AzCli:
    """az signed in as the scenario's operator (admin) with `az login --service-principal`."""
    exe, _seconds = install_az_cli(request.config.cache.mkdir("az-cli"))
    cli = AzCli(exe, akv_sandbox_session.state_dir, tmp_path_factory.mktemp("az") / ".azure")
    cli.config_dir.mkdir()
    cli.ok(
        'az login --service-principal -u "$AZURE_CLIENT_ID" -p "$AZURE_CLIENT_SECRET" '
        '--tenant "$AZURE_TENANT_ID" -o none'
    )
    return cli


def _assignments_of(az: AzCli, principal: str) -> list[dict]:
    listed = az.ok(f"az role assignment list --scope {shlex.quote(vault_scope())} -o json")
    return [a for a in listed.json() if a["principalId"] == principal]


def test_az_login_keyvault_show_and_secret_list_show_set(akv_sandbox, az):
    shown = az.ok(f"az keyvault show --name {VAULT} -o json").json()
    assert shown["id"] == vault_scope()
    assert shown["properties"]["enableRbacAuthorization"] is True

    az.ok(
        f"az keyvault secret set --vault-name {VAULT} --name az-cli-secret --value from-az -o none"
    )
    listed = az.ok(f"az keyvault secret list --vault-name {VAULT} -o json").json()
    assert {SAMPLE, "az-cli-secret"} <= {s["name"] for s in listed}
    got = az.ok(f"az keyvault secret show --vault-name {VAULT} --name az-cli-secret -o json")
    assert got.json()["value"] == "from-az"


def test_az_ad_sp_show_resolves_an_app_id_through_graph(akv_sandbox, az):
    shown = az.ok(f"az ad sp show --id {BACKEND_APP_ID} -o json").json()
    assert shown["id"] == BACKEND_OID
    assert shown["appId"] == BACKEND_APP_ID
    assert shown["displayName"] == "airflow-backend"

    missing = az.run("az ad sp show --id 00000000-0000-0000-0000-000000000001 -o json")
    assert missing.returncode != 0
    assert "does not exist or one of its queried reference-property" in missing.stderr


def test_az_role_assignment_delete_create_list_by_app_id(akv_sandbox, az):
    scope = shlex.quote(vault_scope())
    by_app = f"--assignee {BACKEND_APP_ID} --role {shlex.quote(SECRETS_USER)} --scope {scope}"
    az.ok(f"az role assignment delete {by_app} -o none")
    assert _assignments_of(az, BACKEND_OID) == []

    created = az.ok(f"az role assignment create {by_app} -o json").json()
    assert created["principalId"] == BACKEND_OID
    assert created["scope"] == vault_scope()

    (listed,) = _assignments_of(az, BACKEND_OID)
    assert listed["roleDefinitionName"] == SECRETS_USER
    # az names the principal from Graph's directoryObjects/getByIds.
    assert listed["principalName"] == BACKEND_APP_ID
    assert listed["principalType"] == "ServicePrincipal"


def _settings() -> Settings:
    return Settings(vault_url=vault_url(), tenant_id=TENANT_ID, client_id=BACKEND_APP_ID)


def test_the_runbooks_rbac_grant_commands_run_verbatim(akv_sandbox, az, backend_credential):
    scope = vault_scope()
    az.ok(
        f"az role assignment delete --assignee {BACKEND_APP_ID} "
        f"--role {shlex.quote(SECRETS_USER)} --scope {shlex.quote(scope)}"
    )
    client = SecretClient(vault_url(), backend_credential)
    with pytest.raises(Exception, match="Forbidden|not authorized|ForbiddenByRbac"):
        client.get_secret(SAMPLE)

    commands = grant_commands(
        _settings(), BACKEND_OID, model=PermissionModel.RBAC, vault_resource_id=scope
    )
    az.ok(commands["az"])
    assert az.ok(commands["check_model"]).stdout.strip() == "true"

    assert client.get_secret(SAMPLE).value


def test_the_runbooks_access_policy_grant_command_runs_verbatim(akv_sandbox, az):
    scope = vault_scope(POLICY_VAULT)
    commands = grant_commands(
        _settings(), BACKEND_OID, model=PermissionModel.ACCESS_POLICY, vault_resource_id=scope
    )
    assert commands["az"].startswith("az keyvault set-policy ")
    shown = az.ok(commands["az"] + " -o json").json()
    policy = next(p for p in shown["properties"]["accessPolicies"] if p["objectId"] == BACKEND_OID)
    assert sorted(policy["permissions"]["secrets"]) == ["get", "list"]
    assert az.ok(commands["check_model"]).stdout.strip() == "false"
    assert RG in scope
