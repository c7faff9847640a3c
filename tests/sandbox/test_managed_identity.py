"""Managed identity against the sandbox (issue 12): the App Service / Container Apps endpoint
(IDENTITY_ENDPOINT + IDENTITY_HEADER) and IMDS (http://169.254.169.254 through HTTP_PROXY),
driven by the unmodified azure-identity credentials, sync and async, plus raw-wire pins of
each endpoint's answers and a corpus of malformed requests (4xx, never 5xx or a drop)."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import urllib.parse
from pathlib import Path
from typing import NamedTuple

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.identity import CredentialUnavailableError, DefaultAzureCredential
from azure.identity import ManagedIdentityCredential as SyncMI
from azure.keyvault.secrets import SecretClient

from helpers.findings.codes.auth import MANAGED_IDENTITY_NOT_FOUND, MANAGED_IDENTITY_REFUSED
from helpers.findings.codes.perm import FORBIDDEN_BY_RBAC
from helpers.sandbox import Sandbox
from helpers.vault.diagnose import diagnose
from tests.conftest import SAMPLE, credential_for
from tests.sandbox.conftest import ROLE, assignment, vault_scope
from tests.sandbox.wire_client import ChildSandbox, exchange, request_bytes

UAMI_CLIENT = "7a3c5e9b-1d2f-4c6e-8b0a-9d1f3b5c7e28"
UAMI_OID = "e1f3a5c7-9b2d-4e6f-8a1c-3d5f7b9e1a39"
HOST_MI_OID = "0a2c4e6b-8d1f-4a3c-9e5b-7f9b1d3a5c51"
UNKNOWN = "00000000-0000-4000-8000-000000000000"
PROTOCOLS = ["managed-identity", "imds"]
VAULT = "https://vault.azure.net"
IMDS_PATH = "http://169.254.169.254/metadata/identity/oauth2/token"


def read_sample(credential) -> str:
    client = SecretClient(os.environ["AZURE_KEYVAULT_URL"], credential)
    return client.get_secret(SAMPLE).value


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_managed_identity_credential_reads_a_secret(akv_sandbox: Sandbox, protocol):
    env = akv_sandbox.apply_environment(credential=protocol)
    assert env["AZURE_CLIENT_ID"] == UAMI_CLIENT
    assert read_sample(SyncMI(client_id=UAMI_CLIENT)).startswith("sandbox sample value")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_default_azure_credential_picks_the_managed_identity_from_the_environment(
    akv_sandbox: Sandbox, protocol
):
    akv_sandbox.apply_environment(credential=protocol)
    assert "AZURE_CLIENT_SECRET" not in os.environ
    assert read_sample(DefaultAzureCredential()).startswith("sandbox sample value")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_async_managed_identity_credential_reads_a_secret(akv_sandbox: Sandbox, protocol):
    from azure.identity.aio import ManagedIdentityCredential
    from azure.keyvault.secrets.aio import SecretClient as AsyncSecretClient

    akv_sandbox.apply_environment(credential=protocol)

    async def read() -> str:
        cred = ManagedIdentityCredential(client_id=UAMI_CLIENT)
        async with cred, AsyncSecretClient(os.environ["AZURE_KEYVAULT_URL"], cred) as client:
            return (await client.get_secret(SAMPLE)).value

    assert asyncio.run(asyncio.wait_for(read(), 30)).startswith("sandbox sample value")


def test_managed_identity_token_carries_the_identitys_oid_and_appid(akv_sandbox: Sandbox):
    import jwt

    akv_sandbox.apply_environment(credential="imds")
    token = SyncMI(client_id=UAMI_CLIENT).get_token(f"{VAULT}/.default").token
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["oid"], claims["appid"], claims["aud"]) == (UAMI_OID, UAMI_CLIENT, VAULT)


@pytest.mark.parametrize(
    ("protocol", "text"),
    [("imds", "Identity not found"), ("managed-identity", "Unable to load the proper Managed")],
)
def test_unknown_client_id_gives_the_endpoints_error_and_AKV_AUTH_015(
    akv_sandbox: Sandbox, protocol, text
):
    akv_sandbox.apply_environment(credential=protocol)
    with pytest.raises(CredentialUnavailableError) as caught:
        SyncMI(client_id=UNKNOWN).get_token(f"{VAULT}/.default")
    assert text in str(caught.value)
    assert diagnose(caught.value, subject="sign-in").code == MANAGED_IDENTITY_NOT_FOUND.code


def test_wrong_identity_header_gives_AKV_AUTH_016(akv_sandbox: Sandbox):
    akv_sandbox.apply_environment(credential="managed-identity")
    os.environ["IDENTITY_HEADER"] = "a-header-of-another-app"
    with pytest.raises((CredentialUnavailableError, ClientAuthenticationError)) as caught:
        SyncMI(client_id=UAMI_CLIENT).get_token(f"{VAULT}/.default")
    assert "X-IDENTITY-HEADER" in str(caught.value)
    assert diagnose(caught.value, subject="sign-in").code == MANAGED_IDENTITY_REFUSED.code


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_system_assigned_identity_without_a_role_gets_403_and_AKV_PERM_rbac(
    akv_sandbox: Sandbox, protocol
):
    akv_sandbox.apply_environment(credential=protocol)
    with pytest.raises(HttpResponseError) as caught:
        read_sample(SyncMI())  # no client id: the host's system-assigned identity
    assert caught.value.status_code == 403
    assert f"oid={HOST_MI_OID}" in str(caught.value)
    assert diagnose(caught.value, subject="read", secret=SAMPLE).code == FORBIDDEN_BY_RBAC.code


def test_a_role_granted_to_a_managed_identity_works_as_for_a_service_principal(
    akv_sandbox: Sandbox,
):
    from azure.mgmt.authorization import AuthorizationManagementClient

    auth = AuthorizationManagementClient(
        credential_for(akv_sandbox, "admin"), os.environ["AZURE_SUBSCRIPTION_ID"]
    )
    auth.role_assignments.create(
        vault_scope(),
        "3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b",
        assignment(ROLE["Key Vault Secrets User"], HOST_MI_OID),
    )
    akv_sandbox.apply_environment(credential="imds", principal="airflow-host")
    assert "AZURE_CLIENT_ID" not in os.environ  # a system-assigned identity needs no id
    assert read_sample(SyncMI()).startswith("sandbox sample value")


# -- the wire ------------------------------------------------------------------------------
def _imds(port: int, query: dict[str, str], headers: dict[str, str] | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", f"{IMDS_PATH}?{urllib.parse.urlencode(query)}", headers=headers or {})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def _app_service(port: int, query: dict[str, str], headers: dict[str, str] | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", f"/msi/token?{urllib.parse.urlencode(query)}", headers=headers or {})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def test_imds_answers_as_imds(akv_sandbox: Sandbox):
    port, good = akv_sandbox.port, {"api-version": "2018-02-01", "resource": VAULT}
    status, body = _imds(port, {**good, "client_id": UAMI_CLIENT}, {"Metadata": "true"})
    assert status == 200
    assert {"access_token", "client_id", "expires_in", "expires_on", "resource"} <= set(body)
    assert body["token_type"] == "Bearer" and body["client_id"] == UAMI_CLIENT
    assert _imds(port, good) == (
        400,
        {"error": "invalid_request", "error_description": "Required metadata header not specified"},
    )
    assert _imds(port, {**good, "client_id": UNKNOWN}, {"Metadata": "true"}) == (
        400,
        {"error": "invalid_request", "error_description": "Identity not found"},
    )
    status, body = _imds(port, {**good, "api-version": "2017-01-01"}, {"Metadata": "true"})
    assert status == 400 and "api-version is invalid" in body["error"]
    assert "newest-versions" in body


def test_app_service_endpoint_answers_as_app_service(akv_sandbox: Sandbox):
    env = akv_sandbox.client.env(credential="managed-identity")
    port, header = akv_sandbox.port, {"X-IDENTITY-HEADER": env["IDENTITY_HEADER"]}
    query = {"api-version": "2019-08-01", "resource": VAULT, "client_id": UAMI_CLIENT}
    status, body = _app_service(port, query, header)
    assert status == 200
    assert set(body) == {"access_token", "expires_on", "resource", "token_type", "client_id"}
    status, body = _app_service(port, {**query, "client_id": UNKNOWN}, header)
    assert status == 400
    assert body["message"] == "Unable to load the proper Managed Identity."
    assert body["statusCode"] == 400 and "correlationId" in body
    assert _app_service(port, query)[0] == 400  # no X-IDENTITY-HEADER


def test_no_identity_on_the_host_answers_identity_not_found(tmp_path):
    scenario = tmp_path / "bare.yaml"
    scenario.write_text(
        "tenants: [{id: 5f0c6e2a-3b1d-4c8e-9a7f-0d2b4e6f8a10, domain: t.onmicrosoft.com}]\n"
        "subscriptions: [{id: 7d3a9c1e-5b2f-4e6d-8c0a-1f3e5d7b9c21, tenant: t.onmicrosoft.com,"
        " resource_groups: [{name: rg}]}]\n"
        "apps: [{name: a, tenant: t.onmicrosoft.com, client_id: 3c9e1f7a-2d4b-4a6c-8e0f-"
        "5b7d9f1a3c42, object_id: 9a1c3e5f-7b2d-4f6a-8c0e-2d4f6b8a0c53}]\n"
        "vaults: [{name: bare-kv, resource_group: rg}]\n"
    )
    sandbox = Sandbox(scenario=scenario, state_dir=tmp_path / "state", ephemeral=True).start()
    try:
        query = {"api-version": "2018-02-01", "resource": VAULT}
        assert _imds(sandbox.port, query, {"Metadata": "true"}) == (
            400,
            {"error": "invalid_request", "error_description": "Identity not found"},
        )
        with pytest.raises(RuntimeError, match="no managed identity"):
            sandbox.client.env(credential="imds")
    finally:
        sandbox.stop()


# -- malformed requests: 4xx, never 5xx or a dropped connection -----------------------------
class Case(NamedTuple):
    id: str
    raw: bytes


def _imds_case(name: str, query: str, headers: dict[str, str] | None = None) -> Case:
    target = f"{IMDS_PATH}?{query}" if query is not None else IMDS_PATH
    hdrs = {"Metadata": "true", **(headers or {})}
    return Case(f"imds-{name}", request_bytes("GET", target, b"", hdrs, host="169.254.169.254"))


def _msi_case(name: str, query: str, headers: dict[str, str] | None = None, method="GET") -> Case:
    hdrs = {"X-IDENTITY-HEADER": "{HDR}", **(headers or {})}
    raw = request_bytes(method, f"/msi/token?{query}", b"", hdrs, host="127.0.0.1")
    return Case(f"msi-{name}", raw)


Q = "api-version=2018-02-01&resource=https://vault.azure.net"
QA = "api-version=2019-08-01&resource=https://vault.azure.net"
HUGE = "x" * 6000
CORPUS = [
    _imds_case("no-metadata-header", Q, {"Metadata": ""}),
    _imds_case("metadata-false", Q, {"Metadata": "false"}),
    _imds_case("no-query", None),
    _imds_case("no-api-version", "resource=https://vault.azure.net"),
    _imds_case("old-api-version", "api-version=2017-09-01&resource=https://vault.azure.net"),
    _imds_case("garbage-api-version", "api-version=%00%ff&resource=x"),
    _imds_case("no-resource", "api-version=2018-02-01"),
    _imds_case("empty-resource", "api-version=2018-02-01&resource="),
    _imds_case("unknown-resource", "api-version=2018-02-01&resource=https://example.com"),
    _imds_case("unknown-client-id", Q + f"&client_id={UNKNOWN}"),
    _imds_case("non-guid-client-id", Q + "&client_id=not-a-guid"),
    _imds_case("huge-client-id", Q + f"&client_id={HUGE}"),
    _imds_case("unknown-object-id", Q + f"&object_id={UNKNOWN}"),
    _imds_case("unknown-msi-res-id", Q + "&msi_res_id=/subscriptions/x/nothing"),
    _imds_case("bad-percent-encoding", "api-version=2018-02-01&resource=%zz%"),
    _imds_case("repeated-params", Q + "&" + Q + f"&client_id={UNKNOWN}"),
    Case(
        "imds-post",
        request_bytes(
            "POST", f"{IMDS_PATH}?{Q}", b"x", {"Metadata": "true"}, host="169.254.169.254"
        ),
    ),
    Case(
        "imds-wrong-path",
        request_bytes(
            "GET",
            "http://169.254.169.254/metadata/instance",
            b"",
            {"Metadata": "true"},
            host="169.254.169.254",
        ),
    ),
    Case(
        "imds-other-port",
        request_bytes(
            "GET",
            f"http://169.254.169.254:8080/x?{Q}",
            b"",
            {"Metadata": "true"},
            host="169.254.169.254",
        ),
    ),
    Case(
        "open-proxy-other-host",
        request_bytes("GET", "http://example.com/", b"", {}, host="example.com"),
    ),
    Case(
        "imds-userinfo",
        request_bytes(
            "GET",
            f"http://u:p@169.254.169.254/metadata?{Q}",
            b"",
            {"Metadata": "true"},
            host="169.254.169.254",
        ),
    ),
    Case("connect-imds-tls", b"CONNECT 169.254.169.254:443 HTTP/1.1\r\nHost: x\r\n\r\n"),
    Case("connect-imds-80", b"CONNECT 169.254.169.254:80 HTTP/1.1\r\nHost: x\r\n\r\n"),
    _msi_case("no-header", QA, {"X-IDENTITY-HEADER": ""}),
    _msi_case("wrong-header", QA, {"X-IDENTITY-HEADER": "WRONG"}),
    _msi_case("huge-header", QA, {"X-IDENTITY-HEADER": HUGE}),
    _msi_case("no-api-version", "resource=https://vault.azure.net"),
    _msi_case("imds-api-version", Q),
    _msi_case("no-resource", "api-version=2019-08-01"),
    _msi_case("unknown-resource", "api-version=2019-08-01&resource=https://example.com"),
    _msi_case("unknown-client-id", QA + f"&client_id={UNKNOWN}"),
    _msi_case("unknown-mi-res-id", QA + "&mi_res_id=/x/userAssignedIdentities/nobody"),
    _msi_case("huge-query", QA + f"&client_id={HUGE}"),
    _msi_case("post", QA, method="POST"),
    _msi_case("delete", QA, method="DELETE"),
]


@pytest.fixture(scope="module")
def child(tmp_path_factory) -> ChildSandbox:
    with ChildSandbox(tmp_path_factory.mktemp("mi-corpus") / "state") as sandbox:
        status, reply = sandbox.control("GET", "/_sandbox/env?credential=managed-identity")
        assert status == 200, reply
        sandbox.header = json.loads(reply.split(b"\r\n\r\n", 1)[1])["IDENTITY_HEADER"]
        yield sandbox
        assert "Traceback" not in sandbox.stderr(), sandbox.stderr()[-4000:]


def test_the_managed_identity_corpus_is_large_enough():
    assert len(CORPUS) >= 25 and len({c.id for c in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=[c.id for c in CORPUS])
def test_malformed_managed_identity_request_gets_a_4xx(child, case):
    raw = case.raw.replace(b"{HDR}", child.header.encode())
    status, reply = exchange(child, None, raw, timeout=5)
    assert status is not None, f"connection dropped without an answer: {reply[:200]!r}"
    assert 400 <= status < 500, reply[:600]
    assert (
        status not in (404, 410, 429)
        or not case.id.startswith("imds-")
        or case.id
        in {
            "imds-wrong-path",
            "imds-other-port",
        }
    ), "azure-identity retries these from IMDS for a minute and a half"
    assert child.header.encode() not in reply


def test_broken_identity_declarations_are_listed_with_their_paths(tmp_path):
    from helpers.sandbox.scenario import ScenarioError, load_scenario

    text = (Path(load_scenario().source)).read_text()
    text = text.replace("type: user_assigned", "type: user-assigned")
    text = text.replace("issuer: aks:airflow-aks", "issuer: aks:no-such-cluster")
    text = text.replace(
        "client_id: 2f4a6c8e-0b1d-4f3a-9c5e-1a3c5e7f9b40", f"client_id: {UAMI_CLIENT}"
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(broken)
    problems = "\n".join(caught.value.problems)
    assert "managed_identities[0].type: user_assigned or system_assigned" in problems
    assert "apps[2].federated_credentials[0].issuer: unknown AKS cluster" in problems
    assert "managed_identities[1].client_id: duplicate" in problems
