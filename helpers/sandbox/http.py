"""The small HTTP/1.1 vocabulary shared by every emulated service.

Exception tree::

    ServiceError            an error the real service would answer with (status + body)
    ├── entra.exceptions.*
    ├── keyvault.exceptions.*
    ├── arm.exceptions.*
    └── control.ControlError
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    411: "Length Required",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

MAX_BODY = 4 * 1024 * 1024


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
        if not self.body:
            return None
        return json.loads(self.body)


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
        lines = [f"HTTP/1.1 {self.status} {REASONS.get(self.status, 'Unknown')}"]
        headers = dict(self.headers)
        headers["Content-Length"] = str(len(self.body))
        headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
        if not keep_alive:
            headers["Connection"] = "close"
        lines.extend(f"{k}: {v}" for k, v in headers.items())
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


class ServiceError(Exception):
    """An error answer in the emulated service's own wire format."""

    status = 500
    headers: dict[str, str] = {}

    def payload(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_response(self) -> Response:
        return Response.json(self.payload(), status=self.status, headers=dict(self.headers))
