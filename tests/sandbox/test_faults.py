"""The control API: reset, seed, fault injection and the knobs trainers turn.

Faults are observed through the unmodified SDKs (with ``retry_total=0`` where the point is
to see the raw answer rather than azure-core's transparent retry).
"""

from __future__ import annotations

import os
import time

import pytest
import requests
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient

from tests.conftest import POLICY_VAULT, SAMPLE, VAULT, credential_for, vault_url


# -- helpers -------------------------------------------------------------------------------
def fresh_credential(sandbox, principal: str = "airflow-backend", **kwargs):
    env = sandbox.client.env(principal)
    return ClientSecretCredential(
        env["AZURE_TENANT_ID"], env["AZURE_CLIENT_ID"], env["AZURE_CLIENT_SECRET"], **kwargs
    )


def warm_client(credential, vault: str = VAULT, **kwargs) -> SecretClient:
    """A SecretClient that has already done its challenge round trip and holds a token."""
    client = SecretClient(vault_url(vault), credential, **kwargs)
    client.get_secret(SAMPLE)
    return client


def raw_control(sandbox, method: str, path: str, token: str | None = None, **kwargs):
    session = requests.Session()
    session.trust_env = False  # never through the proxy
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return session.request(
        method,
        f"http://127.0.0.1:{sandbox.port}/_sandbox{path}",
        headers=headers,
        timeout=10,
        **kwargs,
    )


def control_error(call) -> str:
    with pytest.raises(RuntimeError) as caught:
        call()
    return str(caught.value)


# -- reset and seed ------------------------------------------------------------------------
def test_reset_restores_secrets_faults_firewall_and_disabled_secrets(
    akv_sandbox, admin_credential, backend_credential
):
    admin = SecretClient(vault_url(), admin_credential)
    admin.set_secret("added-during-test", "x")
    admin.set_secret(SAMPLE, "overwritten")
    akv_sandbox.client.set_firewall("closed", vault=POLICY_VAULT)
    akv_sandbox.client.add_fault("throttle", target="arm")
    akv_sandbox.client.disable_secret(SAMPLE, vault=POLICY_VAULT)

    akv_sandbox.client.reset()

    assert admin.get_secret(SAMPLE).value == "sandbox sample value, read through Key Vault"
    assert len(list(admin.list_properties_of_secret_versions(SAMPLE))) == 1
    with pytest.raises(ResourceNotFoundError):
        admin.get_secret("added-during-test")
    status = akv_sandbox.client.status()
    assert status["faults"] == []
    assert status["vaults"][POLICY_VAULT]["firewall"] == "open"
    assert SecretClient(vault_url(POLICY_VAULT), backend_credential).get_secret(SAMPLE).value


def test_reset_brings_back_deleted_secrets(akv_sandbox, admin_credential):
    admin = SecretClient(vault_url(), admin_credential)
    admin.begin_delete_secret(SAMPLE).wait()
    admin.purge_deleted_secret(SAMPLE)

    akv_sandbox.client.reset()

    assert admin.get_secret(SAMPLE).value
    assert list(admin.list_deleted_secrets()) == []


def test_seed_adds_secrets_readable_by_the_backend(akv_sandbox, backend_credential):
    akv_sandbox.client.seed({"airflow-variables-seeded": "from the control API"})

    secrets = SecretClient(vault_url(), backend_credential)
    assert secrets.get_secret("airflow-variables-seeded").value == "from the control API"


def test_seed_targets_a_named_vault(akv_sandbox, backend_credential):
    akv_sandbox.client.seed({"only-in-policy-vault": "p"}, vault=POLICY_VAULT)

    assert SecretClient(vault_url(POLICY_VAULT), backend_credential).get_secret(
        "only-in-policy-vault"
    ).value == ("p")
    with pytest.raises(ResourceNotFoundError):
        SecretClient(vault_url(), backend_credential).get_secret("only-in-policy-vault")


def test_seed_replaces_a_soft_deleted_secret(akv_sandbox, admin_credential):
    admin = SecretClient(vault_url(), admin_credential)
    admin.begin_delete_secret(SAMPLE).wait()

    akv_sandbox.client.seed({SAMPLE: "seeded again"})

    assert admin.get_secret(SAMPLE).value == "seeded again"


