"""Wire layer of the Key Vault data plane: read the request, call the model, serialise."""

from __future__ import annotations

from typing import Any

from ..http import Request, Response
from .models import Caller, KeyVaultBackend, Page, Secret, SecretVersion, Vault

__all__ = [
    "KeyVaultResponses",
    "bundle",
]


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
    def __init__(self, backend: KeyVaultBackend):
        self.backend = backend

    def dispatch(self, request: Request, vault: Vault, handler: str, params: dict[str, str]):
        self.backend.require_api_version(api_version=request.query.get("api-version"))
        claims = self.backend.authenticate(
            vault=vault, authorization=request.headers.get("authorization", "")
        )
        caller = Caller(claims, request.client_ip)
        return getattr(self, handler)(request, vault, caller, **params)

    @staticmethod
    def _ok(payload: Any) -> Response:
        return Response.json(payload)  # the service headers: helpers.sandbox.headers

    @staticmethod
    def _paging(request: Request) -> dict[str, str | None]:
        return {
            "maxresults": request.query.get("maxresults"),
            "skiptoken": request.query.get("$skiptoken"),
        }

    def _page(self, request: Request, vault: Vault, path: str, page: Page, items: list) -> Response:
        next_link = None
        if page.skiptoken is not None:
            api = request.query.get("api-version", "7.5")
            next_link = (
                f"{vault.uri}{path}?api-version={api}&$skiptoken={page.skiptoken}"
                f"&maxresults={page.size}"
            )
        return self._ok({"value": items, "nextLink": next_link})

    # -- handlers ------------------------------------------------------------------------
    def set_secret(self, request, vault, caller, name):
        secret, version = self.backend.set_secret(
            vault=vault, name=name, body=request.json_body(), caller=caller
        )
        return self._ok(bundle(vault, secret, version))

    def get_secret(self, request, vault, caller, name, version=None):
        secret, found = self.backend.get_secret(
            vault=vault, name=name, version=version, caller=caller
        )
        return self._ok(bundle(vault, secret, found))

    def update_secret(self, request, vault, caller, name, version=None):
        secret, found = self.backend.update_secret(
            vault=vault, name=name, version=version, body=request.json_body(), caller=caller
        )
        return self._ok(bundle(vault, secret, found, value=False))

    def get_secrets(self, request, vault, caller):
        page = self.backend.get_secrets(vault=vault, caller=caller, **self._paging(request))
        items = [_common(vault, s.latest, f"{vault.uri}/secrets/{s.name}") for s in page.items]
        return self._page(request, vault, "/secrets", page, items)

    def get_secret_versions(self, request, vault, caller, name):
        secret, page = self.backend.get_secret_versions(
            vault=vault, name=name, caller=caller, **self._paging(request)
        )
        items = [
            _common(vault, v, f"{vault.uri}/secrets/{secret.name}/{v.version}") for v in page.items
        ]
        return self._page(request, vault, f"/secrets/{secret.name}/versions", page, items)

    def delete_secret(self, request, vault, caller, name):
        secret = self.backend.delete_secret(vault=vault, name=name, caller=caller)
        return self._ok(_deleted(vault, secret, bundle(vault, secret, secret.latest, value=False)))

    def get_deleted_secret(self, request, vault, caller, name):
        secret = self.backend.get_deleted_secret(vault=vault, name=name, caller=caller)
        return self._ok(_deleted(vault, secret, bundle(vault, secret, secret.latest, value=False)))

    def get_deleted_secrets(self, request, vault, caller):
        page = self.backend.get_deleted_secrets(vault=vault, caller=caller, **self._paging(request))
        items = [
            _deleted(vault, s, _common(vault, s.latest, f"{vault.uri}/secrets/{s.name}"))
            for s in page.items
        ]
        return self._page(request, vault, "/deletedsecrets", page, items)

    def purge_deleted_secret(self, request, vault, caller, name):
        self.backend.purge_deleted_secret(vault=vault, name=name, caller=caller)
        return Response(204, b"")

    def recover_deleted_secret(self, request, vault, caller, name):
        secret = self.backend.recover_deleted_secret(vault=vault, name=name, caller=caller)
        return self._ok(bundle(vault, secret, secret.latest, value=False))

    def backup_secret(self, request, vault, caller, name):
        blob = self.backend.backup_secret(vault=vault, name=name, caller=caller)
        return self._ok({"value": blob})

    def restore_secret(self, request, vault, caller):
        secret = self.backend.restore_secret(vault=vault, body=request.json_body(), caller=caller)
        return self._ok(bundle(vault, secret, secret.latest, value=False))
