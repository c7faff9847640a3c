"""Wire layer of the Key Vault data plane: authenticate, parse, call the model, serialise."""

from __future__ import annotations

import base64
import time
from typing import Any

from ..entra.models import Directory
from ..http import Request, Response
from . import exceptions as exc
from .models import KeyVaultBackend, Secret, SecretVersion, Vault

__all__ = [
    "AUDIENCES",
    "KeyVaultResponses",
    "MAX_PAGE",
    "SERVICE_HEADERS",
    "bundle",
]

AUDIENCES = ("https://vault.azure.net", "https://vault.azure.net/")
MAX_PAGE = 25
SERVICE_HEADERS = {
    "Cache-Control": "no-cache",
    "x-ms-keyvault-service-version": "1.9.2700.1",
    "x-ms-keyvault-network-info": "conn_type=Ipv4;addr=127.0.0.1;act_addr_fam=InterNetwork;",
}


def _attributes(vault: Vault, v: SecretVersion) -> dict[str, Any]:
    attrs: dict[str, Any] = {"enabled": v.enabled}
    if v.nbf is not None:
        attrs["nbf"] = v.nbf
    if v.exp is not None:
        attrs["exp"] = v.exp
    attrs.update(
        created=v.created,
        updated=v.updated,
        recoveryLevel=vault.recovery_level,
        recoverableDays=vault.soft_delete_retention_days,
    )
    return attrs


