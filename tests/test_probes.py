"""Live probes against the sandbox: one healthy run, then one injected fault per diagnosis.

Every test runs the real probe (unmodified azure-identity, azure-keyvault-secrets, ARM SDKs and
Airflow's AzureKeyVaultBackend) through the sandbox proxy, asserts the exact finding code, and
checks that nothing rendered contains a client secret or a stored secret value.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from typing import TYPE_CHECKING

import certifi
import pytest

from helpers.common.redact import fingerprint
from helpers.findings import Severity, render_html, render_text, to_json
from helpers.probe import ProbeResult, decode_claims, diagnose, probe
from helpers.sandbox import Sandbox
from helpers.settings import Credential, Settings
from tests.conftest import POLICY_VAULT, SAMPLE, credential_for, vault_url
from tests.sandbox.conftest import (
    BACKEND_OID,
    RG,
    ROLE,
    TENANT_ID,
    assignment,
    policy_update,
    subscription,
    vault_scope,
)

if TYPE_CHECKING:
    from azure.mgmt.authorization import AuthorizationManagementClient

BACKEND_APP_ID = "3c9e1f7a-2d4b-4a6c-8e0f-5b7d9f1a3c42"


# -- helpers -------------------------------------------------------------------------------
def backend_settings(vault: str | None = None, **overrides) -> Settings:
    """The backend principal's settings, as the seed document configures it."""
    values = {
        "name": "sandbox",
        "vault_url": vault_url(vault) if vault else os.environ["AZURE_KEYVAULT_URL"],
        "tenant_id": os.environ["AZURE_TENANT_ID"],
        "client_id": os.environ["AZURE_CLIENT_ID"],
        "variables": ["sample-variable"],
        "connections": ["sample-connection", "sample-json-connection"],
    }
    values.update(overrides)
    return Settings(**values)


def admin_auth_client(sandbox: Sandbox) -> AuthorizationManagementClient:
    from azure.mgmt.authorization import AuthorizationManagementClient

    return AuthorizationManagementClient(credential_for(sandbox, "admin"), subscription())


def revoke_backend_roles(sandbox: Sandbox, scope: str | None = None) -> int:
    """Delete every role assignment of the backend principal visible at the vault (as admin)."""
    auth = admin_auth_client(sandbox)
    found = list(
        auth.role_assignments.list_for_scope(
            scope or vault_scope(), filter=f"principalId eq '{BACKEND_OID}'"
        )
    )
    for a in found:
        auth.role_assignments.delete(a.scope, a.name)
    return len(found)


def codes(result: ProbeResult) -> list[str]:
    return [f.code for f in result.findings]


def assert_no_secret_values(result: ProbeResult, sandbox: Sandbox) -> None:
    rendered = "\n".join(
        [
            str(result),
            result._repr_html_(),
            json.dumps(result.to_dict()),
            render_text(result.findings),
            render_html(result.findings),
            to_json(result.findings),
        ]
    )
    for value in sandbox.secret_values():
        assert value not in rendered


def only(result: ProbeResult, code: str):
    found = [f for f in result.findings if f.code == code]
    assert found, f"{code} not in {codes(result)}"
    return found[0]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- healthy -------------------------------------------------------------------------------
def test_healthy_probe_reports_only_ok_findings_and_the_object_id(akv_sandbox):
    result = probe(backend_settings())

    assert result.ok
    # the backend cannot see the vault through ARM: least privilege is not proven (PERM-006)
    assert {f.severity for f in result.findings} == {Severity.OK, Severity.INFO}
    assert codes(result) == [
        "AKV-AUTH-001",
        "AKV-NET-002",
        "AKV-SECRET-001",
        "AKV-SECRET-001",
        "AKV-SECRET-001",
        "AKV-PERM-006",
    ]
    assert result.claims == {"tid": TENANT_ID, "appid": BACKEND_APP_ID, "oid": BACKEND_OID}
    assert result.claims["oid"] == "9a1c3e5f-7b2d-4f6a-8c0e-2d4f6b8a0c53"
    read = only(result, "AKV-SECRET-001")
    assert read.data["secret_name"] == SAMPLE
    assert read.data["fingerprint"] == fingerprint("sandbox sample value, read through Key Vault")
    assert "SDK and Airflow backend" in read.detail
    for key in ("token", "vault", f"sdk:{SAMPLE}", f"backend:{SAMPLE}", "arm"):
        assert result.latencies[key] >= 0
    assert_no_secret_values(result, akv_sandbox)


