"""The one place that builds a credential: the backend's identity and the operator's.

* :func:`backend_credential` — how the Airflow backend signs in, from the settings: client
  secret (the VALUE read from the variable the settings name), managed identity or workload
  identity. Returns a :class:`CredentialPlan` (an identity key and a factory) or the finding
  that says why there is none.
* :class:`CredentialPool` — one credential per identity, shared across probes.
* :func:`operator_credential` — who makes grants: an explicit choice (``signed-in``,
  ``az-cli``, ``interactive``, ``sandbox-admin``) or a named environment prefix (``OPERATOR`` reads
  ``OPERATOR_TENANT_ID``, ``OPERATOR_CLIENT_ID``, ``OPERATOR_CLIENT_SECRET``). Never
  "whatever AZURE_* holds" by default: that is the backend's identity.
* :func:`identify` — the claims (tid, appid, oid) of any credential's token.

Secret values never leave this module except inside the credential objects.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.identity import (
    AzureCliCredential,
    ClientSecretCredential,
    DefaultAzureCredential,
    InteractiveBrowserCredential,
    ManagedIdentityCredential,
    WorkloadIdentityCredential,
)

from helpers.backend_config.identity import identity_of, kind_of
from helpers.common.envscope import scoped_environ
from helpers.common.facts import SANDBOX_STATE_VAR
from helpers.common.redact import fingerprint
from helpers.findings import Finding
from helpers.findings.codes.auth import (
    CREDENTIAL_SETTINGS_MISSING,
    FEDERATED_TOKEN_FILE_UNREADABLE,
)
from helpers.findings.codes.role import OPERATOR_UNKNOWN
from helpers.findings.codes.set import SECRET_ENV_NOT_SET
from helpers.sandbox import SandboxClient, SandboxNotRunning, default_state_dir
from helpers.settings import Credential, Settings

__all__ = [
    "ARM_SCOPE",
    "AZURE_VARS",
    "ENV_LOCK",
    "NETWORK_VARS",
    "OPERATOR_CHOICES",
    "OPERATOR_LABELS",
    "VAULT_SCOPE",
    "CredentialPlan",
    "CredentialPool",
    "Operator",
    "backend_credential",
    "decode_claims",
    "environment_credential",
    "identify",
    "locked_environ",
    "operator_credential",
    "operator_from_environ",
    "token_file_problem",
    "transport_kwargs",
]

VAULT_SCOPE = "https://vault.azure.net/.default"
ARM_SCOPE = "https://management.azure.com/.default"
# Variables that decide how the SDKs reach Azure, and which identity they sign in as.
NETWORK_VARS = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
)
AZURE_VARS = (
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "AZURE_TOKEN_CREDENTIALS",
    "AZURE_USERNAME",
    "AZURE_PASSWORD",
)
# One caller at a time may change os.environ (the SDKs read proxy and CA settings from it).
ENV_LOCK = threading.RLock()
# The operators a name chooses (no secret of ours needed), and how messages call each.
OPERATOR_LABELS = {
    "signed-in": "your own Azure sign-in",
    "az-cli": "your az CLI login",
    "interactive": "an interactive browser sign-in",
    "sandbox-admin": "the sandbox's admin principal",
}
OPERATOR_CHOICES = tuple(OPERATOR_LABELS)
OPERATOR_HOW = (
    "name the operator: --operator signed-in (your own sign-in: az login, managed identity; "
    "never AZURE_*), --operator az-cli, --operator interactive, --operator sandbox-admin (the "
    "sandbox), or --operator-env PREFIX (PREFIX_TENANT_ID, PREFIX_CLIENT_ID, "
    "PREFIX_CLIENT_SECRET; --operator-env AZURE names this shell's AZURE_* explicitly)"
)


@contextlib.contextmanager
def locked_environ(updates: Mapping[str, str | None]) -> Iterator[None]:
    """Apply ``updates`` to os.environ under :data:`ENV_LOCK`.

    Updates that change nothing take no lock: a batch applies its network settings once and
    its probes then run concurrently.
    """
    changes = {k: v for k, v in updates.items() if os.environ.get(k) != v}
    if not changes:
        yield
        return
    with ENV_LOCK, scoped_environ(changes):
        yield


def transport_kwargs(retries: int, timeout: float) -> dict[str, Any]:
    """Bounded retries and timeouts for every SDK client and credential."""
    return {
        "retry_total": retries,
        "retry_backoff_factor": 0.2,
        "retry_backoff_max": 2,
        "connection_timeout": timeout,
        "read_timeout": timeout,
    }


def decode_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, decoded WITHOUT verification ({} when it is not a JWT)."""
    try:
        payload = str(token).split(".")[1]
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(raw)
    except (IndexError, ValueError, TypeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def identify(credential: Any, scope: str = ARM_SCOPE) -> dict[str, str]:
    """tid, appid and oid of the identity behind ``credential`` (raises what get_token raises)."""
    claims = decode_claims(credential.get_token(scope).token)
    return {
        "tid": str(claims.get("tid", "")),
        "appid": str(claims.get("appid") or claims.get("azp") or ""),
        "oid": str(claims.get("oid", "")),
    }


# -- the backend's identity --------------------------------------------------------------------
@dataclass
class CredentialPlan:
    """An identity (``key``: kind, tenant, client id, the secret's fingerprint — never the
    secret) and how to build its credential. ``secret`` is kept only to scrub messages."""

    key: tuple[str, ...]
    build: Callable[[], Any]
    secret: str = ""


def backend_credential(
    settings: Settings, environ: Mapping[str, str], *, retries: int = 1, timeout: float = 10.0
) -> CredentialPlan | Finding:
    """How the backend described by ``settings`` signs in, or the finding saying why it cannot."""
    s = settings
    transport = transport_kwargs(retries, timeout)
    kind = kind_of(s)
    identity, identity_tenant = identity_of(s)
    if kind is Credential.MANAGED_IDENTITY:
        client_id = identity or None  # None: the host's system-assigned identity
        # azure-identity retries IMDS for long (its own policy: 404/410/429/5xx, backoff):
        # one attempt per request timeout, so an unreachable endpoint is reported in time.
        bounded = {**transport, "retry_total": 0}
        return CredentialPlan(
            ("managed_identity", client_id or ""),
            lambda: ManagedIdentityCredential(client_id=client_id, **bounded),
        )
    workload = kind is Credential.WORKLOAD_IDENTITY
    tenant = identity_tenant if workload else s.tenant_id
    client = identity if workload else s.client_id
    missing = [n for n, v in (("tenant_id", tenant), ("client_id", client)) if not v]
    if missing:
        return CREDENTIAL_SETTINGS_MISSING("sign-in", f"missing: {', '.join(missing)}")
    if workload:
        token_file = s.federated_token_file or environ.get("AZURE_FEDERATED_TOKEN_FILE", "")
        problem = token_file_problem(token_file)
        if problem:
            return FEDERATED_TOKEN_FILE_UNREADABLE(
                "sign-in", problem, token_file=token_file, client_id=client
            )
        return CredentialPlan(
            ("workload_identity", tenant, client, token_file),
            lambda: WorkloadIdentityCredential(
                tenant_id=tenant, client_id=client, token_file_path=token_file, **transport
            ),
        )
    secret = environ.get(s.client_secret_env or "", "") if s.client_secret_env else ""
    if not secret:
        return SECRET_ENV_NOT_SET(
            "sign-in", f"environment variable {s.client_secret_env or '(none named)'} is empty"
        )
    return CredentialPlan(
        ("client_secret", s.tenant_id, s.client_id, fingerprint(secret)),
        lambda: ClientSecretCredential(s.tenant_id, s.client_id, secret, **transport),
        secret,
    )


def token_file_problem(path: str) -> str | None:
    """Why the workload identity token file at ``path`` cannot be read (None when it can);
    checked before any request, as WorkloadIdentityCredential reads it on every sign-in."""
    if not str(path or "").strip():
        return "AZURE_FEDERATED_TOKEN_FILE is not set (no projected service-account token)"
    where = f"AZURE_FEDERATED_TOKEN_FILE={path}"
    try:
        file = Path(path)
        if not file.exists():
            return f"{where}: no such file"
        if file.is_dir():
            return f"{where}: is a directory, not the token file"
        with file.open("rb") as handle:
            head = handle.read(64)
    except (OSError, ValueError) as err:
        return f"{where}: cannot be read ({getattr(err, 'strerror', None) or err})"
    if not head.strip():
        return f"{where}: the file is empty"
    return None


class CredentialPool:
    """Credentials shared across probes, one per identity, so each identity signs in once.

    Keyed by :attr:`CredentialPlan.key` (never the secret). Thread-safe; the Azure
    credentials themselves cache tokens per instance.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[str, ...], Any] = {}

    def get(self, key: tuple[str, ...], build: Any) -> Any:
        with self._lock:
            if key not in self._items:
                self._items[key] = build()
            return self._items[key]

    def __len__(self) -> int:
        return len(self._items)


# -- the operator's identity -------------------------------------------------------------------
@dataclass
class Operator:
    """Who makes a grant: a credential and how it was chosen (for messages)."""

    credential: Any
    label: str


def environment_credential() -> Any:
    """The credential this process's environment configures (``AZURE_*``, managed identity,
    az CLI …), for reads that are explicitly "as this shell" such as ``names reverse``."""
    return DefaultAzureCredential()


def operator_from_environ(
    environ: Mapping[str, str], prefix: str = "AZURE", *, label: str | None = None
) -> Operator | Finding:
    """A client-secret operator from ``PREFIX_TENANT_ID``, ``PREFIX_CLIENT_ID`` and
    ``PREFIX_CLIENT_SECRET`` of ``environ`` (e.g. the sandbox's admin principal)."""
    prefix = str(prefix or "").strip().rstrip("_").upper()
    names = [f"{prefix}_{part}" for part in ("TENANT_ID", "CLIENT_ID", "CLIENT_SECRET")]
    missing = [n for n in names if not environ.get(n)]
    if not prefix or missing:
        unset = ", ".join(missing) or "no prefix"
        detail = f"--operator-env {prefix or '(empty)'}: {unset} not set"
        return OPERATOR_UNKNOWN("operator", f"{detail}; {OPERATOR_HOW}", missing=missing)
    tenant, client, secret = (environ[n] for n in names)
    return Operator(
        ClientSecretCredential(tenant, client, secret),
        label or f"client {client} from {prefix}_* variables",
    )


def operator_credential(
    choice: str | None = None,
    *,
    env_prefix: str | None = None,
    environ: Mapping[str, str] | None = None,
    control: SandboxClient | None = None,
    state_dir: str | os.PathLike[str] | None = None,
) -> Operator | Finding:
    """The operator named by ``choice`` (:data:`OPERATOR_CHOICES`) or ``env_prefix``.

    ``sandbox-admin`` is the sandbox's admin principal, asked of ``control`` or of the sandbox
    running with ``state_dir`` (default: AKV_SANDBOX_STATE, else the default state dir).
    With neither a choice nor a prefix, the answer is AKV-ROLE-015 naming what to pass: the
    backend's environment credential (AZURE_*) is never taken as the operator by default.
    """
    env = os.environ if environ is None else environ
    if env_prefix:
        return operator_from_environ(env, env_prefix)
    which = str(choice or "").strip().lower()
    label = OPERATOR_LABELS.get(which, "")
    if which == "signed-in":
        return Operator(DefaultAzureCredential(exclude_environment_credential=True), label)
    if which == "az-cli":
        return Operator(AzureCliCredential(), label)
    if which == "interactive":
        return Operator(InteractiveBrowserCredential(), label)
    if which == "sandbox-admin":
        try:
            if control is None:
                where = state_dir or env.get(SANDBOX_STATE_VAR) or default_state_dir()
                control = SandboxClient.from_state_dir(Path(where))
            admin = control.env("admin")
        except (SandboxNotRunning, RuntimeError, OSError) as err:
            return OPERATOR_UNKNOWN("operator", f"--operator sandbox-admin: {err}")
        return operator_from_environ(admin, "AZURE", label=label)
    detail = f"unknown operator {choice!r}" if which else "no operator named"
    return OPERATOR_UNKNOWN("operator", f"{detail}; {OPERATOR_HOW}")
