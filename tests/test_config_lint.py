"""Config lint: one test per rule, asserting exact finding codes; fixtures in tests/data/lint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.backend_config import (
    lint_adf_export,
    lint_airflow_cfg,
    lint_backend_kwargs,
    lint_compose,
    lint_dags,
    lint_environment,
    lint_file,
    lint_helm_values,
    lint_versions,
    parse_backend_kwargs,
    parse_env_file,
)
from helpers.backend_config import render as config_render
from helpers.common.facts import BACKEND_CLASS, OLD_BACKEND_CLASS
from helpers.findings import Severity, render_text, to_json
from helpers.settings import Credential, Settings, Target

DATA = Path(__file__).parent / "data" / "lint"
TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "12345678-90ab-cdef-1234-567890abcdef"
VAULT = "https://my-airflow-kv.vault.azure.net/"
SECRET = "abc8Q~SuperSecretValue"
CLEAN_KWARGS = {"config_prefix": None, "vault_url": VAULT, "retry_total": 3}


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def kwargs_json(**overrides) -> str:
    return json.dumps({**CLEAN_KWARGS, **overrides})


def environment(**extra: str) -> dict[str, str]:
    return {
        "AIRFLOW__SECRETS__BACKEND": BACKEND_CLASS,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": kwargs_json(),
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT,
        "AZURE_CLIENT_SECRET": SECRET,
        **extra,
    }


# -- backend_kwargs JSON ---------------------------------------------------------------------
def test_clean_backend_kwargs_lint_to_no_findings():
    assert lint_backend_kwargs(kwargs_json()) == (CLEAN_KWARGS, [])


def test_invalid_json_reports_AKV_CFG_001_with_the_position():
    parsed, findings = lint_backend_kwargs('{"vault_url": "' + VAULT + '" "retry_total": 3}')
    assert parsed is None
    assert codes(findings) == ["AKV-CFG-001"]
    assert "line 1, column" in findings[0].detail


def test_seed_documents_unquoted_placeholder_reports_AKV_CFG_001_and_names_it():
    seed = (
        '{"connections_prefix": "airflow-connections", "variables_prefix": "airflow-variables",'
        ' "vault_url": **\\<your keyvault uri\\>**}'
    )
    parsed, findings = lint_backend_kwargs(seed)
    assert (parsed, codes(findings)) == (None, ["AKV-CFG-001"])
    assert "placeholder" in findings[0].detail


def test_typographic_quotes_in_backend_kwargs_report_AKV_CFG_002():
    text = "{“vault_url”: “" + VAULT + "”, “config_prefix”: null, “retry_total”: 3}"
    parsed, findings = lint_backend_kwargs(text)
    assert (parsed, codes(findings)) == (None, ["AKV-CFG-002"])
    assert "line 1, column 2" in findings[0].detail
    assert findings[0].data["positions"][0] == (1, 2)


def test_single_quoted_python_dict_reports_AKV_CFG_003():
    text = f"{{'vault_url': '{VAULT}', 'config_prefix': None, 'retry_total': 3}}"
    assert codes(lint_backend_kwargs(text)[1]) == ["AKV-CFG-003"]


def test_trailing_comma_reports_AKV_CFG_004_with_the_position():
    parsed, findings = lint_backend_kwargs(kwargs_json()[:-1] + ",\n}")
    assert (parsed, codes(findings)) == (None, ["AKV-CFG-004"])
    assert "line 1" in findings[0].detail


@pytest.mark.parametrize("text", ["[1, 2]", '"vault"', "3", "true", "null"])
def test_json_that_is_not_an_object_reports_AKV_CFG_005(text):
    assert codes(lint_backend_kwargs(text)[1]) == ["AKV-CFG-005"]


def test_kwargs_wrapped_in_quotes_report_AKV_CFG_019():
    assert codes(lint_backend_kwargs(f"'{kwargs_json()}'")[1]) == ["AKV-CFG-019"]
    assert codes(lint_backend_kwargs(json.dumps(kwargs_json()))[1]) == ["AKV-CFG-019"]


def test_duplicate_key_reports_AKV_CFG_024():
    text = kwargs_json()[:-1] + f', "vault_url": "{VAULT}"}}'
    assert codes(lint_backend_kwargs(text)[1]) == ["AKV-CFG-024"]


def test_broken_json_still_reports_problems_in_what_was_meant():
    text = "{“vault_url”: “http://my-airflow-kv.vault.azure.net/”, “retry_total”: 3,}"
    assert codes(lint_backend_kwargs(text)[1]) == [
        "AKV-CFG-002",
        "AKV-CFG-004",
        "AKV-SET-002",
        "AKV-CFG-014",
    ]


def test_parse_with_repair_returns_the_intended_object():
    text = "{'vault_url': '" + VAULT + "', 'config_prefix': None,}"
    parsed, findings = parse_backend_kwargs(text, repair=True)
    assert parsed == {"vault_url": VAULT, "config_prefix": None}
    assert codes(findings) == ["AKV-CFG-003", "AKV-CFG-004"]


# -- backend_kwargs content ------------------------------------------------------------------
def test_missing_vault_url_reports_AKV_SET_001():
    assert codes(lint_backend_kwargs(json.dumps({"config_prefix": None, "retry_total": 3}))[1]) == [
        "AKV-SET-001"
    ]


def test_http_vault_url_reports_AKV_SET_002():
    text = kwargs_json(vault_url="http://my-airflow-kv.vault.azure.net/")
    assert codes(lint_backend_kwargs(text)[1]) == ["AKV-SET-002"]


def test_prefix_with_invalid_characters_reports_AKV_SET_013():
    assert codes(lint_backend_kwargs(kwargs_json(variables_prefix="airflow.vars"))[1]) == [
        "AKV-SET-013"
    ]


def test_client_secret_in_kwargs_reports_AKV_CFG_009_and_never_shows_it():
    text = kwargs_json(tenant_id=TENANT, client_id=CLIENT, client_secret=SECRET)
    _, findings = lint_backend_kwargs(text)
    assert codes(findings) == ["AKV-CFG-009"]
    assert findings[0].severity is Severity.WARNING
    assert SECRET not in render_text(findings) + to_json(findings)


@pytest.mark.parametrize(
    "extra", [{"managed_identity_client_id": CLIENT}, {"workload_identity_tenant_id": TENANT}]
)
def test_half_set_managed_identity_kwargs_report_AKV_CFG_010(extra):
    assert codes(lint_backend_kwargs(kwargs_json(**extra))[1]) == ["AKV-CFG-010"]


@pytest.mark.parametrize(
    "extra",
    [
        {"tenant_id": TENANT, "client_id": CLIENT},
        {"client_secret": SECRET},
        {"tenant_id": TENANT},
    ],
)
def test_partial_service_principal_kwargs_report_AKV_CFG_011(extra):
    found = codes(lint_backend_kwargs(kwargs_json(**extra))[1])
    assert "AKV-CFG-011" in found
    assert set(found) <= {"AKV-CFG-009", "AKV-CFG-011"}


@pytest.mark.parametrize(
    "key, meant",
    [
        ("vault_uri", "vault_url"),
        ("variable_prefix", "variables_prefix"),
        ("connection_prefix", "connections_prefix"),
        ("retries", "retry_total"),
    ],
)
def test_likely_typo_key_reports_AKV_CFG_012(key, meant):
    kwargs = {k: v for k, v in CLEAN_KWARGS.items() if k != meant} | {key: "x"}
    typo = [f for f in lint_backend_kwargs(json.dumps(kwargs))[1] if f.code == "AKV-CFG-012"]
    assert [f.data["suggestion"] for f in typo] == [meant]


def test_misspelt_key_next_to_the_real_one_is_just_unknown_AKV_CFG_013():
    assert codes(lint_backend_kwargs(kwargs_json(vault_uri=VAULT))[1]) == ["AKV-CFG-013"]


def test_vault_uri_typo_also_leaves_the_vault_url_missing():
    text = json.dumps({"vault_uri": VAULT, "config_prefix": None, "retry_total": 3})
    assert codes(lint_backend_kwargs(text)[1]) == ["AKV-SET-001", "AKV-CFG-012"]


def test_unknown_key_reports_AKV_CFG_013_and_known_client_options_pass():
    assert codes(lint_backend_kwargs(kwargs_json(shiny=True))[1]) == ["AKV-CFG-013"]
    assert lint_backend_kwargs(kwargs_json(connection_timeout=5, api_version="7.5"))[1] == []


def test_default_config_prefix_reports_AKV_CFG_014_and_unbounded_retries_AKV_CFG_015():
    findings = lint_backend_kwargs(json.dumps({"vault_url": VAULT}))[1]
    assert codes(findings) == ["AKV-CFG-014", "AKV-CFG-015"]
    assert {f.severity for f in findings} == {Severity.INFO}


def test_quoted_number_for_retry_total_reports_AKV_CFG_017():
    assert codes(lint_backend_kwargs(kwargs_json(retry_total="3"))[1]) == ["AKV-CFG-017"]


# -- environment -----------------------------------------------------------------------------
def test_clean_environment_lints_to_no_findings():
    assert lint_environment(environment()) == []


def test_old_module_path_reports_AKV_CFG_006():
    findings = lint_environment(environment(AIRFLOW__SECRETS__BACKEND=OLD_BACKEND_CLASS))
    assert codes(findings) == ["AKV-CFG-006"]


def test_backend_not_set_reports_AKV_CFG_007():
    env = environment()
    del env["AIRFLOW__SECRETS__BACKEND"]
    assert codes(lint_environment(env)) == ["AKV-CFG-007"]


@pytest.mark.parametrize(
    "backend",
    [
        "airflow.providers.microsoft.azure.secrets.key_vault.AzureKeyVaultBackEnd",
        "airflow.providers.hashicorp.secrets.vault.VaultBackend",
    ],
)
def test_backend_that_is_not_the_key_vault_one_reports_AKV_CFG_008(backend):
    assert codes(lint_environment(environment(AIRFLOW__SECRETS__BACKEND=backend))) == [
        "AKV-CFG-008"
    ]


def test_backend_wrapped_in_quotes_reports_AKV_CFG_019():
    env = environment(AIRFLOW__SECRETS__BACKEND=f'"{BACKEND_CLASS}"')
    assert codes(lint_environment(env)) == ["AKV-CFG-019"]


def test_kwargs_not_set_gives_an_empty_vault_url_AKV_SET_001():
    env = environment()
    del env["AIRFLOW__SECRETS__BACKEND_KWARGS"]
    (finding,) = lint_environment(env)
    assert finding.code == "AKV-SET-001"
    assert finding.subject == "AIRFLOW__SECRETS__BACKEND_KWARGS"


def test_per_key_override_replacing_the_json_reports_AKV_CFG_016():
    env = environment(
        AIRFLOW__SECRETS__BACKEND_KWARG__VAULT_URL="https://other-kv.vault.azure.net/"
    )
    (finding,) = lint_environment(env)
    assert (finding.code, finding.subject) == (
        "AKV-CFG-016",
        "AIRFLOW__SECRETS__BACKEND_KWARG__VAULT_URL",
    )


def test_per_key_override_cannot_carry_numbers_or_null_AKV_CFG_017():
    env = environment(
        AIRFLOW__SECRETS__BACKEND_KWARGS=json.dumps({"vault_url": VAULT}),
        AIRFLOW__SECRETS__BACKEND_KWARG__RETRY_TOTAL="3",
        AIRFLOW__SECRETS__BACKEND_KWARG__CONFIG_PREFIX="null",
    )
    assert codes(lint_environment(env)) == ["AKV-CFG-017", "AKV-CFG-017"]


def test_per_key_override_of_a_prefix_with_a_plain_value_is_fine():
    env = environment(AIRFLOW__SECRETS__BACKEND_KWARG__VARIABLES_PREFIX="vars")
    assert lint_environment(env) == []


@pytest.mark.parametrize(
    "name, value, code",
    [
        ("AZURE_TENANT_ID", "not a tenant", "AKV-SET-007"),
        ("AZURE_CLIENT_ID", "my-app", "AKV-SET-008"),
        ("AZURE_CLIENT_SECRET", "", "AKV-SET-026"),
        ("AZURE_TENANT_ID", "", "AKV-SET-009"),
        ("AZURE_CLIENT_ID", "<Client ID of SPN>", "AKV-SET-023"),
    ],
)
def test_malformed_azure_variables_are_reported(name, value, code):
    assert code in codes(lint_environment(environment(**{name: value})))


def test_secret_without_tenant_reports_AKV_SET_009():
    env = environment()
    del env["AZURE_TENANT_ID"]
    (finding,) = lint_environment(env)
    assert (finding.code, finding.subject) == ("AKV-SET-009", "AZURE_TENANT_ID")


def test_tenant_and_client_without_secret_report_AKV_SET_027():
    env = environment()
    del env["AZURE_CLIENT_SECRET"]
    assert codes(lint_environment(env)) == ["AKV-SET-027"]


def test_no_credential_at_all_reports_AKV_CFG_027():
    env = {k: v for k, v in environment().items() if not k.startswith("AZURE_")}
    assert codes(lint_environment(env)) == ["AKV-CFG-027"]


def test_workers_backend_without_its_kwargs_reports_AKV_CFG_018():
    env = environment(AIRFLOW__WORKERS__SECRETS_BACKEND=BACKEND_CLASS)
    assert codes(lint_environment(env)) == ["AKV-CFG-018"]


def test_workers_backend_with_kwargs_is_linted_like_the_main_one():
    env = environment(
        AIRFLOW__WORKERS__SECRETS_BACKEND=BACKEND_CLASS,
        AIRFLOW__WORKERS__SECRETS_BACKEND_KWARGS="{'vault_url': 'x'}",
    )
    assert codes(lint_environment(env)) == ["AKV-CFG-003", "AKV-SET-002", "AKV-CFG-014"] + [
        "AKV-CFG-015"
    ]


def test_workers_kwargs_without_workers_backend_report_AKV_CFG_028():
    env = environment(AIRFLOW__WORKERS__SECRETS_BACKEND_KWARGS=kwargs_json())
    assert codes(lint_environment(env)) == ["AKV-CFG-028"]


def test_kwargs_from_a_command_are_not_second_guessed():
    env = environment(AIRFLOW__SECRETS__BACKEND_KWARGS_CMD="cat /run/secrets/kwargs")
    del env["AIRFLOW__SECRETS__BACKEND_KWARGS"]
    assert lint_environment(env) == []


# -- airflow.cfg -----------------------------------------------------------------------------
def test_clean_airflow_cfg_lints_to_no_findings():
    assert lint_file(DATA / "clean" / "airflow.cfg") == []


def test_airflow_cfg_from_old_docs_reports_each_problem():
    assert codes(lint_file(DATA / "typographic-airflow.cfg")) == [
        "AKV-CFG-006",
        "AKV-CFG-002",
        "AKV-SET-002",
        "AKV-CFG-014",
        "AKV-CFG-015",
    ]


def test_inline_comment_after_backend_kwargs_reports_AKV_CFG_001():
    text = f"[secrets]\nbackend = {BACKEND_CLASS}\nbackend_kwargs = {kwargs_json()}  # prod\n"
    (finding,) = lint_airflow_cfg(text)
    assert finding.code == "AKV-CFG-001"
    assert "inline comment" in finding.detail


def test_airflow_cfg_percent_escaping_is_read_like_airflow():
    kwargs = kwargs_json(connection_timeout=5).replace("}", ', "user_agent": "a%%b"}')
    assert (
        lint_airflow_cfg(f"[secrets]\nbackend = {BACKEND_CLASS}\nbackend_kwargs = {kwargs}\n") == []
    )
    lone = kwargs.replace("%%", "%")
    assert codes(
        lint_airflow_cfg(f"[secrets]\nbackend = {BACKEND_CLASS}\nbackend_kwargs = {lone}\n")
    ) == ["AKV-CFG-020", "AKV-SET-001"]


def test_airflow_cfg_without_a_section_header_reports_AKV_CFG_020():
    assert codes(lint_airflow_cfg(f"backend = {BACKEND_CLASS}\n")) == ["AKV-CFG-020"]


def test_airflow_cfg_without_backend_reports_AKV_CFG_007():
    assert codes(lint_airflow_cfg("[core]\nload_examples = False\n")) == ["AKV-CFG-007"]


# -- ADF / Fabric export ----------------------------------------------------------------------
def test_adf_export_in_the_seed_style_reports_each_problem():
    findings = lint_file(DATA / "adf-export-seed.json")
    assert codes(findings) == [
        "AKV-SET-023",
        "AKV-CFG-014",
        "AKV-CFG-015",
        "AKV-SET-023",
        "AKV-CFG-022",
        "AKV-VER-001",
        "AKV-VER-002",
    ]
    assert "FAKE8Q~" not in render_text(findings) + to_json(findings)


def test_fabric_export_with_the_secret_as_a_reference_is_clean():
    assert lint_file(DATA / "fabric-export.json") == []


def test_flat_export_of_overrides_is_accepted():
    flat = environment(AZURE_CLIENT_SECRET="<value of $AZURE_CLIENT_SECRET>")
    assert lint_adf_export(json.dumps(flat)) == []


def test_export_without_the_provider_requirement_reports_AKV_CFG_025():
    doc = {"airflowProperties": {"airflowConfigurationOverrides": environment()}}
    assert codes(lint_adf_export(json.dumps(doc))) == ["AKV-CFG-022", "AKV-CFG-025"]


def test_per_key_overrides_on_airflow_2_report_AKV_CFG_026():
    props = {
        "airflowVersion": "2.6.3",
        "airflowRequirements": ["apache-airflow-providers-microsoft-azure==10.0.0"],
        "airflowConfigurationOverrides": {
            **environment(),
            "AIRFLOW__SECRETS__BACKEND_KWARG__VARIABLES_PREFIX": "vars",
        },
    }
    found = codes(lint_adf_export(json.dumps({"airflowProperties": props})))
    assert "AKV-CFG-026" in found


def test_export_that_is_not_json_reports_AKV_CFG_020():
    assert codes(lint_adf_export('{"airflowProperties": }')) == ["AKV-CFG-020"]


# -- Helm values and docker compose -----------------------------------------------------------
def test_helm_values_with_kwargs_as_a_mapping_and_a_clear_secret():
    findings = lint_file(DATA / "values.yaml")
    assert codes(findings) == ["AKV-CFG-023", "AKV-CFG-022"]
    assert findings[0].subject == "config.secrets.backend_kwargs"


def test_helm_values_with_secret_reference_and_json_kwargs_are_clean():
    values = f"""
