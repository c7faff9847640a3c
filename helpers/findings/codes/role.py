"""AKV-ROLE-*: Role grants through ARM."""

from helpers.findings.core import Severity, define

__all__ = [
    "GRANTED",
    "ALREADY_GRANTED",
    "NOT_ALLOWED_TO_GRANT",
    "PRINCIPAL_NOT_FOUND",
    "POLICY_SET",
    "GRANT_FAILED",
    "ACCESS_IN_EFFECT",
    "NOT_YET_IN_EFFECT",
    "VAULT_NOT_FOUND",
    "BROADER_THAN_NEEDED",
    "UNKNOWN_ROLE",
    "BAD_INPUT",
    "CANNOT_CONFIRM",
    "NO_DATA_ACCESS",
    "OPERATOR_UNKNOWN",
    "OPERATOR_IS_GRANTEE",
    "GRANTEE_UNKNOWN",
]

GRANTED = define(
    "AKV-ROLE-001",
    Severity.OK,
    "Role assignment created",
    """
    The role was assigned to the service principal's object id at the vault's scope through
    Azure Resource Manager. Key Vault may take a few minutes to honour a new assignment.
    """,
    "Nothing to do; wait for the grant to take effect (the runbook re-probes).",
)

ALREADY_GRANTED = define(
    "AKV-ROLE-002",
    Severity.INFO,
    "Role already assigned",
    """
    ARM answered RoleAssignmentExists: the principal already holds this role at this scope.
    If reads are still forbidden, the assignment is either very recent (propagation can take
    several minutes) or made on another vault, or the vault uses access policies instead of
    RBAC.
    """,
    """
    Wait a few minutes and probe again; check that the scope in the detail is this vault and
    that the vault's permission model is RBAC (`az keyvault show -n <vault> --query
    properties.enableRbacAuthorization`).
    """,
)

NOT_ALLOWED_TO_GRANT = define(
    "AKV-ROLE-003",
    Severity.ERROR,
    "Your identity may not grant access on this vault (AuthorizationFailed)",
    """
    Creating a role assignment needs Microsoft.Authorization/roleAssignments/write at the
    vault's scope, which only Owner, User Access Administrator and Key Vault Data Access
    Administrator hold. Editing an access policy needs Microsoft.KeyVault/vaults/
    accessPolicies/write (Owner, Contributor, Key Vault Contributor). The identity that ran
    the grant holds none of these, so ARM refused with AuthorizationFailed.
    """,
    """
    Ask someone who holds one of those roles on the vault (or its resource group or
    subscription) to run the grant: `akv-runbook grant` prints it as az CLI, PowerShell,
    Bicep and Terraform with the right scope and object id.
    """,
)

PRINCIPAL_NOT_FOUND = define(
    "AKV-ROLE-004",
    Severity.ERROR,
    "Principal not found: a client id was passed instead of the object id",
    """
    ARM answered PrincipalNotFound: no service principal with this id exists in the tenant.
    The usual cause is the application's client (app) id — what AZURE_CLIENT_ID holds —
    passed where the service principal's OBJECT id is needed. They are different GUIDs. The
    object id is the token's `oid` claim (the probe shows it), or `az ad sp show --id
    <client id> --query id`. A principal created seconds ago can also be not yet replicated.
    """,
    """
    Use the service principal's object id (the probe's claims.oid), then grant again. For a
    brand-new service principal, wait a minute and retry.
    """,
)

POLICY_SET = define(
    "AKV-ROLE-005",
    Severity.OK,
    "Access policy updated (secret get, list)",
    """
    The vault uses the access-policy model; an access policy granting secret get and list to
    the service principal's object id was added through ARM. The backend only needs get.
    """,
    "Nothing to do; wait for the change to take effect (the runbook re-probes).",
)

GRANT_FAILED = define(
    "AKV-ROLE-006",
    Severity.ERROR,
    "Grant failed",
    """
    ARM refused or could not complete the grant for a reason other than missing rights or a
    wrong principal id; the detail shows the error code and message ARM returned.
    """,
    """
    Read the ARM error in the detail; check the vault resource id, the subscription and the
    network path to management.azure.com, or run the printed az CLI command instead.
    """,
)

ACCESS_IN_EFFECT = define(
    "AKV-ROLE-007",
    Severity.OK,
    "Access is in effect",
    """
    After the grant, a fresh probe read the expected secrets without a 403: Key Vault now
    honours the role assignment or access policy.
    """,
    "Nothing to do.",
)

NOT_YET_IN_EFFECT = define(
    "AKV-ROLE-008",
    Severity.ERROR,
    "Access still forbidden after the wait",
    """
    The re-probe still got 403 when the bounded wait ended. Role assignments usually take
    effect within a few minutes but Azure documents up to 10 minutes (longer for group
    memberships); a grant on the wrong scope, to the wrong object id, or of an RBAC role on an
    access-policy vault never takes effect.
    """,
    """
    Probe again in a few minutes (`akv-runbook check`). If it stays forbidden, compare the
    assignment's scope and principal with the detail and check the vault's permission model.
    """,
)

