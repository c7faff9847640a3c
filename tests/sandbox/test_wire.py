"""Raw wire tests: status lines, headers and bodies exactly as azure-wire.md pins them.

Everything goes through the sandbox's CONNECT proxy with plain ``requests``, so these tests
see what any client sees, independent of the Azure SDKs' own parsing.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import jwt
import pytest
import requests

from helpers.sandbox.entra.models import App
from tests.conftest import POLICY_VAULT, SAMPLE, VAULT

LOGIN = "https://login.microsoftonline.com"
API = "2026-04-01"
CHALLENGE_401 = {
    "error": {
        "code": "Unauthorized",
        "message": "AKV10000: Request is missing a Bearer or PoP token.",
    }
}
AADSTS_FIELDS = {
    "error",
    "error_description",
    "error_codes",
    "timestamp",
    "trace_id",
    "correlation_id",
    "error_uri",
}
VERSION_RE = re.compile(r"[0-9a-f]{32}\Z")


class Wire:
    """requests through the sandbox proxy, trusting only the sandbox's CA bundle."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.proxies = {"https": f"http://127.0.0.1:{sandbox.port}"}
        self.session.verify = str(sandbox.ca_bundle)
        self.tenant = sandbox.client.env()["AZURE_TENANT_ID"]
        self.directory = sandbox.state.directory

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        return self.session.request(method, url, timeout=10, **kwargs)

    def vault(
        self,
        method: str,
        path: str,
        token: str | None = None,
        *,
        vault: str = VAULT,
        api: str = API,
        **kwargs,
    ) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        sep = "&" if "?" in path else "?"
        url = f"https://{vault}.vault.azure.net{path}{sep}api-version={api}"
        return self.request(method, url, headers=headers, **kwargs)

    def token_response(
        self,
        principal: str = "admin",
        *,
        scope: str | None = None,
        secret: str | None = None,
        client_id: str | None = None,
        tenant: str | None = None,
    ) -> requests.Response:
        env = self.sandbox.client.env(principal)
        form = {
            "client_id": client_id or env["AZURE_CLIENT_ID"],
            "grant_type": "client_credentials",
            "client_info": "1",
            "client_secret": secret if secret is not None else env["AZURE_CLIENT_SECRET"],
            "claims": json.dumps({"access_token": {"xms_cc": {"values": ["CP1"]}}}),
            "scope": scope or "https://vault.azure.net/.default",
        }
        return self.request(
            "POST", f"{LOGIN}/{tenant or env['AZURE_TENANT_ID']}/oauth2/v2.0/token", data=form
        )

    def token(self, principal: str = "admin", scope: str | None = None) -> str:
        response = self.token_response(principal, scope=scope)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def mint(self, principal: str = "admin", audience: str = "https://vault.azure.net", **kw):
        return self.directory.mint(self.directory.app_by_name(principal), audience, **kw)


@pytest.fixture
def wire(akv_sandbox) -> Iterator[Wire]:
    w = Wire(akv_sandbox)
    yield w
    w.session.close()


def assert_challenge(response: requests.Response, tenant: str) -> None:
    assert response.status_code == 401
    values = response.raw.headers.getlist("WWW-Authenticate")
    assert values == [
        f'Bearer authorization="{LOGIN}/{tenant}", resource="https://vault.azure.net"'
    ]
    assert "Retry-After" not in response.headers


def error_of(response: requests.Response) -> dict:
    return response.json()["error"]


def inner_code(response: requests.Response) -> str | None:
    return (error_of(response).get("innererror") or {}).get("code")


# -- Key Vault: the 401 challenge ------------------------------------------------------------


def test_request_without_token_gets_exactly_one_bearer_challenge(wire):
    response = wire.vault("GET", f"/secrets/{SAMPLE}/")
    assert_challenge(response, wire.tenant)
    assert response.json() == CHALLENGE_401
    assert response.headers["Content-Type"].startswith("application/json")


def test_put_with_a_body_is_challenged_before_the_body_is_read(wire):
    with_body = wire.vault("PUT", "/secrets/new-secret", json={"value": "v"})
    assert_challenge(with_body, wire.tenant)
    assert with_body.json() == CHALLENGE_401
    garbage = wire.vault(
        "PUT", "/secrets/new-secret", data=b"{not json", headers={"Content-Type": "text/plain"}
    )
    assert_challenge(garbage, wire.tenant)
    assert garbage.json() == CHALLENGE_401


