"""The runbook end to end for each credential kind (issue 12, part 5): `check --settings`,
`check --inventory` and plain-environment `check` in the environment `sandbox env --credential
KIND` gives; `grant` to a managed identity and to a workload identity (grantee = the object id
the sign-in reveals); `config render` and `config lint` for workload identity on Helm; and each
kind's failure modes as findings, against the session sandbox."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
import yaml

from helpers.backend_config import lint_helm_values
from helpers.backend_config.render import render
from helpers.cli import main
from helpers.common.facts import SANDBOX_STATE_VAR
from helpers.findings.codes.auth import (
    FEDERATED_MISMATCH,
    FEDERATED_TOKEN_FILE_UNREADABLE,
    MANAGED_IDENTITY_NOT_FOUND,
    MANAGED_IDENTITY_UNREACHABLE,
)
from helpers.findings.codes.cfg import WI_ANNOTATION_MISSING, WI_LABEL_MISSING
from helpers.findings.codes.perm import FORBIDDEN_BY_RBAC
from helpers.probe import probe
from helpers.sandbox import Sandbox
from helpers.settings import Credential, Settings, Target
from helpers.vault.diagnose import diagnose
from tests.sandbox.conftest import vault_scope
from tests.test_probes import admin_auth_client

UAMI = UAMI_CLIENT = "7a3c5e9b-1d2f-4c6e-8b0a-9d1f3b5c7e28"
UAMI_OID = "e1f3a5c7-9b2d-4e6f-8a1c-3d5f7b9e1a39"
HOST_OID = "0a2c4e6b-8d1f-4a3c-9e5b-7f9b1d3a5c51"  # airflow-host, system-assigned, no role
WI_CLIENT = "4d7f2b9e-6a1c-4e3b-8f5d-7c9a1e3b5d86"
WI_OID = "c5e7a9b1-3d5f-4b7c-9e1a-5b7d9f1b3e97"
TENANT = "5f0c6e2a-3b1d-4c8e-9a7f-0d2b4e6f8a10"
UNKNOWN = "00000000-0000-4000-8000-000000000000"
VAULT = "https://airflow-sandbox-kv.vault.azure.net/"

KINDS = {
    "managed-identity": {
        "credential": "managed_identity",
        "managed_identity_client_id": UAMI_CLIENT,
    },
    "imds": {"credential": "managed_identity", "managed_identity_client_id": UAMI_CLIENT},
    "workload-identity": {
        "credential": "workload_identity",
        "client_id": WI_CLIENT,
        "workload_identity_tenant_id": TENANT,
    },
}
APPID = {"managed-identity": UAMI_CLIENT, "imds": UAMI_CLIENT, "workload-identity": WI_CLIENT}


def settings_file(tmp_path: Path, name: str, **fields) -> str:
    path = tmp_path / f"{name}.yaml"
    data = {"name": name, "vault_url": VAULT, "variables": ["sample-variable"], **fields}
    path.write_text(yaml.safe_dump(data))
    return str(path)


def run_json(capsys, *argv: str) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def codes(payload: dict) -> list[str]:
    return [f["code"] for f in payload["findings"]]


@pytest.fixture
def platform(akv_sandbox, monkeypatch):
    """Nothing of Airflow's configuration in the shell: what the platform sets is all."""
    for key in [k for k in os.environ if k.startswith("AIRFLOW__SECRETS__")]:
        monkeypatch.delenv(key)
    return akv_sandbox


# -- check, per kind -------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(KINDS))
def test_check_settings_signs_in_and_reads_for_each_kind(platform, capsys, tmp_path, kind):
    platform.apply_environment(credential=kind)
    path = settings_file(tmp_path, kind, **KINDS[kind])
    code, payload = run_json(capsys, "check", "--settings", path)
    assert code == 0, payload["findings"]
    assert payload["claims"]["appid"] == APPID[kind]
    assert "AKV-SECRET-001" in codes(payload)


@pytest.mark.parametrize("kind", list(KINDS))
def test_check_without_settings_takes_the_identity_the_platform_announces(platform, capsys, kind):
    platform.apply_environment(credential=kind)
    code, payload = run_json(capsys, "check", "--no-backend", "--variable", "sample-variable")
    assert code == 0, payload["findings"]
    assert payload["claims"]["appid"] == APPID[kind]


