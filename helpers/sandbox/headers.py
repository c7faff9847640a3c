"""The response headers each emulated service adds to every answer (successes and errors
alike), the ones clients log and support engineers ask for.

Key Vault (recorded answers in Azure/azure-sdk-for-js's keyvault recordings):
``x-ms-keyvault-region``, ``x-ms-keyvault-service-version``, ``x-ms-keyvault-network-info``
(the caller's address as the vault saw it), the caller's ``x-ms-client-request-id`` echoed,
``Strict-Transport-Security``, ``X-Content-Type-Options``. ARM (request-limits-and-throttling
and ``az --debug`` output): ``x-ms-request-id`` = ``x-ms-correlation-request-id`` (the
caller's correlation id when it sent one), ``x-ms-routing-request-id``
(``REGION:yyyymmddTHHMMSSZ:<guid>``) and ``x-ms-ratelimit-remaining-subscription-reads`` /
``-writes`` / ``-deletes`` (``-tenant-`` for tenant-level requests), counting down from the
hourly limits. ``x-ms-request-id`` itself is added by ``Response.to_bytes`` when absent.
"""

from __future__ import annotations

import threading
import time

from .arm.urls import subscription_of
from .http import Request, Response, request_id

__all__ = [
    "ARM_HOURLY_LIMITS",
    "ARM_ROUTING_REGION",
    "KEYVAULT_SERVICE_VERSION",
    "RateLimits",
    "arm_headers",
    "arm_operation",
    "decorate",
    "keyvault_headers",
    "rate_limit_kind",
]

KEYVAULT_SERVICE_VERSION = "1.9.2700.1"
ARM_ROUTING_REGION = "WESTEUROPE"
# Requests per hour per principal and subscription (or tenant), as ARM documents them.
ARM_HOURLY_LIMITS = {"reads": 12000, "writes": 1200, "deletes": 15000}
_COMMON = {
    "Cache-Control": "no-cache",
    "Pragma": "no-cache",
    "Expires": "-1",
}
_KV_SECURITY = {
    "Strict-Transport-Security": "max-age=31536000;includeSubDomains",
    "X-Content-Type-Options": "nosniff",
}
_ARM_SECURITY = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
}


def rate_limit_kind(method: str) -> str:
    if method in ("GET", "HEAD"):
        return "reads"
    return "deletes" if method == "DELETE" else "writes"


def arm_operation(method: str, path: str) -> str:
    """ARM's name for an operation in its throttling messages: the method and the path's
    type segments, names left out (``GET/SUBSCRIPTIONS/RESOURCEGROUPS/PROVIDERS/
    MICROSOFT.KEYVAULT/VAULTS``)."""
    segments = [s for s in path.split("/") if s]
    kept: list[str] = []
    i = 0
    while i < len(segments):
        segment = segments[i].upper()
        kept.append(segment)
        if segment == "PROVIDERS" and i + 1 < len(segments):
            kept.append(segments[i + 1].upper())  # the namespace, then type/name pairs
            i += 2
            continue
        i += 2  # a type, then its name
    return "/".join([method.upper(), *kept])


class RateLimits:
    """What is left of each hourly ARM budget, per subscription (or tenant) and kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._used: dict[tuple[str, str], tuple[float, int]] = {}

    def take(self, scope: str, kind: str, *, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        with self._lock:
            started, used = self._used.get((scope, kind), (now, 0))
            if now - started >= 3600:
                started, used = now, 0
            used += 1
            if len(self._used) > 4096:
                self._used.clear()
            self._used[(scope, kind)] = (started, used)
        return max(0, ARM_HOURLY_LIMITS[kind] - used)


def keyvault_headers(request: Request, region: str | None) -> dict[str, str]:
    headers = {**_COMMON}
    if region:
        headers["x-ms-keyvault-region"] = region
    client_id = request.headers.get("x-ms-client-request-id")
    if client_id:
        headers["x-ms-client-request-id"] = client_id
    headers["x-ms-keyvault-service-version"] = KEYVAULT_SERVICE_VERSION
    headers["x-ms-keyvault-network-info"] = (
        f"conn_type=Ipv4;addr={request.client_ip};act_addr_fam=InterNetwork;"
    )
    return {**headers, **_KV_SECURITY}


def arm_headers(request: Request, limits: RateLimits, *, now: float | None = None) -> dict:
    rid = request_id()
    correlation = request.headers.get("x-ms-correlation-request-id") or rid
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    kind = rate_limit_kind(request.method)
    subscription = subscription_of(request.path)
    scope = f"subscription-{kind}" if subscription else f"tenant-{kind}"
    remaining = limits.take((subscription or "tenant").lower(), kind)
    return {
        **_COMMON,
        f"x-ms-ratelimit-remaining-{scope}": str(remaining),
        "x-ms-request-id": rid,
        "x-ms-correlation-request-id": correlation,
        "x-ms-routing-request-id": f"{ARM_ROUTING_REGION}:{stamp}:{rid}",
        **_ARM_SECURITY,
    }


def decorate(response: Response, extra: dict[str, str]) -> Response:
    """``response`` with ``extra`` headers added; what the handler set itself stays."""
    names = {name.lower() for name in response.headers}
    for name, value in extra.items():
        if name.lower() not in names:
            response.headers[name] = value
    return response