def test_non_bearer_authorization_gets_the_challenge(wire):
    response = wire.vault(
        "GET", f"/secrets/{SAMPLE}", headers={"Authorization": "Basic Zm9vOmJhcg=="}
    )
    assert_challenge(response, wire.tenant)
    assert response.json() == CHALLENGE_401


def test_management_audience_token_is_rejected_with_AKV10022(wire):
    token = wire.token("admin", scope="https://management.azure.com/.default")
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == (
        "https://management.azure.com/"
    )
    response = wire.vault("GET", f"/secrets/{SAMPLE}", token)
    assert_challenge(response, wire.tenant)
    assert error_of(response)["code"] == "Unauthorized"
    assert error_of(response)["message"].startswith("AKV10022: Invalid audience.")


def test_token_from_another_tenant_is_rejected_with_AKV10032(wire):
    other_tenant = str(uuid.uuid4())
    stranger = App("stranger", other_tenant, str(uuid.uuid4()), str(uuid.uuid4()))
    token = wire.directory.mint(stranger, "https://vault.azure.net")
    response = wire.vault("GET", f"/secrets/{SAMPLE}", token)
    assert_challenge(response, wire.tenant)
    message = error_of(response)["message"]
    assert message.startswith("AKV10032: Invalid issuer.")
    assert f"https://sts.windows.net/{other_tenant}/" in message


def test_expired_token_is_rejected_with_401_and_challenge(wire):
    token = wire.mint("admin", now=time.time() - 7200, lifetime=3600)
    response = wire.vault("GET", f"/secrets/{SAMPLE}", token)
    assert_challenge(response, wire.tenant)
    assert error_of(response)["code"] == "Unauthorized"


