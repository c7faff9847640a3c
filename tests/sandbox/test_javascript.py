"""The unmodified Azure SDK for JavaScript (@azure/identity + @azure/keyvault-secrets, pinned,
installed by the test session: see js_sdk.py) against the sandbox, with nothing but what
``akv-runbook sandbox env [--credential …]`` prints: Node trusts the sandbox CA through
``NODE_EXTRA_CA_CERTS`` and @azure/core-rest-pipeline's proxy policy reads ``HTTPS_PROXY``."""

from __future__ import annotations

import pytest

from tests.conftest import SAMPLE
from tests.sandbox.js_sdk import JsSdk, install_js_sdk


@pytest.fixture(scope="module")
def js(request) -> JsSdk:
    return JsSdk(install_js_sdk(request.config.cache.mkdir("js-sdk")))


def _sample(akv_sandbox) -> str:
    return (
        akv_sandbox.state.keyvault.vaults[akv_sandbox.state.scenario.default_vault.lower()]
        .secrets[SAMPLE]
        .latest.value
    )


def test_client_secret_credential_reads_a_secret(akv_sandbox, js):
    env = akv_sandbox.environment("airflow-backend", "client-secret")
    assert env["NODE_EXTRA_CA_CERTS"] == str(akv_sandbox.ca_bundle)
    result = js.read_secret("client-secret", SAMPLE, env)
    assert result.ok, result.message
    assert result.value == _sample(akv_sandbox)


def test_default_azure_credential_reads_with_the_client_secret_environment(akv_sandbox, js):
    result = js.read_secret("default", SAMPLE, akv_sandbox.environment("airflow-backend"))
    assert result.ok, result.message


def test_a_wrong_client_secret_is_AADSTS7000215(akv_sandbox, js):
    env = akv_sandbox.environment("airflow-backend")
    result = js.read_secret("client-secret", SAMPLE, {**env, "AZURE_CLIENT_SECRET": "wrong"})
    assert not result.ok
    # @azure/identity 4.x wraps every MSAL server error (here 401 invalid_client) in
    # AuthenticationRequiredError, the AADSTS text kept in the message.
    assert result.name == "AuthenticationRequiredError", result.message
    assert "invalid_client" in result.message
    assert "AADSTS7000215: Invalid client secret provided." in result.message
    assert env["AZURE_CLIENT_SECRET"] not in result.message


@pytest.mark.parametrize("kind", ["workload-identity", "default"])
def test_workload_identity_reads_a_secret(akv_sandbox, js, kind):
    env = akv_sandbox.environment(credential="workload-identity")
    result = js.read_secret(kind, SAMPLE, env)
    assert result.ok, result.message


@pytest.mark.parametrize("kind", ["managed-identity", "default"])
@pytest.mark.parametrize("protocol", ["managed-identity", "imds"])
def test_managed_identity_reads_a_secret(akv_sandbox, js, kind, protocol):
    """App Service (IDENTITY_ENDPOINT + IDENTITY_HEADER) and IMDS (plain HTTP through the
    HTTP_PROXY that `sandbox env --credential imds` prints)."""
    env = akv_sandbox.environment(credential=protocol)
    result = js.read_secret(kind, SAMPLE, env)
    assert result.ok, result.message


def test_a_principal_without_a_role_gets_forbidden_by_rbac(akv_sandbox, js):
    env = akv_sandbox.environment("airflow-host", "managed-identity")
    result = js.read_secret("managed-identity", SAMPLE, env)
    assert not result.ok
    assert result.status_code == 403
    assert result.code == "Forbidden"
    assert "Caller is not authorized to perform action on resource" in result.message
