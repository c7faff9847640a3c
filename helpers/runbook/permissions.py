"""Notebook 02: who may read the vault, and the grant — the same workflow as ``akv-runbook grant``.

Each method of :class:`Permissions` returns a :class:`~helpers.runbook.StepResult` and never
raises. The operator (who grants) is the connection's choice — the sandbox's admin principal,
or your own Azure sign-in without AZURE_* — and the grantee is always the backend identity of
the settings; the decisions are :func:`helpers.roles.plan_grant`'s and
:func:`helpers.roles.least_privilege`'s, shared with the CLI.
"""

from __future__ import annotations

from typing import Any

from helpers.findings import Finding, Severity
from helpers.findings.codes.perm import ROLES_NOT_CHECKED
from helpers.findings.codes.run import SKIPPED
from helpers.probe import FORBIDDEN_CODES, probe, wait_for_access
from helpers.roles import (
    LEAST_PRIVILEGE_ROLE,
    GrantNeed,
    GrantPlan,
    PermissionModel,
    find_vault,
    grant_need,
    least_privilege,
    no_grant_needed,
    plan_grant,
    roles_held,
)
from helpers.runbook.connect import Connection
from helpers.runbook.results import Section, StepResult, never_raises
from helpers.settings import Settings
from helpers.vault.credentials import Operator

__all__ = ["LEAST_PRIVILEGE_TABLE", "Permissions", "permissions"]

LEAST_PRIVILEGE_TABLE = [
    ["role", "what it allows", "needed by the backend?"],
    [LEAST_PRIVILEGE_ROLE, "read secret values (get, list)", "yes — this is all it needs"],
    ["Key Vault Secrets Officer", "read, write and delete secrets", "no"],
    ["Key Vault Contributor", "manage the vault resource; NO secret access on RBAC vaults", "no"],
    ["Key Vault Administrator", "everything on the vault's data plane", "no"],
    ["Contributor / Owner", "manage (Owner: also grant) any resource in scope", "no"],
]


