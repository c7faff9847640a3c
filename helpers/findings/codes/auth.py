"""AKV-AUTH-*: Signing in (Entra ID)."""

from helpers.findings.core import Severity, alias, define

__all__ = [
    "SIGNED_IN",
    "WRONG_SECRET",
    "SECRET_EXPIRED",
    "UNKNOWN_APP",
    "UNKNOWN_TENANT",
    "TENANT_MISMATCH",
    "SIGN_IN_FAILED",
    "CREDENTIAL_UNAVAILABLE",
    "TOKEN_REJECTED",
    "CREDENTIAL_SETTINGS_MISSING",
    "FEDERATED_MISMATCH",
    "FEDERATED_TOKEN_EXPIRED",
    "FEDERATED_TOKEN_UNTRUSTED",
    "MANAGED_IDENTITY_NOT_FOUND",
    "MANAGED_IDENTITY_REFUSED",
    "FEDERATED_TOKEN_FILE_UNREADABLE",
    "MANAGED_IDENTITY_UNREACHABLE",
]

SIGNED_IN = define(
    "AKV-AUTH-001",
    Severity.OK,
    "Signed in to Microsoft Entra ID",
    """
    The credential obtained an access token for Key Vault. Its claims (decoded without
    verification) name the tenant, the application (client) id and the service principal's
    object id; role assignments and access policies name the OBJECT id.
    """,
    "Nothing to do.",
)

# Retired: "client secret variable not set" is the settings check's SET-025.
alias("AKV-AUTH-002", "AKV-SET-025")

WRONG_SECRET = define(
    "AKV-AUTH-003",
    Severity.ERROR,
    "Wrong client secret (AADSTS7000215)",
    """
    Entra ID rejected the client secret. By far the most common cause is copying the secret's
    ID (a GUID, shown in the "Secret ID" column) instead of its VALUE, which the portal shows
    only once, right after creation. A secret of another app registration, a truncated copy or
    stray quotes/whitespace have the same effect.
    """,
    """
    In the app registration's "Certificates & secrets", create a new client secret, copy its
    Value (not the Secret ID) immediately, and store it in the environment variable named by
    client_secret_env. Delete the secret you no longer use.
    """,
)

SECRET_EXPIRED = define(
    "AKV-AUTH-004",
    Severity.ERROR,
    "Client secret expired (AADSTS7000222)",
    """
    Every client secret has an expiry date; after it, sign-ins fail with AADSTS7000222 and
    every Key Vault lookup from Airflow fails until the secret is replaced.
    """,
    """
    Create a new client secret for the app registration, update the environment variable in
    every Airflow component, restart them, then delete the expired secret. Track the new
    expiry date (or move to managed / workload identity, which has no secret to expire).
    """,
)

UNKNOWN_APP = define(
    "AKV-AUTH-005",
    Severity.ERROR,
    "Application not found in this tenant (AADSTS700016)",
    """
    Entra ID has no application with this client id in the tenant the credential signs in
    to. Either the client id is wrong (an object id or a secret id pasted instead of the
    Application (client) ID), or the tenant is another one than the app's home tenant, or the
    app registration was deleted.
    """,
    """
    Copy the "Application (client) ID" and the "Directory (tenant) ID" from the app
    registration's Overview page into AZURE_CLIENT_ID / AZURE_TENANT_ID (or the settings).
    """,
)

UNKNOWN_TENANT = define(
    "AKV-AUTH-006",
    Severity.ERROR,
    "Tenant not found (AADSTS90002)",
    """
    login.microsoftonline.com does not know the tenant: azure-identity reports "Unable to get
    authority configuration" and hides Entra's AADSTS90002. The tenant id is mistyped, is a
    subscription id, or the domain name is not a verified domain of any tenant (or the cloud
    is a sovereign one with another authority host).
    """,
    """
    Use the "Directory (tenant) ID" GUID from the app registration's Overview page. For Azure
    China or US Government set AZURE_AUTHORITY_HOST to that cloud's login host.
    """,
)

TENANT_MISMATCH = define(
    "AKV-AUTH-007",
    Severity.ERROR,
    "The vault's tenant differs from the credential's tenant",
    """
    A vault names its tenant in its authentication challenge and the SDK asks the credential
    for a token of that tenant. The credential refuses ("not configured to acquire tokens for
    tenant ...") when the names differ: the vault lives in another tenant, or the tenant is
    configured as a domain name (contoso.onmicrosoft.com) while the challenge uses the GUID —
    the comparison is literal, so the domain form fails even for the right tenant.
    """,
    """
    Set AZURE_TENANT_ID (or tenant_id) to the tenant GUID shown in the detail. If the vault
    really is in another tenant, use a service principal of that tenant (or a multi-tenant
    app consented there).
    """,
)

