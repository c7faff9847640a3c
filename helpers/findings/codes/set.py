"""AKV-SET-*: Settings: the values a person or a file gives the runbook."""

from helpers.findings.core import Severity, define

__all__ = [
    "VAULT_URL_MISSING",
    "VAULT_URL_NOT_HTTPS",
    "VAULT_HOST_UNKNOWN",
    "VAULT_NAME_INVALID",
    "VAULT_URL_EXTRA_PARTS",
    "WHITESPACE",
    "TENANT_INVALID",
    "GUID_INVALID",
    "IDENTITY_MISSING",
    "SECRET_VALUE_AS_NAME",
    "ENV_NAME_INVALID",
    "SECRET_IN_SETTINGS",
    "PREFIX_INVALID",
    "PREFIX_TRAILING_SEP",
    "PREFIX_EMPTY",
    "SEP_INVALID",
    "TARGET_UNKNOWN",
    "CREDENTIAL_UNKNOWN",
    "UNKNOWN_KEY",
    "WRONG_TYPE",
    "VERSION_INVALID",
    "PROBE_ID_EMPTY",
    "PLACEHOLDER",
    "SETTINGS_FILE_UNREADABLE",
    "SECRET_ENV_NOT_SET",
    "SECRET_ENV_EMPTY",
    "AZURE_ENV_PARTIAL",
    "KEYVAULT_URL_ENV_ONLY",
]

VAULT_URL_MISSING = define(
    "AKV-SET-001",
    Severity.ERROR,
    "Vault URL is missing",
    """
    Without a vault URL the backend is built with vault_url="" and every lookup fails with
    a ValueError; Airflow then falls back to environment variables and the metastore, so
    the failure is easy to miss.
    """,
    """
    Set vault_url to the vault's "Vault URI" from the Azure portal (Overview page), e.g.
    https://my-vault.vault.azure.net/ — in backend_kwargs for Airflow.
    """,
)

VAULT_URL_NOT_HTTPS = define(
    "AKV-SET-002",
    Severity.ERROR,
    "Vault URL is not an https:// URL",
    """
    Key Vault is reached over HTTPS only, and the Azure SDK refuses to send a bearer token
    over plain http. A bare vault name, a host without a scheme or an unreplaced placeholder
    is not a URL the SDK can use.
    """,
    "Use the full Vault URI: https://<vault-name>.vault.azure.net/ (see the detail).",
)

VAULT_HOST_UNKNOWN = define(
    "AKV-SET-003",
    Severity.ERROR,
    "Vault host is not a Key Vault endpoint",
    """
    Key Vault hosts end in vault.azure.net (public cloud), vault.azure.cn (Azure China) or
    vault.usgovcloudapi.net (Azure US Government). Any other host is a different service or
    a typo; Managed HSM (managedhsm.azure.net) holds keys only, not secrets.
    """,
    "Copy the Vault URI from the vault's Overview page in the Azure portal.",
)

VAULT_NAME_INVALID = define(
    "AKV-SET-004",
    Severity.ERROR,
    "Vault name breaks Azure's naming rules",
    """
    A vault name is 3-24 characters of letters, digits and hyphens, starts with a letter,
    ends with a letter or digit and has no consecutive hyphens. A name breaking these rules
    cannot exist, so the host does not resolve.
    """,
    "Check the vault name in the portal; the URL is https://<vault-name>.vault.azure.net/.",
)

VAULT_URL_EXTRA_PARTS = define(
    "AKV-SET-005",
    Severity.ERROR,
    "Vault URL has a path, query, port or user info",
    """
    The backend needs the vault's base URL only. A secret identifier
    (https://v.vault.azure.net/secrets/name/version) or a URL with query, fragment, port or
    user info makes the SDK build wrong request paths or fail the authentication challenge.
    """,
    "Keep only https://<vault-name>.vault.azure.net/ (the detail shows the corrected URL).",
)

WHITESPACE = define(
    "AKV-SET-006",
    Severity.WARNING,
    "Surrounding whitespace in a value",
    """
    Leading or trailing spaces, tabs or newlines are part of the value where Airflow and the
    Azure SDK read it: a vault URL or tenant with a trailing newline fails in ways that are
    hard to see. The runbook trimmed it for its own checks.
    """,
    "Remove the surrounding whitespace where the value is configured.",
)

TENANT_INVALID = define(
    "AKV-SET-007",
    Severity.ERROR,
    "Tenant id is not the directory's GUID",
    """
    The tenant must be the Directory (tenant) ID, a GUID. "common", "organizations" and
    "consumers" are multi-tenant aliases that client-credential sign-in rejects, and other
    text fails with AADSTS90002 or "Unable to get authority configuration". A verified domain
    (contoso.onmicrosoft.com) is subtler: Entra ID issues a token for it, and ARM and `az`
    accept it, but Key Vault is reached through a challenge — its 401 names the tenant by GUID
    (authorization="https://login.microsoftonline.com/<tenant GUID>") and the Key Vault
    client asks the credential for a token of exactly that tenant. ClientSecretCredential
    (backend_kwargs), EnvironmentCredential (AZURE_TENANT_ID through DefaultAzureCredential)
    and workload identity compare tenant ids literally and refuse: "The current credential is
    not configured to acquire tokens for tenant <GUID>" (AKV-AUTH-007). Airflow's backend
    lets that error propagate, so every Variable.get or connection lookup fails.
    """,
    """
    Use the directory's GUID: `az account show --query tenantId -o tsv` (signed in to that
    tenant), the `tid` claim of a token the identity gets (the runbook's sign-in step,
    AKV-AUTH-001, shows it), or Microsoft Entra admin center > Overview > Tenant ID (also the
    app registration's Overview: Directory (tenant) ID).
    """,
)

