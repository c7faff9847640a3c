"""The live check of one environment: sign in -> reach -> read -> backend -> roles, as findings.

* :func:`probe` (:mod:`helpers.probe.run`) — one environment, never raises;
* :class:`ProbeResult` (:mod:`helpers.probe.result`);
* :func:`load_backend_class` (:mod:`helpers.probe.backend`) — Airflow's AzureKeyVaultBackend;
* :func:`wait_for_access` (:mod:`helpers.probe.wait`) — re-probe until a grant takes effect;
* :func:`check_worker` (:mod:`helpers.probe.worker`) — from inside a task: the workers'
  configuration, a read through the task runner's own backend, the API server's fallback.

Credentials come from :mod:`helpers.vault.credentials`, exception -> finding from
:mod:`helpers.vault.diagnose`; both are re-exported here for callers of the probe.
"""

from helpers.probe.backend import load_backend_class
from helpers.probe.result import ProbeResult
from helpers.probe.run import DEFAULT_TIMEOUT, STOPS_READS, probe
from helpers.probe.wait import Progress, wait_for_access
from helpers.probe.worker import WorkerCheck, check_worker
from helpers.roles import AUTHORIZED_CODES, FORBIDDEN_CODES
from helpers.vault.credentials import (
    AZURE_VARS,
    NETWORK_VARS,
    VAULT_SCOPE,
    CredentialPool,
    decode_claims,
)
from helpers.vault.diagnose import diagnose

__all__ = [
    "AUTHORIZED_CODES",
    "AZURE_VARS",
    "DEFAULT_TIMEOUT",
    "FORBIDDEN_CODES",
    "NETWORK_VARS",
    "STOPS_READS",
    "VAULT_SCOPE",
    "CredentialPool",
    "ProbeResult",
    "Progress",
    "WorkerCheck",
    "check_worker",
    "decode_claims",
    "diagnose",
    "load_backend_class",
    "probe",
    "wait_for_access",
]
