"""ARM state and rules: subscriptions, resource groups, vaults as resources, role assignments.

Every operation authenticates and authorizes here, in the order ARM does (api-version,
token, tenant of the subscription, then the caller's `actions` on the requested scope), and
returns Python objects; responses.py turns them into ARM JSON. Roles and the RBAC decision
itself live in rbac.py, shared with the Key Vault data plane.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from ..entra.models import Directory, bearer_token
from ..keyvault.models import AccessPolicy, KeyVaultBackend, Vault
from . import exceptions as exc
from .rbac import (
    ROLE_BY_NAME,
    ROLES,
    Authorization,
    RoleAssignment,
    RoleDefinition,
    find_role,
    role_allows,
    role_definition_path,
    scope_covers,
)

__all__ = [
    "ACCESS_POLICY_WRITE",
    "AUDIENCES",
    "Authorization",
    "RESOURCES_READ",
    "ROLES",
    "ROLE_BY_NAME",
    "ResourceGroup",
    "ResourceManager",
    "RoleAssignment",
    "RoleDefinition",
    "Subscription",
    "VAULT_READ",
    "VAULT_WRITE",
    "find_role",
    "role_allows",
    "role_definition_path",
    "scope_covers",
    "subscription_of",
    "vault_id",
]

AUDIENCES = (
    "https://management.azure.com/",
    "https://management.azure.com",
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
)
VAULT_READ = "Microsoft.KeyVault/vaults/read"
RESOURCES_READ = "Microsoft.Resources/subscriptions/resources/read"
ACCESS_POLICY_WRITE = "Microsoft.KeyVault/vaults/accessPolicies/write"
VAULT_WRITE = "Microsoft.KeyVault/vaults/write"


@dataclass
class ResourceGroup:
    name: str
    location: str


@dataclass
class Subscription:
    id: str
    tenant_id: str
    display_name: str
    resource_groups: dict[str, ResourceGroup] = field(default_factory=dict)

    @property
    def scope(self) -> str:
        return f"/subscriptions/{self.id}"


def vault_id(sub: str, rg: str, vault: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{vault}"


def subscription_of(scope: str) -> str | None:
    parts = scope.strip("/").split("/")
    return parts[1] if len(parts) >= 2 and parts[0].lower() == "subscriptions" else None


class ResourceManager:
    def __init__(self, directory: Directory, vaults: KeyVaultBackend) -> None:
        self.subscriptions: dict[str, Subscription] = {}
        self.directory = directory
        self.vaults = vaults
        self.authorization: Authorization = vaults.authorization

    # -- state ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "subscriptions": [asdict(s) for s in self.subscriptions.values()],
            "authorization": self.authorization.to_dict(),
        }

    def load(self, data: dict[str, Any]) -> None:
        self.subscriptions = {}
        for raw in data.get("subscriptions", []):
            groups = {k: ResourceGroup(**g) for k, g in raw.get("resource_groups", {}).items()}
            sub = Subscription(**{**raw, "resource_groups": groups})
            self.subscriptions[sub.id.lower()] = sub
        self.authorization.load(data.get("authorization", {}))

    def subscription(self, sub_id: str) -> Subscription:
        sub = self.subscriptions.get(sub_id.lower())
        if sub is None:
            raise exc.SubscriptionNotFound(sub_id)
        return sub

    def resource_group(self, sub_id: str, group: str) -> ResourceGroup:
        rg = self.subscription(sub_id).resource_groups.get(group.lower())
        if rg is None:
            raise exc.ResourceGroupNotFound(group)
        return rg

    def home_subscription(self, scope: str) -> str:
        """The subscription a scope names, else the first one (for tenant-wide scopes)."""
        return subscription_of(scope) or next(iter(self.subscriptions.values())).id

    @staticmethod
    def new_assignment_name() -> str:
        return str(uuid.uuid4())

    # -- authentication and authorization ------------------------------------------------
    def authenticate(
        self,
        *,
        authorization: str,
        api_version: str | None,
        subscription: str | None = None,
        scope: str = "",
    ) -> dict[str, Any]:
        """The caller's claims, checked as ARM checks them before any operation."""
        if api_version is None:
            raise exc.MissingApiVersion()
        token = bearer_token(authorization)
        if token is None:
            raise exc.AuthenticationFailed()
        claims = self.directory.verify_signature(token)
        if claims is None:
            raise exc.InvalidAuthenticationToken()
        if claims.get("aud") not in AUDIENCES:
            raise exc.InvalidAuthenticationToken(
                f"The access token has been obtained for wrong audience or resource "
                f"'{claims.get('aud')}'. It should exactly match with one of the allowed "
                "audiences 'https://management.core.windows.net/',"
                "'https://management.core.windows.net','https://management.azure.com/',"
                "'https://management.azure.com'.",
                code="InvalidAuthenticationTokenAudience",
            )
        if claims.get("exp", 0) <= time.time():
            raise exc.InvalidAuthenticationToken(
                "The access token expiry UTC time is earlier than current UTC time.",
                code="ExpiredAuthenticationToken",
            )
        sub = subscription or subscription_of(scope)
        if sub:
            tenant = self.subscription(sub).tenant_id
            if claims.get("tid") != tenant:
                raise exc.InvalidAuthenticationToken(
                    f"The access token is from the wrong issuer '{claims.get('iss')}'. It must "
                    f"match the tenant 'https://sts.windows.net/{tenant}/' "
                    "associated with this subscription. Please use the authority (URL) "
                    f"'https://login.windows.net/{tenant}' to get the token.",
                    code="InvalidAuthenticationTokenTenant",
                )
        return claims

    @staticmethod
    def accept_content(*, content_type: str, has_body: bool) -> None:
        """ARM takes JSON bodies only (415 UnsupportedMediaType); no Content-Type is JSON."""
        if has_body and content_type and "json" not in content_type.lower():
            raise exc.UnsupportedMediaType(content_type.split(";")[0].strip()[:100])

    def require(self, claims: dict[str, Any], action: str, scope: str) -> None:
        if not self.authorization.allows(claims.get("oid", ""), action, scope, data=False):
            raise exc.AuthorizationFailed(
                claims.get("oid", ""), claims.get("appid", ""), action, scope
            )

    # -- vaults --------------------------------------------------------------------------
    def _vault(self, sub: str, rg: str, name: str) -> Vault:
        self.resource_group(sub, rg)
        vault = self.vaults.vaults.get(name.lower())
        if (
            vault is None
            or vault.subscription_id.lower() != sub.lower()
            or vault.resource_group.lower() != rg.lower()
        ):
            raise exc.ResourceNotFound("Microsoft.KeyVault/vaults", name, rg)
        return vault

    def _vaults_in(self, sub: str, rg: str | None = None) -> list[Vault]:
        return [
            v
            for v in self.vaults.vaults.values()
            if v.subscription_id.lower() == sub.lower()
            and (rg is None or v.resource_group.lower() == rg.lower())
        ]

    def _readable(
        self, claims: dict[str, Any], vaults: list[Vault], action: str, scope: str
    ) -> list[Vault]:
        """A collection GET: everything when the caller may read at the collection scope,
        only what it may read below it ("partial access"), and 403 when that is nothing."""
        oid = claims.get("oid", "")
        allows = self.authorization.allows
        whole = allows(oid, action, scope, data=False)
        visible = [v for v in vaults if whole or allows(oid, VAULT_READ, v.resource_id, data=False)]
        if not whole and not visible:
            self.require(claims, action, scope)
        return visible

    def get_vault(
        self, *, claims: dict[str, Any], subscription: str, resource_group: str, name: str
    ) -> Vault:
        # ARM authorizes on the requested id before the resource is looked up, so a caller
        # without rights gets 403 whether or not the vault exists.
        self.require(claims, VAULT_READ, vault_id(subscription, resource_group, name))
        return self._vault(subscription, resource_group, name)

    def list_vaults_by_subscription(
        self, *, claims: dict[str, Any], subscription: str
    ) -> list[Vault]:
        scope = f"/subscriptions/{subscription}"
        return self._readable(claims, self._vaults_in(subscription), VAULT_READ, scope)

    def list_resources(self, *, claims: dict[str, Any], subscription: str) -> list[Vault]:
        scope = f"/subscriptions/{subscription}"
        return self._readable(claims, self._vaults_in(subscription), RESOURCES_READ, scope)

    def list_vaults_by_resource_group(
        self, *, claims: dict[str, Any], subscription: str, resource_group: str
    ) -> list[Vault]:
        scope = f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
        if self.authorization.allows(claims.get("oid", ""), VAULT_READ, scope, data=False):
            self.resource_group(subscription, resource_group)
        vaults = self._vaults_in(subscription, resource_group)
        return self._readable(claims, vaults, VAULT_READ, scope)

    def update_vault(
        self,
        *,
        claims: dict[str, Any],
        subscription: str,
        resource_group: str,
        name: str,
        has_properties: bool,
        policies: list[AccessPolicy] | None,
    ) -> Vault:
        """A PUT of an existing vault: its access policies become the body's (the sandbox
        keeps every other property; creating a vault is not emulated)."""
        self.require(claims, VAULT_WRITE, vault_id(subscription, resource_group, name))
        found = self._vault(subscription, resource_group, name)
        if not has_properties:
            raise exc.InvalidRequestContent(
                "The request content was invalid and could not be deserialized: "
                "'properties' is required."
            )
        if policies is None:
            raise exc.InvalidRequestContent(
                "The request content was invalid and could not be deserialized: "
                "properties.accessPolicies must be a list of objects with string tenantId and "
                "objectId and permissions lists of strings."
            )
        found.access_policies = policies
        return found

    def update_access_policy(
        self,
        *,
        claims: dict[str, Any],
        subscription: str,
        resource_group: str,
        name: str,
        kind: str,
        policies: list[AccessPolicy] | None,
    ) -> Vault:
        """add merges permissions into a principal's policy, remove takes them away (and the
        policy when none are left), replace sets it; `policies` None: the body was invalid."""
        self.require(claims, ACCESS_POLICY_WRITE, vault_id(subscription, resource_group, name))
        found = self._vault(subscription, resource_group, name)
        if policies is None:
            raise exc.InvalidRequestContent(
                "The request content was invalid and could not be deserialized: "
                "properties.accessPolicies must be a list of objects with string tenantId and "
                "objectId and permissions lists of strings."
            )
        for new in policies:
            current = next(
                (p for p in found.access_policies if p.object_id.lower() == new.object_id.lower()),
                None,
            )
            if kind == "replace" or current is None:
                if current is not None:
                    found.access_policies.remove(current)
                if kind != "remove":
                    found.access_policies.append(new)
            elif kind == "add":
                current.secrets = sorted(set(current.secrets) | set(new.secrets))
            else:
                current.secrets = sorted(set(current.secrets) - set(new.secrets))
                if not current.secrets:
                    found.access_policies.remove(current)
        return found

    # -- subscriptions -------------------------------------------------------------------
    def list_subscriptions(self, *, claims: dict[str, Any]) -> list[Subscription]:
        return [s for s in self.subscriptions.values() if s.tenant_id == claims.get("tid")]

    def get_subscription(self, *, subscription: str) -> Subscription:
        return self.subscription(subscription)

    # -- role assignments ----------------------------------------------------------------
    def _check_scope(self, scope: str) -> None:
        parts = scope.strip("/").split("/")
        if len(parts) >= 4:
            self.resource_group(parts[1], parts[3])
        if len(parts) >= 8:
            self._vault(parts[1], parts[3], parts[7])

    def create_role_assignment(
        self,
        *,
        claims: dict[str, Any],
        scope: str,
        name: str,
        role_definition_id: str | None,
        principal_id: str | None,
        principal_type: str | None,
    ) -> tuple[RoleAssignment, bool]:
        """The assignment and whether it is new; ids None: the body did not name them."""
        self.require(claims, "Microsoft.Authorization/roleAssignments/write", scope)
        self._check_scope(scope)
        if role_definition_id is None or principal_id is None:
            raise exc.InvalidRequestContent(
                "The request content was invalid and could not be deserialized: "
                "properties.roleDefinitionId and properties.principalId are required strings "
                "(and properties.principalType a string when given)."
            )
        ref = role_definition_id
        role = find_role(ref) if "/" in ref else ROLES.get(ref.lower())
        if role is None:
            raise exc.RoleDefinitionDoesNotExist(ref.rsplit("/", 1)[-1])
        if self.directory.app_by_object_id(principal_id) is None:
            raise exc.PrincipalNotFound(principal_id, claims.get("tid", ""))
        return self.authorization.create(
            name=name,
            scope=scope,
            role_id=role.id,
            principal_id=principal_id,
            principal_type=principal_type or "ServicePrincipal",
            created_by=claims.get("oid", ""),
        )

    def _assignment_at(self, scope: str, name: str) -> RoleAssignment | None:
        a = self.authorization.assignments.get(name.lower())
        if a is None or a.scope.lower() != scope.rstrip("/").lower():
            return None
        return a

    def get_role_assignment(
        self, *, claims: dict[str, Any], scope: str, name: str
    ) -> RoleAssignment:
        self.require(claims, "Microsoft.Authorization/roleAssignments/read", scope)
        found = self._assignment_at(scope, name)
        if found is None:
            raise exc.RoleAssignmentNotFound(name)
        return found

    def delete_role_assignment(
        self, *, claims: dict[str, Any], scope: str, name: str
    ) -> RoleAssignment | None:
        """The deleted assignment, or None when there was none (ARM answers 204)."""
        self.require(claims, "Microsoft.Authorization/roleAssignments/delete", scope)
        found = self._assignment_at(scope, name)
        if found is not None:
            self.authorization.delete(name)
        return found

    def list_role_assignments(
        self,
        *,
        claims: dict[str, Any],
        scope: str,
        principal: str | None = None,
        at_scope_only: bool = False,
    ) -> list[RoleAssignment]:
        self.require(claims, "Microsoft.Authorization/roleAssignments/read", scope)
        self._check_scope(scope)
        return self.authorization.list(scope, at_scope_only=at_scope_only, principal=principal)

    # -- role definitions ----------------------------------------------------------------
    @staticmethod
    def list_role_definitions(*, role_name: str | None = None) -> list[RoleDefinition]:
        roles = [find_role(role_name)] if role_name is not None else list(ROLES.values())
        return [r for r in roles if r]

    @staticmethod
    def get_role_definition(*, role: str) -> RoleDefinition:
        found = ROLES.get(role.lower())
        if found is None:
            raise exc.RoleDefinitionDoesNotExist(role)
        return found
