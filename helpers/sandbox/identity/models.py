"""State and rules of the identity endpoints: which managed identities the emulated host
has, the tokens its endpoints hand out, and the AKS clusters' OIDC issuers.

Managed identities are service principals of the directory (``App.kind`` system_assigned
or user_assigned), so a role assignment or access policy naming one works as for any
service principal; their tokens are minted by the directory's signer with their oid/appid.
Each AKS cluster's issuer signs projected service-account tokens with its own key, which
the directory trusts for federated credentials naming that issuer (``issuer_keys``).
"""

from __future__ import annotations

import hmac
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from ..entra.models import RESOURCES, App, Directory
from ..signing import SigningKey, sha256_key_id
from . import exceptions as exc

__all__ = [
    "APP_SERVICE_API_VERSION",
    "AZURE_AD_TOKEN_EXCHANGE",
    "Cluster",
    "IMDS_API_VERSIONS",
    "IdentityService",
    "MI_TOKEN_LIFETIME",
    "SA_TOKEN_LIFETIME",
    "IssuedToken",
]

APP_SERVICE_API_VERSION = "2019-08-01"
IMDS_API_VERSIONS = frozenset(
    {"2018-02-01", "2018-04-02", "2018-10-01", "2019-02-01", "2019-03-11", "2019-04-30"}
    | {"2019-06-01", "2019-06-04", "2019-08-01", "2019-08-15", "2019-11-01", "2020-06-01"}
    | {"2020-07-15", "2020-09-01", "2020-10-01", "2020-12-01", "2021-01-01", "2021-02-01"}
    | {"2021-03-01", "2021-05-01", "2021-10-01", "2021-11-01", "2021-11-15", "2021-12-13"}
    | {"2023-07-01", "2023-11-15", "2024-03-15", "2024-07-17", "2025-04-07"}
)
AZURE_AD_TOKEN_EXCHANGE = "api://AzureADTokenExchange"
MI_TOKEN_LIFETIME = 86399  # managed identity tokens last about a day
SA_TOKEN_LIFETIME = 86400  # the longest projected token AKS allows (expirationSeconds)


@dataclass
class Cluster:
    name: str
    tenant_id: str
    location: str
    oidc_id: str
    issuer: str


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_on: int
    resource: str
    client_id: str

    def imds_body(self, now: int) -> dict[str, str]:
        return {
            "access_token": self.access_token,
            "client_id": self.client_id,
            "expires_in": str(self.expires_on - now),
            "expires_on": str(self.expires_on),
            "ext_expires_in": str(self.expires_on - now),
            "not_before": str(now),
            "resource": self.resource,
            "token_type": "Bearer",
        }

    def app_service_body(self) -> dict[str, str]:
        return {
            "access_token": self.access_token,
            "expires_on": str(self.expires_on),
            "resource": self.resource,
            "token_type": "Bearer",
            "client_id": self.client_id,
        }


