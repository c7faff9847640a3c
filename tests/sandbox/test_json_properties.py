"""Property-based: whatever JSON (or bytes) reaches a body-taking endpoint, the sandbox answers
with an HTTP response below 500 (issue 11). Requests go straight to the Router, in process,
so that hundreds of examples run in seconds; the wire itself is covered by
test_wire_corpus.py."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.sandbox.http import Request
from helpers.sandbox.scenario import load_scenario
from helpers.sandbox.server import Router
from helpers.sandbox.state import SandboxState

SAMPLE = "airflow-variables-sample-variable"
VAULT = "airflow-sandbox-kv.vault.azure.net"
POLICY_VAULT = "airflow-policy-kv"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _shaped(keys: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    """Objects with the endpoint's own keys holding anything, plus arbitrary JSON."""
    return st.fixed_dictionaries({}, optional=keys) | json_values


SECRET_BODY = _shaped(
    {
        "value": json_values | st.text(),
        "attributes": _shaped({"enabled": json_values, "nbf": json_values, "exp": json_values}),
        "tags": json_values,
        "contentType": json_values,
    }
)
ASSIGNMENT_BODY = _shaped(
    {
        "properties": _shaped(
            {
                "roleDefinitionId": json_values | st.just("acdd72a7-3385-48ef-bd42-f606fba81ae7"),
                "principalId": json_values,
                "principalType": json_values,
            }
        )
    }
)
POLICY_BODY = _shaped(
    {
        "properties": _shaped(
            {
                "accessPolicies": st.lists(
                    _shaped(
                        {
                            "tenantId": json_values,
                            "objectId": json_values,
                            "permissions": _shaped({"secrets": json_values, "keys": json_values}),
                        }
                    ),
                    max_size=3,
                )
                | json_values
            }
        )
    }
)
CONTROL_BODY = _shaped(
    {
        "vault": json_values,
        "secrets": json_values | st.dictionaries(st.text(max_size=10), json_values, max_size=3),
        "name": json_values | st.just(SAMPLE),
        "enable": json_values,
        "state": json_values | st.sampled_from(["open", "closed"]),
        "seconds": json_values,
        "app": json_values,
        "kind": json_values | st.sampled_from(["throttle", "error", "latency"]),
        "target": json_values,
        "count": json_values,
        "status": json_values,
        "latency_ms": json_values,
        "retry_after": json_values,
    }
)
FAST = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _fresh(tmp_path_factory):
    state = SandboxState(load_scenario(None), tmp_path_factory.mktemp("props"), ephemeral=True)
    router = Router(state, {})
    directory = state.directory
    admin = directory.app_by_name("admin")
    tokens = {
        "kv": directory.mint(admin, "https://vault.azure.net"),
        "arm": directory.mint(admin, "https://management.azure.com/"),
    }
    sub = state.environment("admin")["AZURE_SUBSCRIPTION_ID"]
    return state, router, tokens, sub


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """One sandbox for the property tests: arbitrary bodies may close its firewall or change
    its vaults, which is the point; they only need answers below 500."""
    return _fresh(tmp_path_factory)


def _send(router, method, host, target, body: bytes, token: str) -> int:
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    request = Request(method, target, headers, body, host=host)
    return asyncio.run(router.handle(request)).status


def _encode(value) -> bytes:
    return json.dumps(value).encode()


@FAST
@given(body=SECRET_BODY, op=st.sampled_from(["set", "update", "restore"]))
def test_key_vault_secret_bodies_never_get_a_5xx(sandbox, body, op):
    state, router, tokens, _ = sandbox
    method, path = {
        "set": ("PUT", "/secrets/prop-secret?api-version=7.5"),
        "update": ("PATCH", f"/secrets/{SAMPLE}/?api-version=7.5"),
        "restore": ("POST", "/secrets/restore?api-version=7.5"),
    }[op]
    assert _send(router, method, VAULT, path, _encode(body), tokens["kv"]) < 500


@FAST
@given(body=ASSIGNMENT_BODY)
def test_role_assignment_bodies_never_get_a_5xx(sandbox, body):
    state, router, tokens, sub = sandbox
    target = (
        f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments/"
        "11111111-2222-4333-8444-555555555555?api-version=2022-04-01"
    )
    assert _send(router, "PUT", "management.azure.com", target, _encode(body), tokens["arm"]) < 500
    state.arm.authorization.assignments.pop("11111111-2222-4333-8444-555555555555", None)


@FAST
@given(body=POLICY_BODY, kind=st.sampled_from(["add", "replace", "remove"]))
def test_access_policy_bodies_never_get_a_5xx(sandbox, body, kind):
    state, router, tokens, sub = sandbox
    target = (
        f"/subscriptions/{sub}/resourceGroups/rg-airflow/providers/Microsoft.KeyVault/vaults/"
        f"{POLICY_VAULT}/accessPolicies/{kind}?api-version=2023-07-01"
    )
    assert _send(router, "PUT", "management.azure.com", target, _encode(body), tokens["arm"]) < 500


@FAST
@given(
    body=CONTROL_BODY,
    path=st.sampled_from(
        [
            "seed",
            "faults",
            "propagation-delay",
            "expire-client-secret",
            "disable-secret",
            "firewall",
        ]
    ),
)
def test_control_bodies_never_get_a_5xx(sandbox, body, path):
    state, router, _, _ = sandbox
    headers = {"authorization": f"Bearer {state.control_token}"}
    request = Request("POST", f"/_sandbox/{path}", headers, _encode(body))
    try:
        assert router.handle_control(request).status < 500
    finally:
        state.faults.clear()
        state.arm.authorization.propagation_delay = 0.0


@FAST
@given(form=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_token_request_bodies_never_get_a_5xx(sandbox, form):
    state, router, _, _ = sandbox
    tenant = state.environment("admin")["AZURE_TENANT_ID"]
    request = Request(
        "POST",
        f"/{tenant}/oauth2/v2.0/token",
        {"content-type": "application/x-www-form-urlencoded"},
        form,
        host="login.microsoftonline.com",
    )
    assert asyncio.run(router.handle(request)).status < 500


def test_the_tokens_used_above_are_accepted_so_the_bodies_are_really_read(tmp_path_factory):
    state, router, tokens, sub = _fresh(tmp_path_factory)  # not one the properties changed
    ok = _send(
        router, "PUT", VAULT, "/secrets/prop-ok?api-version=7.5", b'{"value": "x"}', tokens["kv"]
    )
    assert ok == 200
    target = (
        f"/subscriptions/{sub}/resourceGroups/rg-airflow/providers/Microsoft.KeyVault/vaults/"
        f"{POLICY_VAULT}/accessPolicies/add?api-version=2023-07-01"
    )
    assert _send(router, "PUT", "management.azure.com", target, b"[]", tokens["arm"]) == 400