config:
  secrets:
    backend: {BACKEND_CLASS}
    backend_kwargs: '{kwargs_json()}'
env:
  - name: AZURE_TENANT_ID
    value: "{TENANT}"
  - name: AZURE_CLIENT_ID
    valueFrom: {{secretKeyRef: {{name: sp, key: client-id}}}}
secret:
  - envName: AZURE_CLIENT_SECRET
    secretName: sp
    secretKey: client-secret
"""
    assert lint_helm_values(values) == []


def test_helm_extra_env_string_is_read():
    values = f"""
config: {{secrets: {{backend: {BACKEND_CLASS}, backend_kwargs: '{kwargs_json()}'}}}}
extraEnv: |
  - name: AZURE_TENANT_ID
    value: not-a-tenant
"""
    assert "AKV-SET-007" in codes(lint_helm_values(values))


def test_compose_file_lints_each_distinct_environment_once():
    (finding,) = lint_file(DATA / "docker-compose.yaml")
    assert finding.code == "AKV-CFG-004"
    assert finding.subject.startswith("services[airflow-scheduler, airflow-worker].")


def test_compose_list_environment_with_clear_secret_reports_AKV_CFG_022():
    compose = f"""
services:
  scheduler:
    image: apache/airflow:3.3.2
    environment:
      - AIRFLOW__SECRETS__BACKEND={BACKEND_CLASS}
      - 'AIRFLOW__SECRETS__BACKEND_KWARGS={kwargs_json()}'
      - AZURE_TENANT_ID={TENANT}
      - AZURE_CLIENT_ID={CLIENT}
      - AZURE_CLIENT_SECRET={SECRET}
