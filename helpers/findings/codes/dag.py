"""AKV-DAG-*: DAG files: where secret lookups happen."""

from helpers.findings.core import Severity, define

__all__ = [
    "DAG_TOP_LEVEL_LOOKUP",
    "DAG_LOOKUP_CACHE_OFF",
    "DAG_LOOKUP_CACHED",
    "DAG_UNREADABLE",
    "DAG_DEFAULT_HIDES_ERRORS",
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
