"""The grant: one workflow for the CLI (``akv-runbook grant``) and notebook 02.

:func:`plan_grant` decides and, when asked, performs:

* the **grantee** is always the backend identity the settings describe — its object id from
  ``object_id`` or from the backend's own sign-in (``backend``: a probe's result);
* the **operator** (who grants) is explicit: an :class:`~helpers.vault.credentials.Operator`
  chosen by the caller, never the backend's environment credential. An unknown operator is
  AKV-ROLE-015; an operator that IS the grantee is refused (AKV-ROLE-016);
* a role that reads no secret value (AKV-ROLE-014) or more than needed (AKV-ROLE-010) is
  reported with or without ``perform``;
* reads that already work make the grant a no-op (AKV-RUN-011), whoever the operator is:
  :func:`grant_need` is that decision, shared with notebook 02's diagnosis. AKV-ROLE-015 is
  reported only when a grant would be sent.

:func:`perform_grant` is the ARM call itself (role assignment or access policy). Waiting for
a grant to take effect re-probes, so it lives with the probe (``helpers.probe``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from azure.core.credentials import TokenCredential

from helpers.backend_config.identity import identity_of, kind_of
from helpers.findings import Finding, has_errors
from helpers.findings.codes.perm import FORBIDDEN_BY_POLICY, FORBIDDEN_BY_RBAC
from helpers.findings.codes.role import (
    ALREADY_GRANTED,
    BAD_INPUT,
    GRANT_FAILED,
    GRANTED,
    GRANTEE_UNKNOWN,
    NOT_ALLOWED_TO_GRANT,
    OPERATOR_IS_GRANTEE,
    POLICY_SET,
    PRINCIPAL_NOT_FOUND,
    UNKNOWN_ROLE,
)
from helpers.findings.codes.run import NO_GRANT_NEEDED, SKIPPED
from helpers.findings.codes.secret import (
    NOTHING_TO_READ,
    SECRET_DISABLED,
    SECRET_NOT_FOUND,
    SECRET_READ,
)
from helpers.roles.commands import grant_commands
from helpers.roles.model import (
    ARM_API_TIMEOUT,
    PermissionModel,
    VaultInfo,
    arm_error,
    find_vault,
    is_guid,
    parse_vault_resource_id,
    role_id,
    role_name,
)
from helpers.roles.principal import object_id_of_client
from helpers.roles.privilege import (
    GRANTORS,
    LEAST_PRIVILEGE_ROLE,
    POLICY_EDITORS,
    POLICY_PERMISSIONS,
    role_verdict,
)
from helpers.settings import Credential, Settings
from helpers.vault.credentials import Operator, identify, transport_kwargs
from helpers.vault.diagnose import diagnose

__all__ = [
    "AUTHORIZED_CODES",
    "FORBIDDEN_CODES",
    "GrantNeed",
    "GrantPlan",
    "Observed",
    "grant_need",
    "no_grant_needed",
    "perform_grant",
    "plan_grant",
]

FORBIDDEN_CODES = frozenset({FORBIDDEN_BY_RBAC.code, FORBIDDEN_BY_POLICY.code})
# A read that got past the vault's authorization (a missing or disabled secret included, and
# the access check's 404 when nothing is named).
AUTHORIZED_CODES = frozenset(
    {SECRET_READ.code, SECRET_NOT_FOUND.code, SECRET_DISABLED.code, NOTHING_TO_READ.code}
)


class Observed(Protocol):
    """What the backend's own sign-in and reads showed (a ``helpers.probe.ProbeResult``)."""

    claims: Mapping[str, str]
    findings: Sequence[Finding]


@dataclass
class GrantPlan:
    """The grant for one backend identity: commands to copy, findings, and whether it was made."""

    object_id: str = ""
    vault_resource_id: str = ""
    model: PermissionModel = PermissionModel.UNKNOWN
    role: str = LEAST_PRIVILEGE_ROLE
    operator: str = ""
    commands: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    granted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "object_id": self.object_id,
            "vault_resource_id": self.vault_resource_id,
            "model": self.model.value,
            "role": self.role,
            "operator": self.operator,
            "granted": self.granted,
            "commands": dict(self.commands),
            "findings": [f.to_dict() for f in self.findings],
        }