SIGN_IN_FAILED = define(
    "AKV-AUTH-008",
    Severity.ERROR,
    "Sign-in failed",
    """
    The credential could not obtain a token for a reason the runbook has no specific
    diagnosis for; the detail shows the AADSTS code or the error Entra ID returned.
    """,
    """
    Look the AADSTS code up at https://login.microsoftonline.com/error?code=<number> and check
    the tenant id, client id and secret (or the managed identity) the settings name.
    """,
)

CREDENTIAL_UNAVAILABLE = define(
    "AKV-AUTH-009",
    Severity.ERROR,
    "Credential not available in this environment",
    """
    The configured credential cannot run here: managed identity needs an Azure host with an
    identity assigned (IMDS or the App Service / Fabric endpoint), workload identity needs
    AZURE_FEDERATED_TOKEN_FILE pointing at a projected service-account token. On a laptop or
    a plain VM neither exists.
    """,
    """
    Run the probe where Airflow runs (inside the pod or the Airflow job), assign the identity
    to that host, or use a service principal with a client secret for local checks.
    """,
)

TOKEN_REJECTED = define(
    "AKV-AUTH-010",
    Severity.ERROR,
    "Key Vault rejected the access token (401)",
    """
    The vault answered 401 to a request carrying a token: wrong audience (AKV10022), wrong
    issuer (AKV10032, a token of another tenant or cloud), or an expired or unsigned token.
    """,
    """
    Let the SDK request the token (scope https://vault.azure.net/.default) and make sure the
    tenant and cloud match the vault's; remove any hand-made Authorization headers.
    """,
)

CREDENTIAL_SETTINGS_MISSING = define(
    "AKV-AUTH-011",
    Severity.ERROR,
    "Tenant id or client id missing",
    """
    A service-principal or workload-identity sign-in needs the tenant (directory) id and the
    application (client) id; one of them is empty in the settings.
    """,
    """
    Set tenant_id and client_id in the settings (or AZURE_TENANT_ID / AZURE_CLIENT_ID in the
    environment) from the app registration's Overview page.
    """,
)

FEDERATED_MISMATCH = define(
    "AKV-AUTH-012",
    Severity.ERROR,
    "No federated credential matches the workload's token (AADSTS70021)",
    """
    Workload identity signs in with the pod's projected service-account token. Entra ID
    accepts it only when one federated identity credential of the app (or user-assigned
    identity) names the token's issuer, subject and audience exactly, case included: the
    cluster's OIDC issuer URL (with its trailing slash), system:serviceaccount:NAMESPACE:NAME,
    and api://AzureADTokenExchange. A pod running under another service account or namespace,
    a credential made for another cluster, or a token minted for another audience all end
    here. Newer tenants split the code: AADSTS700211 (issuer), AADSTS700213 (subject).
    """,
    """
    Compare the issuer, subject and audience in the detail with the app's federated
    credentials (az ad app federated-credential list --id <client id>, or for a managed
    identity az identity federated-credential list). Add a credential for exactly these values,
    or run the pod under the service account the credential names; the issuer is
    az aks show --query oidcIssuerProfile.issuerUrl.
    """,
)

FEDERATED_TOKEN_EXPIRED = define(
    "AKV-AUTH-013",
    Severity.ERROR,
    "The projected service-account token has expired (AADSTS700024)",
    """
    The token in AZURE_FEDERATED_TOKEN_FILE is past its expiry. The kubelet rewrites the
    projected token well before it expires; a stale copy (baked into an image, copied out of a
    pod, a file that is no longer the projected volume) or a stopped kubelet leaves an old one.
    """,
    """
    Read the token from the projected volume the workload identity webhook mounts
    (/var/run/secrets/azure/tokens/azure-identity-token) instead of a copy, and let the
    credential re-read the file; in the sandbox, run `akv-runbook sandbox env --credential
    workload-identity` again.
    """,
)

