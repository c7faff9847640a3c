"""Wire layer of the ARM sliver: vault reads, access policies, role assignments."""

from __future__ import annotations

import re
import time
from typing import Any

from ..entra.models import Directory
from ..http import Request, Response
from ..keyvault.models import AccessPolicy, KeyVaultBackend, Vault
from . import exceptions as exc
from .models import ROLES, ResourceManager, RoleAssignment, find_role, role_definition_path

__all__ = [
    "AUDIENCES",
    "ArmResponses",
    "RESOURCES_READ",
    "VAULT_READ",
]

AUDIENCES = (
    "https://management.azure.com/",
    "https://management.azure.com",
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
)
VAULT_READ = "Microsoft.KeyVault/vaults/read"
RESOURCES_READ = "Microsoft.Resources/subscriptions/resources/read"


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime(ts))


class ArmResponses:
    def __init__(self, arm: ResourceManager, vaults: KeyVaultBackend, directory: Directory):
        self.arm = arm
        self.vaults = vaults
        self.directory = directory

    # -- authentication ------------------------------------------------------------------
    def authenticate(self, request: Request) -> dict[str, Any]:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise exc.AuthenticationFailed()
        claims = self.directory.verify_signature(token.strip())
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
        return claims

    def dispatch(self, request: Request, handler: str, params: dict[str, str]) -> Response:
        if "api-version" not in request.query:
            raise exc.MissingApiVersion()
        claims = self.authenticate(request)
        sub = params.get("sub") or _sub_of(params.get("scope", ""))
        if sub:
            subscription = self.arm.subscription(sub)
            if claims.get("tid") != subscription.tenant_id:
                raise exc.InvalidAuthenticationToken(
                    f"The access token is from the wrong issuer '{claims.get('iss')}'. It must "
                    f"match the tenant 'https://sts.windows.net/{subscription.tenant_id}/' "
                    "associated with this subscription. Please use the authority (URL) "
                    f"'https://login.windows.net/{subscription.tenant_id}' to get the token.",
                    code="InvalidAuthenticationTokenTenant",
                )
        return getattr(self, handler)(request, claims, **params)

    # -- vaults --------------------------------------------------------------------------
    def _vault(self, sub: str, rg: str, name: str) -> Vault:
        self.arm.resource_group(sub, rg)
        vault = self.vaults.vaults.get(name.lower())
        if (
            vault is None
            or vault.subscription_id.lower() != sub.lower()
            or vault.resource_group.lower() != rg.lower()
        ):
            raise exc.ResourceNotFound("Microsoft.KeyVault/vaults", name, rg)
        return vault

    @staticmethod
    def vault_json(vault: Vault) -> dict[str, Any]:
        return {
            "id": vault.resource_id,
            "name": vault.name,
            "type": "Microsoft.KeyVault/vaults",
            "location": vault.location,
            "tags": {},
            "properties": {
                "sku": {"family": "A", "name": "standard"},
                "tenantId": vault.tenant_id,
                "accessPolicies": [_policy_json(p) for p in vault.access_policies],
                "enabledForDeployment": False,
                "enabledForDiskEncryption": False,
                "enabledForTemplateDeployment": False,
                "enableSoftDelete": True,
                "softDeleteRetentionInDays": vault.soft_delete_retention_days,
                "enableRbacAuthorization": vault.rbac,
                "enablePurgeProtection": vault.purge_protection or None,
                "vaultUri": vault.uri + "/",
                "provisioningState": "Succeeded",
                "publicNetworkAccess": "Enabled",
                "networkAcls": {
                    "bypass": "AzureServices",
                    "defaultAction": vault.firewall_default_action,
                    "ipRules": [{"value": ip} for ip in vault.ip_rules],
                    "virtualNetworkRules": [],
                },
            },
        }

    def _readable(self, claims, vaults, action: str, scope: str) -> Response:
        """A collection GET: everything when the caller may read at the collection scope,
        only what it may read below it ("partial access"), and 403 when that is nothing."""
        oid = claims.get("oid", "")
        allows = self.arm.authorization.allows
        whole = allows(oid, action, scope, data=False)
        visible = [
            self.vault_json(v)
            for v in vaults
            if whole or allows(oid, VAULT_READ, v.resource_id, data=False)
        ]
        if not whole and not visible:
            self.arm.require(claims, action, scope)
        return Response.json({"value": visible, "nextLink": None})

    def get_vault(self, request, claims, sub, rg, vault):
        # ARM authorizes on the requested id before the resource is looked up, so a caller
        # without rights gets 403 whether or not the vault exists.
        self.arm.require(claims, VAULT_READ, _vault_id(sub, rg, vault))
        found = self._vault(sub, rg, vault)
        return Response.json(self.vault_json(found))

    def list_vaults_by_subscription(self, request, claims, sub):
        vaults = [
            v for v in self.vaults.vaults.values() if v.subscription_id.lower() == sub.lower()
        ]
        return self._readable(claims, vaults, VAULT_READ, f"/subscriptions/{sub}")

    def list_resources(self, request, claims, sub):
        vaults = [
            v for v in self.vaults.vaults.values() if v.subscription_id.lower() == sub.lower()
        ]
        return self._readable(claims, vaults, RESOURCES_READ, f"/subscriptions/{sub}")

    def list_vaults_by_resource_group(self, request, claims, sub, rg):
        scope = f"/subscriptions/{sub}/resourceGroups/{rg}"
        if self.arm.authorization.allows(claims.get("oid", ""), VAULT_READ, scope, data=False):
            self.arm.resource_group(sub, rg)
        vaults = [
            v
            for v in self.vaults.vaults.values()
            if v.subscription_id.lower() == sub.lower() and v.resource_group.lower() == rg.lower()
        ]
        return self._readable(claims, vaults, VAULT_READ, scope)

    def update_access_policy(self, request, claims, sub, rg, vault, kind):
        self.arm.require(
            claims, "Microsoft.KeyVault/vaults/accessPolicies/write", _vault_id(sub, rg, vault)
        )
        found = self._vault(sub, rg, vault)
        body = request.json() or {}
        try:
            incoming = [
                AccessPolicy(
                    tenant_id=p["tenantId"],
                    object_id=p["objectId"],
                    secrets=[s.lower() for s in p.get("permissions", {}).get("secrets", [])],
                )
                for p in body["properties"]["accessPolicies"]
            ]
        except (KeyError, TypeError) as err:
            raise exc.InvalidRequestContent(
                "The request content was invalid: properties.accessPolicies is required."
            ) from err
        for new in incoming:
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
        return Response.json(
            {
                "id": f"{found.resource_id}/accessPolicies/{kind}",
                "type": "Microsoft.KeyVault/vaults/accessPolicies",
                "properties": {"accessPolicies": [_policy_json(p) for p in found.access_policies]},
            }
        )

    # -- subscriptions -------------------------------------------------------------------
    def _subscription_json(self, sub) -> dict[str, Any]:
        return {
            "id": sub.scope,
            "subscriptionId": sub.id,
            "tenantId": sub.tenant_id,
            "displayName": sub.display_name,
            "state": "Enabled",
        }

    def list_subscriptions(self, request, claims):
        subs = [s for s in self.arm.subscriptions.values() if s.tenant_id == claims.get("tid")]
        return Response.json({"value": [self._subscription_json(s) for s in subs]})

    def get_subscription(self, request, claims, sub):
        return Response.json(self._subscription_json(self.arm.subscription(sub)))

    # -- role assignments ----------------------------------------------------------------
    def _assignment_json(self, a: RoleAssignment) -> dict[str, Any]:
        sub = _sub_of(a.scope) or next(iter(self.arm.subscriptions.values())).id
        return {
            "properties": {
                "roleDefinitionId": role_definition_path(sub, a.role_id),
                "principalId": a.principal_id,
                "principalType": a.principal_type,
                "scope": a.scope,
                "condition": None,
                "conditionVersion": None,
                "createdOn": _iso(a.created),
                "updatedOn": _iso(a.created),
                "createdBy": a.created_by or None,
                "updatedBy": a.created_by or None,
                "delegatedManagedIdentityResourceId": None,
                "description": None,
            },
            "id": a.id,
            "type": "Microsoft.Authorization/roleAssignments",
            "name": a.name,
        }

    def _check_scope(self, scope: str) -> None:
        parts = scope.strip("/").split("/")
        if len(parts) >= 4:
            self.arm.resource_group(parts[1], parts[3])
        if len(parts) >= 8:
            self._vault(parts[1], parts[3], parts[7])

    def create_role_assignment(self, request, claims, scope, name):
        self.arm.require(claims, "Microsoft.Authorization/roleAssignments/write", scope)
        self._check_scope(scope)
        try:
            props = (request.json() or {})["properties"]
            role_ref, principal = props["roleDefinitionId"], props["principalId"]
        except (KeyError, TypeError, ValueError) as err:
            raise exc.InvalidRequestContent(
                "The request content was invalid: properties.roleDefinitionId and "
                "properties.principalId are required."
            ) from err
        role = find_role(role_ref) if "/" in role_ref else ROLES.get(role_ref.lower())
        if role is None:
            raise exc.RoleDefinitionDoesNotExist(role_ref.rsplit("/", 1)[-1])
        if self.directory.app_by_object_id(principal) is None:
            raise exc.PrincipalNotFound(principal, claims.get("tid", ""))
        assignment, created = self.arm.authorization.create(
            name=name,
            scope=scope,
            role_id=role.id,
            principal_id=principal,
            principal_type=props.get("principalType") or "ServicePrincipal",
            created_by=claims.get("oid", ""),
        )
        return Response.json(self._assignment_json(assignment), status=201 if created else 200)

    def get_role_assignment(self, request, claims, scope, name):
        self.arm.require(claims, "Microsoft.Authorization/roleAssignments/read", scope)
        a = self.arm.authorization.assignments.get(name.lower())
        if a is None or a.scope.lower() != scope.rstrip("/").lower():
            raise exc.RoleAssignmentNotFound(name)
        return Response.json(self._assignment_json(a))

    def delete_role_assignment(self, request, claims, scope, name):
        self.arm.require(claims, "Microsoft.Authorization/roleAssignments/delete", scope)
        a = self.arm.authorization.assignments.get(name.lower())
        if a is None or a.scope.lower() != scope.rstrip("/").lower():
            return Response(204)
        self.arm.authorization.delete(name)
        return Response.json(self._assignment_json(a))

    def list_role_assignments(self, request, claims, scope):
        self.arm.require(claims, "Microsoft.Authorization/roleAssignments/read", scope)
        self._check_scope(scope)
        flt = request.query.get("$filter", "")
        # principalId eq '<oid>' and assignedTo('<oid>') (what az CLI sends) both narrow
        # the list to one principal; a service principal belongs to no groups here.
        principal = re.search(
            r"(?:principalId\s+eq\s+'([^']+)'|assignedTo\('([^']+)'\))", flt, re.IGNORECASE
        )
        found = self.arm.authorization.list(
            scope,
            at_scope_only="atscope()" in flt.lower(),
            principal=(principal.group(1) or principal.group(2)) if principal else None,
        )
        return Response.json({"value": [self._assignment_json(a) for a in found], "nextLink": None})

    # -- role definitions ----------------------------------------------------------------
    def _definition_json(self, scope: str, role) -> dict[str, Any]:
        sub = _sub_of(scope) or next(iter(self.arm.subscriptions.values())).id
        return {
            "id": role_definition_path(sub, role.id),
            "name": role.id,
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {
                "roleName": role.name,
                "type": "BuiltInRole",
                "description": role.name,
                "assignableScopes": ["/"],
                "permissions": [
                    {
                        "actions": list(role.actions),
                        "notActions": list(role.not_actions),
                        "dataActions": list(role.data_actions),
                        "notDataActions": [],
                    }
                ],
            },
        }

    def list_role_definitions(self, request, claims, scope):
        wanted = re.search(r"roleName\s+eq\s+'([^']+)'", request.query.get("$filter", ""))
        roles = [find_role(wanted.group(1))] if wanted else list(ROLES.values())
        return Response.json(
            {"value": [self._definition_json(scope, r) for r in roles if r], "nextLink": None}
        )

    def get_role_definition(self, request, claims, scope, role):
        found = ROLES.get(role.lower())
        if found is None:
            raise exc.RoleDefinitionDoesNotExist(role)
        return Response.json(self._definition_json(scope, found))


def _vault_id(sub: str, rg: str, vault: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{vault}"


def _sub_of(scope: str) -> str | None:
    parts = scope.strip("/").split("/")
    return parts[1] if len(parts) >= 2 and parts[0].lower() == "subscriptions" else None


def _policy_json(p: AccessPolicy) -> dict[str, Any]:
    return {
        "tenantId": p.tenant_id,
        "objectId": p.object_id,
        "permissions": {"keys": [], "secrets": list(p.secrets), "certificates": []},
    }
