"""Wire layer of the token service: parse the request, call the directory, serialise."""

from __future__ import annotations

from urllib.parse import parse_qs

from ..http import Request, Response
from .models import Directory

__all__ = [
    "EntraResponses",
    "HOST",
]

HOST = "https://login.microsoftonline.com"


class EntraResponses:
    def __init__(self, directory: Directory):
        self.directory = directory

    def instance_discovery(self, request: Request) -> Response:
        return Response.json(
            {
                "tenant_discovery_endpoint": (
                    f"{HOST}/{{tenant}}/v2.0/.well-known/openid-configuration"
                ),
                "api-version": "1.1",
                "metadata": [
                    {
                        "preferred_network": "login.microsoftonline.com",
                        "preferred_cache": "login.windows.net",
                        "aliases": [
                            "login.microsoftonline.com",
                            "login.windows.net",
                            "login.microsoft.com",
                            "sts.windows.net",
                        ],
                    }
                ],
            }
        )

    def openid_configuration(self, request: Request, tenant: str) -> Response:
        tid = self.directory.resolve_tenant(tenant).id
        base = f"{HOST}/{tid}"
        return Response.json(
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{base}/v2.0",
                "request_uri_parameter_supported": False,
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com",
            }
        )

    def keys(self, request: Request, tenant: str) -> Response:
        return Response.json(self.directory.signing_keys(tenant=tenant))

    def token(self, request: Request, tenant: str) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        token = self.directory.issue_token(
            tenant=tenant,
            grant_type=form.get("grant_type", ""),
            client_id=form.get("client_id", ""),
            client_secret=form.get("client_secret"),
            scope=form.get("scope", ""),
            client_assertion=form.get("client_assertion"),
            client_assertion_type=form.get("client_assertion_type"),
        )
        body = {
            "token_type": "Bearer",
            "expires_in": token.expires_in,
            "ext_expires_in": token.expires_in,
            "access_token": token.access_token,
        }
        return Response.json(body, headers={"Cache-Control": "no-store, no-cache"})
