"""Workload identity against the sandbox (issue 12): the AKS OIDC issuer (discovery + JWKS on
<region>.oic.prod-aks.azure.com), projected service-account tokens written by `sandbox env
--credential workload-identity`, and Entra's client_assertion checks with the real AADSTS
answers, driven by the unmodified WorkloadIdentityCredential (sync and async) and
DefaultAzureCredential, plus a corpus of malformed assertions (4xx, never 5xx or a drop)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
import urllib.parse
from pathlib import Path
from typing import NamedTuple

import jwt
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import DefaultAzureCredential, WorkloadIdentityCredential
from azure.keyvault.secrets import SecretClient
from cryptography.hazmat.primitives.asymmetric import rsa

from helpers.findings.codes.auth import (
    FEDERATED_MISMATCH,
    FEDERATED_TOKEN_EXPIRED,
    FEDERATED_TOKEN_UNTRUSTED,
)
from helpers.sandbox import Sandbox
from helpers.vault.diagnose import diagnose
from tests.conftest import SAMPLE
from tests.sandbox.wire_client import ENTRA, ChildSandbox, exchange, request_bytes

WI_CLIENT = "4d7f2b9e-6a1c-4e3b-8f5d-7c9a1e3b5d86"
TENANT = "5f0c6e2a-3b1d-4c8e-9a7f-0d2b4e6f8a10"
OIDC_HOST = "westeurope.oic.prod-aks.azure.com"
ISSUER = f"https://{OIDC_HOST}/{TENANT}/8b2d4f6a-0c1e-4a3b-9d5f-6e8a0c2e4f19/"
SUBJECT = "system:serviceaccount:airflow:airflow-worker"
EXCHANGE = "api://AzureADTokenExchange"
VAULT_SCOPE = "https://vault.azure.net/.default"


def read_sample(credential) -> str:
    return SecretClient(os.environ["AZURE_KEYVAULT_URL"], credential).get_secret(SAMPLE).value


def test_sandbox_env_projects_a_token_like_the_aks_webhook(akv_sandbox: Sandbox):
    env = akv_sandbox.apply_environment(credential="workload-identity")
    assert env["AZURE_CLIENT_ID"] == WI_CLIENT and env["AZURE_TENANT_ID"] == TENANT
    assert env["AZURE_AUTHORITY_HOST"] == "https://login.microsoftonline.com/"
    token_file = Path(env["AZURE_FEDERATED_TOKEN_FILE"])
    assert token_file.stat().st_mode & 0o077 == 0
    token = token_file.read_text()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["iss"], claims["sub"], claims["aud"]) == (ISSUER, SUBJECT, [EXCHANGE])
    assert claims["exp"] > time.time() + 3600
    assert claims["kubernetes.io"]["serviceaccount"]["name"] == "airflow-worker"


def test_oidc_discovery_and_jwks_verify_the_projected_token(akv_sandbox: Sandbox):
    env = akv_sandbox.apply_environment(credential="workload-identity")
    discovery = requests.get(f"{ISSUER}.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == ISSUER
    assert discovery["jwks_uri"] == f"{ISSUER}openid/v1/jwks"
    keys = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(
        token := Path(env["AZURE_FEDERATED_TOKEN_FILE"]).read_text()
    )
    claims = jwt.decode(token, keys.key, algorithms=["RS256"], audience=EXCHANGE, issuer=ISSUER)
    assert claims["sub"] == SUBJECT
    assert (
        requests.get(f"https://{OIDC_HOST}/{TENANT}/x/openid/v1/jwks", timeout=10).status_code
        == 404
    )


def test_workload_identity_credential_reads_a_secret(akv_sandbox: Sandbox):
    akv_sandbox.apply_environment(credential="workload-identity")
    assert read_sample(WorkloadIdentityCredential()).startswith("sandbox sample value")


def test_default_azure_credential_picks_workload_identity_from_the_environment(
    akv_sandbox: Sandbox,
):
    akv_sandbox.apply_environment(credential="workload-identity")
    assert "AZURE_CLIENT_SECRET" not in os.environ
    assert read_sample(DefaultAzureCredential()).startswith("sandbox sample value")


def test_async_workload_identity_credential_reads_a_secret(akv_sandbox: Sandbox):
    from azure.identity.aio import WorkloadIdentityCredential as AsyncWI
    from azure.keyvault.secrets.aio import SecretClient as AsyncSecretClient

    akv_sandbox.apply_environment(credential="workload-identity")

    async def read() -> str:
        cred = AsyncWI()
        async with cred, AsyncSecretClient(os.environ["AZURE_KEYVAULT_URL"], cred) as client:
            return (await client.get_secret(SAMPLE)).value

    assert asyncio.run(asyncio.wait_for(read(), 30)).startswith("sandbox sample value")


# -- failures: the real AADSTS answer and the runbook's finding -----------------------------
def _minted(sandbox: Sandbox, **body) -> str:
    body = {"namespace": "airflow", "service_account": "airflow-worker", **body}
    return sandbox.client.call("POST", "/service-account-token", body)["token"]


def _forged(kid: str, **claims) -> str:
    key = rsa.generate_private_key(65537, 2048)
    now = int(time.time())
    payload = {"iss": ISSUER, "sub": SUBJECT, "aud": [EXCHANGE], "iat": now, "exp": now + 600}
    return jwt.encode({**payload, **claims}, key, algorithm="RS256", headers={"kid": kid})


def _sandbox_kid(sandbox: Sandbox) -> str:
    return jwt.get_unverified_header(_minted(sandbox))["kid"]


FAILURES = {
    "subject-mismatch": (lambda sb: _minted(sb, service_account="other"), "AADSTS70021"),
    "namespace-mismatch": (lambda sb: _minted(sb, namespace="default"), "AADSTS70021"),
    "wrong-audience": (lambda sb: _minted(sb, audience="api://wrong"), "AADSTS70021"),
    "issuer-mismatch": (
        lambda sb: _forged("k1", iss="https://oidc.example.com/cluster/"),
        "AADSTS70021",
    ),
    "expired": (lambda sb: _minted(sb, lifetime=-600), "AADSTS700024"),
    "unknown-signing-key": (lambda sb: _forged("not-in-the-jwks"), "AADSTS7000272"),
    "bad-signature": (lambda sb: _forged(_sandbox_kid(sb)), "AADSTS50013"),
    "not-a-jwt": (lambda sb: "this is not a token", "AADSTS50027"),
}
FINDING = {
    "AADSTS70021": FEDERATED_MISMATCH.code,
    "AADSTS700024": FEDERATED_TOKEN_EXPIRED.code,
    "AADSTS7000272": FEDERATED_TOKEN_UNTRUSTED.code,
    "AADSTS50013": FEDERATED_TOKEN_UNTRUSTED.code,
    "AADSTS50027": FEDERATED_TOKEN_UNTRUSTED.code,
}


@pytest.mark.parametrize("name", FAILURES)
def test_bad_federated_token_gives_the_real_aadsts_and_the_finding(
    akv_sandbox: Sandbox, tmp_path, name
):
    make, aadsts = FAILURES[name]
    akv_sandbox.apply_environment(credential="workload-identity")
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text(make(akv_sandbox))
    with pytest.raises(ClientAuthenticationError) as caught:
        WorkloadIdentityCredential(token_file_path=str(token_file)).get_token(VAULT_SCOPE)
    assert f"{aadsts}:" in str(caught.value)
    finding = diagnose(caught.value, subject="sign-in")
    assert finding.code == FINDING[aadsts], finding
    assert token_file.read_text() not in finding.detail  # the assertion is never echoed


def test_subject_mismatch_finding_names_issuer_subject_and_audience(akv_sandbox, tmp_path):
    akv_sandbox.apply_environment(credential="workload-identity")
    token_file = tmp_path / "token"
    token_file.write_text(_minted(akv_sandbox, service_account="scheduler"))
    with pytest.raises(ClientAuthenticationError) as caught:
        WorkloadIdentityCredential(token_file_path=str(token_file)).get_token(VAULT_SCOPE)
    assert "No matching federated identity record found for presented assertion." in str(
        caught.value
    )
    finding = diagnose(caught.value, subject="sign-in")
    assert finding.data["assertion_subject"] == "system:serviceaccount:airflow:scheduler"
    assert finding.data["assertion_issuer"] == ISSUER
    assert finding.data["assertion_audience"] == EXCHANGE


def test_an_app_without_a_federated_credential_cannot_use_one(akv_sandbox, tmp_path):
    akv_sandbox.apply_environment(credential="workload-identity")
    token_file = tmp_path / "token"
    token_file.write_text(_minted(akv_sandbox))
    backend = akv_sandbox.client.env("airflow-backend")["AZURE_CLIENT_ID"]
    credential = WorkloadIdentityCredential(client_id=backend, token_file_path=str(token_file))
    with pytest.raises(ClientAuthenticationError, match="AADSTS70021"):
        credential.get_token(VAULT_SCOPE)


# -- malformed assertions and OIDC requests: 4xx, never 5xx or a dropped connection ---------
class Case(NamedTuple):
    id: str
    host: str
    raw: bytes


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _token_case(name: str, assertion: str | None, **extra: str) -> Case:
    form = {
        "grant_type": "client_credentials",
        "client_id": WI_CLIENT,
        "scope": VAULT_SCOPE,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    }
    if assertion is not None:
        form["client_assertion"] = assertion
    form.update(extra)
    body = urllib.parse.urlencode(form).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    raw = request_bytes("POST", f"/{TENANT}/oauth2/v2.0/token", body, headers, host=ENTRA)
    return Case(f"assertion-{name}", ENTRA, raw)


def _unsigned(header: dict, claims: dict, signature: bytes = b"sig") -> str:
    return ".".join(
        (_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), _b64(signature))
    )


NOW = int(time.time())
GOOD = {"iss": ISSUER, "sub": SUBJECT, "aud": EXCHANGE, "exp": NOW + 600}
RS = {"alg": "RS256", "kid": "x"}


def _oidc_case(name: str, path: str, method: str = "GET") -> Case:
    return Case(f"oidc-{name}", OIDC_HOST, request_bytes(method, path, b"", {}, host=OIDC_HOST))


CORPUS = [
    _token_case("missing", None),
    _token_case("empty", ""),
    _token_case("not-a-jwt", "not a jwt"),
    _token_case("one-segment", "abc"),
    _token_case("four-segments", "a.b.c.d"),
    _token_case("bad-base64", "!!!.???.***"),
    _token_case("header-not-json", f"{_b64(b'nope')}.{_b64(b'{}')}.{_b64(b'x')}"),
    _token_case("claims-not-json", f"{_b64(b'{}')}.{_b64(b'nope')}.{_b64(b'x')}"),
    _token_case("claims-a-list", f"{_b64(json.dumps(RS).encode())}.{_b64(b'[1]')}.{_b64(b'x')}"),
    _token_case("alg-none", _unsigned({"alg": "none"}, GOOD, b"")),
    _token_case("alg-hs256", _unsigned({"alg": "HS256", "kid": "x"}, GOOD)),
    _token_case("alg-es256", _unsigned({"alg": "ES256", "kid": "x"}, GOOD)),
    _token_case("no-issuer", _unsigned(RS, {**GOOD, "iss": None})),
    _token_case("issuer-a-number", _unsigned(RS, {**GOOD, "iss": 7})),
    _token_case("no-subject", _unsigned(RS, {k: v for k, v in GOOD.items() if k != "sub"})),
    _token_case("no-exp", _unsigned(RS, {k: v for k, v in GOOD.items() if k != "exp"})),
    _token_case("exp-a-string", _unsigned(RS, {**GOOD, "exp": "tomorrow"})),
    _token_case("exp-a-bool", _unsigned(RS, {**GOOD, "exp": True})),
    _token_case("exp-huge", _unsigned(RS, {**GOOD, "exp": 10**30})),
    _token_case("aud-an-object", _unsigned(RS, {**GOOD, "aud": {"x": 1}})),
    _token_case("unknown-kid", _unsigned(RS, GOOD)),
    _token_case("kid-an-object", _unsigned({"alg": "RS256", "kid": {"a": 1}}, GOOD)),
    _token_case("garbage-signature", _unsigned({"alg": "RS256"}, GOOD, b"\x00" * 256)),
    _token_case("huge", _unsigned(RS, {**GOOD, "pad": "x" * 40_000})),
    _token_case("wrong-assertion-type", _unsigned(RS, GOOD), client_assertion_type="saml"),
    _token_case("no-assertion-type", _unsigned(RS, GOOD), client_assertion_type=""),
    _token_case("unknown-client", _unsigned(RS, GOOD), client_id="00000000-0000-4000-8000-0"),
    _token_case("control-chars", "a\x00b.\x01\x02.\x7f"),
    _oidc_case(
        "unknown-tenant", f"/00000000-0000-4000-8000-000000000000/{ISSUER[-37:-1]}/openid/v1/jwks"
    ),
    _oidc_case("not-guids", "/tenant/cluster/.well-known/openid-configuration"),
    _oidc_case("root", "/"),
    _oidc_case("post-jwks", f"/{TENANT}/{ISSUER[-37:-1]}/openid/v1/jwks", "POST"),
    _oidc_case("traversal", f"/{TENANT}/../../etc/passwd"),
]


@pytest.fixture(scope="module")
def child(tmp_path_factory) -> ChildSandbox:
    with ChildSandbox(tmp_path_factory.mktemp("wi-corpus") / "state") as sandbox:
        yield sandbox
        assert "Traceback" not in sandbox.stderr(), sandbox.stderr()[-4000:]


def test_the_workload_identity_corpus_is_large_enough():
    assert len(CORPUS) >= 25 and len({c.id for c in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=[c.id for c in CORPUS])
def test_malformed_assertion_or_oidc_request_gets_a_4xx(child, case):
    status, reply = exchange(child, case.host, case.raw, timeout=5)
    assert status is not None, f"connection dropped without an answer: {reply[:200]!r}"
    assert 400 <= status < 500, reply[:600]
    if case.host == ENTRA:
        body = json.loads(reply.partition(b"\r\n\r\n")[2])
        assert body["error"] in ("invalid_request", "invalid_client", "unauthorized_client")
        assert body["error_description"].startswith("AADSTS")