def _common(vault: Vault, v: SecretVersion, ident: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": ident, "attributes": _attributes(vault, v)}
    if v.content_type is not None:
        out["contentType"] = v.content_type
    if v.tags is not None:
        out["tags"] = v.tags
    return out


def bundle(vault: Vault, s: Secret, v: SecretVersion, *, value: bool = True) -> dict[str, Any]:
    out = _common(vault, v, f"{vault.uri}/secrets/{s.name}/{v.version}")
    if value:
        out = {"value": v.value, **out}
    return out


def _deleted(vault: Vault, s: Secret, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        **payload,
        "recoveryId": f"{vault.uri}/deletedsecrets/{s.name}",
        "deletedDate": s.deleted_date,
        "scheduledPurgeDate": s.scheduled_purge_date,
    }


class KeyVaultResponses:
    def __init__(self, backend: KeyVaultBackend, directory: Directory):
        self.backend = backend
        self.directory = directory

    # -- authentication ------------------------------------------------------------------
    def authenticate(self, request: Request, vault: Vault) -> dict[str, Any]:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise exc.Unauthorized(
                vault.tenant_id, "AKV10000: Request is missing a Bearer or PoP token."
            )
        claims = self.directory.verify_signature(token.strip())
        if claims is None:
            raise exc.Unauthorized(
                vault.tenant_id, "[InvalidSignature] Error validating token: 'S2S12005'."
            )
        if claims.get("aud") not in AUDIENCES:
            raise exc.Unauthorized(
                vault.tenant_id,
                f"AKV10022: Invalid audience. Expected https://vault.azure.net, found: "
                f"{claims.get('aud')}.",
            )
        expected_iss = f"https://sts.windows.net/{vault.tenant_id}/"
        if claims.get("iss") != expected_iss:
            raise exc.Unauthorized(
                vault.tenant_id,
                f"AKV10032: Invalid issuer. Expected one of {expected_iss}, "
                f"https://login.microsoftonline.com/{vault.tenant_id}/v2.0, found "
                f"{claims.get('iss')}.",
            )
        now = time.time()
        if claims.get("exp", 0) <= now or claims.get("nbf", 0) > now + 300:
            raise exc.Unauthorized(
                vault.tenant_id, "[TokenExpired] Error validating token: 'S2S12086'."
            )
        return claims

    def dispatch(self, request: Request, vault: Vault, handler: str, params: dict[str, str]):
        claims = self.authenticate(request, vault)
        method = getattr(self, handler)
        return method(request, vault, claims, **params)

    def _authz(self, request: Request, vault: Vault, claims, op: str, name: str | None = None):
        self.backend.authorize(vault, claims, op, name, request.client_ip)

    @staticmethod
    def _ok(payload: Any) -> Response:
        return Response.json(payload, headers=SERVICE_HEADERS)

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError) as err:
            raise exc.BadParameter("The request body is not valid JSON.") from err
        if not isinstance(body, dict):
            raise exc.BadParameter("The request body must be a JSON object.")
        return body

    def _page(self, request: Request, vault: Vault, path: str, items: list[dict[str, Any]]):
        query = request.query
        try:
            size = int(query.get("maxresults", MAX_PAGE))
            start = int(base64.urlsafe_b64decode(query.get("$skiptoken", "MA==")).decode())
        except ValueError as err:
            raise exc.BadParameter("Invalid maxresults or $skiptoken.") from err
        if start < 0:
            raise exc.BadParameter("Invalid $skiptoken.")
        if not 1 <= size <= MAX_PAGE:
            raise exc.BadParameter(f"The value {size} for maxresults is not between 1 and 25.")
        page = items[start : start + size]
        next_link = None
        if start + size < len(items):
            token = base64.urlsafe_b64encode(str(start + size).encode()).decode()
            api = query.get("api-version", "7.5")
            next_link = f"{vault.uri}{path}?api-version={api}&$skiptoken={token}&maxresults={size}"
        return self._ok({"value": page, "nextLink": next_link})

    # -- handlers ------------------------------------------------------------------------
    def set_secret(self, request, vault, claims, name):
        self._authz(request, vault, claims, "set", name)
        secret, version = self.backend.set_secret(vault, name, self._body(request))
        return self._ok(bundle(vault, secret, version))

    def get_secret(self, request, vault, claims, name, version=None):
        self._authz(request, vault, claims, "get", name)
        secret, found = self.backend.get_secret(vault, name, version)
        return self._ok(bundle(vault, secret, found))

    def update_secret(self, request, vault, claims, name, version=None):
        self._authz(request, vault, claims, "update", name)
        secret, found = self.backend.update_secret(vault, name, version, self._body(request))
        return self._ok(bundle(vault, secret, found, value=False))

    def get_secrets(self, request, vault, claims):
        self._authz(request, vault, claims, "list")
        items = [
            _common(vault, s.latest, f"{vault.uri}/secrets/{s.name}")
            for s in self.backend.get_secrets(vault)
        ]
        return self._page(request, vault, "/secrets", items)

    def get_secret_versions(self, request, vault, claims, name):
        self._authz(request, vault, claims, "list", name)
        secret, versions = self.backend.get_secret_versions(vault, name)
        items = [
            _common(vault, v, f"{vault.uri}/secrets/{secret.name}/{v.version}") for v in versions
        ]
        return self._page(request, vault, f"/secrets/{secret.name}/versions", items)

    def delete_secret(self, request, vault, claims, name):
        self._authz(request, vault, claims, "delete", name)
        secret = self.backend.delete_secret(vault, name)
        return self._ok(_deleted(vault, secret, bundle(vault, secret, secret.latest, value=False)))

    def get_deleted_secret(self, request, vault, claims, name):
        self._authz(request, vault, claims, "get_deleted", name)
        secret = self.backend.get_deleted_secret(vault, name)
        return self._ok(_deleted(vault, secret, bundle(vault, secret, secret.latest, value=False)))

    def get_deleted_secrets(self, request, vault, claims):
        self._authz(request, vault, claims, "list_deleted")
        items = [
            _deleted(vault, s, _common(vault, s.latest, f"{vault.uri}/secrets/{s.name}"))
            for s in self.backend.get_deleted_secrets(vault)
        ]
        return self._page(request, vault, "/deletedsecrets", items)

    def purge_deleted_secret(self, request, vault, claims, name):
        self._authz(request, vault, claims, "purge", name)
        self.backend.purge_deleted_secret(vault, name)
        return Response(204, b"", dict(SERVICE_HEADERS))

    def recover_deleted_secret(self, request, vault, claims, name):
        self._authz(request, vault, claims, "recover", name)
        secret = self.backend.recover_deleted_secret(vault, name)
        return self._ok(bundle(vault, secret, secret.latest, value=False))

    def backup_secret(self, request, vault, claims, name):
        self._authz(request, vault, claims, "backup", name)
        return self._ok({"value": self.backend.backup_secret(vault, name)})

    def restore_secret(self, request, vault, claims):
        self._authz(request, vault, claims, "restore")
        blob = self._body(request).get("value")
        if not isinstance(blob, str):
            raise exc.BadParameter("The parameter 'value' (the backup blob) is required.")
        secret = self.backend.restore_secret(vault, blob)
        return self._ok(bundle(vault, secret, secret.latest, value=False))