class Permissions:
    """02's steps; each method returns a :class:`StepResult` and never raises. Later steps run
    the earlier ones they depend on when they were skipped."""

    def __init__(self, conn: Connection, settings: Settings):
        self.conn = conn
        self.settings = settings
        self.vault: Any = None  # roles.VaultInfo
        self.probe_result: Any = None  # probe.ProbeResult
        self.plan: GrantPlan | None = None
        self.granted = False

    @property
    def object_id(self) -> str:
        return self._probe().claims.get("oid", "")

    def operator(self) -> Operator:
        return Operator(self.conn.operator_credential(), self.conn.operator)

    def _vault(self) -> Any:
        if self.vault is None:
            self.vault = find_vault(
                self.conn.operator_credential(), self.conn.subscription_id, self.settings.vault_url
            )
        return self.vault

    def _probe(self) -> Any:
        if self.probe_result is None:
            self.probe_result = probe(
                self.settings, through_backend=False, check_roles=False, timeout=10
            )
        return self.probe_result

    def _forbidden(self) -> list[Finding]:
        return [f for f in self._probe().findings if f.code in FORBIDDEN_CODES]

    def _plan(self, role: str, *, perform: bool) -> GrantPlan:
        return plan_grant(
            self.settings,
            backend=self._probe(),
            operator=self.operator(),
            subscription_id=self.conn.subscription_id,
            role=role,
            vault=self._vault(),
            perform=perform,
        )

    @never_raises("Permission model")
    def detect_model(self) -> StepResult:
        """Find the vault through ARM (as the operator): resource id and permission model."""
        self.vault = None
        info = self._vault()
        rows = [
            ["", "found through Azure Resource Manager"],
            ["vault", info.name or "(not a vault URL)"],
            ["resource id", info.resource_id or "(unknown)"],
            ["permission model", info.permission_model.value],
            ["looked up as", self.conn.operator],
        ]
        note = (
            f"RBAC vaults are governed by Azure role assignments ({LEAST_PRIVILEGE_ROLE} reads); "
            "access-policy vaults by the vault's own access policies (secret get, list). "
            "The grant below follows the model found here."
        )
        return StepResult(
            "Permission model",
            list(info.findings),
            [Section("", rows, "table"), Section("", note, "note")],
            {"model": info.permission_model.value, "resource_id": info.resource_id},
        )

    @never_raises("Probe a read")
    def probe_read(self) -> StepResult:
        """Sign in as the backend and read the expected secrets through the SDK."""
        self.probe_result = None
        result = self._probe()
        return StepResult("Probe a read", list(result.findings), data={"claims": result.claims})

    @never_raises("Diagnosis")
    def diagnose(self) -> StepResult:
        """What the probe means: nothing to grant, which grant is missing, or fix sign-in first."""
        need = grant_need(self._probe())
        if need is GrantNeed.MISSING:
            forbidden = self._forbidden()
            info = self._vault()
            model = info.permission_model.value if info.found else forbidden[0].data.get("model")
            what = (
                "an access policy with secret get, list"
                if model == "access_policy"
                else f"the role {LEAST_PRIVILEGE_ROLE} at the vault's scope"
            )
            note = (
                f"The backend's service principal (object id {self.object_id or 'unknown'}) "
                f"signs in but may not read secrets of {info.name or self.settings.vault_url}. "
                f"It needs {what} — nothing more."
            )
            return StepResult("Diagnosis", forbidden, [Section("", note, "note")])
        if need is GrantNeed.NONE:
            return StepResult("Diagnosis", [no_grant_needed("permissions")])
        errors = [f for f in self._probe().findings if f.severity is Severity.ERROR]
        note = "The probe failed before permissions matter: fix these first (01_prerequisites)."
        return StepResult("Diagnosis", errors, [Section("", note, "note")])

    @never_raises("The grant, in every form")
    def grant_commands(self) -> StepResult:
        """The least-privilege grant as az CLI, PowerShell, Bicep and Terraform."""
        plan = self._plan(LEAST_PRIVILEGE_ROLE, perform=False)
        labels = {
            "az": "Azure CLI",
            "powershell": "Azure PowerShell",
            "bicep": "Bicep",
            "terraform": "Terraform",
            "check_model": "Not sure of the permission model? Check it first",
        }
        sections = [Section(labels.get(k, k.capitalize()), v) for k, v in plan.commands.items()]
        findings = []
        if not self.object_id:
            findings.append(
                SKIPPED("object id", "sign-in failed, so the object id is a placeholder")
            )
        return StepResult(
            "The grant, in every form", findings, sections, {"commands": plan.commands}
        )

    @never_raises("Grant")
    def grant(self, perform: bool = True, role: str = LEAST_PRIVILEGE_ROLE) -> StepResult:
        """The grant workflow (:func:`helpers.roles.plan_grant`) as the connection's operator."""
        self.plan = self._plan(role, perform=perform)
        self.granted = self.plan.granted
        sections = []
        if self.granted:
            note = f"Granted as {self.conn.operator}, at the vault's scope only."
            sections.append(Section("", note, "note"))
        return StepResult("Grant", list(self.plan.findings), sections, self.plan.to_dict())

    @never_raises("Least privilege")
    def least_privilege(self) -> StepResult:
        """The roles the backend holds on the vault, against what it needs."""
        sections = [Section("What each role allows", LEAST_PRIVILEGE_TABLE, "table")]
        sections.append(
            Section(
                "",
                f"The seed document assigns Key Vault Contributor AND {LEAST_PRIVILEGE_ROLE}. "
                f"The backend only reads secret values: {LEAST_PRIVILEGE_ROLE} is enough, and "
                "Key Vault Contributor (management plane) adds no read access — only risk.",
                "note",
            )
        )
        info = self._vault()
        if not info.found or not self.object_id:
            why = "the vault or the backend's object id is unknown"
            return StepResult("Least privilege", [ROLES_NOT_CHECKED("roles", why)], sections)
        oid = self.object_id
        if info.permission_model is PermissionModel.ACCESS_POLICY:
            perms = info.access_policies.get(oid.lower(), [])
            finding = least_privilege(
                model=info.permission_model,
                scope=info.resource_id,
                policy=perms,
                subject=f"access policy of {oid}",
            )
            return StepResult("Least privilege", [finding], sections)
        held = roles_held(
            self.conn.operator_credential(), self.conn.subscription_id, info.resource_id, oid
        )
        finding = least_privilege(model=info.permission_model, scope=info.resource_id, held=held)
        return StepResult("Least privilege", [finding], sections, {"roles": held})

    @never_raises("Re-probe")
    def wait_for_access(self, timeout: float = 60.0) -> StepResult:
        """Re-probe until the grant takes effect (at most ``timeout`` s; one probe when no
        grant was made here)."""
        wait = float(timeout) if self.granted else 0.0
        findings = wait_for_access(self.settings, timeout=wait, interval=2.0)
        return StepResult("Re-probe", findings)


def permissions(conn: Connection, settings: Settings) -> Permissions:
    return Permissions(conn, settings)