def plan_grant(
    settings: Settings,
    *,
    backend: Observed,
    operator: Operator | Finding,
    subscription_id: str = "",
    role: str = LEAST_PRIVILEGE_ROLE,
    model: PermissionModel | str | None = None,
    object_id: str | None = None,
    vault_resource_id: str | None = None,
    vault: VaultInfo | None = None,
    perform: bool = False,
) -> GrantPlan:
    """The one grant workflow (see the module docstring); never raises on a failing service.

    ``backend`` is the probe of the backend identity (its claims give the object id, its
    findings whether reads already work); ``operator`` who grants, or the finding saying why
    nobody can (reported when ``perform``). ``vault``: ARM's answer when the caller already
    has it, else it is looked up as the operator.
    """
    plan = GrantPlan(role=role_name(role) or LEAST_PRIVILEGE_ROLE)
    grantee = str(object_id or "").strip() or str(backend.claims.get("oid", "") or "")
    known = isinstance(operator, Operator)
    if not grantee and known:  # e.g. a managed identity, which signs in only on its host
        grantee = object_id_of_client(
            operator.credential, _client_id_of(settings), vault_url=settings.vault_url
        )
    if known:
        plan.operator = operator.label
        refusal = _refuse_self_grant(operator, grantee)
        if refusal is not None:
            plan.findings.append(refusal)
            known = False
    if vault is None and known:
        vault = find_vault(operator.credential, subscription_id, settings.vault_url)
    if vault is not None:
        plan.findings += vault.findings
    plan.model = PermissionModel.parse(model) if model else _model_of(vault)
    plan.vault_resource_id = vault_resource_id or (vault.resource_id if vault else "") or ""
    plan.object_id = grantee
    plan.commands = grant_commands(
        settings,
        grantee or "<object-id>",
        model=plan.model,
        vault_resource_id=plan.vault_resource_id,
        role=role,
    )
    plan.findings += role_verdict(role, plan.model)
    need = grant_need(backend)
    if grantee and need is GrantNeed.NONE:
        plan.findings.append(no_grant_needed("grant"))
        return plan
    if grantee and need is GrantNeed.BLOCKED:
        detail = "the probe failed for another reason (see its findings): a grant would not fix it"
        plan.findings.append(SKIPPED("grant", detail))
        return plan
    if perform and not isinstance(operator, Operator):
        plan.findings.append(operator)  # a grant would be sent, but nobody is named to send it
    if not grantee:
        why = next((f for f in backend.findings if f.severity.value == "error"), None)
        detail = f"the backend's sign-in failed ({why.code})" if why else "no sign-in"
        plan.findings.append(GRANTEE_UNKNOWN("object id", f"{detail} and no object id given"))
        return plan
    if not perform:
        detail = "not performed: run one of the commands, or perform the grant as the operator"
        plan.findings.append(SKIPPED("grant", detail))
        return plan
    if not isinstance(operator, Operator) or has_errors(plan.findings):
        return plan  # a refusal or a role that reads nothing: nothing is sent to ARM
    made = _send_grant(
        operator.credential,
        subscription_id,
        plan.vault_resource_id,
        grantee,
        plan.model,
        role,
    )
    plan.findings += made
    plan.granted = not has_errors(made)
    return plan


def _client_id_of(settings: Settings) -> str:
    """The client id of a user-assigned managed identity or a workload identity's app, which
    cannot sign in from the operator's shell; "" for a service principal (its sign-in there is
    the check that its secret is the one configured)."""
    if kind_of(settings) is Credential.CLIENT_SECRET:
        return ""
    return identity_of(settings)[0]


class GrantNeed(StrEnum):
    """What the backend's own probe says about a grant (:func:`grant_need`)."""

    MISSING = "missing"  # the vault refused the read: a grant is what is missing
    NONE = "none"  # reads already work: a grant is a no-op
    BLOCKED = "blocked"  # signed in, but failed for another reason: a grant would not fix it
    UNKNOWN = "unknown"  # no sign-in: the probe cannot tell