def test_check_inventory_covers_managed_and_workload_identity(platform, capsys, tmp_path):
    workload = platform.environment(credential="workload-identity")
    platform.apply_environment(credential="imds")
    os.environ["AZURE_FEDERATED_TOKEN_FILE"] = workload["AZURE_FEDERATED_TOKEN_FILE"]
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "defaults": {"vault_url": VAULT, "variables": ["sample-variable"]},
                "environments": [
                    {"name": "vm-uami", **KINDS["imds"]},
                    {"name": "aks-workload", **KINDS["workload-identity"]},
                    {"name": "vm-system", "credential": "managed_identity"},
                ],
            }
        )
    )
    code, payload = run_json(capsys, "check", "--inventory", str(inventory), "--no-progress")
    by_name = {e["name"]: e for e in payload["environments"]}
    assert by_name["vm-uami"]["status"] == "ok", by_name["vm-uami"]
    assert by_name["aks-workload"]["status"] == "ok", by_name["aks-workload"]
    system = [f for f in by_name["vm-system"]["findings"] if f["code"] == FORBIDDEN_BY_RBAC.code]
    assert system and HOST_OID in system[0]["detail"]  # the identity's object id is named
    assert code == 1


# -- grant: the grantee is the identity's object id ------------------------------------------
def revoke(sandbox: Sandbox, object_id: str) -> int:
    auth = admin_auth_client(sandbox)
    found = list(
        auth.role_assignments.list_for_scope(vault_scope(), filter=f"principalId eq '{object_id}'")
    )
    for assignment in found:
        auth.role_assignments.delete(assignment.scope, assignment.name)
    return len(found)


@pytest.mark.parametrize(
    ("kind", "fields", "object_id"),
    [
        ("managed-identity", {"credential": "managed_identity"}, HOST_OID),
        ("workload-identity", KINDS["workload-identity"], WI_OID),
    ],
    ids=["system-assigned-managed-identity", "workload-identity"],
)
def test_grant_to_an_identity_then_it_reads(
    platform, capsys, tmp_path, monkeypatch, kind, fields, object_id
):
    monkeypatch.setenv(SANDBOX_STATE_VAR, str(platform.state_dir))
    platform.client.call("POST", "/propagation-delay", {"seconds": 0})
    if object_id == WI_OID:
        assert revoke(platform, WI_OID) >= 1
    platform.apply_environment(credential=kind)
    path = settings_file(tmp_path, kind, **fields)
    code, before = run_json(capsys, "check", "--settings", path, "--no-backend")
    assert FORBIDDEN_BY_RBAC.code in codes(before) and code != 0
    code, payload = run_json(
        capsys, "grant", "--settings", path, "--operator", "sandbox-admin", "--perform"
    )
    assert payload["object_id"] == object_id
    assert code == 0, payload["findings"]
    assert {"AKV-ROLE-001", "AKV-ROLE-007"} <= set(codes(payload))
    code, after = run_json(capsys, "check", "--settings", path, "--no-backend")
    assert code == 0, after["findings"]


# -- render and lint --------------------------------------------------------------------------
def identity_settings(kind: str, target: Target) -> Settings:
    fields = dict(KINDS[kind])
    fields["credential"] = Credential(fields["credential"])
    return Settings(name=kind, vault_url=VAULT, target=target, **fields)


@pytest.mark.parametrize("target", list(Target))
@pytest.mark.parametrize("kind", ["managed-identity", "workload-identity"])
def test_render_names_the_identity_and_never_a_client_secret(kind, target):
    rendered = render(identity_settings(kind, target))
    text = "\n".join(rendered.files.values())
    assert "client_secret" not in text and "AZURE_CLIENT_SECRET" not in text
    assert APPID[kind] in text, text


def test_rendered_helm_values_for_workload_identity_carry_label_and_annotations():
    values_text = render(identity_settings("workload-identity", Target.HELM)).files["values.yaml"]
    values = yaml.safe_load(values_text)
    assert values["labels"] == {"azure.workload.identity/use": "true"}
    annotation = values["workers"]["serviceAccount"]["annotations"]
    assert annotation == {"azure.workload.identity/client-id": WI_CLIENT}
    kwargs = json.loads(values["config"]["secrets"]["backend_kwargs"])
    assert kwargs["workload_identity_tenant_id"] == TENANT
    assert lint_helm_values(values_text) == []