FEDERATED_TOKEN_UNTRUSTED = define(
    "AKV-AUTH-014",
    Severity.ERROR,
    "Entra ID could not validate the workload's token",
    """
    The federated token is malformed (AADSTS50027), or its signature could not be checked
    against the issuer's published keys (AADSTS7000272: the signing key is not in the
    issuer's JWKS; AADSTS50013: the signature does not match). The file may hold something
    other than the projected token, or the cluster's service-account signing key was rotated
    while the issuer's discovery document still serves the old keys.
    """,
    """
    Check that AZURE_FEDERATED_TOKEN_FILE is the webhook's projected token, and that the
    cluster's OIDC issuer is enabled and serves the current keys
    (az aks show --query oidcIssuerProfile; <issuer>/openid/v1/jwks).
    """,
)

MANAGED_IDENTITY_NOT_FOUND = define(
    "AKV-AUTH-015",
    Severity.ERROR,
    "This host has no managed identity with that client id",
    """
    The managed identity endpoint answered that the identity asked for is not assigned to
    this host: IMDS says "Identity not found", the App Service / Container Apps endpoint
    "Unable to load the proper Managed Identity". managed_identity_client_id (or
    AZURE_CLIENT_ID) names a user-assigned identity that is not attached to this VM, node pool
    or app, or is an object id / another identity's id; with no id at all, the host has no
    system-assigned identity.
    """,
    """
    Use the client id of a user-assigned identity attached to this host
    (az vm identity show / az webapp identity show / az containerapp identity show), or
    attach the identity to the host; leave the client id empty to use the system-assigned one.
    """,
)

MANAGED_IDENTITY_REFUSED = define(
    "AKV-AUTH-016",
    Severity.ERROR,
    "The managed identity endpoint refused the request",
    """
    The local token endpoint rejected the request before looking at any identity: IMDS
    without the Metadata: true header or with an unsupported api-version, or the App Service /
    Container Apps endpoint without the IDENTITY_HEADER value in X-IDENTITY-HEADER. The SDKs
    send both; a hand-written request, an outdated SDK or an IDENTITY_HEADER copied from
    another app (the platform rotates it) ends here.
    """,
    """
    Let azure-identity's ManagedIdentityCredential make the request, and do not copy
    IDENTITY_ENDPOINT / IDENTITY_HEADER between apps or restarts: read them from the
    environment the platform sets.
    """,
)

FEDERATED_TOKEN_FILE_UNREADABLE = define(
    "AKV-AUTH-017",
    Severity.ERROR,
    "The workload identity token file is missing or unreadable",
    """
    Workload identity reads the pod's projected service-account token from the file
    AZURE_FEDERATED_TOKEN_FILE names, on every sign-in. The variable is not set, the file does
    not exist, is a directory, cannot be read or is empty: the Azure Workload Identity webhook
    did not mutate the pod (no azure.workload.identity/use: "true" label, or the webhook is not
    installed), the variable was copied from another pod, or the projected volume is not
    mounted in this container. azure-identity then fails before any request
    (FileNotFoundError / PermissionError from WorkloadIdentityCredential).
    """,
    """
    Label the pod azure.workload.identity/use: "true" and annotate its service account with
    azure.workload.identity/client-id, then restart it so the webhook injects the variables and
    mounts the token (/var/run/secrets/azure/tokens/azure-identity-token). Do not set
    AZURE_FEDERATED_TOKEN_FILE by hand; in the sandbox run
    `akv-runbook sandbox env --credential workload-identity`.
    """,
)

MANAGED_IDENTITY_UNREACHABLE = define(
    "AKV-AUTH-018",
    Severity.ERROR,
    "No managed identity endpoint answered",
    """
    A managed identity signs in through a token endpoint on the host: IMDS at
    http://169.254.169.254 (VMs, VM scale sets, AKS nodes) or the endpoint IDENTITY_ENDPOINT
    names (App Service, Container Apps, Functions). Nothing answered within the timeout, or
    the connection was refused: this is not an Azure host, the pod cannot reach the node's
    IMDS (a network policy, a proxy in HTTP_PROXY that does not pass 169.254.169.254, pod
    identity's NMI missing), or IDENTITY_ENDPOINT is stale. azure-identity retries IMDS for
    long; the probe stops at its timeout.
    """,
    """
    Run the check where Airflow runs. On AKS prefer workload identity; otherwise allow egress
    to 169.254.169.254:80 and put 169.254.169.254 in NO_PROXY. On App Service / Container Apps
    enable the identity and use the IDENTITY_ENDPOINT / IDENTITY_HEADER the platform sets; in
    the sandbox run `akv-runbook sandbox env --credential managed-identity` (or imds).
    """,
)
