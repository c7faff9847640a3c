"""AKV-PERM-*: Authorization to read secrets (RBAC, access policies, firewall)."""

from helpers.findings.core import Severity, define

__all__ = [
    "FORBIDDEN_BY_RBAC",
    "FORBIDDEN_BY_POLICY",
    "FORBIDDEN_BY_FIREWALL",
    "BEYOND_LEAST_PRIVILEGE",
    "LEAST_PRIVILEGE",
    "ROLES_NOT_CHECKED",
    "FORBIDDEN",
]

FORBIDDEN_BY_RBAC = define(
    "AKV-PERM-001",
    Severity.ERROR,
    "No role allows reading secrets (ForbiddenByRbac)",
    """
    The vault uses Azure RBAC and no role assignment gives this identity
    Microsoft.KeyVault/vaults/secrets/getSecret/action on it. Key Vault Contributor (from the
    seed recipe), Contributor and Owner are management-plane roles: they grant NO access to
    secret values. A new assignment can also take several minutes to propagate.
    """,
    """
    Grant "Key Vault Secrets User" to the service principal's OBJECT id at the vault's scope
    (`akv-runbook grant` prints az / PowerShell / Bicep / Terraform), then probe again; allow
    a few minutes for propagation. Do not grant Contributor for this.
    """,
)

FORBIDDEN_BY_POLICY = define(
    "AKV-PERM-002",
    Severity.ERROR,
    "Access policy lacks secret Get (ForbiddenByPolicy)",
    """
    The vault uses the access-policy model and no access policy gives this identity the
    secret "get" permission (older vaults answer AccessDenied). Role assignments, including
    Key Vault Secrets User, are ignored on access-policy vaults.
    """,
    """
    Add an access policy for the service principal's object id with secret permissions Get
    (and List for listing names): `az keyvault set-policy --name <vault> --object-id <oid>
    --secret-permissions get list`, or switch the vault to RBAC and grant Key Vault Secrets
    User.
    """,
)

FORBIDDEN_BY_FIREWALL = define(
    "AKV-PERM-003",
    Severity.ERROR,
    "Blocked by the vault's firewall (ForbiddenByFirewall)",
    """
    The vault's network rules deny the address the request came from: public access is
    restricted to selected networks or disabled, and this host's outbound address (or
    virtual network) is not on the list. Airflow managed services egress from addresses you
    may not control.
    """,
    """
    Add the client address in the detail (or the Airflow host's virtual network / a private
    endpoint) to the vault's Networking settings; for Fabric / ADF use their managed private
    endpoints or allowed trusted services.
    """,
)

BEYOND_LEAST_PRIVILEGE = define(
    "AKV-PERM-004",
    Severity.WARNING,
    "Roles or permissions beyond least privilege",
    """
    The backend only reads secret values, which Key Vault Secrets User (RBAC vaults) or an
    access policy with get (access-policy vaults) allows. This identity holds more: roles that
    write or delete secrets (Secrets Officer, Administrator), manage the vault (Contributor,
    Key Vault Contributor — which on access-policy vaults can grant itself data access) or
    grant access (Owner). A leaked Airflow credential is then worth more to an attacker.
    """,
    """
    Remove the extra role assignments / access-policy permissions listed in the detail and
    keep only Key Vault Secrets User (or get, list) for the Airflow identity.
    """,
)

LEAST_PRIVILEGE = define(
    "AKV-PERM-005",
    Severity.OK,
    "No roles beyond what the backend needs",
    """
    Through ARM this identity holds only Key Vault Secrets User on the vault (or, on an
    access-policy vault, secret get and list): least privilege for the backend.
    """,
    "Nothing to do.",
)

ROLES_NOT_CHECKED = define(
    "AKV-PERM-006",
    Severity.INFO,
    "Roles not checked",
    """
    The runbook could not check the roles and permission model through Azure Resource
    Manager: no subscription id is known, ARM did not answer, or the identity cannot see the
    vault through ARM — then it holds no management role there, but a data role broader than
    Key Vault Secrets User (Secrets Officer, Administrator) would not show either, so least
    privilege is not proven.
    """,
    """
    Set AZURE_SUBSCRIPTION_ID to the vault's subscription to include this check, review the
    vault's "Access control (IAM)" page by hand, or check as an operator who can see it
    (notebook 02, or `akv-runbook grant`).
    """,
)

FORBIDDEN = define(
    "AKV-PERM-007",
    Severity.ERROR,
    "Forbidden (403)",
    """
    The vault refused the request with 403 for a reason the runbook has no specific diagnosis
    for; the detail shows the error code Key Vault returned.
    """,
    """
    Read the code and message in the detail; check the vault's access configuration,
    networking and any deny assignments or Azure Policy on the vault.
    """,
)
