"""Issue 14 item 4: [workers] secrets_backend against [secrets], the secrets cache
(use_cache / cache_ttl_seconds) and the backends_order option Airflow 3.3 does not have —
linted in every document kind, rendered for every target, and checked against real Airflow.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from helpers.backend_config import (
    lint_airflow_cfg,
    lint_compose,
    lint_environment,
    lint_file,
    lint_helm_values,
    settings_from_airflow_cfg,
    settings_from_environment,
)
from helpers.backend_config.render import render
from helpers.backend_config.scratch_airflow import ScratchAirflow
from helpers.common.facts import BACKEND_CLASS
from helpers.findings import catalogue
from helpers.settings import Settings, Target, settings_from_mapping
from helpers.settings.checks import check_cache_ttl
from helpers.settings.schema import CACHE_TTL_ROTATION_MAX, FIELD_SPECS

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "12345678-90ab-cdef-1234-567890abcdef"
VAULT = "https://my-airflow-kv.vault.azure.net/"
OTHER_VAULT = "https://other-airflow-kv.vault.azure.net/"
SECRET = "abc8Q~SuperSecretValue"
OTHER_SECRET = "xyz7Q~AnotherSecretValue1"
KWARGS = {"config_prefix": None, "vault_url": VAULT, "retry_total": 3}
AWS = "airflow.providers.amazon.aws.secrets.systems_manager.SystemsManagerParameterStoreBackend"

DIFFER, SAME = "AKV-CFG-032", "AKV-CFG-033"
INVALID, LONG_TTL, NO_EFFECT = "AKV-CFG-034", "AKV-CFG-035", "AKV-CFG-036"
FOR_TASKS, ORDER = "AKV-CFG-037", "AKV-CFG-038"
NEW = (DIFFER, SAME, INVALID, LONG_TTL, NO_EFFECT, FOR_TASKS, ORDER)


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def new_codes(findings) -> list[str]:
    return [f.code for f in findings if f.code in NEW]


def one(findings, code: str):
    found = [f for f in findings if f.code == code]
    assert len(found) == 1, [(f.code, f.subject, f.detail) for f in findings]
    return found[0]


def kwargs_json(**changes) -> str:
    return json.dumps({**KWARGS, **changes})


# -- document builders: one configuration, written as each kind ------------------------------
def env_doc(secrets: dict[str, str] | None = None, workers: dict[str, str] | None = None) -> dict:
    env = {
        "AIRFLOW__SECRETS__BACKEND": BACKEND_CLASS,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": kwargs_json(),
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT,
        "AZURE_CLIENT_SECRET": SECRET,
    }
    env.update({f"AIRFLOW__SECRETS__{k.upper()}": v for k, v in (secrets or {}).items()})
    env.update({f"AIRFLOW__WORKERS__{k.upper()}": v for k, v in (workers or {}).items()})
    return env


def cfg_doc(secrets: dict[str, str] | None = None, workers: dict[str, str] | None = None) -> str:
    lines = ["[secrets]", f"backend = {BACKEND_CLASS}", f"backend_kwargs = {kwargs_json()}"]
    lines += [f"{k} = {v}" for k, v in (secrets or {}).items()]
    if workers:
        lines += ["[workers]", *(f"{k} = {v}" for k, v in workers.items())]
    return "\n".join(lines) + "\n"


def helm_doc(
    secrets: dict[str, str] | None = None,
    workers_cfg: dict[str, str] | None = None,
    **components: list[dict],
) -> str:
    """Helm values; ``workers_cfg`` is config.workers, ``components`` each one's env list."""
    values: dict = {
        "config": {
            "secrets": {
                "backend": BACKEND_CLASS,
                "backend_kwargs": kwargs_json(),
                **(secrets or {}),
            }
        },
        "env": [
            {"name": "AZURE_TENANT_ID", "value": TENANT},
            {"name": "AZURE_CLIENT_ID", "value": CLIENT},
        ],
        "secret": [{"envName": "AZURE_CLIENT_SECRET", "secretName": "s", "secretKey": "k"}],
    }
    if workers_cfg:
        values["config"]["workers"] = dict(workers_cfg)
    for component, env in components.items():
        values[component] = {"env": env}
    return yaml.safe_dump(values, sort_keys=False)


def lint_env(secrets=None, workers=None):
    return lint_environment(env_doc(secrets, workers))


def lint_cfg(secrets=None, workers=None):
    return lint_airflow_cfg(cfg_doc(secrets, workers))


def lint_helm(secrets=None, workers=None):
    return lint_helm_values(helm_doc(secrets, workers))


