"""Wire layer of the identity endpoints: read the query and headers, call the service,
serialise. IMDS requests arrive in absolute form through the proxy (``GET
http://169.254.169.254/metadata/...``); anything else in absolute form is refused, so the
sandbox never becomes an open HTTP proxy."""

from __future__ import annotations

from urllib.parse import urlsplit

from ..http import ProtocolError, Request, Response
from .models import IdentityService
from .urls import IMDS_HOST

__all__ = [
    "IdentityResponses",
    "imds_target",
]


def imds_target(target: str) -> bool:
    """Whether an absolute-form request target names IMDS (http://169.254.169.254[:80]/)."""
    try:
        parts = urlsplit(target)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme.lower() == "http"
        and parts.hostname == IMDS_HOST
        and port in (None, 80)
        and not parts.username
        and not parts.password
    )


class IdentityResponses:
    def __init__(self, service: IdentityService):
        self.service = service

    def _ids(self, request: Request, resource_id_name: str) -> dict[str, str]:
        query = request.query
        return {
            "client_id": query.get("client_id", ""),
            "object_id": query.get("object_id", "") or query.get("principal_id", ""),
            "resource_id": query.get(resource_id_name, "") or query.get("mi_res_id", ""),
        }

    def imds_token(self, request: Request) -> Response:
        if not imds_target(request.target):
            raise ProtocolError(403, "the sandbox is not an open proxy")
        query = request.query
        body = self.service.imds_token(
            metadata=request.headers.get("metadata"),
            api_version=query.get("api-version", ""),
            resource=query.get("resource", ""),
            **self._ids(request, "msi_res_id"),
        )
        return Response.json(body, headers={"Server": "IMDS/150.870.65.1854"})

    def app_service_token(self, request: Request) -> Response:
        query = request.query
        body = self.service.app_service_token(
            header=request.headers.get("x-identity-header"),
            api_version=query.get("api-version", ""),
            resource=query.get("resource", ""),
            **self._ids(request, "mi_res_id"),
        )
        return Response.json(body)

    def _cluster(self, request: Request, tenant: str, oidc_id: str):
        cluster = self.service.cluster_at(request.host, tenant, oidc_id)
        if cluster is None:
            raise ProtocolError(404, "no such OIDC issuer")
        return cluster

    def openid_configuration(self, request: Request, tenant: str, oidc_id: str) -> Response:
        cluster = self._cluster(request, tenant, oidc_id)
        return Response.json(self.service.openid_configuration(cluster))

    def jwks(self, request: Request, tenant: str, oidc_id: str) -> Response:
        self._cluster(request, tenant, oidc_id)
        return Response.json(self.service.jwks())
