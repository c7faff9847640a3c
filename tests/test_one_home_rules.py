"""Each rule has one home: retry_total, the field table's checks, the cloud table, the vault
name, versions and the credential identity give the same answer in validation, lint, render
and the role commands."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json

import pytest

import helpers.backend_config.identity as identity
import helpers.backend_config.render as render_module
from helpers import roles
from helpers.backend_config import lint_backend_kwargs
from helpers.backend_config.render import render
from helpers.settings import (
    CLOUDS,
    RETRY_TOTAL_DEFAULT,
    RETRY_TOTAL_MAX,
    Settings,
    Target,
    check_retry_total,
    check_vault_url,
    cloud_of,
    schema,
    settings_from_mapping,
    validate_settings,
    vault_host_parts,
    vault_name_from_url,
)
from helpers.settings.checks import check_guid

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "11111111-2222-3333-4444-555555555555"
VAULT = "https://airflow-sandbox-kv.vault.azure.net/"


def seed(**overrides) -> Settings:
    return Settings(**{"vault_url": VAULT, "tenant_id": TENANT, "client_id": CLIENT, **overrides})


def codes_of(findings) -> list[str]:
    return [f.code for f in findings]


def retry_codes(findings) -> list[str]:
    return [f.code for f in findings if f.subject.endswith("retry_total")]


# -- retry_total ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("retry", "code", "rendered"),
    [(50, "AKV-CFG-015", 50), (RETRY_TOTAL_MAX + 1, "AKV-CFG-015", 11), (-1, "AKV-SET-020", 3)],
)
def test_retry_total_gets_the_same_code_from_validation_lint_and_render(retry, code, rendered):
    assert retry_codes(check_retry_total(retry)[1]) == [code]
    assert retry_codes(validate_settings(seed(retry_total=retry))) == [code]
    kwargs = {"vault_url": VAULT, "config_prefix": None, "retry_total": retry}
    assert retry_codes(lint_backend_kwargs(json.dumps(kwargs))[1]) == [code]
    result = render(seed(retry_total=retry), Target.ENV)
    assert retry_codes(result.findings) == [code]
    assert result.backend_kwargs["retry_total"] == rendered


def test_retry_total_within_the_bound_is_clean_everywhere():
    assert check_retry_total(RETRY_TOTAL_MAX) == (RETRY_TOTAL_MAX, [])
    assert retry_codes(validate_settings(seed(retry_total=RETRY_TOTAL_MAX))) == []
    kwargs = {"vault_url": VAULT, "config_prefix": None, "retry_total": RETRY_TOTAL_MAX}
    assert retry_codes(lint_backend_kwargs(json.dumps(kwargs))[1]) == []
    assert retry_codes(render(seed(retry_total=RETRY_TOTAL_MAX), Target.ENV).findings) == []


def test_unset_retry_total_is_reported_by_lint_and_render_but_allowed_in_settings():
    assert retry_codes(validate_settings(seed(retry_total=None))) == []
    kwargs = {"vault_url": VAULT, "config_prefix": None}
    assert retry_codes(lint_backend_kwargs(json.dumps(kwargs))[1]) == ["AKV-CFG-015"]
    assert retry_codes(render(seed(retry_total=None), Target.ENV).findings) == ["AKV-CFG-015"]


def test_an_invalid_retry_total_becomes_the_one_default():
    assert check_retry_total("many")[0] == RETRY_TOTAL_DEFAULT
    s, _ = settings_from_mapping(
        {"vault_url": VAULT, "tenant_id": TENANT, "client_id": CLIENT, "retry_total": True}
    )
    assert s.retry_total == RETRY_TOTAL_DEFAULT


# -- the field table drives validation ---------------------------------------------------------
def _patch_check(monkeypatch, name: str, check: str | None) -> None:
    specs = dict(schema.FIELD_SPECS)
    specs[name] = dataclasses.replace(specs[name], check=check)
    monkeypatch.setattr(schema, "FIELD_SPECS", specs)
    import helpers.settings.fields as fields
    import helpers.settings.load as load

    monkeypatch.setattr(fields, "FIELD_SPECS", specs)
    monkeypatch.setattr(load, "FIELD_SPECS", specs)


def test_normalise_runs_the_check_the_table_names(monkeypatch):
    good = {"vault_url": VAULT, "tenant_id": TENANT, "client_id": CLIENT}
    assert settings_from_mapping(good)[1] == []
    _patch_check(monkeypatch, "vault_url", "check_guid")
    _, findings = settings_from_mapping(good)
    assert [f.subject for f in findings] == ["vault_url"]
    assert codes_of(findings) == codes_of(check_guid(VAULT, "vault_url")[1])


def test_a_field_the_table_leaves_unchecked_is_not_checked(monkeypatch):
    bad = {"vault_url": "not a url", "tenant_id": TENANT, "client_id": CLIENT}
    assert settings_from_mapping(bad)[1]
    _patch_check(monkeypatch, "vault_url", None)
    assert settings_from_mapping(bad)[1] == []


# -- one cloud table ----------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", list(CLOUDS))
def test_a_vault_url_in_each_cloud_gives_one_name_host_and_authority(suffix):
    url = f"https://My-KV.{suffix}/"
    cloud = CLOUDS[suffix]
    assert check_vault_url(url) == (f"https://my-kv.{suffix}/", [])
    assert vault_host_parts(url) == ("my-kv", suffix)
    assert vault_name_from_url(url) == roles.vault_name_from_url(url) == "my-kv"
    assert cloud_of(url) is cloud
    assert suffix in roles.VAULT_DOMAINS
    env = render(seed(vault_url=url), Target.ENV).env
    assert env.get("AZURE_AUTHORITY_HOST") == (cloud.authority_host if cloud.sovereign else None)


def test_the_suffix_lists_are_views_of_the_cloud_table():
    assert tuple(roles.VAULT_DOMAINS) == tuple(CLOUDS)
    assert {s: c.name for s, c in CLOUDS.items()} == schema.VAULT_SUFFIXES
    assert not hasattr(render_module, "AUTHORITY_HOSTS")
    assert roles.vault_name_from_url is vault_name_from_url
    retrieval = importlib.import_module("helpers.runbook.retrieval")
    assert retrieval.vault_name_from_url is vault_name_from_url


@pytest.mark.parametrize("url", ["https://example.com", "", "https://kv.managedhsm.azure.net/"])
def test_a_non_vault_url_has_no_name_and_no_cloud(url):
    assert vault_name_from_url(url) is None
    assert cloud_of(url) is None


# -- versions and identity in render ------------------------------------------------------------
def test_render_reads_versions_as_validation_does():
    leading_v = seed(airflow_version="v2.10.5")
    assert "AKV-SET-021" not in codes_of(validate_settings(leading_v))
    assert "AKV-SET-021" not in codes_of(render(leading_v, Target.ENV).findings)
    as_float = seed(airflow_version=2.7)
    assert "AKV-SET-020" in codes_of(validate_settings(as_float))
    assert "AKV-SET-020" in codes_of(render(as_float, Target.ENV).findings)


def test_render_takes_the_credential_kind_and_identity_from_identity_py():
    assert render_module.kind_of is identity.kind_of
    assert render_module.identity_of is identity.identity_of
    s = seed(credential="workload", client_id=CLIENT, tenant_id=TENANT)
    kwargs = render(s, Target.HELM).backend_kwargs
    assert (kwargs["managed_identity_client_id"], kwargs["workload_identity_tenant_id"]) == (
        identity.identity_of(s)
    )
    assert "parse_credential" not in inspect.getsource(render_module)


def test_no_stale_headers_remain():
    assert "shared with config_lint" not in inspect.getsource(schema)
    assert "-- catalogue --" not in inspect.getsource(render_module)
