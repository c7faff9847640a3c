"""Self-check: run the check notebook once per environment of an inventory — or, without one,
check the deployment this DAG runs in from the workers' vantage point. Keep the evidence.

With an inventory
    ``plan_checks`` reads the inventory (``helpers.batch.inventory.load_inventory``) and returns
    one entry per environment; ``check_environment`` is a TaskFlow task mapped over them
    (``expand_kwargs``: one mapped task per environment, labelled with the environment's name).
    Each mapped task executes ``notebooks/check_environment.ipynb`` with papermill and the
    runbook's papermill engine (``helpers.common.papermill_engine``: secret-like parameters
    never reach the notebook) and ``fail_on_error=True``: the notebook's last cell raises when
    the check found an error-level finding, so that environment's task fails and the DagRun
    fails. The executed notebook is kept either way, with every finding (code, cause, fix) in
    its outputs::

        <report dir>/<run id>/<environment name>.ipynb

    ``check_worker`` is skipped.

Without an inventory (the workers' vantage point)
    ``check_worker`` checks the deployment it runs in, from inside the task
    (``helpers.probe.worker.check_worker``): the ``[workers]`` / ``[secrets]`` backend
    configuration and the ``AZURE_*`` environment exactly as this task's runner sees them
    (linted like ``akv-runbook config lint``); a read through the backend instances the task
    runner itself uses (a name that cannot exist: 404 proves read access; 403/401/network
    errors are findings); and the API server's fallback — the same names asked through the
    Execution API (``GetVariable``), flagging workers and API server that read different vaults
    or prefixes (AKV-RUN-015/016). Each finding (code, subject, detail, fix; never a value) is
    logged at its severity, and kept as a one-cell notebook whose output is the runbook's result
    payload::

        <report dir>/<run id>/worker.ipynb

    The task fails (AirflowFailException) on an error finding. ``plan_checks`` and
    ``check_environment`` are skipped.

    ``helpers.runbook.collect_results(path)`` reads the findings back from either notebook.

How to configure (environment variables of the worker; no Airflow Variable is needed, so it
works the same in ``airflow dags test``)
    ``AKV_SELFCHECK_INVENTORY``   path of the inventory YAML (docs/batch.md). The DAG param
                                  ``inventory`` overrides it for one run
                                  (``--conf '{"inventory": "/path/inventory.yaml"}'``).
                                  Unset and no param: the workers' vantage point.
    ``AKV_SELFCHECK_VARIABLES``   without an inventory: comma-separated variables that DAGs read
                                  from Key Vault, read through the workers' backend and asked
                                  from the API server (param ``variables``, a list, overrides).
    ``AKV_SELFCHECK_REPORT_DIR``  where the notebooks go; default ``$AIRFLOW_HOME/akv-selfcheck``.
                                  A local directory is created; a papermill URL (``abfs://``,
                                  ``s3://``) is used as is. With several workers, use storage
                                  they all see.
    ``AKV_SELFCHECK_NOTEBOOK``    the notebook to run; default the repository's
                                  ``notebooks/check_environment.ipynb`` next to this folder.
    ``AKV_SANDBOX_PORT``          set: the notebooks check the offline sandbox
                                  (``environment="sandbox"``); unset: Azure (``"azure"``).
    The client secrets stay in the environment variables the inventory names; the notebook
    parameters are only the inventory path, an environment name, "sandbox"/"azure" and a flag
    (papermill writes parameters into the executed notebook).

How to run
    ``AKV_SELFCHECK_INVENTORY=/path/inventory.yaml airflow dags test akv_selfcheck`` exits 0
    when every environment is healthy and 1 ("DagRun failed") when any is not; the failed
    environments' notebooks say why. ``airflow dags test akv_selfcheck`` (no inventory) checks
    this deployment's workers the same way.

Choices
    - Nothing heavy is imported and nothing is read at parse time (a DAG file is parsed every
      few seconds, on every DAG processor): papermill (with nbclient, nbformat, jupyter_client)
      and ``helpers`` (with the Azure SDKs) are imported inside the tasks;
      tests/test_dag_parse_imports.py keeps it so.
    - ``helpers`` is importable in the kernel too (``pip install -e .``). The kernel is
      ``python3``: the interpreter running Airflow.
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

from airflow.sdk import DAG, Param, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

DAG_ID = "akv_selfcheck"
INVENTORY_VAR = "AKV_SELFCHECK_INVENTORY"
VARIABLES_VAR = "AKV_SELFCHECK_VARIABLES"
REPORT_DIR_VAR = "AKV_SELFCHECK_REPORT_DIR"
NOTEBOOK_VAR = "AKV_SELFCHECK_NOTEBOOK"
SANDBOX_PORT_VAR = "AKV_SANDBOX_PORT"  # helpers.common.facts.SANDBOX_PORT_VAR
NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "check_environment.ipynb"
WORKER_REPORT = "worker.ipynb"
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


def _run_dir(context: Any) -> str:
    """``<report dir>/<run id>``, created when local (papermill does not create it)."""
    run_dir = f"{_report_dir().rstrip('/')}/{_safe(str(context['run_id']))}"
    if "://" not in run_dir:
        Path(run_dir).mkdir(parents=True, exist_ok=True)
    return run_dir


def _inventory(context: Any) -> str:
    """The inventory path of this run (the param, else the environment variable), or ""."""
    param = str((context.get("params") or {}).get("inventory") or "").strip()
    return param or os.environ.get(INVENTORY_VAR, "").strip()


@task
def plan_checks() -> list[dict[str, Any]]:
    """One ``{"parameters": ..., "output_nb": ...}`` per environment of the inventory."""
    # helpers pulls in the Azure SDKs: imported in the task, never at parse time
    from helpers.batch.inventory import load_inventory

    context = get_current_context()
    path = _inventory(context)
    if not path:
        raise AirflowSkipException(
            f"No inventory (set {INVENTORY_VAR} or trigger with --conf "
            '\'{"inventory": "/path/inventory.yaml"}\'): check_worker checks this deployment '
            "from the workers' vantage point instead"
        )
    path = str(Path(path).expanduser().resolve())
    inventory = load_inventory(path)
    if not inventory.usable:
        problems = "; ".join(f"{f.code} {f.title}: {f.detail}" for f in inventory.findings)
        raise AirflowFailException(f"The inventory {path} is unusable: {problems}")
    if not inventory.environments:
        raise AirflowFailException(f"The inventory {path} lists no environments")

    environment = "sandbox" if os.environ.get(SANDBOX_PORT_VAR) else "azure"
    run_dir = _run_dir(context)
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


@task(
    map_index_template="{{ task.op_kwargs['parameters']['env_name'] }}",
    execution_timeout=timedelta(minutes=15),
    do_xcom_push=False,  # the notebook path is in the plan; nothing downstream reads it
)
def check_environment(parameters: dict[str, Any], output_nb: str) -> None:
    """Execute the check notebook for one environment into ``output_nb``; a FindingsError in
    the notebook (an error finding) fails this mapped task, the notebook is kept either way."""
    # papermill (with nbclient, nbformat, jupyter_client) takes seconds to import and the
    # engine module pulls in helpers: imported here, in the task, never when the DAG
    # processor parses this file (tests/test_dag_parse_imports.py)
    import papermill as pm

    from helpers.common.papermill_engine import register

    pm.execute_notebook(
        os.environ.get(NOTEBOOK_VAR) or str(NOTEBOOK),
        output_nb,
        parameters=parameters,
        engine_name=register(),  # secret-like parameters never reach the notebook
        kernel_name="python3",
        progress_bar=False,
        report_mode=True,
        log_output=False,
    )


@task
def check_worker() -> None:
    """Without an inventory: this deployment, from the workers' vantage point (see above)."""
    context = get_current_context()
    if _inventory(context):
        raise AirflowSkipException("An inventory is configured: check_environment checks it")
    # helpers pulls in the Azure SDKs: imported in the task, never at parse time
    from helpers.probe.worker import check_worker as run_check
    from helpers.probe.worker import log_findings, write_report

    listed = (context.get("params") or {}).get("variables") or os.environ.get(VARIABLES_VAR, "")
    names = listed.split(",") if isinstance(listed, str) else [str(n) for n in listed]
    check = run_check(names)
    log_findings(check.findings, log)
    path = write_report(check, f"{_run_dir(context)}/{WORKER_REPORT}")
    log.info("The findings are kept in %s (helpers.runbook.collect_results reads them)", path)
    if not check.ok:
        codes = ", ".join(f.code for f in check.errors)
        raise AirflowFailException(
            f"{len(check.errors)} error finding(s): {codes} (see the log above and {path})"
        )


with DAG(
    DAG_ID,
    default_args={"depends_on_past": False, "retries": 0},
    description="Checks each environment of an inventory, or this deployment's workers",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={
        "inventory": Param(
            "",
            type="string",
            description=f"Inventory YAML path; empty: the {INVENTORY_VAR} environment variable",
        ),
        "variables": Param(
            [],
            type="array",
            description=f"Without an inventory: variables to compare; empty: {VARIABLES_VAR}",
        ),
    },
    tags=["akv-runbook"],
    doc_md=__doc__,
) as dag:
    check_worker()
    check_environment.expand_kwargs(plan_checks())
