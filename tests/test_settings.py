"""Settings: normalisation, validation and every loader, asserting exact finding codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.backend_config import (
    settings_from_airflow_cfg,
    settings_from_backend_kwargs,
    settings_from_environment,
)
from helpers.common.facts import BACKEND_CLASS
from helpers.findings import render_text, to_json
from helpers.settings import (
    Credential,
    Settings,
    Target,
    check_env_var_name,
    check_guid,
    check_prefix,
    check_secret_env,
    check_tenant,
    check_vault_url,
    load_settings,
    looks_like_secret,
    settings_from_mapping,
    validate_settings,
)

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "12345678-90ab-cdef-1234-567890abcdef"
VAULT = "https://my-airflow-kv.vault.azure.net/"
SECRET = "abc8Q~SuperSecretValue"


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def good(**overrides) -> dict:
    return {"vault_url": VAULT, "tenant_id": TENANT, "client_id": CLIENT, **overrides}


# -- a clean configuration -------------------------------------------------------------------
def test_clean_settings_have_no_findings():
    s, findings = settings_from_mapping(good())
    assert findings == []
    assert s.vault_url == VAULT
    assert validate_settings(s) == []


def test_default_settings_report_only_what_is_missing():
    assert codes(validate_settings(Settings())) == ["AKV-SET-001", "AKV-SET-009", "AKV-SET-009"]


# -- vault URL -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "given, normalised",
    [
        ("https://my-airflow-kv.vault.azure.net", VAULT),
        ("https://MY-AIRFLOW-KV.Vault.Azure.Net/", VAULT),
        ("https://my-airflow-kv.vault.azure.net:443/", VAULT),
        ("https://kv-china.vault.azure.cn", "https://kv-china.vault.azure.cn/"),
        ("https://kv-gov.vault.usgovcloudapi.net/", "https://kv-gov.vault.usgovcloudapi.net/"),
    ],
)
def test_vault_url_is_normalised_with_a_trailing_slash(given, normalised):
    assert check_vault_url(given) == (normalised, [])


def test_missing_vault_url_reports_AKV_SET_001():
    assert codes(check_vault_url("")[1]) == ["AKV-SET-001"]


def test_http_vault_url_reports_AKV_SET_002_and_suggests_https():
    (finding,) = check_vault_url("http://my-airflow-kv.vault.azure.net/")[1]
    assert finding.code == "AKV-SET-002"
    assert "https://my-airflow-kv.vault.azure.net/" in finding.detail


def test_bare_vault_name_reports_AKV_SET_002_with_the_full_url():
    (finding,) = check_vault_url("my-airflow-kv")[1]
    assert finding.code == "AKV-SET-002"
    assert finding.data["expected"] == VAULT


def test_foreign_host_reports_AKV_SET_003():
    assert codes(check_vault_url("https://example.com/")[1]) == ["AKV-SET-003"]


def test_managed_hsm_host_reports_AKV_SET_003_and_says_why():
    (finding,) = check_vault_url("https://my-hsm.managedhsm.azure.net/")[1]
    assert finding.code == "AKV-SET-003"
    assert "keys only" in finding.detail


@pytest.mark.parametrize("name", ["kv", "1kv-name", "kv--name", "kv-", "a" * 25, "my.kv"])
def test_vault_name_breaking_the_rules_reports_AKV_SET_004(name):
    assert codes(check_vault_url(f"https://{name}.vault.azure.net/")[1]) == ["AKV-SET-004"]


def test_secret_identifier_instead_of_vault_uri_reports_AKV_SET_005():
    url, findings = check_vault_url(VAULT + "secrets/airflow-variables-x/0123")
    assert codes(findings) == ["AKV-SET-005"]
    assert url == VAULT
    assert "secret identifier" in findings[0].detail


def test_surrounding_whitespace_reports_AKV_SET_006_and_is_trimmed():
    url, findings = check_vault_url(f"  {VAULT}\n")
    assert (url, codes(findings)) == (VAULT, ["AKV-SET-006"])


def test_placeholder_vault_url_from_the_docs_reports_AKV_SET_023():
    assert codes(check_vault_url("<your keyvault uri>")[1]) == ["AKV-SET-023"]


# -- tenant and client ids -------------------------------------------------------------------
@pytest.mark.parametrize("tenant", [TENANT, TENANT.upper()])
def test_tenant_guid_is_accepted(tenant):
    assert check_tenant(tenant)[1] == []


@pytest.mark.parametrize("tenant", ["common", "organizations", "not a tenant", "{" + TENANT + "}"])
def test_tenant_that_is_neither_guid_nor_domain_reports_AKV_SET_007(tenant):
    assert codes(check_tenant(tenant)[1]) == ["AKV-SET-007"]


@pytest.mark.parametrize("client", ["my-app", CLIENT[:-1], "{" + CLIENT + "}", CLIENT + "0"])
def test_client_id_that_is_not_a_guid_reports_AKV_SET_008(client):
    assert codes(check_guid(client)[1]) == ["AKV-SET-008"]


def test_nil_guid_client_id_is_a_placeholder_AKV_SET_023():
    assert codes(check_guid("00000000-0000-0000-0000-000000000000")[1]) == ["AKV-SET-023"]


def test_service_principal_without_tenant_reports_AKV_SET_009():
    _, findings = settings_from_mapping(good(tenant_id=""))
    assert codes(findings) == ["AKV-SET-009"]
    assert findings[0].subject == "tenant_id"


def test_managed_identity_needs_no_tenant_or_client_id():
    _, findings = settings_from_mapping(
        {"vault_url": VAULT, "credential": "managed_identity", "managed_identity_client_id": CLIENT}
    )
    assert findings == []


def test_workload_identity_with_ids_is_clean():
    s, findings = settings_from_mapping(
        {
            "vault_url": VAULT,
            "credential": "workload-identity",
            "workload_identity_tenant_id": TENANT,
            "managed_identity_client_id": CLIENT,
        }
    )
    assert findings == []
    assert s.credential is Credential.WORKLOAD_IDENTITY


def test_managed_identity_client_id_that_is_not_a_guid_reports_AKV_SET_008():
    _, findings = settings_from_mapping(
        {"vault_url": VAULT, "credential": "msi", "managed_identity_client_id": "my-identity"}
    )
    assert codes(findings) == ["AKV-SET-008"]


# -- the client secret is a reference ---------------------------------------------------------
def test_secret_value_in_client_secret_env_reports_AKV_SET_010_without_showing_it():
    _, findings = settings_from_mapping(good(client_secret_env=SECRET))
    assert codes(findings) == ["AKV-SET-010"]
    assert SECRET not in render_text(findings) + to_json(findings)


@pytest.mark.parametrize(
    "value",
    [
        "Q8x7Q~aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
        "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY",
        "z" * 20 + "Y" * 20 + "1",
    ],
)
def test_secret_shaped_values_are_recognised(value):
    assert looks_like_secret(value)


@pytest.mark.parametrize(
    "value", ["AZURE_CLIENT_SECRET", "AIRFLOW_AZURE_KEYVAULT_CLIENT_SECRET_PRODUCTION", CLIENT]
)
def test_names_and_guids_are_not_taken_for_secrets(value):
    assert not looks_like_secret(value)


@pytest.mark.parametrize("name", ["AZURE-CLIENT-SECRET", "1SECRET", "my secret", CLIENT, ""])
def test_invalid_variable_name_reports_AKV_SET_011(name):
    assert codes(check_env_var_name(name)[1]) == ["AKV-SET-011"]


def test_client_secret_key_in_settings_reports_AKV_SET_012_and_is_dropped():
    s, findings = settings_from_mapping(good(client_secret=SECRET))
    assert codes(findings) == ["AKV-SET-012"]
    assert SECRET not in repr(s) + render_text(findings) + to_json(findings)


def test_secret_env_presence_is_checked_never_its_value():
    s = settings_from_mapping(good(client_secret_env="MY_SECRET"))[0]
    assert codes(check_secret_env(s, {})) == ["AKV-SET-025"]
    assert codes(check_secret_env(s, {"MY_SECRET": ""})) == ["AKV-SET-026"]
    assert check_secret_env(s, {"MY_SECRET": SECRET}) == []


# -- prefixes and sep ------------------------------------------------------------------------
def test_null_prefix_disables_the_lookup_without_findings():
    s, findings = settings_from_mapping(good(connections_prefix=None, config_prefix=None))
    assert findings == []
    assert s.connections_prefix is None


@pytest.mark.parametrize("prefix", ["airflow.variables", "airflow/variables", "air flow", "vär"])
def test_prefix_with_invalid_characters_reports_AKV_SET_013(prefix):
    assert codes(check_prefix(prefix)[1]) == ["AKV-SET-013"]


def test_prefix_string_null_is_not_null_AKV_SET_013():
    (finding,) = check_prefix("null")[1]
    assert finding.code == "AKV-SET-013"
    assert "JSON null" in finding.detail


def test_prefix_with_underscores_is_fine_because_they_become_sep():
    assert check_prefix("airflow_variables")[1] == []


def test_prefix_too_long_for_any_id_reports_AKV_SET_013():
    assert codes(check_prefix("p" * 126)[1]) == ["AKV-SET-013"]


def test_trailing_sep_on_a_prefix_reports_AKV_SET_014_with_the_effective_prefix():
    (finding,) = check_prefix("airflow-variables-")[1]
    assert finding.code == "AKV-SET-014"
    assert finding.data["effective"] == "airflow-variables"


def test_empty_prefix_reports_AKV_SET_015():
    assert codes(check_prefix("")[1]) == ["AKV-SET-015"]


@pytest.mark.parametrize("sep", ["_", "/", ".", ""])
def test_sep_outside_key_vault_names_reports_AKV_SET_016(sep):
    _, findings = settings_from_mapping(good(sep=sep))
    assert codes(findings) == ["AKV-SET-016"]


# -- enums, unknown keys, types, versions ----------------------------------------------------
@pytest.mark.parametrize(
    "given, target",
    [("adf", Target.ADF), ("Fabric", Target.FABRIC), ("airflow.cfg", Target.AIRFLOW_CFG)]
    + [("docker-compose", Target.COMPOSE), ("helm", Target.HELM), ("shell", Target.ENV)],
)
def test_target_names_and_aliases_are_accepted(given, target):
    s, findings = settings_from_mapping(good(target=given))
    assert (s.target, findings) == (target, [])


def test_unknown_target_reports_AKV_SET_017():
    assert codes(settings_from_mapping(good(target="kubernetes"))[1]) == ["AKV-SET-017"]


def test_unknown_credential_reports_AKV_SET_018():
    assert codes(settings_from_mapping(good(credential="password"))[1]) == ["AKV-SET-018"]


def test_unknown_key_reports_AKV_SET_019_with_a_suggestion():
    (finding,) = settings_from_mapping(good(variable_prefix="x"))[1]
    assert finding.code == "AKV-SET-019"
    assert finding.data["suggestion"] == "variables_prefix"


def test_unquoted_yaml_version_reports_AKV_SET_020(tmp_path: Path):
    path = tmp_path / "env.yaml"
    path.write_text(
        f"vault_url: {VAULT}\ntenant_id: {TENANT}\nclient_id: {CLIENT}\nairflow_version: 2.10\n"
    )
    _, findings = load_settings(path)
    assert codes(findings) == ["AKV-SET-020"]
    assert "2.1" in findings[0].detail


def test_unparseable_version_reports_AKV_SET_021():
    assert codes(settings_from_mapping(good(provider_version="latest"))[1]) == ["AKV-SET-021"]


def test_incompatible_versions_in_settings_report_AKV_VER_001():
    _, findings = settings_from_mapping(good(airflow_version="2.6.3", provider_version="15.2.1"))
    assert codes(findings) == ["AKV-VER-001"]


def test_empty_probe_id_reports_AKV_SET_022():
    s, findings = settings_from_mapping(good(variables=["sample-variable", " "]))
    assert codes(findings) == ["AKV-SET-022"]
    assert s.variables == ["sample-variable"]


def test_comma_separated_probe_list_is_split():
    s, findings = settings_from_mapping(good(connections="a, b"))
    assert s.connections == ["a", "b"]
    assert codes(findings) == ["AKV-SET-006"]  # " b" carried a space


def test_retry_total_must_be_a_non_negative_integer_AKV_SET_020():
    assert codes(settings_from_mapping(good(retry_total=-1))[1]) == ["AKV-SET-020"]
    assert codes(settings_from_mapping(good(retry_total=True))[1]) == ["AKV-SET-020"]
    assert settings_from_mapping(good(retry_total=None))[1] == []


def test_validate_settings_built_by_hand_with_wrong_types_never_raises():
    s = Settings(vault_url=42, tenant_id=["x"], sep=None, variables="x", credential="nope")  # type: ignore[arg-type]
    assert set(codes(validate_settings(s))) >= {"AKV-SET-018", "AKV-SET-020"}


# -- files -----------------------------------------------------------------------------------
def test_load_settings_reads_yaml_and_json(tmp_path: Path):
    (tmp_path / "a.yaml").write_text(
        f"name: prod\nvault_url: {VAULT}\ntenant_id: {TENANT}\nclient_id: '{CLIENT}'\n"
        "config_prefix: ~\ntarget: helm\nvariables: [sample-variable, other]\n"
    )
    (tmp_path / "b.json").write_text(json.dumps(good(name="dev", target="adf")))
    a, fa = load_settings(tmp_path / "a.yaml")
    b, fb = load_settings(tmp_path / "b.json")
    assert (fa, fb) == ([], [])
    assert (a.name, a.target, a.variables) == ("prod", Target.HELM, ["sample-variable", "other"])
    assert (b.name, b.target) == ("dev", Target.ADF)


@pytest.mark.parametrize(
    "name, text",
    [("bad.yaml", "vault_url: [unclosed\n"), ("bad.json", "{'a': 1}"), ("list.yaml", "- a\n")],
)
def test_unreadable_settings_file_reports_AKV_SET_024(tmp_path: Path, name, text):
    (tmp_path / name).write_text(text)
    assert codes(load_settings(tmp_path / name)[1]) == ["AKV-SET-024"]


def test_missing_settings_file_reports_AKV_SET_024(tmp_path: Path):
    assert codes(load_settings(tmp_path / "absent.yaml")[1]) == ["AKV-SET-024"]


# -- from the environment --------------------------------------------------------------------
def seed_environment(**extra: str) -> dict[str, str]:
    kwargs = {"connections_prefix": "airflow-connections", "variables_prefix": "airflow-variables"}
    return {
        "AIRFLOW__SECRETS__BACKEND": BACKEND_CLASS,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({**kwargs, "vault_url": VAULT}),
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT,
        "AZURE_CLIENT_SECRET": SECRET,
        **extra,
    }


def test_seed_environment_loads_as_the_backend_would_see_it():
    s, findings = settings_from_environment(seed_environment())
    assert findings == []
    assert (s.vault_url, s.tenant_id, s.client_id) == (VAULT, TENANT, CLIENT)
    assert s.config_prefix == "airflow-config"  # the provider default when absent
    assert s.retry_total is None  # unbounded when absent
    assert (s.credential, s.client_secret_env, s.client_secret_set) == (
        Credential.CLIENT_SECRET,
        "AZURE_CLIENT_SECRET",
        True,
    )
    assert SECRET not in repr(s)


def test_per_key_overrides_win_over_the_json():
    env = seed_environment(AIRFLOW__SECRETS__BACKEND_KWARG__VARIABLES_PREFIX="vars")
    s, findings = settings_from_environment(env)
    assert (s.variables_prefix, findings) == ("vars", [])


def test_empty_client_secret_variable_reports_AKV_SET_026():
    s, findings = settings_from_environment(seed_environment(AZURE_CLIENT_SECRET=""))
    assert codes(findings) == ["AKV-SET-026"]
    assert s.client_secret_set is False


def test_tenant_and_client_without_secret_report_AKV_SET_027():
    env = seed_environment()
    del env["AZURE_CLIENT_SECRET"]
    s, findings = settings_from_environment(env)
    assert codes(findings) == ["AKV-SET-027"]
    assert s.credential is Credential.MANAGED_IDENTITY


def test_keyvault_url_variable_is_a_fallback_that_airflow_ignores_AKV_SET_028():
    env = seed_environment(
        AIRFLOW__SECRETS__BACKEND_KWARGS="{}", AZURE_KEYVAULT_URL="https://other-kv.vault.azure.net"
    )
    s, findings = settings_from_environment(env)
    assert s.vault_url == "https://other-kv.vault.azure.net/"
    assert codes(findings) == ["AKV-SET-028"]


def test_keyvault_url_alone_is_enough_for_sdk_checks():
    s, findings = settings_from_environment(
        {
            "AZURE_KEYVAULT_URL": VAULT,
            "AZURE_TENANT_ID": TENANT,
            "AZURE_CLIENT_ID": CLIENT,
            "AZURE_CLIENT_SECRET": SECRET,
        }
    )
    assert (s.vault_url, findings) == (VAULT, [])


def test_broken_backend_kwargs_json_is_reported_and_its_intent_kept():
    env = seed_environment(AIRFLOW__SECRETS__BACKEND_KWARGS=f"{{'vault_url': '{VAULT}'}}")
    s, findings = settings_from_environment(env)
    assert codes(findings) == ["AKV-CFG-003"]
    assert s.vault_url == VAULT


def test_workload_identity_is_detected_from_the_federated_token_file():
    env = seed_environment(AZURE_FEDERATED_TOKEN_FILE="/var/run/secrets/token")
    del env["AZURE_CLIENT_SECRET"]
    s, findings = settings_from_environment(env)
    assert (s.credential, findings) == (Credential.WORKLOAD_IDENTITY, [])


# -- from airflow.cfg and backend kwargs ------------------------------------------------------
def test_airflow_cfg_secrets_section_loads():
    text = (
        "[secrets]\n"
        f"backend = {BACKEND_CLASS}\n"
        f'backend_kwargs = {{"vault_url": "{VAULT}", "config_prefix": null, "retry_total": 5}}\n'
        "use_cache = True\n"
    )
    s, findings = settings_from_airflow_cfg(text)
    assert findings == []
    assert (s.vault_url, s.config_prefix, s.retry_total, s.use_cache, s.target) == (
        VAULT,
        None,
        5,
        True,
        Target.AIRFLOW_CFG,
    )


def test_airflow_cfg_that_does_not_parse_reports_AKV_CFG_020():
    assert codes(settings_from_airflow_cfg("backend = x\n")[1]) == ["AKV-CFG-020"]


def test_backend_kwargs_with_the_secret_set_the_credential_without_keeping_the_value():
    s, findings = settings_from_backend_kwargs(
        {"vault_url": VAULT, "tenant_id": TENANT, "client_id": CLIENT, "client_secret": SECRET}
    )
    assert findings == []
    assert s.credential is Credential.CLIENT_SECRET
    assert SECRET not in repr(s)


def test_a_vault_url_with_an_empty_label_is_not_silently_fixed():
    value, findings = check_vault_url("https://kv1..vault.azure.net/")
    assert [f.code for f in findings] == ["AKV-SET-004"]  # the real backend fails on it
    assert value == "https://kv1..vault.azure.net/"