def test_token_with_tampered_signature_is_rejected_with_401(wire):
    token = wire.token("admin")
    head, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0xFF
    forged = ".".join([head, payload, base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")])
    response = wire.vault("GET", f"/secrets/{SAMPLE}", forged)
    assert_challenge(response, wire.tenant)


def test_token_with_tampered_claims_is_rejected_with_401(wire):
    head, payload, signature = wire.token("airflow-backend").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["oid"] = wire.directory.app_by_name("admin").object_id
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    response = wire.vault("GET", f"/secrets/{SAMPLE}", f"{head}.{forged_payload}.{signature}")
    assert_challenge(response, wire.tenant)


def test_token_signed_by_another_key_is_rejected_with_401(wire):
    from cryptography.hazmat.primitives.asymmetric import rsa

    app = wire.directory.app_by_name("admin")
    now = int(time.time())
    claims = {
        "aud": "https://vault.azure.net",
        "iss": f"https://sts.windows.net/{app.tenant_id}/",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "appid": app.client_id,
        "oid": app.object_id,
        "tid": app.tenant_id,
    }
    other_key = rsa.generate_private_key(65537, 2048)
    token = jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": wire.directory.kid})
    assert_challenge(wire.vault("GET", f"/secrets/{SAMPLE}", token), wire.tenant)


# -- Key Vault: successful responses -----------------------------------------------------------


@pytest.mark.parametrize("api_version", ["2016-10-01", "7.4", "7.6", API, "9999-01-01"])
def test_any_api_version_is_accepted(wire, api_version):
    response = wire.vault("GET", f"/secrets/{SAMPLE}/", wire.token("admin"), api=api_version)
    assert response.status_code == 200, response.text
    assert response.json()["value"]


def assert_secret_bundle(body: dict, name: str, *, value: bool = True) -> str:
    """Checks the SecretBundle shape and returns the version."""
    url = urlsplit(body["id"])
    assert url.scheme == "https"
    assert url.netloc == f"{VAULT}.vault.azure.net"
    segments = url.path.strip("/").split("/")
    assert len(segments) == 3
    assert segments[0] == "secrets"
    assert segments[1] == name
    assert VERSION_RE.match(segments[2])
    assert ("value" in body) is value
    attrs = body["attributes"]
    assert isinstance(attrs["enabled"], bool)
    for stamp in ("created", "updated"):
        assert isinstance(attrs[stamp], int)
        assert abs(attrs[stamp] - time.time()) < 600
    assert attrs["recoveryLevel"] == "Recoverable+Purgeable"
    assert isinstance(attrs["recoverableDays"], int)
    assert 7 <= attrs["recoverableDays"] <= 90
    return segments[2]


def test_set_and_get_return_a_secret_bundle_with_integer_timestamps(wire):
    token = wire.token("admin")
    put = wire.vault(
        "PUT",
        "/secrets/wire-shape",
        token,
        json={
            "value": "s3cret",
            "contentType": "text/plain",
            "tags": {"team": "data"},
            "attributes": {"enabled": True, "exp": 4102444800},
        },
    )
    assert put.status_code == 200, put.text
    body = put.json()
    version = assert_secret_bundle(body, "wire-shape")
    assert body["value"] == "s3cret"
    assert body["contentType"] == "text/plain"
    assert body["tags"] == {"team": "data"}
    assert body["attributes"]["exp"] == 4102444800

    for path in ("/secrets/wire-shape/", "/secrets/wire-shape", f"/secrets/wire-shape/{version}"):
        got = wire.vault("GET", path, token)
        assert got.status_code == 200, (path, got.text)
        assert got.json() == body
        assert "Retry-After" not in got.headers


def test_update_returns_the_bundle_without_value_and_refuses_a_new_value(wire):
    token = wire.token("admin")
    version = assert_secret_bundle(
        wire.vault("PUT", "/secrets/wire-patch", token, json={"value": "v1"}).json(), "wire-patch"
    )
    patched = wire.vault(
        "PATCH", f"/secrets/wire-patch/{version}", token, json={"contentType": "x", "tags": {}}
    )
    assert patched.status_code == 200, patched.text
    assert assert_secret_bundle(patched.json(), "wire-patch", value=False) == version
    assert patched.json()["contentType"] == "x"
    refused = wire.vault("PATCH", f"/secrets/wire-patch/{version}", token, json={"value": "v2"})
    assert refused.status_code == 400
    assert error_of(refused)["code"] == "BadParameter"
    assert wire.vault("GET", "/secrets/wire-patch", token).json()["value"] == "v1"


def test_list_paging_uses_absolute_next_links_and_items_carry_no_value(wire):
    token = wire.token("admin")
    wire.sandbox.client.seed({f"page-{i:02d}": f"value-{i}" for i in range(7)})
    names, url, pages = [], None, 0
    first = wire.vault("GET", "/secrets?maxresults=3", token)
    response = first
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"value", "nextLink"}
        assert len(body["value"]) <= 3
        pages += 1
        for item in body["value"]:
            assert "value" not in item
            path = urlsplit(item["id"]).path.strip("/").split("/")
            assert len(path) == 2 and path[0] == "secrets"
            assert isinstance(item["attributes"]["created"], int)
            names.append(path[1])
        url = body["nextLink"]
        if url is None:
            break
        split = urlsplit(url)
        assert split.scheme == "https" and split.netloc == f"{VAULT}.vault.azure.net"
        assert split.path == "/secrets"
        response = wire.request("GET", url, headers={"Authorization": f"Bearer {token}"})
    assert pages == 4  # 3 sample secrets + 7 seeded = 10 items, 3 a page
    assert len(names) == len(set(names)) == 10
    assert {f"page-{i:02d}" for i in range(7)} <= set(names)


@pytest.mark.parametrize("maxresults", ["0", "26", "abc"])
def test_maxresults_outside_1_to_25_is_a_bad_parameter(wire, maxresults):
    response = wire.vault("GET", f"/secrets?maxresults={maxresults}", wire.token("admin"))
    assert response.status_code == 400
    assert error_of(response)["code"] == "BadParameter"


@pytest.mark.parametrize("skiptoken", ["not-base64!", "LTE=", "YWJj"])
def test_forged_skiptoken_is_a_bad_parameter(wire, skiptoken):
    response = wire.vault("GET", f"/secrets?$skiptoken={skiptoken}", wire.token("admin"))
    assert response.status_code == 400
    assert error_of(response)["code"] == "BadParameter"


def test_versions_list_ids_carry_the_version(wire):
    token = wire.token("admin")
    made = [
        wire.vault("PUT", "/secrets/wire-versions", token, json={"value": f"v{i}"}).json()["id"]
        for i in range(3)
    ]
    response = wire.vault("GET", "/secrets/wire-versions/versions", token)
    assert response.status_code == 200
    body = response.json()
    assert sorted(item["id"] for item in body["value"]) == sorted(made)
    assert all("value" not in item for item in body["value"])
    assert body["nextLink"] is None


def test_soft_delete_recover_and_purge_bundles(wire):
    token = wire.token("admin")
    wire.vault("PUT", "/secrets/wire-deleted", token, json={"value": "v"})
    deleted = wire.vault("DELETE", "/secrets/wire-deleted", token)
    assert deleted.status_code == 200
    body = deleted.json()
    assert_secret_bundle(body, "wire-deleted", value=False)
    assert body["recoveryId"] == f"https://{VAULT}.vault.azure.net/deletedsecrets/wire-deleted"
    assert isinstance(body["deletedDate"], int)
    assert body["scheduledPurgeDate"] - body["deletedDate"] == (
        body["attributes"]["recoverableDays"] * 86400
    )

    got = wire.vault("GET", "/deletedsecrets/wire-deleted", token)
    assert got.status_code == 200 and got.json()["recoveryId"] == body["recoveryId"]
    listed = wire.vault("GET", "/deletedsecrets", token).json()
    assert [i["recoveryId"] for i in listed["value"]] == [body["recoveryId"]]

    conflict = wire.vault("PUT", "/secrets/wire-deleted", token, json={"value": "again"})
    assert conflict.status_code == 409
    assert error_of(conflict)["code"] == "Conflict"
    assert inner_code(conflict) == "ObjectIsDeletedButRecoverable"

    recovered = wire.vault("POST", "/deletedsecrets/wire-deleted/recover", token)
    assert recovered.status_code == 200
    assert_secret_bundle(recovered.json(), "wire-deleted", value=False)
    assert wire.vault("GET", "/secrets/wire-deleted", token).json()["value"] == "v"

    wire.vault("DELETE", "/secrets/wire-deleted", token)
    purged = wire.vault("DELETE", "/deletedsecrets/wire-deleted", token)
    assert purged.status_code == 204
    assert purged.content == b""
    gone = wire.vault("GET", "/deletedsecrets/wire-deleted", token)
    assert gone.status_code == 404
    assert error_of(gone) == {
        "code": "SecretNotFound",
        "message": "Deleted Secret not found: wire-deleted",
    }


def test_backup_blob_is_base64url_and_restores(wire):
    token = wire.token("admin")
    wire.vault("PUT", "/secrets/wire-backup", token, json={"value": "keep me"})
    backup = wire.vault("POST", "/secrets/wire-backup/backup", token)
    assert backup.status_code == 200
    blob = backup.json()["value"]
    assert re.fullmatch(r"[A-Za-z0-9_-]+", blob)
    assert "keep me" not in blob
    wire.vault("DELETE", "/secrets/wire-backup", token)
    wire.vault("DELETE", "/deletedsecrets/wire-backup", token)
    restored = wire.vault("POST", "/secrets/restore", token, json={"value": blob})
    assert restored.status_code == 200, restored.text
    assert_secret_bundle(restored.json(), "wire-backup", value=False)
    assert wire.vault("GET", "/secrets/wire-backup", token).json()["value"] == "keep me"
    tampered = wire.vault("POST", "/secrets/restore", token, json={"value": blob[:-4] + "AAAA"})
    assert tampered.status_code == 400


# -- Key Vault: error envelopes -------------------------------------------------------------


def test_missing_secret_is_404_SecretNotFound_without_retry_after(wire):
    response = wire.vault("GET", "/secrets/does-not-exist/", wire.token("admin"))
    assert response.status_code == 404
    assert "Retry-After" not in response.headers
    assert error_of(response) == {
        "code": "SecretNotFound",
        "message": (
            "A secret with (name/id) does-not-exist was not found in this key vault. If you "
            "recently deleted this secret you may be able to recover it using the correct "
            "recovery command. For help resolving this issue, please see "
            "https://go.microsoft.com/fwlink/?linkid=2125182"
        ),
    }


def test_principal_without_role_gets_403_ForbiddenByRbac_for_getSecret(wire):
    app = wire.directory.app_by_name("airflow-backend")
    nobody = App("nobody", app.tenant_id, str(uuid.uuid4()), str(uuid.uuid4()))
    token = wire.directory.mint(nobody, "https://vault.azure.net")
    response = wire.vault("GET", f"/secrets/{SAMPLE}/", token)
    assert response.status_code == 403
    assert "Retry-After" not in response.headers
    error = error_of(response)
    assert error["code"] == "Forbidden"
    assert error["innererror"] == {"code": "ForbiddenByRbac"}
    message = error["message"]
    assert message.startswith("Caller is not authorized to perform action on resource.\r\n")
    assert (
        f"Caller: appid={nobody.client_id};oid={nobody.object_id};"
        f"iss=https://sts.windows.net/{app.tenant_id}/\r\n"
    ) in message
    assert "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\n" in message
    assert f"/providers/microsoft.keyvault/vaults/{VAULT}/secrets/{SAMPLE}'" in message
    assert "Assignment: (not found)" in message
    assert "DecisionReason: 'DeniedWithNoValidRBAC'" in message
    assert f"Vault: {VAULT};location=westeurope" in message


def test_secrets_user_set_is_403_ForbiddenByRbac_for_setSecret(wire):
    response = wire.vault(
        "PUT", "/secrets/not-allowed", wire.token("airflow-backend"), json={"value": "v"}
    )
    assert response.status_code == 403
    assert inner_code(response) == "ForbiddenByRbac"
    assert (
        "Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'"
        in (error_of(response)["message"])
    )
    assert "Retry-After" not in response.headers


def test_access_policy_vault_without_set_permission_is_403_ForbiddenByPolicy(wire):
    token = wire.token("airflow-backend")
    ok = wire.vault("GET", f"/secrets/{SAMPLE}/", token, vault=POLICY_VAULT)
    assert ok.status_code == 200
    assert ok.json()["id"].startswith(f"https://{POLICY_VAULT}.vault.azure.net/secrets/")
    denied = wire.vault("PUT", "/secrets/x", token, vault=POLICY_VAULT, json={"value": "v"})
    assert denied.status_code == 403
    assert error_of(denied)["code"] == "Forbidden"
    assert inner_code(denied) == "ForbiddenByPolicy"
    app = wire.directory.app_by_name("airflow-backend")
    assert error_of(denied)["message"].startswith(
        f"The user, group or application 'appid={app.client_id};oid={app.object_id};"
        f"iss=https://sts.windows.net/{app.tenant_id}/' does not have secrets set permission "
        f"on key vault '{POLICY_VAULT};location=westeurope'."
    )


def test_closed_firewall_is_403_ForbiddenByFirewall_with_client_address(wire):
    wire.sandbox.client.set_firewall("closed")
    response = wire.vault("GET", f"/secrets/{SAMPLE}/", wire.token("admin"))
    assert response.status_code == 403
    assert inner_code(response) == "ForbiddenByFirewall"
    message = error_of(response)["message"]
    assert message.startswith(
        "Client address is not authorized and caller is not a trusted service.\r\n"
        "Client address: 127.0.0.1"
    )
    assert "Retry-After" not in response.headers
    wire.sandbox.client.set_firewall("open")
    assert wire.vault("GET", f"/secrets/{SAMPLE}/", wire.token("admin")).status_code == 200


def test_secret_disabled_through_patch_is_403_SecretDisabled(wire):
    token = wire.token("admin")
    patched = wire.vault(
        "PATCH", f"/secrets/{SAMPLE}/", token, json={"attributes": {"enabled": False}}
    )
    assert patched.status_code == 200 and patched.json()["attributes"]["enabled"] is False
    response = wire.vault("GET", f"/secrets/{SAMPLE}/", token)
    assert response.status_code == 403
    assert error_of(response) == {
        "code": "Forbidden",
        "message": "Operation get is not allowed on a disabled secret.",
        "innererror": {"code": "SecretDisabled"},
    }
    assert "Retry-After" not in response.headers


def test_control_disable_secret_makes_get_answer_403_SecretDisabled(wire):
    wire.sandbox.client.disable_secret(SAMPLE)
    response = wire.vault("GET", f"/secrets/{SAMPLE}/", wire.token("admin"))
    assert response.status_code == 403, response.text
    assert inner_code(response) == "SecretDisabled"
    wire.sandbox.client.disable_secret(SAMPLE, enable=True)
    assert wire.vault("GET", f"/secrets/{SAMPLE}/", wire.token("admin")).status_code == 200


@pytest.mark.parametrize("name", ["bad.name", "bad_name", "x" * 128])
def test_invalid_secret_name_is_400_BadParameter(wire, name):
    response = wire.vault("PUT", f"/secrets/{name}", wire.token("admin"), json={"value": "v"})
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "BadParameter",
        "message": f"The request URI contains an invalid name: {name}",
    }


