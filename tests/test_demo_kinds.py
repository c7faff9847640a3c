"""The runbook for every way the backend signs in (issue 12): the notebooks' ``sign_in_with``
parameter sets the kernel up as `akv-runbook sandbox env --credential KIND` does, notebook 04
reads through the SDK, the real backend and ``Variable.get`` with a managed identity and with
workload identity (no client secret anywhere, the projected token never shown), `demo` runs
04 once per kind, and `demo --fleet` mixes all three kinds."""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import runbook
from helpers.batch import Status, check_inventory
from helpers.batch.fleet import BREAKAGES, CREDENTIALS, Fleet, fleet_credentials, fleet_plan
from helpers.batch.inventory import load_inventory
from helpers.batch.notebook_runs import (
    CREDENTIAL_RUNS,
    RETRIEVAL,
    NotebookRun,
    RunStatus,
    RunSummary,
    retrieval_by_credential,
    run_notebooks,
)
from helpers.common.facts import SANDBOX_PORT_VAR, SANDBOX_STATE_VAR
from helpers.common.leaks import notebook_secret_risks, scan_for_secrets
from helpers.findings.codes.run import ENV_DIFFERS, ENVIRONMENT_UNAVAILABLE
from helpers.settings import Credential

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
UAMI_CLIENT = "7a3c5e9b-1d2f-4c6e-8b0a-9d1f3b5c7e28"  # airflow-uami, the default scenario's
WI_CLIENT = "4d7f2b9e-6a1c-4e3b-8f5d-7c9a1e3b5d86"  # airflow-workload
TENANT = "5f0c6e2a-3b1d-4c8e-9a7f-0d2b4e6f8a10"
JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.")


@pytest.fixture
def kernel_env(akv_sandbox, monkeypatch) -> Iterator:
    """connect() reuses the test's sandbox, as under `make demo`; os.environ is restored."""
    saved = dict(os.environ)
    monkeypatch.setenv(SANDBOX_PORT_VAR, str(akv_sandbox.port))
    monkeypatch.setenv(SANDBOX_STATE_VAR, str(akv_sandbox.state_dir))
    yield akv_sandbox
    os.environ.clear()
    os.environ.update(saved)
    importlib.import_module("helpers.runbook.connect")._SWITCHED.clear()


# -- connect() and the settings, in this process (no kernel) -------------------------------
def test_connect_applies_workload_identity_then_switches_back_to_the_client_secret(kernel_env):
    conn = runbook.connect("sandbox", credential="workload-identity")
    assert conn.ok and conn.credential == "workload-identity" and conn.client_id == WI_CLIENT
    assert Path(os.environ["AZURE_FEDERATED_TOKEN_FILE"]).is_file()
    assert "AZURE_CLIENT_SECRET" not in os.environ
    settings, problems = runbook.settings_from_params(
        vault_url=conn.vault_url, tenant_id=TENANT, credential="workload-identity", conn=conn
    )
    assert problems == []
    assert settings.credential is Credential.WORKLOAD_IDENTITY
    assert (settings.managed_identity_client_id, settings.workload_identity_tenant_id) == (
        WI_CLIENT,
        TENANT,
    )
    back = runbook.connect("sandbox")  # the same kernel, the default kind again
    assert back.credential == "client-secret" and os.environ.get("AZURE_CLIENT_SECRET")
    assert "AZURE_FEDERATED_TOKEN_FILE" not in os.environ


def test_a_managed_identity_takes_the_user_assigned_identity_and_01_hides_its_header(
    kernel_env,
):
    conn = runbook.connect("sandbox", credential="managed-identity")
    assert conn.client_id == UAMI_CLIENT and os.environ.get("IDENTITY_ENDPOINT")
    settings, problems = runbook.settings_from_params(
        vault_url=conn.vault_url, tenant_id=TENANT, credential="managed-identity", conn=conn
    )
    assert problems == [] and settings.managed_identity_client_id == UAMI_CLIENT
    step = runbook.check_azure_env(settings)
    assert ENV_DIFFERS.code not in [f.code for f in step.findings]
    rows = {row[0]: row[1] for row in step.sections[0].body[1:]}
    assert rows["IDENTITY_HEADER"] == "set (value hidden)"
    assert "AZURE_CLIENT_SECRET" not in rows  # no client secret at all
    assert os.environ["IDENTITY_HEADER"] not in str(step)


def test_an_unknown_credential_kind_is_a_finding_not_an_exception():
    conn = runbook.connect("sandbox", credential="certificate")
    assert [f.code for f in conn.findings] == [ENVIRONMENT_UNAVAILABLE.code]


