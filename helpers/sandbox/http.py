"""The small HTTP/1.1 vocabulary shared by every emulated service.

Exception tree::

    ServiceError            an error the real service would answer with (status + body)
    ├── entra.exceptions.*
    ├── keyvault.exceptions.*
    ├── arm.exceptions.*
    ├── faults.ControlError
    └── ProtocolError       a request no service can answer (malformed, too large, unrouted)
"""

from __future__ import annotations

import itertools
import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = [
    "MAX_BODY",
    "NOT_JSON",
    "ProtocolError",
    "REASONS",
    "Request",
    "Response",
    "STATUS_LINES",
    "ServiceError",
    "request_id",
]

REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    411: "Length Required",
    413: "Payload Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
}

MAX_BODY = 4 * 1024 * 1024
STATUS_LINES = {code: f"HTTP/1.1 {code} {reason}\r\n" for code, reason in REASONS.items()}

# x-ms-request-id: a GUID per response. A random (version 4) prefix per process plus a
# counter keeps them unique and GUID-shaped without paying for uuid4() on every request.
_REQUEST_ID_PREFIX = str(uuid.uuid4())[:24]
_request_ids = itertools.count(secrets.randbits(40))


def request_id() -> str:
    return f"{_REQUEST_ID_PREFIX}{next(_request_ids) & 0xFFFFFFFFFFFF:012x}"


class _NotJson:
    def __repr__(self) -> str:
        return "NOT_JSON"


# What a body that does not parse as JSON decodes to. The wire layer passes it on, and the
# model rejects it in its service's own words after authorizing, in the service's order.
NOT_JSON: Any = _NotJson()


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""
    host: str = ""  # the emulated host the request was tunnelled to (CONNECT) or Host header
    client_ip: str = "127.0.0.1"

    @property
    def path(self) -> str:
        return unquote(urlsplit(self.target).path)

    @property
    def query(self) -> dict[str, str]:
        return {k.lower(): v[0] for k, v in parse_qs(urlsplit(self.target).query).items()}

    def json(self) -> Any:
        """The decoded body (None when empty). ValueError when it is not JSON, is not UTF-8
        or nests too deeply for the decoder (json.loads raises RecursionError on those)."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except RecursionError:
            raise ValueError("the JSON body nests too deeply") from None

    def json_body(self) -> Any:
        """The decoded body: None when empty, NOT_JSON when it is not JSON."""
        try:
            return self.json()
        except ValueError:  # includes UnicodeDecodeError
            return NOT_JSON


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: dict[str, str] | None = None):
        hdrs = {"Content-Type": "application/json; charset=utf-8"}
        hdrs.update(headers or {})
        return cls(status, json.dumps(payload, separators=(",", ":")).encode(), hdrs)

    def to_bytes(self, keep_alive: bool = True) -> bytes:
        # Header order: the handler's headers (an explicit Content-Length keeps its place but
        # gets the real length), then Content-Length, x-ms-request-id, Connection: close.
        headers = {**self.headers, "Content-Length": str(len(self.body))}
        if "x-ms-request-id" not in headers:
            headers["x-ms-request-id"] = request_id()
        if not keep_alive:
            headers["Connection"] = "close"
        status = self.status
        head = STATUS_LINES.get(status) or f"HTTP/1.1 {status} Unknown\r\n"
        head += "".join([f"{k}: {v}\r\n" for k, v in headers.items()])
        return (head + "\r\n").encode("latin-1") + self.body


class ServiceError(Exception):
    """An error answer in the emulated service's own wire format."""

    status = 500
    headers: dict[str, str] = {}

    def payload(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_response(self) -> Response:
        return Response.json(self.payload(), status=self.status, headers=dict(self.headers))


class ProtocolError(ServiceError):
    """A request that never reaches a service: malformed, too large, or not routed. Answered
    in plain text on the connection, or as a generic JSON error once the service is known."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status

    def payload(self) -> Any:
        code = "NotFound" if self.status == 404 else "BadRequest"
        return {"error": {"code": code, "message": str(self)}}