def grant_need(backend: Observed) -> GrantNeed:
    """The one "is a grant needed?" decision, for ``plan_grant`` and notebook 02's diagnosis."""
    if any(f.code in FORBIDDEN_CODES for f in backend.findings):
        return GrantNeed.MISSING
    if any(f.code in AUTHORIZED_CODES for f in backend.findings):
        return GrantNeed.NONE
    return GrantNeed.BLOCKED if backend.claims.get("oid") else GrantNeed.UNKNOWN


def no_grant_needed(subject: str) -> Finding:
    """AKV-RUN-011: the backend's identity reads already, so nothing is granted."""
    return NO_GRANT_NEEDED(subject, "the backend's identity reads the expected secrets already")


def _model_of(vault: VaultInfo | None) -> PermissionModel:
    return vault.permission_model if vault is not None and vault.found else PermissionModel.UNKNOWN


def _refuse_self_grant(operator: Operator, grantee: str) -> Finding | None:
    """AKV-ROLE-016 when the operator's token names the grantee; a sign-in failure's finding."""
    try:
        claims = identify(operator.credential)
    except Exception as err:  # noqa: BLE001 - the operator's failed sign-in is a finding
        return diagnose(err, subject=f"operator ({operator.label})")
    if grantee and claims["oid"].lower() == grantee.lower():
        return OPERATOR_IS_GRANTEE(
            "operator",
            f"{operator.label} signs in as object id {claims['oid']}, the identity to be "
            "granted: nothing is granted",
            object_id=claims["oid"],
        )
    return None


def perform_grant(
    credential: TokenCredential,
    subscription_id: str,
    vault_resource_id: str,
    object_id: str,
    model: PermissionModel | str,
    role: str = LEAST_PRIVILEGE_ROLE,
    *,
    retries: int = 1,
    timeout: float = ARM_API_TIMEOUT,
) -> list[Finding]:
    """Grant read access through ARM with the caller's ``credential``; returns findings.

    RBAC: a role assignment of ``role`` to ``object_id`` at the vault's resource id
    (azure-mgmt-authorization). Access policy: secret get + list (azure-mgmt-keyvault).
    """
    bad = _bad_input(vault_resource_id, object_id)
    if bad is not None:
        return [bad]
    findings = role_verdict(role, model)  # [] on an access-policy vault
    if has_errors(findings):
        return findings  # a role that reads no secret value is never granted
    return findings + _send_grant(
        credential,
        subscription_id,
        vault_resource_id,
        object_id,
        model,
        role,
        retries=retries,
        timeout=timeout,
    )


def _bad_input(vault_resource_id: str, object_id: str) -> Finding | None:
    oid = str(object_id or "").strip()
    if parse_vault_resource_id(vault_resource_id) is None:
        return BAD_INPUT("vault resource id", f"vault resource id {vault_resource_id}")
    if not is_guid(oid):
        return BAD_INPUT("object id", f"object id {oid!r}")
    return None


def _send_grant(
    credential: TokenCredential,
    subscription_id: str,
    vault_resource_id: str,
    object_id: str,
    model: PermissionModel | str,
    role: str,
    *,
    retries: int = 1,
    timeout: float = ARM_API_TIMEOUT,
) -> list[Finding]:
    """The ARM call alone: the caller has reported the role's verdict."""
    bad = _bad_input(vault_resource_id, object_id)
    parsed = parse_vault_resource_id(vault_resource_id)
    if bad is not None or parsed is None:  # parsed is None only when bad says so
        return [bad] if bad is not None else []
    oid = str(object_id).strip()
    sub = str(subscription_id or "").strip() or parsed[0]
    if PermissionModel.parse(model) is PermissionModel.ACCESS_POLICY:
        return _grant_policy(credential, sub, parsed, oid, retries, timeout)
    return _grant_role(credential, sub, vault_resource_id, oid, role, retries, timeout)


