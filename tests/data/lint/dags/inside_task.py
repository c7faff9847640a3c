"""A DAG that reads its variable inside the task: no parse-time lookup."""

from datetime import datetime

from airflow.sdk import DAG, Variable, task

with DAG("inside_task", start_date=datetime(2021, 1, 1), schedule=None):

    @task
    def read() -> int:
        return len(Variable.get("sample-variable"))

    read()
