"""Key Vault secrets through the unmodified azure-keyvault-secrets SecretClient (sync)."""

from __future__ import annotations

import time
import uuid

import pytest
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.identity import ClientSecretCredential, DefaultAzureCredential, EnvironmentCredential
from azure.keyvault.secrets import SecretClient

from tests.conftest import POLICY_VAULT, SAMPLE, vault_url

CREDENTIALS = ["client_secret", "environment", "default"]
FAST_RETRY = {"retry_backoff_factor": 0.01}


def inner_code(err: HttpResponseError) -> str | None:
    return ((err.response.json()["error"]).get("innererror") or {}).get("code")


@pytest.fixture(params=CREDENTIALS)
def admin_client(request, akv_sandbox, monkeypatch) -> SecretClient:
    """A SecretClient for the admin principal, built with each kind of credential."""
    env = akv_sandbox.client.env("admin")
    for key in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"):
        monkeypatch.setenv(key, env[key])
    credential = {
        "client_secret": lambda: ClientSecretCredential(
            env["AZURE_TENANT_ID"], env["AZURE_CLIENT_ID"], env["AZURE_CLIENT_SECRET"]
        ),
        "environment": EnvironmentCredential,
        "default": DefaultAzureCredential,
    }[request.param]()
    return SecretClient(vault_url(), credential)


@pytest.fixture
def admin(admin_credential) -> SecretClient:
    return SecretClient(vault_url(), admin_credential)


@pytest.fixture
def backend(backend_credential) -> SecretClient:
    return SecretClient(vault_url(), backend_credential)


# -- lifecycle ---------------------------------------------------------------------------------


def test_set_get_versions_and_update_properties(admin_client):
    first = admin_client.set_secret(
        "lifecycle", "v1", content_type="text/plain", tags={"owner": "data"}
    )
    assert first.name == "lifecycle"
    assert first.value == "v1"
    assert len(first.properties.version) == 32
    assert first.properties.content_type == "text/plain"
    assert first.properties.tags == {"owner": "data"}
    assert first.properties.enabled is True
    assert first.properties.recovery_level == "Recoverable+Purgeable"
    assert first.properties.vault_url == vault_url().rstrip("/")

    second = admin_client.set_secret("lifecycle", "v2")
    assert second.properties.version != first.properties.version

    latest = admin_client.get_secret("lifecycle")
    assert (latest.value, latest.properties.version) == ("v2", second.properties.version)
    old = admin_client.get_secret("lifecycle", first.properties.version)
    assert (old.value, old.properties.version) == ("v1", first.properties.version)

    updated = admin_client.update_secret_properties(
        "lifecycle",
        first.properties.version,
        content_type="application/json",
        tags={"owner": "platform", "tier": "gold"},
        enabled=False,
    )
    assert updated.version == first.properties.version
    assert updated.content_type == "application/json"
    assert updated.tags == {"owner": "platform", "tier": "gold"}
    assert updated.enabled is False
    assert updated.updated_on >= updated.created_on

    # The disabled old version refuses reads; the latest one still works.
    with pytest.raises(HttpResponseError) as caught:
        admin_client.get_secret("lifecycle", first.properties.version)
    assert caught.value.status_code == 403
    assert inner_code(caught.value) == "SecretDisabled"
    assert admin_client.get_secret("lifecycle").value == "v2"

    # Properties updates never change the value.
    admin_client.update_secret_properties("lifecycle", first.properties.version, enabled=True)
    assert admin_client.get_secret("lifecycle", first.properties.version).value == "v1"


def test_list_properties_of_secrets_pages_over_more_than_25(admin_client):
    names = {f"bulk-{i:02d}" for i in range(30)}
    for name in names:
        admin_client.set_secret(name, f"value of {name}")
    listed = list(admin_client.list_properties_of_secrets())
    all_names = {p.name for p in listed}
    assert names <= all_names
    assert len(listed) == len(all_names) == 33  # 30 + the scenario's 3 samples
    assert SAMPLE in all_names
    assert all(p.version is None for p in listed)  # list-all ids carry no version

    pages = [list(page) for page in admin_client.list_properties_of_secrets().by_page()]
    assert [len(p) for p in pages] == [25, 8]
    small = admin_client.list_properties_of_secrets(max_page_size=10).by_page()
    assert [len(list(page)) for page in small] == [10, 10, 10, 3]


def test_list_properties_of_secret_versions(admin_client):
    versions = {admin_client.set_secret("versioned", f"v{i}").properties.version for i in range(4)}
    listed = list(admin_client.list_properties_of_secret_versions("versioned"))
    assert {p.version for p in listed} == versions
    assert all(p.name == "versioned" for p in listed)