def test_probe_result_serialises_to_json_without_secrets(akv_sandbox):
    result = probe(backend_settings(), through_backend=False)

    data = json.loads(json.dumps(result.to_dict()))

    assert data["ok"] is True
    assert data["claims"]["oid"] == BACKEND_OID
    assert set(data["claims"]) == {"tid", "appid", "oid"}
    assert data["permission_model"] == "unknown"
    assert all(isinstance(v, float) for v in data["latencies"].values())
    assert_no_secret_values(result, akv_sandbox)


def test_probe_with_an_environ_mapping_leaves_os_environ_untouched(akv_sandbox):
    before = dict(os.environ)
    environ = dict(os.environ, MY_SECRET=os.environ["AZURE_CLIENT_SECRET"])
    environ.pop("AZURE_CLIENT_SECRET")

    result = probe(backend_settings(client_secret_env="MY_SECRET"), environ=environ)

    assert result.ok, codes(result)
    assert dict(os.environ) == before


def test_access_policy_vault_reads_fine_with_get_and_list(akv_sandbox):
    result = probe(backend_settings(POLICY_VAULT, connections=[]))

    assert result.ok, codes(result)
    assert codes(result).count("AKV-SECRET-001") == 1


def test_decode_claims_tolerates_garbage():
    assert decode_claims("not-a-jwt") == {}
    assert decode_claims("a.!!!.c") == {}
    assert decode_claims("") == {}


# -- sign-in -------------------------------------------------------------------------------
def test_wrong_client_secret_reports_AKV_AUTH_003(akv_sandbox):
    environ = dict(os.environ, AZURE_CLIENT_SECRET="wrong-secret-value")

    result = probe(backend_settings(), environ=environ)

    finding = only(result, "AKV-AUTH-003")
    assert finding.data["aadsts"] == "AADSTS7000215"
    assert "Secret ID" not in finding.detail
    assert not result.ok
    assert "AKV-SECRET-001" not in codes(result)
    assert_no_secret_values(result, akv_sandbox)


def test_secret_id_pasted_instead_of_value_is_called_out(akv_sandbox):
    environ = dict(os.environ, AZURE_CLIENT_SECRET=str(uuid.uuid4()))

    result = probe(backend_settings(), environ=environ)

    assert "Secret ID, not its Value" in only(result, "AKV-AUTH-003").detail
    assert environ["AZURE_CLIENT_SECRET"] not in str(result)


def test_expired_client_secret_reports_AKV_AUTH_004(akv_sandbox):
    akv_sandbox.client.expire_client_secret("airflow-backend")

    result = probe(backend_settings())

    assert only(result, "AKV-AUTH-004").data["aadsts"] == "AADSTS7000222"
    assert_no_secret_values(result, akv_sandbox)


def test_unknown_client_id_reports_AKV_AUTH_005(akv_sandbox):
    result = probe(backend_settings(client_id=str(uuid.uuid4())))

    assert only(result, "AKV-AUTH-005").data["aadsts"] == "AADSTS700016"
    assert_no_secret_values(result, akv_sandbox)


def test_unknown_tenant_reports_AKV_AUTH_006(akv_sandbox):
    tenant = str(uuid.uuid4())

    result = probe(backend_settings(tenant_id=tenant))

    assert tenant in only(result, "AKV-AUTH-006").detail
    assert_no_secret_values(result, akv_sandbox)


def test_tenant_domain_name_fails_the_vault_challenge_AKV_AUTH_007(akv_sandbox):
    # The token is issued (the domain is a valid authority), but the vault's challenge names
    # the tenant GUID and the credential compares tenants literally.
    result = probe(backend_settings(tenant_id="sandbox.onmicrosoft.com"))

    assert "AKV-AUTH-001" in codes(result)
    finding = only(result, "AKV-AUTH-007")
    assert finding.data["vault_tenant"] == TENANT_ID
    assert f"use the GUID {TENANT_ID}" in finding.detail
    assert_no_secret_values(result, akv_sandbox)


