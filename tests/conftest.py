"""Shared test helpers. The sandbox fixtures themselves come from helpers.sandbox.pytest_plugin.

Collection stays fast: nothing here imports a heavy SDK at module level, and test modules
import Airflow, papermill, nbformat, IPython and the ARM SDKs inside the tests that use them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

# Importing airflow writes $AIRFLOW_HOME/airflow.cfg: keep it out of the user's home.
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="akv-test-airflow-")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

import pytest

from helpers.sandbox import Sandbox
from helpers.sandbox.certs import ensure_certificates

if TYPE_CHECKING:
    from azure.identity import ClientSecretCredential

VAULT = "airflow-sandbox-kv"
POLICY_VAULT = "airflow-policy-kv"
SAMPLE = "airflow-variables-sample-variable"

_STATE_DIR = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """Mint this process's sandbox CA and point SSL_CERT_FILE at its bundle.

    aiohttp (the async Azure stack) builds its default SSL context from SSL_CERT_FILE when it
    is first imported, which may happen while test modules are collected; pytest_configure
    runs before any test module is imported. Minting takes milliseconds (helpers.sandbox is
    already imported by the plugin entry point); the sandbox itself starts only when a test
    asks for it.
    """
    state_dir = Path(tempfile.mkdtemp(prefix="akv-test-sandbox-"))
    os.environ["SSL_CERT_FILE"] = str(ensure_certificates(state_dir).bundle)
    config.stash[_STATE_DIR] = state_dir


@pytest.fixture(scope="session")
def akv_sandbox_session(pytestconfig: pytest.Config) -> Iterator[Sandbox]:
    """Overrides the plugin's fixture: the sandbox uses the CA minted in pytest_configure."""
    with Sandbox(state_dir=pytestconfig.stash[_STATE_DIR], ephemeral=True) as sandbox:
        yield sandbox


def vault_url(name: str = VAULT) -> str:
    return f"https://{name}.vault.azure.net/"


def credential_for(sandbox: Sandbox, principal: str) -> ClientSecretCredential:
    from azure.identity import ClientSecretCredential

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
