"""Airflow's real AzureKeyVaultBackend, and the runbook's probe, signing in with a managed
identity (App Service endpoint and IMDS) and with workload identity against the sandbox,
with the environment `akv-runbook sandbox env --credential KIND` prints (issue 12)."""

from __future__ import annotations

import json
import os
import shlex

import pytest

from helpers.cli import main
from helpers.findings.codes.auth import (
    FEDERATED_MISMATCH,
    MANAGED_IDENTITY_NOT_FOUND,
    SIGNED_IN,
)
from helpers.findings.codes.perm import FORBIDDEN_BY_RBAC
from helpers.probe import probe
from helpers.sandbox import CREDENTIAL_VARS, Sandbox
from helpers.settings import Credential, Settings
from helpers.vault.diagnose import diagnose

UAMI_CLIENT = "7a3c5e9b-1d2f-4c6e-8b0a-9d1f3b5c7e28"
WI_CLIENT = "4d7f2b9e-6a1c-4e3b-8f5d-7c9a1e3b5d86"
TENANT = "5f0c6e2a-3b1d-4c8e-9a7f-0d2b4e6f8a10"
UNKNOWN = "00000000-0000-4000-8000-000000000000"
EXPECTED = "sandbox sample value, read through Key Vault"


def backend(**kwargs):
    from airflow.providers.microsoft.azure.secrets.key_vault import AzureKeyVaultBackend

    return AzureKeyVaultBackend(
        vault_url=os.environ["AZURE_KEYVAULT_URL"], variables_prefix="airflow-variables", **kwargs
    )


@pytest.mark.parametrize("protocol", ["managed-identity", "imds"])
def test_backend_reads_with_a_managed_identity_from_the_environment(akv_sandbox, protocol):
    akv_sandbox.apply_environment(credential=protocol)
    assert backend().get_variable("sample-variable") == EXPECTED


@pytest.mark.parametrize("protocol", ["managed-identity", "imds"])
def test_backend_reads_with_managed_identity_client_id_in_backend_kwargs(akv_sandbox, protocol):
    akv_sandbox.apply_environment(credential=protocol)
    del os.environ["AZURE_CLIENT_ID"]  # the identity comes from backend_kwargs only
    kwargs = {"managed_identity_client_id": UAMI_CLIENT, "workload_identity_tenant_id": TENANT}
    assert backend(**kwargs).get_variable("sample-variable") == EXPECTED


def test_backend_reads_with_workload_identity_backend_kwargs(akv_sandbox):
    akv_sandbox.apply_environment(credential="workload-identity")
    kwargs = {"managed_identity_client_id": WI_CLIENT, "workload_identity_tenant_id": TENANT}
    assert backend(**kwargs).get_variable("sample-variable") == EXPECTED


@pytest.mark.parametrize("protocol", ["managed-identity", "imds"])
def test_backend_with_a_wrong_managed_identity_client_id_fails_with_AKV_AUTH_015(
    akv_sandbox, protocol
):
    akv_sandbox.apply_environment(credential=protocol)
    kwargs = {"managed_identity_client_id": UNKNOWN, "workload_identity_tenant_id": TENANT}
    with pytest.raises(Exception) as caught:  # noqa: PT011 - whatever DefaultAzureCredential raises
        backend(**kwargs).get_variable("sample-variable")
    assert diagnose(caught.value, subject="backend").code == MANAGED_IDENTITY_NOT_FOUND.code


def _codes(result) -> list[str]:
    return [f.code for f in result.findings]


def test_probe_signs_in_with_the_managed_identity_and_reads(akv_sandbox):
    akv_sandbox.apply_environment(credential="imds")
    settings = Settings(
        name="mi",
        vault_url=os.environ["AZURE_KEYVAULT_URL"],
        credential=Credential.MANAGED_IDENTITY,
        managed_identity_client_id=UAMI_CLIENT,
        variables=["sample-variable"],
        connections=[],
    )
    result = probe(settings, environ=dict(os.environ), check_roles=False)
    assert SIGNED_IN.code in _codes(result)
    assert result.claims["appid"] == UAMI_CLIENT
    assert not [f for f in result.findings if f.severity.name == "ERROR"], result.findings


