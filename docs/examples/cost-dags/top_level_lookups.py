"""Reads three variables and a connection at the top level of the file: every parse of the
file (every DAG processor, every 30 s by default, and every task run on its worker) asks
Key Vault for each of them. The pattern to avoid (apache/airflow#29486)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Connection, Variable, task

BUCKET = Variable.get("reports_bucket")  # parse time: one GET per parse
RETENTION_DAYS = int(Variable.get("reports_retention_days"))  # parse time
OWNER = Variable.get("reports_owner", default="data-team")  # parse time
WAREHOUSE_HOST = Connection.get("reports_warehouse").host  # parse time

with DAG(
    "cost_top_level_lookups",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    default_args={"owner": OWNER},
    tags=["akv-runbook", "cost-example"],
):

    @task
    def export() -> str:
        return f"{WAREHOUSE_HOST} -> {BUCKET} ({RETENTION_DAYS} days)"

    export()
