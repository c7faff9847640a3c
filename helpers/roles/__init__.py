"""Who may read the vault: permission model, least privilege, the grant and its commands.

* :mod:`helpers.roles.model` — :func:`find_vault`, :func:`roles_held` (ARM), role names/ids;
* :mod:`helpers.roles.privilege` — :func:`least_privilege` and :func:`role_verdict`, the one
  least-privilege verdict;
* :mod:`helpers.roles.commands` — :func:`grant_commands` (az, PowerShell, Bicep, Terraform);
* :mod:`helpers.roles.grant` — :func:`plan_grant`, the one grant workflow (CLI and notebook),
  :func:`grant_need`, whether the backend's probe calls for a grant, and
  :func:`perform_grant`, the ARM call.

Waiting for a grant to take effect re-probes the vault: ``helpers.probe.wait_for_access``.
"""

from helpers.roles.commands import grant_commands
from helpers.roles.grant import (
    AUTHORIZED_CODES,
    FORBIDDEN_CODES,
    GrantNeed,
    GrantPlan,
    Observed,
    grant_need,
    no_grant_needed,
    perform_grant,
    plan_grant,
)
from helpers.roles.model import (
    ARM_API_TIMEOUT,
    BUILTIN_ROLES,
    VAULT_DOMAINS,
    PermissionModel,
    VaultInfo,
    find_vault,
    parse_vault_resource_id,
    role_id,
    role_name,
    roles_held,
    vault_name_from_url,
)
from helpers.roles.privilege import (
    BROADER_ROLES,
    GRANTORS,
    LEAST_PRIVILEGE_ROLE,
    NO_DATA_ROLES,
    POLICY_EDITORS,
    POLICY_PERMISSIONS,
    least_privilege,
    role_verdict,
)

__all__ = [
    "ARM_API_TIMEOUT",
    "AUTHORIZED_CODES",
    "BROADER_ROLES",
    "BUILTIN_ROLES",
    "FORBIDDEN_CODES",
    "GRANTORS",
    "LEAST_PRIVILEGE_ROLE",
    "NO_DATA_ROLES",
    "POLICY_EDITORS",
    "POLICY_PERMISSIONS",
    "VAULT_DOMAINS",
    "GrantNeed",
    "GrantPlan",
    "Observed",
    "PermissionModel",
    "VaultInfo",
    "find_vault",
    "grant_commands",
    "grant_need",
    "least_privilege",
    "no_grant_needed",
    "parse_vault_resource_id",
    "perform_grant",
    "plan_grant",
    "role_id",
    "role_name",
    "role_verdict",
    "roles_held",
    "vault_name_from_url",
]
