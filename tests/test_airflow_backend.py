"""The real AzureKeyVaultBackend and real Airflow 3 against the sandbox, configured only the
way the seed document configures them."""

from __future__ import annotations

import json
import os

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.secrets import SecretClient

from helpers.backend_config.scratch_airflow import BACKEND, ScratchAirflow, seed_overrides
from tests.conftest import vault_url


@pytest.fixture
def backend(akv_sandbox):
    from airflow.providers.microsoft.azure.secrets.key_vault import AzureKeyVaultBackend

    return AzureKeyVaultBackend(
        connections_prefix="airflow-connections",
        variables_prefix="airflow-variables",
        vault_url=os.environ["AZURE_KEYVAULT_URL"],
    )


def test_backend_get_variable_reads_the_seed_sample(backend):
    assert backend.get_variable("sample-variable") == "sandbox sample value, read through Key Vault"


def test_backend_maps_underscores_to_dashes_like_the_seed_naming_rule(backend):
    assert backend.get_variable("sample_variable") == backend.get_variable("sample-variable")


def test_backend_missing_variable_is_none(backend):
    assert backend.get_variable("no-such-variable") is None


def test_backend_get_connection_from_a_uri_value(backend):
    conn = backend.get_connection("sample-connection")
    assert (conn.conn_type, conn.host, conn.port, conn.schema) == (
        "postgres",
        "db.sandbox.internal",
        5432,
        "analytics",
    )
    assert conn.login == "airflow_user"


def test_backend_get_connection_from_a_json_value(backend):
    raw = backend.get_conn_value("sample-json-connection")
    assert json.loads(raw)["host"] == "api.sandbox.internal"
    conn = backend.get_connection("sample-json-connection")
    assert (conn.conn_type, conn.host, conn.port) == ("http", "api.sandbox.internal", 443)


def test_backend_reads_an_access_policy_vault_with_get_permission(akv_sandbox):
    from airflow.providers.microsoft.azure.secrets.key_vault import AzureKeyVaultBackend

    policy = AzureKeyVaultBackend(vault_url="https://airflow-policy-kv.vault.azure.net/")
    assert policy.get_variable("sample-variable").endswith("access-policy vault")


def test_backend_raises_403_for_a_closed_firewall_instead_of_returning_none(backend, akv_sandbox):
    akv_sandbox.client.set_firewall("closed")
    with pytest.raises(HttpResponseError) as err:
        backend.get_variable("sample-variable")
    assert err.value.status_code == 403
    assert err.value.response.json()["error"]["innererror"]["code"] == "ForbiddenByFirewall"


def test_backend_principal_cannot_write_with_secrets_user(akv_sandbox, backend_credential):
    client = SecretClient(vault_url(), backend_credential)
    with pytest.raises(HttpResponseError) as err:
        client.set_secret("airflow-variables-new", "v")
    assert err.value.response.json()["error"]["innererror"]["code"] == "ForbiddenByRbac"


@pytest.mark.slow
def test_airflow_dags_test_runs_the_modern_sample_dag_through_the_vault(akv_sandbox, tmp_path):
    env = akv_sandbox.environment()
    overrides = seed_overrides(env["AZURE_KEYVAULT_URL"])
    assert overrides["AIRFLOW__SECRETS__BACKEND"] == BACKEND
    airflow = ScratchAirflow.create(tmp_path / "home", {**env, **overrides})
    migrate = airflow.airflow("db", "migrate")
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    run = airflow.airflow("dags", "test", "akv_sample")
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    assert "Read sample-variable from Key Vault: len=44" in output
    assert "state=success" in output
    for value in akv_sandbox.secret_values():
        assert value not in output
