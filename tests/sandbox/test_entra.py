"""Entra ID through the unmodified azure-identity / MSAL stack."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential, DefaultAzureCredential, EnvironmentCredential

VAULT_SCOPE = "https://vault.azure.net/.default"
ARM_SCOPE = "https://management.azure.com/.default"


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


@pytest.fixture
def backend_env(akv_sandbox) -> dict[str, str]:
    return akv_sandbox.client.env("airflow-backend")


def test_client_secret_credential_gets_a_vault_token(backend_credential):
    token = backend_credential.get_token(VAULT_SCOPE)
    assert token.token.count(".") == 2
    # expires_in 3599: well above the 300 s refresh margin.
    assert 3000 < token.expires_on - time.time() <= 3600


def test_wrong_client_secret_reports_AADSTS7000215(akv_sandbox, backend_env):
    credential = ClientSecretCredential(
        backend_env["AZURE_TENANT_ID"], backend_env["AZURE_CLIENT_ID"], "wrong-secret"
    )
    with pytest.raises(ClientAuthenticationError) as caught:
        credential.get_token(VAULT_SCOPE)
    message = str(caught.value)
    assert "AADSTS7000215: Invalid client secret provided." in message
    assert "Authentication failed:" in message


def test_expired_client_secret_reports_AADSTS7000222(akv_sandbox, backend_env):
    akv_sandbox.client.expire_client_secret("airflow-backend")
    credential = ClientSecretCredential(
        backend_env["AZURE_TENANT_ID"],
        backend_env["AZURE_CLIENT_ID"],
        backend_env["AZURE_CLIENT_SECRET"],
    )
    with pytest.raises(ClientAuthenticationError) as caught:
        credential.get_token(VAULT_SCOPE)
    assert (
        f"AADSTS7000222: The provided client secret keys for app "
        f"'{backend_env['AZURE_CLIENT_ID']}' are expired."
    ) in str(caught.value)


def test_expired_secret_only_affects_that_app(akv_sandbox, admin_credential):
    akv_sandbox.client.expire_client_secret("airflow-backend")
    assert admin_credential.get_token(VAULT_SCOPE).token


def test_unknown_client_id_reports_AADSTS700016(akv_sandbox, backend_env):
    unknown = str(uuid.uuid4())
    credential = ClientSecretCredential(
        backend_env["AZURE_TENANT_ID"], unknown, backend_env["AZURE_CLIENT_SECRET"]
    )
    with pytest.raises(ClientAuthenticationError) as caught:
        credential.get_token(VAULT_SCOPE)
    assert f"AADSTS700016: Application with identifier '{unknown}' was not found" in str(
        caught.value
    )


def test_unknown_tenant_reports_unable_to_get_authority_configuration(akv_sandbox, backend_env):
    unknown = str(uuid.uuid4())
    credential = ClientSecretCredential(
        unknown, backend_env["AZURE_CLIENT_ID"], backend_env["AZURE_CLIENT_SECRET"]
    )
    with pytest.raises(ClientAuthenticationError) as caught:
        credential.get_token(VAULT_SCOPE)
    message = str(caught.value)
    assert "Unable to get authority configuration" in message
    assert f"https://login.microsoftonline.com/{unknown}" in message


def test_tenant_domain_name_is_accepted_as_authority(akv_sandbox, backend_env):
    credential = ClientSecretCredential(
        "sandbox.onmicrosoft.com",
        backend_env["AZURE_CLIENT_ID"],
        backend_env["AZURE_CLIENT_SECRET"],
    )
    assert (
        claims_of(credential.get_token(VAULT_SCOPE).token)["tid"]
        == (backend_env["AZURE_TENANT_ID"])
    )


def test_environment_credential_uses_the_applied_environment(akv_sandbox, backend_env):
    token = EnvironmentCredential().get_token(VAULT_SCOPE)
    assert claims_of(token.token)["appid"] == backend_env["AZURE_CLIENT_ID"]


def test_default_credential_uses_environment_credential(akv_sandbox, backend_env):
    token = DefaultAzureCredential().get_token(VAULT_SCOPE)
    assert claims_of(token.token)["appid"] == backend_env["AZURE_CLIENT_ID"]


def test_default_credential_wraps_the_environment_credential_failure(akv_sandbox, monkeypatch):
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "wrong-secret")
    with pytest.raises(ClientAuthenticationError) as caught:
        DefaultAzureCredential().get_token(VAULT_SCOPE)
    message = str(caught.value)
    assert "DefaultAzureCredential failed to retrieve a token" in message
    assert "EnvironmentCredential: Authentication failed: AADSTS7000215:" in message


def test_vault_token_claims_identify_the_service_principal(akv_sandbox, backend_env):
    directory = akv_sandbox.state.directory
    app = directory.app_by_name("airflow-backend")
    credential = ClientSecretCredential(
        backend_env["AZURE_TENANT_ID"],
        backend_env["AZURE_CLIENT_ID"],
        backend_env["AZURE_CLIENT_SECRET"],
    )
    before = int(time.time())
    token = credential.get_token(VAULT_SCOPE).token
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    assert header["kid"] == directory.kid
    claims = claims_of(token)
    tenant = backend_env["AZURE_TENANT_ID"]
    assert claims["aud"] == "https://vault.azure.net"
    assert claims["iss"] == f"https://sts.windows.net/{tenant}/"
    assert claims["tid"] == tenant
    assert claims["appid"] == backend_env["AZURE_CLIENT_ID"]
    assert claims["oid"] == app.object_id
    assert claims["oid"] != claims["appid"]  # the object id, not the client id
    assert before - 5 <= claims["iat"] <= time.time() + 5
    assert claims["nbf"] <= claims["iat"] + 1
    assert claims["exp"] - claims["iat"] >= 3599
    assert all(isinstance(claims[k], int) for k in ("iat", "nbf", "exp"))


def test_management_scope_token_has_management_audience(admin_credential, akv_sandbox):
    claims = claims_of(admin_credential.get_token(ARM_SCOPE).token)
    assert claims["aud"] == "https://management.azure.com/"
    assert claims["oid"] == akv_sandbox.state.directory.app_by_name("admin").object_id


def test_scope_without_default_suffix_is_refused(admin_credential):
    with pytest.raises(ClientAuthenticationError) as caught:
        admin_credential.get_token("https://vault.azure.net/user_impersonation")
    assert "AADSTS1002012" in str(caught.value)


def test_unknown_resource_is_refused_with_AADSTS500011(admin_credential):
    with pytest.raises(ClientAuthenticationError) as caught:
        admin_credential.get_token("https://storage.azure.com/.default")
    assert "AADSTS500011" in str(caught.value)


def test_entra_5xx_fault_is_retried_by_the_identity_pipeline(akv_sandbox, backend_env):
    akv_sandbox.client.add_fault("error", target="entra", count=1, status=503)
    credential = ClientSecretCredential(
        backend_env["AZURE_TENANT_ID"],
        backend_env["AZURE_CLIENT_ID"],
        backend_env["AZURE_CLIENT_SECRET"],
        retry_backoff_factor=0.01,
    )
    # One injected 503 is retried by the identity pipeline and the token still arrives.
    assert credential.get_token(VAULT_SCOPE).token
