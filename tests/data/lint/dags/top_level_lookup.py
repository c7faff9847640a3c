"""A DAG that reads a variable at module level: a Key Vault GET on every parse."""

from datetime import datetime

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Variable

TARGET = Variable.get("sample-variable")


def use_it() -> int:
    return len(Variable.get("sample-variable", default="fallback"))


with DAG("top_level_lookup", start_date=datetime(2021, 1, 1), schedule=None):
    PythonOperator(task_id="use_it", python_callable=use_it)
