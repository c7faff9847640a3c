"""Shared test helpers. The sandbox fixtures themselves come from helpers.sandbox.pytest_plugin."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Importing airflow writes $AIRFLOW_HOME/airflow.cfg: keep it out of the user's home.
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="akv-test-airflow-")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

import pytest
from azure.identity import ClientSecretCredential

from helpers.sandbox import Sandbox
from helpers.sandbox.certs import ensure_certificates

# aiohttp (the async Azure stack) builds its default SSL context from SSL_CERT_FILE when it is
# first imported, and many modules import it at collection time. Mint this process's sandbox
# CA now and point SSL_CERT_FILE at its bundle (public roots + sandbox CA) before that happens.
_STATE_DIR = Path(tempfile.mkdtemp(prefix="akv-test-sandbox-"))
os.environ["SSL_CERT_FILE"] = str(ensure_certificates(_STATE_DIR).bundle)

VAULT = "airflow-sandbox-kv"
POLICY_VAULT = "airflow-policy-kv"
SAMPLE = "airflow-variables-sample-variable"


@pytest.fixture(scope="session")
def akv_sandbox_session() -> Iterator[Sandbox]:
    """Overrides the plugin's fixture: the sandbox uses the CA minted above."""
    with Sandbox(state_dir=_STATE_DIR, ephemeral=True) as sandbox:
        yield sandbox


def vault_url(name: str = VAULT) -> str:
    return f"https://{name}.vault.azure.net/"


def credential_for(sandbox: Sandbox, principal: str) -> ClientSecretCredential:
    env = sandbox.client.env(principal)
    return ClientSecretCredential(
        env["AZURE_TENANT_ID"], env["AZURE_CLIENT_ID"], env["AZURE_CLIENT_SECRET"]
    )


@pytest.fixture
def backend_credential(akv_sandbox: Sandbox) -> ClientSecretCredential:
    return credential_for(akv_sandbox, "airflow-backend")


@pytest.fixture
def admin_credential(akv_sandbox: Sandbox) -> ClientSecretCredential:
    return credential_for(akv_sandbox, "admin")


@pytest.fixture
def scenario_env(akv_sandbox: Sandbox) -> dict[str, str]:
    return {
        k: os.environ[k] for k in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_SUBSCRIPTION_ID")
    }
