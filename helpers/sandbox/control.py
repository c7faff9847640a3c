"""Test and training controls: reset, seed and fault injection.

They live on the proxy's own address (``http://127.0.0.1:<port>/_sandbox/...``), a host no
Azure client ever talks to, and need the bearer token kept in the state directory.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from .http import Request, Response, ServiceError
from .scenario import SECRET_NAME

if TYPE_CHECKING:
    from .state import SandboxState

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


class ControlResponses:
    def __init__(self, state: SandboxState, info: dict[str, Any]):
        self.state = state
        self.info = info  # port, started, request counters (kept by the server)

    def dispatch(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.state.control_token}":
            raise ControlError(401, "the control API needs 'Authorization: Bearer <control-token>'")
        route = (request.method, request.path.rstrip("/"))
        handler = {
            ("GET", "/_sandbox/status"): self.status,
            ("GET", "/_sandbox/env"): self.env,
            ("POST", "/_sandbox/reset"): self.reset,
            ("POST", "/_sandbox/seed"): self.seed,
            ("GET", "/_sandbox/faults"): self.list_faults,
            ("POST", "/_sandbox/faults"): self.add_fault,
            ("DELETE", "/_sandbox/faults"): self.clear_faults,
            ("POST", "/_sandbox/propagation-delay"): self.propagation_delay,
            ("POST", "/_sandbox/expire-client-secret"): self.expire_client_secret,
            ("POST", "/_sandbox/disable-secret"): self.disable_secret,
            ("POST", "/_sandbox/firewall"): self.firewall,
        }.get(route)
        if handler is None:
            raise ControlError(404, f"no control endpoint {request.method} {request.path}")
        body = request.json() if request.body else {}
        if not isinstance(body, dict):
            raise ControlError(400, "the body must be a JSON object")
        return Response.json(handler(request, body))

    def _vault(self, body: dict[str, Any]):
        name = str(body.get("vault") or self.state.scenario.default_vault)
        vault = self.state.keyvault.vaults.get(name.lower())
        if vault is None:
            raise ControlError(404, f"no vault {name!r} in this sandbox")
        return vault

    def status(self, request, body):
        st = self.state
        return {
            **self.info,
            "scenario": st.scenario.name,
            "scenario_file": st.scenario.source,
            "state_dir": str(st.state_dir),
            "ephemeral": st.ephemeral,
            "tenants": [t.id for t in st.directory.tenants.values()],
            "apps": sorted(a.name for a in st.directory.apps.values()),
            "vaults": {
                v.name: {
                    "uri": v.uri + "/",
                    "permission_model": "rbac" if v.rbac else "access_policy",
                    "firewall": "closed" if v.firewall_default_action == "Deny" else "open",
                    "secrets": len(v.secrets),
                    "deleted": len(v.deleted),
                }
                for v in st.keyvault.vaults.values()
            },
            "role_assignments": len(st.arm.authorization.assignments),
            "propagation_delay": st.arm.authorization.propagation_delay,
            "faults": [asdict(f) for f in st.faults.items],
        }

    def env(self, request, body):
        principal = request.query.get("principal")
        try:
            return self.state.environment(principal)
        except KeyError:
            raise ControlError(404, f"no app named {principal!r} in this sandbox") from None

    def reset(self, request, body):
        self.state.reset()
        return {"reset": True}

    def seed(self, request, body):
        vault = self._vault(body)
        values = body.get("secrets") or {}
        if not isinstance(values, dict):
            raise ControlError(400, "secrets must map secret names to values")
        bad = sorted(str(n) for n in values if not SECRET_NAME.match(str(n)))
        if bad:
            raise ControlError(400, f"invalid secret names {bad} (1-127 of 0-9 a-z A-Z -)")
        for name, value in values.items():
            vault.deleted.pop(str(name).lower(), None)
            self.state.keyvault.set_secret(vault, str(name), {"value": str(value)})
        self.state.dirty = True
        return {"vault": vault.name, "seeded": sorted(values)}

    def list_faults(self, request, body):
        return {"faults": [asdict(f) for f in self.state.faults.items]}

    def add_fault(self, request, body):
        fault = Fault.from_json(body)
        self.state.faults.add(fault)
        return {"added": asdict(fault)}

    def clear_faults(self, request, body):
        self.state.faults.clear()
        return {"faults": []}

    def propagation_delay(self, request, body):
        seconds = body.get("seconds", 0)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ControlError(400, f"seconds must be a number >= 0, not {seconds!r}")
        seconds = float(seconds)
        self.state.arm.authorization.propagation_delay = seconds
        self.state.dirty = True
        return {"propagation_delay": seconds}

    def expire_client_secret(self, request, body):
        app = str(body.get("app") or self.state.scenario.default_principal)
        try:
            self.state.directory.expire_client_secrets(app)
        except KeyError:
            raise ControlError(404, f"no app named {app!r} in this sandbox") from None
        self.state.dirty = True
        return {"expired": app}

    def disable_secret(self, request, body):
        vault = self._vault(body)
        name = str(body.get("name", ""))
        secret = vault.secrets.get(name.lower())
        if secret is None:
            raise ControlError(404, f"no secret {name!r} in vault {vault.name}")
        enable = body.get("enable", False)
        if not isinstance(enable, bool):
            raise ControlError(400, f"enable must be true or false, not {enable!r}")
        secret.latest.enabled = enable
        self.state.dirty = True
        return {"vault": vault.name, "name": secret.name, "enabled": secret.latest.enabled}

    def firewall(self, request, body):
        vault = self._vault(body)
        state = body.get("state", "closed")
        if state not in ("open", "closed"):
            raise ControlError(400, f"state must be open or closed, not {state!r}")
        closed = state == "closed"
        vault.firewall_default_action = "Deny" if closed else "Allow"
        self.state.dirty = True
        return {"vault": vault.name, "firewall": "closed" if closed else "open"}
