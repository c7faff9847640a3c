"""dags/akv_selfcheck.py without an inventory: the workers' vantage point, run for real with
``airflow dags test akv_selfcheck`` against the sandbox.

Green when healthy; red, with the findings in the task log and the kept report, for a wrong
client secret, a closed firewall, and workers whose kwargs point elsewhere than the server's.
``airflow db migrate`` runs once per module; each case copies the migrated sqlite file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from helpers.backend_config.scratch_airflow import BACKEND, ScratchAirflow, seed_overrides
from helpers.common.leaks import scan_for_secrets
from helpers.findings.results import collect_results

ROOT = Path(__file__).resolve().parent.parent
DAG_ID = "akv_selfcheck"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_OWN = ("AKV_SELFCHECK_", "AIRFLOW__SECRETS__", "AIRFLOW__WORKERS__")
POLICY_VAULT_URL = "https://airflow-policy-kv.vault.azure.net/"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory) -> Path:
    """One ``airflow db migrate`` for the module; cases copy the sqlite file."""
    home = tmp_path_factory.mktemp("airflow-template")
    airflow = ScratchAirflow.create(home, {}, dags_folder=ROOT / "dags")
    migrate = airflow.airflow("db", "migrate")
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    return home / "airflow.db"


def _run(sandbox, tmp_path: Path, db: Path, extra: dict[str, str] | None = None) -> dict:
    """``airflow dags test akv_selfcheck`` with no inventory, configured like the seed."""
    env = sandbox.environment()
    home = tmp_path / "airflow-home"
    home.mkdir()
    shutil.copy(db, home / "airflow.db")
    reports = tmp_path / "reports"
    overrides = {
        **env,
        **seed_overrides(env["AZURE_KEYVAULT_URL"]),
        "AKV_SELFCHECK_REPORT_DIR": str(reports),
        **(extra or {}),
    }

    base = {k: v for k, v in os.environ.items() if not k.startswith(_OWN)}
    airflow = ScratchAirflow.create(home, overrides, base_env=base, dags_folder=ROOT / "dags")
    run = airflow.airflow("dags", "test", DAG_ID, timeout=240)
    output = _ANSI.sub("", run.stdout + "\n" + run.stderr)
    (tmp_path / "dags-test.log").write_text(output, encoding="utf-8")
    finished = re.search(r"DagRun Finished: dag_id=akv_selfcheck, .*?state=(\w+)", output)
    assert finished, output[-3000:]
    with sqlite3.connect(home / "airflow.db") as conn:
        tis = dict(
            conn.execute(
                "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND map_index = -1",
                (DAG_ID,),
            ).fetchall()
        )
    kept = sorted(reports.rglob("worker.ipynb"))
    assert len(kept) == 1, output[-3000:]
    payloads = collect_results(kept[0])
    assert len(payloads) == 1 and payloads[0]["step"] == "Workers' vantage point"
    findings = payloads[0]["findings"]
    secrets = [*sandbox.secret_values(), overrides["AZURE_CLIENT_SECRET"]]
    assert scan_for_secrets([reports, tmp_path / "dags-test.log", home], secrets) == []
    return {
        "rc": run.returncode,
        "output": output,
        "state": finished.group(1),
        "tis": tis,
        "payload": payloads[0],
        "codes": {f["code"] for f in findings},
        "errors": sorted(f["code"] for f in findings if f["severity"] == "error"),
    }


def _logged(output: str, code: str) -> bool:
    """The finding's code, its fix, in the task's log lines."""
    return any(code in line and "fix:" in line for line in output.splitlines())


def test_worker_check_is_green_when_the_deployment_is_healthy(akv_sandbox, tmp_path, migrated_db):
    result = _run(
        akv_sandbox, tmp_path, migrated_db, {"AKV_SELFCHECK_VARIABLES": "sample-variable"}
    )
    assert result["rc"] == 0, result["output"][-3000:]
    assert result["state"] == "success"
    assert result["tis"] == {
        "check_worker": "success",
        "plan_checks": "skipped",
        "check_environment": "skipped",
    }
    assert result["errors"] == []
    assert result["payload"]["ok"] is True
    # config as the task sees it, 404 read-access proof, the named variable read, and the
    # API server's answer (through the Execution API) agreeing with the workers' backend
    assert {"AKV-RUN-013", "AKV-SECRET-006", "AKV-SECRET-001", "AKV-RUN-017"} <= result["codes"]
    assert _logged(result["output"], "AKV-RUN-017")


def test_worker_check_is_red_for_a_wrong_client_secret(akv_sandbox, tmp_path, migrated_db):
    result = _run(
        akv_sandbox,
        tmp_path,
        migrated_db,
        {"AZURE_CLIENT_SECRET": "not-the-secret-" + "x" * 24},
    )
    assert result["rc"] == 1, result["output"][-3000:]
    assert result["state"] == "failed"
    assert result["tis"]["check_worker"] == "failed"
    assert "AKV-AUTH-003" in result["errors"], result["payload"]
    assert _logged(result["output"], "AKV-AUTH-003")
    assert "AirflowFailException" in result["output"]


def test_worker_check_is_red_for_a_closed_firewall(akv_sandbox, tmp_path, migrated_db):
    akv_sandbox.client.set_firewall("closed")
    result = _run(akv_sandbox, tmp_path, migrated_db)
    assert result["rc"] == 1, result["output"][-3000:]
    assert result["tis"]["check_worker"] == "failed"
    assert "AKV-PERM-003" in result["errors"], result["payload"]
    assert _logged(result["output"], "AKV-PERM-003")


def test_worker_check_is_red_when_workers_and_server_differ(akv_sandbox, tmp_path, migrated_db):
    workers_kwargs = {
        "connections_prefix": "airflow-connections",
        "variables_prefix": "airflow-variables",
        "vault_url": POLICY_VAULT_URL,  # another vault than [secrets]
    }
    result = _run(
        akv_sandbox,
        tmp_path,
        migrated_db,
        {
            "AIRFLOW__WORKERS__SECRETS_BACKEND": BACKEND,
            "AIRFLOW__WORKERS__SECRETS_BACKEND_KWARGS": json.dumps(workers_kwargs),
            "AKV_SELFCHECK_VARIABLES": "sample-variable",
        },
    )
    assert result["rc"] == 1, result["output"][-3000:]
    assert result["tis"]["check_worker"] == "failed"
    # the configuration differs, and the same variable reads differently through each
    assert {"AKV-RUN-015", "AKV-RUN-016"} <= set(result["errors"]), result["payload"]
    differ = next(f for f in result["payload"]["findings"] if f["code"] == "AKV-RUN-015")
    assert "airflow-policy-kv" in differ["detail"] and "vault_url" in differ["detail"]
    assert _logged(result["output"], "AKV-RUN-015")
