"""The canary sweep (issue 11): a client-secret-shaped canary put in every field of a settings
file and of an inventory, run through ``check --settings``, ``check --inventory
--report-dir`` (text, ``--json``, ``--junit``) and the audit path (``--notebooks``): it never
appears, in any encoded form, in stdout, stderr or any file written."""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers.cli import main
from helpers.common.leaks import scan_for_secrets
from helpers.common.redact import fingerprint
from tests.conftest import vault_url

CANARY = f"canary-{secrets.token_hex(4)}~Q{secrets.token_urlsafe(12)}"

SETTINGS_FIELDS = (
    "name",
    "vault_url",
    "tenant_id",
    "client_id",
    "credential",
    "client_secret_env",
    "managed_identity_client_id",
    "connections_prefix",
    "variables_prefix",
    "config_prefix",
    "sep",
    "target",
    "airflow_version",
    "provider_version",
    "variables",
    "connections",
    "retry_total",
    "workload_identity_tenant_id",
    "python_version",
    "use_cache",
    "client_secret_set",
    "client_secret",  # not a field: the secret itself, pasted in
    "unknown-key",  # the canary as an unknown key
    "unknown-value",  # the canary as the value of an unknown key
)
LIST_FIELDS = ("variables", "connections")
KWARGS_KEYS = (
    "vault_url",
    "client_secret",
    "tenant_id",
    "client_id",
    "connections_prefix",
    "variables_prefix",
    "config_prefix",
    "sep",
    "unknown-kwarg-key",
    "unknown-kwarg-value",
)
# Unknown keys are warnings (AKV-SET-019, AKV-CFG-013): shown as fingerprints, the run passes.
WARNINGS_ONLY = {
    "unknown-key",
    "unknown-value",
    "defaults.unknown-key",
    "backend_kwargs.unknown-kwarg-key",
    "backend_kwargs.unknown-kwarg-value",
    "backend_kwargs.client_secret",  # AKV-CFG-009: a warning; Airflow signs in with AZURE_*
}
INVENTORY_FIELDS = (
    *(f for f in SETTINGS_FIELDS if f != "client_secret_set"),
    "timeout",
    "subscription_id",
    "through_backend",
    *(f"backend_kwargs.{key}" for key in KWARGS_KEYS),
    "defaults.client_id",
    "defaults.unknown-key",
    "top.unknown-key",
    "top.version",
)


def with_canary(base: dict[str, Any], where: str) -> dict[str, Any]:
    data = dict(base)
    if where == "unknown-key":
        data[CANARY] = "x"
    elif where == "unknown-value":
        data["notes_for_ops"] = CANARY
    elif where in LIST_FIELDS:
        data[where] = [CANARY]
    elif where.startswith("backend_kwargs."):
        key = where.split(".", 1)[1]
        kwargs = {"vault_url": data["vault_url"]}
        if key == "unknown-kwarg-key":
            kwargs[CANARY] = "x"
        elif key == "unknown-kwarg-value":
            kwargs["retry_mode"] = CANARY
        else:
            kwargs[key] = CANARY
        data["backend_kwargs"] = json.dumps(kwargs)
    else:
        data[where] = CANARY
    return data


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_info:
            code = exit_info.code if isinstance(exit_info.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def assert_no_canary(tmp_path: Path, out: str, err: str, *, inputs: tuple[Path, ...]) -> None:
    streams = tmp_path / "streams"
    streams.mkdir(exist_ok=True)
    (streams / "stdout").write_text(out, encoding="utf-8")
    (streams / "stderr").write_text(err, encoding="utf-8")
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p not in inputs]
    leaks = scan_for_secrets(written, [CANARY])
    assert not leaks, [str(leak) for leak in leaks]
    for path in written:  # and plainly, as bytes
        assert CANARY.encode() not in path.read_bytes(), path


@pytest.fixture
def sandbox_settings(akv_sandbox) -> dict[str, Any]:
    return {
        "vault_url": vault_url(),
        "tenant_id": os.environ["AZURE_TENANT_ID"],
        "client_id": os.environ["AZURE_CLIENT_ID"],
    }


