"""Rendering the backend's configuration for each target: exact text, valid by construction."""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.backend_config.render import (
    BACKEND,
    backend_kwargs,
    provider_cap,
    provider_requirement,
    render,
    render_all,
    secret_placeholder,
)
from helpers.settings import Credential, Settings, Target

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "11111111-2222-3333-4444-555555555555"
VAULT = "https://airflow-sandbox-kv.vault.azure.net/"
PLACEHOLDER = secret_placeholder("AZURE_CLIENT_SECRET")


def seed(**overrides) -> Settings:
    values = {"vault_url": VAULT, "tenant_id": TENANT, "client_id": CLIENT}
    return Settings(**{**values, **overrides})


def codes(rendered) -> list[str]:
    return [f.code for f in rendered.findings]


def kwargs_of(rendered) -> dict:
    return json.loads(rendered.env["AIRFLOW__SECRETS__BACKEND_KWARGS"])


# -- backend_kwargs ------------------------------------------------------------------------
def test_default_kwargs_are_least_privilege_and_carry_no_credential():
    assert backend_kwargs(seed()) == {
        "connections_prefix": "airflow-connections",
        "variables_prefix": "airflow-variables",
        "config_prefix": None,
        "vault_url": VAULT,
        "retry_total": 3,
    }


def test_config_prefix_is_an_explicit_null_because_the_provider_default_is_not():
    rendered = render(seed(), Target.ENV)
    assert '"config_prefix": null' in rendered.env["AIRFLOW__SECRETS__BACKEND_KWARGS"]
    assert kwargs_of(render(seed(config_prefix="airflow-config"), Target.ENV))["config_prefix"] == (
        "airflow-config"
    )


def test_sep_is_rendered_only_when_not_the_default():
    assert "sep" not in backend_kwargs(seed())
    assert backend_kwargs(seed(sep="--"))["sep"] == "--"


def test_client_secret_value_never_appears_in_any_target(monkeypatch):
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "very-secret-value~123")
    for include in (False, True):
        for rendered in render_all(seed(), include_client_secret=include).values():
            blob = json.dumps(rendered.to_dict())
            assert "very-secret-value~123" not in blob
            assert '"client_secret"' not in json.dumps(rendered.backend_kwargs) or include


def test_env_target_renders_the_seed_overrides_with_a_secret_placeholder():
    rendered = render(seed(), Target.ENV)
    assert codes(rendered) == []
    assert rendered.env == {
        "AIRFLOW__SECRETS__BACKEND": BACKEND,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(backend_kwargs(seed())),
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT,
        "AZURE_CLIENT_SECRET": PLACEHOLDER,
    }
    assert list(rendered.files) == ["env.sh"]


def test_including_the_client_secret_reports_AKV_CFG_009_and_renders_a_reference():
    rendered = render(
        seed(client_secret_env="AKV_SPN_SECRET"), Target.ENV, include_client_secret=True
    )
    assert codes(rendered) == ["AKV-CFG-009"]
    kwargs = kwargs_of(rendered)
    assert kwargs["client_secret"] == "${AKV_SPN_SECRET}"
    assert (kwargs["tenant_id"], kwargs["client_id"]) == (TENANT, CLIENT)
    assert rendered.env["AKV_SPN_SECRET"] == "<value of $AKV_SPN_SECRET>"
    assert "AZURE_CLIENT_SECRET" not in rendered.env


