"""Injected faults: what the control API can make the emulated services do (throttle,
fail, slow down), and the validation of each fault."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .http import ServiceError

__all__ = ["FAULT_KINDS", "SERVICES", "ControlError", "Fault", "Faults"]

FAULT_KINDS = ("throttle", "error", "latency")
SERVICES = ("keyvault", "entra", "arm")


class ControlError(ServiceError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message

    def payload(self) -> dict:
        return {"error": {"code": "SandboxControlError", "message": self.message}}


@dataclass
class Fault:
    """One injected fault.

    kind: throttle (429 + Retry-After), error (a 5xx), latency (added delay)
    target: keyvault | vault:<name> | entra | arm | *
    count: how many matching requests it affects; None = until cleared
    """

    kind: str
    target: str = "keyvault"
    count: int | None = None
    status: int = 503
    retry_after: int = 1
    latency_ms: int = 0

    def __post_init__(self) -> None:
        problems = []
        if self.kind not in FAULT_KINDS:
            problems.append(f"kind must be one of {', '.join(FAULT_KINDS)}, not {self.kind!r}")
        target = self.target if isinstance(self.target, str) else ""
        kind, _, name = target.partition(":")
        if not (target == "*" or target in SERVICES or (kind == "vault" and name)):
            problems.append(
                f"target must be keyvault, vault:<name>, entra, arm or *, not {self.target!r}"
            )
        integers = ("count", "status", "retry_after", "latency_ms")
        bad_types = {
            attr
            for attr in integers
            if not (attr == "count" and self.count is None)
            and (isinstance(getattr(self, attr), bool) or not isinstance(getattr(self, attr), int))
        }
        problems.extend(
            f"{attr} must be an integer, not {getattr(self, attr)!r}" for attr in sorted(bad_types)
        )
        if "status" not in bad_types and self.kind == "error" and not 500 <= self.status <= 599:
            problems.append(f"status must be a 5xx for an error fault, not {self.status}")
        if "count" not in bad_types and self.count is not None and self.count < 1:
            problems.append("count must be at least 1 (or null for 'until cleared')")
        if "retry_after" not in bad_types and not 0 <= self.retry_after <= 3600:
            problems.append("retry_after must be 0-3600 seconds")
        if "latency_ms" not in bad_types:
            if self.kind == "latency" and not 1 <= self.latency_ms <= 60_000:
                problems.append("latency_ms must be 1-60000 for a latency fault")
            elif self.latency_ms < 0:
                problems.append("latency_ms must not be negative")
        if problems:
            raise ControlError(400, "bad fault: " + "; ".join(problems))

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Fault:
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(body) - set(known))
        if unknown:
            raise ControlError(
                400, f"bad fault: unknown field(s) {unknown}; known: {', '.join(known)}"
            )
        if "kind" not in body:
            raise ControlError(400, f"bad fault: kind is required ({', '.join(FAULT_KINDS)})")
        return cls(**body)

    def applies(self, service: str, host: str) -> bool:
        if self.target in ("*", service):
            return True
        kind, _, name = self.target.partition(":")
        return kind == "vault" and host.lower() == f"{name.lower()}.vault.azure.net"


class Faults:
    def __init__(self) -> None:
        self.items: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self.items.append(fault)

    def clear(self) -> None:
        self.items.clear()

    def pick(self, service: str, host: str) -> tuple[int, Fault | None]:
        """Added latency (ms) and the failing fault, if any, for one request; uses up counts."""
        latency, failing = 0, None
        for fault in list(self.items):
            if not fault.applies(service, host):
                continue
            if fault.kind == "latency":
                latency += fault.latency_ms
            elif failing is None:
                failing = fault
            else:
                continue
            if fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self.items.remove(fault)
        return latency, failing
