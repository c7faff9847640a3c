"""AKV-RUN-*: Runbook steps: packages, environment, samples, Airflow reads, the sample DAG."""

from helpers.findings.core import Severity, define

__all__ = [
    "PACKAGE_INSTALLED",
    "PACKAGE_MISSING",
    "ENV_DIFFERS",
    "SAMPLE_STORED",
    "SAMPLE_PRESENT",
    "AIRFLOW_READ",
    "AIRFLOW_READ_FAILED",
    "DAG_SUCCEEDED",
    "DAG_FAILED",
    "SKIPPED",
    "NO_GRANT_NEEDED",
    "ENVIRONMENT_UNAVAILABLE",
]

PACKAGE_INSTALLED = define(
    "AKV-RUN-001",
    Severity.OK,
    "Package installed",
    "The package the backend needs is importable in this environment, at the version shown.",
    "Nothing to do.",
)

PACKAGE_MISSING = define(
    "AKV-RUN-002",
    Severity.ERROR,
    "Package not installed",
    """
    Airflow loads the secrets backend from apache-airflow-providers-microsoft-azure, which
    signs in with azure-identity and reads with azure-keyvault-secrets. Without one of them
    every Airflow process fails to load the backend, or the runbook cannot check it.
    """,
    """
    Install it in the environment that runs Airflow (ADF / Fabric: "Airflow requirements"),
    e.g. pip install apache-airflow-providers-microsoft-azure; the provider pulls in the
    other two.
    """,
)

ENV_DIFFERS = define(
    "AKV-RUN-003",
    Severity.WARNING,
    "AZURE_* variable differs from the settings",
    """
    Airflow's backend signs in with what the AZURE_* environment variables hold, while the
    runbook checks the settings you entered. When the two differ, a check can pass here and
    Airflow still signs in as someone else (or fail the other way round).
    """,
    "Make the variable named in the subject hold the same value as the setting.",
)

SAMPLE_STORED = define(
    "AKV-RUN-004",
    Severity.OK,
    "Sample secret stored",
    """
    The sample secret did not exist, so the runbook stored one under the exact name the
    backend will request (as the sandbox's operator, who may write secrets).
    """,
    "Nothing to do.",
)

SAMPLE_PRESENT = define(
    "AKV-RUN-005",
    Severity.INFO,
    "Sample secret already in the vault",
    "A secret with the name the backend will request exists; the runbook left it unchanged.",
    "Nothing to do.",
)

AIRFLOW_READ = define(
    "AKV-RUN-006",
    Severity.OK,
    "Airflow read the value through the secrets backend",
    """
    A separate Python process with Airflow configured exactly by the rendered overrides (and
    nothing else) read the variable or connection: the configuration works end to end.
    """,
    "Nothing to do.",
)

AIRFLOW_READ_FAILED = define(
    "AKV-RUN-007",
    Severity.ERROR,
    "Airflow could not read the value",
    """
    Airflow logs a failing secrets backend and falls back to environment variables and the
    metastore, so Variable.get ends with "does not exist" (KeyError) whatever the real cause
    was. The detail and the findings next to this one name the cause Airflow logged.
    """,
    """
    Fix the cause named next to this finding (sign-in, permission, name), or compare the
    rendered configuration with what your deployment really sets (03_airflow_config).
    """,
)

DAG_SUCCEEDED = define(
    "AKV-RUN-008",
    Severity.OK,
    "Sample DAG run succeeded",
    """
    `airflow dags test akv_sample` ran the task in a scratch AIRFLOW_HOME configured by the
    rendered overrides; the task read sample-variable through Key Vault and logged only its
    length and a short hash.
    """,
    "Nothing to do.",
)

DAG_FAILED = define(
    "AKV-RUN-009",
    Severity.ERROR,
    "Sample DAG run failed",
    """
    `airflow dags test akv_sample` did not end in state=success. The detail shows the last
    meaningful line Airflow printed (secret values removed).
    """,
    """
    Read the detail: a KeyError for sample-variable means the backend could not read it
    (run 02_permissions and the retrieval steps above); an import error means the DAG or a
    provider is missing.
    """,
)

SKIPPED = define(
    "AKV-RUN-010",
    Severity.INFO,
    "Step skipped",
    "The step did not run; the detail says why and how to run it.",
    "See the detail.",
)

NO_GRANT_NEEDED = define(
    "AKV-RUN-011",
    Severity.OK,
    "No grant needed",
    "The backend's identity already reads the expected secrets, so nothing is granted.",
    "Nothing to do.",
)

ENVIRONMENT_UNAVAILABLE = define(
    "AKV-RUN-012",
    Severity.ERROR,
    "Runbook environment not available",
    """
    The runbook runs against the offline sandbox (environment = "sandbox") or against real
    Azure with this process's environment (environment = "azure"). The environment asked for
    is unknown, or the sandbox (or its control API, needed to act as its operator) could not
    be started or reached.
    """,
    """
    Use environment = "sandbox" or "azure". For the sandbox, start JupyterLab with `make
    lab`, or let the notebook start its own (unset AKV_SANDBOX_PORT); the detail names the
    error.
    """,
)
