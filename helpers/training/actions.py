"""The exercise vocabulary: named actions (setup, solve, reset) and checks, each once.

An exercise file says ``{assign_role: {role: Key Vault Contributor, to: backend}}``; the
function of that name here does it against the class's sandbox, in the trainee's slice only.
Actions return nothing; checks return the findings that make them fail (none: passed).

Principals (``to:``/``as:``): ``backend`` (the trainee's Airflow identity), ``operator`` (the
trainee's operator) and ``app`` (the exercise's own app, when it declares ``app:``). Files
(``file:``, ``dir:``) are relative to the trainee's work directory for the exercise; their
``text`` may use ``${vault_url}``, ``${tenant_id}``, ``${client_id}`` (the backend's),
``${app_client_id}``, ``${app_secret}`` and ``${app_expired_secret}``.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.identity import CredentialUnavailableError, WorkloadIdentityCredential

from helpers.backend_config import lint_backend_kwargs, lint_dags, read_backend_kwargs
from helpers.backend_config.names import secret_name
from helpers.findings import Finding, Severity
from helpers.findings.codes.train import (
    KWARGS_IGNORED,
    NOT_LEAST_PRIVILEGE,
    READ_WRONG_VALUE,
    SECRET_ABSENT,
)
from helpers.vault.diagnose import diagnose

from .exercises import Exercise
from .scenario import CLUSTER, TENANT_ID, app_name, guid, vault_name
from .wire import Wire

__all__ = [
    "ACTIONS",
    "CHECKS",
    "Slice",
    "assign_role",
    "backend_reads",
    "config_lint_clean",
    "dags_lint_clean",
    "delete_secret",
    "firewall",
    "put_secret",
    "remove_file",
    "remove_role",
    "role_is_least_privilege",
    "run_actions",
    "run_checks",
    "secret_exists",
    "set_access_policy",
    "workload_reads",
    "write_file",
]

LEAST = "Key Vault Secrets User"


@dataclass
class Slice:
    """One trainee's part of one exercise: what every action and check works on."""

    wire: Wire
    trainee: str
    exercise: Exercise
    workdir: Path
    client_secrets: dict[str, str]

    @property
    def vault(self) -> str:
        return vault_name(self.trainee, self.exercise.id)

    @property
    def vault_id(self) -> str:
        return self.wire.vault_id(self.trainee, self.vault)

    def app(self, who: str) -> str:
        if who not in ("backend", "operator", "app") or (who == "app" and not self.exercise.app):
            raise ValueError(f"{self.exercise.id}: unknown principal {who!r}")
        return app_name(self.trainee, who, self.exercise.id)

    def object_id(self, who: str) -> str:
        return guid("sp", self.app(who))

    def client_id(self, who: str) -> str:
        return guid("app", self.app(who))

    def credential(self, who: str):
        name = self.app(who)
        return self.wire.cached_credential(guid("app", name), self.client_secrets[name])

    def path(self, relative: str) -> Path:
        target = (self.workdir / relative).resolve()
        if not target.is_relative_to(self.workdir.resolve()):
            raise ValueError(f"{self.exercise.id}: {relative!r} is outside the work directory")
        return target

    def template(self, text: str) -> str:
        values = {
            "vault_url": f"https://{self.vault}.vault.azure.net/",
            "tenant_id": TENANT_ID,
            "client_id": self.client_id("backend"),
            "namespace": self.trainee,
        }
        if self.exercise.app:
            own = self.app("app")
            values["app_client_id"] = guid("app", own)
            values["app_secret"] = self.client_secrets.get(own, "")
            values["app_expired_secret"] = self.client_secrets.get(own + "#expired", "")
        return Template(text).safe_substitute(values)


# -- actions -------------------------------------------------------------------------------
def assign_role(s: Slice, role: str, to: str = "backend") -> None:
    s.wire.assign_role(s.vault_id, s.object_id(to), role)


