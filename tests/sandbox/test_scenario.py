"""Scenario files: validation that reports every problem with its path, minted client
secrets, state persistence, and a custom scenario used end to end."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential, DefaultAzureCredential
from azure.keyvault.secrets import SecretClient

from helpers.sandbox import Sandbox, ScenarioError, load_scenario
from helpers.sandbox.scenario import build_state, default_scenario_path, validate

SAMPLE = "airflow-variables-sample-variable"


# -- helpers -------------------------------------------------------------------------------
def default_data() -> dict[str, Any]:
    return yaml.safe_load(default_scenario_path().read_text(encoding="utf-8"))


def write(tmp_path: Path, data: Any, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def problems_of(tmp_path: Path, data: Any) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, data))
    return caught.value.problems


def credential(sandbox: Sandbox, principal: str) -> ClientSecretCredential:
    env = sandbox.client.env(principal)
    return ClientSecretCredential(
        env["AZURE_TENANT_ID"], env["AZURE_CLIENT_ID"], env["AZURE_CLIENT_SECRET"]
    )


# -- validation ----------------------------------------------------------------------------
def test_default_scenario_validates():
    scenario = load_scenario()

    assert scenario.name == "default"
    assert scenario.default_principal == "airflow-backend"
    assert scenario.default_vault == "airflow-sandbox-kv"
    assert validate(scenario.data) == []


def test_default_scenario_commits_no_client_secret():
    for app in default_data()["apps"]:
        assert all(s["value"] == "generate" for s in app["secrets"])


def _set(path: str, value: Any) -> Callable[[dict], None]:
    """A mutation that sets ``a.b[0].c`` in the scenario document."""

    def mutate(data: dict) -> None:
        node: Any = data
        keys = path.replace("[", ".").replace("]", "").split(".")
        for key in keys[:-1]:
            node = node[int(key)] if key.isdigit() else node[key]
        last = keys[-1]
        node[int(last) if last.isdigit() else last] = value

    return mutate


BROKEN = [
    ("bad tenant guid", _set("tenants[0].id", "not-a-guid"), "tenants[0].id: must be a GUID"),
    (
        "bad subscription guid",
        _set("subscriptions[0].id", "1234"),
        "subscriptions[0].id: must be a GUID",
    ),
    ("bad client id", _set("apps[0].client_id", "abc"), "apps[0].client_id: must be a GUID"),
    (
        "object id equals client id",
        _set("apps[1].object_id", "6e2a4c8f-1b3d-4e5f-9a7c-3e5f7a9c1e64"),
        "apps[1]: client_id and object_id must differ",
    ),
    (
        "unknown tenant",
        _set("apps[0].tenant", "elsewhere.onmicrosoft.com"),
        "apps[0].tenant: unknown tenant 'elsewhere.onmicrosoft.com'",
    ),
    (
        "unknown role name",
        _set("role_assignments[0].role", "Key Vault Secret User"),
        "role_assignments[0].role: unknown built-in role 'Key Vault Secret User'",
    ),
    (
        "unknown vault in scope",
        _set("role_assignments[0].scope", "vault:missing-kv"),
        "role_assignments[0].scope: unknown vault 'missing-kv'",
    ),
    (
        "unknown principal in assignment",
        _set("role_assignments[0].principal", "ghost"),
        "role_assignments[0].principal: must name an app",
    ),
    (
        "bad permission model",
        _set("vaults[0].permission_model", "acl"),
        "vaults[0].permission_model: must be rbac or access_policy",
    ),
    ("bad vault name", _set("vaults[0].name", "kv_with_underscores"), "vaults[0].name:"),
    ("vault name too short", _set("vaults[0].name", "kv"), "vaults[0].name:"),
    (
        "invalid secret name",
        _set("vaults[0].secrets", {"bad_name!": "x"}),
        "vaults[0].secrets.bad_name!: invalid secret name",
    ),
    (
        "bad access policy permission",
        _set("vaults[1].access_policies[0].secrets", ["get", "fly"]),
        "vaults[1].access_policies[0].secrets: unknown permissions ['fly']",
    ),
    (
        "bad firewall",
        _set("vaults[0].firewall", "half-open"),
        "vaults[0].firewall: must be open or closed",
    ),
    (
        "bad retention",
        _set("vaults[0].soft_delete_retention_days", 3),
        "vaults[0].soft_delete_retention_days",
    ),
    (
        "unknown resource group",
        _set("vaults[0].resource_group", "rg-other"),
        "vaults[0].resource_group: unknown 'rg-other'",
    ),
    (
        "bad expiry",
        _set("apps[0].secrets[0].expires", "next tuesday"),
        "apps[0].secrets[0].expires",
    ),
    ("unknown default vault", _set("default_vault", "nope-kv"), "default_vault: unknown"),
    ("no tenants", _set("tenants", []), "tenants: at least one"),
    ("no vaults", _set("vaults", []), "vaults: at least one"),
    ("apps not a list", _set("apps", {"name": "x"}), "apps: must be a list"),
    (
        "duplicate client id",
        _set("apps[1].client_id", "3c9e1f7a-2d4b-4a6c-8e0f-5b7d9f1a3c42"),
        "apps[1].client_id: duplicate",
    ),
    (
        "client id used as principal",
        _set("role_assignments[0].principal", "3c9e1f7a-2d4b-4a6c-8e0f-5b7d9f1a3c42"),
        "is the client_id of 'airflow-backend'",
    ),
    (
        "duplicate vault",
        _set("vaults[1].name", "airflow-sandbox-kv"),
        "vaults[1].name: duplicate vault",
    ),
]


INDEPENDENT = BROKEN[:17]  # mutations that can all be applied to one document


@pytest.mark.parametrize(
    ("mutate", "expected"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_broken_scenario_is_rejected_with_the_problem_and_its_path(tmp_path, mutate, expected):
    data = default_data()
    mutate(data)

    problems = problems_of(tmp_path, data)

    assert any(expected in p for p in problems), problems


def test_a_bad_tenant_id_does_not_cascade_into_unknown_tenant_errors(tmp_path):
    data = default_data()
    data["tenants"][0]["id"] = "not-a-guid"

    assert problems_of(tmp_path, data) == ["tenants[0].id: must be a GUID"]


def test_every_problem_is_reported_at_once(tmp_path):
    data = default_data()
    for _, mutate, _ in INDEPENDENT:
        mutate(data)

    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, data))

    err = caught.value
    for _, _, expected in INDEPENDENT:
        if expected.startswith(("vaults[0].name", "vaults[0].secrets")):
            continue  # overwritten by later mutations of the same field
        assert any(expected in p for p in err.problems), (expected, err.problems)
    assert str(tmp_path / "scenario.yaml") in str(err)
    assert str(err).count("\n  - ") == len(err.problems) >= 15


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- just\n- a list\n", "the document must be a mapping"),
        ("", "the document must be a mapping"),
        ("plain string", "the document must be a mapping"),
        ("tenants: [unclosed\n", "not valid YAML"),
        ("a: b\n  c: d\n", "not valid YAML"),
    ],
    ids=["list", "empty", "scalar", "unclosed-flow", "bad-indent"],
)
def test_unusable_documents_are_rejected(tmp_path, text, expected):
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)

    assert any(expected in p for p in caught.value.problems)
    assert caught.value.source == str(path)


def test_missing_scenario_file_is_a_scenario_error(tmp_path):
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / "nope.yaml")

    assert "cannot read the file" in caught.value.problems[0]


def test_sandbox_refuses_to_start_on_a_broken_scenario(tmp_path):
    data = default_data()
    data["vaults"][0]["permission_model"] = "acl"

    with pytest.raises(ScenarioError):
        Sandbox(scenario=write(tmp_path, data), state_dir=tmp_path / "state", ephemeral=True)


# -- generated client secrets --------------------------------------------------------------
def test_generated_client_secrets_are_minted_once_and_stay_stable(tmp_path):
    state_dir = tmp_path / "state"
    with Sandbox(state_dir=state_dir) as sandbox:
        first = sandbox.client.env("airflow-backend")["AZURE_CLIENT_SECRET"]
        admin = sandbox.client.env("admin")["AZURE_CLIENT_SECRET"]
        sandbox.client.reset()
        after_reset = sandbox.client.env("airflow-backend")["AZURE_CLIENT_SECRET"]
    with Sandbox(state_dir=state_dir) as sandbox:
        after_restart = sandbox.client.env("airflow-backend")["AZURE_CLIENT_SECRET"]
        assert (
            SecretClient("https://airflow-sandbox-kv.vault.azure.net/", DefaultAzureCredential())
            .get_secret(SAMPLE)
            .value
        )

    assert first == after_reset == after_restart
    assert first != admin
    assert "8Q~" in first and len(first) == 40  # shaped like an Entra client secret
    assert first not in default_scenario_path().read_text(encoding="utf-8")
    generated = state_dir / "generated.json"
    assert first in json.loads(generated.read_text()).values()
    assert generated.stat().st_mode & 0o077 == 0


def test_each_state_directory_mints_its_own_client_secrets(tmp_path):
    secrets = []
    for name in ("one", "two"):
        with Sandbox(state_dir=tmp_path / name, ephemeral=True) as sandbox:
            secrets.append(sandbox.client.env("airflow-backend")["AZURE_CLIENT_SECRET"])

    assert secrets[0] != secrets[1]


def test_build_state_reuses_the_generated_mapping():
    scenario = load_scenario()
    generated: dict[str, str] = {}

    first = build_state(scenario, generated)
    second = build_state(scenario, generated)

    assert first["directory"]["apps"] == second["directory"]["apps"]
    assert set(generated) == {"airflow-backend#0", "admin#0"}


# -- persistence ---------------------------------------------------------------------------
def test_state_persists_across_restarts(tmp_path):
    state_dir = tmp_path / "state"
    with Sandbox(state_dir=state_dir) as sandbox:
        SecretClient(os.environ["AZURE_KEYVAULT_URL"], credential(sandbox, "admin")).set_secret(
            "survives-restart", "still here"
        )
    assert (state_dir / "state.json").stat().st_mode & 0o077 == 0

    with Sandbox(state_dir=state_dir) as sandbox:
        secrets = SecretClient(os.environ["AZURE_KEYVAULT_URL"], credential(sandbox, "admin"))
        assert secrets.get_secret("survives-restart").value == "still here"
        sandbox.client.reset()
        with pytest.raises(ResourceNotFoundError):
            secrets.get_secret("survives-restart")


def test_ephemeral_sandbox_forgets_its_state(tmp_path):
    state_dir = tmp_path / "state"
    with Sandbox(state_dir=state_dir, ephemeral=True) as sandbox:
        SecretClient(os.environ["AZURE_KEYVAULT_URL"], credential(sandbox, "admin")).set_secret(
            "forgotten", "gone soon"
        )
    assert not (state_dir / "state.json").exists()

    with Sandbox(state_dir=state_dir, ephemeral=True) as sandbox:
        secrets = SecretClient(os.environ["AZURE_KEYVAULT_URL"], credential(sandbox, "admin"))
        with pytest.raises(ResourceNotFoundError):
            secrets.get_secret("forgotten")


def test_saved_state_of_another_scenario_is_not_reused(tmp_path):
    state_dir = tmp_path / "state"
    with Sandbox(state_dir=state_dir) as sandbox:
        SecretClient(os.environ["AZURE_KEYVAULT_URL"], credential(sandbox, "admin")).set_secret(
            "default-only", "x"
        )
    other = write(tmp_path, default_data(), "copy.yaml")

    with Sandbox(scenario=other, state_dir=state_dir) as sandbox:
        secrets = SecretClient(os.environ["AZURE_KEYVAULT_URL"], credential(sandbox, "admin"))
        with pytest.raises(ResourceNotFoundError):
            secrets.get_secret("default-only")


def test_context_manager_restores_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://corporate-proxy:3128")
    monkeypatch.delenv("AZURE_CLIENT_ID", raising=False)

    with Sandbox(state_dir=tmp_path / "state", ephemeral=True) as sandbox:
        assert os.environ["HTTPS_PROXY"] == f"http://127.0.0.1:{sandbox.port}"
        assert os.environ["AZURE_CLIENT_ID"]

    assert os.environ["HTTPS_PROXY"] == "http://corporate-proxy:3128"
    assert "AZURE_CLIENT_ID" not in os.environ


# -- a custom scenario end to end ----------------------------------------------------------
REPORTS_SECRET = "abc8Q~reporting-job-literal-client-secret"


def reports_scenario() -> dict[str, Any]:
    data = default_data()
    data["name"] = "reports"
    data["apps"].append(
        {
            "name": "reporting-job",
            "tenant": "5f0c6e2a-3b1d-4c8e-9a7f-0d2b4e6f8a10",  # by id this time
            "client_id": "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9",
            "object_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
            "secrets": [{"value": REPORTS_SECRET, "expires": None}],
        }
    )
    data["subscriptions"][0]["resource_groups"].append(
        {"name": "rg-reports", "location": "northeurope"}
    )
    data["vaults"].append(
        {
            "name": "reports-kv",
            "resource_group": "rg-reports",
            "permission_model": "rbac",
            "secrets": {
                "airflow-variables-report-bucket": "s3://reports",
                "disabled-one": {"value": "hidden", "enabled": False},
            },
        }
    )
    data["role_assignments"].append(
        {
            "principal": "reporting-job",
            "role": "Key Vault Secrets User",
            "scope": "vault:reports-kv",
        }
    )
    data["default_principal"] = "reporting-job"
    data["default_vault"] = "reports-kv"
    return data


def test_custom_scenario_works_end_to_end(tmp_path):
    path = write(tmp_path, reports_scenario(), "reports.yaml")

    with Sandbox(scenario=path, state_dir=tmp_path / "state", ephemeral=True) as sandbox:
        assert os.environ["AZURE_KEYVAULT_URL"] == "https://reports-kv.vault.azure.net/"
        assert os.environ["AZURE_CLIENT_SECRET"] == REPORTS_SECRET
        secrets = SecretClient(os.environ["AZURE_KEYVAULT_URL"], DefaultAzureCredential())

        assert secrets.get_secret("airflow-variables-report-bucket").value == "s3://reports"
        with pytest.raises(HttpResponseError) as caught:
            secrets.get_secret("disabled-one")
        assert caught.value.response.json()["error"]["innererror"]["code"] == "SecretDisabled"
        other = SecretClient(
            "https://airflow-sandbox-kv.vault.azure.net/", DefaultAzureCredential()
        )
        with pytest.raises(HttpResponseError) as caught:
            other.get_secret(SAMPLE)
        assert caught.value.response.json()["error"]["innererror"]["code"] == "ForbiddenByRbac"

        status = sandbox.client.status()
        assert status["scenario"] == "reports"
        assert status["vaults"]["reports-kv"]["secrets"] == 2
        assert "reporting-job" in status["apps"]
    assert REPORTS_SECRET in path.read_text()  # literal values are used as written


def test_vault_lands_in_its_resource_group_and_location(tmp_path):
    path = write(tmp_path, reports_scenario(), "reports.yaml")

    state = build_state(load_scenario(path), {})

    vault = next(v for v in state["keyvault"]["vaults"] if v["name"] == "reports-kv")
    assert vault["resource_group"] == "rg-reports"
    assert vault["location"] == "northeurope"


def test_resource_group_scope_resolves_in_the_group_s_own_subscription(tmp_path):
    data = default_data()
    second = "0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c6b"
    data["subscriptions"].append(
        {
            "id": second,
            "tenant": "sandbox.onmicrosoft.com",
            "resource_groups": [{"name": "rg-second"}],
        }
    )
    data["vaults"].append(
        {"name": "second-kv", "subscription": second, "resource_group": "rg-second"}
    )
    data["role_assignments"].append(
        {"principal": "airflow-backend", "role": "Reader", "scope": "resource_group:rg-second"}
    )

    state = build_state(load_scenario(write(tmp_path, data)), {})

    scopes = [a["scope"] for a in state["arm"]["authorization"]["assignments"]]
    assert f"/subscriptions/{second}/resourceGroups/rg-second" in scopes
    vault = next(v for v in state["keyvault"]["vaults"] if v["name"] == "second-kv")
    assert vault["subscription_id"] == second


def test_resource_group_of_another_subscription_is_rejected(tmp_path):
    data = default_data()
    data["subscriptions"].append(
        {
            "id": "0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c6b",
            "tenant": "sandbox.onmicrosoft.com",
            "resource_groups": [{"name": "rg-second"}],
        }
    )
    data["vaults"][0]["resource_group"] = "rg-second"  # but no subscription: the first one

    problems = problems_of(tmp_path, data)

    assert any("vaults[0].resource_group: unknown 'rg-second'" in p for p in problems), problems


def test_numeric_secret_names_are_accepted_as_text(tmp_path):
    data = default_data()
    data["vaults"][0]["secrets"] = {2024: "year", "ok-name": "x"}

    state = build_state(load_scenario(write(tmp_path, data)), {})

    assert "2024" in state["keyvault"]["vaults"][0]["secrets"]


def test_a_typo_in_any_level_of_a_scenario_is_a_problem_with_a_hint(tmp_path):
    from helpers.sandbox import ScenarioError, load_scenario
    from helpers.sandbox.scenario import default_scenario_path

    data = yaml.safe_load(default_scenario_path().read_text())
    data["vaults"][0]["firewal"] = "closed"  # would otherwise run with the firewall open
    data["apps"][0]["secrets"] = [{"value": "x" * 40, "expire": "2020-01-01"}]
    data["tenantz"] = []
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    text = str(err.value)
    assert "vaults[0].firewal: unknown key (did you mean 'firewall'?)" in text
    assert "apps[0].secrets[0].expire: unknown key (did you mean 'expires'?)" in text
    assert "tenantz: unknown key (did you mean 'tenants'?)" in text
