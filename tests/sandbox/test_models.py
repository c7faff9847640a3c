"""The service models on their own, without the wire: every rule lives there.

responses.py only reads the request, calls one model method and serialises, so the order
of checks (authentication, authorization, then the request's own validity) and the state
rules are tested here directly on the models.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from helpers.sandbox.arm import exceptions as arm_exc
from helpers.sandbox.entra import exceptions as entra_exc
from helpers.sandbox.http import NOT_JSON
from helpers.sandbox.keyvault import exceptions as kv_exc
from helpers.sandbox.keyvault.models import AccessPolicy, Caller, paginate
from helpers.sandbox.scenario import load_scenario
from helpers.sandbox.state import SandboxState
from tests.conftest import POLICY_VAULT, VAULT
from tests.sandbox.conftest import ROLE

SANDBOX = Path(__file__).resolve().parents[2] / "helpers" / "sandbox"
API = "2026-04-01"
READER = ROLE["Key Vault Reader"]


@pytest.fixture(scope="module")
def state(tmp_path_factory) -> SandboxState:
    return SandboxState(load_scenario(), tmp_path_factory.mktemp("models"), ephemeral=True)


@pytest.fixture
def world(state):
    state.reset()
    return state


def _claims(state, app_name: str) -> dict:
    app = state.directory.app_by_name(app_name)
    return {"oid": app.object_id, "tid": app.tenant_id, "appid": app.client_id}


def _bearer(state, app_name: str, audience: str) -> str:
    return "Bearer " + state.directory.mint(state.directory.app_by_name(app_name), audience)


@pytest.mark.parametrize("service", ["entra", "keyvault", "arm", "graph"])
def test_responses_decide_nothing_they_raise_no_service_error(service):
    tree = ast.parse((SANDBOX / service / "responses.py").read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert "exceptions" not in imported
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Raise)]


def test_arm_asks_for_the_api_version_before_the_token(world):
    with pytest.raises(arm_exc.MissingApiVersion):
        world.arm.authenticate(authorization="", api_version=None)
    with pytest.raises(arm_exc.AuthenticationFailed):
        world.arm.authenticate(authorization="", api_version=API)


def test_arm_rejects_a_vault_token(world):
    token = _bearer(world, "admin", "https://vault.azure.net")
    with pytest.raises(arm_exc.InvalidAuthenticationToken) as err:
        world.arm.authenticate(authorization=token, api_version=API)
    assert err.value.code == "InvalidAuthenticationTokenAudience"


def test_keyvault_authenticates_before_reading_the_body(world):
    vault = world.keyvault.vaults[VAULT]
    with pytest.raises(kv_exc.Unauthorized):
        world.keyvault.authenticate(vault=vault, authorization="Basic x")
    token = _bearer(world, "airflow-backend", "https://vault.azure.net")
    claims = world.keyvault.authenticate(vault=vault, authorization=token)
    assert claims["oid"] == world.directory.app_by_name("airflow-backend").object_id


def test_keyvault_authorizes_before_rejecting_a_malformed_body(world):
    vault = world.keyvault.vaults[VAULT]
    reader = Caller(_claims(world, "airflow-backend"))
    with pytest.raises(kv_exc.Forbidden) as err:
        world.keyvault.set_secret(vault=vault, name="x", body=NOT_JSON, caller=reader)
    assert err.value.inner == "ForbiddenByRbac"
    admin = Caller(_claims(world, "admin"))
    with pytest.raises(kv_exc.BadParameter, match="not valid JSON"):
        world.keyvault.set_secret(vault=vault, name="x", body=NOT_JSON, caller=admin)
    with pytest.raises(kv_exc.BadParameter, match="JSON object"):
        world.keyvault.set_secret(vault=vault, name="x", body=[1], caller=admin)


def test_keyvault_firewall_is_checked_before_the_role(world):
    vault = world.keyvault.vaults[VAULT]
    vault.firewall_default_action = "Deny"
    admin = Caller(_claims(world, "admin"), client_ip="10.0.0.9")
    with pytest.raises(kv_exc.Forbidden) as err:
        world.keyvault.get_secrets(vault=vault, caller=admin)
    assert err.value.inner == "ForbiddenByFirewall"


def test_paging_hands_out_a_skiptoken_until_the_last_page():
    first = paginate(list(range(5)), "2", None)
    assert (first.items, first.size) == ([0, 1], 2)
    second = paginate(list(range(5)), "2", first.skiptoken)
    last = paginate(list(range(5)), "2", second.skiptoken)
    assert (second.items, last.items, last.skiptoken) == ([2, 3], [4], None)
    with pytest.raises(kv_exc.BadParameter, match="between 1 and 25"):
        paginate([], "26", None)


def _policy_update(world, kind: str, *secrets: str, claims=None, policies=...):
    vault = world.keyvault.vaults[POLICY_VAULT]
    backend = world.directory.app_by_name("airflow-backend")
    if policies is ...:
        policies = [AccessPolicy(backend.tenant_id, backend.object_id, list(secrets))]
    found = world.arm.update_access_policy(
        claims=claims or _claims(world, "admin"),
        subscription=vault.subscription_id,
        resource_group=vault.resource_group,
        name=vault.name,
        kind=kind,
        policies=policies,
    )
    mine = [p for p in found.access_policies if p.object_id == backend.object_id]
    return mine[0].secrets if mine else None


def test_access_policy_add_merges_remove_subtracts_replace_sets(world):
    assert _policy_update(world, "add", "set") == ["get", "list", "set"]
    assert _policy_update(world, "remove", "get", "list") == ["set"]
    assert _policy_update(world, "replace", "get") == ["get"]
    assert _policy_update(world, "remove", "get") is None


def test_access_policy_body_is_checked_after_the_callers_rights(world):
    with pytest.raises(arm_exc.AuthorizationFailed):
        _policy_update(world, "add", claims=_claims(world, "airflow-backend"), policies=None)
    with pytest.raises(arm_exc.InvalidRequestContent):
        _policy_update(world, "add", policies=None)


def test_role_assignment_needs_a_known_role_and_principal(world):
    vault = world.keyvault.vaults[VAULT]
    create = world.arm.create_role_assignment
    common = {"claims": _claims(world, "admin"), "scope": vault.resource_id, "name": "a1"}
    backend = world.directory.app_by_name("airflow-backend").object_id
    with pytest.raises(arm_exc.InvalidRequestContent):
        create(**common, role_definition_id=None, principal_id=None, principal_type=None)
    with pytest.raises(arm_exc.RoleDefinitionDoesNotExist):
        create(**common, role_definition_id="no-such", principal_id=backend, principal_type=None)
    with pytest.raises(arm_exc.PrincipalNotFound):
        create(**common, role_definition_id=READER, principal_id="0" * 8, principal_type=None)
    assignment, created = create(
        **common, role_definition_id=READER, principal_id=backend, principal_type=None
    )
    assert created and assignment.principal_type == "ServicePrincipal"


def test_token_endpoint_checks_the_grant_before_the_client(world):
    app = world.directory.app_by_name("airflow-backend")
    with pytest.raises(entra_exc.UnsupportedGrantType):
        world.directory.issue_token(
            tenant=app.tenant_id,
            grant_type="password",
            client_id="nobody",
            client_secret=None,
            scope="https://vault.azure.net/.default",
        )
    secret = next(s.value for s in app.secrets)
    token = world.directory.issue_token(
        tenant=app.tenant_id,
        grant_type="client_credentials",
        client_id=app.client_id,
        client_secret=secret,
        scope="https://vault.azure.net/.default",
    )
    assert world.directory.verify_signature(token.access_token)["aud"] == "https://vault.azure.net"


@pytest.mark.parametrize(
    "body",
    [
        {"value": "v", "attributes": {"enabled": "false"}},  # was stored as enabled
        {"value": "v", "attributes": [1]},
        {"value": "v", "attributes": {"exp": "tomorrow"}},
        {"value": "v", "tags": {"team": 1}},
        {"value": "v", "tags": {"k" * 513: "v"}},
        {"value": "v", "contentType": "x" * 1_000_000},
        {"value": "v", "contentType": 5},
    ],
)
def test_keyvault_rejects_what_the_service_rejects_in_a_secret_body(world, body):
    vault = world.keyvault.vaults[VAULT]
    admin = Caller(_claims(world, "admin"))
    with pytest.raises(kv_exc.BadParameter):
        world.keyvault.set_secret(vault=vault, name="typed", body=body, caller=admin)
    assert "typed" not in vault.secrets


def test_a_disabled_secret_set_with_a_real_boolean_stays_disabled(world):
    vault = world.keyvault.vaults[VAULT]
    admin = Caller(_claims(world, "admin"))
    body = {"value": "v", "attributes": {"enabled": False}, "tags": {"team": "a"}}
    _, version = world.keyvault.set_secret(vault=vault, name="off", body=body, caller=admin)
    assert version.enabled is False and version.tags == {"team": "a"}