def test_value_over_25_kb_is_400_BadParameter(wire):
    token = wire.token("admin")
    at_limit = wire.vault("PUT", "/secrets/big", token, json={"value": "a" * 25 * 1024})
    assert at_limit.status_code == 200
    over = wire.vault("PUT", "/secrets/big", token, json={"value": "a" * (25 * 1024 + 1)})
    assert over.status_code == 400
    assert error_of(over)["code"] == "BadParameter"


def test_throttle_fault_is_429_Throttled_with_retry_after(wire):
    token = wire.token("admin")
    wire.sandbox.client.add_fault("throttle", target="keyvault", count=1, retry_after=7)
    response = wire.vault("GET", f"/secrets/{SAMPLE}/", token)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert error_of(response) == {
        "code": "Throttled",
        "message": (
            "Request was not processed because too many requests were received. Reason: "
            "VaultRequestTypeLimitReached"
        ),
    }
    assert wire.vault("GET", f"/secrets/{SAMPLE}/", token).status_code == 200


def test_error_fault_is_the_requested_5xx_and_scoped_to_its_vault(wire):
    token = wire.token("admin")
    wire.sandbox.client.add_fault("error", target=f"vault:{VAULT}", count=1, status=502)
    other = wire.vault(
        "GET", f"/secrets/{SAMPLE}/", wire.token("airflow-backend"), vault=POLICY_VAULT
    )
    assert other.status_code == 200
    response = wire.vault("GET", f"/secrets/{SAMPLE}/", token)
    assert response.status_code == 502
    assert error_of(response)["code"] == "ServiceUnavailable"
    assert wire.vault("GET", f"/secrets/{SAMPLE}/", token).status_code == 200


