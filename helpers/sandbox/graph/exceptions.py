"""Microsoft Graph errors, rendered as Graph renders them::

{"error": {"code": "Request_ResourceNotFound", "message": "...",
           "innerError": {"date": "...", "request-id": "...", "client-request-id": "..."}}}
"""

from __future__ import annotations

import time

from ..http import ServiceError, request_id

__all__ = [
    "AuthorizationRequestDenied",
    "BadRequest",
    "GraphError",
    "InvalidAuthenticationToken",
    "InvalidFilter",
    "InvalidObjectIdentifier",
    "ODataBadRequest",
    "ResourceNotFound",
    "UnknownSegment",
]

AUTHORIZATION_URI = "https://login.microsoftonline.com/common/oauth2/authorize"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"


class GraphError(ServiceError):
    code = "BadRequest"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
        self.request_id = request_id()
        self.client_request_id = self.request_id
        self.headers = {"request-id": self.request_id, "x-ms-request-id": self.request_id}

    def echo(self, client_request_id: str) -> None:
        """Graph echoes the caller's client-request-id (a GUID) in the body and headers."""
        self.client_request_id = client_request_id
        self.headers = {**self.headers, "client-request-id": client_request_id}

    def payload(self) -> dict:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
                    "request-id": self.request_id,
                    "client-request-id": self.client_request_id,
                },
            }
        }


class InvalidAuthenticationToken(GraphError):
    status, code = 401, "InvalidAuthenticationToken"

    def __init__(self, message: str = "Access token is empty."):
        super().__init__(message)
        self.headers["WWW-Authenticate"] = (
            f'Bearer realm="", authorization_uri="{AUTHORIZATION_URI}", client_id="{GRAPH_APP_ID}"'
        )


class AuthorizationRequestDenied(GraphError):
    status, code = 403, "Authorization_RequestDenied"

    def __init__(self):
        super().__init__("Insufficient privileges to complete the operation.")


class ResourceNotFound(GraphError):
    status, code = 404, "Request_ResourceNotFound"

    def __init__(self, ident: str):
        super().__init__(
            f"Resource '{ident}' does not exist or one of its queried reference-property "
            "objects are not present."
        )


class BadRequest(GraphError):
    """Request_BadRequest: a directory request Graph cannot take as sent."""

    status, code = 400, "Request_BadRequest"


class InvalidObjectIdentifier(BadRequest):
    def __init__(self, ident: str):
        super().__init__(f"Invalid object identifier '{ident}'.")


class InvalidFilter(BadRequest):
    def __init__(self, detail: str):
        super().__init__(f"Invalid filter clause: {detail}")


class ODataBadRequest(GraphError):
    """Graph's generic OData 400 (a request no directory handler reads)."""

    status, code = 400, "BadRequest"


class UnknownSegment(ODataBadRequest):
    """A path Graph has no resource for."""

    def __init__(self, segment: str):
        super().__init__(f"Resource not found for the segment '{segment}'.")
