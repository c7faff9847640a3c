"""Self-check: run the check notebook once per environment of an inventory, keep the evidence.

What it does
    ``plan_checks`` reads the inventory (``helpers.batch.inventory.load_inventory``) and returns one
    entry per environment; ``check_environment`` is a ``PapermillOperator`` mapped over them
    (dynamic task mapping, one mapped task per environment, labelled with the environment's
    name). Each mapped task executes ``notebooks/check_environment.ipynb`` with
    ``fail_on_error=True``: the notebook's last cell raises when the check found an error-level
    finding, so that environment's task fails and the DagRun fails. The executed notebook is
    kept either way, with every finding (code, cause, fix) in its outputs::

        <report dir>/<run id>/<environment name>.ipynb

    ``helpers.runbook.collect_results(path)`` reads the findings back from it.

How to configure (environment variables of the worker; no Airflow Variable is needed, so it
works the same in ``airflow dags test``)
    ``AKV_SELFCHECK_INVENTORY``   path of the inventory YAML (docs/batch.md). The DAG param
                                  ``inventory`` overrides it for one run
                                  (``--conf '{"inventory": "/path/inventory.yaml"}'``).
    ``AKV_SELFCHECK_REPORT_DIR``  where the executed notebooks go; default
                                  ``$AIRFLOW_HOME/akv-selfcheck``. A local directory is
                                  created; a papermill URL (``abfs://``, ``s3://``) is used as is.
                                  With several workers, use storage they all see.
    ``AKV_SELFCHECK_NOTEBOOK``    the notebook to run; default the repository's
                                  ``notebooks/check_environment.ipynb`` next to this folder.
    ``AKV_SANDBOX_PORT``          set: the notebooks check the offline sandbox
                                  (``environment="sandbox"``); unset: Azure (``"azure"``).
    The client secrets stay in the environment variables the inventory names; the notebook
    parameters are only the inventory path, an environment name, "sandbox"/"azure" and a flag
    (papermill writes parameters into the executed notebook).

How to run
    ``AKV_SELFCHECK_INVENTORY=/path/inventory.yaml airflow dags test akv_selfcheck``
    exits 0 when every environment is healthy and 1 ("DagRun failed") when any is not; the
    failed environments' notebooks say why.

Choices
    - Nothing is read at parse time: the inventory path is looked up and the file loaded inside
      ``plan_checks`` (a DAG file is parsed every few seconds, on every DAG processor).
    - ``helpers`` is imported inside the task too; the project is installed (``pip install -e
      .``), so the kernel imports it as well. The kernel is ``python3``: the interpreter
      running Airflow.
    - ``retries=0``: a failed check is a finding, not a transient error to retry away.
    - ``schedule=None``: trigger it, or give it a schedule (``catchup=False``) to check daily.
"""

from __future__ import annotations

import logging
import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.providers.papermill.operators.papermill import PapermillOperator
from airflow.sdk import DAG, Param, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

DAG_ID = "akv_selfcheck"
INVENTORY_VAR = "AKV_SELFCHECK_INVENTORY"
REPORT_DIR_VAR = "AKV_SELFCHECK_REPORT_DIR"
NOTEBOOK_VAR = "AKV_SELFCHECK_NOTEBOOK"
SANDBOX_PORT_VAR = "AKV_SANDBOX_PORT"  # helpers.common.facts.SANDBOX_PORT_VAR
NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "check_environment.ipynb"
log = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe(text: str) -> str:
    """A file-name-safe form of a run id or environment name."""
    return _UNSAFE.sub("_", text).strip("._") or "_"


def _report_dir() -> str:
    configured = os.environ.get(REPORT_DIR_VAR, "").strip()
    if configured:
        return configured
    home = os.environ.get("AIRFLOW_HOME") or str(Path.home() / "airflow")
    return str(Path(home) / "akv-selfcheck")


@task
def plan_checks() -> list[dict[str, Any]]:
    """One ``{"parameters": ..., "output_nb": ...}`` per environment of the inventory."""
    from helpers.batch.inventory import load_inventory

    context = get_current_context()
    param = str((context.get("params") or {}).get("inventory") or "").strip()
    path = param or os.environ.get(INVENTORY_VAR, "").strip()
    if not path:
        raise AirflowFailException(
            f"No inventory: set the environment variable {INVENTORY_VAR} to the path of an "
            'inventory YAML, or trigger with --conf \'{"inventory": "/path/inventory.yaml"}\''
        )
    path = str(Path(path).expanduser().resolve())
    inventory = load_inventory(path)
    if not inventory.usable:
        problems = "; ".join(f"{f.code} {f.title}: {f.detail}" for f in inventory.findings)
        raise AirflowFailException(f"The inventory {path} is unusable: {problems}")
    if not inventory.environments:
        raise AirflowFailException(f"The inventory {path} lists no environments")

    environment = "sandbox" if os.environ.get(SANDBOX_PORT_VAR) else "azure"
    run_dir = f"{_report_dir().rstrip('/')}/{_safe(str(context['run_id']))}"
    if "://" not in run_dir:
        Path(run_dir).mkdir(parents=True, exist_ok=True)  # papermill does not create it
    checks = [
        {
            "parameters": {
                "inventory": path,
                "env_name": spec.name,
                "environment": environment,
                "fail_on_error": True,
            },
            "output_nb": f"{run_dir}/{_safe(spec.name)}.ipynb",
        }
        for spec in inventory.environments
    ]
    log.info(
        "Checking %d environment(s) of %s against %s; executed notebooks go to %s/",
        len(checks),
        path,
        environment,
        run_dir,
    )
    return checks


with DAG(
    DAG_ID,
    default_args={"depends_on_past": False, "retries": 0},
    description="Runs the check notebook once per environment of an inventory",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={
        "inventory": Param(
            "",
            type="string",
            description=f"Inventory YAML path; empty: the {INVENTORY_VAR} environment variable",
        )
    },
    tags=["akv-runbook"],
    doc_md=__doc__,
) as dag:
    checks = plan_checks()
    PapermillOperator.partial(
        task_id="check_environment",
        input_nb=os.environ.get(NOTEBOOK_VAR) or str(NOTEBOOK),
        kernel_name="python3",
        map_index_template="{{ task.parameters['env_name'] }}",
        execution_timeout=timedelta(minutes=15),
        do_xcom_push=False,  # the notebook path is in the plan; nothing downstream reads it
    ).expand_kwargs(checks)