def test_unset_client_secret_variable_reports_AKV_SET_025(akv_sandbox):
    environ = {k: v for k, v in os.environ.items() if k != "AZURE_CLIENT_SECRET"}

    result = probe(backend_settings(), environ=environ)

    assert codes(result)[0] == "AKV-SET-025"  # AKV-AUTH-002 is its retired alias
    assert "AZURE_CLIENT_SECRET" in result.findings[0].detail


def test_missing_tenant_reports_AKV_AUTH_011(akv_sandbox):
    result = probe(backend_settings(tenant_id=""))

    assert "tenant_id" in only(result, "AKV-AUTH-011").detail


def test_managed_identity_outside_azure_reports_AKV_AUTH_018(akv_sandbox):
    result = probe(backend_settings(credential=Credential.MANAGED_IDENTITY), timeout=2)

    assert "AKV-AUTH-018" in codes(result)  # no managed identity endpoint answered (issue 12)


def test_workload_identity_without_token_file_reports_AKV_AUTH_017(akv_sandbox):
    environ = {k: v for k, v in os.environ.items() if k != "AZURE_FEDERATED_TOKEN_FILE"}

    result = probe(backend_settings(credential=Credential.WORKLOAD_IDENTITY), environ=environ)

    assert "AZURE_FEDERATED_TOKEN_FILE" in only(result, "AKV-AUTH-017").detail


def test_entra_throttling_reports_AKV_SVC_001_at_sign_in(akv_sandbox):
    akv_sandbox.client.add_fault("throttle", target="entra", retry_after=0)

    result = probe(backend_settings(), retries=0)

    finding = only(result, "AKV-SVC-001")
    assert finding.subject == "sign-in"


# -- network -------------------------------------------------------------------------------
def test_untrusted_ca_bundle_reports_CERTIFICATE_VERIFY_FAILED_AKV_NET_003(akv_sandbox):
    environ = dict(os.environ, REQUESTS_CA_BUNDLE=certifi.where())

    result = probe(backend_settings(), environ=environ)

    found = [f for f in result.findings if f.code == "AKV-NET-003"]
    assert {f.subject for f in found} == {"sign-in", "vault airflow-sandbox-kv.vault.azure.net"}
    assert all("CERTIFICATE_VERIFY_FAILED" in f.detail for f in found)
    assert_no_secret_values(result, akv_sandbox)


def test_unknown_vault_name_reports_AKV_NET_004(akv_sandbox):
    result = probe(backend_settings(vault_url="https://no-such-kv.vault.azure.net/"))

    assert "AKV-AUTH-001" in codes(result)
    assert "502" in only(result, "AKV-NET-004").detail
    assert not any(c.startswith("AKV-SECRET") for c in codes(result))


def test_proxy_down_reports_AKV_NET_005(akv_sandbox):
    proxy = f"http://127.0.0.1:{closed_port()}"
    environ = dict(os.environ, HTTPS_PROXY=proxy, https_proxy=proxy)

    result = probe(backend_settings(), environ=environ)

    assert {f.subject for f in result.findings if f.code == "AKV-NET-005"} == {
        "sign-in",
        "vault airflow-sandbox-kv.vault.azure.net",
    }
    assert os.environ["HTTPS_PROXY"] != proxy


def test_plain_http_vault_url_reports_AKV_SET_002(akv_sandbox):
    result = probe(backend_settings(vault_url="http://airflow-sandbox-kv.vault.azure.net/"))

    assert "AKV-SET-002" in codes(result)  # AKV-NET-001 is its retired alias


def test_slow_vault_beyond_the_timeout_reports_AKV_NET_007(akv_sandbox):
    akv_sandbox.client.add_fault("latency", target="keyvault", latency_ms=2000)

    result = probe(backend_settings(), timeout=0.5, retries=0, check_roles=False)

    assert "AKV-NET-007" in codes(result)


# -- permissions ---------------------------------------------------------------------------
def test_no_role_reports_forbidden_by_rbac_AKV_PERM_001(akv_sandbox):
    assert revoke_backend_roles(akv_sandbox) == 1

    result = probe(backend_settings())

    assert codes(result).count("AKV-PERM-001") == 3  # one per expected secret
    finding = only(result, "AKV-PERM-001")
    assert finding.data["object_id"] == BACKEND_OID
    assert finding.data["action"] == "Microsoft.KeyVault/vaults/secrets/getSecret/action"
    assert "Key Vault Secrets User" in finding.detail
    assert result.permission_model == "rbac"
    assert_no_secret_values(result, akv_sandbox)


