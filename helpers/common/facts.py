"""Facts that finding texts and code both need, kept below every other layer."""

import re

__all__ = [
    "ENV_NAME_RE",
    "GUID_RE",
    "BACKEND_CLASS",
    "DEFAULT_ENV_TIMEOUT",
    "MAX_ENV_TIMEOUT",
    "OLD_BACKEND_CLASS",
    "RUNBOOK_STATE_VAR",
    "SANDBOX_PORT_VAR",
    "SANDBOX_STATE_VAR",
]

BACKEND_CLASS = "airflow.providers.microsoft.azure.secrets.key_vault.AzureKeyVaultBackend"
OLD_BACKEND_CLASS = "airflow.providers.microsoft.azure.secrets.azure_key_vault.AzureKeyVaultBackend"
DEFAULT_ENV_TIMEOUT = 60.0  # seconds for the whole check of one environment
MAX_ENV_TIMEOUT = 3600.0
SANDBOX_PORT_VAR = "AKV_SANDBOX_PORT"  # a running sandbox that notebooks reuse
SANDBOX_STATE_VAR = "AKV_SANDBOX_STATE_DIR"
RUNBOOK_STATE_VAR = "AKV_RUNBOOK_STATE_DIR"  # this installation's state: the fingerprint key

GUID_RE = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\Z")
ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
