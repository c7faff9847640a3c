"""AKV-RENDER-*: Rendering the configuration overrides for a target."""

from helpers.findings.core import Severity, define

__all__ = [
    "VAULT_URL_MISSING",
    "IDENTITY_VALUE_MISSING",
    "CLIENT_SECRET_IN_KWARGS",
    "RETRY_UNBOUNDED",
    "PROVIDER_INCOMPATIBLE",
    "AIRFLOW_VERSION_ASSUMED",
    "MANAGED_IDENTITY_WITHOUT_TENANT",
    "WORKLOAD_IDENTITY_OUTSIDE_KUBERNETES",
    "SOVEREIGN_AUTHORITY",
    "PROVIDER_TOO_OLD_FOR_KWARGS",
    "VERSION_NOT_UNDERSTOOD",
    "ALL_LOOKUPS_DISABLED",
    "SECRET_REFERENCE_INVALID",
    "UNKNOWN_TARGET",
]

VAULT_URL_MISSING = define(
    "AKV-RENDER-001",
    Severity.ERROR,
    "No vault URL to render; a placeholder was written",
    """
    backend_kwargs needs "vault_url": without it the provider builds a SecretClient for ""
    and every lookup fails with ValueError. The rendered configuration carries a placeholder
    that must be replaced before it is used.
    """,
    """
    Set vault_url in the settings to the vault's URI (https://<name>.vault.azure.net/, shown
    as "Vault URI" on the vault's overview page) and render again.
    """,
)

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

CLIENT_SECRET_IN_KWARGS = define(
    "AKV-RENDER-003",
    Severity.WARNING,
    "Client secret passed through backend_kwargs",
    """
    With tenant_id, client_id and client_secret in backend_kwargs the provider builds a
    ClientSecretCredential itself instead of DefaultAzureCredential. The rendered JSON holds
    a reference, "${AZURE_CLIENT_SECRET}", which Airflow expands from the environment when it
    reads the option, so the value is still kept out of files. But the expanded value is now
    part of Airflow's configuration: `airflow config get-value secrets backend_kwargs`, a
    config dump or an exposed config page shows it, and the secret must not contain '"' or
    '\\' (it is spliced into JSON). Plain AZURE_* environment variables avoid all of this.
    """,
    """
    Prefer the default rendering (no include_client_secret): AZURE_TENANT_ID,
    AZURE_CLIENT_ID and AZURE_CLIENT_SECRET in the environment, read by
    DefaultAzureCredential. If the secret must go through backend_kwargs, keep the
    "${VAR}" reference and never paste the value itself into the JSON.
    """,
)

RETRY_UNBOUNDED = define(
    "AKV-RENDER-004",
    Severity.WARNING,
    "retry_total is not bounded",
    """
    Any backend_kwargs key the provider does not know goes to SecretClient; "retry_total"
    bounds azure-core's retries. Without it azure-core retries 429 and 5xx up to 10 times with
    exponential backoff of up to 120 s, so a throttled vault (4,000 reads per 10 s) can stall
    DAG parsing and tasks for minutes instead of failing fast.
    """,
    """
    Set retry_total to a small number (3 is the runbook's default; at most 10) in the settings.
    """,
)

PROVIDER_INCOMPATIBLE = define(
    "AKV-RENDER-005",
    Severity.ERROR,
    "Provider version does not fit the Airflow version",
    """
    Each apache-airflow-providers-microsoft-azure release supports a minimum Airflow version:
    Airflow 2.6.3 (ADF) can use at most 10.0.0, Airflow 2.10 at most 12.8.1, and 12.9.0 and
    later (15.x included) need Airflow 2.11 or newer (15.x also Python 3.11+). pip either
    refuses the combination or downgrades/upgrades Airflow itself.
    """,
    """
    Leave provider_version empty to get a requirement capped for the Airflow version, or pick
    a provider release that supports it (see the detail).
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

VERSION_NOT_UNDERSTOOD = define(
    "AKV-RENDER-011",
    Severity.WARNING,
    "Version string not understood",
    """
    airflow_version and provider_version must be release numbers such as 2.6.3 or 10.0.0.
    The renderer could not read one of them, so it could not check compatibility or cap the
    provider requirement.
    """,
    """
    Write the version as digits and dots (e.g. 2.10.5), or leave it empty.
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

UNKNOWN_TARGET = define(
    "AKV-RENDER-014",
    Severity.ERROR,
    "Unknown render target",
    """
    The renderer knows these targets: adf, fabric, helm, compose, airflow_cfg, env.
    """,
    """
    Pick one of: adf, fabric, helm, compose, airflow_cfg, env.
    """,
)