KINDS = {"env": lint_env, "airflow.cfg": lint_cfg, "helm": lint_helm}


@pytest.mark.parametrize("kind", KINDS)
def test_every_document_kind_without_the_new_options_lints_clean(kind):
    assert KINDS[kind]() == []


@pytest.mark.parametrize("kind", KINDS)
def test_use_cache_on_with_a_modest_ttl_lints_clean(kind):
    """The recommended setting for parse-time lookups (AKV-DAG-001) is no problem."""
    secrets = {"use_cache": "True", "cache_ttl_seconds": str(CACHE_TTL_ROTATION_MAX)}
    assert KINDS[kind](secrets) == []


# -- workers vs the API server ----------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_workers_reading_another_vault_with_other_prefixes_and_identity_is_AKV_CFG_032(kind):
    worker_kwargs = kwargs_json(
        vault_url=OTHER_VAULT,
        variables_prefix="task-vars",
        sep="-",
        tenant_id=TENANT,
        client_id=CLIENT,
        client_secret=OTHER_SECRET,
    )
    findings = KINDS[kind](
        None, {"secrets_backend": BACKEND_CLASS, "secrets_backend_kwargs": worker_kwargs}
    )
    finding = one(findings, DIFFER)
    assert finding.data["keys"] == ["vault_url", "variables_prefix", "identity"]
    assert OTHER_VAULT in finding.detail and VAULT in finding.detail  # URLs are fine to show
    assert "'task-vars' on workers" in finding.detail
    assert "client_secret" in finding.detail  # named, never shown
    text = json.dumps([f.to_dict() for f in findings])
    assert OTHER_SECRET not in text and SECRET not in text
    assert SAME not in codes(findings)


@pytest.mark.parametrize("kind", KINDS)
def test_workers_with_another_backend_class_name_only_the_class(kind):
    findings = KINDS[kind](None, {"secrets_backend": AWS, "secrets_backend_kwargs": "{}"})
    finding = one(findings, DIFFER)
    assert finding.data["keys"] == ["backend"]
    assert AWS in finding.detail


@pytest.mark.parametrize("kind", KINDS)
def test_workers_repeating_secrets_get_the_info_to_leave_them_unset(kind):
    same = {"secrets_backend": BACKEND_CLASS, "secrets_backend_kwargs": kwargs_json()}
    findings = KINDS[kind](None, same)
    assert new_codes(findings) == [SAME]
    assert catalogue()[SAME].severity.value == "info"


def test_workers_differing_only_in_retry_total_are_neither_differ_nor_same():
    findings = lint_env(
        None,
        {"secrets_backend": BACKEND_CLASS, "secrets_backend_kwargs": kwargs_json(retry_total=5)},
    )
    assert new_codes(findings) == []


def test_workers_per_key_override_counts_and_an_opaque_one_is_not_compared():
    env = env_doc(None, {"secrets_backend": BACKEND_CLASS, "secrets_backend_kwargs": kwargs_json()})
    env["AIRFLOW__WORKERS__SECRETS_BACKEND_KWARG__VARIABLES_PREFIX"] = "task-vars"
    assert one(lint_environment(env), DIFFER).data["keys"] == ["variables_prefix"]
    helm = yaml.safe_load(
        helm_doc(
            None,
            {"secrets_backend": BACKEND_CLASS, "secrets_backend_kwargs": kwargs_json()},
        )
    )
    helm["env"].append(
        {
            "name": "AIRFLOW__WORKERS__SECRETS_BACKEND_KWARG__VAULT_URL",
            "valueFrom": {"secretKeyRef": {"name": "kv", "key": "url"}},
        }
    )
    assert new_codes(lint_helm_values(yaml.safe_dump(helm))) == []  # unknown: not compared


def test_helm_workers_env_overriding_the_kwargs_is_AKV_CFG_032():
    override = {
        "name": "AIRFLOW__SECRETS__BACKEND_KWARGS",
        "value": kwargs_json(vault_url=OTHER_VAULT),
    }
    text = helm_doc(workers=[override])
    finding = one(lint_helm_values(text), DIFFER)
    assert finding.subject == "workers.env"
    assert finding.data["keys"] == ["vault_url"]


