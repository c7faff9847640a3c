"""The sandbox: an offline, wire-compatible Entra ID + Key Vault + ARM + Graph emulator
(client secrets, managed identity and workload identity).

Unmodified Azure SDKs and the Airflow backend reach it through ``HTTPS_PROXY`` and a CA
bundle; see docs/sandbox.md and docs/sandbox-parity.md.
"""

from .runtime import (
    CREDENTIAL_KINDS,
    CREDENTIAL_VARS,
    DEFAULT_PORT,
    Sandbox,
    SandboxClient,
    SandboxNotRunning,
    default_state_dir,
    proxy_environment,
)
from .scenario import Scenario, ScenarioError, load_scenario

__all__ = [
    "CREDENTIAL_KINDS",
    "CREDENTIAL_VARS",
    "DEFAULT_PORT",
    "Sandbox",
    "SandboxClient",
    "SandboxNotRunning",
    "Scenario",
    "ScenarioError",
    "default_state_dir",
    "load_scenario",
    "proxy_environment",
]
