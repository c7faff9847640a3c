"""AKV-DAG-*: DAG files: where secret lookups happen, what breaks on Airflow 3, what leaks."""

from helpers.findings.core import Severity, define

__all__ = [
    "DAG_TOP_LEVEL_LOOKUP",
    "DAG_LOOKUP_CACHE_OFF",
    "DAG_LOOKUP_CACHED",
    "DAG_UNREADABLE",
    "DAG_DEFAULT_HIDES_ERRORS",
    "DAG_IMPORT_REMOVED",
    "DAG_ARGUMENT_REMOVED",
    "DAG_DEPRECATED",
    "DAG_LOGS_SECRET",
]

DAG_TOP_LEVEL_LOOKUP = define(
    "AKV-DAG-001",
    Severity.WARNING,
    "Variable or connection read at DAG parse time",
    """
    Code at module level (including default_args and `with DAG(...)` blocks) runs on every
    parse of the file — every 30 s per file by default, in every DAG processor. Each
    Variable.get or connection lookup there is a Key Vault GET per parse; with many files
    the vault throttles (4,000 reads per 10 s) and parsing slows or fails
    (apache/airflow#29486). The custom backend is asked before environment variables, so
    even AIRFLOW_VAR_* lookups cost a GET.
    """,
    """
    Move the lookup into the task (inside the callable or a template like
    {{ var.value.my_var }}). If it must stay, set [secrets] use_cache = True
    (AIRFLOW__SECRETS__USE_CACHE=True) so parse-time lookups are cached for
    cache_ttl_seconds (900 by default).
    """,
)

DAG_LOOKUP_CACHE_OFF = define(
    "AKV-DAG-002",
    Severity.ERROR,
    "Parse-time lookup with the secrets cache off",
    """
    [secrets] use_cache is off, so every parse of this file fetches from Key Vault. Across a
    DAG folder that is thousands of GETs per hour, which Key Vault throttles (429) — then
    parsing stalls and DAGs disappear from the UI (apache/airflow#29486).
    """,
    """
    Move the lookup into the task; until then set AIRFLOW__SECRETS__USE_CACHE=True (and
    optionally AIRFLOW__SECRETS__CACHE_TTL_SECONDS).
    """,
)

DAG_LOOKUP_CACHED = define(
    "AKV-DAG-003",
    Severity.INFO,
    "Parse-time lookup, cached",
    """
    [secrets] use_cache is on, so this lookup costs one GET per cache_ttl_seconds per DAG
    processor rather than one per parse. The value is still fixed at parse time and a
    rotated secret is picked up only after the TTL.
    """,
    "Prefer reading it inside the task.",
)

DAG_UNREADABLE = define(
    "AKV-DAG-004",
    Severity.ERROR,
    "DAG file or folder cannot be read",
    """
    The path does not exist, cannot be read or is not valid Python, so it was not linted
    (and Airflow cannot import a file that does not parse either).
    """,
    "Fix the path or the syntax error in the detail.",
)

DAG_DEFAULT_HIDES_ERRORS = define(
    "AKV-DAG-005",
    Severity.INFO,
    "Variable.get with a default hides vault errors",
    """
    airflow.sdk Variable.get(key, default=...) logs a backend exception and tries the next
    backend: a 403 (missing role), a firewall block or a wrong vault URL silently returns the
    default and the task carries on with it.
    """,
    "Drop the default for values that must come from the vault, so a failure fails the task.",
)

DAG_IMPORT_REMOVED = define(
    "AKV-DAG-006",
    Severity.ERROR,
    "Import removed in Airflow 3",
    """
    The module no longer exists in Airflow 3, so importing the DAG file fails with
    ModuleNotFoundError and the DAG never appears (an import error in the UI). The seed
    document's adf.py imports airflow.operators.python_operator, gone since 3.0; the Airflow 2
    module aliases (*_operator, *_sensor, airflow.hooks.base_hook, airflow.contrib) all went,
    and the core operators moved to the apache-airflow-providers-standard package. An
    environment still on Airflow 2 (an existing ADF Workflow Orchestration Manager) runs it,
    but it breaks on the upgrade.
    """,
    """
    Import from the Airflow 3 home in the detail, e.g. `from
    airflow.providers.standard.operators.python import PythonOperator` and `from airflow.sdk
    import DAG, Variable` (dags/akv_sample.py is the seed's DAG rewritten). `ruff check
    --select AIR3 --preview` finds the remaining Airflow 3 changes.
    """,
)

DAG_ARGUMENT_REMOVED = define(
    "AKV-DAG-007",
    Severity.ERROR,
    "DAG or operator argument removed in Airflow 3",
    """
    Airflow 3 dropped the argument, so building the DAG fails with "TypeError: ... got an
    unexpected keyword argument" and the file does not load. The seed's adf.py passes
    schedule_interval=, which 3.0 removed in favour of schedule=; timetable= (also schedule=),
    concurrency= (max_active_tasks=), fail_stop= (fail_fast=), default_view=, orientation= and
    full_filepath= went too, and operators no longer take task_concurrency=
    (max_active_tis_per_dag=) or provide_context= (the context is passed anyway).
    """,
    "Rename or drop the argument as the detail says (schedule_interval=... becomes schedule=...).",
)

DAG_DEPRECATED = define(
    "AKV-DAG-008",
    Severity.WARNING,
    "Airflow 2 API deprecated in Airflow 3",
    """
    It still works on Airflow 3.3 but warns and goes in Airflow 4: DAG code should import
    Variable, DAG, Connection and BaseHook from airflow.sdk (airflow.models.Variable is the
    server's model; inside a task it forwards to airflow.sdk.Variable with a
    DeprecationWarning), operators from their provider packages, and the email* task arguments
    (email, email_on_failure, email_on_retry) and SLAs are deprecated (SmtpNotifier, Deadline
    Alerts).
    """,
    "Use the replacement in the detail; dags/akv_sample.py shows the seed's DAG on Airflow 3.",
)

DAG_LOGS_SECRET = define(
    "AKV-DAG-009",
    Severity.ERROR,
    "DAG logs or prints a secret value",
    """
    A value read from Key Vault (Variable.get, a connection's password, extra or URI) is
    passed to print() or a logger, so the secret lands in the task log and wherever logs are
    shipped. The seed document's adf.py does exactly this (logger.info(variable_value)).
    Airflow masks only values it knows are secret — connection passwords and variables whose
    name looks sensitive (password, secret, token, ...) — and only in task logs, so a variable
    named sample-variable is written in clear, as is anything a task prints to a file or
    passes to another system.
    """,
    """
    Log that the value was read, not the value: its length, or a keyed hash if two runs must
    be compared (dags/akv_sample.py logs len=...). Never print a connection's password or URI.
    """,
)
