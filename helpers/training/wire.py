"""The class's one seam to the sandbox: real SDK clients and ARM requests through its proxy.

Every action and check goes over the wire as some identity of the class — the facilitator
(Owner and Key Vault Administrator on the subscription) or a trainee's own — so a check sees
exactly what that identity would see in Azure, and the sandbox's real authorization decides.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import requests
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient

from helpers.common.redact import fingerprint
from helpers.roles.model import role_id, role_name
from helpers.sandbox import SandboxClient
from helpers.vault.credentials import CredentialPool

from .scenario import SUBSCRIPTION_ID, TENANT_ID, guid, resource_group

__all__ = ["ARM", "Wire"]

ARM = "https://management.azure.com"
ROLES_API = "2022-04-01"
VAULT_API = "2023-07-01"


class Wire:
    """Clients for one running class sandbox (port, CA bundle, control token)."""

    def __init__(self, control: SandboxClient, bundle: Path, facilitator_secret: str):
        proxy = f"http://127.0.0.1:{control.port}"
        self.control = control
        self.transport: dict[str, Any] = {
            "proxies": {"https": proxy},
            "connection_verify": str(bundle),
        }
        self._requests = {"proxies": {"https": proxy}, "verify": str(bundle)}
        self._facilitator = self.credential(guid("app", "facilitator"), facilitator_secret)
        self._credentials = CredentialPool()

    # -- identities ----------------------------------------------------------------------
    def credential(self, client_id: str, secret: str) -> ClientSecretCredential:
        return ClientSecretCredential(TENANT_ID, client_id, secret, retry_total=0, **self.transport)

    def cached_credential(self, client_id: str, secret: str) -> ClientSecretCredential:
        """One credential per identity and secret, so its token is reused between checks
        (keyed by the secret's fingerprint, as every pool is: a rotated secret is a new key)."""
        key = (client_id, fingerprint(secret))
        return self._credentials.get(key, lambda: self.credential(client_id, secret))

    def secrets(self, vault: str, credential: Any = None) -> SecretClient:
        return SecretClient(
            f"https://{vault}.vault.azure.net/",
            credential or self._facilitator,
            retry_total=0,
            **self.transport,
        )

    # -- ARM as the facilitator ----------------------------------------------------------
    def _arm(self, method: str, path: str, api: str, body: Any = None) -> Any:
        token = self._facilitator.get_token(f"{ARM}/.default").token
        response = requests.request(
            method,
            f"{ARM}{path}",
            params={"api-version": api},
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=15,
            **self._requests,
        )
        if response.status_code >= 400:
            raise RuntimeError(f"ARM {method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    @staticmethod
    def vault_id(trainee: str, vault: str) -> str:
        return (
            f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{resource_group(trainee)}"
            f"/providers/Microsoft.KeyVault/vaults/{vault}"
        )

    def roles_at(self, scope: str, principal_id: str) -> list[tuple[str, str]]:
        """``[(assignment name, role name)]`` of one principal assigned exactly at ``scope``."""
        found = self._arm(
            "GET", f"{scope}/providers/Microsoft.Authorization/roleAssignments", ROLES_API
        )
        out = []
        for item in found.get("value", []):
            props = item.get("properties", {})
            if (
                props.get("principalId") == principal_id
                and props.get("scope", "").lower() == scope.lower()
            ):
                out.append((item["name"], role_name(props.get("roleDefinitionId", ""))))
        return out

    def assign_role(self, scope: str, principal_id: str, role: str) -> None:
        if any(name == role for _, name in self.roles_at(scope, principal_id)):
            return
        definition = (
            f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization"
            f"/roleDefinitions/{role_id(role)}"
        )
        body = {
            "properties": {
                "roleDefinitionId": definition,
                "principalId": principal_id,
                "principalType": "ServicePrincipal",
            }
        }
        path = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
        self._arm("PUT", path, ROLES_API, body)

    def remove_role(self, scope: str, principal_id: str, role: str) -> None:
        for name, held in self.roles_at(scope, principal_id):
            if held == role:
                path = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
                self._arm("DELETE", path, ROLES_API)

    def set_access_policy(self, vault_id: str, principal_id: str, permissions: list[str]) -> None:
        policy = {
            "tenantId": TENANT_ID,
            "objectId": principal_id,
            "permissions": {"secrets": permissions, "keys": [], "certificates": []},
        }
        kind = "replace" if permissions else "remove"
        self._arm(
            "PUT",
            f"{vault_id}/accessPolicies/{kind}",
            VAULT_API,
            {"properties": {"accessPolicies": [policy]}},
        )

    def access_policy(self, vault_id: str, principal_id: str) -> list[str]:
        vault = self._arm("GET", vault_id, VAULT_API)
        for policy in vault.get("properties", {}).get("accessPolicies", []):
            if policy.get("objectId") == principal_id:
                return [p.lower() for p in policy.get("permissions", {}).get("secrets", [])]
        return []
