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
    "WORKER_CONFIG",
    "WORKER_NO_BACKEND",
    "WORKER_SERVER_CONFIG_DIFFER",
    "WORKER_SERVER_DISAGREE",
    "SERVER_FALLBACK_AGREES",
    "SERVER_FALLBACK_FAILED",
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

WORKER_CONFIG = define(
    "AKV-RUN-013",
    Severity.OK,
    "Workers' secrets backend configuration read from inside a task",
    """
    A task read the configuration its own task runner builds the secrets backend from: [workers]
    secrets_backend and secrets_backend_kwargs, or [secrets] backend and backend_kwargs when
    [workers] sets no backend, with the per-key overrides and the AZURE_* variables the
    backend's DefaultAzureCredential sees. The detail says which section is in effect and where
    it points; problems with it are reported as their own findings next to this one.
    """,
    "Nothing to do.",
)

WORKER_NO_BACKEND = define(
    "AKV-RUN-014",
    Severity.ERROR,
    "Tasks have no custom secrets backend",
    """
    The task runner's chain of secrets backends holds only Airflow's own (environment variables,
    the Execution API): neither [workers] secrets_backend nor [secrets] backend is set where the
    task runs. Variable.get in a task then asks the API server, which reads the vault only if
    its own [secrets] backend is set — every lookup is a round trip through the API server.
    """,
    """
    Set AIRFLOW__SECRETS__BACKEND and AIRFLOW__SECRETS__BACKEND_KWARGS in the workers'
    environment too (or [workers] secrets_backend with its own kwargs); the detail names the
    backends the task runner loaded.
    """,
)

WORKER_SERVER_CONFIG_DIFFER = define(
    "AKV-RUN-015",
    Severity.ERROR,
    "Workers and the API server use different Key Vault settings",
    """
    Tasks read through the backend built from [workers] secrets_backend_kwargs, the scheduler
    and API server through [secrets] backend_kwargs. Here the two point at a different vault,
    prefix, separator or identity, so a task reads other secrets than the DAG processor and the
    API server do — and a variable the workers' backend does not find is asked from the API
    server, which reads it from its own vault: the task succeeds with a value from elsewhere.
    """,
    """
    Make [workers] secrets_backend_kwargs name the same vault_url, prefixes, sep and identity
    as [secrets] backend_kwargs (the detail names the keys that differ), or unset [workers]
    secrets_backend so that workers use [secrets].
    """,
)

WORKER_SERVER_DISAGREE = define(
    "AKV-RUN-016",
    Severity.ERROR,
    "The API server and the workers' backend read different things",
    """
    The same variable was read through the workers' own backend and asked from the API server
    through the Execution API (what a task gets when its own backends find nothing). The two
    answers differ: one finds the secret and the other does not, or the values differ (only
    fingerprints are compared). Workers and the API server read different vaults or prefixes,
    or use different identities.
    """,
    """
    Compare the workers' [workers] secrets_backend_kwargs (or [secrets], where they fall back to
    it) with the API server's [secrets] backend_kwargs and make them name the same vault and
    prefixes; the detail names the variable and both answers.
    """,
)

SERVER_FALLBACK_AGREES = define(
    "AKV-RUN-017",
    Severity.OK,
    "The API server's fallback agrees with the workers' backend",
    """
    A task asked the API server for the same variables through the Execution API (the fallback
    every task uses when its own backends find nothing); the server walked its [secrets] chain
    and answered as the workers' own backend did.
    """,
    "Nothing to do.",
)

SERVER_FALLBACK_FAILED = define(
    "AKV-RUN-018",
    Severity.ERROR,
    "The API server's fallback did not answer",
    """
    A variable request through the Execution API (GetVariable, what Variable.get sends when the
    task's own backends find nothing) was refused (401/403: the task's token may not read
    variables) or failed on the API server. Note that the API server logs a failing secrets
    backend and answers "not found": a 403 from its vault is seen here as a miss, in the API
    server's log as the error.
    """,
    """
    Read the API server's log at the time of the run; check the Execution API's authorisation
    (teams, the task's JWT) and that the API server's [secrets] backend can sign in.
    """,
)
