"""What the renderer writes, the linter accepts, and real Airflow runs.

Round trip: every rendered target fed back into the matching ``backend_config.lint`` function
gives no findings, and the settings loaders read the rendering back into settings that render
the same backend_kwargs. Live: Airflow 3, started in a scratch AIRFLOW_HOME with nothing but the
rendered configuration (plus the sandbox's proxy and CA bundle, and the client secret filled
in by the test), reads ``sample-variable`` through the sandbox vault. The child process prints
only a fingerprint of the value.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import pytest
from azure.keyvault.secrets import SecretClient

from helpers import backend_config as config_lint
from helpers.backend_config import settings_from_airflow_cfg, settings_from_environment
from helpers.backend_config.render import Rendered, render, secret_placeholder
from helpers.backend_config.scratch_airflow import ScratchAirflow
from helpers.common.redact import fingerprint
from helpers.settings import (
    Credential,
    Settings,
    Target,
)
from tests.conftest import SAMPLE, vault_url

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "11111111-2222-3333-4444-555555555555"
VAULT = "https://airflow-sandbox-kv.vault.azure.net/"

# file rendered for a target -> the config_lint function that reads that kind of text
LINTERS = {
    "airflow.cfg": "lint_airflow_cfg",
    "airflow-properties.json": "lint_adf_export",
    "values.yaml": "lint_helm_values",
    "docker-compose.override.yml": "lint_compose",
    "env.sh": "",  # lint_file reads it as KEY=value lines
}
SETTINGS = {
    "client-secret": Settings(vault_url=VAULT, tenant_id=TENANT, client_id=CLIENT),
    "managed-identity": Settings(
        vault_url=VAULT,
        tenant_id=TENANT,
        credential=Credential.MANAGED_IDENTITY,
        managed_identity_client_id=CLIENT,
    ),
    "current-airflow": Settings(
        vault_url=VAULT,
        tenant_id=TENANT,
        client_id=CLIENT,
        airflow_version="3.3.2",
        provider_version="15.2.1",
    ),
    # [secrets] use_cache / cache_ttl_seconds rendered; [workers] stays unset
    "cached": Settings(
        vault_url=VAULT,
        tenant_id=TENANT,
        client_id=CLIENT,
        airflow_version="3.3.2",
        use_cache=True,
        cache_ttl_seconds=600,
    ),
}


def _problems(result) -> list:
    findings = result[1] if isinstance(result, tuple) else result
    return [f"{f.code} [{f.subject}] {f.detail}" for f in findings]


# -- round trip ----------------------------------------------------------------------------
@pytest.mark.parametrize("variant", list(SETTINGS))
@pytest.mark.parametrize("target", list(Target), ids=str)
def test_every_rendered_target_lints_clean(target, variant, tmp_path):
    rendered = render(SETTINGS[variant], target)
    assert rendered.files
    for name, text in rendered.files.items():
        if name in LINTERS:
            if LINTERS[name]:
                assert _problems(getattr(config_lint, LINTERS[name])(text)) == [], name
            path = tmp_path / name
            path.write_text(text, encoding="utf-8")
            assert _problems(config_lint.lint_file(path)) == [], f"lint_file {name}"
    if target is not Target.AIRFLOW_CFG:
        assert _problems(config_lint.lint_environment(rendered.env)) == []
    if "AIRFLOW__SECRETS__BACKEND_KWARGS" in rendered.env:
        kwargs_text = rendered.env["AIRFLOW__SECRETS__BACKEND_KWARGS"]
        parsed, findings = config_lint.lint_backend_kwargs(kwargs_text)
        assert parsed == rendered.backend_kwargs
        assert _problems(findings) == []


@pytest.mark.parametrize("variant", list(SETTINGS))
def test_settings_read_back_from_the_rendering_render_the_same_kwargs(variant):
    rendered = render(SETTINGS[variant], Target.ENV)
    from_env, findings = settings_from_environment(rendered.env)
    assert findings == []
    assert render(from_env, Target.ENV).backend_kwargs == rendered.backend_kwargs
    cfg = render(SETTINGS[variant], Target.AIRFLOW_CFG).files["airflow.cfg"]
    from_cfg, findings = settings_from_airflow_cfg(cfg)
    assert findings == []
    asked = (SETTINGS[variant].use_cache, SETTINGS[variant].cache_ttl_seconds)
    assert (from_env.use_cache, from_env.cache_ttl_seconds) == asked
    assert (from_cfg.use_cache, from_cfg.cache_ttl_seconds) == asked
    assert from_cfg.vault_url == rendered.backend_kwargs["vault_url"]
    assert (from_cfg.variables_prefix, from_cfg.connections_prefix, from_cfg.config_prefix) == (
        "airflow-variables",
        "airflow-connections",
        None,
    )


# -- live: real Airflow, rendered configuration only ---------------------------------------
READ_SAMPLE = """
import json
from airflow.sdk import Variable
from helpers.common.redact import fingerprint
print("AKV_RENDER_RESULT " + json.dumps({"fingerprint": fingerprint(Variable.get(%r))}))
"""


@pytest.fixture
def sandbox_env(akv_sandbox) -> dict[str, str]:
    return akv_sandbox.environment()


@pytest.fixture
def expected(akv_sandbox, backend_credential) -> str:
    return fingerprint(SecretClient(vault_url(), backend_credential).get_secret(SAMPLE).value)


def _settings(sandbox_env: dict[str, str], **overrides) -> Settings:
    values = {
        "vault_url": sandbox_env["AZURE_KEYVAULT_URL"],
        "tenant_id": sandbox_env["AZURE_TENANT_ID"],
        "client_id": sandbox_env["AZURE_CLIENT_ID"],
    }
    return Settings(**{**values, **overrides})


def _base_env(sandbox_env: dict[str, str], **secret: str) -> dict[str, str]:
    """The test's environment without any AZURE_* variable, plus the sandbox's proxy and CA
    bundle, plus the named secret variable: everything else must come from the rendering."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "AIRFLOW_"))}
    env.update({k: v for k, v in sandbox_env.items() if not k.startswith("AZURE_")})
    env.update(secret)
    return env