"""
    findings = lint_compose(compose)
    assert codes(findings) == ["AKV-CFG-022"]
    assert SECRET not in render_text(findings) + to_json(findings)


def test_compose_list_item_with_unquoted_json_is_a_yaml_error_AKV_CFG_020():
    compose = (
        "services:\n  s:\n    environment:\n"
        f"      - AIRFLOW__SECRETS__BACKEND_KWARGS={kwargs_json()}\n"
    )
    (finding,) = lint_compose(compose)
    assert finding.code == "AKV-CFG-020"
    assert "line 4" in finding.detail


def test_compose_without_airflow_services_reports_AKV_CFG_007():
    assert codes(lint_compose("services:\n  db:\n    image: postgres\n")) == ["AKV-CFG-007"]


# -- files -----------------------------------------------------------------------------------
def test_env_file_of_credentials_only_is_clean():
    assert lint_file(DATA / "clean" / "airflow.env") == []


def test_env_file_parsing_follows_the_shell():
    env = parse_env_file(
        '# comment\nexport A=\'x y\'\nB="q"\nC=plain # note\nexport D\n: "${D:?}"\nbad line\n'
    )
    assert env == {"A": "x y", "B": "q", "C": "plain", "D": "${D}"}


def test_unknown_file_kind_reports_AKV_CFG_021():
    assert codes(lint_file(DATA / "notes.txt")) == ["AKV-CFG-021"]


def test_missing_file_reports_AKV_CFG_020(tmp_path: Path):
    assert codes(lint_file(tmp_path / "absent.cfg")) == ["AKV-CFG-020"]


@pytest.mark.parametrize("target", list(Target))
@pytest.mark.parametrize("credential", list(Credential))
def test_every_rendered_configuration_lints_clean(tmp_path: Path, target, credential):
    s = Settings(
        vault_url=VAULT,
        tenant_id=TENANT,
        client_id=CLIENT,
        credential=credential,
        managed_identity_client_id=CLIENT if credential is not Credential.CLIENT_SECRET else "",
        airflow_version="3.3.2",
        provider_version="15.2.1",
    )
    rendered = config_render.render(s, target)
    for name, text in rendered.files.items():
        if name.endswith(".txt"):
            continue  # prose for the portal, not a configuration file
        (tmp_path / name).write_text(text)
        assert lint_file(tmp_path / name) == [], name


# -- versions --------------------------------------------------------------------------------
def test_matching_versions_lint_clean():
    assert lint_versions("3.3.2", "15.2.1", "3.11") == []
    assert lint_versions("2.6.3", "10.0.0")[0].code == "AKV-VER-004"


def test_provider_15_on_airflow_2_6_3_reports_AKV_VER_001_and_the_cap():
    (finding,) = lint_versions("2.6.3", "15.2.1")
    assert finding.code == "AKV-VER-001"
    assert "10.0.0 at most" in finding.detail


def test_provider_15_on_airflow_2_10_reports_AKV_VER_001():
    assert codes(lint_versions("2.10.5", "15.0.0")) == ["AKV-VER-001"]


def test_provider_15_on_python_3_10_reports_AKV_VER_002():
    assert codes(lint_versions("3.3.2", "15.2.1", "3.10")) == ["AKV-VER-002"]


@pytest.mark.parametrize("airflow", ["3.0.0", "3.3.1", "3.3.1rc1"])
def test_airflow_before_3_3_2_reports_AKV_VER_003(airflow):
    assert codes(lint_versions(airflow, "15.2.1")) == ["AKV-VER-003"]


def test_provider_before_13_3_reports_AKV_VER_004():
    assert codes(lint_versions(None, "13.2.0")) == ["AKV-VER-004"]


def test_unparseable_version_reports_AKV_SET_021():
    assert codes(lint_versions("three", None)) == ["AKV-SET-021"]


# -- DAG files -------------------------------------------------------------------------------
def test_top_level_variable_get_reports_AKV_DAG_001():
    findings = lint_dags(DATA / "dags")
    assert codes(findings) == ["AKV-DAG-001", "AKV-DAG-005"]
    assert findings[0].subject == "top_level_lookup.py:8"
    assert findings[0].data["key"] == "sample-variable"


def test_top_level_lookup_with_cache_off_reports_AKV_DAG_002():
    findings = lint_dags(DATA / "dags", use_cache=False)
    assert codes(findings) == ["AKV-DAG-002", "AKV-DAG-005"]
    assert findings[0].severity is Severity.ERROR


def test_top_level_lookup_with_cache_on_reports_AKV_DAG_003():
    assert codes(lint_dags(DATA / "dags", use_cache=True))[0] == "AKV-DAG-003"


def test_the_runbooks_sample_dag_reads_inside_the_task():
    assert lint_dags(Path(__file__).parent.parent / "dags") == []


def test_parse_time_code_is_told_apart_from_task_code(tmp_path: Path):
    (tmp_path / "d.py").write_text(
        "from airflow.sdk import Variable, dag, task\n"
        "from airflow.hooks.base import BaseHook\n"
        "from airflow.models import Variable as V\n"
        "def f(x=V.get('in_default')):\n"  # 4: defaults run at parse time
        "    return Variable.get('in_function')\n"
        "@dag()\n"
        "def my_dag():\n"
        "    conn = BaseHook.get_connection('in_dag_body')\n"  # 8: @dag body runs at parse
        "    @task\n"
        "    def t():\n"
        "        return Variable.get('in_task')\n"
        "my_dag()\n"
        "class C:\n"
        "    x = Variable.get('in_class_body')\n"  # 14
        "lazy = lambda: Variable.get('in_lambda')\n"
        "if __name__ == '__main__':\n"
        "    Variable.get('in_main')\n"
    )
    lookups = [f for f in lint_dags(tmp_path) if f.code == "AKV-DAG-001"]
    assert [f.subject for f in lookups] == ["d.py:4", "d.py:8", "d.py:14"]


def test_dag_with_a_syntax_error_reports_AKV_DAG_004(tmp_path: Path):
    (tmp_path / "broken.py").write_text("def (:\n")
    assert codes(lint_dags(tmp_path)) == ["AKV-DAG-004"]


def test_missing_dag_folder_reports_AKV_DAG_004(tmp_path: Path):
    assert codes(lint_dags(tmp_path / "absent")) == ["AKV-DAG-004"]