def _helm(drop_label=False, drop_annotation=False, label_value="true") -> str:
    values = yaml.safe_load(
        render(identity_settings("workload-identity", Target.HELM)).files["values.yaml"]
    )
    if drop_label:
        del values["labels"]
    else:
        values["labels"] = {"azure.workload.identity/use": label_value}
    if drop_annotation:
        del values["workers"]["serviceAccount"]
    return yaml.safe_dump(values)


@pytest.mark.parametrize(
    ("text", "expected", "subject"),
    [
        (_helm(drop_label=True), WI_LABEL_MISSING, "labels.azure.workload.identity/use"),
        (_helm(label_value=True), WI_LABEL_MISSING, "labels.azure.workload.identity/use"),
        (_helm(drop_annotation=True), WI_ANNOTATION_MISSING, "workers.serviceAccount.annotations"),
    ],
    ids=["label-missing", "label-a-boolean", "worker-annotation-missing"],
)
def test_helm_lint_reports_what_the_webhook_needs(text, expected, subject):
    found = [f for f in lint_helm_values(text) if f.code == expected.code]
    assert [f.subject for f in found] == [subject]
    assert "config render --target helm" in found[0].spec.fix


def test_helm_lint_is_silent_without_workload_identity():
    values = render(identity_settings("managed-identity", Target.HELM)).files["values.yaml"]
    assert lint_helm_values(values) == []


# -- failure modes ----------------------------------------------------------------------------
def wi_settings() -> Settings:
    return identity_settings("workload-identity", Target.ENV)


def test_federated_subject_mismatch_names_the_subject_and_issuer_it_saw(akv_sandbox, tmp_path):
    akv_sandbox.apply_environment(credential="workload-identity")
    token = akv_sandbox.client.call(
        "POST", "/service-account-token", {"namespace": "airflow", "service_account": "webserver"}
    )["token"]
    (tmp_path / "token").write_text(token)
    environ = {**os.environ, "AZURE_FEDERATED_TOKEN_FILE": str(tmp_path / "token")}
    result = probe(wi_settings(), environ=environ, check_roles=False, through_backend=False)
    (finding,) = [f for f in result.findings if f.code == FEDERATED_MISMATCH.code]
    assert "system:serviceaccount:airflow:webserver" in finding.detail
    assert finding.data["assertion_issuer"].startswith("https://")
    assert finding.data["assertion_issuer"] in finding.detail
    assert "federated-credential" in finding.spec.fix


@pytest.mark.parametrize("problem", ["missing", "directory", "empty"])
def test_unreadable_token_file_is_reported_before_any_request(akv_sandbox, tmp_path, problem):
    akv_sandbox.apply_environment(credential="workload-identity")
    path = tmp_path / "token"
    if problem == "directory":
        path.mkdir()
    elif problem == "empty":
        path.write_text("")
    environ = {**os.environ, "AZURE_FEDERATED_TOKEN_FILE": str(path)}
    result = probe(wi_settings(), environ=environ, check_roles=False, through_backend=False)
    (finding,) = [f for f in result.findings if f.code == FEDERATED_TOKEN_FILE_UNREADABLE.code]
    assert str(path) in finding.detail
    assert "token" not in result.latencies or result.latencies["token"] < 0.5


def test_airflow_backend_with_a_missing_token_file_is_diagnosed_the_same(akv_sandbox, tmp_path):
    from airflow.providers.microsoft.azure.secrets.key_vault import AzureKeyVaultBackend

    akv_sandbox.apply_environment(credential="workload-identity")
    os.environ["AZURE_FEDERATED_TOKEN_FILE"] = str(tmp_path / "absent")
    backend = AzureKeyVaultBackend(
        vault_url=VAULT, managed_identity_client_id=WI_CLIENT, workload_identity_tenant_id=TENANT
    )
    with pytest.raises(Exception) as caught:  # noqa: PT011 - what azure-identity raises
        backend.get_variable("sample-variable")
    finding = diagnose(caught.value, subject="backend")
    assert finding.code == FEDERATED_TOKEN_FILE_UNREADABLE.code, finding
    assert "azure-identity" in finding.detail


def test_wrong_managed_identity_client_id_from_check(platform, capsys, tmp_path):
    platform.apply_environment(credential="imds")
    path = settings_file(
        tmp_path, "wrong", credential="managed_identity", managed_identity_client_id=UNKNOWN
    )
    code, payload = run_json(capsys, "check", "--settings", path, "--no-backend")
    assert MANAGED_IDENTITY_NOT_FOUND.code in codes(payload) and code != 0


