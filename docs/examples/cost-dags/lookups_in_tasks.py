"""The same work with every lookup inside the task: parsing reads nothing from Key Vault,
and each task run reads once per lookup, on the worker."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Connection, Variable, task

with DAG(
    "cost_lookups_in_tasks",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["akv-runbook", "cost-example"],
):

    @task
    def export() -> str:
        bucket = Variable.get("reports_bucket")  # run time: once per task run
        retention = int(Variable.get("reports_retention_days"))
        host = Connection.get("reports_warehouse").host
        return f"{host} -> {bucket} ({retention} days)"

    export()
