"""AKV-RENDER-*: Rendering the configuration overrides for a target."""

from helpers.findings.core import Severity, alias, define

__all__ = [
    "IDENTITY_VALUE_MISSING",
    "AIRFLOW_VERSION_ASSUMED",
    "MANAGED_IDENTITY_WITHOUT_TENANT",
    "WORKLOAD_IDENTITY_OUTSIDE_KUBERNETES",
    "SOVEREIGN_AUTHORITY",
    "PROVIDER_TOO_OLD_FOR_KWARGS",
    "ALL_LOOKUPS_DISABLED",
    "SECRET_REFERENCE_INVALID",
]

IDENTITY_VALUE_MISSING = define(
    "AKV-RENDER-002",
    Severity.ERROR,
    "Tenant or client id missing; a placeholder was written",
    """
    The chosen credential needs the directory (tenant) id and the application (client) id of
    the identity that reads the vault. The rendered configuration carries a placeholder where
    a value is missing, and will not authenticate until it is replaced.
    """,
    """
    Set tenant_id and client_id in the settings (Entra ID > App registrations > the app >
    Overview: "Directory (tenant) ID" and "Application (client) ID"; for a managed identity,
    its "Client ID") and render again.
    """,
)

AIRFLOW_VERSION_ASSUMED = define(
    "AKV-RENDER-006",
    Severity.INFO,
    "Airflow version assumed for this target",
    """
    The settings do not give airflow_version, so the renderer assumed the version the hosted
    target runs (ADF Workflow Orchestration Manager: 2.6.3; Fabric Apache Airflow jobs:
    2.10.5) to cap the provider requirement.
    """,
    """
    Set airflow_version in the settings to the environment's actual version.
    """,
)

MANAGED_IDENTITY_WITHOUT_TENANT = define(
    "AKV-RENDER-007",
    Severity.INFO,
    "User-assigned identity selected through AZURE_CLIENT_ID",
    """
    The provider passes managed_identity_client_id to DefaultAzureCredential only together
    with workload_identity_tenant_id; alone it is silently ignored. Without a tenant id the
    renderer selects the user-assigned identity through AZURE_CLIENT_ID instead, which
    DefaultAzureCredential's managed identity step reads.
    """,
    """
    Nothing to do, or set tenant_id to render both kwargs explicitly.
    """,
)

WORKLOAD_IDENTITY_OUTSIDE_KUBERNETES = define(
    "AKV-RENDER-008",
    Severity.WARNING,
    "Workload identity needs Kubernetes with the Azure Workload Identity webhook",
    """
    Workload identity exchanges a Kubernetes service account token (AZURE_FEDERATED_TOKEN_FILE,
    injected by the Azure Workload Identity webhook on AKS) for an Entra ID token. This
    target does not run on such a cluster by itself, so DefaultAzureCredential finds no token
    file and falls through to other credentials.
    """,
    """
    Use the Helm target on AKS with workload identity enabled, or choose managed_identity or
    client_secret for this target; outside AKS, mount a federated token and set
    AZURE_FEDERATED_TOKEN_FILE yourself.
    """,
)

SOVEREIGN_AUTHORITY = define(
    "AKV-RENDER-009",
    Severity.INFO,
    "Sovereign cloud: AZURE_AUTHORITY_HOST rendered",
    """
    A vault in Azure China (vault.azure.cn) or Azure Government (vault.usgovcloudapi.net)
    trusts tokens from that cloud's Entra ID only. azure-identity signs in at
    login.microsoftonline.com unless AZURE_AUTHORITY_HOST names the cloud's authority, so the
    renderer adds it.
    """,
    """
    Nothing to do; keep AZURE_AUTHORITY_HOST with the other AZURE_* variables.
    """,
)

PROVIDER_TOO_OLD_FOR_KWARGS = define(
    "AKV-RENDER-010",
    Severity.ERROR,
    "Provider version too old for the rendered credential kwargs",
    """
    tenant_id / client_id / client_secret in backend_kwargs need provider 8.0.0 or newer, and
    managed_identity_client_id / workload_identity_tenant_id need 8.2.0 or newer. Older
    releases hand unknown kwargs to SecretClient, which fails or ignores them.
    """,
    """
    Upgrade the provider (within the cap of the Airflow version), or use AZURE_* environment
    variables, which every release supports.
    """,
)

ALL_LOOKUPS_DISABLED = define(
    "AKV-RENDER-012",
    Severity.WARNING,
    "Every prefix is null: the backend never reads the vault",
    """
    connections_prefix, variables_prefix and config_prefix are all null, so the provider
    answers every lookup with None without a request. The backend is configured but unused.
    """,
    """
    Set at least variables_prefix or connections_prefix (e.g. "airflow-variables").
    """,
)

SECRET_REFERENCE_INVALID = define(
    "AKV-RENDER-013",
    Severity.ERROR,
    "Client secret reference is not an environment variable name",
    """
    client_secret_env names the environment variable that holds the client secret; it must
    look like AZURE_CLIENT_SECRET (letters, digits, '_', not starting with a digit). The
    renderer used AZURE_CLIENT_SECRET instead. (A value that looks like a secret itself must
    never be put in the settings.)
    """,
    """
    Set client_secret_env to the NAME of the variable, e.g. AZURE_CLIENT_SECRET; if the
    secret itself was pasted there, rotate it.
    """,
)

# Retired: the same facts have one code each, wherever they are found.
alias("AKV-RENDER-001", "AKV-SET-001")  # vault URL missing
alias("AKV-RENDER-003", "AKV-CFG-009")  # client secret in backend_kwargs
alias("AKV-RENDER-004", "AKV-CFG-015")  # retry_total not bounded
alias("AKV-RENDER-005", "AKV-VER-001")  # provider does not fit the Airflow version
alias("AKV-RENDER-011", "AKV-SET-021")  # version not understood
alias("AKV-RENDER-014", "AKV-SET-017")  # unknown target