def test_the_canary_looks_like_a_client_secret_and_its_fingerprint_does_not_hold_it():
    from helpers.settings import looks_like_secret

    assert looks_like_secret(CANARY)
    assert CANARY not in fingerprint(CANARY)


@pytest.mark.parametrize("where", SETTINGS_FIELDS)
def test_a_canary_in_a_settings_field_is_never_shown(where, tmp_path, sandbox_settings, chdir):
    settings = tmp_path / "settings.yaml"
    settings.write_text(yaml.safe_dump(with_canary(sandbox_settings, where)), encoding="utf-8")
    junit = tmp_path / "out" / "junit.xml"
    junit.parent.mkdir()
    code, out, err = run(["check", "--settings", str(settings), "--junit", str(junit)])
    code_json, out_json, err_json = run(["check", "--settings", str(settings), "--json"])
    json.loads(out_json)
    assert_no_canary(tmp_path, out + out_json, err + err_json, inputs=(settings,))
    assert code == code_json
    assert junit.exists()


@pytest.mark.parametrize("where", INVENTORY_FIELDS)
def test_a_canary_in_an_inventory_field_is_never_shown(where, tmp_path, sandbox_settings, chdir):
    env = {"name": "env-a", **sandbox_settings}
    top: dict[str, Any] = {"version": 1}
    if where.startswith("defaults."):
        top["defaults"] = with_canary({"vault_url": ""}, where.split(".", 1)[1])
        top["defaults"].pop("vault_url")
        env.pop(where.split(".", 1)[1], None)  # else the environment's own value wins
    elif where.startswith("top."):
        top = with_canary({"version": 1, "vault_url": ""}, where.split(".", 1)[1])
        top.pop("vault_url")
        if where == "top.unknown-key":
            top["version"] = 1
    else:
        env = with_canary(env, where)
    top["environments"] = [env]
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(yaml.safe_dump(top), encoding="utf-8")
    report, junit = tmp_path / "report", tmp_path / "junit.xml"
    argv = ["check", "--inventory", str(inventory), "--env-timeout", "30"]
    code, out, err = run([*argv, "--report-dir", str(report), "--junit", str(junit)])
    code_json, out_json, err_json = run([*argv, "--json", "--report-dir", str(tmp_path / "r2")])
    json.loads(out_json)
    assert_no_canary(tmp_path, out + out_json, err + err_json, inputs=(inventory,))
    assert code == code_json
    if where not in WARNINGS_ONLY:
        assert code != 0, out  # the canary is an error finding that fails the run


def test_canaries_through_the_audit_path_are_never_shown(tmp_path, sandbox_settings, chdir):
    """--notebooks: the check notebook executed per environment; two environments with the
    canary in many fields between them."""
    first = {
        **sandbox_settings,
        "name": CANARY,
        "subscription_id": CANARY,
        "variables": [CANARY],
        CANARY: "x",
    }
    second = {
        **sandbox_settings,
        "name": "env-b",
        "client_id": CANARY,
        "connections_prefix": CANARY,
        "backend_kwargs": json.dumps({"vault_url": sandbox_settings["vault_url"], "sep": CANARY}),
        "notes_for_ops": CANARY,
    }
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        yaml.safe_dump({"version": 1, "environments": [first, second]}), encoding="utf-8"
    )
    report, junit = tmp_path / "report", tmp_path / "junit.xml"
    code, out, err = run(
        [
            "check",
            "--inventory",
            str(inventory),
            "--notebooks",
            "--workers",
            "2",
            "--report-dir",
            str(report),
            "--junit",
            str(junit),
            "--json",
        ]
    )
    json.loads(out)
    assert code != 0
    assert any(report.rglob("*.ipynb")), sorted(p.name for p in report.rglob("*"))
    assert_no_canary(tmp_path, out, err, inputs=(inventory,))


@pytest.fixture
def chdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


FLAGS = (
    "--vault-url",
    "--tenant-id",
    "--client-id",
    "--client-secret-env",
    "--variable",
    "--connection",
)