def test_soft_delete_recover_delete_again_and_purge(admin_client):
    admin_client.set_secret("doomed", "precious")
    deleted = admin_client.begin_delete_secret("doomed").result()
    assert deleted.name == "doomed"
    assert deleted.recovery_id == f"{vault_url()}deletedsecrets/doomed"
    assert deleted.deleted_date is not None
    assert deleted.scheduled_purge_date > deleted.deleted_date
    assert deleted.properties.recoverable_days == 90

    with pytest.raises(ResourceNotFoundError):
        admin_client.get_secret("doomed")
    assert admin_client.get_deleted_secret("doomed").recovery_id == deleted.recovery_id
    assert [d.name for d in admin_client.list_deleted_secrets()] == ["doomed"]

    with pytest.raises(ResourceExistsError) as caught:
        admin_client.set_secret("doomed", "reuse")
    assert caught.value.status_code == 409
    assert inner_code(caught.value) == "ObjectIsDeletedButRecoverable"

    recovered = admin_client.begin_recover_deleted_secret("doomed").result()
    assert recovered.name == "doomed"
    assert admin_client.get_secret("doomed").value == "precious"
    assert list(admin_client.list_deleted_secrets()) == []

    admin_client.begin_delete_secret("doomed").wait()
    admin_client.purge_deleted_secret("doomed")
    with pytest.raises(ResourceNotFoundError) as gone:
        admin_client.get_deleted_secret("doomed")
    assert gone.value.error.code == "SecretNotFound"
    # After a purge the name is free again.
    assert admin_client.set_secret("doomed", "reborn").value == "reborn"


def test_backup_then_purge_then_restore(admin):
    original = admin.set_secret("backed-up", "restore me", tags={"k": "v"})
    blob = admin.backup_secret("backed-up")
    assert isinstance(blob, bytes) and blob
    admin.begin_delete_secret("backed-up").wait()
    admin.purge_deleted_secret("backed-up")
    with pytest.raises(ResourceNotFoundError):
        admin.get_secret("backed-up")

    restored = admin.restore_secret_backup(blob)
    assert restored.name == "backed-up"
    assert restored.version == original.properties.version
    assert restored.tags == {"k": "v"}
    assert admin.get_secret("backed-up").value == "restore me"

    with pytest.raises(ResourceExistsError) as caught:
        admin.restore_secret_backup(blob)
    assert caught.value.status_code == 409


# -- errors ------------------------------------------------------------------------------------


def test_missing_secret_raises_ResourceNotFoundError_SecretNotFound(admin):
    with pytest.raises(ResourceNotFoundError) as caught:
        admin.get_secret("no-such-secret")
    assert caught.value.status_code == 404
    assert caught.value.error.code == "SecretNotFound"
    assert "A secret with (name/id) no-such-secret was not found" in caught.value.message


def test_missing_version_raises_ResourceNotFoundError(admin):
    with pytest.raises(ResourceNotFoundError) as caught:
        admin.get_secret(SAMPLE, uuid.uuid4().hex)
    assert caught.value.error.code == "SecretNotFound"


def test_disabled_secret_raises_403_SecretDisabled(akv_sandbox, backend):
    akv_sandbox.client.disable_secret(SAMPLE)
    with pytest.raises(HttpResponseError) as caught:
        backend.get_secret(SAMPLE)
    assert caught.value.status_code == 403
    assert caught.value.error.code == "Forbidden"
    assert inner_code(caught.value) == "SecretDisabled"
    assert "Operation get is not allowed on a disabled secret." in caught.value.message


INVALID_NAMES = ["bad.name", "bad_name", "spaced name", "\u00fcn\u00ef", "x" * 128]


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_invalid_name_reaching_the_wire_is_400_BadParameter(admin, name):
    with pytest.raises(HttpResponseError) as caught:
        admin.set_secret(name, "v")
    assert caught.value.status_code == 400
    assert caught.value.error.code == "BadParameter"
    assert f"The request URI contains an invalid name: {name}" in caught.value.message


def test_longest_valid_name_is_accepted(admin):
    name = "n" * 127
    assert admin.set_secret(name, "v").name == name


def test_value_over_25_kb_is_400_BadParameter(admin):
    assert admin.set_secret("big", "x" * 25 * 1024).value == "x" * 25 * 1024
    with pytest.raises(HttpResponseError) as caught:
        admin.set_secret("big", "x" * (25 * 1024 + 1))
    assert caught.value.status_code == 400
    assert caught.value.error.code == "BadParameter"


