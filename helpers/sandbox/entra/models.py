"""Entra ID state: tenants, app registrations with client secrets, and the token signer."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import jwt

from ..signing import SigningKey, sha1_thumbprint
from . import exceptions as exc
from .federation import check_assertion

__all__ = [
    "App",
    "ClientSecret",
    "Directory",
    "FederatedCredential",
    "RESOURCES",
    "TOKEN_LIFETIME",
    "Tenant",
    "Token",
    "bearer_token",
]

# Resources a client-credentials token may be requested for, and the `aud` they get.
RESOURCES = {
    "https://vault.azure.net": "https://vault.azure.net",
    "https://management.azure.com": "https://management.azure.com/",
    "https://management.core.windows.net": "https://management.core.windows.net/",
    # Microsoft Graph, by its URI or its well-known app id (what the az CLI resolves
    # principals with); a v1.0 token carries the URI as `aud` either way.
    "https://graph.microsoft.com": "https://graph.microsoft.com",
    "00000003-0000-0000-c000-000000000000": "https://graph.microsoft.com",
}
TOKEN_LIFETIME = 3599


@dataclass
class ClientSecret:
    value: str
    expires: float | None = None  # Unix seconds; None = never
    key_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def expired(self, now: float) -> bool:
        return self.expires is not None and self.expires <= now


@dataclass
class FederatedCredential:
    """A federated identity credential: tokens of ``issuer`` for ``subject`` may sign in."""

    name: str
    issuer: str
    subject: str
    audiences: list[str] = field(default_factory=lambda: ["api://AzureADTokenExchange"])


@dataclass
class App:
    """An app registration plus its service principal (object id) in one tenant, or a
    managed identity (``kind`` system_assigned / user_assigned: a service principal too)."""

    name: str
    tenant_id: str
    client_id: str
    object_id: str
    secrets: list[ClientSecret] = field(default_factory=list)
    # Microsoft Graph application permissions granted (admin-consented) to the app; they
    # reach Graph as the `roles` claim of its Graph tokens.
    graph_permissions: list[str] = field(default_factory=list)
    kind: str = "app"
    federated_credentials: list[FederatedCredential] = field(default_factory=list)

    @property
    def managed(self) -> bool:
        return self.kind != "app"


@dataclass
class Tenant:
    id: str
    domain: str


@dataclass(frozen=True)
class Token:
    """An access token issued by the token endpoint."""

    access_token: str
    expires_in: int = TOKEN_LIFETIME


def bearer_token(authorization: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None when there is none."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return token.strip()


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class Directory:
    def __init__(self) -> None:
        self.tenants: dict[str, Tenant] = {}
        self.apps: dict[str, App] = {}  # by client id (lower case)
        self.key = SigningKey(sha1_thumbprint)
        self._verified: dict[str, dict[str, Any]] = {}
        # issuer URL -> its JWKS keys by kid (what Entra would fetch from the issuer's
        # discovery document); the identity service registers the sandbox's OIDC issuers.
        self.issuer_keys: Callable[[str], dict[str, Any] | None] = lambda issuer: None

    # -- state ---------------------------------------------------------------------------
    @property
    def kid(self) -> str:
        return self.key.kid

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenants": [asdict(t) for t in self.tenants.values()],
            "apps": [asdict(a) for a in self.apps.values()],
        }

    def load(self, data: dict[str, Any]) -> None:
        self.tenants = {t["id"]: Tenant(**t) for t in data.get("tenants", [])}
        self.apps = {}
        for raw in data.get("apps", []):
            app = App(
                **{
                    **raw,
                    "secrets": [ClientSecret(**s) for s in raw.get("secrets", [])],
                    "federated_credentials": [
                        FederatedCredential(**f) for f in raw.get("federated_credentials", [])
                    ],
                }
            )
            self.apps[app.client_id.lower()] = app
        self._verified.clear()

    def app_by_name(self, name: str) -> App:
        for app in self.apps.values():
            if app.name == name:
                return app
        raise KeyError(name)

    def app_by_object_id(self, object_id: str) -> App | None:
        for app in self.apps.values():
            if app.object_id.lower() == object_id.lower():
                return app
        return None

    def resolve_tenant(self, ident: str) -> Tenant:
        ident_l = ident.lower()
        for tenant in self.tenants.values():
            if ident_l in (tenant.id.lower(), tenant.domain.lower()):
                return tenant
        raise exc.InvalidTenant(ident)

    def expire_client_secrets(self, app_name: str) -> None:
        for secret in self.app_by_name(app_name).secrets:
            secret.expires = time.time() - 1

    # -- tokens --------------------------------------------------------------------------
    def issue_token(
        self,
        *,
        tenant: str,
        grant_type: str,
        client_id: str,
        client_secret: str | None,
        scope: str,
        client_assertion: str | None = None,
        client_assertion_type: str | None = None,
    ) -> Token:
        """A client-credentials token, checked in the order Entra ID checks the request.

        The client proves itself with a client secret, or with a ``client_assertion`` that
        one of the app's federated identity credentials accepts (workload identity)."""
        found = self.resolve_tenant(tenant)
        for name, value in (("grant_type", grant_type), ("client_id", client_id)):
            if not value:
                raise exc.MissingParameter(name)
        if grant_type != "client_credentials":
            raise exc.UnsupportedGrantType(grant_type)
        app = self.apps.get(client_id.lower())
        if app is None or app.tenant_id != found.id:
            raise exc.UnauthorizedClient(client_id, found.id)
        now = time.time()
        if client_assertion is not None or client_assertion_type is not None:
            check_assertion(
                app.federated_credentials,
                client_assertion or "",
                client_assertion_type or "",
                now=now,
                issuer_keys=self.issuer_keys,
            )
            return Token(self.mint(app, self._resource(scope, found.id), now=now))
        if not client_secret:
            raise exc.MissingClientSecret()
        matching = [
            s
            for s in app.secrets
            if hmac.compare_digest(_fingerprint(s.value), _fingerprint(client_secret))
        ]
        if not matching:
            raise exc.InvalidClientSecret(app.client_id)
        if all(s.expired(now) for s in matching):
            raise exc.ExpiredClientSecret(app.client_id)
        return Token(self.mint(app, self._resource(scope, found.id), now=now))

    @staticmethod
    def _resource(scope: str, tenant_id: str) -> str:
        """The token audience a client-credentials ``scope`` asks for."""
        scopes = scope.split()
        resource = next((s for s in scopes if s.endswith("/.default")), None)
        if resource is None:
            raise exc.InvalidScope(" ".join(scopes))
        resource = resource.removesuffix("/.default").rstrip("/")
        if resource not in RESOURCES:
            raise exc.InvalidResource(resource, tenant_id)
        return RESOURCES[resource]

    def signing_keys(self, *, tenant: str) -> dict[str, Any]:
        """The JWKS of a tenant (or of the multi-tenant aliases)."""
        if tenant not in ("common", "organizations"):
            self.resolve_tenant(tenant)
        return self.jwks()

    def mint(self, app: App, audience: str, *, now: float | None = None, lifetime: int = 3600):
        now = int(now if now is not None else time.time())
        issuer = f"https://sts.windows.net/{app.tenant_id}/"
        claims = {
            "aud": audience,
            "iss": issuer,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "aio": "sandbox",
            "appid": app.client_id,
            "appidacr": "1",
            "idp": issuer,
            "oid": app.object_id,
            "sub": app.object_id,
            "tid": app.tenant_id,
            "uti": uuid.uuid4().hex[:22],
            "ver": "1.0",
            "xms_cc": ["CP1"],
        }
        if audience == RESOURCES["https://graph.microsoft.com"] and app.graph_permissions:
            claims["roles"] = list(app.graph_permissions)
        return self.key.sign(claims)

    def verify_signature(self, token: str) -> dict[str, Any] | None:
        """Claims of a token this sandbox signed, or None. Checked once per token, then cached."""
        claims = self._verified.get(token)
        if claims is not None:
            return claims
        try:
            claims = jwt.decode(
                token,
                self.key.public,
                algorithms=["RS256"],
                options={"verify_aud": False, "verify_exp": False, "verify_nbf": False},
            )
        except jwt.PyJWTError:
            return None
        if len(self._verified) > 50_000:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.jwk(x5t=self.key.kid)]}

    def key_pem(self) -> bytes:
        return self.key.pem()

    def load_key_pem(self, pem: bytes) -> None:
        if self.key.load_pem(pem):
            self._verified.clear()