# -- Entra ID --------------------------------------------------------------------------------


def test_token_success_response_has_exactly_the_client_credentials_fields(wire):
    response = wire.token_response("airflow-backend")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert body["expires_in"] >= 300
    assert isinstance(body["ext_expires_in"], int)
    assert body["access_token"].count(".") == 2
    assert "no-store" in response.headers["Cache-Control"]


def test_token_is_signed_with_a_key_published_in_jwks(wire):
    config = wire.request(
        "GET", f"{LOGIN}/{wire.tenant}/v2.0/.well-known/openid-configuration"
    ).json()
    keys = wire.request("GET", config["jwks_uri"]).json()["keys"]
    token = wire.token("airflow-backend")
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in keys if k["kid"] == kid)
    public_key = jwt.PyJWK(jwk, algorithm="RS256").key
    claims = jwt.decode(token, public_key, algorithms=["RS256"], audience="https://vault.azure.net")
    assert claims["iss"] == f"https://sts.windows.net/{wire.tenant}/"


def assert_aadsts(response, status: int, error: str, code: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == AADSTS_FIELDS
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert body["trace_id"] in body["error_description"]
    assert body["correlation_id"] in body["error_description"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", body["timestamp"])
    assert body["error_uri"] == f"{LOGIN}/error?code={code}"
    for ident in ("trace_id", "correlation_id"):
        uuid.UUID(body[ident])
    return body["error_description"]


def test_wrong_client_secret_is_401_invalid_client_AADSTS7000215(wire):
    description = assert_aadsts(
        wire.token_response("airflow-backend", secret="not-the-secret"),
        401,
        "invalid_client",
        7000215,
    )
    assert description.startswith(
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
        "request is the client secret value, not the client secret ID"
    )


def test_expired_client_secret_is_401_invalid_client_AADSTS7000222(wire):
    wire.sandbox.client.expire_client_secret("airflow-backend")
    client_id = wire.directory.app_by_name("airflow-backend").client_id
    description = assert_aadsts(
        wire.token_response("airflow-backend"), 401, "invalid_client", 7000222
    )
    assert description.startswith(
        f"AADSTS7000222: The provided client secret keys for app '{client_id}' are expired."
    )


def test_unknown_client_id_is_400_unauthorized_client_AADSTS700016(wire):
    unknown = str(uuid.uuid4())
    description = assert_aadsts(
        wire.token_response("airflow-backend", client_id=unknown),
        400,
        "unauthorized_client",
        700016,
    )
    assert description.startswith(
        f"AADSTS700016: Application with identifier '{unknown}' was not found in the "
        f"directory '{wire.tenant}'."
    )


def test_unknown_tenant_token_request_is_400_invalid_tenant_AADSTS90002(wire):
    unknown = str(uuid.uuid4())
    description = assert_aadsts(
        wire.token_response("airflow-backend", tenant=unknown), 400, "invalid_tenant", 90002
    )
    assert description.startswith(f"AADSTS90002: Tenant '{unknown}' not found.")


def test_unknown_tenant_openid_configuration_is_400_invalid_tenant_AADSTS90002(wire):
    unknown = str(uuid.uuid4())
    response = wire.request("GET", f"{LOGIN}/{unknown}/v2.0/.well-known/openid-configuration")
    description = assert_aadsts(response, 400, "invalid_tenant", 90002)
    assert description.startswith(f"AADSTS90002: Tenant '{unknown}' not found.")


def test_instance_discovery_lists_the_public_cloud_aliases(wire):
    response = wire.request(
        "GET",
        f"{LOGIN}/common/discovery/instance",
        params={
            "api-version": "1.1",
            "authorization_endpoint": f"{LOGIN}/{wire.tenant}/oauth2/v2.0/authorize",
        },
    )
    assert response.status_code == 200
    assert response.json() == {
        "tenant_discovery_endpoint": (f"{LOGIN}/{{tenant}}/v2.0/.well-known/openid-configuration"),
        "api-version": "1.1",
        "metadata": [
            {
                "preferred_network": "login.microsoftonline.com",
                "preferred_cache": "login.windows.net",
                "aliases": [
                    "login.microsoftonline.com",
                    "login.windows.net",
                    "login.microsoft.com",
                    "sts.windows.net",
                ],
            }
        ],
    }


@pytest.mark.parametrize("by", ["id", "domain"])
def test_openid_configuration_names_the_tenant_in_its_endpoints(wire, by):
    ident = wire.tenant if by == "id" else "sandbox.onmicrosoft.com"
    response = wire.request("GET", f"{LOGIN}/{ident}/v2.0/.well-known/openid-configuration")
    assert response.status_code == 200
    config = response.json()
    base = f"{LOGIN}/{wire.tenant}"
    assert config["token_endpoint"] == f"{base}/oauth2/v2.0/token"
    assert config["authorization_endpoint"] == f"{base}/oauth2/v2.0/authorize"
    assert config["issuer"] == f"{base}/v2.0"
    assert config["jwks_uri"] == f"{base}/discovery/v2.0/keys"
    assert "client_secret_post" in config["token_endpoint_auth_methods_supported"]
    # MSAL takes the tenant from the first path segment of token_endpoint.
    assert urlsplit(config["token_endpoint"]).path.split("/")[1] == wire.tenant


# -- the proxy --------------------------------------------------------------------------------


def test_proxy_refuses_to_tunnel_to_other_hosts(wire):
    with pytest.raises(requests.exceptions.ProxyError):
        wire.request("GET", "https://example.com/")


def test_connect_to_an_unknown_vault_fails(wire):
    with pytest.raises(requests.exceptions.ProxyError):
        wire.request("GET", "https://no-such-vault.vault.azure.net/secrets?api-version=7.5")
