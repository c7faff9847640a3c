"""One DAG per team, each reading its own variable at the top level: the parse-time cost
grows with the list (here five GETs per parse) — a common way a folder reaches Key Vault's
limit without anyone writing many lookups by hand."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Variable, task

TEAMS = ["finance", "sales", "marketing", "support", "ops"]

for team in TEAMS:
    owner = Variable.get(f"{team}_owner", default=team)  # parse time, per team
    with DAG(
        f"cost_team_{team}",
        schedule="@daily",
        start_date=datetime(2024, 1, 1),
        catchup=False,
        default_args={"owner": owner},
        tags=["akv-runbook", "cost-example"],
    ):

        @task
        def report(team: str = team) -> str:
            return team

        report()
