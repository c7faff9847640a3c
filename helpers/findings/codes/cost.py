"""AKV-COST-*: what the Key Vault backend costs at run time (`akv-runbook cost`), measured
from the sandbox's request log while real Airflow parses DAG files and runs tasks."""

from helpers.findings.core import Severity, define

__all__ = [
    "COST_OVER_LIMIT",
    "COST_NEAR_LIMIT",
    "COST_PARSE_READS_VAULT",
    "COST_FILE_NOT_PARSED",
    "COST_MEASUREMENT_INCOMPLETE",
    "COST_CACHE_NOT_FOR_TASKS",
    "COST_NO_DAG_FILES",
    "COST_SUMMARY",
]

COST_OVER_LIMIT = define(
    "AKV-COST-001",
    Severity.ERROR,
    "Forecast above Key Vault's read limit",
    """
    With this configuration, parse interval, number of DAG processors and task volume, the
    DAG folder is forecast to make more secret GETs per 10 seconds than a vault serves (4,000
    per 10 s per vault). Past the limit Key Vault answers 429; the backend retries, parsing
    slows, DAGs time out and disappear, and tasks fail their lookups
    (apache/airflow#29486). The forecast multiplies counts measured with real Airflow parsing
    against the sandbox; it is not a guess from reading the code.
    """,
    """
    Apply the recommended configuration the report shows: move top-level Variable.get and
    connection lookups into tasks or templates ({{ var.value.name }}), and set
    AIRFLOW__SECRETS__USE_CACHE=True with a cache_ttl_seconds your rotation allows. A longer
    [dag_processor] min_file_process_interval divides parse-time reads too.
    """,
)

COST_NEAR_LIMIT = define(
    "AKV-COST-002",
    Severity.WARNING,
    "Forecast above half of Key Vault's read limit",
    """
    The forecast stays under 4,000 GETs per 10 s per vault, but above half of it: other
    readers of the same vault (applications, other Airflow deployments, a burst of task
    retries) share the limit, and a few more DAG files reach it.
    """,
    """
    Apply the recommended configuration the report shows before the folder grows, or give
    this deployment its own vault.
    """,
)

COST_PARSE_READS_VAULT = define(
    "AKV-COST-003",
    Severity.WARNING,
    "Parsing this DAG file reads Key Vault",
    """
    Measured: every parse of this file made the vault GETs the detail counts, and a token
    request, because each parse runs in a new process that signs in again. Files are parsed
    every [dag_processor] min_file_process_interval (30 s by default) by every DAG
    processor, and every task of the file parses it again on the worker before it runs — so
    a top-level lookup costs far more than the same lookup inside a task.
    """,
    """
    Move the lookups into the task callable or a template ({{ var.value.name }},
    {{ conn.my_conn.host }}): they then cost one GET per task run, on the worker. Where a
    value must be known at parse time, set AIRFLOW__SECRETS__USE_CACHE=True: the report's
    recommended column shows what the cache saves, measured.
    """,
)

COST_FILE_NOT_PARSED = define(
    "AKV-COST-004",
    Severity.WARNING,
    "A DAG file did not parse during the measurement",
    """
    Airflow's DAG processor reported an import error for this file against the sandbox, so
    its reads are counted only up to the failure (a lower bound: the totals and the forecast
    use them as they are) and its tasks were not run. The detail gives the error's last line.
    It may fail only here: secrets the file needs are placeholders in the sandbox.
    """,
    """
    Run `airflow dags list-import-errors` in your deployment, or parse the file locally;
    fix the error and measure again. A lookup of a secret the sandbox does not hold returns
    a placeholder value: a file that needs a particular value (JSON, a number) at parse time
    is another reason to move that lookup into a task.
    """,
)

COST_MEASUREMENT_INCOMPLETE = define(
    "AKV-COST-005",
    Severity.ERROR,
    "The measurement is incomplete",
    """
    Part of the measurement did not run to its end (a parse or sample task that did not
    finish in time, Airflow failing to start in the scratch home, or the sandbox's request
    log losing records before they were counted), so the counts the report gives are lower
    bounds.
    """,
    """
    Run `akv-runbook cost` again with fewer files or a longer --timeout; the detail names
    the step that failed.
    """,
)

COST_CACHE_NOT_FOR_TASKS = define(
    "AKV-COST-006",
    Severity.INFO,
    "The secrets cache does not reach task execution",
    """
    Measured: the sample task made the same vault GETs with [secrets] use_cache on as with it
    off. The cache is set up only by the DAG processor; a task's lookups (and the parse of
    its DAG file on the worker) always go to the vault. Token requests per task run are
    counted separately: Airflow 3.3.2's task runner builds the backend once per task process.
    """,
    """
    Nothing to configure: budget one GET per lookup per task run, and keep lookups out of
    the DAG file's top level so the worker's parse adds none.
    """,
)

COST_NO_DAG_FILES = define(
    "AKV-COST-007",
    Severity.WARNING,
    "No DAG files to measure",
    """
    The folder holds no Python file that Airflow would parse (Airflow skips files that do
    not mention both "airflow" and "dag", and whatever .airflowignore excludes).
    """,
    "Point --dags at the folder [core] dags_folder names in your deployment.",
)

COST_SUMMARY = define(
    "AKV-COST-008",
    Severity.OK,
    "Key Vault reads within the limit",
    """
    The forecast for this DAG folder, with the deployment's configuration, stays under half
    of Key Vault's 4,000 GETs per 10 s per vault.
    """,
    "Nothing to do; measure again when the folder or the parse interval changes.",
)
