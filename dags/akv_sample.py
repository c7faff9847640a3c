"""The seed document's sample DAG, rewritten for Airflow 3.

What changed from the seed's ``adf.py`` and why:
- ``airflow.operators.python_operator`` is gone in Airflow 3: PythonOperator lives in
  ``airflow.providers.standard.operators.python``; DAG and Variable come from ``airflow.sdk``.
- ``schedule_interval=`` was removed in Airflow 3: use ``schedule=``.
- The ``email*`` default_args are deprecated; they are dropped here.
- The seed logged the variable's value. Airflow masks known secrets only in task logs, not
  in anything else a task writes, so this DAG logs a length instead — and, where the runbook
  is installed beside it, the runbook's keyed fingerprint, so its checks can compare the
  value with their own read. A plain hash would not do: a short secret is found again from
  its unkeyed hash with a list of likely passwords.
- ``Variable.get`` stays inside the task: at module top level it would hit Key Vault on every
  DAG parse (apache/airflow#29486).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Variable

log = logging.getLogger(__name__)


def _shown(value: str) -> str:
    """``len=44 hmac=…`` beside the runbook (its keyed fingerprint), else ``len=44``."""
    try:
        from helpers.common.redact import fingerprint  # the runbook, when installed here
    except ImportError:
        return f"len={len(value.encode('utf-8'))}"
    return fingerprint(value)


def retrieve_variable_from_akv() -> int:
    value = Variable.get("sample-variable")
    log.info("Read sample-variable from Key Vault: %s", _shown(value))
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
