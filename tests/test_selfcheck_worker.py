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


def _base_env(pycache: Path) -> dict[str, str]:
    """This process's environment without the DAG's and Airflow's own settings; bytecode is
    cached under ``pycache`` (a scratch prefix, so the shared venv is never written): the
    first Airflow process compiles, the next ones start ~10 s faster."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(_OWN)}
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    base["PYTHONPYCACHEPREFIX"] = str(pycache)
    return base


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory) -> Path:
    """One ``airflow db migrate`` for the module; cases copy the sqlite file."""
    home = tmp_path_factory.mktemp("airflow-template")
    base = _base_env(home / "pycache")
    airflow = ScratchAirflow.create(home, {}, base_env=base, dags_folder=ROOT / "dags")
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

    base = _base_env(db.parent / "pycache")
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


@pytest.mark.slow
@pytest.mark.timeout(300)
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


@pytest.mark.slow
@pytest.mark.timeout(300)
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


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_worker_check_is_red_for_a_closed_firewall(akv_sandbox, tmp_path, migrated_db):
    akv_sandbox.client.set_firewall("closed")
    result = _run(akv_sandbox, tmp_path, migrated_db)
    assert result["rc"] == 1, result["output"][-3000:]
    assert result["tis"]["check_worker"] == "failed"
    assert "AKV-PERM-003" in result["errors"], result["payload"]
    assert _logged(result["output"], "AKV-PERM-003")


@pytest.mark.slow
@pytest.mark.timeout(300)
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


# -- the check's logic, with a hand-made view of the task runner (no Airflow, no sandbox) ----
class _Backend:
    """The attributes AzureKeyVaultBackend keeps, and reads from a dict."""

    def __init__(self, vault_url, values=None, *, variables_prefix="airflow-variables", error=None):
        self.vault_url, self.variables_prefix = vault_url, variables_prefix
        self.connections_prefix, self.config_prefix, self.sep = "airflow-connections", None, "-"
        self.tenant_id = self.client_id = self.client_secret = ""
        self.managed_identity_client_id = self.workload_identity_tenant_id = ""
        self.values, self.error = values or {}, error

    def get_variable(self, key):
        if self.error is not None:
            raise self.error
        return self.values.get(key)


class _View:
    def __init__(self, options, worker, server=None, answers=None, in_task=True):
        self.options, self.worker, self.server = options, worker, server
        self.answers, self._in_task, self.asked = answers or {}, in_task, []

    def option(self, section, key):
        return self.options.get((section, key))

    def worker_backends(self):
        if isinstance(self.worker, Exception):
            raise self.worker
        return [b for b in (self.worker,) if b is not None]

    def server_backend(self):
        return self.server

    def in_task(self):
        return self._in_task

    def ask_server(self, key):
        from helpers.probe.worker import ServerAnswer

        self.asked.append(key)
        value = self.answers.get(key)
        return ServerAnswer(value is not None, value)


KV = "https://airflow-sandbox-kv.vault.azure.net/"
SEED = {
    ("secrets", "backend"): BACKEND,
    ("secrets", "backend_kwargs"): json.dumps({"vault_url": KV, "config_prefix": None}),
}
VALUE = "a value that must never be shown 0123456789"


def _codes(check, severity=None):
    return [f.code for f in check.findings if severity is None or f.severity.value == severity]


def _check(view, names=(), environ=None):
    from helpers.probe.worker import check_worker

    env = (
        {"AZURE_TENANT_ID": "00000000-0000-0000-0000-000000000001"} if environ is None else environ
    )
    check = check_worker(names, environ=env, airflow=view)
    text = json.dumps(check.payload())
    assert VALUE not in text
    return check


def test_healthy_workers_sharing_secrets_agree_with_the_server():
    view = _View(SEED, _Backend(KV, {"sample": VALUE}), answers={"sample": VALUE})
    check = _check(view, ["sample"])
    assert check.ok and check.section == "[secrets]"
    assert {"AKV-RUN-013", "AKV-SECRET-006", "AKV-SECRET-001", "AKV-RUN-017"} <= set(_codes(check))
    assert len(view.asked) == 2  # the probe name and the named variable


def test_workers_with_another_prefix_differ_and_the_server_finds_what_they_miss():
    options = {
        **SEED,
        ("workers", "secrets_backend"): BACKEND,
        ("workers", "secrets_backend_kwargs"): json.dumps({"vault_url": KV, "config_prefix": None}),
    }
    worker = _Backend(KV, variables_prefix="other-variables")
    view = _View(options, worker, server=_Backend(KV), answers={"sample": VALUE})
    check = _check(view, ["sample"])
    assert _codes(check, "error") == ["AKV-RUN-015", "AKV-RUN-016"]
    differ = check.findings[_codes(check).index("AKV-RUN-015")]
    assert "variables_prefix: workers 'other-variables', [secrets] 'airflow-variables'" in (
        differ.detail
    )


def test_no_custom_backend_a_failing_load_and_outside_a_task():
    check = _check(_View({}, None))
    assert "AKV-RUN-014" in _codes(check, "error")
    assert "AKV-CFG-007" in _codes(check)  # the lint: [secrets] backend not set
    failing = _check(_View(SEED, ImportError("no module named airflow.providers.microsoft")))
    assert "AKV-SVC-004" in _codes(failing, "error")
    outside = _check(_View(SEED, _Backend(KV), in_task=False))
    assert outside.ok and "AKV-RUN-010" in _codes(outside)


def test_a_failing_read_is_diagnosed_and_the_secret_is_scrubbed():
    from azure.core.exceptions import ClientAuthenticationError

    error = ClientAuthenticationError(f"AADSTS7000215: Invalid client secret provided {VALUE}")
    check = _check(_View(SEED, _Backend(KV, error=error)), environ={"AZURE_CLIENT_SECRET": VALUE})
    assert not check.ok and "AKV-AUTH-003" in _codes(check, "error")
