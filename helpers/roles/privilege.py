"""The least-privilege verdict, in one place.

The backend only ever calls ``get`` on secrets, so least privilege is **Key Vault Secrets
User** on an RBAC vault, or an access policy with secret ``get`` (``list`` for listing names)
on an access-policy vault.

* :func:`least_privilege` — what an identity HOLDS on a vault, against what it needs
  (AKV-PERM-004 / 005 / 006); the probe's roles step and notebook 02 both report it.
* :func:`role_verdict` — what a role that is about to be GRANTED would allow (AKV-ROLE-010 /
  014); the grant workflow reports it with or without ``--perform``.
"""

from __future__ import annotations

from collections.abc import Sequence

from helpers.findings import Finding
from helpers.findings.codes.perm import BEYOND_LEAST_PRIVILEGE, LEAST_PRIVILEGE, ROLES_NOT_CHECKED
from helpers.findings.codes.role import BROADER_THAN_NEEDED, NO_DATA_ACCESS
from helpers.roles.model import BUILTIN_ROLES, PermissionModel, role_name

__all__ = [
    "BROADER_ROLES",
    "GRANTORS",
    "LEAST_PRIVILEGE_ROLE",
    "NO_DATA_ROLES",
    "POLICY_EDITORS",
    "POLICY_PERMISSIONS",
    "least_privilege",
    "role_verdict",
]

LEAST_PRIVILEGE_ROLE = "Key Vault Secrets User"
# Roles that can do more than read secret values (write, delete, grant, manage the vault).
BROADER_ROLES = frozenset(BUILTIN_ROLES) - {LEAST_PRIVILEGE_ROLE}
# Management-plane roles: no secret value is readable with them on an RBAC vault.
NO_DATA_ROLES = frozenset(
    {
        "Owner",
        "Contributor",
        "Reader",
        "User Access Administrator",
        "Key Vault Contributor",
        "Key Vault Reader",
        "Key Vault Data Access Administrator",
    }
)
# Who may create role assignments on a vault (Microsoft.Authorization/roleAssignments/write).
GRANTORS = ("Owner", "User Access Administrator", "Key Vault Data Access Administrator")
# Who may edit access policies (Microsoft.KeyVault/vaults/accessPolicies/write).
POLICY_EDITORS = ("Owner", "Contributor", "Key Vault Contributor")
POLICY_PERMISSIONS = ("get", "list")


def role_verdict(role: str, model: PermissionModel | str = PermissionModel.RBAC) -> list[Finding]:
    """[] for Key Vault Secrets User; AKV-ROLE-014 for a role that reads no secret value;
    AKV-ROLE-010 for a data role broader than reading. Access-policy vaults get a policy
    with get and list whatever the role, so no verdict there."""
    if PermissionModel.parse(model) is PermissionModel.ACCESS_POLICY:
        return []
    name = role_name(role)
    if name in NO_DATA_ROLES:
        return [
            NO_DATA_ACCESS(
                name,
                f"{name} grants no access to secret values on an RBAC vault; "
                f"{LEAST_PRIVILEGE_ROLE} is all the backend needs",
                role=name,
            )
        ]
    if name in BROADER_ROLES:
        return [
            BROADER_THAN_NEEDED(
                name,
                f"{name} can write or delete secrets; {LEAST_PRIVILEGE_ROLE} only reads them",
                role=name,
            )
        ]
    return []


def least_privilege(
    *,
    model: PermissionModel | str,
    scope: str,
    held: Sequence[str] | None = None,
    policy: Sequence[str] = (),
    visible: bool = True,
    subject: str = "roles",
) -> Finding:
    """The verdict on what an identity holds on a vault.

    ``held``: its role names (None when role assignments are not visible); ``policy``: its
    access-policy secret permissions; ``visible``: False when the identity cannot see the
    vault through ARM at all (so it holds no management role on it).
    """
    model = PermissionModel.parse(model)
    if not visible:  # no management role, but data roles (Secrets Officer…) are unseen too
        return ROLES_NOT_CHECKED(
            subject,
            f"this identity cannot see {scope} through ARM, so it cannot list its own roles: "
            "it holds no management role there, but a data role broader than Key Vault "
            "Secrets User would not show either — check the vault's Access control (IAM) page "
            "or run `akv-runbook grant` as an operator",
        )
    extra = [r for r in (held or []) if r != LEAST_PRIVILEGE_ROLE]
    policy_extra = [p for p in policy if p not in POLICY_PERMISSIONS]
    if extra or policy_extra:
        parts = []
        if extra:
            parts.append("roles " + ", ".join(extra))
        if policy_extra:
            parts.append("access-policy secret permissions " + ", ".join(policy_extra))
        no_data = [r for r in extra if r in NO_DATA_ROLES]
        verb = "grants" if len(no_data) == 1 else "grant"
        note = f"; {', '.join(no_data)} {verb} no access to secret values" if no_data else ""
        return BEYOND_LEAST_PRIVILEGE(
            subject,
            f"{' and '.join(parts)} on {scope} ({model.value} vault){note}",
            roles=extra,
            policy_permissions=policy_extra,
            model=model.value,
        )
    if held is None and model is not PermissionModel.ACCESS_POLICY:
        return ROLES_NOT_CHECKED(subject, f"role assignments on {scope} are not visible")
    what = ", ".join(held or []) or "no roles"
    if model is PermissionModel.ACCESS_POLICY:
        what = "secret permissions " + (", ".join(policy) or "none")
    return LEAST_PRIVILEGE(subject, f"{what} on {scope} ({model.value} vault)")