VAULT_NOT_FOUND = define(
    "AKV-ROLE-009",
    Severity.ERROR,
    "Vault not found through Azure Resource Manager",
    """
    The vault could not be located in the subscription through ARM, so its resource id (the
    scope of a role assignment) and permission model are unknown. Either the identity has no
    read access to it, the subscription is another one, or the vault name is wrong.
    """,
    """
    Use an identity with at least Reader on the vault, check the subscription id
    (AZURE_SUBSCRIPTION_ID or --subscription) and the vault name, or pass the vault's resource
    id (`az keyvault show -n <vault> --query id`).
    """,
)

BROADER_THAN_NEEDED = define(
    "AKV-ROLE-010",
    Severity.WARNING,
    "Requested role is broader than the backend needs",
    """
    The Airflow backend only reads secret values. Key Vault Secrets User is enough on an RBAC
    vault; Secrets Officer, Administrator, Contributor or Owner also allow writing, deleting
    or granting. Key Vault Contributor is management-plane only: it grants NO access to
    secret values on an RBAC vault (the seed recipe's second role is therefore unnecessary).
    """,
    "Grant Key Vault Secrets User at the vault's scope instead.",
)

UNKNOWN_ROLE = define(
    "AKV-ROLE-011",
    Severity.ERROR,
    "Unknown role",
    """
    The role is neither a built-in role name nor a role definition id that ARM knows at this
    scope, so no assignment can be created.
    """,
    'Use a built-in name such as "Key Vault Secrets User", or a role definition GUID.',
)

BAD_INPUT = define(
    "AKV-ROLE-012",
    Severity.ERROR,
    "Object id or vault resource id is malformed",
    """
    A grant needs the service principal's object id (a GUID) and the vault's resource id
    (/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<name>).
    One of them does not have that shape, so nothing was sent to ARM.
    """,
    """
    Take the object id from the probe (claims.oid) and the resource id from `az keyvault show
    -n <vault> --query id` or from find_vault().
    """,
)

CANNOT_CONFIRM = define(
    "AKV-ROLE-013",
    Severity.ERROR,
    "Access could not be confirmed: the probe failed for another reason",
    """
    The re-probe after the grant failed for a reason that waiting does not fix (sign-in,
    network, firewall, throttling, or no secret to read), so whether the grant took effect is
    unknown. The probe's own findings say what failed.
    """,
    "Fix the problem the other findings name, then run the probe again.",
)

NO_DATA_ACCESS = define(
    "AKV-ROLE-014",
    Severity.ERROR,
    "Requested role grants no access to secret values",
    """
    On an RBAC vault only data-plane roles read secret values: Key Vault Secrets User (all the
    backend needs), Secrets Officer and Administrator. Owner, Contributor, Key Vault
    Contributor, Reader, Key Vault Reader, User Access Administrator and Key Vault Data Access
    Administrator are management-plane roles: they read NO secret value, so granting one
    would not fix a ForbiddenByRbac read and would only widen what a leaked credential can
    do. The grant is therefore not made, with or without --perform.
    """,
    "Grant Key Vault Secrets User at the vault's scope (the default role).",
)

OPERATOR_UNKNOWN = define(
    "AKV-ROLE-015",
    Severity.ERROR,
    "Who makes the grant is not known",
    """
    A grant is made by an operator — someone allowed to create role assignments — and never
    with the backend's own environment credential (AZURE_*): that identity is the one being
    granted. No operator was named, or the named one is incomplete, so nothing was granted.
    """,
    """
    Name the operator: `--operator signed-in` (your own sign-in: az login, managed identity;
    AZURE_* excluded), `--operator az-cli`, `--operator interactive`, `--operator
    sandbox-admin` (the offline sandbox), or `--operator-env PREFIX` to sign in as
    PREFIX_TENANT_ID / PREFIX_CLIENT_ID / PREFIX_CLIENT_SECRET (`--operator-env AZURE` names
    this shell's AZURE_* explicitly). In notebook 02 the connection chooses the operator.
    """,
)

OPERATOR_IS_GRANTEE = define(
    "AKV-ROLE-016",
    Severity.ERROR,
    "Refused: the operator would grant access to itself",
    """
    The operator's token names the same object id as the backend identity the settings
    describe, so the grant would go to the operator itself (or be made with the backend's own
    credential). The usual cause is running the grant in a shell whose AZURE_* variables are
    the operator's, so the settings learned from that environment describe the operator, or
    naming the backend's own variables as the operator. Nothing was granted.
    """,
    """
    Describe the backend with --settings FILE (or --tenant-id, --client-id,
    --client-secret-env, or --object-id) and name a different operator with --operator or
    --operator-env.
    """,
)

GRANTEE_UNKNOWN = define(
    "AKV-ROLE-017",
    Severity.ERROR,
    "The backend's object id is not known",
    """
    The grant goes to the backend's service principal OBJECT id, learned by signing in as the
    backend (the token's oid claim). That sign-in failed here — typically the backend's client
    secret is not in the operator's shell — and no object id was given.
    """,
    """
    Pass --object-id (`az ad sp show --id <client id> --query id`; for a system-assigned
    managed identity `az vm identity show` / `az webapp identity show --query principalId`), or
    make the backend's secret available in the variable the settings name (client_secret_env).
    A user-assigned managed identity or a workload identity app is looked up by its client id.
    """,
)