# -- shell ---------------------------------------------------------------------------------
bash = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def _source(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = f"{script}\nenv -0"
    return subprocess.run(
        ["bash", "-c", code], env=env, capture_output=True, text=True, check=False
    )


@bash
def test_env_sh_sourced_in_bash_exports_exactly_the_rendered_env():
    rendered = render(seed(client_secret_env="AKV_SPN_SECRET"), Target.ENV)
    result = _source(rendered.files["env.sh"], {"PATH": os.environ["PATH"], "AKV_SPN_SECRET": "s"})
    assert result.returncode == 0, result.stderr
    exported = dict(item.split("=", 1) for item in result.stdout.split("\0") if "=" in item)
    for key, value in rendered.env.items():
        assert exported[key] == ("s" if value == "<value of $AKV_SPN_SECRET>" else value)


@bash
def test_env_sh_stops_with_a_hint_when_the_secret_variable_is_unset():
    rendered = render(seed(), Target.ENV)
    result = _source(rendered.files["env.sh"], {"PATH": os.environ["PATH"]})
    assert result.returncode != 0
    assert "export AZURE_CLIENT_SECRET=" in result.stderr


# -- airflow.cfg ---------------------------------------------------------------------------
def _airflow_style_get(text: str, key: str) -> str:
    parser = configparser.ConfigParser()  # Airflow's parser keeps the default interpolation
    parser.read_string(text)
    return parser.get("secrets", key)


def test_airflow_cfg_section_reads_back_as_the_same_kwargs():
    rendered = render(seed(), Target.AIRFLOW_CFG)
    cfg = rendered.files["airflow.cfg"]
    assert _airflow_style_get(cfg, "backend") == BACKEND
    assert json.loads(_airflow_style_get(cfg, "backend_kwargs")) == rendered.backend_kwargs
    assert set(rendered.env) == {"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"}
    assert "export AZURE_TENANT_ID=" in rendered.files["env.sh"]


def test_airflow_cfg_escapes_percent_for_configparser_interpolation():
    rendered = render(seed(variables_prefix="odd%prefix"), Target.AIRFLOW_CFG)
    value = _airflow_style_get(rendered.files["airflow.cfg"], "backend_kwargs")
    assert json.loads(value)["variables_prefix"] == "odd%prefix"
    assert "AKV-NAME-007" in codes(rendered)


# -- ADF / Fabric --------------------------------------------------------------------------
def test_adf_for_airflow_2_6_3_caps_the_provider_at_10_0_0():
    rendered = render(seed(airflow_version="2.6.3"), Target.ADF)
    assert rendered.requirements == ["apache-airflow-providers-microsoft-azure<=10.0.0"]
    props = json.loads(rendered.files["airflow-properties.json"])["properties"]
    airflow = props["typeProperties"]["airflowProperties"]
    assert airflow["airflowVersion"] == "2.6.3"
    assert airflow["airflowRequirements"] == rendered.requirements
    assert airflow["airflowConfigurationOverrides"]["AIRFLOW__SECRETS__BACKEND"] == BACKEND
    assert json.loads(airflow["airflowConfigurationOverrides"]["AIRFLOW__SECRETS__BACKEND_KWARGS"])
    assert airflow["airflowEnvironmentVariables"]["AZURE_CLIENT_SECRET"] == PLACEHOLDER
    assert "apache-airflow-providers-microsoft-azure<=10.0.0" in rendered.files["portal.txt"]


def test_adf_without_an_airflow_version_assumes_2_6_3_and_reports_AKV_RENDER_006():
    rendered = render(seed(), Target.ADF)
    assert codes(rendered) == ["AKV-RENDER-006"]
    assert rendered.requirements == ["apache-airflow-providers-microsoft-azure<=10.0.0"]


def test_fabric_assumes_airflow_2_10_5():
    rendered = render(seed(), Target.FABRIC)
    assert rendered.requirements == ["apache-airflow-providers-microsoft-azure<=12.8.1"]
    assert "Fabric" in rendered.files["portal.txt"]


def test_provider_15_on_airflow_2_6_3_reports_AKV_VER_001():
    rendered = render(seed(airflow_version="2.6.3", provider_version="15.2.1"), Target.ADF)
    assert codes(rendered) == ["AKV-VER-001"]
    assert rendered.requirements == ["apache-airflow-providers-microsoft-azure==15.2.1"]


def test_a_fitting_provider_pin_is_kept_without_findings():
    rendered = render(seed(airflow_version="2.6.3", provider_version="10.0.0"), Target.ADF)
    assert codes(rendered) == []
    assert rendered.requirements == ["apache-airflow-providers-microsoft-azure==10.0.0"]


@pytest.mark.parametrize(
    ("airflow", "cap"),
    [("2.6.3", "10.0.0"), ("2.7.3", "10.3.0"), ("2.10.5", "12.8.1"), ("2.11.0", None)]
    + [("3.3.2", None)],
)
def test_provider_cap_follows_the_providers_minimum_airflow_notes(airflow, cap):
    assert provider_cap(airflow) == cap


def test_provider_cap_of_an_unreadable_version_is_none():
    assert provider_cap("latest") is None


def test_settings_given_as_plain_strings_render_like_the_enums():
    s = Settings(vault_url=VAULT, credential="managed_identity", sep=None, target="helm")
    rendered = render(s)
    assert rendered.target is Target.HELM
    assert "sep" not in rendered.backend_kwargs
    assert "managed_identity_client_id" not in rendered.backend_kwargs
    assert codes(rendered) == []


def test_provider_requirement_lines():
    assert provider_requirement("2.6.3") == "apache-airflow-providers-microsoft-azure<=10.0.0"
    assert provider_requirement("3.3.2") == "apache-airflow-providers-microsoft-azure"
    assert (
        provider_requirement("2.6.3", minimum="8.2.0")
        == "apache-airflow-providers-microsoft-azure>=8.2.0,<=10.0.0"
    )


# -- credentials ---------------------------------------------------------------------------
def test_managed_identity_renders_both_identity_kwargs_together():
    rendered = render(
        seed(credential=Credential.MANAGED_IDENTITY, managed_identity_client_id="mi-id"),
        Target.ENV,
    )
    kwargs = kwargs_of(rendered)
    assert kwargs["managed_identity_client_id"] == "mi-id"
    assert kwargs["workload_identity_tenant_id"] == TENANT
    assert not any(k.startswith("AZURE_") for k in rendered.env)
    assert codes(rendered) == []


def test_managed_identity_on_adf_2_6_3_needs_provider_8_2_0_or_newer():
    rendered = render(seed(credential=Credential.MANAGED_IDENTITY, airflow_version="2.6.3"), "adf")
    assert rendered.requirements == ["apache-airflow-providers-microsoft-azure>=8.2.0,<=10.0.0"]


def test_identity_kwargs_with_an_old_provider_report_AKV_RENDER_010():
    rendered = render(
        seed(credential=Credential.MANAGED_IDENTITY, provider_version="8.1.0"), Target.ENV
    )
    assert codes(rendered) == ["AKV-RENDER-010"]


def test_identity_kwargs_on_airflow_2_4_report_AKV_RENDER_010():
    rendered = render(seed(credential=Credential.MANAGED_IDENTITY, airflow_version="2.4.3"), "adf")
    assert codes(rendered) == ["AKV-RENDER-010"]


def test_user_assigned_identity_without_tenant_uses_azure_client_id_AKV_RENDER_007():
    rendered = render(
        Settings(vault_url=VAULT, credential=Credential.MANAGED_IDENTITY, client_id=CLIENT),
        Target.ENV,
    )
    assert codes(rendered) == ["AKV-RENDER-007"]
    assert rendered.env["AZURE_CLIENT_ID"] == CLIENT
    assert "managed_identity_client_id" not in kwargs_of(rendered)


def test_system_assigned_identity_renders_no_credential_at_all():
    rendered = render(Settings(vault_url=VAULT, credential=Credential.MANAGED_IDENTITY), "env")
    assert codes(rendered) == []
    assert set(rendered.env) == {"AIRFLOW__SECRETS__BACKEND", "AIRFLOW__SECRETS__BACKEND_KWARGS"}


def test_workload_identity_outside_kubernetes_reports_AKV_RENDER_008():
    rendered = render(seed(credential=Credential.WORKLOAD_IDENTITY), Target.COMPOSE)
    assert codes(rendered) == ["AKV-RENDER-008"]


def test_workload_identity_on_helm_annotates_service_accounts():
    rendered = render(seed(credential=Credential.WORKLOAD_IDENTITY), Target.HELM)
    assert codes(rendered) == []
    values = yaml.safe_load(rendered.files["values.yaml"])
    assert values["labels"] == {"azure.workload.identity/use": "true"}
    for component in ("scheduler", "workers", "triggerer", "dagProcessor", "apiServer"):
        annotations = values[component]["serviceAccount"]["annotations"]
        assert annotations == {"azure.workload.identity/client-id": CLIENT}
    kwargs = json.loads(values["config"]["secrets"]["backend_kwargs"])
    assert kwargs["managed_identity_client_id"] == CLIENT
    assert kwargs["workload_identity_tenant_id"] == TENANT


@pytest.mark.parametrize(
    ("vault", "authority"),
    [
        ("https://kv.vault.azure.cn/", "https://login.chinacloudapi.cn"),
        ("https://kv.vault.usgovcloudapi.net/", "https://login.microsoftonline.us"),
    ],
)
def test_sovereign_cloud_vault_reports_AKV_RENDER_009_and_sets_the_authority(vault, authority):
    rendered = render(seed(vault_url=vault), Target.ENV)
    assert codes(rendered) == ["AKV-RENDER-009"]
    assert rendered.env["AZURE_AUTHORITY_HOST"] == authority


# -- bad settings never raise --------------------------------------------------------------
def test_missing_vault_url_reports_AKV_SET_001_with_a_placeholder():
    rendered = render(seed(vault_url=""), Target.ENV)
    assert "AKV-SET-001" in codes(rendered)
    assert kwargs_of(rendered)["vault_url"] == "https://<vault-name>.vault.azure.net/"


def test_missing_tenant_and_client_report_AKV_RENDER_002_each():
    rendered = render(Settings(vault_url=VAULT), Target.ENV)
    assert codes(rendered) == ["AKV-RENDER-002", "AKV-RENDER-002"]
    assert rendered.env["AZURE_TENANT_ID"] == "<tenant id>"


@pytest.mark.parametrize("retry", [None, 50])
def test_unbounded_retry_total_reports_AKV_CFG_015(retry):
    rendered = render(seed(retry_total=retry), Target.ENV)
    assert codes(rendered) == ["AKV-CFG-015"]
    assert kwargs_of(rendered).get("retry_total") == retry


@pytest.mark.parametrize("retry", [-1, "3"])
def test_odd_retry_total_reports_AKV_SET_020_as_validation_does_and_renders_3(retry):
    # settings.checks.check_retry_total is the one rule: not a count is a WRONG_TYPE.
    rendered = render(seed(retry_total=retry), Target.ENV)
    assert codes(rendered) == ["AKV-SET-020"]
    assert kwargs_of(rendered).get("retry_total") == 3


def test_unreadable_version_reports_AKV_SET_021():
    rendered = render(seed(airflow_version="two point six"), Target.ADF)
    assert codes(rendered) == ["AKV-SET-021"]
    assert rendered.requirements == ["apache-airflow-providers-microsoft-azure"]


def test_all_prefixes_null_reports_AKV_RENDER_012():
    rendered = render(seed(variables_prefix=None, connections_prefix=None), Target.ENV)
    assert codes(rendered) == ["AKV-RENDER-012"]


def test_a_secret_pasted_as_the_reference_reports_AKV_RENDER_013_and_is_not_rendered():
    rendered = render(seed(client_secret_env="abc~DEF.123-xyz"), Target.ENV)
    assert codes(rendered) == ["AKV-RENDER-013"]
    assert "abc~DEF.123-xyz" not in json.dumps(rendered.to_dict())
    assert rendered.env["AZURE_CLIENT_SECRET"] == PLACEHOLDER


def test_unknown_target_reports_AKV_SET_017_without_raising():
    rendered = render(seed(), "kubernetes-operator")
    assert codes(rendered) == ["AKV-SET-017"]
    assert rendered.files == {}


def test_targets_are_accepted_as_strings():
    assert render(seed(), "airflow-cfg").target is Target.AIRFLOW_CFG
    assert render(seed(), "docker-compose").target is Target.COMPOSE


# -- YAML targets --------------------------------------------------------------------------
def test_helm_values_use_the_official_chart_keys_and_a_secret_reference():
    values = yaml.safe_load(render(seed(), Target.HELM).files["values.yaml"])
    assert values["config"]["secrets"]["backend"] == BACKEND
    assert json.loads(values["config"]["secrets"]["backend_kwargs"]) == backend_kwargs(seed())
    assert {"name": "AZURE_TENANT_ID", "value": TENANT} in values["env"]
    assert values["secret"] == [
        {
            "envName": "AZURE_CLIENT_SECRET",
            "secretName": "airflow-azure-client-secret",
            "secretKey": "client-secret",
        }
    ]
    assert all(item["name"] != "AZURE_CLIENT_SECRET" for item in values["env"])


def test_compose_override_references_the_secret_and_escapes_dollars():
    rendered = render(seed(variables_prefix="cost$center"), Target.COMPOSE)
    doc = yaml.safe_load(rendered.files["docker-compose.override.yml"])
    services = doc["services"]
    assert set(services) >= {"airflow-scheduler", "airflow-worker", "airflow-apiserver"}
    env = services["airflow-scheduler"]["environment"]
    assert env["AZURE_CLIENT_SECRET"].startswith("${AZURE_CLIENT_SECRET:?")
    assert json.loads(env["AIRFLOW__SECRETS__BACKEND_KWARGS"].replace("$$", "$"))[
        "variables_prefix"
    ] == ("cost$center")
    assert "$$center" in env["AIRFLOW__SECRETS__BACKEND_KWARGS"]


def test_compose_for_airflow_2_uses_the_webserver_service():
    doc = yaml.safe_load(
        render(seed(airflow_version="2.10.5"), "compose").files["docker-compose.override.yml"]
    )
    assert "airflow-webserver" in doc["services"]
    assert "airflow-dag-processor" not in doc["services"]


def test_rendered_object_prints_files_and_renders_html():
    rendered = render(seed(), Target.HELM)
    assert str(rendered).startswith("# ---- values.yaml ----")
    assert "<pre>" in rendered._repr_html_()
    assert rendered.to_dict()["target"] == "helm"


# -- property: any settings, every target, valid output, no exception ----------------------
_TEXT = st.text(max_size=30) | st.sampled_from(["", "https://kv.vault.azure.net", "2.6.3"])


@settings(max_examples=100, deadline=None)
@given(
    vault=_TEXT,
    tenant=_TEXT,
    client=_TEXT,
    prefix=st.none() | _TEXT,
    sep=st.sampled_from(["-", "_", "", "%", "$"]),
    airflow=st.none() | _TEXT,
    provider=st.none() | _TEXT,
    retry=st.none() | st.integers(-5, 99),
    credential=st.sampled_from(list(Credential)),
    secret_env=_TEXT,
    include=st.booleans(),
)
def test_any_settings_render_valid_json_and_yaml_for_every_target(
    vault, tenant, client, prefix, sep, airflow, provider, retry, credential, secret_env, include
):
    s = Settings(
        vault_url=vault,
        tenant_id=tenant,
        client_id=client,
        variables_prefix=prefix,
        sep=sep,
        airflow_version=airflow,
        provider_version=provider,
        retry_total=retry,
        credential=credential,
        client_secret_env=secret_env,
    )
    for target, rendered in render_all(s, include_client_secret=include).items():
        assert rendered.target is target
        if "AIRFLOW__SECRETS__BACKEND_KWARGS" in rendered.env:
            assert json.loads(rendered.env["AIRFLOW__SECRETS__BACKEND_KWARGS"]) == (
                rendered.backend_kwargs
            )
        for name, text in rendered.files.items():
            if name.endswith(".json"):
                json.loads(text)
            elif name.endswith((".yaml", ".yml")):
                assert isinstance(yaml.safe_load(text), dict)
            elif name == "airflow.cfg":
                raw = _airflow_style_get(text, "backend_kwargs")
                assert json.loads(raw) == rendered.backend_kwargs