def test_compose_worker_service_reading_elsewhere_than_the_api_server_is_AKV_CFG_032():
    env = {**env_doc(), "AZURE_CLIENT_SECRET": "${AZURE_CLIENT_SECRET}"}
    worker = {**env, "AIRFLOW__SECRETS__BACKEND_KWARGS": kwargs_json(connections_prefix="c")}
    doc = {
        "services": {
            "airflow-apiserver": {"environment": env},
            "airflow-dag-processor": {"environment": env},
            "airflow-worker": {"environment": worker},
        }
    }
    finding = one(lint_compose(yaml.safe_dump(doc)), DIFFER)
    assert finding.subject == "services[airflow-worker]"
    assert finding.data["keys"] == ["connections_prefix"]


# -- the secrets cache ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "options",
    [
        {"use_cache": "True", "cache_ttl_seconds": "15m"},
        {"use_cache": "True", "cache_ttl_seconds": "0"},
        {"use_cache": "True", "cache_ttl_seconds": "-60"},
        {"use_cache": "yes"},  # Airflow's getboolean: true/false/t/f/1/0 only
    ],
    ids=["not-a-number", "zero", "negative", "use-cache-yes"],
)
def test_cache_options_airflow_cannot_use_are_AKV_CFG_034(kind, options):
    assert new_codes(KINDS[kind](options)) == [INVALID]


@pytest.mark.parametrize("kind", KINDS)
def test_a_ttl_that_defeats_rotation_is_AKV_CFG_035(kind):
    finding = one(KINDS[kind]({"use_cache": "True", "cache_ttl_seconds": "86400"}), LONG_TTL)
    assert finding.data["ttl_seconds"] == 86400
    assert "24 h" in finding.detail


@pytest.mark.parametrize("kind", KINDS)
def test_a_ttl_without_the_cache_is_AKV_CFG_036(kind):
    assert new_codes(KINDS[kind]({"cache_ttl_seconds": "600"})) == [NO_EFFECT]
    assert new_codes(KINDS[kind]({"use_cache": "False", "cache_ttl_seconds": "600"})) == [NO_EFFECT]


def test_a_ttl_in_an_env_file_of_fragments_is_not_judged_without_use_cache(tmp_path: Path):
    path = tmp_path / "airflow.env"
    path.write_text("AIRFLOW__SECRETS__CACHE_TTL_SECONDS=600\n", encoding="utf-8")
    assert lint_file(path) == []  # use_cache may be set elsewhere
    path.write_text("AIRFLOW__SECRETS__CACHE_TTL_SECONDS=0\n", encoding="utf-8")
    assert new_codes(lint_file(path)) == [INVALID]


@pytest.mark.parametrize("kind", KINDS)
def test_cache_options_under_workers_are_AKV_CFG_037(kind):
    findings = KINDS[kind](None, {"use_cache": "True", "cache_ttl_seconds": "60"})
    assert new_codes(findings) == [FOR_TASKS, FOR_TASKS]
    assert catalogue()[FOR_TASKS].severity.value == "warning"
    assert "never" in catalogue()[FOR_TASKS].explanation  # tasks never use it


def test_helm_cache_in_workers_env_only_is_AKV_CFG_037_but_not_with_the_dag_processor():
    on = [{"name": "AIRFLOW__SECRETS__USE_CACHE", "value": "True"}]
    finding = one(lint_helm_values(helm_doc(workers=on)), FOR_TASKS)
    assert finding.subject == "workers.env.AIRFLOW__SECRETS__USE_CACHE"
    assert new_codes(lint_helm_values(helm_doc(workers=on, dagProcessor=on))) == []
    assert new_codes(lint_helm_values(helm_doc({"use_cache": "True"}, workers=on))) == []


def test_compose_cache_on_the_worker_service_only_is_AKV_CFG_037():
    env = {**env_doc(), "AZURE_CLIENT_SECRET": "${AZURE_CLIENT_SECRET}"}
    cached = {**env, "AIRFLOW__SECRETS__USE_CACHE": "True"}
    doc = {
        "services": {
            "airflow-apiserver": {"environment": env},
            "airflow-dag-processor": {"environment": env},
            "airflow-worker": {"environment": cached},
        }
    }
    finding = one(lint_compose(yaml.safe_dump(doc)), FOR_TASKS)
    assert finding.subject == "services[airflow-worker].AIRFLOW__SECRETS__USE_CACHE"
    doc["services"]["airflow-dag-processor"]["environment"] = cached
    assert new_codes(lint_compose(yaml.safe_dump(doc))) == []


# -- backends_order ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_backends_order_is_AKV_CFG_038_with_the_fixed_order_in_the_fix(kind):
    finding = one(KINDS[kind]({"backends_order": "metastore,custom"}), ORDER)
    assert "backends_order" in finding.subject.lower()
    fix = catalogue()[ORDER].fix
    assert "environment variables" in fix and "metastore" in fix and "Execution API" in fix


