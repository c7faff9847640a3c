"""The notebook-facing API of the guided runbook: every notebook cell is one call into here.

A notebook connects (:func:`connect`), turns its parameters into settings
(:func:`settings_from_params`), then runs steps. Each step returns a :class:`StepResult` (a
:class:`~helpers.findings.Report` with explanatory sections) and **never raises**: a failure
becomes findings, so one broken check never hides the others in a papermill run. The
notebook hands each result to :func:`show`, which renders it as HTML and also emits it in a
machine-readable output (``MIMETYPE``) that :func:`collect_results` reads back out of an
executed notebook.

Modules: ``results`` (StepResult, Section, show, the kernel's secret registry), ``connect``
(the sandbox or real Azure), ``params`` (parameters -> settings; 00's check), and one module
per notebook step:

- 00: :func:`check_form` (also what the settings form's Check button calls);
- 01 ``prerequisites``: :func:`check_settings`, :func:`check_packages`,
  :func:`check_azure_env`, :func:`check_sign_in`;
- 02: :func:`permissions` -> :class:`Permissions` (detect model, probe, diagnose, grant in
  every form, perform it, least privilege, wait until it takes effect);
- 03 ``config``: :func:`render_config`, :func:`lint_config`, :func:`naming_rule`;
- 04 ``retrieval``: :func:`retrieval` -> :class:`Retrieval` (store samples, read through the
  SDK, the real backend, Airflow's ``Variable.get`` in a scratch AIRFLOW_HOME, ``airflow dags
  test``) and :func:`explain_sample_dag`;
- check_environment ``environment``: :func:`check_environment`, :func:`raise_for_findings`.

Secret values never leave the functions that read them: findings, sections and payloads
carry at most a :func:`helpers.common.redact.fingerprint`. Settings hold the NAME of the variable
with the client secret (``client_secret_env``), never its value.
"""

from __future__ import annotations

from typing import Any

from helpers.findings import Finding, Severity, has_errors
from helpers.findings.codes.run import NO_GRANT_NEEDED, SKIPPED
from helpers.findings.results import MIMETYPE, collect_results
from helpers.runbook.config import lint_config, naming_rule, render_config
from helpers.runbook.connect import SANDBOX_DEFAULTS, Connection, connect
from helpers.runbook.environment import FindingsError, check_environment, raise_for_findings
from helpers.runbook.params import check_form, check_settings, settings_from_params
from helpers.runbook.prerequisites import check_azure_env, check_packages, check_sign_in
from helpers.runbook.results import (
    Section,
    StepResult,
    never_raises,
    redact,
    remember_secret_env,
    show,
    unexpected,
)
from helpers.runbook.results import never_raises as _never_raises
from helpers.runbook.retrieval import Retrieval, dag_outcome, explain_sample_dag, retrieval
from helpers.settings import Settings

__all__ = [
    "MIMETYPE",
    "SANDBOX_DEFAULTS",
    "Connection",
    "FindingsError",
    "Permissions",
    "Retrieval",
    "Section",
    "StepResult",
    "check_azure_env",
    "check_environment",
    "check_form",
    "check_packages",
    "check_settings",
    "check_sign_in",
    "collect_results",
    "connect",
    "dag_outcome",
    "explain_sample_dag",
    "lint_config",
    "naming_rule",
    "never_raises",
    "permissions",
    "raise_for_findings",
    "redact",
    "remember_secret_env",
    "render_config",
    "retrieval",
    "settings_from_params",
    "show",
    "unexpected",
]

