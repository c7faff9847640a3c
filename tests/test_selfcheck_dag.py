"""dags/akv_selfcheck.py: parsed by real Airflow 3, and run end to end with ``airflow dags test``
against a sandbox fleet (a TaskFlow task running papermill, mapped over the inventory's
environments). Without an inventory the DAG checks the workers: tests/test_selfcheck_worker.py.

The parse test imports the DAG file in a child process with a scratch AIRFLOW_HOME; the two
``dags test`` runs (about 75 s each: ``db migrate``, then one kernel per environment) prove the
DAG green when every environment is healthy and red, with the findings in the kept notebook,
when one is broken.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

import pytest
import yaml

from helpers.backend_config.scratch_airflow import ScratchAirflow
from helpers.batch.fleet import Fleet
from helpers.common.leaks import notebook_secret_risks, scan_for_secrets
from helpers.runbook import collect_results

ROOT = Path(__file__).resolve().parent.parent
DAG_ID = "akv_selfcheck"
NOTEBOOK = ROOT / "notebooks" / "check_environment.ipynb"
MARK = "@@SELFCHECK-PARSE@@"
RUN_ID = "manual__2026-01-01T00:00:00+00:00"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_OWN_VARS = ("AKV_SELFCHECK_", "AKV_SANDBOX_")

# Runs in the child: parse dags/ as the DAG processor does, then call plan_checks' function
# in a hand-made task context (no scheduler, no database).
PARSE_CODE = r"""
import json, os, sys
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder={dags!r})
out = {{
    "import_errors": {{str(k): v for k, v in bag.import_errors.items()}},
    "dag_ids": sorted(bag.dag_ids),
    "helpers_imported_at_parse": sorted(m for m in sys.modules if m.split(".")[0] == "helpers"),
}}
dag = bag.dags.get({dag_id!r})
if dag is not None:
    check = dag.get_task("check_environment")
    plan = dag.get_task("plan_checks")
    import inspect

    out["dag"] = {{
        "tasks": sorted(dag.task_ids),
        "upstream": sorted(check.upstream_task_ids),
        "mapped": type(check).__name__,
        "expand_input": type(check.op_kwargs_expand_input).__name__,
        "operator": check.operator_class.__module__ + "." + check.operator_class.__name__,
        "arguments": list(inspect.signature(check.python_callable).parameters),
        "execution_timeout": check.partial_kwargs.get("execution_timeout").total_seconds(),
        "map_index_template": check.partial_kwargs.get("map_index_template"),
        "retries": [check.partial_kwargs.get("retries"), plan.retries],
        "timetable": type(dag.timetable).__name__,
        "catchup": dag.catchup,
        "tags": sorted(dag.tags),
        "params": dag.params.dump(),
    }}
    from airflow.sdk.execution_time.context import set_current_context

    def plan_checks(environ, params):
        for key in [k for k in os.environ if k.startswith(("AKV_SELFCHECK_", "AKV_SANDBOX_"))]:
            del os.environ[key]
        os.environ.update(environ)
        with set_current_context({{"params": params, "run_id": {run_id!r}}}):
            try:
                return {{"ok": plan.python_callable()}}
            except Exception as err:
                return {{"error": type(err).__name__, "message": str(err)}}

    out["plans"] = {{name: plan_checks(*args) for name, args in {cases!r}.items()}}
print({mark!r} + json.dumps(out))
"""


def _airflow(home: Path, extra: dict[str, str]) -> ScratchAirflow:
    """A scratch Airflow whose environment is this process's (the fleet's, inside a Fleet)
    plus ``extra``; its DAGs folder is the project's dags/."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_VARS)}
    base.update(extra)
    return ScratchAirflow.create(home, {}, base_env=base, dags_folder=ROOT / "dags")