@pytest.mark.parametrize("flag", FLAGS)
def test_a_canary_in_a_command_line_flag_is_never_shown(flag, tmp_path, akv_sandbox, chdir):
    junit = tmp_path / "junit.xml"
    code, out, err = run(["check", flag, CANARY, "--junit", str(junit)])
    code_json, out_json, err_json = run(["check", flag, CANARY, "--json"])
    json.loads(out_json)
    _, out_render, err_render = run(["config", "render", flag, CANARY, "--json"])
    json.loads(out_render)
    _, out_names, err_names = run(["names", "variable", "v", flag, CANARY])
    assert_no_canary(
        tmp_path,
        out + out_json + out_render + out_names,
        err + err_json + err_render + err_names,
        inputs=(),
    )
    assert code != 0 and code_json != 0


def test_a_canary_as_the_grant_subscription_id_is_never_shown(tmp_path, akv_sandbox, chdir):
    code, out, err = run(["grant", "--subscription-id", CANARY, "--json"])
    json.loads(out)
    _, out_text, err_text = run(["grant", "--subscription-id", CANARY])
    assert_no_canary(tmp_path, out + out_text, err + err_text, inputs=())
    assert code != 0


KWARGS_WITH_CANARY = [
    {"vault_url": vault_url(), key: CANARY} for key in KWARGS_KEYS if "unknown" not in key
] + [{"vault_url": vault_url(), CANARY: "x"}, {"vault_url": vault_url(), "retry_mode": CANARY}]
BACKEND = "airflow.providers.microsoft.azure.secrets.key_vault.AzureKeyVaultBackend"


def lint_documents(kwargs: dict[str, Any]) -> dict[str, str]:
    text = json.dumps(kwargs)
    env = {
        "AIRFLOW__SECRETS__BACKEND": BACKEND,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": text,
        "AZURE_CLIENT_ID": CANARY,
        CANARY: "x",
    }
    return {
        "airflow.cfg": f"[secrets]\nbackend = {BACKEND}\nbackend_kwargs = {text}\n"
        f"{CANARY} = x\n[{CANARY}]\nx = 1\n",
        ".env": "".join(f"{k}={v}\n" for k, v in env.items()),
        "values.yaml": yaml.safe_dump({"env": [{"name": k, "value": v} for k, v in env.items()]}),
        "docker-compose.yaml": yaml.safe_dump({"services": {"web": {"environment": env}}}),
        "adf.json": json.dumps(
            {"properties": {"airflowProperties": {"airflowConfigurationOverrides": env}}}
        ),
    }


@pytest.mark.parametrize("index", range(len(KWARGS_WITH_CANARY)))
def test_a_canary_in_a_linted_configuration_is_never_shown(index, tmp_path, chdir):
    inputs = []
    for name, text in lint_documents(KWARGS_WITH_CANARY[index]).items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        inputs.append(path)
    code, out, err = run(["config", "lint", *map(str, inputs)])
    code_json, out_json, err_json = run(["config", "lint", "--json", *map(str, inputs)])
    json.loads(out_json)
    assert_no_canary(tmp_path, out + out_json, err + err_json, inputs=tuple(inputs))
    assert code == code_json


@pytest.mark.parametrize(
    "name",
    [
        "fleet-016-expired-secret",
        "team-a-prod-westeurope-001",
        "airflow_variables_2024",
        "PythonVirtualenvOperator.cache_key",
    ],
)
def test_a_name_made_of_words_is_a_name_not_a_secret(name):
    """Names and ids are checked for secrets too; words joined by . _ - are a name."""
    from helpers.settings import looks_like_secret, settings_from_mapping

    settings, findings = settings_from_mapping({"name": name, "variables": [name]})
    assert not looks_like_secret(name)
    assert settings.name == name and settings.variables == [name]
    assert "AKV-SET-012" not in [f.code for f in findings]


@pytest.mark.parametrize("kind", ["variable", "connection", "config"])
def test_a_canary_as_a_names_id_is_never_shown(kind, tmp_path, chdir):
    code, out, err = run(["names", kind, "sample", CANARY])
    code_json, out_json, err_json = run(["names", kind, CANARY, "--json"])
    assert [m["airflow_id"] for m in json.loads(out_json)["mappings"]] == []
    assert_no_canary(tmp_path, out + out_json, err + err_json, inputs=())
    assert code == code_json == 1 and "sample" in out
