"""Airflow's own AzureKeyVaultBackend, built the way Airflow builds it, for the probe's reads.

Airflow is imported here only (a heavy optional dependency), on the first backend read; the
first import gets a scratch AIRFLOW_HOME so that probing never touches a real one.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from collections.abc import Mapping
from typing import Any

from helpers.backend_config.identity import identity_of, kind_of
from helpers.backend_config.names import Kind
from helpers.settings import Credential, Settings
from helpers.vault.credentials import AZURE_VARS, locked_environ

__all__ = ["backend_environ", "build_backend", "load_backend_class", "parse_connection"]


def load_backend_class() -> type:
    """AzureKeyVaultBackend; a first airflow import gets a scratch AIRFLOW_HOME."""
    if "airflow" in sys.modules:
        # Airflow is heavy and optional: imported only when the backend is read through
        from airflow.providers.microsoft.azure.secrets.key_vault import AzureKeyVaultBackend

        return AzureKeyVaultBackend
    scratch = tempfile.mkdtemp(prefix="akv-probe-airflow-")
    # Airflow keeps using its home for the life of the process: remove it at exit.
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    with locked_environ({"AIRFLOW_HOME": scratch, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}):
        # Airflow is heavy and optional: imported only when the backend is read through
        from airflow.providers.microsoft.azure.secrets.key_vault import AzureKeyVaultBackend

    return AzureKeyVaultBackend


def backend_environ(settings: Settings, env: Mapping[str, str]) -> dict[str, str | None]:
    """The AZURE_* variables the backend's DefaultAzureCredential would sign in with."""
    s = settings
    kind = kind_of(s)
    out: dict[str, str | None] = {k: env.get(k) for k in AZURE_VARS}
    if kind is Credential.CLIENT_SECRET:
        out.update(
            AZURE_TENANT_ID=s.tenant_id,
            AZURE_CLIENT_ID=s.client_id,
            AZURE_CLIENT_SECRET=env.get(s.client_secret_env or "") or None,
            AZURE_TOKEN_CREDENTIALS="environmentcredential",
        )
    elif kind is Credential.MANAGED_IDENTITY:
        out.update(
            AZURE_CLIENT_ID=identity_of(s)[0] or None,
            AZURE_CLIENT_SECRET=None,
            AZURE_TOKEN_CREDENTIALS="managedidentitycredential",
        )
    else:
        out.update(
            AZURE_TENANT_ID=identity_of(s)[1],
            AZURE_CLIENT_ID=identity_of(s)[0],
            AZURE_CLIENT_SECRET=None,
            AZURE_TOKEN_CREDENTIALS="workloadidentitycredential",
        )
        if s.federated_token_file:
            out["AZURE_FEDERATED_TOKEN_FILE"] = s.federated_token_file
    return out


def build_backend(settings: Settings, transport: Mapping[str, Any]) -> Any:
    """An AzureKeyVaultBackend with the settings' backend_kwargs and bounded transport."""
    s = settings
    backend_class = load_backend_class()
    kwargs: dict[str, Any] = {
        "connections_prefix": s.connections_prefix,
        "variables_prefix": s.variables_prefix,
        "config_prefix": s.config_prefix,
        "vault_url": s.vault_url,
        "sep": s.sep,
        **transport,
    }
    if s.credential == Credential.WORKLOAD_IDENTITY:
        kwargs["managed_identity_client_id"], kwargs["workload_identity_tenant_id"] = identity_of(s)
    return backend_class(**kwargs)


def parse_connection(backend: Any, kind: Kind, key: str, value: str) -> str | None:
    """None when Airflow can build a Connection from the value, else the error TYPE only."""
    if kind is not Kind.CONNECTION:
        return None
    try:
        backend.deserialize_connection(key, value)
    except Exception as err:  # noqa: BLE001 - the message may quote the value: type only
        return f"{type(err).__name__} while parsing"
    return None