def test_access_policy_without_get_reports_AKV_PERM_002(akv_sandbox):
    from azure.mgmt.keyvault import KeyVaultManagementClient

    admin_kv = KeyVaultManagementClient(credential_for(akv_sandbox, "admin"), subscription())
    admin_kv.vaults.update_access_policy(
        RG, POLICY_VAULT, "remove", policy_update(BACKEND_OID, "get")
    )

    result = probe(backend_settings(POLICY_VAULT, connections=[]))

    finding = only(result, "AKV-PERM-002")
    assert finding.data["permission"] == "get"
    assert finding.data["innererror"] == "ForbiddenByPolicy"
    assert result.permission_model == "access_policy"
    assert_no_secret_values(result, akv_sandbox)


def test_closed_firewall_reports_AKV_PERM_003(akv_sandbox):
    akv_sandbox.client.set_firewall("closed")

    result = probe(backend_settings())

    assert codes(result).count("AKV-PERM-003") == 1  # reads stop after a vault-wide refusal
    assert only(result, "AKV-PERM-003").data["client_address"]
    assert_no_secret_values(result, akv_sandbox)


def test_contributor_role_is_reported_beyond_least_privilege_AKV_PERM_004(akv_sandbox):
    admin_auth_client(akv_sandbox).role_assignments.create(
        vault_scope(), str(uuid.uuid4()), assignment(ROLE["Key Vault Contributor"], BACKEND_OID)
    )

    result = probe(backend_settings())

    finding = only(result, "AKV-PERM-004")
    assert finding.data["roles"] == ["Key Vault Contributor"]
    assert "grants no access to secret values" in finding.detail
    assert result.permission_model == "rbac"
    assert codes(result).count("AKV-SECRET-001") == 3


def test_secrets_officer_alone_never_passes_least_privilege(akv_sandbox):
    """Secrets Officer's Microsoft.KeyVault/vaults/*/read covers vaults/read, as in Azure
    (helpers.sandbox.arm.rbac.action_matches), so the backend sees the vault and its own
    roles: beyond least privilege (AKV-PERM-004), never a pass."""
    admin_auth_client(akv_sandbox).role_assignments.create(
        vault_scope(),
        str(uuid.uuid4()),
        assignment(ROLE["Key Vault Secrets Officer"], BACKEND_OID),
    )

    result = probe(backend_settings())

    assert "AKV-PERM-005" not in codes(result)
    assert "AKV-PERM-004" in codes(result)


def test_probe_without_subscription_skips_roles_AKV_PERM_006(akv_sandbox):
    environ = {k: v for k, v in os.environ.items() if k != "AZURE_SUBSCRIPTION_ID"}

    result = probe(backend_settings(), environ=environ, through_backend=False)

    assert "AKV-PERM-006" in codes(result)
    assert result.ok


# -- secrets -------------------------------------------------------------------------------
def test_disabled_secret_reports_AKV_SECRET_003(akv_sandbox):
    akv_sandbox.client.disable_secret(SAMPLE)

    result = probe(backend_settings())

    assert only(result, "AKV-SECRET-003").subject == "variable sample-variable"
    assert codes(result).count("AKV-SECRET-001") == 2  # the connections still read
    assert_no_secret_values(result, akv_sandbox)


def test_missing_secret_names_the_exact_secret_AKV_SECRET_002(akv_sandbox):
    result = probe(backend_settings(variables=["sample_variable", "no_such_var"]))

    finding = only(result, "AKV-SECRET-002")
    assert finding.subject == "variable no_such_var"
    assert "'airflow-variables-no-such-var'" in finding.detail
    # sample_variable reads the same secret as sample-variable ('_' becomes '-')
    assert codes(result).count("AKV-SECRET-001") == 3
    assert_no_secret_values(result, akv_sandbox)


def test_invalid_secret_name_is_reported_without_a_request(akv_sandbox):
    result = probe(backend_settings(variables=["PythonVirtualenvOperator.cache_key"]))

    assert "AKV-NAME-001" in codes(result)
    assert not any(k.startswith("sdk:airflow-variables-Python") for k in result.latencies)


