"""Signing in and reading errors: the layer every live check stands on.

* :mod:`helpers.vault.credentials` — the one place that builds a credential (the backend's,
  the operator's), the credential pool, token claims;
* :mod:`helpers.vault.diagnose` — any Azure SDK exception as a finding.
"""

from helpers.vault.credentials import (
    ARM_SCOPE,
    AZURE_VARS,
    NETWORK_VARS,
    OPERATOR_CHOICES,
    OPERATOR_LABELS,
    VAULT_SCOPE,
    CredentialPlan,
    CredentialPool,
    Operator,
    backend_credential,
    decode_claims,
    environment_credential,
    identify,
    operator_credential,
    operator_from_environ,
)
from helpers.vault.diagnose import diagnose

__all__ = [
    "ARM_SCOPE",
    "AZURE_VARS",
    "NETWORK_VARS",
    "OPERATOR_CHOICES",
    "OPERATOR_LABELS",
    "VAULT_SCOPE",
    "CredentialPlan",
    "CredentialPool",
    "Operator",
    "backend_credential",
    "decode_claims",
    "diagnose",
    "environment_credential",
    "identify",
    "operator_credential",
    "operator_from_environ",
]