GUID_INVALID = define(
    "AKV-SET-008",
    Severity.ERROR,
    "Client id is not a GUID",
    """
    Client ids (application ids, managed identity client ids) are GUIDs like
    12345678-90ab-cdef-1234-567890abcdef. Anything else — an app's display name, a
    placeholder, a value with braces — fails sign-in with AADSTS700016.
    """,
    """
    Copy the Application (client) ID from the app registration's Overview page (for a
    managed identity: its Client ID), not the Object ID or the display name.
    """,
)

IDENTITY_MISSING = define(
    "AKV-SET-009",
    Severity.ERROR,
    "Setting required by the credential is missing",
    """
    A service principal with a client secret needs the tenant id and the client id as well
    as the secret. With one of them missing, Airflow's DefaultAzureCredential skips the
    environment credential and tries managed identity, CLI and other sources instead, which
    fail on most hosts with a long, confusing error.
    """,
    "Set the missing value (see the subject), or choose the credential mode you really use.",
)

SECRET_VALUE_AS_NAME = define(
    "AKV-SET-010",
    Severity.ERROR,
    "A name or a notebook parameter holds what looks like a secret value",
    """
    client_secret_env is the NAME of the environment variable that holds the client secret
    (AZURE_CLIENT_SECRET by default), never the secret itself; a notebook parameter holds ids,
    URLs and names, never a secret. A value containing "~" or a long random-looking string is
    almost certainly the secret: it would end up in settings files, notebooks and logs. The
    runbook shows only its length and a short hash, and a notebook stops at once. papermill
    writes every parameter into the executed notebook (its parameters cell and metadata);
    run with --engine akv-runbook it writes a placeholder instead.
    """,
    """
    Put the secret in an environment variable (or a secret store that sets one) and write
    that variable's name here, e.g. client_secret_env: AZURE_CLIENT_SECRET. If the value
    reached a file (a settings file, or an output notebook written without --engine
    akv-runbook: the value is in its parameters cell), delete that file; rotate the secret
    if it was shared or typed on a command line.
    """,
)

ENV_NAME_INVALID = define(
    "AKV-SET-011",
    Severity.ERROR,
    "client_secret_env is not a valid environment variable name",
    """
    Environment variable names are letters, digits and underscores and do not start with a
    digit. A name with hyphens, dots or spaces cannot be set in a shell or in most
    platforms' settings, so the secret is never found.
    """,
    "Use a name like AZURE_CLIENT_SECRET.",
)

SECRET_IN_SETTINGS = define(
    "AKV-SET-012",
    Severity.ERROR,
    "A client secret value is in the settings",
    """
    Settings hold references, not secrets: the runbook ignores the value (it shows only a
    length and a short hash) so it is never printed, rendered or stored.
    """,
    """
    Remove client_secret from the settings, put the secret in an environment variable and
    set client_secret_env to that variable's name. Rotate the secret if the file was shared.
    """,
)

PREFIX_INVALID = define(
    "AKV-SET-013",
    Severity.ERROR,
    "Prefix has characters Key Vault names cannot hold",
    """
    The backend builds secret names as prefix + sep + id and Key Vault names are 1-127
    characters of 0-9, a-z, A-Z and "-" ("_" is turned into sep first). With dots, slashes,
    spaces or other characters in the prefix, every name is invalid: provider 13.3.0 and
    newer skip the lookup with a WARNING and return None, older ones get 400 BadParameter.
    """,
    "Use letters, digits and hyphens only, e.g. airflow-variables.",
)

PREFIX_TRAILING_SEP = define(
    "AKV-SET-014",
    Severity.INFO,
    "Prefix ends with the separator",
    """
    The provider strips every trailing sep from a prefix, so "airflow-variables-" behaves
    exactly like "airflow-variables" — it does not produce a double separator.
    """,
    "Drop the trailing separator so the configuration says what the backend does.",
)

PREFIX_EMPTY = define(
    "AKV-SET-015",
    Severity.INFO,
    "Empty prefix: ids map to secret names unprefixed",
    """
    With an empty prefix the backend looks up the id itself as the secret name (no
    separator is added), so every secret in the vault is a candidate variable or connection
    and the two lookup types share one namespace. Use null to disable a lookup type
    instead.
    """,
    "Keep the vault dedicated to Airflow, or use a prefix; use null to disable the lookup.",
)