def _filled(rendered: Rendered, secret_env: str, secret: str) -> dict[str, str]:
    placeholder = secret_placeholder(secret_env)
    return {k: secret if v == placeholder else v for k, v in rendered.env.items()}


def _read_sample(airflow: ScratchAirflow, *prefix: str) -> dict:
    code = READ_SAMPLE % "sample-variable"
    if prefix:
        command = f"{' '.join(prefix)} && exec {shlex.quote(sys.executable)} -c {shlex.quote(code)}"
        result = airflow.run("bash", "-c", command, timeout=180)
    else:
        result = airflow.python(code, timeout=180)
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("AKV_RENDER_RESULT ")]
    assert result.returncode == 0 and lines, (result.stdout + result.stderr)[-3000:]
    return {"result": json.loads(lines[-1].removeprefix("AKV_RENDER_RESULT ")), "proc": result}


def _assert_no_secret_in(output: str, akv_sandbox, *extra: str) -> None:
    for value in [*akv_sandbox.secret_values(), *extra]:
        assert value not in output


def test_airflow_started_with_the_rendered_env_reads_sample_variable(
    akv_sandbox, sandbox_env, expected, tmp_path
):
    secret = sandbox_env["AZURE_CLIENT_SECRET"]
    rendered = render(_settings(sandbox_env), Target.ENV)
    assert rendered.env["AZURE_CLIENT_SECRET"] == secret_placeholder()
    airflow = ScratchAirflow.create(
        tmp_path / "home",
        _filled(rendered, "AZURE_CLIENT_SECRET", secret),
        base_env=_base_env(sandbox_env),
    )
    read = _read_sample(airflow)
    assert read["result"]["fingerprint"] == expected
    _assert_no_secret_in(read["proc"].stdout + read["proc"].stderr, akv_sandbox, secret)


@pytest.mark.slow
def test_airflow_started_by_sourcing_the_rendered_env_sh_reads_sample_variable(
    akv_sandbox, sandbox_env, expected, tmp_path
):
    secret = sandbox_env["AZURE_CLIENT_SECRET"]
    rendered = render(_settings(sandbox_env, client_secret_env="AKV_SPN_SECRET"), Target.ENV)
    home = tmp_path / "home"
    home.mkdir()
    (home / "env.sh").write_text(rendered.files["env.sh"], encoding="utf-8")
    airflow = ScratchAirflow.create(
        home, {}, base_env=_base_env(sandbox_env, AKV_SPN_SECRET=secret)
    )
    read = _read_sample(airflow, ". ./env.sh")
    assert read["result"]["fingerprint"] == expected


@pytest.mark.slow
def test_airflow_cfg_section_and_env_sh_read_sample_variable(
    akv_sandbox, sandbox_env, expected, tmp_path
):
    secret = sandbox_env["AZURE_CLIENT_SECRET"]
    rendered = render(_settings(sandbox_env), Target.AIRFLOW_CFG)
    home = tmp_path / "home"
    home.mkdir()
    for name, text in rendered.files.items():
        Path(home / name).write_text(text, encoding="utf-8")
    airflow = ScratchAirflow.create(
        home, {}, base_env=_base_env(sandbox_env, AZURE_CLIENT_SECRET=secret)
    )
    read = _read_sample(airflow, ". ./env.sh")
    assert read["result"]["fingerprint"] == expected


@pytest.mark.slow
def test_client_secret_in_kwargs_is_a_reference_airflow_expands(
    akv_sandbox, sandbox_env, expected, tmp_path
):
    """No AZURE_* variable at all: only ClientSecretCredential built from backend_kwargs, whose
    client_secret is "${AKV_SPN_SECRET}", can authenticate, so Airflow must expand it."""
    secret = sandbox_env["AZURE_CLIENT_SECRET"]
    rendered = render(
        _settings(sandbox_env, client_secret_env="AKV_SPN_SECRET"),
        Target.ENV,
        include_client_secret=True,
    )
    assert secret not in rendered.env["AIRFLOW__SECRETS__BACKEND_KWARGS"]
    assert not any(k.startswith("AZURE_") for k in rendered.env)
    airflow = ScratchAirflow.create(
        tmp_path / "home",
        _filled(rendered, "AKV_SPN_SECRET", secret),
        base_env=_base_env(sandbox_env),
    )
    read = _read_sample(airflow)
    assert read["result"]["fingerprint"] == expected