def remove_role(s: Slice, role: str, to: str = "backend") -> None:
    s.wire.remove_role(s.vault_id, s.object_id(to), role)


def set_access_policy(s: Slice, secrets: list[str], to: str = "backend") -> None:
    s.wire.set_access_policy(s.vault_id, s.object_id(to), [str(p) for p in secrets or []])


def firewall(s: Slice, state: str) -> None:
    s.wire.control.set_firewall(state, vault=s.vault)


def put_secret(s: Slice, name: str, value: str) -> None:
    s.wire.control.seed({name: s.template(str(value))}, vault=s.vault)


def delete_secret(s: Slice, name: str) -> None:
    client = s.wire.secrets(s.vault)
    with contextlib.suppress(ResourceNotFoundError):
        client.begin_delete_secret(name).wait()
    with contextlib.suppress(ResourceNotFoundError):
        client.purge_deleted_secret(name)


def write_file(s: Slice, file: str, text: str) -> None:
    target = s.path(file)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(s.template(text), encoding="utf-8")


def remove_file(s: Slice, file: str) -> None:
    target = s.path(file)
    if target.is_dir():
        shutil.rmtree(target)
    else:
        target.unlink(missing_ok=True)


ACTIONS: dict[str, Callable[..., None]] = {
    "assign_role": assign_role,
    "remove_role": remove_role,
    "set_access_policy": set_access_policy,
    "firewall": firewall,
    "put_secret": put_secret,
    "delete_secret": delete_secret,
    "write_file": write_file,
    "remove_file": remove_file,
}


# -- checks --------------------------------------------------------------------------------
def _env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.removeprefix("export ").partition("=")
        if sep and not line.lstrip().startswith("#"):
            values[key.strip()] = value.strip().strip("'\"")
    return values


def backend_reads(
    s: Slice,
    variable: str,
    kwargs_file: str | None = None,
    credentials_file: str | None = None,
    **who: str,
) -> list[Finding]:
    """Read a Variable as the backend does: the secret name from the prefix (kwargs_file's,
    else airflow-variables) and the rule, from vault_url (else the exercise's vault), as the
    trainee's identity (or that of credentials_file: AZURE_CLIENT_ID, AZURE_CLIENT_SECRET)."""
    subject = f"Variable {variable}"
    vault_url, prefix = f"https://{s.vault}.vault.azure.net/", "airflow-variables"
    if kwargs_file:
        text = s.path(kwargs_file).read_text(encoding="utf-8")
        kwargs, _, findings = read_backend_kwargs(text, subject=kwargs_file)
        if kwargs is None:
            return [KWARGS_IGNORED(kwargs_file, f"{kwargs_file}: Airflow ignores it"), *findings]
        vault_url = str(kwargs.get("vault_url") or "")
        prefix = kwargs.get("variables_prefix", prefix)
    name = secret_name(prefix, variable)
    if name is None:
        return [KWARGS_IGNORED(kwargs_file or "", "variables_prefix is null: lookups are off")]
    if credentials_file:
        values = _env_file(s.path(credentials_file))
        credential = s.wire.credential(
            values.get("AZURE_CLIENT_ID", ""), values.get("AZURE_CLIENT_SECRET", "")
        )
    else:
        credential = s.credential(who.get("as", "backend"))
    expected_name = secret_name("airflow-variables", variable) or ""
    try:
        host = vault_url.split("//", 1)[-1].split(".", 1)[0]
        value = s.wire.secrets(host, credential).get_secret(name).value
    except (AzureError, CredentialUnavailableError, ValueError) as err:
        return [diagnose(err, subject=subject, sensitive=list(s.client_secrets.values()))]
    try:
        expected = s.wire.secrets(s.vault).get_secret(expected_name).value
    except ResourceNotFoundError:
        expected = None
    if value != expected:
        return [READ_WRONG_VALUE(subject, f"read {name} from {vault_url}, not {expected_name}")]
    return []