class IdentityService:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.clusters: dict[str, Cluster] = {}
        self.key = SigningKey(sha256_key_id)
        self.header_secret = ""  # IDENTITY_HEADER of the App Service endpoint
        directory.issuer_keys = self.issuer_keys

    # -- state ---------------------------------------------------------------------------
    def load(self, data: dict[str, Any]) -> None:
        self.clusters = {c["name"].lower(): Cluster(**c) for c in data.get("clusters", [])}

    def to_dict(self) -> dict[str, Any]:
        return {"clusters": [asdict(c) for c in self.clusters.values()]}

    def key_pem(self) -> bytes:
        return self.key.pem()

    def load_key_pem(self, pem: bytes) -> None:
        self.key.load_pem(pem)

    # -- managed identities --------------------------------------------------------------
    def host_identities(self) -> list[App]:
        return [a for a in self.directory.apps.values() if a.managed]

    def find_identity(
        self, *, client_id: str = "", object_id: str = "", resource_id: str = ""
    ) -> App | None:
        """The identity a token request names; without an id the system-assigned one (or
        the only user-assigned one). None when the host has no such identity."""
        identities = self.host_identities()
        if client_id or object_id or resource_id:
            for mi in identities:
                if client_id and mi.client_id == client_id.lower():
                    return mi
                if object_id and mi.object_id == object_id.lower():
                    return mi
                if resource_id and mi.kind == "user_assigned":
                    tail = [t.lower() for t in resource_id.rstrip("/").rsplit("/", 2)]
                    if tail[-2:] == ["userassignedidentities", mi.name.lower()]:
                        return mi
            return None
        system = [mi for mi in identities if mi.kind == "system_assigned"]
        if system:
            return system[0]
        return identities[0] if len(identities) == 1 else None

    def _issue(self, mi: App, resource: str, now: int) -> IssuedToken | None:
        audience = RESOURCES.get(resource.rstrip("/"))
        if audience is None:
            return None
        token = self.directory.mint(mi, audience, now=now, lifetime=MI_TOKEN_LIFETIME)
        return IssuedToken(token, now + MI_TOKEN_LIFETIME, resource, mi.client_id)

    def imds_token(
        self,
        *,
        metadata: str | None,
        api_version: str,
        resource: str,
        client_id: str = "",
        object_id: str = "",
        resource_id: str = "",
    ) -> dict[str, str]:
        """GET /metadata/identity/oauth2/token, checked in IMDS's order."""
        if (metadata or "").lower() != "true":
            raise exc.ImdsMetadataHeaderMissing()
        if api_version not in IMDS_API_VERSIONS:
            raise exc.ImdsBadApiVersion()
        if not resource:
            raise exc.ImdsMissingResource()
        mi = self.find_identity(client_id=client_id, object_id=object_id, resource_id=resource_id)
        if mi is None:
            raise exc.ImdsIdentityNotFound()
        now = int(time.time())
        issued = self._issue(mi, resource, now)
        if issued is None:
            raise exc.ImdsInvalidResource(resource, mi.tenant_id)
        return issued.imds_body(now)

    def app_service_token(
        self,
        *,
        header: str | None,
        api_version: str,
        resource: str,
        client_id: str = "",
        object_id: str = "",
        resource_id: str = "",
    ) -> dict[str, str]:
        """GET {IDENTITY_ENDPOINT}?resource=...&api-version=2019-08-01[&client_id=...]."""
        expected = self.header_secret.encode()
        if not header or not expected or not hmac.compare_digest(header.encode(), expected):
            raise exc.AppServiceHeaderInvalid()
        if api_version != APP_SERVICE_API_VERSION:
            raise exc.AppServiceBadApiVersion()
        if not resource:
            raise exc.AppServiceMissingResource()
        mi = self.find_identity(client_id=client_id, object_id=object_id, resource_id=resource_id)
        if mi is None:
            raise exc.AppServiceUnknownIdentity()
        issued = self._issue(mi, resource, int(time.time()))
        if issued is None:
            raise exc.AppServiceInvalidResource(resource, mi.tenant_id)
        return issued.app_service_body()

    # -- OIDC issuers (AKS) --------------------------------------------------------------
    def cluster(self, name: str | None = None) -> Cluster:
        if name is None:
            return next(iter(self.clusters.values()))
        return self.clusters[name.lower()]

    def cluster_at(self, host: str, tenant: str, oidc_id: str) -> Cluster | None:
        for c in self.clusters.values():
            if c.issuer == f"https://{host}/{tenant.lower()}/{oidc_id.lower()}/":
                return c
        return None

    def issuer_keys(self, issuer: str) -> dict[str, Any] | None:
        if any(c.issuer == issuer for c in self.clusters.values()):
            return {self.key.kid: self.key.public}
        return None

    def openid_configuration(self, cluster: Cluster) -> dict[str, Any]:
        return {
            "issuer": cluster.issuer,
            "jwks_uri": f"{cluster.issuer}openid/v1/jwks",
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.jwk(alg="RS256")]}

    def service_account_token(
        self,
        *,
        namespace: str,
        service_account: str,
        cluster: str | None = None,
        audience: str = AZURE_AD_TOKEN_EXCHANGE,
        lifetime: int = SA_TOKEN_LIFETIME,
        now: float | None = None,
    ) -> str:
        """A projected service-account token as the kubelet writes it for a pod."""
        found = self.cluster(cluster)
        issued = int(now if now is not None else time.time())
        sa_uid = uuid.uuid5(uuid.NAMESPACE_URL, f"{found.issuer}{namespace}/{service_account}")
        claims = {
            "aud": [audience],
            "exp": issued + lifetime,
            "iat": issued,
            "iss": found.issuer,
            "kubernetes.io": {
                "namespace": namespace,
                "serviceaccount": {"name": service_account, "uid": str(sa_uid)},
            },
            "nbf": issued,
            "sub": f"system:serviceaccount:{namespace}:{service_account}",
        }
        return self.key.sign(claims)

    def federated_subject(self, principal: App) -> tuple[str, str, str, str]:
        """(cluster, namespace, service account, audience) of the principal's first federated
        credential that trusts a sandbox cluster; KeyError when it has none."""
        for fic in principal.federated_credentials:
            for c in self.clusters.values():
                parts = fic.subject.split(":")
                if (
                    fic.issuer == c.issuer
                    and len(parts) == 4
                    and parts[:2]
                    == [
                        "system",
                        "serviceaccount",
                    ]
                ):
                    return c.name, parts[2], parts[3], fic.audiences[0]
        raise KeyError(principal.name)
