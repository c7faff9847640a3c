"""Wire details clients log or depend on (issue 12, part 6): the data plane's required
``api-version``, the response headers of Key Vault and ARM, ARM's throttling body and
rate-limit headers. Raw ``requests`` through the proxy, as in test_wire.py, plus the real
SDKs where they parse what is pinned here."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator

import pytest
from azure.core.exceptions import HttpResponseError

from helpers.sandbox.headers import arm_operation
from tests.conftest import SAMPLE, VAULT
from tests.sandbox.conftest import vault_scope
from tests.sandbox.test_wire import Wire, error_of

GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
ARM = "https://management.azure.com"


@pytest.fixture
def wire(akv_sandbox) -> Iterator[Wire]:
    w = Wire(akv_sandbox)
    yield w
    w.session.close()


def _vault_url(path: str) -> str:
    return f"https://{VAULT}.vault.azure.net{path}"


def test_a_data_plane_request_without_api_version_is_400_bad_parameter(wire):
    token = wire.token("admin")
    for headers in ({"Authorization": f"Bearer {token}"}, {}):
        response = wire.request("GET", _vault_url(f"/secrets/{SAMPLE}"), headers=headers)
        assert response.status_code == 400, response.text
        assert error_of(response) == {
            "code": "BadParameter",
            "message": "The request URI contains an invalid or missing api-version.",
        }
        assert "WWW-Authenticate" not in response.headers
    empty = wire.request(
        "GET", _vault_url(f"/secrets/{SAMPLE}?api-version="), headers={"Authorization": "x"}
    )
    assert empty.status_code == 400


def test_key_vault_answers_carry_its_service_headers_and_echo_the_client_request_id(wire):
    token = wire.token("admin")
    client_id = str(uuid.uuid4())
    ok = wire.request(
        "GET",
        _vault_url(f"/secrets/{SAMPLE}?api-version=7.5"),
        headers={"Authorization": f"Bearer {token}", "x-ms-client-request-id": client_id},
    )
    challenge = wire.request("GET", _vault_url("/secrets?api-version=7.5"))
    missing = wire.request(
        "GET",
        _vault_url("/secrets/nope?api-version=7.5"),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (ok.status_code, challenge.status_code, missing.status_code) == (200, 401, 404)
    for response in (ok, challenge, missing):
        headers = response.headers
        assert GUID.match(headers["x-ms-request-id"])
        assert headers["x-ms-keyvault-region"] == "westeurope"
        assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", headers["x-ms-keyvault-service-version"])
        assert headers["x-ms-keyvault-network-info"] == (
            "conn_type=Ipv4;addr=127.0.0.1;act_addr_fam=InterNetwork;"
        )
        assert headers["Cache-Control"] == "no-cache"
        assert headers["Strict-Transport-Security"] == "max-age=31536000;includeSubDomains"
        assert headers["X-Content-Type-Options"] == "nosniff"
    assert ok.headers["x-ms-client-request-id"] == client_id
    assert "x-ms-client-request-id" not in challenge.headers
    assert ok.headers["x-ms-request-id"] != missing.headers["x-ms-request-id"]


def test_the_sdk_sees_the_request_id_of_a_key_vault_error(akv_sandbox, admin_credential):
    from azure.core.exceptions import ResourceNotFoundError
    from azure.keyvault.secrets import SecretClient

    client = SecretClient(f"https://{VAULT}.vault.azure.net/", admin_credential)
    with pytest.raises(ResourceNotFoundError) as caught:
        client.get_secret("no-such-secret")
    response = caught.value.response
    assert GUID.match(response.headers["x-ms-request-id"])
    sent = response.request.headers["x-ms-client-request-id"]
    assert response.headers["x-ms-client-request-id"] == sent


def test_arm_answers_carry_request_correlation_routing_and_rate_limit_headers(wire):
    token = wire.token("admin", scope="https://management.azure.com/.default")
    sub = os.environ["AZURE_SUBSCRIPTION_ID"]
    auth = {"Authorization": f"Bearer {token}"}
    first = wire.request("GET", f"{ARM}/subscriptions/{sub}?api-version=2022-12-01", headers=auth)
    second = wire.request("GET", f"{ARM}/subscriptions/{sub}?api-version=2022-12-01", headers=auth)
    tenant = wire.request("GET", f"{ARM}/subscriptions?api-version=2022-12-01", headers=auth)
    correlation = str(uuid.uuid4())
    denied = wire.request(
        "GET",
        f"{ARM}/subscriptions/{sub}?api-version=2022-12-01",
        headers={"x-ms-correlation-request-id": correlation},
    )
    assert (first.status_code, tenant.status_code, denied.status_code) == (200, 200, 401)
    for response in (first, second, tenant, denied):
        rid = response.headers["x-ms-request-id"]
        assert GUID.match(rid)
        region, stamp, routed = response.headers["x-ms-routing-request-id"].split(":")
        assert region == "WESTEUROPE" and re.fullmatch(r"\d{8}T\d{6}Z", stamp) and routed == rid
        assert response.headers["Strict-Transport-Security"] == (
            "max-age=31536000; includeSubDomains"
        )
    assert first.headers["x-ms-correlation-request-id"] == first.headers["x-ms-request-id"]
    assert denied.headers["x-ms-correlation-request-id"] == correlation
    reads = int(first.headers["x-ms-ratelimit-remaining-subscription-reads"])
    assert 0 < reads < 12000
    assert int(second.headers["x-ms-ratelimit-remaining-subscription-reads"]) == reads - 1
    assert "x-ms-ratelimit-remaining-tenant-reads" in tenant.headers
    assert "x-ms-ratelimit-remaining-subscription-reads" not in tenant.headers


def test_arm_writes_and_deletes_count_against_their_own_budgets(
    akv_sandbox, admin_credential, backend_credential
):
    from azure.mgmt.authorization import AuthorizationManagementClient

    from tests.sandbox.conftest import BACKEND_OID, ROLE, assignment, vault_scope

    client = AuthorizationManagementClient(admin_credential, os.environ["AZURE_SUBSCRIPTION_ID"])
    seen: list[dict] = []

    def hook(response):
        seen.append(dict(response.http_response.headers))

    name = str(uuid.uuid4())
    client.role_assignments.create(
        vault_scope(),
        name,
        assignment(ROLE["Key Vault Secrets Officer"], BACKEND_OID),
        raw_response_hook=hook,
    )
    client.role_assignments.delete(vault_scope(), name, raw_response_hook=hook)
    created, deleted = seen
    assert 0 < int(created["x-ms-ratelimit-remaining-subscription-writes"]) < 1200
    assert 0 < int(deleted["x-ms-ratelimit-remaining-subscription-deletes"]) < 15000


def test_arm_throttling_is_subscription_requests_throttled_with_retry_after(wire):
    token = wire.token("admin", scope="https://management.azure.com/.default")
    sub = os.environ["AZURE_SUBSCRIPTION_ID"]
    path = vault_scope()
    wire.sandbox.client.add_fault("throttle", target="arm", count=2, retry_after=9)
    throttled = wire.request(
        "GET", f"{ARM}{path}?api-version=2023-07-01", headers={"Authorization": f"Bearer {token}"}
    )
    tenant = wire.request(
        "GET", f"{ARM}/subscriptions?api-version=2022-12-01", headers={"Authorization": "x"}
    )
    assert throttled.status_code == tenant.status_code == 429
    assert throttled.headers["Retry-After"] == "9"
    assert error_of(throttled) == {
        "code": "SubscriptionRequestsThrottled",
        "message": (
            f"Number of requests for subscription '{sub}' and operation "
            "'GET/SUBSCRIPTIONS/RESOURCEGROUPS/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS' exceeded "
            "the backend storage limit. Please try again after '9' seconds."
        ),
    }
    assert error_of(tenant) == {
        "code": "TooManyRequests",
        "message": "The request is being throttled.",
    }
    assert "x-ms-correlation-request-id" in throttled.headers


def test_arm_sdk_surfaces_the_throttling_code(akv_sandbox, admin_credential):
    from azure.mgmt.keyvault import KeyVaultManagementClient

    arm = KeyVaultManagementClient(
        admin_credential, os.environ["AZURE_SUBSCRIPTION_ID"], retry_total=0
    )
    akv_sandbox.client.add_fault("throttle", target="arm", count=1, retry_after=1)
    with pytest.raises(HttpResponseError) as caught:
        arm.vaults.get("rg-airflow", VAULT)
    assert caught.value.status_code == 429
    assert caught.value.error.code == "SubscriptionRequestsThrottled"


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    [
        (
            "POST",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/start",
            "POST/SUBSCRIPTIONS/RESOURCEGROUPS/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/START",
        ),
        (
            "PUT",
            "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/x",
            "PUT/SUBSCRIPTIONS/PROVIDERS/MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS",
        ),
    ],
)
def test_arm_operation_names_drop_the_resource_names(method, path, operation):
    assert arm_operation(method, path) == operation
