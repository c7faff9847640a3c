"""The seed document's sample DAG, rewritten for Airflow 3.

What changed from the seed's ``adf.py`` and why:
- ``airflow.operators.python_operator`` is gone in Airflow 3: PythonOperator lives in
  ``airflow.providers.standard.operators.python``; DAG and Variable come from ``airflow.sdk``.
- ``schedule_interval=`` was removed in Airflow 3: use ``schedule=``.
- The ``email*`` default_args are deprecated; they are dropped here.
- The seed logged the variable's value. Airflow masks known secrets only in task logs, not
  in anything else a task writes, so this DAG logs a length and a short hash instead.
- ``Variable.get`` stays inside the task: at module top level it would hit Key Vault on every
  DAG parse (apache/airflow#29486).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Variable

log = logging.getLogger(__name__)


def retrieve_variable_from_akv() -> int:
    value = Variable.get("sample-variable")
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]
    log.info("Read sample-variable from Key Vault: len=%d sha256=%s", len(value), digest)
    return len(value)


with DAG(
    "akv_sample",
    default_args={"depends_on_past": False, "retries": 0},
    description="Reads a variable through the Azure Key Vault secrets backend",
    schedule=timedelta(days=1),
    start_date=datetime(2021, 1, 1),
    catchup=False,
    tags=["example", "akv-runbook"],
) as dag:
    get_variable_task = PythonOperator(
        task_id="get_variable",
        python_callable=retrieve_variable_from_akv,
    )
