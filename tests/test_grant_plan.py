"""The grant workflow's decisions have one home (issue 10 review): ROLE-010 is reported once,
ROLE-015 only when a grant would be sent, the "is a grant needed?" decision is
:func:`helpers.roles.grant_need` for both ``grant`` and notebook 02, the CLI's ``--model``
spellings come from :meth:`PermissionModel.parse`, and the sandbox-admin operator is built in
one place."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from helpers import runbook
from helpers.cli import build_parser, main
from helpers.common.facts import SANDBOX_PORT_VAR, SANDBOX_STATE_VAR
from helpers.findings import Finding, resolve
from helpers.findings.codes.perm import FORBIDDEN_BY_RBAC
from helpers.findings.codes.secret import SECRET_READ
from helpers.roles import LEAST_PRIVILEGE_ROLE, GrantNeed, PermissionModel, grant_need
from helpers.vault.credentials import OPERATOR_LABELS, Operator, operator_credential
from tests.test_probes import revoke_backend_roles

OFFICER = "Key Vault Secrets Officer"


def grant(capsys, *args: str) -> tuple[int, dict]:
    code = main(["grant", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def codes(payload: dict) -> list[str]:
    return [f["code"] for f in payload["findings"]]


@pytest.fixture
def sandbox_state(akv_sandbox, monkeypatch):
    monkeypatch.setenv(SANDBOX_STATE_VAR, str(akv_sandbox.state_dir))


@pytest.fixture
def conn(akv_sandbox, sandbox_state, monkeypatch) -> runbook.Connection:
    monkeypatch.setenv(SANDBOX_PORT_VAR, str(akv_sandbox.port))
    connection = runbook.connect("sandbox", notebook="test")
    assert connection.ok, connection.findings
    return connection


def settings_of(conn: runbook.Connection):
    settings, problems = runbook.settings_from_params(
        vault_url=conn.vault_url, tenant_id=conn.tenant_id, client_id=conn.client_id
    )
    assert problems == []
    return settings


# -- 1. a broader role is reported once --------------------------------------------------------
def test_a_performed_grant_of_a_broader_role_reports_ROLE_010_once(
    akv_sandbox, sandbox_state, capsys
):
    revoke_backend_roles(akv_sandbox)

    code, out = grant(
        capsys, "--perform", "--operator", "sandbox-admin", "--role", OFFICER, "--wait", "10"
    )

    assert codes(out).count("AKV-ROLE-010") == 1, codes(out)
    assert "AKV-ROLE-001" in codes(out)
    assert code == 0


def test_notebook_02_performing_a_broader_role_reports_ROLE_010_once(conn, akv_sandbox):
    revoke_backend_roles(akv_sandbox)

    step = runbook.permissions(conn, settings_of(conn)).grant(perform=True, role=OFFICER)

    found = [f.code for f in step.findings]
    assert found.count("AKV-ROLE-010") == 1, found
    assert "AKV-ROLE-001" in found


# -- 2. ROLE-015 only when a grant would be sent -----------------------------------------------
def test_a_no_op_without_an_operator_exits_0(akv_sandbox, capsys):
    code, out = grant(capsys, "--perform")

    assert code == 0, codes(out)
    assert resolve("AKV-RUN-011") in codes(out)
    assert "AKV-ROLE-015" not in codes(out)


def test_a_needed_grant_without_an_operator_still_says_who_is_missing(akv_sandbox, capsys):
    revoke_backend_roles(akv_sandbox)

    code, out = grant(capsys, "--perform")

    assert code == 1
    assert codes(out).count("AKV-ROLE-015") == 1


# -- 5. one "is a grant needed?" decision ------------------------------------------------------
@dataclass
class Seen:
    claims: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


OID = {"oid": "00000000-0000-0000-0000-000000000001"}


@pytest.mark.parametrize(
    ("seen", "need"),
    [
        (Seen(OID, [FORBIDDEN_BY_RBAC("x", "403")]), GrantNeed.MISSING),
        (Seen(OID, [SECRET_READ("x", "read")]), GrantNeed.NONE),
        (Seen(OID, []), GrantNeed.BLOCKED),
        (Seen({}, []), GrantNeed.UNKNOWN),
    ],
)
def test_grant_need_reads_the_backends_probe(seen, need):
    assert grant_need(seen) is need


@pytest.mark.parametrize("revoked", [False, True])
def test_notebook_02_diagnosis_and_the_grant_agree(conn, akv_sandbox, revoked):
    if revoked:
        revoke_backend_roles(akv_sandbox)
    steps = runbook.permissions(conn, settings_of(conn))

    diagnosis = [f.code for f in steps.diagnose().findings]
    plan = [f.code for f in steps.grant(perform=False).findings]

    no_op = resolve("AKV-RUN-011")
    assert (no_op in diagnosis) == (no_op in plan) == (not revoked)


# -- 3. one parser for the permission model, one least-privilege role ---------------------------
def test_the_cli_accepts_every_spelling_the_model_parser_knows():
    parser = build_parser()
    for name in PermissionModel.accepted_names():
        args = parser.parse_args(["grant", "--model", name])
        assert PermissionModel.parse(args.model) is not PermissionModel.UNKNOWN
    assert "policy" in PermissionModel.accepted_names()
    assert "unknown" not in PermissionModel.accepted_names()
    assert parser.parse_args(["grant"]).role == LEAST_PRIVILEGE_ROLE


def test_grant_with_model_policy_prints_an_access_policy(akv_sandbox, capsys):
    code, out = grant(capsys, "--model", "policy")

    assert "set-policy" in out["commands"]["az"]


# -- 4. the sandbox's admin operator is built in one place -------------------------------------
def test_sandbox_admin_operator_from_the_control_api_or_the_state_dir(akv_sandbox):
    by_control = operator_credential("sandbox-admin", control=akv_sandbox.client)
    by_state = operator_credential("sandbox-admin", state_dir=akv_sandbox.state_dir)

    for chosen in (by_control, by_state):
        assert isinstance(chosen, Operator)
        assert chosen.label == OPERATOR_LABELS["sandbox-admin"]
        assert chosen.credential.get_token("https://management.azure.com/.default").token


def test_sandbox_admin_without_a_running_sandbox_is_ROLE_015(tmp_path):
    chosen = operator_credential("sandbox-admin", state_dir=tmp_path)

    assert isinstance(chosen, Finding) and chosen.code == "AKV-ROLE-015"
    assert "sandbox-admin" in chosen.detail


def test_the_notebooks_operator_is_the_clis_sandbox_admin(conn):
    assert conn.operator == OPERATOR_LABELS["sandbox-admin"]
    assert conn.operator_credential().get_token("https://management.azure.com/.default")
