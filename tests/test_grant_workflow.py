"""The one grant workflow (issue 10): `akv-runbook grant` in the backend's and the admin's
shells never grants the operator, never grants with the backend's own credential, says what
it needs when it cannot tell who the operator is; notebook 02 and the CLI agree."""

from __future__ import annotations

import json

import pytest

from helpers import runbook
from helpers.cli import main
from helpers.common.facts import SANDBOX_PORT_VAR, SANDBOX_STATE_VAR
from helpers.findings import resolve
from tests.conftest import credential_for
from tests.sandbox.conftest import BACKEND_OID, subscription, vault_scope
from tests.test_probes import revoke_backend_roles


def grant(capsys, *args: str) -> tuple[int, dict]:
    code = main(["grant", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def codes(payload: dict) -> list[str]:
    return [f["code"] for f in payload["findings"]]


def assignments(sandbox) -> list[tuple[str, str]]:
    """(principal id, role definition id) of every assignment at the vault, seen as admin."""
    from azure.mgmt.authorization import AuthorizationManagementClient

    auth = AuthorizationManagementClient(credential_for(sandbox, "admin"), subscription())
    return sorted(
        (str(a.principal_id), str(a.role_definition_id))
        for a in auth.role_assignments.list_for_scope(vault_scope())
    )


@pytest.fixture
def sandbox_state(akv_sandbox, monkeypatch):
    """Where `--operator sandbox-admin` finds the running sandbox."""
    monkeypatch.setenv(SANDBOX_STATE_VAR, str(akv_sandbox.state_dir))


@pytest.fixture
def admin_shell(akv_sandbox):
    """The shell of `akv-runbook sandbox env --principal admin`."""
    akv_sandbox.apply_environment("admin")
    return akv_sandbox.client.env("admin")


@pytest.fixture
def forbidden(akv_sandbox):
    """The backend may not read: a grant would be made if the workflow allowed it."""
    assert revoke_backend_roles(akv_sandbox) >= 1
    return assignments(akv_sandbox)


# -- the backend's shell ---------------------------------------------------------------------
def test_backend_shell_without_an_operator_says_what_it_needs(akv_sandbox, forbidden, capsys):
    code, out = grant(capsys, "--perform")

    assert code == 1
    assert "AKV-ROLE-015" in codes(out) and "AKV-ROLE-001" not in codes(out)
    unknown = next(f for f in out["findings"] if f["code"] == "AKV-ROLE-015")
    for flag in ("--operator-env PREFIX", "--operator az-cli", "--operator sandbox-admin"):
        assert flag in unknown["detail"]
    assert "--operator-env" in unknown["fix"]
    assert out["object_id"] == BACKEND_OID  # the grantee is still the backend
    assert assignments(akv_sandbox) == forbidden


def test_backend_shell_never_grants_with_the_backends_own_credential(
    akv_sandbox, forbidden, capsys
):
    code, out = grant(capsys, "--perform", "--operator-env", "AZURE")

    assert code == 1
    assert "AKV-ROLE-016" in codes(out)
    assert not {"AKV-ROLE-001", "AKV-ROLE-003"} & set(codes(out))  # nothing sent to ARM
    assert assignments(akv_sandbox) == forbidden


def test_backend_shell_with_a_named_operator_grants_the_backend(
    akv_sandbox, forbidden, capsys, monkeypatch
):
    for key, value in akv_sandbox.client.env("admin").items():
        if key.startswith("AZURE_"):
            monkeypatch.setenv("OPERATOR" + key.removeprefix("AZURE"), value)

    code, out = grant(capsys, "--perform", "--operator-env", "OPERATOR", "--wait", "10")

    assert code == 0, out
    assert codes(out)[-1] == "AKV-ROLE-007"
    made = next(f for f in out["findings"] if f["code"] == "AKV-ROLE-001")
    assert made["data"]["object_id"] == BACKEND_OID


# -- the admin's shell -------------------------------------------------------------------------
def test_admin_shell_without_flags_never_grants_the_operator(akv_sandbox, admin_shell, capsys):
    before = assignments(akv_sandbox)

    code, out = grant(capsys, "--perform")

    # the admin reads already: a no-op, so no operator is needed (ROLE-015) and it exits 0
    assert code == 0
    assert resolve("AKV-RUN-011") in codes(out) and "AKV-ROLE-015" not in codes(out)
    assert "AKV-ROLE-001" not in codes(out) and "AKV-ROLE-007" not in codes(out)
    assert assignments(akv_sandbox) == before


def test_admin_shell_naming_itself_as_operator_is_refused(akv_sandbox, admin_shell, capsys):
    before = assignments(akv_sandbox)

    code, out = grant(capsys, "--perform", "--operator-env", "AZURE")

    assert code == 1
    refused = next(f for f in out["findings"] if f["code"] == "AKV-ROLE-016")
    assert "nothing is granted" in refused["detail"]
    assert assignments(akv_sandbox) == before


# -- roles -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "expected"),
    [("Owner", "AKV-ROLE-014"), ("Key Vault Contributor", "AKV-ROLE-014")],
)
def test_a_role_without_data_access_is_reported_without_perform(
    akv_sandbox, capsys, role, expected
):
    code, out = grant(capsys, "--role", role)

    assert code == 1
    assert expected in codes(out)


def test_a_broader_data_role_warns_without_perform(akv_sandbox, capsys):
    code, out = grant(capsys, "--role", "Key Vault Secrets Officer")

    assert "AKV-ROLE-010" in codes(out)


def test_a_grant_when_reads_work_is_a_no_op(akv_sandbox, sandbox_state, capsys):
    before = assignments(akv_sandbox)

    code, out = grant(capsys, "--perform", "--operator", "sandbox-admin")

    assert resolve("AKV-RUN-011") in codes(out)
    assert "AKV-ROLE-001" not in codes(out)
    assert assignments(akv_sandbox) == before


# -- notebook 02 and the CLI: one workflow -----------------------------------------------------
@pytest.fixture
def conn(akv_sandbox, sandbox_state, monkeypatch) -> runbook.Connection:
    monkeypatch.setenv(SANDBOX_PORT_VAR, str(akv_sandbox.port))
    connection = runbook.connect("sandbox", notebook="test")
    assert connection.ok, connection.findings
    return connection


@pytest.mark.parametrize(
    "role",
    ["Key Vault Secrets User", "Key Vault Secrets Officer", "Owner", "Key Vault Contributor"],
)
@pytest.mark.parametrize("revoked", [False, True])
def test_notebook_02_and_grant_give_the_same_findings(conn, akv_sandbox, capsys, role, revoked):
    if revoked:
        revoke_backend_roles(akv_sandbox)
    settings, problems = runbook.settings_from_params(
        vault_url=conn.vault_url, tenant_id=conn.tenant_id, client_id=conn.client_id
    )
    assert problems == []

    notebook = runbook.permissions(conn, settings).grant(perform=False, role=role)
    _, cli = grant(capsys, "--operator", "sandbox-admin", "--role", role)

    assert codes(cli) == [f.code for f in notebook.findings]
    assert cli["object_id"] == notebook.data["object_id"] == BACKEND_OID