@pytest.mark.parametrize(
    ("client_id", "expected"),
    [(UNKNOWN, MANAGED_IDENTITY_NOT_FOUND.code), ("", FORBIDDEN_BY_RBAC.code)],
    ids=["unknown-client-id", "system-identity-without-role"],
)
def test_probe_reports_managed_identity_failures(akv_sandbox, client_id, expected):
    akv_sandbox.apply_environment(credential="managed-identity")
    settings = Settings(
        name="mi",
        vault_url=os.environ["AZURE_KEYVAULT_URL"],
        credential=Credential.MANAGED_IDENTITY,
        managed_identity_client_id=client_id,
        variables=["sample-variable"],
        connections=[],
    )
    assert expected in _codes(probe(settings, environ=dict(os.environ), check_roles=False))


def test_probe_reports_a_federated_subject_mismatch(akv_sandbox, tmp_path):
    akv_sandbox.apply_environment(credential="workload-identity")
    token = akv_sandbox.client.call(
        "POST",
        "/service-account-token",
        {"namespace": "airflow", "service_account": "webserver"},
    )["token"]
    (tmp_path / "token").write_text(token)
    environ = {**os.environ, "AZURE_FEDERATED_TOKEN_FILE": str(tmp_path / "token")}
    settings = Settings(
        name="wi",
        vault_url=os.environ["AZURE_KEYVAULT_URL"],
        credential=Credential.WORKLOAD_IDENTITY,
        client_id=WI_CLIENT,
        tenant_id=TENANT,
        variables=["sample-variable"],
        connections=[],
    )
    result = probe(settings, environ=environ, check_roles=False)
    assert FEDERATED_MISMATCH.code in _codes(result), result.findings


# -- `akv-runbook sandbox env --credential KIND` ---------------------------------------------
@pytest.mark.parametrize(
    ("kind", "keys"),
    [
        ("client-secret", {"AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_CLIENT_ID"}),
        ("managed-identity", {"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_CLIENT_ID"}),
        ("imds", {"HTTP_PROXY", "http_proxy", "AZURE_CLIENT_ID"}),
        (
            "workload-identity",
            {"AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_ID", "AZURE_TENANT_ID"}
            | {"AZURE_AUTHORITY_HOST"},
        ),
    ],
)
def test_sandbox_env_credential_prints_what_the_platform_sets(
    akv_sandbox: Sandbox, capsys, kind, keys
):
    state = str(akv_sandbox.state_dir)
    assert main(["sandbox", "env", "--credential", kind, "--state-dir", state]) == 0
    lines = capsys.readouterr().out.splitlines()
    unset = set(lines[0].split()[1:])
    exported = {line.split()[1].split("=")[0]: line for line in lines[1:]}
    assert keys <= set(exported)
    assert {"HTTPS_PROXY", "REQUESTS_CA_BUNDLE", "AZURE_KEYVAULT_URL"} <= set(exported)
    assert unset == set(CREDENTIAL_VARS) - set(exported)
    assert main(["sandbox", "env", "--json", "--credential", kind, "--state-dir", state]) == 0
    as_json = json.loads(capsys.readouterr().out)
    assert set(as_json) == set(exported)
    for key, line in exported.items():
        assert shlex.split(line.partition("=")[2]) == [as_json[key]]


def test_sandbox_env_credential_defaults_to_client_secret(akv_sandbox: Sandbox, capsys):
    state = str(akv_sandbox.state_dir)
    assert main(["sandbox", "env", "--json", "--state-dir", state]) == 0
    assert json.loads(capsys.readouterr().out)["AZURE_TOKEN_CREDENTIALS"] == "EnvironmentCredential"


def test_sandbox_env_refuses_an_unknown_kind_or_principal(akv_sandbox: Sandbox, capsys):
    state = str(akv_sandbox.state_dir)
    with pytest.raises(SystemExit) as exited:
        main(["sandbox", "env", "--credential", "certificate", "--state-dir", state])
    assert exited.value.code == 2
    code = main(
        ["sandbox", "env", "--credential", "imds", "--principal", "admin", "--state-dir", state]
    )
    assert code == 1
    assert "no managed identity named 'admin'" in capsys.readouterr().err
