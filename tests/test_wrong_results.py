"""Issue 11's "wrong results": inputs that looked fine to the runbook but fail for real.

- a domain tenant id renders clean, yet Key Vault's challenge names the tenant GUID and the
  real SDK refuses (AKV-SET-007 offline, shown live against the sandbox);
- a plain ``check`` assumed the seed's sample-variable exists; it now proves read access with
  a name that cannot exist (AKV-SECRET-006) unless told what to read;
- ``config lint --dags`` passed the seed's own adf.py (Airflow 2 imports, ``schedule_interval``,
  the secret value logged).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.keyvault.secrets import SecretClient

from helpers.cli import main
from helpers.probe import probe
from helpers.settings import Settings, check_tenant, settings_from_mapping
from helpers.vault.credentials import VAULT_SCOPE
from tests.conftest import SAMPLE, vault_url

DOMAIN = "sandbox.onmicrosoft.com"  # the sandbox tenant's verified domain
CLIENT = "3c9e1f7a-2d4b-4a6c-8e0f-5b7d9f1a3c42"


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


# -- 1. a domain tenant id -------------------------------------------------------------------
@pytest.mark.parametrize("tenant", ["contoso.onmicrosoft.com", "Contoso.com", "corp.co"])
def test_domain_tenant_reports_AKV_SET_007_with_the_guid_fix(tenant):
    value, findings = check_tenant(tenant)
    assert codes(findings) == ["AKV-SET-007"]
    finding = findings[0]
    assert value == tenant.lower() and finding.data["domain"] == tenant.lower()
    assert "domain name" in finding.detail and "GUID" in finding.detail
    assert "az account show --query tenantId" in finding.fix
    assert "tid" in finding.fix and "Overview" in finding.fix


def test_domain_tenant_is_flagged_in_settings_lint_and_render(capsys, tmp_path: Path):
    base = {"vault_url": "https://kv1.vault.azure.net/", "client_id": CLIENT}
    _, findings = settings_from_mapping({**base, "tenant_id": "contoso.onmicrosoft.com"})
    assert "AKV-SET-007" in codes(findings)
    _, findings = settings_from_mapping({**base, "workload_identity_tenant_id": "contoso.com"})
    assert "AKV-SET-007" in codes(findings)

    env = tmp_path / "airflow.env"
    env.write_text(
        "AIRFLOW__SECRETS__BACKEND=airflow.providers.microsoft.azure.secrets.key_vault."
        "AzureKeyVaultBackend\n"
        'AIRFLOW__SECRETS__BACKEND_KWARGS={"vault_url": "https://kv1.vault.azure.net/"}\n'
        f"AZURE_TENANT_ID=contoso.onmicrosoft.com\nAZURE_CLIENT_ID={CLIENT}\n"
    )
    code, out = run(capsys, "config", "lint", str(env), "--json")
    assert code == 1 and "AKV-SET-007" in [f["code"] for f in json.loads(out)["findings"]]

    argv = ["config", "render", "--target", "env", "--json", "--vault-url", base["vault_url"]]
    code, out = run(capsys, *argv, "--tenant-id", "contoso.onmicrosoft.com", "--client-id", CLIENT)
    assert code == 1 and "AKV-SET-007" in out


def test_domain_tenant_fails_at_the_vault_challenge_as_AKV_SET_007_predicts(akv_sandbox):
    """Live, with the real SDKs: Entra issues the token for the domain, Key Vault's challenge
    names the GUID, and azure-identity refuses; the GUID the fix names works."""
    env = akv_sandbox.client.env("airflow-backend")
    guid = env["AZURE_TENANT_ID"]
    assert check_tenant(guid)[1] == [] and codes(check_tenant(DOMAIN)[1]) == ["AKV-SET-007"]
    from azure.identity import ClientSecretCredential

    domain_credential = ClientSecretCredential(DOMAIN, CLIENT, env["AZURE_CLIENT_SECRET"])
    assert domain_credential.get_token(VAULT_SCOPE).token  # sign-in itself accepts a domain
    client = SecretClient(vault_url(), domain_credential, retry_total=0)
    with pytest.raises(ClientAuthenticationError, match=f"acquire tokens for tenant {guid}"):
        client.get_secret(SAMPLE)

    guid_credential = ClientSecretCredential(guid, CLIENT, env["AZURE_CLIENT_SECRET"])
    assert SecretClient(vault_url(), guid_credential, retry_total=0).get_secret(SAMPLE).value


def test_domain_tenant_breaks_airflows_backend_through_the_environment(akv_sandbox, monkeypatch):
    """The seed's recipe (AZURE_TENANT_ID + DefaultAzureCredential): the lookup raises."""
    from airflow.providers.microsoft.azure.secrets.key_vault import AzureKeyVaultBackend

    monkeypatch.setenv("AZURE_TENANT_ID", DOMAIN)
    backend = AzureKeyVaultBackend(vault_url=os.environ["AZURE_KEYVAULT_URL"], retry_total=0)
    with pytest.raises(ClientAuthenticationError, match="not configured to acquire tokens"):
        backend.get_variable("sample-variable")


# -- 2. the default check assumes no secret --------------------------------------------------
def test_settings_name_no_variable_by_default():
    assert Settings().variables == [] and Settings().connections == []


def delete_sample(admin_credential) -> None:
    SecretClient(vault_url(), admin_credential).begin_delete_secret(SAMPLE).wait()


def test_plain_check_of_a_vault_without_sample_variable_proves_access_and_exits_0(
    akv_sandbox, admin_credential, capsys
):
    delete_sample(admin_credential)

    code, out = run(capsys, "check", "--json")

    payload = json.loads(out)
    found = codes_of(payload)
    assert code == 0, found
    assert "AKV-SECRET-002" not in found and "AKV-SECRET-006" in found
    access = next(f for f in payload["findings"] if f["code"] == "AKV-SECRET-006")
    assert "404 SecretNotFound through the SDK and Airflow's backend" in access["detail"]
    assert access["data"]["secret_name"].startswith("airflow-variables-akv-runbook-access-check-")


def codes_of(payload: dict) -> list[str]:
    return [f["code"] for f in payload["findings"]]


def test_check_naming_a_variable_still_requires_it(akv_sandbox, admin_credential, capsys):
    delete_sample(admin_credential)

    code, out = run(capsys, "check", "--no-backend", "--variable", "sample-variable", "--json")

    assert code == 1 and "AKV-SECRET-002" in codes_of(json.loads(out))


def test_access_check_without_a_role_is_the_403_finding(akv_sandbox):
    from tests.test_probes import backend_settings, revoke_backend_roles

    assert revoke_backend_roles(akv_sandbox) >= 1

    result = probe(backend_settings(variables=[], connections=[]), check_roles=False)

    assert "AKV-SECRET-006" not in result.codes and not result.ok
    forbidden = next(f for f in result.findings if f.code == "AKV-PERM-001")
    assert "a name that does not exist" in forbidden.detail


def test_access_check_with_underscore_sep_reads_a_bare_name_through_the_sdk(akv_sandbox):
    from tests.test_probes import backend_settings

    result = probe(backend_settings(variables=[], connections=[], sep="_"), check_roles=False)

    access = next(f for f in result.findings if f.code == "AKV-SECRET-006")
    assert access.data["secret_name"].startswith("akv-runbook-access-check-")
    assert "through the SDK (" in access.detail