def test_unparseable_connection_reports_AKV_SECRET_004(akv_sandbox):
    akv_sandbox.client.seed({"airflow-connections-broken": '{"conn_type": "http", '})

    result = probe(backend_settings(variables=[], connections=["broken"]))

    assert "while parsing" in only(result, "AKV-SECRET-004").detail
    assert_no_secret_values(result, akv_sandbox)


def test_no_expected_secrets_reports_AKV_SECRET_006(akv_sandbox):
    result = probe(backend_settings(variables=[], connections=[]), check_roles=False)

    assert "AKV-SECRET-006" in codes(result)


# -- service -------------------------------------------------------------------------------
def test_throttling_beyond_retries_reports_AKV_SVC_001_with_retry_after(akv_sandbox):
    akv_sandbox.client.add_fault("throttle", target="keyvault", retry_after=1)

    result = probe(backend_settings(), retries=1, check_roles=False)

    finding = only(result, "AKV-SVC-001")
    assert finding.data["status"] == 429
    assert finding.data["retry_after"] == "1"
    assert "Retry-After: 1 s" in finding.detail
    assert codes(result).count("AKV-SVC-001") == 1  # reads stop after the first
    assert_no_secret_values(result, akv_sandbox)


def test_server_errors_report_AKV_SVC_002(akv_sandbox):
    akv_sandbox.client.add_fault("error", target="keyvault", status=503)

    result = probe(backend_settings(), retries=1, check_roles=False)

    assert only(result, "AKV-SVC-002").data["status"] == 503
    assert_no_secret_values(result, akv_sandbox)


# -- never raises --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "overrides",
    [
        {"vault_url": ""},
        {"vault_url": "https://[::1"},
        {"vault_url": None},
        {"credential": "certificate"},
        {"variables": None, "connections": None},
        {"sep": "_", "variables": ["a/b"]},
        {"client_secret_env": ""},
    ],
)
def test_malformed_settings_become_findings_not_exceptions(akv_sandbox, overrides):
    result = probe(backend_settings(**overrides), check_roles=False)

    assert isinstance(result, ProbeResult)
    assert not result.ok or result.findings


def test_diagnose_unknown_exception_reports_type_and_scrubs_secrets():
    err = RuntimeError("boom client_secret=abc123 postgres://user:hunter2@db/x s3cr3t-value")

    finding = diagnose(err, subject="x", sensitive=["s3cr3t-value"])

    assert finding.code == "AKV-SVC-003"
    assert finding.detail.startswith("RuntimeError:")
    for leaked in ("abc123", "hunter2", "s3cr3t-value"):
        assert leaked not in finding.detail


@pytest.mark.parametrize(
    ("error", "code"),
    [
        # as seen from the unmodified SDKs without a proxy (real DNS) and on dropped packets
        (
            "HTTPSConnection(host='kv.vault.azure.net', port=443): Failed to resolve "
            "'kv.vault.azure.net' ([Errno -2] Name or service not known)",
            "AKV-NET-004",
        ),
        ("Connection timed out after 10 s", "AKV-NET-007"),
        ("[Errno 111] Connection refused", "AKV-NET-006"),
        (
            "('Unable to connect to proxy', OSError('Tunnel connection failed: 403 Forbidden'))",
            "AKV-NET-005",
        ),
        ("[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)", "AKV-NET-009"),
    ],
)
def test_transport_errors_without_an_answer_map_to_network_findings(error, code):
    from azure.core.exceptions import ServiceRequestError

    assert diagnose(ServiceRequestError(error), subject="vault").code == code


def test_credential_errors_wrapping_aadsts_codes_map_to_auth_findings():
    from azure.core.exceptions import ClientAuthenticationError

    message = (
        "DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
        "EnvironmentCredential: Authentication failed: AADSTS7000222: The provided client "
        "secret keys for app 'x' are expired. Trace ID: 1"
    )

    finding = diagnose(ClientAuthenticationError(message))

    assert finding.code == "AKV-AUTH-004"
    assert (
        finding.detail == "AADSTS7000222: The provided client secret keys for app 'x' are expired."
    )
