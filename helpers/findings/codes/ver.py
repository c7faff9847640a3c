"""AKV-VER-*: Provider / Airflow / Python version compatibility."""

from helpers.findings.core import Severity, define

__all__ = [
    "PROVIDER_NEEDS_AIRFLOW",
    "PROVIDER_NEEDS_PYTHON",
    "REAUTH_PER_LOOKUP",
    "PROVIDER_SENDS_INVALID_NAMES",
]

PROVIDER_NEEDS_AIRFLOW = define(
    "AKV-VER-001",
    Severity.ERROR,
    "Provider version needs a newer Airflow",
    """
    Each apache-airflow-providers-microsoft-azure release has a minimum Airflow version and
    refuses to import below it (RuntimeError "needs Apache Airflow X+"), or pip upgrades
    Airflow itself to satisfy it. Airflow 2.6.3 (ADF Data workflows) can use provider 10.0.0
    at most; provider 15.x needs Airflow 2.11 or newer.
    """,
    "Pin the provider to a version your Airflow supports (see the detail), or upgrade Airflow.",
)

PROVIDER_NEEDS_PYTHON = define(
    "AKV-VER-002",
    Severity.ERROR,
    "Provider version needs a newer Python",
    "Provider 15.x requires Python 3.11 or newer; pip will not install it on older Pythons.",
    "Use Python 3.11+ or an older provider that matches your Airflow.",
)

REAUTH_PER_LOOKUP = define(
    "AKV-VER-003",
    Severity.INFO,
    "Airflow 3.3.1 and older re-authenticate on every lookup",
    """
    Before Airflow 3.3.2 (Task SDK 1.3.2) tasks built a new backend — and a new credential
    and token — for every variable or connection lookup (apache/airflow PR #71756): one
    token request per lookup, slower tasks and Entra ID throttling under load.
    """,
    "Upgrade to Airflow 3.3.2 or newer.",
)

PROVIDER_SENDS_INVALID_NAMES = define(
    "AKV-VER-004",
    Severity.INFO,
    "Provider older than 13.3.0 sends invalid secret names to the vault",
    """
    Since provider 13.3.0 a name that Key Vault cannot hold (dots, slashes, over 127
    characters) is skipped with a WARNING; older providers send it and get 400 BadParameter,
    which surfaces as an error in the task (apache/airflow#67157).
    """,
    "Upgrade the provider where your Airflow allows, or avoid such ids.",
)
