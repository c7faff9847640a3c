"""AKV-NET-*: Reaching the vault: URL, DNS, TLS, proxy."""

from helpers.findings.core import Severity, alias, define

__all__ = [
    "VAULT_REACHABLE",
    "TLS_UNTRUSTED",
    "HOST_NOT_FOUND",
    "PROXY_FAILED",
    "CONNECTION_FAILED",
    "TIMED_OUT",
    "NOT_A_VAULT",
    "TLS_FAILED",
]

# Retired: "vault URL missing or not https" is the settings check's SET-001 / SET-002.
alias("AKV-NET-001", "AKV-SET-001", "AKV-SET-002")  # vault URL missing, or not https

VAULT_REACHABLE = define(
    "AKV-NET-002",
    Severity.OK,
    "Vault reachable",
    """
    The vault's host resolved, the connection (through the proxy, if any) was established,
    its TLS certificate was trusted and it answered over HTTPS.
    """,
    "Nothing to do.",
)

TLS_UNTRUSTED = define(
    "AKV-NET-003",
    Severity.ERROR,
    "TLS certificate not trusted (CERTIFICATE_VERIFY_FAILED)",
    """
    The TLS certificate the client received does not chain to a CA it trusts. Behind a
    TLS-inspecting corporate proxy (or the sandbox) the proxy's CA must be in the bundle the
    Python SDKs use: REQUESTS_CA_BUNDLE (sync SDKs, MSAL) and SSL_CERT_FILE (aiohttp). A bundle
    that contains only that CA, or only public roots, breaks the other half of the traffic.
    """,
    """
    Point REQUESTS_CA_BUNDLE (and SSL_CERT_FILE) at a combined bundle: certifi's roots plus
    your proxy's CA (`cat $(python -m certifi) proxy-ca.pem > bundle.pem`). Never switch
    verification off.
    """,
)

HOST_NOT_FOUND = define(
    "AKV-NET-004",
    Severity.ERROR,
    "Host name does not resolve",
    """
    The host could not be resolved: DNS has no record for it (directly, or as reported by the
    proxy with 502 Bad Gateway). For a vault this usually means a misspelt vault name in
    vault_url, a deleted vault, or a private endpoint whose private DNS zone
    (privatelink.vaultcore.azure.net) is not linked to the network Airflow runs in.
    """,
    """
    Compare vault_url with the vault's "Vault URI"; check `nslookup <host>` from the Airflow
    host; for private endpoints link the private DNS zone to the virtual network.
    """,
)

PROXY_FAILED = define(
    "AKV-NET-005",
    Severity.ERROR,
    "Proxy unreachable or refusing the connection",
    """
    HTTPS_PROXY names a proxy the client could not use: nothing listens at that address, it
    refused the CONNECT (403), or it wants authentication (407). Every Azure request goes
    through it, so sign-in and vault access both fail.
    """,
    """
    Check HTTPS_PROXY / NO_PROXY for every Airflow component; allow CONNECT to
    login.microsoftonline.com, management.azure.com and *.vault.azure.net on the proxy, or
    put credentials in the proxy URL (http://user:pass@host:port) if it requires them.
    """,
)

CONNECTION_FAILED = define(
    "AKV-NET-006",
    Severity.ERROR,
    "Connection failed",
    """
    The TCP connection was refused or reset before an HTTP answer arrived: a firewall or
    network security group dropping port 443, a private endpoint only reachable from its
    virtual network, or a proxy required but not configured.
    """,
    """
    Test `curl -v https://<vault>.vault.azure.net/healthstatus` from the Airflow host; open
    outbound 443 to the vault and to login.microsoftonline.com, or set HTTPS_PROXY.
    """,
)

TIMED_OUT = define(
    "AKV-NET-007",
    Severity.ERROR,
    "Request timed out",
    """
    No answer arrived within the timeout: packets are silently dropped (a firewall without
    reject), the route is missing, or the service is overloaded.
    """,
    """
    Check outbound 443 from the Airflow host to the vault and Entra ID, the proxy settings,
    and the vault's networking page (public access / private endpoint).
    """,
)

NOT_A_VAULT = define(
    "AKV-NET-008",
    Severity.WARNING,
    "The vault URL did not answer like Key Vault",
    """
    An unauthenticated request to a vault always gets 401 with a Bearer challenge. This host
    answered something else, so it is probably not a Key Vault endpoint (a portal URL, a
    managed HSM, or a proxy's own page).
    """,
    'Use the vault\'s "Vault URI" (https://<name>.vault.azure.net/) as vault_url.',
)

TLS_FAILED = define(
    "AKV-NET-009",
    Severity.ERROR,
    "TLS handshake failed",
    """
    The TLS handshake failed for a reason other than an untrusted certificate: a proxy that
    speaks plain HTTP where TLS was expected (https:// in HTTPS_PROXY), an inspection device
    with old protocol versions, or a truncated connection.
    """,
    """
    Use an http:// URL for HTTPS_PROXY (the tunnel carries the TLS), and check what answers
    on the vault's port 443 from this host (`openssl s_client -connect <host>:443`).
    """,
)