def test_secret_names_are_case_insensitive(admin):
    admin.set_secret("Mixed-Case-Name", "one")
    got = admin.get_secret("mixed-case-name")
    assert got.value == "one"
    assert got.name.lower() == "mixed-case-name"
    admin.set_secret("MIXED-CASE-NAME", "two")
    assert admin.get_secret("Mixed-Case-Name").value == "two"
    assert len(list(admin.list_properties_of_secret_versions("mixed-CASE-name"))) == 2
    assert [p.name.lower() for p in admin.list_properties_of_secrets()].count(
        "mixed-case-name"
    ) == 1


def test_secrets_user_can_read_but_set_is_403_ForbiddenByRbac(backend):
    assert backend.get_secret(SAMPLE).value
    with pytest.raises(HttpResponseError) as caught:
        backend.set_secret("not-allowed", "v")
    assert caught.value.status_code == 403
    assert caught.value.error.code == "Forbidden"
    assert inner_code(caught.value) == "ForbiddenByRbac"
    assert "Microsoft.KeyVault/vaults/secrets/setSecret/action" in caught.value.message
    assert "Retry-After" not in caught.value.response.headers


def test_access_policy_vault_allows_get_and_list_but_set_is_403_ForbiddenByPolicy(
    backend_credential,
):
    client = SecretClient(vault_url(POLICY_VAULT), backend_credential)
    assert client.get_secret(SAMPLE).value == "sandbox sample value from the access-policy vault"
    assert [p.name for p in client.list_properties_of_secrets()] == [SAMPLE]
    with pytest.raises(HttpResponseError) as caught:
        client.set_secret("not-allowed", "v")
    assert caught.value.status_code == 403
    assert inner_code(caught.value) == "ForbiddenByPolicy"
    assert "does not have secrets set permission" in caught.value.message


def test_closed_firewall_raises_403_ForbiddenByFirewall(akv_sandbox, backend):
    akv_sandbox.client.set_firewall("closed")
    with pytest.raises(HttpResponseError) as caught:
        backend.get_secret(SAMPLE)
    assert caught.value.status_code == 403
    assert inner_code(caught.value) == "ForbiddenByFirewall"
    akv_sandbox.client.set_firewall("open")
    assert backend.get_secret(SAMPLE).value


# -- faults and retries --------------------------------------------------------------------------


def test_throttling_is_retried_by_the_sdk_and_succeeds(akv_sandbox, admin_credential):
    client = SecretClient(vault_url(), admin_credential, **FAST_RETRY)
    akv_sandbox.client.add_fault("throttle", target="keyvault", count=2, retry_after=0)
    assert client.get_secret(SAMPLE).value
    assert akv_sandbox.client.status()["faults"] == []


def test_sdk_waits_for_retry_after_on_429(akv_sandbox, admin_credential):
    client = SecretClient(vault_url(), admin_credential, **FAST_RETRY)
    client.get_secret(SAMPLE)  # token and challenge already done
    akv_sandbox.client.add_fault("throttle", target="keyvault", count=1, retry_after=1)
    started = time.monotonic()
    assert client.get_secret(SAMPLE).value
    assert 0.9 <= time.monotonic() - started < 5


def test_throttling_beyond_the_retry_budget_raises_429(akv_sandbox, admin_credential):
    client = SecretClient(vault_url(), admin_credential, retry_total=1, **FAST_RETRY)
    akv_sandbox.client.add_fault("throttle", target="keyvault", count=5, retry_after=0)
    with pytest.raises(HttpResponseError) as caught:
        client.get_secret(SAMPLE)
    assert caught.value.status_code == 429
    assert caught.value.error.code == "Throttled"
    assert caught.value.response.headers["Retry-After"] == "0"


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried_by_the_sdk_and_succeed(akv_sandbox, admin_credential, status):
    client = SecretClient(vault_url(), admin_credential, **FAST_RETRY)
    akv_sandbox.client.add_fault("error", target="keyvault", count=2, status=status)
    assert client.get_secret(SAMPLE).value


def test_server_errors_beyond_the_retry_budget_raise(akv_sandbox, admin_credential):
    client = SecretClient(vault_url(), admin_credential, retry_total=1, **FAST_RETRY)
    akv_sandbox.client.add_fault("error", target="keyvault", count=5, status=503)
    with pytest.raises(HttpResponseError) as caught:
        client.get_secret(SAMPLE)
    assert caught.value.status_code == 503


def test_fault_on_one_vault_leaves_the_other_alone(akv_sandbox, backend_credential):
    akv_sandbox.client.add_fault("error", target=f"vault:{POLICY_VAULT}", status=503)
    rbac = SecretClient(vault_url(), backend_credential)
    assert rbac.get_secret(SAMPLE).value
    policy = SecretClient(vault_url(POLICY_VAULT), backend_credential, retry_total=0)
    with pytest.raises(HttpResponseError) as caught:
        policy.get_secret(SAMPLE)
    assert caught.value.status_code == 503
