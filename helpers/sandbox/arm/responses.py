"""Wire layer of the ARM sliver: read the request, call the model, serialise ARM JSON."""

from __future__ import annotations

import re
import time
from typing import Any

from ..http import Request, Response
from ..keyvault.models import AccessPolicy, Vault
from .models import (
    ResourceManager,
    RoleAssignment,
    RoleDefinition,
    Subscription,
    role_definition_path,
)

__all__ = [
    "ArmResponses",
    "PERMISSION_KINDS",
]

PERMISSION_KINDS = ("keys", "secrets", "certificates", "storage")


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime(ts))


def _policy_json(p: AccessPolicy) -> dict[str, Any]:
    return {
        "tenantId": p.tenant_id,
        "objectId": p.object_id,
        "permissions": {"keys": [], "secrets": list(p.secrets), "certificates": []},
    }


def _strings(value: Any) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        return None
    return value


def _policy(raw: Any) -> AccessPolicy | None:
    """One accessPolicies entry, or None when a field is missing or of the wrong JSON type
    (ARM refuses those as InvalidRequestContent before anything is changed)."""
    if not isinstance(raw, dict):
        return None
    tenant, oid, perms = raw.get("tenantId"), raw.get("objectId"), raw.get("permissions", {})
    if not isinstance(tenant, str) or not isinstance(oid, str) or not isinstance(perms, dict):
        return None
    lists = {kind: _strings(perms.get(kind, [])) for kind in PERMISSION_KINDS if kind in perms}
    if any(v is None for v in lists.values()):
        return None
    secrets = [s.lower() for s in lists.get("secrets") or []]
    return AccessPolicy(tenant_id=tenant, object_id=oid, secrets=secrets)


def _properties(request: Request) -> dict[str, Any] | None:
    body = request.json_body()
    if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
        return None
    return body["properties"]


def _access_policies(request: Request) -> list[AccessPolicy] | None:
    """properties.accessPolicies of the body, or None when it is missing or malformed."""
    props = _properties(request)
    raw = props.get("accessPolicies") if props is not None else None
    if not isinstance(raw, list):
        return None
    policies = [_policy(p) for p in raw]
    return None if any(p is None for p in policies) else policies  # type: ignore[return-value]


def _assignment_properties(request: Request) -> tuple[str | None, str | None, str | None]:
    """roleDefinitionId, principalId and principalType of the body (all None when a required
    one is absent or any is not a string)."""
    props = _properties(request)
    if props is None:
        return None, None, None
    role, principal = props.get("roleDefinitionId"), props.get("principalId")
    principal_type = props.get("principalType")
    if (
        not isinstance(role, str)
        or not isinstance(principal, str)
        or not isinstance(principal_type, str | None)
    ):
        return None, None, None
    return role, principal, principal_type