# -- 02 permissions -------------------------------------------------------------------------
LEAST_PRIVILEGE_TABLE = [
    ["role", "what it allows", "needed by the backend?"],
    ["Key Vault Secrets User", "read secret values (get, list)", "yes — this is all it needs"],
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
        self.probe_result: Any = None  # probes.ProbeResult
        self.granted = False

    @property
    def object_id(self) -> str:
        return self._probe().claims.get("oid", "")

    def _vault(self) -> Any:
        if self.vault is None:
            from helpers.roles import find_vault

            self.vault = find_vault(
                self.conn.operator_credential(), self.conn.subscription_id, self.settings.vault_url
            )
        return self.vault

    def _probe(self) -> Any:
        if self.probe_result is None:
            from helpers.probe import probe

            self.probe_result = probe(
                self.settings, through_backend=False, check_roles=False, timeout=10
            )
        return self.probe_result

    def _forbidden(self) -> list[Finding]:
        from helpers.probe import FORBIDDEN_CODES

        return [f for f in self._probe().findings if f.code in FORBIDDEN_CODES]

    def _reads(self) -> bool:
        from helpers.probe import AUTHORIZED_CODES

        return any(f.code in AUTHORIZED_CODES for f in self._probe().findings)

    @_never_raises("Permission model")
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
            "RBAC vaults are governed by Azure role assignments (Key Vault Secrets User reads); "
            "access-policy vaults by the vault's own access policies (secret get, list). "
            "The grant below follows the model found here."
        )
        return StepResult(
            "Permission model",
            list(info.findings),
            [Section("", rows, "table"), Section("", note, "note")],
            {"model": info.permission_model.value, "resource_id": info.resource_id},
        )

    @_never_raises("Probe a read")
    def probe_read(self) -> StepResult:
        """Sign in as the backend and read the expected secrets through the SDK."""
        self.probe_result = None
        result = self._probe()
        return StepResult("Probe a read", list(result.findings), data={"claims": result.claims})

    @_never_raises("Diagnosis")
    def diagnose(self) -> StepResult:
        """What the probe means: nothing to grant, which grant is missing, or fix sign-in first."""
        forbidden = self._forbidden()
        if forbidden:
            info = self._vault()
            model = info.permission_model.value if info.found else forbidden[0].data.get("model")
            what = (
                "an access policy with secret get, list"
                if model == "access_policy"
                else "the role Key Vault Secrets User at the vault's scope"
            )
            note = (
                f"The backend's service principal (object id {self.object_id or 'unknown'}) "
                f"signs in but may not read secrets of {info.name or self.settings.vault_url}. "
                f"It needs {what} — nothing more."
            )
            return StepResult("Diagnosis", forbidden, [Section("", note, "note")])
        if self._reads():
            detail = "the backend's identity reads the expected secrets already"
            return StepResult("Diagnosis", [NO_GRANT_NEEDED("permissions", detail)])
        errors = [f for f in self._probe().findings if f.severity is Severity.ERROR]
        note = "The probe failed before permissions matter: fix these first (01_prerequisites)."
        return StepResult("Diagnosis", errors, [Section("", note, "note")])

    @_never_raises("The grant, in every form")
    def grant_commands(self) -> StepResult:
        """The least-privilege grant as az CLI, PowerShell, Bicep and Terraform."""
        from helpers.roles import grant_commands

        info = self._vault()
        oid = self.object_id or "<object-id>"
        commands = grant_commands(
            self.settings,
            oid,
            model=info.permission_model,
            vault_resource_id=info.resource_id or "",
        )
        labels = {
            "az": "Azure CLI",
            "powershell": "Azure PowerShell",
            "bicep": "Bicep",
            "terraform": "Terraform",
            "check_model": "Not sure of the permission model? Check it first",
        }
        sections = [Section(labels.get(k, k.capitalize()), v) for k, v in commands.items()]
        findings = []
        if not self.object_id:
            findings.append(
                SKIPPED("object id", "sign-in failed, so the object id is a placeholder")
            )
        return StepResult("The grant, in every form", findings, sections, {"commands": commands})

    @_never_raises("Grant")
    def grant(self, perform: bool = True) -> StepResult:
        """Perform the grant as the operator when the read is forbidden and ``perform``."""
        from helpers.roles import perform_grant

        self.granted = False
        if not self._forbidden():
            if self._reads():
                return StepResult("Grant", [NO_GRANT_NEEDED("grant", "reads already work")])
            return StepResult(
                "Grant", [SKIPPED("grant", "the probe failed for another reason; see above")]
            )
        if not perform:
            detail = "perform_grant is False: run one of the commands above"
            return StepResult("Grant", [SKIPPED("grant", detail)])
        info = self._vault()
        if not info.found or not self.object_id:
            detail = "the vault's resource id or the object id is unknown (see the steps above)"
            return StepResult("Grant", [*info.findings, SKIPPED("grant", detail)])
        findings = perform_grant(
            self.conn.operator_credential(),
            self.conn.subscription_id,
            info.resource_id,
            self.object_id,
            info.permission_model,
        )
        self.granted = not has_errors(findings)
        note = f"Granted as {self.conn.operator}, at the vault's scope only."
        return StepResult("Grant", findings, [Section("", note, "note")])

    @_never_raises("Least privilege")
    def least_privilege(self) -> StepResult:
        """The roles the backend holds on the vault, against what it needs."""
        from helpers.probe import BEYOND_LEAST_PRIVILEGE, LEAST_PRIVILEGE, ROLES_NOT_CHECKED
        from helpers.roles import LEAST_PRIVILEGE_ROLE, roles_held

        sections = [Section("What each role allows", LEAST_PRIVILEGE_TABLE, "table")]
        sections.append(
            Section(
                "",
                "The seed document assigns Key Vault Contributor AND Key Vault Secrets User. "
                "The backend only reads secret values: Key Vault Secrets User is enough, and "
                "Key Vault Contributor (management plane) adds no read access — only risk.",
                "note",
            )
        )
        info = self._vault()
        if not info.found or not self.object_id:
            why = "the vault or the backend's object id is unknown"
            return StepResult("Least privilege", [ROLES_NOT_CHECKED("roles", why)], sections)
        if info.permission_model.value == "access_policy":
            perms = info.access_policies.get(self.object_id.lower(), [])
            extra = [p for p in perms if p not in ("get", "list")]
            subject = f"access policy of {self.object_id}"
            found = ", ".join(perms) or "none"
            finding = (
                BEYOND_LEAST_PRIVILEGE(subject, f"secret permissions {found}")
                if extra
                else LEAST_PRIVILEGE(subject, f"secret permissions {found}")
            )
            return StepResult("Least privilege", [finding], sections)
        held = roles_held(
            self.conn.operator_credential(),
            self.conn.subscription_id,
            info.resource_id,
            self.object_id,
        )
        if held is None:
            finding = ROLES_NOT_CHECKED("roles", f"role assignments on {info.resource_id}")
        elif [r for r in held if r != LEAST_PRIVILEGE_ROLE]:
            finding = BEYOND_LEAST_PRIVILEGE("roles", f"holds {', '.join(held)}", roles=held)
        else:
            finding = LEAST_PRIVILEGE("roles", f"holds {', '.join(held) or 'no roles'}")
        return StepResult("Least privilege", [finding], sections, {"roles": held})

    @_never_raises("Re-probe")
    def wait_for_access(self, timeout: float = 60.0) -> StepResult:
        """Re-probe until the grant takes effect (at most ``timeout`` s; one probe when no
        grant was made here)."""
        from helpers.roles import wait_for_access

        wait = float(timeout) if self.granted else 0.0
        findings = wait_for_access(self.settings, timeout=wait, interval=2.0)
        return StepResult("Re-probe", findings)


def permissions(conn: Connection, settings: Settings) -> Permissions:
    return Permissions(conn, settings)
