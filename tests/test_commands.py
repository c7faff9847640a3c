"""The engine's CLI commands, end to end against the sandbox: arguments in, exit code out."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import pytest

from helpers.cli import main
from tests.conftest import VAULT, vault_url

BACKEND_OID = "9a1c3e5f-7b2d-4f6a-8c0e-2d4f6b8a0c53"


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_check_of_a_healthy_environment_exits_0_and_writes_junit(akv_sandbox, capsys, tmp_path):
    junit = tmp_path / "report.xml"
    code, out = run(capsys, "check", "--variable", "sample_variable", "--junit", str(junit))
    assert code == 0, out
    assert "AKV-SECRET-001" in out and BACKEND_OID in out
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0"
    for value in akv_sandbox.secret_values():
        assert value not in out and value not in junit.read_text()


def test_check_of_a_closed_firewall_exits_1_with_the_finding_as_json(akv_sandbox, capsys):
    akv_sandbox.client.set_firewall("closed")
    code, out = run(capsys, "check", "--no-backend", "--json")
    assert code == 1
    payload = json.loads(out)
    assert payload["exit_code"] == 1
    assert "AKV-PERM-003" in [f["code"] for f in payload["findings"]]


def test_check_with_a_missing_secret_variable_is_a_finding_not_a_traceback(akv_sandbox, capsys):
    code, out = run(capsys, "check", "--client-secret-env", "NOT_SET_ANYWHERE", "--no-backend")
    assert code == 1
    assert "NOT_SET_ANYWHERE" in out and "Traceback" not in out


def test_check_of_invalid_settings_stops_before_probing(capsys, tmp_path):
    settings = tmp_path / "s.yaml"
    settings.write_text("vault_url: http://kv.example.com\nclient_id: not-a-guid\n")
    code, out = run(capsys, "check", "--settings", str(settings))
    assert code == 1
    assert "AKV-SET-002" in out or "AKV-SET-003" in out
    assert "AKV-SET-008" in out


def test_config_render_prints_a_placeholder_never_the_secret(akv_sandbox, capsys):
    code, out = run(capsys, "config", "render", "--target", "env", "--vault-url", vault_url())
    assert code == 0, out
    assert "AIRFLOW__SECRETS__BACKEND_KWARGS" in out
    assert os.environ["AZURE_CLIENT_SECRET"] not in out


def test_config_render_json_backend_kwargs_are_valid_json(capsys):
    code, out = run(
        capsys,
        "config",
        "render",
        "--target",
        "helm",
        "--json",
        "--vault-url",
        vault_url(),
        "--tenant-id",
        "5f0c6e2a-3b1d-4c8e-9a7f-0d2b4e6f8a10",
        "--client-id",
        "3c9e1f7a-2d4b-4a6c-8e0f-5b7d9f1a3c42",
    )
    assert code == 0, out
    assert json.loads(out)["backend_kwargs"]["config_prefix"] is None


def test_config_lint_of_typographic_quotes_exits_1(capsys, tmp_path):
    cfg = tmp_path / "airflow.cfg"
    cfg.write_text(
        "[secrets]\nbackend = airflow.providers.microsoft.azure.secrets.key_vault."
        "AzureKeyVaultBackend\nbackend_kwargs = {“vault_url”: “https://kv.vault.azure.net/”}\n",
        encoding="utf-8",
    )
    code, out = run(capsys, "config", "lint", str(cfg))
    assert code == 1
    assert "AKV-CFG-002" in out


def test_config_lint_without_input_is_a_usage_error(capsys):
    assert main(["config", "lint"]) == 2


def test_names_show_the_seed_naming_rule(capsys):
    code, out = run(capsys, "names", "variable", "sample_var")
    assert code == 0
    assert "airflow-variables-sample-var" in out


def test_names_with_a_dot_exit_1_with_the_name_finding(capsys):
    code, out = run(capsys, "names", "variable", "PythonVirtualenvOperator.cache_key")
    assert code == 1
    assert "AKV-NAME-001" in out


def test_names_reverse_lists_the_vault_as_airflow_ids(akv_sandbox, capsys):
    code, out = run(capsys, "names", "reverse", "--vault-url", vault_url(), "--json")
    assert code == 0, out
    mapping = json.loads(out)
    assert "sample-variable" in json.dumps(mapping)


def test_grant_prints_every_form_with_the_object_id(akv_sandbox, capsys, monkeypatch):
    backend = akv_sandbox.client.env()
    monkeypatch.setenv("BACKEND_SECRET", backend["AZURE_CLIENT_SECRET"])
    akv_sandbox.apply_environment("admin")  # the operator identity
    code, out = run(
        capsys,
        "grant",
        "--vault-url",
        vault_url(),
        "--tenant-id",
        backend["AZURE_TENANT_ID"],
        "--client-id",
        backend["AZURE_CLIENT_ID"],
        "--client-secret-env",
        "BACKEND_SECRET",
        "--operator-env",
        "AZURE",  # the admin's AZURE_*, named explicitly as the operator
        "--perform",
        "--wait",
        "10",
    )
    assert code == 0, out
    for form in ("az", "powershell", "bicep", "terraform"):
        assert f"# ---- {form} ----" in out
    assert BACKEND_OID in out and f"vaults/{VAULT}" in out
    # the scenario already grants Key Vault Secrets User: the grant is a no-op (issue 10)
    assert "AKV-RUN-011" in out


@pytest.mark.parametrize("code", ["AKV-PERM-001", "akv-cfg-002"])
def test_findings_explains_a_code(capsys, code):
    rc, out = run(capsys, "findings", code)
    assert rc == 0 and "Fix:" in out


def test_findings_unknown_code_is_a_usage_error(capsys):
    assert main(["findings", "AKV-NOPE-999"]) == 2
