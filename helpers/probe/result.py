"""What one probe found: :class:`ProbeResult` (findings, token claims, latencies, model)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from helpers.findings import Finding, has_errors, render_html, render_text
from helpers.roles import PermissionModel

__all__ = ["ProbeResult"]


@dataclass
class ProbeResult:
    """What one probe found. ``claims`` holds tid, appid and oid only; never a secret."""

    name: str = "default"
    vault_url: str = ""
    findings: list[Finding] = field(default_factory=list)
    claims: dict[str, str] = field(default_factory=dict)
    latencies: dict[str, float] = field(default_factory=dict)
    permission_model: str = PermissionModel.UNKNOWN.value

    @property
    def ok(self) -> bool:
        return not has_errors(self.findings)

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "vault_url": self.vault_url,
            "ok": self.ok,
            "permission_model": self.permission_model,
            "claims": dict(self.claims),
            "latencies": {k: round(v, 4) for k, v in self.latencies.items()},
            "findings": [f.to_dict() for f in self.findings],
        }

    def __str__(self) -> str:
        return render_text(self.findings, title=f"probe {self.name}: {self.vault_url}")

    def _repr_html_(self) -> str:
        return render_html(self.findings, title=f"probe {self.name}: {self.vault_url}")