def test_seed_rejects_unknown_vault_and_bad_names(akv_sandbox):
    assert "404" in control_error(lambda: akv_sandbox.client.seed({"a": "b"}, vault="nope-kv"))
    message = control_error(lambda: akv_sandbox.client.seed({"bad_name": "b", "ok": "c"}))
    assert "400" in message and "bad_name" in message
    assert akv_sandbox.client.status()["vaults"][VAULT]["secrets"] == 3  # nothing half-seeded


# -- throttling ----------------------------------------------------------------------------
def test_throttle_fault_is_a_429_with_retry_after_and_limited_to_its_count(
    akv_sandbox, backend_credential
):
    secrets = warm_client(backend_credential, retry_total=0)
    akv_sandbox.client.add_fault("throttle", target=f"vault:{VAULT}", count=2, retry_after=7)

    for _ in range(2):
        with pytest.raises(HttpResponseError) as caught:
            secrets.get_secret(SAMPLE)
        assert caught.value.status_code == 429
        assert caught.value.error.code == "Throttled"
        assert caught.value.response.headers["Retry-After"] == "7"
        assert "VaultRequestTypeLimitReached" in caught.value.error.message

    assert secrets.get_secret(SAMPLE).value
    assert akv_sandbox.client.status()["faults"] == []


def test_throttle_fault_only_hits_its_target_vault(akv_sandbox, backend_credential):
    main = warm_client(backend_credential, retry_total=0)
    policy = warm_client(backend_credential, POLICY_VAULT, retry_total=0)
    akv_sandbox.client.add_fault("throttle", target=f"vault:{POLICY_VAULT}")

    assert main.get_secret(SAMPLE).value
    with pytest.raises(HttpResponseError) as caught:
        policy.get_secret(SAMPLE)
    assert caught.value.status_code == 429
    assert akv_sandbox.client.status()["faults"][0]["count"] is None  # until cleared

    akv_sandbox.client.clear_faults()
    assert policy.get_secret(SAMPLE).value


def test_sdk_honours_retry_after_and_retries_transparently(akv_sandbox, backend_credential):
    secrets = warm_client(backend_credential)  # default retry policy
    akv_sandbox.client.add_fault("throttle", count=1, retry_after=1)

    started = time.monotonic()
    assert secrets.get_secret(SAMPLE).value
    assert time.monotonic() - started >= 0.9


def test_arm_throttle_fault_leaves_the_data_plane_alone(
    akv_sandbox, admin_credential, backend_credential
):
    from azure.mgmt.keyvault import KeyVaultManagementClient

    secrets = warm_client(backend_credential, retry_total=0)
    arm = KeyVaultManagementClient(
        admin_credential, os.environ["AZURE_SUBSCRIPTION_ID"], retry_total=0
    )
    akv_sandbox.client.add_fault("throttle", target="arm", count=1)

    assert secrets.get_secret(SAMPLE).value
    with pytest.raises(HttpResponseError) as caught:
        arm.vaults.get("rg-airflow", VAULT)
    assert caught.value.status_code == 429
    assert "Retry-After" in caught.value.response.headers
    assert arm.vaults.get("rg-airflow", VAULT).name == VAULT


def test_entra_fault_breaks_sign_in_but_not_cached_tokens(akv_sandbox, backend_credential):
    secrets = warm_client(backend_credential)
    akv_sandbox.client.add_fault("throttle", target="entra", count=1)

    assert secrets.get_secret(SAMPLE).value  # token cached: Entra not asked
    with pytest.raises(ClientAuthenticationError):
        fresh_credential(akv_sandbox, retry_total=0).get_token("https://vault.azure.net/.default")
    assert fresh_credential(akv_sandbox).get_token("https://vault.azure.net/.default").token


# -- errors and latency --------------------------------------------------------------------
def test_error_fault_returns_the_chosen_5xx(akv_sandbox, backend_credential):
    secrets = warm_client(backend_credential, retry_total=0)
    akv_sandbox.client.add_fault("error", status=500, count=1)

    with pytest.raises(HttpResponseError) as caught:
        secrets.get_secret(SAMPLE)

    assert caught.value.status_code == 500
    assert caught.value.error.code == "ServiceUnavailable"
    assert secrets.get_secret(SAMPLE).value


def test_sdk_retries_through_a_single_503(akv_sandbox, backend_credential):
    secrets = warm_client(backend_credential)
    akv_sandbox.client.add_fault("error", status=503, count=1)

    assert secrets.get_secret(SAMPLE).value
    assert akv_sandbox.client.status()["faults"] == []