SEP_INVALID = define(
    "AKV-SET-016",
    Severity.ERROR,
    "Separator cannot appear in a Key Vault name",
    """
    sep joins prefix and id and replaces every "_" in the name. Key Vault names hold only
    0-9, a-z, A-Z and "-", so a sep such as "_", "/" or "." makes every secret name invalid
    and every lookup is silently skipped. An empty sep runs prefix and id together.
    """,
    'Use the default sep "-".',
)

TARGET_UNKNOWN = define(
    "AKV-SET-017",
    Severity.ERROR,
    "Unknown target",
    "The target decides which configuration the runbook renders and lints.",
    "Use one of: adf, fabric, helm, compose, airflow_cfg, env.",
)

CREDENTIAL_UNKNOWN = define(
    "AKV-SET-018",
    Severity.ERROR,
    "Unknown credential mode",
    """
    The backend authenticates with a service principal and client secret, a managed
    identity, or workload identity (AKS); the runbook checks each differently.
    """,
    "Use one of: client_secret, managed_identity, workload_identity.",
)

UNKNOWN_KEY = define(
    "AKV-SET-019",
    Severity.WARNING,
    "Unknown setting",
    "A key the settings schema does not know is ignored; it is usually a typo.",
    "Rename it to the setting it was meant to be (see the suggestion) or remove it.",
)

WRONG_TYPE = define(
    "AKV-SET-020",
    Severity.ERROR,
    "Setting has the wrong type or an out-of-range value",
    """
    Each setting has one type: strings for URLs and ids, a string or null for prefixes, a
    list of strings for variables and connections, a non-negative integer or null for
    retry_total. In YAML, quote versions: 2.10 unquoted is the number 2.1.
    """,
    "Give the value the type shown in the detail.",
)

VERSION_INVALID = define(
    "AKV-SET-021",
    Severity.ERROR,
    "Version is not a version number",
    "Versions are compared to known limits, so they must parse (e.g. 3.3.2, 15.2.1, 3.11).",
    'Write the version as a quoted string, e.g. airflow_version: "3.3.2".',
)

PROBE_ID_EMPTY = define(
    "AKV-SET-022",
    Severity.WARNING,
    "Empty id in the variables or connections to probe",
    "An empty id would build a secret name of just the prefix; it is skipped.",
    "Remove the empty entry from the list.",
)

PLACEHOLDER = define(
    "AKV-SET-023",
    Severity.ERROR,
    "Placeholder left in place of a real value",
    """
    Documentation shows values like <your keyvault uri> or <Tenant Id>; copied as-is they
    reach Airflow literally and fail far from here.
    """,
    "Replace the placeholder with the real value.",
)

SETTINGS_FILE_UNREADABLE = define(
    "AKV-SET-024",
    Severity.ERROR,
    "Settings file cannot be read",
    """
    The settings file is missing, unreadable, not valid YAML/JSON, or its top level is not a
    mapping of setting names to values.
    """,
    "Fix the file at the position in the detail; its top level must be key: value pairs.",
)

SECRET_ENV_NOT_SET = define(
    "AKV-SET-025",
    Severity.ERROR,
    "Client secret variable is not set",
    """
    The service principal's secret is read from an environment variable that is not set in
    this environment, so the environment credential is skipped and DefaultAzureCredential
    tries managed identity and developer sign-ins instead.
    """,
    """
    Set the variable (AZURE_CLIENT_SECRET by default) where Airflow runs — for ADF/Fabric in
    the environment variables of the Airflow environment — or switch to managed identity.
    """,
)

SECRET_ENV_EMPTY = define(
    "AKV-SET-026",
    Severity.ERROR,
    "Client secret variable is empty",
    """
    The variable is set but empty. azure-identity treats an empty AZURE_CLIENT_SECRET as not
    set and silently moves on to other credentials, so sign-in fails with an unrelated
    error.
    """,
    "Put the secret's Value (not its Secret ID) into the variable.",
)

AZURE_ENV_PARTIAL = define(
    "AKV-SET-027",
    Severity.WARNING,
    "AZURE_TENANT_ID and AZURE_CLIENT_ID set without a secret",
    """
    With AZURE_TENANT_ID and AZURE_CLIENT_ID but neither AZURE_CLIENT_SECRET nor a
    certificate or federated token, azure-identity's EnvironmentCredential is skipped and
    AZURE_CLIENT_ID is used as a user-assigned managed identity instead. That works on a
    host with that managed identity and fails everywhere else.
    """,
    """
    Set AZURE_CLIENT_SECRET for a service principal, or drop AZURE_TENANT_ID if you meant a
    user-assigned managed identity.
    """,
)

KEYVAULT_URL_ENV_ONLY = define(
    "AKV-SET-028",
    Severity.WARNING,
    "Vault URL only in AZURE_KEYVAULT_URL",
    """
    Airflow's backend reads the vault URL from backend_kwargs only; AZURE_KEYVAULT_URL is a
    convention of SDK samples. The runbook used it for its own checks, but Airflow builds
    the backend with vault_url="".
    """,
    'Add "vault_url" to AIRFLOW__SECRETS__BACKEND_KWARGS.',
)
