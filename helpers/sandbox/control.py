"""Test and training controls: reset, seed and fault injection.

They live on the proxy's own address (``http://127.0.0.1:<port>/_sandbox/...``), a host no
Azure client ever talks to, and need the bearer token kept in the state directory.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from .faults import ControlError, Fault
from .http import Request, Response
from .keyvault.models import MAX_VALUE_BYTES
from .requestlog import PAGE, RequestLog
from .scenario import SECRET_NAME
from .state import CREDENTIAL_KINDS, SandboxState

__all__ = [
    "ControlResponses",
]


class ControlResponses:
    def __init__(self, state: SandboxState, info: dict[str, Any], log: RequestLog):
        self.state = state
        self.info = info  # port, started, request counters (kept by the server)
        self.log = log

    def dispatch(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.state.control_token}":
            raise ControlError(401, "the control API needs 'Authorization: Bearer <control-token>'")
        route = (request.method, request.path.rstrip("/"))
        handler = {
            ("GET", "/_sandbox/status"): self.status,
            ("GET", "/_sandbox/env"): self.env,
            ("POST", "/_sandbox/reset"): self.reset,
            ("POST", "/_sandbox/seed"): self.seed,
            ("GET", "/_sandbox/requests"): self.requests,
            ("GET", "/_sandbox/faults"): self.list_faults,
            ("POST", "/_sandbox/faults"): self.add_fault,
            ("DELETE", "/_sandbox/faults"): self.clear_faults,
            ("POST", "/_sandbox/propagation-delay"): self.propagation_delay,
            ("POST", "/_sandbox/expire-client-secret"): self.expire_client_secret,
            ("POST", "/_sandbox/disable-secret"): self.disable_secret,
            ("POST", "/_sandbox/firewall"): self.firewall,
            ("POST", "/_sandbox/service-account-token"): self.service_account_token,
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
            "apps": sorted(a.name for a in st.directory.apps.values() if not a.managed),
            "managed_identities": sorted(a.name for a in st.identity.host_identities()),
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
        credential = request.query.get("credential") or "client-secret"
        try:
            return self.state.environment(principal, credential, port=self.info.get("port", 0))
        except ValueError:
            kinds = ", ".join(CREDENTIAL_KINDS)
            raise ControlError(400, f"unknown credential {credential!r} ({kinds})") from None
        except KeyError:
            what = {
                "client-secret": "app with a client secret",
                "workload-identity": "app or identity with a federated credential of a "
                "sandbox AKS cluster",
            }.get(credential, "managed identity")
            named = f" named {principal!r}" if principal else ""
            raise ControlError(404, f"no {what}{named} in this sandbox") from None

    def service_account_token(self, request, body):
        """A projected service-account token of a sandbox AKS cluster (tests, training):
        namespace, service_account, and optionally cluster, audience, lifetime (seconds,
        negative for an expired token)."""
        fields = {"namespace": str, "service_account": str, "cluster": str, "audience": str}
        for name, kind in {**fields, "lifetime": int}.items():
            value = body.get(name)
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
                raise ControlError(400, f"{name}: must be a {kind.__name__}")
        if not body.get("namespace") or not body.get("service_account"):
            raise ControlError(400, "namespace and service_account are required")
        lifetime = body.get("lifetime", 3600)
        if not -(10**7) < lifetime < 10**7:
            raise ControlError(400, "lifetime: out of range")
        now = time.time()
        if lifetime < 0:  # an hour-long token that expired -lifetime seconds ago
            now, lifetime = now + lifetime - 3600, 3600
        try:
            token = self.state.identity.service_account_token(
                namespace=body["namespace"],
                service_account=body["service_account"],
                cluster=body.get("cluster"),
                audience=body.get("audience") or "api://AzureADTokenExchange",
                lifetime=lifetime,
                now=now,
            )
        except (KeyError, StopIteration):
            raise ControlError(404, "no such AKS cluster in this sandbox") from None
        return {"token": token}

    def requests(self, request, body):
        """The request log after sequence number ``after`` (default 0), at most ``limit``
        records (default and cap: requestlog.PAGE); see helpers/sandbox/requestlog.py."""
        numbers = {}
        for name, default in (("after", 0), ("limit", PAGE)):
            raw = request.query.get(name, str(default))
            if not raw.isdigit() or len(raw) > 12:
                raise ControlError(400, f"{name}: a whole number >= 0")
            numbers[name] = int(raw)
        return self.log.after(numbers["after"], min(numbers["limit"], PAGE))

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
            if not isinstance(value, str) or len(value.encode("utf-8")) > MAX_VALUE_BYTES:
                raise ControlError(
                    400, f"secrets.{name}: a string of at most {MAX_VALUE_BYTES} bytes"
                )
        for name, value in values.items():
            vault.deleted.pop(str(name).lower(), None)
            self.state.keyvault.set_secret(vault, str(name), {"value": value})
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