def test_latency_fault_delays_requests_for_its_count(akv_sandbox, backend_credential):
    secrets = warm_client(backend_credential)
    akv_sandbox.client.add_fault("latency", latency_ms=300, count=1)

    started = time.monotonic()
    secrets.get_secret(SAMPLE)
    slow = time.monotonic() - started
    started = time.monotonic()
    secrets.get_secret(SAMPLE)
    fast = time.monotonic() - started

    assert slow >= 0.3
    assert fast < 0.25


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"kind": "explode"}, "kind must be one of throttle, error, latency"),
        ({"kind": "throttle", "target": "vault:"}, "target must be keyvault, vault:<name>"),
        ({"kind": "throttle", "target": "storage"}, "target must be"),
        ({"kind": "error", "status": 404}, "status must be a 5xx"),
        ({"kind": "error", "status": "abc"}, "status must be an integer"),
        ({"kind": "throttle", "count": 0}, "count must be at least 1"),
        ({"kind": "throttle", "retry_after": -1}, "retry_after must be 0-3600"),
        ({"kind": "latency"}, "latency_ms must be 1-60000"),
        ({"kind": "throttle", "colour": "red"}, "unknown field(s) ['colour']"),
        ({"target": "arm"}, "kind is required"),
    ],
)
def test_bad_fault_specs_are_rejected_with_400(akv_sandbox, spec, expected):
    response = raw_control(
        akv_sandbox, "POST", "/faults", akv_sandbox.state.control_token, json=spec
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "SandboxControlError"
    assert expected in response.json()["error"]["message"]
    assert akv_sandbox.client.status()["faults"] == []


def test_bad_fault_reports_every_problem_at_once(akv_sandbox):
    message = control_error(
        lambda: akv_sandbox.client.add_fault("boom", target="nowhere", count=-2)
    )

    assert "kind must be" in message
    assert "target must be" in message
    assert "count must be" in message


# -- secrets, firewall, client secrets -----------------------------------------------------
def test_disabled_secret_is_forbidden_until_enabled(akv_sandbox, backend_credential):
    secrets = SecretClient(vault_url(), backend_credential)
    akv_sandbox.client.disable_secret(SAMPLE)

    with pytest.raises(HttpResponseError) as caught:
        secrets.get_secret(SAMPLE)
    assert caught.value.status_code == 403
    assert caught.value.response.json()["error"]["innererror"]["code"] == "SecretDisabled"
    assert "disabled secret" in caught.value.error.message
    # Listing still shows it, marked disabled.
    listed = {p.name: p.enabled for p in secrets.list_properties_of_secrets()}
    assert listed[SAMPLE] is False

    akv_sandbox.client.disable_secret(SAMPLE, enable=True)
    assert secrets.get_secret(SAMPLE).value


def test_disabling_an_unknown_secret_is_404(akv_sandbox):
    assert "404" in control_error(lambda: akv_sandbox.client.disable_secret("no-such-secret"))


def test_closed_firewall_is_forbidden_by_firewall_until_opened(akv_sandbox, backend_credential):
    secrets = warm_client(backend_credential)
    akv_sandbox.client.set_firewall("closed")

    with pytest.raises(HttpResponseError) as caught:
        secrets.get_secret(SAMPLE)
    assert caught.value.status_code == 403
    assert caught.value.response.json()["error"]["innererror"]["code"] == "ForbiddenByFirewall"
    assert "Client address: 127.0.0.1" in caught.value.error.message
    assert akv_sandbox.client.status()["vaults"][VAULT]["firewall"] == "closed"

    akv_sandbox.client.set_firewall("open")
    assert secrets.get_secret(SAMPLE).value


def test_firewall_state_must_be_open_or_closed(akv_sandbox):
    message = control_error(lambda: akv_sandbox.client.set_firewall("shut"))

    assert "400" in message and "open or closed" in message
    assert akv_sandbox.client.status()["vaults"][VAULT]["firewall"] == "open"


def test_expired_client_secret_fails_new_sign_ins_with_aadsts7000222(
    akv_sandbox, backend_credential
):
    secrets = warm_client(backend_credential)
    akv_sandbox.client.expire_client_secret("airflow-backend")

    assert secrets.get_secret(SAMPLE).value  # an issued token stays valid until it expires
    with pytest.raises(ClientAuthenticationError) as caught:
        fresh_credential(akv_sandbox).get_token("https://vault.azure.net/.default")
    assert "AADSTS7000222" in str(caught.value)
    # Other principals are unaffected.
    assert credential_for(akv_sandbox, "admin").get_token("https://vault.azure.net/.default")


def test_expiring_an_unknown_app_is_404(akv_sandbox):
    assert "404" in control_error(lambda: akv_sandbox.client.expire_client_secret("nobody"))


def test_propagation_delay_must_be_a_non_negative_number(akv_sandbox):
    assert "400" in control_error(lambda: akv_sandbox.client.set_propagation_delay(-1))
    assert "400" in control_error(lambda: akv_sandbox.client.set_propagation_delay("soon"))


# -- the control API itself ----------------------------------------------------------------
def test_control_api_requires_the_bearer_control_token(akv_sandbox):
    anonymous = raw_control(akv_sandbox, "GET", "/status")
    wrong = raw_control(akv_sandbox, "POST", "/reset", token="guess")
    right = raw_control(akv_sandbox, "GET", "/status", akv_sandbox.state.control_token)

    assert anonymous.status_code == wrong.status_code == 401
    assert "control-token" in anonymous.json()["error"]["message"]
    assert right.status_code == 200


def test_control_token_is_kept_private_in_the_state_directory(akv_sandbox):
    token_file = akv_sandbox.state_dir / "control-token"

    assert token_file.read_text().strip() == akv_sandbox.state.control_token
    assert token_file.stat().st_mode & 0o077 == 0


def test_control_api_rejects_unknown_endpoints_and_non_object_bodies(akv_sandbox):
    token = akv_sandbox.state.control_token

    assert raw_control(akv_sandbox, "GET", "/nothing-here", token).status_code == 404
    assert raw_control(akv_sandbox, "POST", "/seed", token, json=["a"]).status_code == 400


def test_control_api_is_not_reachable_through_the_proxy(akv_sandbox):
    # A client pointed at the proxy can only tunnel to emulated Azure hosts.
    response = requests.get(
        f"http://127.0.0.1:{akv_sandbox.port}/_sandbox/status",
        proxies={"http": f"http://127.0.0.1:{akv_sandbox.port}"},
        timeout=10,
    )

    assert response.status_code == 403
    assert "not an open proxy" in response.text


def test_status_describes_the_running_sandbox(akv_sandbox):
    akv_sandbox.client.add_fault("latency", latency_ms=5, target="arm")
    status = akv_sandbox.client.status()

    assert status["scenario"] == "default"
    assert status["ephemeral"] is True
    assert set(status["apps"]) == {"admin", "airflow-backend", "airflow-workload"}
    assert status["vaults"][VAULT]["permission_model"] == "rbac"
    assert status["vaults"][POLICY_VAULT]["permission_model"] == "access_policy"
    assert status["vaults"][VAULT]["uri"] == vault_url()
    assert set(status["managed_identities"]) == {"airflow-uami", "airflow-host"}
    assert status["role_assignments"] == 6
    assert status["faults"][0]["target"] == "arm"


def test_env_describes_each_principal(akv_sandbox):
    backend = akv_sandbox.client.env("airflow-backend")
    admin = akv_sandbox.client.env("admin")

    assert backend["AZURE_CLIENT_ID"] != admin["AZURE_CLIENT_ID"]
    assert backend["AZURE_TENANT_ID"] == admin["AZURE_TENANT_ID"]
    assert backend["AZURE_KEYVAULT_URL"] == vault_url()
    assert backend["AZURE_TOKEN_CREDENTIALS"] == "EnvironmentCredential"
    assert "404" in control_error(lambda: akv_sandbox.client.env("nobody"))


def test_entra_fault_surfaces_from_the_token_endpoint_not_as_a_discovery_failure(akv_sandbox):
    env = akv_sandbox.client.env()
    akv_sandbox.client.add_fault("throttle", target="entra", count=50, retry_after=0)
    credential = ClientSecretCredential(
        env["AZURE_TENANT_ID"], env["AZURE_CLIENT_ID"], env["AZURE_CLIENT_SECRET"], retry_total=0
    )
    with pytest.raises(ClientAuthenticationError) as err:
        credential.get_token("https://vault.azure.net/.default")
    assert "AADSTS50196" in str(err.value)
    assert "authority configuration" not in str(err.value)
