"""What the Key Vault backend costs at run time: vault GETs and token requests per DAG parse
and per task run, measured with real Airflow against the sandbox (``akv-runbook cost``).

- :mod:`.measure` — the measurement (scratch Airflow, private sandbox, two configurations);
- :mod:`.driver` — the measuring process (real DAG processor parsing, sample tasks);
- :mod:`.report` — counting request-log records, the forecast, AKV-COST-* findings.
"""

from helpers.cost.measure import DEFAULT_TTL, CostRequest, measure_cost, might_contain_dag
from helpers.cost.report import (
    CONFIGS,
    GETS_PER_10S_LIMIT,
    Config,
    CostReport,
    FileCost,
    Forecast,
    StepCount,
    TaskCost,
    count,
)

__all__ = [
    "CONFIGS",
    "DEFAULT_TTL",
    "GETS_PER_10S_LIMIT",
    "Config",
    "CostReport",
    "CostRequest",
    "FileCost",
    "Forecast",
    "StepCount",
    "TaskCost",
    "count",
    "measure_cost",
    "might_contain_dag",
]
