"""Microsoft Graph in the sandbox: the principal lookups the az CLI makes, on the wire.

Tokens come from the unmodified azure-identity credential (Graph audience, from the sandbox's
Entra ID); requests go through the sandbox's proxy with `requests`, as az's own do. The
corpus at the end sends malformed requests: each gets Graph's 4xx error shape, never a 5xx.
"""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import credential_for
from tests.sandbox.conftest import BACKEND_OID, TENANT_ID

GRAPH = "https://graph.microsoft.com/v1.0"
BACKEND_APP_ID = "3c9e1f7a-2d4b-4a6c-8e0f-5b7d9f1a3c42"
ADMIN_OID = "b4d6f8a0-2c4e-4a6b-8d0f-4f6a8c0e2a75"
MISSING = "00000000-0000-0000-0000-0000000000aa"


@pytest.fixture
def tokens(akv_sandbox) -> dict[str, str]:
    admin = credential_for(akv_sandbox, "admin")
    backend = credential_for(akv_sandbox, "airflow-backend")
    directory = akv_sandbox.state.directory
    app = directory.app_by_name("admin")
    other_key = rsa.generate_private_key(65537, 2048)
    forged = jwt.encode(
        {"aud": "https://graph.microsoft.com", "tid": TENANT_ID, "exp": time.time() + 600},
        other_key,
        algorithm="RS256",
    )
    return {
        "admin": admin.get_token("https://graph.microsoft.com/.default").token,
        "admin-by-app-id": admin.get_token("00000003-0000-0000-c000-000000000000/.default").token,
        "backend": backend.get_token("https://graph.microsoft.com/.default").token,
        "vault": admin.get_token("https://vault.azure.net/.default").token,
        "arm": admin.get_token("https://management.azure.com/.default").token,
        "expired": directory.mint(app, "https://graph.microsoft.com", lifetime=-10),
        "forged": forged,
    }


