"""AKV-SVC-*: The service and the runbook itself: throttling, service errors, unexpected errors."""

from helpers.findings.core import Severity, define

__all__ = [
    "THROTTLED",
    "SERVICE_ERROR",
    "UNEXPECTED",
    "BACKEND_UNAVAILABLE",
]

THROTTLED = define(
    "AKV-SVC-001",
    Severity.ERROR,
    "Throttled (429 Too Many Requests)",
    """
    The service answered 429 beyond the client's retries. Key Vault allows about 4,000 GETs
    per 10 seconds per vault; Airflow exceeds it when DAG files call Variable.get at module
    top level (every parse of every file hits the vault) or many tasks start at once, and
    every lookup — even of AIRFLOW_VAR_* variables — asks the vault first.
    """,
    """
    Move Variable.get into task code or templates, turn on [secrets] use_cache, set a bounded
    "retry_total" in backend_kwargs, and split heavy workloads across vaults. Honour the
    Retry-After shown in the detail before probing again.
    """,
)

SERVICE_ERROR = define(
    "AKV-SVC-002",
    Severity.ERROR,
    "Service error (5xx)",
    """
    The service answered with a server error beyond the client's retries. This is usually
    transient (an outage or a failover); if it persists, check Azure status and the vault's
    resource health.
    """,
    """
    Retry later; check https://status.azure.com and the vault's "Resource health" page; keep
    a bounded retry_total in backend_kwargs so that Airflow does not stall on it.
    """,
)

UNEXPECTED = define(
    "AKV-SVC-003",
    Severity.ERROR,
    "Unexpected error",
    """
    Something failed that the runbook has no diagnosis for. The detail shows the exception
    type and its message with anything secret-looking removed.
    """,
    """
    Read the exception type and message; run the same lookup with AZURE_HTTP_LOGGING_LEVEL
    =DEBUG for the HTTP exchange, and report it if it looks like a runbook bug.
    """,
)

BACKEND_UNAVAILABLE = define(
    "AKV-SVC-004",
    Severity.ERROR,
    "Airflow's AzureKeyVaultBackend could not be loaded",
    """
    The probe could not import or build
    airflow.providers.microsoft.azure.secrets.key_vault.AzureKeyVaultBackend, so the reads
    through Airflow's own code path were skipped. Airflow or
    apache-airflow-providers-microsoft-azure is missing or broken in this environment.
    """,
    """
    Install apache-airflow-providers-microsoft-azure in the environment that runs the probe
    (same version as your Airflow deployment), or probe with through_backend=False.
    """,
)