def _safe(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("._")


def _errors(notebook: Path) -> list[str]:
    """The codes of the error-level findings the executed notebook shows."""
    return [
        f["code"]
        for payload in collect_results(notebook)
        for f in payload.get("findings", [])
        if f.get("severity") == "error"
    ]


def _codes(notebook: Path) -> set[str]:
    return {f["code"] for p in collect_results(notebook) for f in p.get("findings", [])}


def _run_selfcheck(fleet: Fleet, tmp_path: Path) -> dict:
    """``airflow db migrate`` then ``airflow dags test akv_selfcheck`` against the fleet."""
    reports = tmp_path / "reports"
    airflow = _airflow(
        tmp_path / "airflow-home",
        {
            "AKV_SELFCHECK_INVENTORY": str(fleet.inventory_path),
            "AKV_SELFCHECK_REPORT_DIR": str(reports),
            **fleet.sandbox_variables(),
        },
    )
    migrate = airflow.airflow("db", "migrate")
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    run = airflow.airflow("dags", "test", DAG_ID, timeout=420)
    output = _ANSI.sub("", run.stdout + "\n" + run.stderr)
    log = tmp_path / "dags-test.log"
    log.write_text(output, encoding="utf-8")
    finished = re.search(
        r"DagRun Finished: dag_id=akv_selfcheck, .*?run_id=(\S+?), .*?state=(\w+)", output
    )
    assert finished, output[-3000:]
    with sqlite3.connect(airflow.home / "airflow.db") as db:
        tis = db.execute(
            "SELECT task_id, map_index, rendered_map_index, state FROM task_instance "
            "WHERE dag_id = ? ORDER BY task_id, map_index",
            (DAG_ID,),
        ).fetchall()
    run_dir = reports / _safe(finished.group(1))
    return {
        "run": run,
        "output": output,
        "log": log,
        "state": finished.group(2),
        "tis": tis,
        "reports": reports,
        "notebooks": {name: run_dir / f"{name}.ipynb" for name in fleet.expected},
        "home": airflow.home,
    }


def _assert_no_leaks(fleet: Fleet, result: dict) -> None:
    paths = [result["reports"], result["log"], result["home"]]  # home: logs and metadata DB
    secrets = fleet.secret_values()
    assert len(secrets) >= 3  # the sandbox's client secrets and the wrong one
    assert scan_for_secrets(paths, secrets) == []
    for notebook in result["reports"].rglob("*.ipynb"):
        assert notebook_secret_risks(notebook) == []


def _assert_parameters(notebook: Path, fleet: Fleet, env_name: str) -> None:
    """Only a path, names and a flag went in as papermill parameters."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    assert nb.metadata.papermill.parameters == {
        "inventory": str(fleet.inventory_path.resolve()),
        "env_name": env_name,
        "environment": "sandbox",
        "fail_on_error": True,
    }


def test_selfcheck_dag_parses_without_reading_the_inventory(tmp_path):
    fleet_dir = tmp_path / "fleet"
    fleet_dir.mkdir()
    inventory = fleet_dir / "inventory.yaml"  # the fleet's inventory, no sandbox needed
    inventory.write_text(
        yaml.safe_dump(Fleet(size=2, broken=0, directory=fleet_dir).inventory_data())
    )
    missing = tmp_path / "no-such-inventory.yaml"
    reports = tmp_path / "reports"
    report_env = {"AKV_SELFCHECK_REPORT_DIR": str(reports)}
    cases = {
        "unset": (report_env, {"inventory": ""}),
        "missing": ({**report_env, "AKV_SELFCHECK_INVENTORY": str(missing)}, {"inventory": ""}),
        "param": (
            {**report_env, "AKV_SELFCHECK_INVENTORY": str(missing)},
            {"inventory": str(inventory)},
        ),
        "sandbox": (
            {**report_env, "AKV_SELFCHECK_INVENTORY": str(inventory), "AKV_SANDBOX_PORT": "1"},
            {},
        ),
    }
    code = PARSE_CODE.format(
        dags=str(ROOT / "dags"), dag_id=DAG_ID, run_id=RUN_ID, cases=cases, mark=MARK
    )
    # Parsed with the inventory variable pointing at a file that does not exist.
    airflow = _airflow(tmp_path / "airflow-home", {"AKV_SELFCHECK_INVENTORY": str(missing)})
    child = airflow.python(code, timeout=180)
    line = next((ln for ln in child.stdout.splitlines() if ln.startswith(MARK)), None)
    assert line, (child.stdout + child.stderr)[-3000:]
    out = json.loads(line.removeprefix(MARK))

    assert out["import_errors"] == {}
    assert DAG_ID in out["dag_ids"]
    # No inventory code ran at parse time, and no helpers module was imported: papermill (and
    # with it the runbook's papermill engine) is imported inside the task only.
    assert out["helpers_imported_at_parse"] == []
    assert out["dag"] == {
        "tasks": ["check_environment", "check_worker", "plan_checks"],
        "upstream": ["plan_checks"],
        "mapped": "DecoratedMappedOperator",
        "expand_input": "ListOfDictsExpandInput",
        "operator": "airflow.providers.standard.decorators.python._PythonDecoratedOperator",
        "arguments": ["parameters", "output_nb"],
        "execution_timeout": 900.0,
        "map_index_template": "{{ task.op_kwargs['parameters']['env_name'] }}",
        "retries": [0, 0],
        "timetable": "NullTimetable",
        "catchup": False,
        "tags": ["akv-runbook"],
        "params": {"inventory": "", "variables": []},
    }

    plans = out["plans"]
    # No inventory: the environments' checks are skipped; check_worker runs instead.
    assert plans["unset"]["error"] == "AirflowSkipException"
    assert "AKV_SELFCHECK_INVENTORY" in plans["unset"]["message"]
    assert plans["missing"]["error"] == "AirflowFailException"
    assert "AKV-INV-001" in plans["missing"]["message"]
    assert str(missing) in plans["missing"]["message"]
    run_dir = reports / _safe(RUN_ID)
    assert plans["param"]["ok"] == [
        {
            "parameters": {
                "inventory": str(inventory.resolve()),
                "env_name": name,
                "environment": "azure",  # AKV_SANDBOX_PORT unset
                "fail_on_error": True,
            },
            "output_nb": str(run_dir / f"{name}.ipynb"),
        }
        for name in ("fleet-001", "fleet-002")
    ]
    assert run_dir.is_dir()  # papermill does not create the output folder
    assert {c["parameters"]["environment"] for c in plans["sandbox"]["ok"]} == {"sandbox"}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_selfcheck_dag_is_green_when_every_environment_is_healthy(tmp_path):
    with Fleet(size=2, broken=0, directory=tmp_path / "fleet") as fleet:
        assert fleet.expected == {"fleet-001": None, "fleet-002": None}
        result = _run_selfcheck(fleet, tmp_path)
        run, output = result["run"], result["output"]
        assert run.returncode == 0, output[-3000:]
        assert result["state"] == "success"
        assert result["tis"] == [
            ("check_environment", 0, "fleet-001", "success"),
            ("check_environment", 1, "fleet-002", "success"),
            ("check_worker", -1, None, "skipped"),  # an inventory: the environments' checks
            ("plan_checks", -1, None, "success"),
        ]
        assert sorted(p.name for p in result["reports"].rglob("*.ipynb")) == [
            "fleet-001.ipynb",
            "fleet-002.ipynb",
        ]
        for name, notebook in result["notebooks"].items():
            assert notebook.is_file(), name
            assert _errors(notebook) == [], name
            assert {"AKV-AUTH-001", "AKV-SECRET-001"} <= _codes(notebook), name
            _assert_parameters(notebook, fleet, name)
        _assert_no_leaks(fleet, result)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_selfcheck_dag_fails_and_keeps_the_findings_when_an_environment_is_broken(tmp_path):
    import nbformat

    with Fleet(size=2, broken=0, directory=tmp_path / "fleet") as fleet:
        fleet.sandbox.client.set_firewall("closed", vault="fleet-kv-001")  # fleet-001's vault
        result = _run_selfcheck(fleet, tmp_path)
        run, output = result["run"], result["output"]
        # dag_test raises SystemExit("DagRun failed") when the run ends failed.
        assert run.returncode == 1, output[-3000:]
        assert run.stderr.strip().splitlines()[-1] == "DagRun failed"
        assert result["state"] == "failed"
        assert "FindingsError: 1 error finding(s): AKV-PERM-003" in output
        # Mapped tasks are independent: the healthy environment ran and succeeded.
        assert result["tis"] == [
            ("check_environment", 0, "fleet-001", "failed"),
            ("check_environment", 1, "fleet-002", "success"),
            ("check_worker", -1, None, "skipped"),  # an inventory: the environments' checks
            ("plan_checks", -1, None, "success"),
        ]

        broken, healthy = result["notebooks"]["fleet-001"], result["notebooks"]["fleet-002"]
        assert broken.is_file() and healthy.is_file()
        assert _errors(broken) == ["AKV-PERM-003"]
        assert _errors(healthy) == []
        nb = nbformat.read(broken, as_version=4)
        assert nb.metadata.papermill.exception is True
        last = nb.cells[-1].outputs[-1]
        assert (last.output_type, last.ename) == ("error", "FindingsError")
        _assert_parameters(broken, fleet, "fleet-001")
        _assert_no_leaks(fleet, result)