def _grant_role(
    credential: TokenCredential,
    sub: str,
    scope: str,
    oid: str,
    role: str,
    retries: int,
    timeout: float,
) -> list[Finding]:
    subject = f"{role_name(role)} for {oid}"
    try:
        # azure.mgmt.* is heavy and only needed when a grant is made
        from azure.mgmt.authorization import AuthorizationManagementClient
        from azure.mgmt.authorization.models import RoleAssignmentCreateParameters

        client = AuthorizationManagementClient(
            credential, sub, **transport_kwargs(retries, timeout)
        )
        guid = role_id(role)
        if guid is None:
            wanted = str(role).replace("'", "''")
            match = next(
                iter(client.role_definitions.list(scope, filter=f"roleName eq '{wanted}'")), None
            )
            if match is None:
                return [UNKNOWN_ROLE(str(role), f"no role named {role!r} at {scope}")]
            guid = str(match.name)
        definition = (
            f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
        )
        created = client.role_assignments.create(
            scope,
            str(uuid.uuid4()),
            RoleAssignmentCreateParameters(
                role_definition_id=definition,
                principal_id=oid,
                principal_type="ServicePrincipal",
            ),
        )
    except Exception as err:  # noqa: BLE001 - every failure becomes a finding
        return [_grant_failure(err, subject, scope, oid, policy=False)]
    return [
        GRANTED(
            subject,
            f"{role_name(role)} assigned to object id {oid} at {scope}",
            assignment_id=getattr(created, "id", None),
            scope=scope,
            object_id=oid,
            role=role_name(role),
        )
    ]


def _grant_policy(
    credential: TokenCredential,
    sub: str,
    parsed: tuple[str, str, str],
    oid: str,
    retries: int,
    timeout: float,
) -> list[Finding]:
    _, group, vault = parsed
    subject = f"access policy for {oid}"
    scope = (
        f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{vault}"
    )
    try:
        # azure.mgmt.* is heavy and only needed when a grant is made
        from azure.mgmt.keyvault import KeyVaultManagementClient
        from azure.mgmt.keyvault.models import (
            AccessPolicyEntry,
            Permissions,
            VaultAccessPolicyParameters,
            VaultAccessPolicyProperties,
        )

        client = KeyVaultManagementClient(credential, sub, **transport_kwargs(retries, timeout))
        tenant = client.vaults.get(group, vault).properties.tenant_id
        client.vaults.update_access_policy(
            group,
            vault,
            "add",
            VaultAccessPolicyParameters(
                properties=VaultAccessPolicyProperties(
                    access_policies=[
                        AccessPolicyEntry(
                            tenant_id=tenant,
                            object_id=oid,
                            permissions=Permissions(secrets=list(POLICY_PERMISSIONS)),
                        )
                    ]
                )
            ),
        )
    except Exception as err:  # noqa: BLE001 - every failure becomes a finding
        return [_grant_failure(err, subject, scope, oid, policy=True)]
    return [
        POLICY_SET(
            subject,
            f"secret {', '.join(POLICY_PERMISSIONS)} for object id {oid} on vault {vault}",
            scope=scope,
            object_id=oid,
        )
    ]


def _grant_failure(
    err: BaseException, subject: str, scope: str, oid: str, *, policy: bool
) -> Finding:
    code, message = arm_error(err)
    data = {"scope": scope, "object_id": oid, "arm_code": code or type(err).__name__}
    if code == "AuthorizationFailed":
        who = POLICY_EDITORS if policy else GRANTORS
        return NOT_ALLOWED_TO_GRANT(
            subject,
            f"{message} — ask someone with {', '.join(who)} on {scope}",
            may_grant=list(who),
            **data,
        )
    if code == "PrincipalNotFound":
        return PRINCIPAL_NOT_FOUND(
            subject, f"{oid} is not a service principal object id in this tenant", **data
        )
    if code == "RoleAssignmentExists":
        return ALREADY_GRANTED(subject, f"already assigned at {scope}", **data)
    if code == "RoleDefinitionDoesNotExist":
        return UNKNOWN_ROLE(subject, message, **data)
    if not code:  # network, TLS and sign-in problems read the same here as anywhere
        return diagnose(err, subject=f"ARM: {subject}")
    return GRANT_FAILED(subject, f"{code}: {message}", **data)