# -- the settings field and the one TTL rule ---------------------------------------------------
def test_cache_ttl_seconds_is_a_settings_field_with_the_one_check():
    spec = FIELD_SPECS["cache_ttl_seconds"]
    assert (spec.kind, spec.check) == ("count", "check_cache_ttl")
    s, findings = settings_from_mapping({"use_cache": True, "cache_ttl_seconds": "600"})
    assert s.cache_ttl_seconds == 600 and INVALID not in codes(findings)
    assert INVALID in codes(settings_from_mapping({"cache_ttl_seconds": 0})[1])
    assert LONG_TTL in codes(
        settings_from_mapping({"use_cache": True, "cache_ttl_seconds": 7200})[1]
    )
    assert NO_EFFECT in codes(settings_from_mapping({"cache_ttl_seconds": 600})[1])


@pytest.mark.parametrize(
    "value, ttl",
    [(600, 600), ("600", 600), (" 600 ", 600), ("600.0", 600), ("6e2", 600), (True, None)],
)
def test_check_cache_ttl_reads_the_value_as_airflow_getint_does(value, ttl):
    assert check_cache_ttl(value, use_cache=None)[0] == ttl


def test_the_readers_read_the_cache_settings_back():
    s, findings = settings_from_environment(
        env_doc({"use_cache": "True", "cache_ttl_seconds": "600"})
    )
    assert (s.use_cache, s.cache_ttl_seconds, codes(findings)) == (True, 600, [])
    s, findings = settings_from_airflow_cfg(
        cfg_doc({"use_cache": "True", "cache_ttl_seconds": "0"})
    )
    assert (s.use_cache, s.cache_ttl_seconds, codes(findings)) == (True, None, [INVALID])


# -- render ------------------------------------------------------------------------------------
CACHED = Settings(
    vault_url=VAULT,
    tenant_id=TENANT,
    client_id=CLIENT,
    airflow_version="3.3.2",
    use_cache=True,
    cache_ttl_seconds=600,
)


def test_render_writes_the_cache_options_for_each_target():
    env_sh = render(CACHED, Target.ENV).files["env.sh"]
    assert "export AIRFLOW__SECRETS__USE_CACHE=True\n" in env_sh
    assert "export AIRFLOW__SECRETS__CACHE_TTL_SECONDS=600\n" in env_sh
    cfg = render(CACHED, Target.AIRFLOW_CFG).files["airflow.cfg"]
    assert "\nuse_cache = True\ncache_ttl_seconds = 600\n" in cfg
    helm = yaml.safe_load(render(CACHED, Target.HELM).files["values.yaml"])
    assert helm["config"]["secrets"]["use_cache"] == "True"
    assert helm["config"]["secrets"]["cache_ttl_seconds"] == "600"
    compose = yaml.safe_load(render(CACHED, Target.COMPOSE).files["docker-compose.override.yml"])
    for service in compose["services"].values():
        assert service["environment"]["AIRFLOW__SECRETS__USE_CACHE"] == "True"
        assert service["environment"]["AIRFLOW__SECRETS__CACHE_TTL_SECONDS"] == "600"
    for target in (Target.FABRIC, Target.ADF):
        document = json.loads(render(CACHED, target).files["airflow-properties.json"])
        props = document["properties"]["typeProperties"]["airflowProperties"]
        overrides = props["airflowConfigurationOverrides"]
        assert overrides["AIRFLOW__SECRETS__CACHE_TTL_SECONDS"] == "600", target


def test_render_skips_the_cache_for_airflow_before_2_7_and_says_so():
    rendered = render(
        Settings(vault_url=VAULT, tenant_id=TENANT, client_id=CLIENT, use_cache=True),
        Target.ADF,  # assumes Airflow 2.6.3
    )
    assert "USE_CACHE" not in rendered.files["airflow-properties.json"]
    assert "not written: Airflow 2.6.3 has neither" in rendered.files["portal.txt"]


def test_render_without_the_cache_writes_no_ttl_and_reports_AKV_CFG_036():
    s = Settings(vault_url=VAULT, tenant_id=TENANT, client_id=CLIENT, cache_ttl_seconds=600)
    rendered = render(s, Target.ENV)
    assert "CACHE_TTL" not in rendered.files["env.sh"]
    assert NO_EFFECT in codes(rendered.findings)
    plain = render(Settings(vault_url=VAULT, tenant_id=TENANT, client_id=CLIENT), Target.ENV)
    assert "USE_CACHE" not in plain.files["env.sh"]  # not asked: Airflow's default