def workload_reads(s: Slice, variable: str, file: str) -> list[Finding]:
    """Read a Variable as a pod with workload identity: the service-account token the
    cluster projects for the file's POD_NAMESPACE / POD_SERVICE_ACCOUNT, exchanged by
    WorkloadIdentityCredential for the file's AZURE_CLIENT_ID."""
    values = _env_file(s.path(file))
    token = s.wire.control.call(
        "POST",
        "/service-account-token",
        {
            "cluster": CLUSTER,
            "namespace": values.get("POD_NAMESPACE", ""),
            "service_account": values.get("POD_SERVICE_ACCOUNT", ""),
        },
    )["token"]
    token_file = s.path(".azure-identity-token")
    token_file.write_text(token, encoding="utf-8")
    credential = WorkloadIdentityCredential(
        tenant_id=TENANT_ID,
        client_id=values.get("AZURE_CLIENT_ID", ""),
        token_file_path=str(token_file),
        **s.wire.transport,
    )
    subject = f"Variable {variable}"
    try:
        value = (
            s.wire.secrets(s.vault, credential)
            .get_secret(secret_name("airflow-variables", variable) or "")
            .value
        )
    except (AzureError, CredentialUnavailableError, ValueError) as err:
        return [diagnose(err, subject=subject, sensitive=[token])]
    expected = (
        s.wire.secrets(s.vault).get_secret(secret_name("airflow-variables", variable) or "").value
    )
    return [] if value == expected else [READ_WRONG_VALUE(subject, "another value")]


def config_lint_clean(s: Slice, file: str) -> list[Finding]:
    text = s.path(file).read_text(encoding="utf-8")
    _, findings = lint_backend_kwargs(text, subject=file)
    return [f for f in findings if f.severity is Severity.ERROR]


def dags_lint_clean(s: Slice, dir: str) -> list[Finding]:  # noqa: A002 - the YAML's word
    if not s.path(dir).is_dir():
        raise FileNotFoundError(2, "no such folder", str(s.path(dir)))
    return [f for f in lint_dags(s.path(dir), use_cache=True) if f.severity is Severity.ERROR]


def secret_exists(s: Slice, name: str) -> list[Finding]:
    try:
        secret = s.wire.secrets(s.vault).get_secret(name)
    except ResourceNotFoundError:
        return [SECRET_ABSENT(name, f"no secret {name} in {s.vault}")]
    if secret.properties.enabled is False:
        return [SECRET_ABSENT(name, f"{name} is disabled in {s.vault}")]
    return []


def role_is_least_privilege(s: Slice, to: str = "backend") -> list[Finding]:
    if s.exercise.permission_model == "access_policy":
        held = sorted(set(s.wire.access_policy(s.vault_id, s.object_id(to))) - {"get", "list"})
    else:
        held = sorted({r for _, r in s.wire.roles_at(s.vault_id, s.object_id(to))} - {LEAST})
    if held:
        return [
            NOT_LEAST_PRIVILEGE(s.app(to), f"{s.app(to)} also holds {', '.join(held)} on {s.vault}")
        ]
    return []


CHECKS: dict[str, Callable[..., list[Finding]]] = {
    "backend_reads": backend_reads,
    "workload_reads": workload_reads,
    "config_lint_clean": config_lint_clean,
    "dags_lint_clean": dags_lint_clean,
    "secret_exists": secret_exists,
    "role_is_least_privilege": role_is_least_privilege,
}


def run_actions(s: Slice, steps: list[dict[str, Any]]) -> None:
    for step in steps:
        for name, args in step.items():
            ACTIONS[name](s, **args)


def run_checks(s: Slice) -> list[Finding]:
    """The findings of the first failing check (the checks are in teaching order)."""
    for step in s.exercise.check:
        for name, args in step.items():
            findings = CHECKS[name](s, **args)
            if findings:
                return findings
    return []