class ArmResponses:
    def __init__(self, arm: ResourceManager):
        self.arm = arm

    def dispatch(self, request: Request, handler: str, params: dict[str, str]) -> Response:
        claims = self.arm.authenticate(
            authorization=request.headers.get("authorization", ""),
            api_version=request.query.get("api-version"),
            subscription=params.get("sub"),
            scope=params.get("scope", ""),
        )
        self.arm.accept_content(
            content_type=request.headers.get("content-type", ""), has_body=bool(request.body)
        )
        return getattr(self, handler)(request, claims, **params)

    # -- serialisation -------------------------------------------------------------------
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

    def _vaults_json(self, vaults: list[Vault]) -> Response:
        return Response.json({"value": [self.vault_json(v) for v in vaults], "nextLink": None})

    @staticmethod
    def _subscription_json(sub: Subscription) -> dict[str, Any]:
        return {
            "id": sub.scope,
            "subscriptionId": sub.id,
            "tenantId": sub.tenant_id,
            "displayName": sub.display_name,
            "state": "Enabled",
        }

    def _assignment_json(self, a: RoleAssignment) -> dict[str, Any]:
        return {
            "properties": {
                "roleDefinitionId": role_definition_path(
                    self.arm.home_subscription(a.scope), a.role_id
                ),
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

    def _definition_json(self, scope: str, role: RoleDefinition) -> dict[str, Any]:
        return {
            "id": role_definition_path(self.arm.home_subscription(scope), role.id),
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
                        "notDataActions": list(role.not_data_actions),
                    }
                ],
            },
        }

    # -- vaults --------------------------------------------------------------------------
    def get_vault(self, request, claims, sub, rg, vault):
        found = self.arm.get_vault(claims=claims, subscription=sub, resource_group=rg, name=vault)
        return Response.json(self.vault_json(found))

    def list_vaults_by_subscription(self, request, claims, sub):
        return self._vaults_json(
            self.arm.list_vaults_by_subscription(claims=claims, subscription=sub)
        )

    def list_resources(self, request, claims, sub):
        return self._vaults_json(self.arm.list_resources(claims=claims, subscription=sub))

    def list_vaults_by_resource_group(self, request, claims, sub, rg):
        return self._vaults_json(
            self.arm.list_vaults_by_resource_group(
                claims=claims, subscription=sub, resource_group=rg
            )
        )

    def create_or_update_vault(self, request, claims, sub, rg, vault):
        """The whole-vault PUT `az keyvault set-policy` sends (GET, edit, PUT back)."""
        props = _properties(request)
        found = self.arm.update_vault(
            claims=claims,
            subscription=sub,
            resource_group=rg,
            name=vault,
            has_properties=props is not None,
            policies=_access_policies(request),
        )
        return Response.json(self.vault_json(found))

    def update_access_policy(self, request, claims, sub, rg, vault, kind):
        found = self.arm.update_access_policy(
            claims=claims,
            subscription=sub,
            resource_group=rg,
            name=vault,
            kind=kind,
            policies=_access_policies(request),
        )
        return Response.json(
            {
                "id": f"{found.resource_id}/accessPolicies/{kind}",
                "type": "Microsoft.KeyVault/vaults/accessPolicies",
                "properties": {"accessPolicies": [_policy_json(p) for p in found.access_policies]},
            }
        )

    # -- subscriptions -------------------------------------------------------------------
    def list_subscriptions(self, request, claims):
        subs = self.arm.list_subscriptions(claims=claims)
        return Response.json({"value": [self._subscription_json(s) for s in subs]})

    def get_subscription(self, request, claims, sub):
        return Response.json(self._subscription_json(self.arm.get_subscription(subscription=sub)))

    # -- role assignments ----------------------------------------------------------------
    def create_role_assignment(self, request, claims, scope, name):
        role, principal, principal_type = _assignment_properties(request)
        assignment, created = self.arm.create_role_assignment(
            claims=claims,
            scope=scope,
            name=name,
            role_definition_id=role,
            principal_id=principal,
            principal_type=principal_type,
        )
        return Response.json(self._assignment_json(assignment), status=201 if created else 200)

    def get_role_assignment(self, request, claims, scope, name):
        found = self.arm.get_role_assignment(claims=claims, scope=scope, name=name)
        return Response.json(self._assignment_json(found))

    def delete_role_assignment(self, request, claims, scope, name):
        found = self.arm.delete_role_assignment(claims=claims, scope=scope, name=name)
        if found is None:
            return Response(204)
        return Response.json(self._assignment_json(found))

    def list_role_assignments(self, request, claims, scope):
        flt = request.query.get("$filter", "")
        # principalId eq '<oid>' and assignedTo('<oid>') (what az CLI sends) both narrow
        # the list to one principal; a service principal belongs to no groups here.
        principal = re.search(
            r"(?:principalId\s+eq\s+'([^']+)'|assignedTo\('([^']+)'\))", flt, re.IGNORECASE
        )
        found = self.arm.list_role_assignments(
            claims=claims,
            scope=scope,
            principal=(principal.group(1) or principal.group(2)) if principal else None,
            at_scope_only="atscope()" in flt.lower(),
        )
        return Response.json({"value": [self._assignment_json(a) for a in found], "nextLink": None})

    # -- role definitions ----------------------------------------------------------------
    def list_role_definitions(self, request, claims, scope):
        wanted = re.search(r"roleName\s+eq\s+'([^']+)'", request.query.get("$filter", ""))
        roles = self.arm.list_role_definitions(role_name=wanted.group(1) if wanted else None)
        return Response.json(
            {"value": [self._definition_json(scope, r) for r in roles], "nextLink": None}
        )

    def get_role_definition(self, request, claims, scope, role):
        return Response.json(self._definition_json(scope, self.arm.get_role_definition(role=role)))