@pytest.mark.parametrize("target", [Target.ENV, Target.AIRFLOW_CFG, Target.HELM, Target.COMPOSE])
def test_render_leaves_workers_unset_and_says_so(target):
    rendered = render(CACHED, target)
    for text in rendered.files.values():
        assert "[workers] secrets_backend is left unset" in text
        assert "AIRFLOW__WORKERS__" not in text and "\n[workers]" not in text
        assert "parsing DAG files only" in text


@pytest.mark.parametrize("target", list(Target), ids=str)
def test_rendered_cache_settings_lint_clean(target, tmp_path: Path):
    for name, text in render(CACHED, target).files.items():
        if name.endswith(".txt"):
            continue
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert lint_file(tmp_path / name) == [], name


# -- real Airflow agrees ------------------------------------------------------------------------
AIRFLOW_READS = """
import json
from airflow.sdk.configuration import conf
from airflow.sdk.execution_time.cache import SecretCache
worker = conf._get_custom_secret_backend(worker_mode=True)
server = conf._get_custom_secret_backend(worker_mode=False)
out = {
    "worker": [type(worker).__name__, worker.vault_url],
    "server": [type(server).__name__, server.vault_url],
    "worker_prefix": worker.variables_prefix,
}
try:
    SecretCache.init()
    out["cache"] = "initialised" if SecretCache._cache is not None else "off"
except Exception as err:
    out["cache"] = type(err).__name__
print("AKV_RESULT " + json.dumps(out))
"""


def _airflow_reads(tmp_path: Path, env: dict[str, str]) -> dict:
    airflow = ScratchAirflow.create(tmp_path / "home", env)
    result = airflow.python(AIRFLOW_READS, timeout=180)
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("AKV_RESULT ")]
    assert result.returncode == 0 and lines, (result.stdout + result.stderr)[-3000:]
    return json.loads(lines[-1].removeprefix("AKV_RESULT "))


@pytest.mark.slow
def test_airflow_builds_the_workers_backend_from_workers_and_falls_back_to_secrets(tmp_path):
    rendered = render(CACHED, Target.ENV)
    env = {k: v for k, v in rendered.env.items() if not k.startswith("AZURE_")}
    reads = _airflow_reads(tmp_path / "fallback", env)
    assert reads["worker"] == reads["server"] == ["AzureKeyVaultBackend", VAULT]
    assert reads["cache"] == "initialised"  # what the DAG processor does with use_cache=True
    # With [workers] set, workers read what AKV-CFG-032 says they read.
    workers = {
        "AIRFLOW__WORKERS__SECRETS_BACKEND": BACKEND_CLASS,
        "AIRFLOW__WORKERS__SECRETS_BACKEND_KWARGS": kwargs_json(vault_url=OTHER_VAULT),
        "AIRFLOW__WORKERS__SECRETS_BACKEND_KWARG__VARIABLES_PREFIX": "task-vars",
    }
    findings = lint_environment({**env_doc(), **workers})
    assert one(findings, DIFFER).data["keys"] == ["vault_url", "variables_prefix"]
    reads = _airflow_reads(tmp_path / "workers", {**env, **workers})
    assert reads["worker"] == ["AzureKeyVaultBackend", OTHER_VAULT]
    assert reads["server"] == ["AzureKeyVaultBackend", VAULT]
    assert reads["worker_prefix"] == "task-vars"


@pytest.mark.slow
def test_airflow_rejects_the_ttl_AKV_CFG_034_rejects(tmp_path):
    env = {
        "AIRFLOW__SECRETS__BACKEND": BACKEND_CLASS,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": kwargs_json(),
        "AIRFLOW__SECRETS__USE_CACHE": "True",
        "AIRFLOW__SECRETS__CACHE_TTL_SECONDS": "15m",
    }
    assert new_codes(lint_environment({**env_doc(), **env})) == [INVALID]
    assert _airflow_reads(tmp_path, env)["cache"] == "AirflowConfigException"


@pytest.mark.slow
def test_airflow_config_get_value_reads_the_rendered_cache_options(tmp_path):
    rendered = render(CACHED, Target.ENV)
    env = {k: v for k, v in rendered.env.items() if not k.startswith("AZURE_")}
    airflow = ScratchAirflow.create(tmp_path / "home", env)
    for key, expected in (("use_cache", "True"), ("cache_ttl_seconds", "600")):
        result = airflow.airflow("config", "get-value", "secrets", key, timeout=180)
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stdout.strip().splitlines()[-1] == expected
