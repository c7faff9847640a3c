"""A template instead of a lookup: ``{{ var.value.reports_bucket }}`` is rendered when the
task runs, so parsing reads nothing and the task reads once."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG(
    "cost_templated",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["akv-runbook", "cost-example"],
):
    BashOperator(
        task_id="upload",
        bash_command='echo "uploading to {{ var.value.reports_bucket }}" | wc -c',
    )
