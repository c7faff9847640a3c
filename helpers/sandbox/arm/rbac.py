"""Azure RBAC: built-in role definitions, role assignments and the decision that reads them.

Shared by both planes: ARM checks a role's `actions`, the Key Vault data plane its
`dataActions`. Role ids and meanings follow azure-wire.md section 4.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

from . import exceptions as exc

__all__ = [
    "Authorization",
    "ROLES",
    "ROLE_BY_NAME",
    "RoleAssignment",
    "RoleDefinition",
    "action_matches",
    "find_role",
    "role_allows",
    "role_definition_path",
    "scope_covers",
]


@dataclass(frozen=True)
class RoleDefinition:
    id: str
    name: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()


_KV_READ = (
    "Microsoft.Authorization/*/read",
    "Microsoft.Resources/*/read",
    "Microsoft.KeyVault/vaults/*/read",
)
ROLES = {
    r.id: r
    for r in (
        RoleDefinition("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", ("*",)),
        RoleDefinition(
            "b24988ac-6180-42a0-ab88-20f7382dd24c",
            "Contributor",
            ("*",),
            ("Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write"),
        ),
        RoleDefinition("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", ("*/read",)),
        RoleDefinition(
            "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
            "User Access Administrator",
            ("*/read", "Microsoft.Authorization/*"),
        ),
        RoleDefinition(
            "f25e0fa2-a7c8-4377-a976-54943a77a395",
            "Key Vault Contributor",
            ("Microsoft.Authorization/*/read", "Microsoft.Resources/*", "Microsoft.KeyVault/*"),
        ),
        RoleDefinition(
            "00482a5a-887f-4fb3-b363-3b7fe8e74483",
            "Key Vault Administrator",
            _KV_READ,
            data_actions=("Microsoft.KeyVault/vaults/*",),
        ),
        RoleDefinition(
            "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
            "Key Vault Secrets Officer",
            _KV_READ,
            data_actions=("Microsoft.KeyVault/vaults/secrets/*",),
        ),
        RoleDefinition(
            "4633458b-17de-408a-b874-0445c86b69e6",
            "Key Vault Secrets User",
            data_actions=(
                "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            ),
        ),
        RoleDefinition(
            "21090545-7ca7-4776-b22c-e363652d74d2",
            "Key Vault Reader",
            _KV_READ,
            data_actions=(
                "Microsoft.KeyVault/vaults/*/read",
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            ),
        ),
        RoleDefinition(
            "8b54135c-b56d-4d72-a534-26097cfdc8d8",
            "Key Vault Data Access Administrator",
            (
                "Microsoft.Authorization/roleAssignments/write",
                "Microsoft.Authorization/roleAssignments/delete",
                *_KV_READ,
            ),
        ),
    )
}
ROLE_BY_NAME = {r.name.lower(): r for r in ROLES.values()}


def find_role(ident: str) -> RoleDefinition | None:
    """A built-in role by display name, bare GUID or full roleDefinitionId."""
    key = ident.strip().lower()
    return ROLE_BY_NAME.get(key) or ROLES.get(key.rsplit("/", 1)[-1])


@cache
def _pattern(glob: str) -> re.Pattern[str]:
    parts = [re.escape(segment) for segment in glob.split("/*/")]
    body = "(?:/.*)?/".join(parts).replace(r"\*", ".*")
    return re.compile(body + r"\Z", re.IGNORECASE | re.DOTALL)


def action_matches(patterns: tuple[str, ...] | list[str], action: str) -> bool:
    """Whether any of a role's action patterns covers ``action``, as Azure RBAC matches them.

    "The wildcard (*) extends a permission to everything that matches the action string you
    provide" (https://learn.microsoft.com/azure/role-based-access-control/role-definitions,
    section Actions): ``*`` stands for any run of characters, ``/`` included, and action
    strings compare case-insensitively. A ``*`` that is a whole segment also covers no
    segment at all: Key Vault Reader "reads metadata of key vaults" (built-in roles,
    https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security#key-vault-reader)
    with ``Microsoft.KeyVault/vaults/*/read`` as its only vault read action, so that pattern
    covers ``Microsoft.KeyVault/vaults/read`` as well as ``vaults/secrets/read``.
    The one place the sandbox matches actions, for both planes.
    """
    return any(_pattern(p).match(action) for p in patterns)


def role_allows(role: RoleDefinition, action: str, *, data: bool) -> bool:
    """Actions minus NotActions (DataActions minus NotDataActions on the data plane)."""
    if data:
        allowed, denied = role.data_actions, role.not_data_actions
    else:
        allowed, denied = role.actions, role.not_actions
    return action_matches(allowed, action) and not action_matches(denied, action)


def scope_covers(scope: str, resource: str) -> bool:
    scope, resource = scope.rstrip("/").lower(), resource.rstrip("/").lower()
    return scope == "" or resource == scope or resource.startswith(scope + "/")


def role_definition_path(subscription: str, role_id: str) -> str:
    return (
        f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role_id}"
    )


@dataclass
class RoleAssignment:
    name: str
    scope: str
    role_id: str
    principal_id: str
    principal_type: str = "ServicePrincipal"
    created: float = field(default_factory=time.time)
    effective_at: float = 0.0
    created_by: str = ""

    @property
    def id(self) -> str:
        return f"{self.scope}/providers/Microsoft.Authorization/roleAssignments/{self.name}"


class Authorization:
    """Role assignments and the decisions that read them."""

    def __init__(self) -> None:
        self.assignments: dict[str, RoleAssignment] = {}
        self.propagation_delay = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "assignments": [asdict(a) for a in self.assignments.values()],
            "propagation_delay": self.propagation_delay,
        }

    def load(self, data: dict[str, Any]) -> None:
        self.assignments = {
            a["name"].lower(): RoleAssignment(**a) for a in data.get("assignments", [])
        }
        self.propagation_delay = float(data.get("propagation_delay", 0.0))

    def effective_for(self, principal: str, resource: str, now: float | None = None):
        now = time.time() if now is None else now
        principal = principal.lower()
        for a in self.assignments.values():
            if (
                a.principal_id.lower() == principal
                and a.effective_at <= now
                and scope_covers(a.scope, resource)
            ):
                yield a

    def allows(self, principal: str, action: str, resource: str, *, data: bool) -> bool:
        for a in self.effective_for(principal, resource):
            role = ROLES.get(a.role_id)
            if role and role_allows(role, action, data=data):
                return True
        return False

    def create(
        self,
        *,
        name: str,
        scope: str,
        role_id: str,
        principal_id: str,
        principal_type: str,
        created_by: str = "",
    ) -> tuple[RoleAssignment, bool]:
        """Create (or return the identical existing) assignment; the bool says 'created'."""
        existing = self.assignments.get(name.lower())
        if existing is not None:
            same = (
                existing.scope.lower() == scope.rstrip("/").lower()
                and existing.role_id == role_id
                and existing.principal_id.lower() == principal_id.lower()
            )
            if not same:
                raise exc.RoleAssignmentUpdateNotPermitted()
            return existing, False
        for a in self.assignments.values():
            if (
                a.scope.lower() == scope.rstrip("/").lower()
                and a.role_id == role_id
                and a.principal_id.lower() == principal_id.lower()
            ):
                raise exc.RoleAssignmentExists()
        now = time.time()
        assignment = RoleAssignment(
            name=name.lower(),
            scope=scope.rstrip("/"),
            role_id=role_id,
            principal_id=principal_id.lower(),
            principal_type=principal_type,
            created=now,
            effective_at=now + self.propagation_delay,
            created_by=created_by,
        )
        self.assignments[assignment.name] = assignment
        return assignment, True

    def delete(self, name: str) -> RoleAssignment | None:
        return self.assignments.pop(name.lower(), None)

    def list(self, scope: str, *, at_scope_only: bool = False, principal: str | None = None):
        out = []
        for a in self.assignments.values():
            if principal and a.principal_id.lower() != principal.lower():
                continue
            above = scope_covers(a.scope, scope)
            below = scope_covers(scope, a.scope)
            if above or (below and not at_scope_only):
                out.append(a)
        return out