@pytest.fixture
def silent_listener():
    """A port that accepts connections and never answers (IMDS that hangs)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


@pytest.mark.parametrize("endpoint", ["refused", "silent"])
def test_unreachable_imds_is_reported_within_the_timeout(akv_sandbox, silent_listener, endpoint):
    akv_sandbox.apply_environment(credential="imds")
    with socket.socket() as probe_port:
        probe_port.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe_port.getsockname()[1]}"
    proxy = silent_listener if endpoint == "silent" else closed
    environ = {**os.environ, "HTTP_PROXY": proxy, "http_proxy": proxy}
    settings = identity_settings("imds", Target.ENV)
    started = time.perf_counter()
    result = probe(settings, environ=environ, timeout=1, check_roles=False, through_backend=False)
    elapsed = time.perf_counter() - started
    (finding,) = [f for f in result.findings if f.code == MANAGED_IDENTITY_UNREACHABLE.code]
    assert "IMDS" in finding.detail
    assert elapsed < 5, elapsed


# -- the token file as a setting ---------------------------------------------------------------
def test_settings_name_the_token_file_when_the_environment_does_not(platform, capsys, tmp_path):
    env = platform.apply_environment(credential="workload-identity")
    token_file = env["AZURE_FEDERATED_TOKEN_FILE"]
    del os.environ["AZURE_FEDERATED_TOKEN_FILE"]
    fields = {**KINDS["workload-identity"], "federated_token_file": token_file}
    path = settings_file(tmp_path, "wi-file", **fields)
    code, payload = run_json(capsys, "check", "--settings", path)
    assert code == 0, payload["findings"]
    assert payload["claims"]["appid"] == WI_CLIENT
    assert "AZURE_FEDERATED_TOKEN_FILE" not in os.environ  # the backend's read restored it


def test_a_token_pasted_as_the_token_file_is_dropped_and_never_shown(platform, tmp_path):
    from helpers.settings import load_settings

    token = platform.client.call(
        "POST", "/service-account-token", {"namespace": "airflow", "service_account": "x"}
    )["token"]
    path = settings_file(
        tmp_path, "pasted", **KINDS["workload-identity"], federated_token_file=token
    )
    settings, findings = load_settings(path)
    assert settings.federated_token_file == ""
    assert [(f.code, f.subject) for f in findings] == [("AKV-SET-012", "federated_token_file")]
    assert token not in json.dumps([f.to_dict() for f in findings])


@pytest.mark.parametrize(
    ("fields", "object_id"),
    [(KINDS["imds"], UAMI_OID), (KINDS["workload-identity"], WI_OID)],
    ids=["user-assigned-managed-identity", "workload-identity"],
)
def test_grant_from_the_operators_shell_finds_the_object_id_through_graph(
    platform, capsys, tmp_path, monkeypatch, fields, object_id
):
    """Where the identity cannot sign in (no IMDS, no token file: the operator's laptop), its
    object id comes from Graph by client id, as `az ad sp show --id` finds it."""
    monkeypatch.setenv(SANDBOX_STATE_VAR, str(platform.state_dir))
    platform.client.call("POST", "/propagation-delay", {"seconds": 0})
    assert revoke(platform, object_id) >= 1
    platform.apply_environment(credential="client-secret")
    path = settings_file(tmp_path, "remote", **fields)
    _, payload = run_json(
        capsys,
        "grant", "--settings", path, "--operator", "sandbox-admin", "--perform", "--wait", "1",
    )  # fmt: skip
    assert payload["object_id"] == object_id
    assert "AKV-ROLE-001" in codes(payload), payload["findings"]
    kind = "imds" if object_id == UAMI_OID else "workload-identity"
    platform.apply_environment(credential=kind)
    code, after = run_json(capsys, "check", "--settings", path, "--no-backend")
    assert code == 0, after["findings"]


def test_grant_to_a_system_assigned_identity_off_its_host_needs_the_object_id(
    platform, capsys, tmp_path, monkeypatch
):
    monkeypatch.setenv(SANDBOX_STATE_VAR, str(platform.state_dir))
    platform.apply_environment(credential="client-secret")
    path = settings_file(tmp_path, "system", credential="managed_identity")
    code, payload = run_json(capsys, "grant", "--settings", path, "--operator", "sandbox-admin")
    assert payload["object_id"] == ""
    assert {"AKV-ROLE-017", MANAGED_IDENTITY_UNREACHABLE.code} <= set(codes(payload))
    assert code != 0