def _get(path: str, token: str | None, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers.update(kwargs.pop("headers", {}))
    return requests.request(
        kwargs.pop("method", "GET"), GRAPH + path, headers=headers, timeout=10, **kwargs
    )


def _error(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    inner = body["error"]["innerError"]
    assert {"date", "request-id", "client-request-id"} <= set(inner)
    assert response.headers["request-id"] == inner["request-id"]
    return body["error"]["message"]


# -- tokens --------------------------------------------------------------------------------
def test_graph_tokens_carry_the_graph_audience_and_the_apps_permissions(tokens):
    claims = jwt.decode(tokens["admin"], options={"verify_signature": False})
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["roles"] == ["Directory.Read.All"]
    by_app_id = jwt.decode(tokens["admin-by-app-id"], options={"verify_signature": False})
    assert by_app_id["aud"] == "https://graph.microsoft.com"
    assert "roles" not in jwt.decode(tokens["backend"], options={"verify_signature": False})


# -- service principals ----------------------------------------------------------------------
def test_service_principals_filter_by_app_id_answers_an_odata_collection(tokens):
    got = _get(f"/servicePrincipals?$filter=appId eq '{BACKEND_APP_ID}'", tokens["admin"])
    assert got.status_code == 200
    assert got.headers["Content-Type"].startswith("application/json;odata.metadata=minimal")
    body = got.json()
    assert body["@odata.context"] == f"{GRAPH}/$metadata#servicePrincipals"
    (sp,) = body["value"]
    assert (sp["id"], sp["appId"], sp["displayName"]) == (
        BACKEND_OID,
        BACKEND_APP_ID,
        "airflow-backend",
    )
    assert sp["servicePrincipalNames"] == [BACKEND_APP_ID]


def test_service_principal_by_id_by_app_id_key_and_by_names_filter(tokens):
    admin = tokens["admin"]
    by_id = _get(f"/servicePrincipals/{BACKEND_OID}", admin).json()
    assert by_id["@odata.context"] == f"{GRAPH}/$metadata#servicePrincipals/$entity"
    by_key = _get(f"/servicePrincipals(appId='{BACKEND_APP_ID}')", admin).json()
    assert by_key["id"] == by_id["id"] == BACKEND_OID
    flt = f"servicePrincipalNames/any(c:c eq '{BACKEND_APP_ID}')"
    assert [s["id"] for s in _get(f"/servicePrincipals?$filter={flt}", admin).json()["value"]] == [
        BACKEND_OID
    ]
    started = _get("/servicePrincipals?$filter=startswith(displayName,'air')", admin).json()
    assert {s["displayName"]: s["servicePrincipalType"] for s in started["value"]} == {
        "airflow-backend": "Application",
        "airflow-workload": "Application",
        "airflow-uami": "ManagedIdentity",  # managed identities are service principals too
        "airflow-host": "ManagedIdentity",
    }
    apps = _get("/applications?$filter=startswith(displayName,'air')", admin).json()["value"]
    assert sorted(a["displayName"] for a in apps) == ["airflow-backend", "airflow-workload"]
    selected = _get(f"/servicePrincipals/{BACKEND_OID}?$select=appId", admin).json()
    assert set(selected) == {"@odata.context", "id", "appId"}


def test_applications_filter_and_get_answer_the_application_object(tokens):
    admin = tokens["admin"]
    (app,) = _get(f"/applications?$filter=appId eq '{BACKEND_APP_ID}'", admin).json()["value"]
    assert app["appId"] == BACKEND_APP_ID
    assert app["id"] not in (BACKEND_OID, BACKEND_APP_ID)  # its own object id
    assert _get(f"/applications/{app['id']}", admin).json()["displayName"] == "airflow-backend"
    assert _get(f"/applications(appId='{BACKEND_APP_ID}')", admin).json()["id"] == app["id"]


def test_get_by_ids_returns_typed_objects_and_leaves_unknown_ids_out(tokens):
    got = _get(
        "/directoryObjects/getByIds",
        tokens["admin"],
        method="POST",
        json={"ids": [BACKEND_OID, MISSING, ADMIN_OID], "types": ["user", "servicePrincipal"]},
    )
    assert got.status_code == 200
    body = got.json()
    assert body["@odata.context"] == f"{GRAPH}/$metadata#directoryObjects"
    assert [(o["@odata.type"], o["id"]) for o in body["value"]] == [
        ("#microsoft.graph.servicePrincipal", BACKEND_OID),
        ("#microsoft.graph.servicePrincipal", ADMIN_OID),
    ]


def test_client_request_id_is_echoed(tokens):
    rid = str(uuid.uuid4())
    got = _get(f"/servicePrincipals/{MISSING}", tokens["admin"], headers={"client-request-id": rid})
    _error(got, 404, "Request_ResourceNotFound")
    assert got.headers["client-request-id"] == rid
    assert got.json()["error"]["innerError"]["client-request-id"] == rid


# -- errors --------------------------------------------------------------------------------
def test_unknown_object_is_request_resource_not_found(tokens):
    message = _error(
        _get(f"/servicePrincipals/{MISSING}", tokens["admin"]), 404, "Request_ResourceNotFound"
    )
    assert message == (
        f"Resource '{MISSING}' does not exist or one of its queried reference-property objects "
        "are not present."
    )


def test_an_app_without_graph_permissions_gets_authorization_request_denied(tokens):
    message = _error(
        _get(f"/servicePrincipals/{BACKEND_OID}", tokens["backend"]),
        403,
        "Authorization_RequestDenied",
    )
    assert message == "Insufficient privileges to complete the operation."


@pytest.mark.parametrize("kind", ["vault", "arm"])
def test_a_key_vault_or_arm_token_is_refused_as_invalid_authentication_token(tokens, kind):
    got = _get(f"/servicePrincipals/{BACKEND_OID}", tokens[kind])
    assert _error(got, 401, "InvalidAuthenticationToken") == (
        "Access token validation failure. Invalid audience."
    )
    assert got.headers["WWW-Authenticate"].startswith("Bearer ")


def test_a_graph_token_is_refused_by_key_vault_and_arm(tokens):
    kv = requests.get(
        "https://airflow-sandbox-kv.vault.azure.net/secrets?api-version=7.4",
        headers={"Authorization": f"Bearer {tokens['admin']}"},
        timeout=10,
    )
    assert kv.status_code == 401
    arm = requests.get(
        "https://management.azure.com/subscriptions?api-version=2022-12-01",
        headers={"Authorization": f"Bearer {tokens['admin']}"},
        timeout=10,
    )
    assert arm.status_code == 401
    assert arm.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"


# -- the malformed-request corpus ----------------------------------------------------------
SP = f"/servicePrincipals/{BACKEND_OID}"
BY_IDS = "/directoryObjects/getByIds"
# (name, method, path, token kind or None, extra request kwargs, status, code)
CORPUS = [
    ("no-auth", "GET", SP, None, {}, 401, "InvalidAuthenticationToken"),
    (
        "basic-auth",
        "GET",
        SP,
        None,
        {"headers": {"Authorization": "Basic eDp5"}},
        401,
        "InvalidAuthenticationToken",
    ),
    (
        "bearer-empty",
        "GET",
        SP,
        None,
        {"headers": {"Authorization": "Bearer "}},
        401,
        "InvalidAuthenticationToken",
    ),
    (
        "bearer-garbage",
        "GET",
        SP,
        None,
        {"headers": {"Authorization": "Bearer abc"}},
        401,
        "InvalidAuthenticationToken",
    ),
    (
        "bearer-three-dots",
        "GET",
        SP,
        None,
        {"headers": {"Authorization": "Bearer a.b.c"}},
        401,
        "InvalidAuthenticationToken",
    ),
    ("forged-signature", "GET", SP, "forged", {}, 401, "InvalidAuthenticationToken"),
    ("expired", "GET", SP, "expired", {}, 401, "InvalidAuthenticationToken"),
    ("vault-audience", "GET", "/servicePrincipals", "vault", {}, 401, "InvalidAuthenticationToken"),
    (
        "arm-audience",
        "POST",
        BY_IDS,
        "arm",
        {"json": {"ids": [BACKEND_OID]}},
        401,
        "InvalidAuthenticationToken",
    ),
    (
        "no-permission-list",
        "GET",
        "/servicePrincipals",
        "backend",
        {},
        403,
        "Authorization_RequestDenied",
    ),
    (
        "no-permission-getbyids",
        "POST",
        BY_IDS,
        "backend",
        {"json": {"ids": [BACKEND_OID]}},
        403,
        "Authorization_RequestDenied",
    ),
    (
        "unknown-sp",
        "GET",
        f"/servicePrincipals/{MISSING}",
        "admin",
        {},
        404,
        "Request_ResourceNotFound",
    ),
    (
        "unknown-app-id-key",
        "GET",
        f"/servicePrincipals(appId='{MISSING}')",
        "admin",
        {},
        404,
        "Request_ResourceNotFound",
    ),
    (
        "unknown-application",
        "GET",
        f"/applications/{MISSING}",
        "admin",
        {},
        404,
        "Request_ResourceNotFound",
    ),
    ("non-guid-sp", "GET", "/servicePrincipals/not-a-guid", "admin", {}, 400, "Request_BadRequest"),
    (
        "non-guid-app-id-key",
        "GET",
        "/servicePrincipals(appId='nope')",
        "admin",
        {},
        400,
        "Request_BadRequest",
    ),
    ("huge-id", "GET", "/servicePrincipals/" + "a" * 5000, "admin", {}, 400, "Request_BadRequest"),
    (
        "filter-unterminated",
        "GET",
        "/servicePrincipals?$filter=appId eq 'x",
        "admin",
        {},
        400,
        "Request_BadRequest",
    ),
    (
        "filter-no-value",
        "GET",
        "/servicePrincipals?$filter=appId eq",
        "admin",
        {},
        400,
        "Request_BadRequest",
    ),
    ("filter-empty", "GET", "/servicePrincipals?$filter=", "admin", {}, 400, "Request_BadRequest"),
    (
        "filter-bad-operator",
        "GET",
        "/servicePrincipals?$filter=appId gt 'x'",
        "admin",
        {},
        400,
        "Request_BadRequest",
    ),
    (
        "filter-unknown-property",
        "GET",
        "/servicePrincipals?$filter=colour eq 'x'",
        "admin",
        {},
        400,
        "Request_BadRequest",
    ),
    (
        "filter-unbalanced",
        "GET",
        "/servicePrincipals?$filter=(appId eq 'x'",
        "admin",
        {},
        400,
        "Request_BadRequest",
    ),
    (
        "filter-trailing-junk",
        "GET",
        "/applications?$filter=appId eq 'x' 'y'",
        "admin",
        {},
        400,
        "Request_BadRequest",
    ),
    (
        "filter-bad-any",
        "GET",
        "/servicePrincipals?$filter=servicePrincipalNames/any(c:d eq 'x')",
        "admin",
        {},
        400,
        "Request_BadRequest",
    ),
    (
        "filter-symbols",
        "GET",
        '/servicePrincipals?$filter=appId == "x"',
        "admin",
        {},
        400,
        "Request_BadRequest",
    ),
    (
        "filter-twice",
        "GET",
        "/servicePrincipals?$filter=id eq 'a'&$filter=id eq 'b'",
        "admin",
        {},
        400,
        "Request_BadRequest",
    ),
    ("top-zero", "GET", "/servicePrincipals?$top=0", "admin", {}, 400, "Request_BadRequest"),
    ("select-unknown", "GET", f"{SP}?$select=colour", "admin", {}, 400, "Request_BadRequest"),
    ("getbyids-no-body", "POST", BY_IDS, "admin", {}, 400, "Request_BadRequest"),
    (
        "getbyids-not-json",
        "POST",
        BY_IDS,
        "admin",
        {"data": b"{not json", "headers": {"Content-Type": "application/json"}},
        400,
        "BadRequest",
    ),
    ("getbyids-array", "POST", BY_IDS, "admin", {"json": [BACKEND_OID]}, 400, "Request_BadRequest"),
    (
        "getbyids-no-ids",
        "POST",
        BY_IDS,
        "admin",
        {"json": {"types": ["user"]}},
        400,
        "Request_BadRequest",
    ),
    (
        "getbyids-ids-string",
        "POST",
        BY_IDS,
        "admin",
        {"json": {"ids": BACKEND_OID}},
        400,
        "Request_BadRequest",
    ),
    (
        "getbyids-ids-numbers",
        "POST",
        BY_IDS,
        "admin",
        {"json": {"ids": [1, 2]}},
        400,
        "Request_BadRequest",
    ),
    (
        "getbyids-empty-ids",
        "POST",
        BY_IDS,
        "admin",
        {"json": {"ids": []}},
        400,
        "Request_BadRequest",
    ),
    (
        "getbyids-too-many",
        "POST",
        BY_IDS,
        "admin",
        {"json": {"ids": [MISSING] * 1001}},
        400,
        "Request_BadRequest",
    ),
    (
        "getbyids-non-guid",
        "POST",
        BY_IDS,
        "admin",
        {"json": {"ids": ["nope"]}},
        400,
        "Request_BadRequest",
    ),
    (
        "getbyids-bad-type",
        "POST",
        BY_IDS,
        "admin",
        {"json": {"ids": [BACKEND_OID], "types": ["cat"]}},
        400,
        "Request_BadRequest",
    ),
    (
        "getbyids-unknown-field",
        "POST",
        BY_IDS,
        "admin",
        {"json": {"ids": [BACKEND_OID], "x": 1}},
        400,
        "Request_BadRequest",
    ),
    (
        "getbyids-nested-deep",
        "POST",
        BY_IDS,
        "admin",
        {"data": b"[" * 100_000, "headers": {"Content-Type": "application/json"}},
        400,
        "BadRequest",
    ),
    ("me-app-only", "GET", "/me", "admin", {}, 400, "Request_BadRequest"),
    ("unknown-segment", "GET", "/groupz", "admin", {}, 400, "BadRequest"),
    ("write-sp", "DELETE", SP, "admin", {}, 403, "Authorization_RequestDenied"),
    (
        "patch-sp",
        "PATCH",
        SP,
        "admin",
        {"json": {"displayName": "x"}},
        403,
        "Authorization_RequestDenied",
    ),
]


@pytest.mark.parametrize(
    "method,path,token,kwargs,status,code", [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS]
)
def test_malformed_graph_requests_get_graphs_4xx_shape(
    tokens, method, path, token, kwargs, status, code
):
    got = _get(path, tokens[token] if token else None, method=method, **kwargs)
    assert got.status_code < 500
    _error(got, status, code)


def test_unknown_versions_are_refused_in_graphs_shape(tokens):
    got = requests.get(
        "https://graph.microsoft.com/v9.9/servicePrincipals",
        headers={"Authorization": f"Bearer {tokens['admin']}"},
        timeout=10,
    )
    assert _error(got, 400, "BadRequest") == "Invalid version: v9.9"