# -- 04 headless, per kind (two papermill runs) ---------------------------------------------
@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("kind", "client_id"),
    [("managed-identity", UAMI_CLIENT), ("workload-identity", WI_CLIENT)],
)
def test_live_retrieval_reads_every_layer_with_each_identity(kernel_env, tmp_path, kind, client_id):
    token_file = kernel_env.state_dir / "workload-identity" / "airflow-workload"
    summary = run_notebooks(
        [NOTEBOOKS / f"{RETRIEVAL}.ipynb"],
        tmp_path,
        parameters={"sign_in_with": kind, "run_dag": False},  # headless: fail on error
        execution_timeout=240,
    )
    (run,) = summary.runs
    assert run.status is RunStatus.OK, (run.error, run.error_codes)
    found = {r["step"]: r for r in run.results}
    assert all(r["ok"] for r in found.values())
    signed_in = [f for f in found["sdk"]["findings"] if f["code"] == "AKV-AUTH-001"]
    assert signed_in and client_id in signed_in[0]["detail"]
    assert [f["code"] for f in found["variable-get"]["findings"]] == ["AKV-RUN-006"] * 2
    text = run.output.read_text(encoding="utf-8")
    assert "managed_identity_client_id" in text and client_id in text  # the kwargs applied
    assert "AZURE_CLIENT_SECRET (the client secret" not in text  # no secret for this kind
    assert JWT_RE.search(text) is None  # no token, projected or issued
    secrets = kernel_env.secret_values()
    if kind == "workload-identity":
        secrets.append((token_file / "azure-identity-token").read_text())
    written = [run.output, run.html]
    assert [str(leak) for leak in scan_for_secrets(written, secrets)] == []
    assert [str(risk) for risk in notebook_secret_risks(run.output)] == []


# -- the demo's runs per kind (no kernel) ----------------------------------------------------
def test_demo_runs_the_retrieval_notebook_again_for_each_identity_kind(tmp_path):
    assert set(CREDENTIAL_RUNS) == {"managed-identity", "workload-identity"}
    assert all(p["run_dag"] is False for p in CREDENTIAL_RUNS.values())
    with pytest.raises(ValueError, match="client_secret"):  # variants are checked too
        run_notebooks(
            [NOTEBOOKS / f"{RETRIEVAL}.ipynb"],
            tmp_path,
            variants={RETRIEVAL: {"x": {"client_secret": "s3cr3t-value~abcdefgh"}}},
        )
    results = [
        {"step": "sdk", "ok": True, "findings": [{"code": "AKV-AUTH-001"}]},
        {"step": "dag-test", "ok": True, "findings": [{"code": "AKV-RUN-010"}]},
    ]
    runs = [
        NotebookRun(RETRIEVAL, Path("x"), RunStatus.OK, 1.0, results=results),
        NotebookRun(f"{RETRIEVAL}-managed-identity", Path("x"), RunStatus.OK, 1.0, results=results),
        NotebookRun(f"{RETRIEVAL}-workload-identity", Path("x"), RunStatus.FAILED, 1.0, error="E"),
    ]
    lines = retrieval_by_credential(RunSummary(tmp_path, runs, "", 3.0))
    assert [line.split()[:2] for line in lines] == [
        ["client-secret", "ok"],
        ["managed-identity", "ok"],
        ["workload-identity", "failed"],
    ]
    assert lines[0].endswith("sdk ok (AKV-AUTH-001); dag-test skipped")
    assert lines[2].endswith("E")


# -- the fleet -------------------------------------------------------------------------------
def test_the_fleet_plan_mixes_all_three_kinds_and_breaks_each():
    plan = fleet_plan(100)
    kinds = fleet_credentials(plan)
    assert {k: kinds.count(k) for k in CREDENTIALS} == {
        "client_secret": 36,
        "managed_identity": 32,
        "workload_identity": 32,
    }
    broken = {b: k for (_, b), k in zip(plan, kinds, strict=True) if b}
    assert set(broken) == set(BREAKAGES)
    assert {broken[b] for b in ("wrong-secret", "expired-secret", "unknown-tenant")} == {
        "client_secret"
    }
    assert set(broken.values()) == set(CREDENTIALS)  # a broken environment of every kind


@pytest.mark.timeout(120)
def test_a_mixed_fleet_passes_the_fast_path():
    with Fleet(size=6, broken=0) as fleet:
        assert fleet.credentials == list(CREDENTIALS) * 2
        inventory = load_inventory(fleet.inventory_path)
        text = fleet.inventory_path.read_text()
        batch = check_inventory(inventory, concurrency=3)
        secrets = fleet.secret_values()
    assert inventory.findings == []
    by_kind = {e.name: e.settings.credential for e in inventory.environments}
    assert sorted(by_kind.values()) == sorted(Credential(k) for k in CREDENTIALS * 2)
    assert text.count("client_secret_env") == 2  # only the client-secret environments
    assert [(r.name, r.status, r.error_codes) for r in batch.results] == [
        (name, Status.OK, []) for name in by_kind
    ]
    signed_in = {
        r.name: next(f for f in r.findings if f.code == "AKV-AUTH-001").detail
        for r in batch.results
    }
    assert "fleet-mi" not in str(signed_in)  # ids, not names
    assert batch.identities == 6
    assert not [s for s in secrets if s in text]
