"""One answer everywhere: the settings, the renderer, the linter and the CLI share one table
of versions, one alias table per enum and one credential-kind mapping."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from helpers.backend_config import (
    env_from_kwargs,
    kind_from_env,
    kind_from_kwargs,
    kwargs_from_env,
    lint_versions,
    settings_from_backend_kwargs,
    settings_from_environment,
)
from helpers.backend_config.render import render
from helpers.cli import build_parser
from helpers.findings import resolve
from helpers.settings import (
    Credential,
    Settings,
    Target,
    accepted_names,
    parse_credential,
    parse_target,
    settings_from_mapping,
    validate_settings,
)

ROOT = Path(__file__).resolve().parents[1]
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "11111111-2222-3333-4444-555555555555"
VAULT = "https://airflow-sandbox-kv.vault.azure.net/"
FIT_CODES = {"AKV-VER-001", "AKV-VER-002"}


def seed(**overrides) -> Settings:
    values = {"vault_url": VAULT, "tenant_id": TENANT, "client_id": CLIENT, "retry_total": 3}
    return Settings(**(values | overrides))


def fit(findings) -> list[str]:
    return sorted(f.code for f in findings if f.code in FIT_CODES)


# -- provider x Airflow x Python: one verdict, one code ---------------------------------------
PROVIDERS = [
    "8.0.0",
    "10.0.0",
    "10.0.1",
    "10.3.0",
    "12.3.1",
    "12.5.0",
    "12.8.1",
    "12.9.0",
    "15.2.1",
]
AIRFLOWS = ["2.5.3", "2.6.3", "2.7.3", "2.9.3", "2.10.5", "2.11.0", "3.0.2", "3.3.2"]
PYTHONS = [None, "3.10", "3.12"]


@pytest.mark.parametrize(
    ("provider", "airflow", "python"), list(itertools.product(PROVIDERS, AIRFLOWS, PYTHONS))
)
def test_render_lint_and_settings_agree_on_provider_airflow_python(provider, airflow, python):
    versions = {"provider_version": provider, "airflow_version": airflow, "python_version": python}
    linted = fit(lint_versions(airflow, provider, python))
    rendered = fit(render(seed(**versions), Target.ENV).findings)
    validated = fit(validate_settings(seed(**versions)))
    assert rendered == linted == validated


def test_provider_12_5_on_airflow_2_9_3_is_AKV_VER_001_everywhere():
    versions = {"provider_version": "12.5.0", "airflow_version": "2.9.3"}
    assert "AKV-VER-001" in fit(lint_versions("2.9.3", "12.5.0"))
    assert fit(render(seed(**versions), Target.ENV).findings) == ["AKV-VER-001"]


def test_retired_render_codes_resolve_to_their_survivors():
    assert {
        old: resolve(old)
        for old in (
            "AKV-RENDER-001",
            "AKV-RENDER-003",
            "AKV-RENDER-004",
            "AKV-RENDER-005",
            "AKV-RENDER-011",
            "AKV-RENDER-014",
        )
    } == {
        "AKV-RENDER-001": "AKV-SET-001",
        "AKV-RENDER-003": "AKV-CFG-009",
        "AKV-RENDER-004": "AKV-CFG-015",
        "AKV-RENDER-005": "AKV-VER-001",
        "AKV-RENDER-011": "AKV-SET-021",
        "AKV-RENDER-014": "AKV-SET-017",
    }


def test_unknown_target_and_bad_version_have_the_settings_codes_in_render():
    assert [f.code for f in render(seed(), "kubernetes").findings] == ["AKV-SET-017"]
    assert "AKV-SET-017" in [f.code for f in settings_from_mapping({"target": "kubernetes"})[1]]
    bad = render(seed(airflow_version="two"), Target.ENV).findings
    assert [f.code for f in bad] == ["AKV-SET-021"]


# -- targets and credential kinds: one alias table each -----------------------------------------
@pytest.mark.parametrize("name", accepted_names(Target))
def test_settings_render_and_cli_accept_the_same_target_names(name):
    expected = parse_target(name)
    assert expected is not None
    settings, findings = settings_from_mapping(
        {"vault_url": VAULT, "tenant_id": TENANT, "client_id": CLIENT, "target": name}
    )
    assert "AKV-SET-017" not in [f.code for f in findings]
    assert settings.target is expected
    assert render(seed(), name).target is expected
    assert render(seed(target=name)).target is expected
    args = build_parser().parse_args(["config", "render", "--target", name])
    assert parse_target(args.target) is expected


def test_cli_rejects_a_target_settings_reject():
    assert parse_target("kubernetes") is None
    with pytest.raises(SystemExit):
        build_parser().parse_args(["config", "render", "--target", "kubernetes"])


@pytest.mark.parametrize("name", accepted_names(Credential))
def test_settings_render_and_cli_read_the_same_credential_kind(name):
    expected = parse_credential(name)
    assert expected is not None
    settings, findings = settings_from_mapping(
        {"vault_url": VAULT, "tenant_id": TENANT, "client_id": CLIENT, "credential": name}
    )
    assert "AKV-SET-018" not in [f.code for f in findings]
    assert settings.credential is expected
    # a hand-built Settings with the alias renders what validation reads
    rendered = render(seed(credential=name, managed_identity_client_id=CLIENT), Target.ENV)
    secret_rendered = "AZURE_CLIENT_SECRET" in rendered.env
    assert secret_rendered == (expected is Credential.CLIENT_SECRET)
    args = build_parser().parse_args(["config", "render", "--credential", name])
    assert parse_credential(args.credential) is expected


def test_msi_renders_a_managed_identity_not_a_client_secret():
    rendered = render(seed(credential="msi", tenant_id=""), Target.ENV)
    assert "AZURE_CLIENT_SECRET" not in rendered.env
    assert rendered.env.get("AZURE_CLIENT_ID") == CLIENT


# -- credential kind <-> backend_kwargs <-> environment ---------------------------------------
KWARGS = {
    Credential.CLIENT_SECRET: {"tenant_id": TENANT, "client_id": CLIENT, "client_secret": "s3"},
    Credential.MANAGED_IDENTITY: {"managed_identity_client_id": CLIENT},
    Credential.WORKLOAD_IDENTITY: {
        "managed_identity_client_id": CLIENT,
        "workload_identity_tenant_id": TENANT,
    },
}


@pytest.mark.parametrize("kind", list(Credential), ids=str)
def test_kwargs_kind_env_kwargs_round_trips(kind):
    kwargs = KWARGS[kind]
    assert kind_from_kwargs(kwargs) is kind
    env = env_from_kwargs(kwargs)
    assert kind_from_env(env) is kind
    assert kwargs_from_env(env) == kwargs


@pytest.mark.parametrize("kind", list(Credential), ids=str)
def test_settings_readers_use_the_same_kind(kind):
    kwargs = KWARGS[kind] | {"vault_url": VAULT}
    assert settings_from_backend_kwargs(kwargs)[0].credential is kind
    environ = env_from_kwargs(KWARGS[kind]) | {
        "AIRFLOW__SECRETS__BACKEND_KWARGS": f'{{"vault_url": "{VAULT}"}}'
    }
    assert settings_from_environment(environ)[0].credential is kind


@pytest.mark.parametrize("kind", ["managed_identity", "workload_identity"])
def test_render_the_probe_and_the_credential_use_the_same_identity(kind, tmp_path):
    from helpers.backend_config.identity import identity_of
    from helpers.probe.backend import backend_environ
    from helpers.vault.credentials import backend_credential

    client = "3c9e1f7a-2d4b-4a6c-8e0f-5b7d9f1a3c42"
    tenant = "5f0c6e2a-3b1d-4c8e-9a7f-0d2b4e6f8a10"
    s, _ = settings_from_mapping(
        {"vault_url": "https://kv.vault.azure.net/", "credential": kind, "client_id": client}
        | ({"tenant_id": tenant} if kind == "workload_identity" else {})
    )
    assert identity_of(s)[0] == client
    token = tmp_path / "token"  # read before any request since issue 12: it must exist
    token.write_text("header.payload.signature")
    env = {"AZURE_FEDERATED_TOKEN_FILE": str(token)}
    plan = backend_credential(s, env)
    assert client in plan.key
    assert backend_environ(s, env)["AZURE_CLIENT_ID"] == client
    rendered = render(s, "env").to_dict()
    assert client in str(rendered)
