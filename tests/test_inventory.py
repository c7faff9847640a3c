"""Inventory files: every problem is a finding about the file or about one environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.batch.inventory import (
    DEFAULT_TIMEOUT,
    inventory_from_mapping,
    load_inventory,
)

URL = "https://team-a-kv.vault.azure.net/"
TENANT = "5f0c6e2a-3b1d-4c8e-9a7f-0d2b4e6f8a10"
CLIENT = "3c9e1f7a-2d4b-4a6c-8e0f-5b7d9f1a3c42"


def env(**extra):
    return {"name": "team-a", "vault_url": URL, "tenant_id": TENANT, "client_id": CLIENT, **extra}


def codes(findings):
    return [f.code for f in findings]


def test_defaults_merge_into_each_environment_and_the_environment_wins(tmp_path: Path):
    path = tmp_path / "inv.yaml"
    path.write_text(
        f"""
version: 1
defaults:
  tenant_id: {TENANT}
  client_id: {CLIENT}
  variables: [sample-variable]
  timeout: 20
environments:
  - name: dev
    vault_url: https://dev-kv.vault.azure.net/
  - name: prod
    vault_url: https://prod-kv.vault.azure.net/
    variables: [prod_only]
    timeout: 45
    client_secret_env: PROD_SECRET
""",
        encoding="utf-8",
    )
    inv = load_inventory(path)
    assert inv.usable and inv.findings == []
    dev, prod = inv.environments
    assert (dev.name, dev.timeout, dev.settings.variables) == ("dev", 20.0, ["sample-variable"])
    assert (prod.timeout, prod.settings.variables) == (45.0, ["prod_only"])
    assert prod.settings.client_secret_env == "PROD_SECRET"
    assert prod.settings.tenant_id == TENANT and dev.checkable and prod.checkable
    assert inv.environment("prod") is prod and inv.environment("nope") is None


@pytest.mark.parametrize(
    ("text", "code", "detail"),
    [
        ("environments: [", "AKV-INV-001", "invalid YAML at line 1"),
        ("- just\n- a list\n", "AKV-INV-002", "not a mapping"),
        ("environments: {a: 1}\n", "AKV-INV-002", "must be a list"),
        ("environments: []\n", "AKV-INV-008", "empty"),
        ("envionments: []\n", "AKV-INV-003", "did you mean 'environments'"),
    ],
)
def test_a_broken_file_is_one_finding_and_unusable(tmp_path: Path, text, code, detail):
    path = tmp_path / "inv.yaml"
    path.write_text(text, encoding="utf-8")
    inv = load_inventory(path)
    assert not inv.usable
    assert code in codes(inv.findings)
    assert any(detail in f.detail for f in inv.findings), [f.detail for f in inv.findings]


def test_a_missing_file_is_a_finding_not_an_exception(tmp_path: Path):
    inv = load_inventory(tmp_path / "absent.yaml")
    assert codes(inv.findings) == ["AKV-INV-001"] and not inv.usable


def test_duplicate_and_unusable_names():
    inv = inventory_from_mapping(
        {"environments": [env(), env(), env(name="has space"), env(name=None), "text"]}
    )
    assert codes(inv.findings) == ["AKV-INV-004", "AKV-INV-002"]
    assert [e.name for e in inv.environments] == ["team-a", "environments-2", "environments-3"]
    assert all("AKV-INV-005" in codes(e.findings) for e in inv.environments[1:])


@pytest.mark.parametrize("value", [0, -1, "soon", True, 1e9, [1]])
def test_a_bad_timeout_falls_back_to_the_default(value):
    (spec,) = inventory_from_mapping({"environments": [env(timeout=value)]}).environments
    assert codes(spec.findings) == ["AKV-INV-006"] and spec.timeout == DEFAULT_TIMEOUT


def test_invalid_backend_kwargs_are_linted_as_airflow_parses_them():
    text = f'{{"vault_url": "{URL}", "variables_prefix": "airflow-variables",}}'
    (spec,) = inventory_from_mapping({"environments": [env(backend_kwargs=text)]}).environments
    assert "AKV-CFG-004" in codes(spec.findings)  # trailing comma: Airflow ignores the kwargs
    assert spec.checkable  # the vault itself can still be checked live
    assert spec.backend_kwargs == text


def test_valid_backend_kwargs_decide_what_is_read_and_disagreement_is_flagged():
    kwargs = {"vault_url": "https://other-kv.vault.azure.net/", "variables_prefix": "af-vars"}
    (spec,) = inventory_from_mapping({"environments": [env(backend_kwargs=kwargs)]}).environments
    assert spec.settings.vault_url == "https://other-kv.vault.azure.net/"
    assert spec.settings.variables_prefix == "af-vars"
    (override,) = [f for f in spec.findings if f.code == "AKV-INV-007"]
    assert override.subject == "vault_url" and "other-kv" in override.detail


def test_a_secret_in_the_inventory_is_refused_and_never_repeated():
    secret = "Q~sup3r-s3cret-value-that-must-not-leak"
    entry = env(client_secret=secret, backend_kwargs={"vault_url": URL, "client_secret": secret})
    (spec,) = inventory_from_mapping({"environments": [entry]}).environments
    assert {"AKV-SET-012", "AKV-CFG-009"} <= set(codes(spec.findings)), codes(spec.findings)
    text = repr([f.to_dict() for f in spec.findings]) + repr(spec.settings)
    assert secret not in text


def test_broken_settings_make_an_environment_offline_only():
    (spec,) = inventory_from_mapping(
        {"environments": [env(vault_url="http://not-a-vault")]}
    ).environments
    assert not spec.checkable
