"""A corpus of malformed input: each one gives its finding code and never a traceback.

Every row runs through the loader or linter that would meet it in real use; the findings
must also render (text and JSON) without error. The last tests check that a client secret
passed in anywhere never appears in what is rendered.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as hst

from helpers.backend_config import (
    lint_adf_export,
    lint_airflow_cfg,
    lint_backend_kwargs,
    lint_compose,
    lint_environment,
    lint_file,
    lint_helm_values,
    lint_versions,
    settings_from_airflow_cfg,
    settings_from_environment,
)
from helpers.common.facts import BACKEND_CLASS, OLD_BACKEND_CLASS
from helpers.findings import Finding, render_html, render_text, to_json, to_junit
from helpers.settings import (
    check_env_var_name,
    check_guid,
    check_prefix,
    check_tenant,
    check_vault_url,
    load_settings,
    settings_from_mapping,
)

VAULT = "https://kv-name.vault.azure.net/"
TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "12345678-90ab-cdef-1234-567890abcdef"
SECRET = "abc8Q~SuperSecretValue"


def _env(**extra: Any) -> dict[str, Any]:
    return {
        "AIRFLOW__SECRETS__BACKEND": BACKEND_CLASS,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({"vault_url": VAULT}),
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT,
        "AZURE_CLIENT_SECRET": "x" * 40,
        **extra,
    }


RUN: dict[str, Callable[[Any], list[Finding]]] = {
    "url": lambda v: check_vault_url(v)[1],
    "guid": lambda v: check_guid(v)[1],
    "tenant": lambda v: check_tenant(v)[1],
    "env_name": lambda v: check_env_var_name(v)[1],
    "prefix": lambda v: check_prefix(v)[1],
    "mapping": lambda v: settings_from_mapping(v)[1],
    "kwargs": lambda v: lint_backend_kwargs(v)[1],
    "environ": lint_environment,
    "settings_env": lambda v: settings_from_environment(v)[1],
    "cfg": lint_airflow_cfg,
    "settings_cfg": lambda v: settings_from_airflow_cfg(v)[1],
    "adf": lint_adf_export,
    "helm": lint_helm_values,
    "compose": lint_compose,
    "versions": lambda v: lint_versions(*v),
    "file": lambda v: load_settings(v)[1],
    "lint_file": lint_file,
}

C = pytest.param
CORPUS = [
    # -- vault URLs ------------------------------------------------------------------------
    C("url", "", "AKV-SET-001", id="url-empty"),
    C("url", None, "AKV-SET-001", id="url-none"),
    C("url", "   \t", "AKV-SET-001", id="url-whitespace-only"),
    C("url", "http://kv-name.vault.azure.net/", "AKV-SET-002", id="url-http"),
    C("url", "ftp://kv-name.vault.azure.net", "AKV-SET-002", id="url-ftp"),
    C("url", "kv-name.vault.azure.net", "AKV-SET-002", id="url-no-scheme"),
    C("url", "kv-name", "AKV-SET-002", id="url-bare-name"),
    C("url", "https://[::1", "AKV-SET-002", id="url-unparseable"),
    C("url", "https://", "AKV-SET-003", id="url-no-host"),
    C("url", "https://kv-name.vault.azure.com/", "AKV-SET-003", id="url-wrong-suffix"),
    C("url", "https://kv-name.vault.azure.net.evil.example/", "AKV-SET-003", id="url-lookalike"),
    C("url", "https://kv-name.managedhsm.azure.net/", "AKV-SET-003", id="url-managed-hsm"),
    C("url", "https://kv.vault.azure.net", "AKV-SET-004", id="url-name-too-short"),
    C("url", "https://" + "a" * 25 + ".vault.azure.net", "AKV-SET-004", id="url-name-too-long"),
    C("url", "https://kv_name.vault.azure.net", "AKV-SET-004", id="url-name-underscore"),
    C("url", "https://kv--name.vault.azure.net", "AKV-SET-004", id="url-name-double-hyphen"),
    C("url", "https://9kv-name.vault.azure.net", "AKV-SET-004", id="url-name-leading-digit"),
    C("url", "https://ключ-хранилище.vault.azure.net", "AKV-SET-004", id="url-name-unicode"),
    C("url", "https://my.kv.vault.azure.net", "AKV-SET-004", id="url-name-with-dot"),
    C("url", VAULT + "secrets/foo/0a1b", "AKV-SET-005", id="url-secret-identifier"),
    C("url", "https://kv-name.vault.azure.net:8443/", "AKV-SET-005", id="url-port"),
    C("url", "https://user:pw@kv-name.vault.azure.net/", "AKV-SET-005", id="url-userinfo"),
    C("url", VAULT + "?api-version=7.4", "AKV-SET-005", id="url-query"),
    C("url", f" {VAULT}\n", "AKV-SET-006", id="url-surrounding-whitespace"),
    C("url", "<your keyvault uri>", "AKV-SET-023", id="url-doc-placeholder"),
    C("url", 42, "AKV-SET-020", id="url-int"),
    C("url", VAULT.encode(), "AKV-SET-020", id="url-bytes"),
    # -- GUIDs and tenants -----------------------------------------------------------------
    C("guid", CLIENT[:-1], "AKV-SET-008", id="guid-short"),
    C("guid", CLIENT.replace("-", "_"), "AKV-SET-008", id="guid-underscores"),
    C("guid", "{" + CLIENT + "}", "AKV-SET-008", id="guid-braces"),
    C("guid", "g" + CLIENT[1:], "AKV-SET-008", id="guid-non-hex"),
    C("guid", "１" + CLIENT[1:], "AKV-SET-008", id="guid-fullwidth-digit"),
    C("guid", "my-airflow-app", "AKV-SET-008", id="guid-display-name"),
    C("guid", "00000000-0000-0000-0000-000000000000", "AKV-SET-023", id="guid-nil"),
    C("guid", "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", "AKV-SET-023", id="guid-xxx"),
    C("guid", f"{CLIENT} ", "AKV-SET-006", id="guid-trailing-space"),
    C("guid", 12345, "AKV-SET-020", id="guid-int"),
    C("tenant", "common", "AKV-SET-007", id="tenant-common"),
    C("tenant", "contoso", "AKV-SET-007", id="tenant-single-label"),
    C("tenant", "contoso..com", "AKV-SET-007", id="tenant-empty-label"),
    C("tenant", "-contoso.com", "AKV-SET-007", id="tenant-leading-hyphen"),
    C("tenant", "contoso.onmicrosoft.com.", "AKV-SET-007", id="tenant-trailing-dot"),
    C("tenant", "<Tenant Id>", "AKV-SET-023", id="tenant-doc-placeholder"),
    C("tenant", ["a"], "AKV-SET-020", id="tenant-list"),
    # -- the client secret reference -------------------------------------------------------
    C("env_name", "AZURE-CLIENT-SECRET", "AKV-SET-011", id="envname-hyphens"),
    C("env_name", "1SECRET", "AKV-SET-011", id="envname-leading-digit"),
    C("env_name", "AZURE CLIENT SECRET", "AKV-SET-011", id="envname-spaces"),
    C("env_name", "ÄZURE_SECRET", "AKV-SET-011", id="envname-unicode"),
    C("env_name", "", "AKV-SET-011", id="envname-empty"),
    C("env_name", SECRET, "AKV-SET-010", id="envname-tilde-secret"),
    C("env_name", "Zx9kQ2mN8vB4cX7lP1oI5uY3tR6eW0qAsDfGhJkL", "AKV-SET-010", id="envname-random"),
    # -- prefixes --------------------------------------------------------------------------
    C("prefix", "airflow.variables", "AKV-SET-013", id="prefix-dot"),
    C("prefix", "airflow/variables", "AKV-SET-013", id="prefix-slash"),
    C("prefix", "p" * 128, "AKV-SET-013", id="prefix-128-chars"),
    C("prefix", "null", "AKV-SET-013", id="prefix-string-null"),
    C("prefix", "vär", "AKV-SET-013", id="prefix-unicode"),
    C("prefix", 5, "AKV-SET-020", id="prefix-int"),
    C("prefix", "airflow-variables-", "AKV-SET-014", id="prefix-trailing-sep"),
    C("prefix", "", "AKV-SET-015", id="prefix-empty"),
    # -- settings mappings -----------------------------------------------------------------
    C("mapping", ["not", "a", "mapping"], "AKV-SET-024", id="mapping-list"),
    C("mapping", "vault_url: x", "AKV-SET-024", id="mapping-string"),
    C("mapping", {"vault_url": VAULT, "sep": "."}, "AKV-SET-016", id="mapping-sep-dot"),
    C("mapping", {"vault_url": VAULT, "sep": None}, "AKV-SET-020", id="mapping-sep-none"),
    C("mapping", {"target": "k8s"}, "AKV-SET-017", id="mapping-unknown-target"),
    C("mapping", {"credential": 7}, "AKV-SET-018", id="mapping-credential-int"),
    C("mapping", {"vualt_url": VAULT}, "AKV-SET-019", id="mapping-typo-key"),
    C("mapping", {1: "x"}, "AKV-SET-019", id="mapping-non-string-key"),
    C("mapping", {"variables": [1, 2]}, "AKV-SET-020", id="mapping-variables-ints"),
    C("mapping", {"variables": {"a": 1}}, "AKV-SET-020", id="mapping-variables-dict"),
    C("mapping", {"airflow_version": 3.1}, "AKV-SET-020", id="mapping-version-float"),
    C("mapping", {"retry_total": "many"}, "AKV-SET-020", id="mapping-retry-word"),
    C("mapping", {"use_cache": "maybe"}, "AKV-SET-020", id="mapping-use-cache-word"),
    C("mapping", {"provider_version": "fifteen"}, "AKV-SET-021", id="mapping-version-word"),
    C("mapping", {"variables": "a,,b"}, "AKV-SET-022", id="mapping-empty-probe-id"),
    C("mapping", {"client_secret": SECRET}, "AKV-SET-012", id="mapping-secret-value"),
    C("mapping", {"client_id": None, "tenant_id": None}, "AKV-SET-009", id="mapping-ids-none"),
    # -- backend_kwargs JSON ---------------------------------------------------------------
    C("kwargs", "{“vault_url”: “" + VAULT + "”}", "AKV-CFG-002", id="json-curly-double"),
    C("kwargs", "{‘vault_url’: ‘" + VAULT + "’}", "AKV-CFG-002", id="json-curly-single"),
    C("kwargs", "{„vault_url“: „" + VAULT + "“}", "AKV-CFG-002", id="json-low-quotes"),
    C("kwargs", "{'vault_url': '" + VAULT + "'}", "AKV-CFG-003", id="json-single-quotes"),
    C(
        "kwargs",
        '{"vault_url": "' + VAULT + '", "config_prefix": None}',
        "AKV-CFG-003",
        id="json-python-none",
    ),
    C("kwargs", '{"vault_url": "' + VAULT + '",}', "AKV-CFG-004", id="json-trailing-comma"),
    C("kwargs", '{"vault_url": "' + VAULT + '",\n\n}', "AKV-CFG-004", id="json-comma-newline"),
    C(
        "kwargs",
        '{"a": [1, 2,], "vault_url": "' + VAULT + '"}',
        "AKV-CFG-004",
        id="json-comma-in-list",
    ),
    C("kwargs", '["vault_url"]', "AKV-CFG-005", id="json-list"),
    C("kwargs", "12", "AKV-CFG-005", id="json-number"),
    C("kwargs", 12, "AKV-CFG-005", id="json-not-text"),
    C("kwargs", '{"vault_url": "' + VAULT + '"} // prod', "AKV-CFG-001", id="json-comment"),
    C("kwargs", "{vault_url: 1}", "AKV-CFG-001", id="json-unquoted-key"),
    C("kwargs", "{", "AKV-CFG-001", id="json-truncated"),
    C("kwargs", "\ufeff{}", "AKV-CFG-001", id="json-bom"),
    C("kwargs", "[" * 100_000, "AKV-CFG-001", id="json-deeply-nested"),
    C(
        "kwargs",
        json.dumps(json.dumps({"vault_url": VAULT})),
        "AKV-CFG-019",
        id="json-double-encoded",
    ),
    C(
        "kwargs",
        "'" + json.dumps({"vault_url": VAULT}) + "'",
        "AKV-CFG-019",
        id="json-wrapped-in-quotes",
    ),
    C(
        "kwargs",
        '{"vault_url": "' + VAULT + '", "vault_url": "x"}',
        "AKV-CFG-024",
        id="json-duplicate-key",
    ),
    C("kwargs", '{"vault_uri": "' + VAULT + '"}', "AKV-CFG-012", id="json-vault-uri-typo"),
    C(
        "kwargs",
        '{"vault_url": "' + VAULT + '", "retry_total": "3"}',
        "AKV-CFG-017",
        id="json-quoted-number",
    ),
    C("kwargs", '{"vault_url": "' + VAULT + '", "retry_total": NaN}', "AKV-SET-020", id="json-nan"),
    C("kwargs", '{"vault_url": null}', "AKV-SET-001", id="json-vault-null"),
    C("kwargs", '{"vault_url": 5}', "AKV-SET-020", id="json-vault-number"),
    C(
        "kwargs",
        '{"vault_url": "' + VAULT + '", "variables_prefix": ["a"]}',
        "AKV-SET-020",
        id="json-prefix-list",
    ),
    C("kwargs", '{"vault_url": "' + VAULT + '", "sep": "_"}', "AKV-SET-016", id="json-sep"),
    C(
        "kwargs",
        '{"vault_url": "' + VAULT + '", "client_secret": "' + SECRET + '"}',
        "AKV-CFG-009",
        id="json-client-secret",
    ),
    # -- environments ----------------------------------------------------------------------
    C(
        "environ",
        _env(AIRFLOW__SECRETS__BACKEND=OLD_BACKEND_CLASS),
        "AKV-CFG-006",
        id="env-old-module-path",
    ),
    C("environ", _env(AIRFLOW__SECRETS__BACKEND=" "), "AKV-CFG-007", id="env-backend-blank"),
    C("environ", _env(AZURE_CLIENT_SECRET=""), "AKV-SET-026", id="env-secret-empty"),
    C("environ", _env(AZURE_TENANT_ID="tenant id"), "AKV-SET-007", id="env-tenant-words"),
    C("environ", _env(AZURE_CLIENT_ID=f" {CLIENT}"), "AKV-SET-006", id="env-client-space"),
    C("environ", _env(AIRFLOW__SECRETS__BACKEND=5), "AKV-SET-020", id="env-value-int"),
    C("environ", "not a mapping", "AKV-SET-020", id="env-not-mapping"),
    C("settings_env", None, "AKV-SET-020", id="settings-env-none"),
    C(
        "settings_env",
        {"AIRFLOW__SECRETS__BACKEND_KWARGS": "{'a': 1,}"},
        "AKV-CFG-003",
        id="settings-env-python-kwargs",
    ),
    # -- files -----------------------------------------------------------------------------
    C("cfg", "[secrets\nbackend = x\n", "AKV-CFG-020", id="cfg-bad-header"),
    C("cfg", None, "AKV-CFG-020", id="cfg-none"),
    C("cfg", f"[secrets]\nbackend = '{BACKEND_CLASS}'\n", "AKV-CFG-019", id="cfg-quoted-path"),
    C("settings_cfg", 3.14, "AKV-SET-020", id="settings-cfg-float"),
    C("adf", "", "AKV-CFG-020", id="adf-empty"),
    C("adf", "[]", "AKV-CFG-020", id="adf-list"),
    C(
        "adf",
        '{"airflowProperties": {"environmentVariables": ["A=1"]}}',
        "AKV-SET-020",
        id="adf-env-as-list",
    ),
    C("helm", "env: {name: x}", "AKV-SET-020", id="helm-env-mapping"),
    C("helm", "key: [unclosed", "AKV-CFG-020", id="helm-bad-yaml"),
    C("helm", "- just\n- a list\n", "AKV-CFG-020", id="helm-list"),
    C("compose", "services: []", "AKV-CFG-020", id="compose-services-list"),
    C("compose", "services:\n  s:\n    environment: 5\n", "AKV-SET-020", id="compose-env-int"),
    # -- versions --------------------------------------------------------------------------
    C("versions", ("2.x", None), "AKV-SET-021", id="versions-word"),
    C("versions", (2.6, "10.0.0"), "AKV-SET-020", id="versions-float"),
    C("versions", ("2.6.3", "15.2.1"), "AKV-VER-001", id="versions-adf-cap"),
    C("file", None, "AKV-SET-024", id="settings-file-none"),
    C("file", "", "AKV-SET-024", id="settings-file-empty-path"),
    C("file", "/nonexistent/settings.yaml", "AKV-SET-024", id="settings-file-missing"),
    C("lint_file", None, "AKV-CFG-020", id="lint-file-none"),
    C("lint_file", "/nonexistent/airflow.cfg", "AKV-CFG-020", id="lint-file-missing"),
]


def test_the_corpus_is_large_enough():
    assert len(CORPUS) >= 60


@pytest.mark.parametrize("kind, value, code", CORPUS)
def test_malformed_input_reports_its_code_and_never_raises(kind: str, value: Any, code: str):
    findings = RUN[kind](value)
    assert code in [f.code for f in findings]
    # Every finding renders everywhere (text, HTML, JSON, JUnit) without error.
    render_text(findings)
    render_html(findings)
    json.loads(to_json(findings))
    to_junit({"corpus": findings})


# -- never raise on arbitrary input -------------------------------------------------------------
_ANY = hst.one_of(
    hst.none(),
    hst.integers(),
    hst.floats(allow_nan=True),
    hst.text(),
    hst.text(alphabet="{}[]\"'“”‘’,:;#/\\ \n\tabc-_.~0123456789<>"),
    hst.lists(hst.text(max_size=5), max_size=3),
    hst.dictionaries(hst.text(max_size=12), hst.one_of(hst.none(), hst.text(max_size=20))),
)


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=hst.sampled_from(sorted(set(RUN) - {"versions", "file", "lint_file"})), value=_ANY)
def test_no_input_makes_a_loader_or_linter_raise(kind: str, value: Any):
    findings = RUN[kind](value)
    assert all(isinstance(f, Finding) for f in findings)
    json.loads(to_json(findings))


# -- secrets never rendered -----------------------------------------------------------------------
def _rendered(findings: list[Finding]) -> str:
    return render_text(findings) + render_html(findings) + to_json(findings)


def test_client_secret_in_backend_kwargs_is_never_rendered():
    text = json.dumps(
        {"vault_url": VAULT, "tenant_id": TENANT, "client_id": CLIENT, "client_secret": SECRET}
    )
    findings = lint_backend_kwargs(text)[1]
    assert "AKV-CFG-009" in [f.code for f in findings]
    assert SECRET not in _rendered(findings)


def test_client_secret_in_the_environment_is_never_rendered():
    environ = _env(
        AZURE_CLIENT_SECRET=SECRET,
        AIRFLOW__SECRETS__BACKEND_KWARGS="{'client_secret': '" + SECRET + "', 'vault_url': 1}",
        AIRFLOW__SECRETS__BACKEND_KWARG__CLIENT_SECRET=SECRET,
    )
    findings = lint_environment(environ) + settings_from_environment(environ)[1]
    assert findings
    assert SECRET not in _rendered(findings)


@pytest.mark.parametrize(
    "misplaced",
    [
        {"AZURE_TENANT_ID": SECRET},
        {"AZURE_CLIENT_ID": SECRET},
        {"AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({"vault_url": SECRET})},
        {"AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({"vault_url": VAULT, "secret": SECRET})},
        {"AIRFLOW__SECRETS__BACKEND_KWARGS": "{“client_secret”: “" + SECRET + "”}"},
        {"AIRFLOW__SECRETS__BACKEND": SECRET},
    ],
)
def test_a_secret_pasted_into_the_wrong_place_is_never_rendered(misplaced: dict[str, str]):
    settings, findings = settings_from_environment(_env(**misplaced))
    findings += lint_environment(_env(**misplaced))
    assert findings
    assert SECRET not in _rendered(findings) + repr(settings)


def test_secret_in_settings_and_files_is_never_rendered():
    findings = settings_from_mapping({"client_secret": SECRET, "client_secret_env": SECRET})[1]
    findings += lint_helm_values(f"env:\n  - name: AZURE_CLIENT_SECRET\n    value: '{SECRET}'\n")
    findings += lint_compose(
        f"services:\n  s:\n    image: apache/airflow\n    environment:\n"
        f"      AZURE_CLIENT_SECRET: '{SECRET}'\n"
    )
    findings += lint_adf_export(json.dumps({"AZURE_CLIENT_SECRET": SECRET}))
    assert {"AKV-SET-012", "AKV-SET-010", "AKV-CFG-022"} <= {f.code for f in findings}
    assert SECRET not in _rendered(findings)
