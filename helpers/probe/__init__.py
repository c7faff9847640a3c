"""Live probes: sign in, reach the vault, read the expected secrets, and say what is wrong.

:func:`probe` runs these steps against one environment, times each one and turns every
outcome into findings:

1. **sign-in** — a token for Key Vault from the configured credential (client secret read
   from the environment variable the settings name, managed identity or workload identity),
   with its claims decoded without verification: tenant, client id and the service
   principal's OBJECT id, which role assignments need;
2. **vault** — one unauthenticated request: DNS, proxy, TLS and the vault's challenge (which
   names the vault's tenant);
3. **secrets** — each expected variable and connection, read through the SDK's
   ``SecretClient`` and through the real ``AzureKeyVaultBackend`` (only fingerprints kept);
4. **roles** — through ARM when this identity can see the vault: the permission model and
   the roles held beyond Key Vault Secrets User.

:func:`diagnose` maps any exception from the Azure SDKs to a finding. Neither function
raises: an unexpected exception becomes AKV-SVC-003 with its type and a scrubbed message.
Secret values never leave this module; at most ``helpers.common.redact.fingerprint``.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from helpers.backend_config.names import Kind, check_name, is_valid_name, secret_name
from helpers.common.envscope import scoped_environ
from helpers.common.redact import fingerprint, scrub_text
from helpers.findings import Finding, Severity, has_errors, render_html, render_text
from helpers.findings.codes.auth import (
    CREDENTIAL_SETTINGS_MISSING,
    CREDENTIAL_UNAVAILABLE,
    SECRET_ENV_MISSING,
    SECRET_EXPIRED,
    SIGN_IN_FAILED,
    SIGNED_IN,
    TENANT_MISMATCH,
    TOKEN_REJECTED,
    UNKNOWN_APP,
    UNKNOWN_TENANT,
    WRONG_SECRET,
)
from helpers.findings.codes.net import (
    BAD_VAULT_URL,
    CONNECTION_FAILED,
    HOST_NOT_FOUND,
    NOT_A_VAULT,
    PROXY_FAILED,
    TIMED_OUT,
    TLS_FAILED,
    TLS_UNTRUSTED,
    VAULT_REACHABLE,
)
from helpers.findings.codes.perm import (
    BEYOND_LEAST_PRIVILEGE,
    FORBIDDEN,
    FORBIDDEN_BY_FIREWALL,
    FORBIDDEN_BY_POLICY,
    FORBIDDEN_BY_RBAC,
    LEAST_PRIVILEGE,
    ROLES_NOT_CHECKED,
)
from helpers.findings.codes.secret import (
    BACKEND_DISAGREES,
    CONNECTION_UNPARSEABLE,
    NOTHING_TO_READ,
    SECRET_DISABLED,
    SECRET_NOT_FOUND,
    SECRET_READ,
)
from helpers.findings.codes.svc import (
    BACKEND_UNAVAILABLE,
    SERVICE_ERROR,
    THROTTLED,
    UNEXPECTED,
)
from helpers.roles import (
    LEAST_PRIVILEGE_ROLE,
    PermissionModel,
    find_vault,
    roles_held,
)
from helpers.settings import GUID_RE as _GUID
from helpers.settings import Credential, Settings

__all__ = [
    "AUTHORIZED_CODES",
    "FORBIDDEN_CODES",
    "ProbeResult",
    "decode_claims",
    "diagnose",
    "probe",
]

VAULT_SCOPE = "https://vault.azure.net/.default"
DEFAULT_TIMEOUT = 10.0
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
# One probe at a time may change os.environ (the SDKs read proxy and CA settings from it).
_ENV_LOCK = threading.RLock()


# -- catalogue ---------------------------------------------------------------------------

FORBIDDEN_CODES = frozenset({FORBIDDEN_BY_RBAC.code, FORBIDDEN_BY_POLICY.code})
# A read that got past the vault's authorization (a missing or disabled secret included).
AUTHORIZED_CODES = frozenset({SECRET_READ.code, SECRET_NOT_FOUND.code, SECRET_DISABLED.code})
_STOPS_READS = frozenset(
    {
        c.code
        for c in (
            TLS_UNTRUSTED,
            HOST_NOT_FOUND,
            PROXY_FAILED,
            CONNECTION_FAILED,
            TIMED_OUT,
            TLS_FAILED,
            FORBIDDEN_BY_FIREWALL,
            THROTTLED,
            SERVICE_ERROR,
            TENANT_MISMATCH,
            TOKEN_REJECTED,
            SIGN_IN_FAILED,
            UNEXPECTED,
        )
    }
)


# -- the result ----------------------------------------------------------------------------
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


# -- token claims --------------------------------------------------------------------------
def decode_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, decoded WITHOUT verification ({} when it is not a JWT)."""
    try:
        payload = str(token).split(".")[1]
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(raw)
    except (IndexError, ValueError, TypeError):
        return {}
    return claims if isinstance(claims, dict) else {}


# -- diagnosis -----------------------------------------------------------------------------
def _scrub(text: str, sensitive: Iterable[str] = (), limit: int = 400) -> str:
    """One line for a finding's detail: :func:`helpers.common.redact.scrub_text`, folded."""
    folded = " ".join(scrub_text(text, sensitive, limit=sys.maxsize).split())
    return folded if len(folded) <= limit else folded[: limit - 1] + "…"


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo and len(seen) < 12:
        current = todo.pop(0)
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        todo += [
            getattr(current, "inner_exception", None),
            current.__cause__,
            current.__context__,
            *[a for a in getattr(current, "args", ()) if isinstance(a, BaseException)],
        ]
    return seen


def _response_error(error: BaseException) -> tuple[int | None, str, str, str, Any]:
    """(status, code, inner code, message, headers) of an azure-core HttpResponseError."""
    response = getattr(error, "response", None)
    status = getattr(error, "status_code", None) or getattr(response, "status_code", None)
    code = inner = message = ""
    try:
        body = response.json() if response is not None else None
    except Exception:  # noqa: BLE001 - not JSON: no codes
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        code = str(err.get("code") or "")
        message = str(err.get("message") or "")
        inner = str((err.get("innererror") or {}).get("code") or "")
    if not code:
        odata = getattr(error, "error", None)
        code = str(getattr(odata, "code", "") or "")
        message = message or str(getattr(odata, "message", "") or "")
    headers = getattr(response, "headers", None) or {}
    return status, code, inner, message, headers


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


def diagnose(
    error: BaseException,
    *,
    subject: str = "",
    settings: Settings | None = None,
    secret: str | None = None,
    sensitive: Iterable[str] = (),
) -> Finding:
    """The finding for an exception raised by azure-identity, azure-core or the SDKs."""
    try:
        return _diagnose(error, subject, settings, secret, list(sensitive))
    except Exception as err:  # noqa: BLE001 - diagnosis itself must never raise
        return UNEXPECTED(
            subject, f"{type(error).__name__} (diagnosis failed: {type(err).__name__})"
        )


def _diagnose(
    error: BaseException,
    subject: str,
    settings: Settings | None,
    secret: str | None,
    sensitive: list[str],
) -> Finding:
    chain = _chain(error)
    types = {type(e).__name__ for e in chain}
    text = " | ".join(str(e) for e in chain)
    short = _scrub(str(error), sensitive)
    data: dict[str, Any] = {"exception": type(error).__name__}
    tenant = settings.tenant_id if settings else ""

    status, err_code, inner, message, headers = _response_error(error)
    # No HTTP answer: a transport problem (azure-identity wraps them in
    # ClientAuthenticationError, so they are looked for before the AADSTS codes).
    network = _network_finding(subject, text, types, short, data) if status is None else None
    if network is not None:
        return network

    # Entra ID
    aadsts = re.search(r"AADSTS(\d+)", text)
    code = aadsts.group(1) if aadsts else ""
    if code:
        data["aadsts"] = f"AADSTS{code}"
    if code == "7000215":
        return WRONG_SECRET(subject, "AADSTS7000215: invalid client secret", **data)
    sentence = re.search(r"AADSTS\d+:[^.]*\.", text)
    entra = _scrub(sentence.group(0), sensitive) if sentence else short
    if code == "7000222":
        return SECRET_EXPIRED(subject, entra, **data)
    if code == "700016":
        return UNKNOWN_APP(subject, entra, **data)
    if code == "90002" or "Unable to get authority configuration" in text:
        which = re.search(r"authority configuration for (\S+)", text)
        where = which.group(1).rstrip(".") if which else f"tenant {tenant!r}"
        return UNKNOWN_TENANT(subject, f"{where} is unknown to Entra ID (AADSTS90002)", **data)
    mismatch = re.search(r"not configured to acquire tokens for tenant (\S+?)\.?\s", text + " ")
    if mismatch:
        wanted = mismatch.group(1).rstrip(".")
        detail = (
            f"the vault's challenge names tenant {wanted}; the credential's tenant is {tenant!r}"
        )
        if tenant and not _GUID.match(tenant):
            detail += f" (a domain name: use the GUID {wanted} instead)"
        return TENANT_MISMATCH(subject, detail, vault_tenant=wanted, **data)
    if code == "50196" or "HTTP Error: 429" in text:
        return THROTTLED(subject, f"Entra ID: {short}", **data)
    entra_5xx = re.search(r"HTTP Error: (5\d\d)", text)
    if entra_5xx:
        return SERVICE_ERROR(subject, f"Entra ID answered {entra_5xx.group(1)}", **data)
    if "CredentialUnavailableError" in types or (
        "WorkloadIdentityCredential" in text and "unavailable" in text
    ):
        return CREDENTIAL_UNAVAILABLE(subject, short, **data)
    if code:
        return SIGN_IN_FAILED(subject, entra, **data)

    # Key Vault / ARM answers
    if status is not None:
        data.update(status=status, code=err_code, innererror=inner)
    if status == 401:
        return TOKEN_REJECTED(subject, _scrub(message or short, sensitive), **data)
    if status == 403:
        return _forbidden(subject, inner or err_code, message, secret, sensitive, data)
    if status == 404:
        if secret:
            return SECRET_NOT_FOUND(subject, _not_found_detail(secret, settings), **data)
        return UNEXPECTED(subject, f"404 {err_code}: {_scrub(message, sensitive)}", **data)
    if status == 429:
        retry_after = headers.get("Retry-After") if hasattr(headers, "get") else None
        data["retry_after"] = retry_after
        after = f"; Retry-After: {retry_after} s" if retry_after is not None else ""
        return THROTTLED(subject, f"429 {err_code or 'Throttled'} after the retries{after}", **data)
    if status is not None and 500 <= status <= 599:
        return SERVICE_ERROR(subject, f"HTTP {status} {err_code}".strip(), **data)
    if "ClientAuthenticationError" in types:
        return SIGN_IN_FAILED(subject, short, **data)
    if "CredentialUnavailableError" in types:
        return CREDENTIAL_UNAVAILABLE(subject, short, **data)
    if types & {"ServiceRequestError", "ServiceResponseError", "ConnectionError"}:
        return CONNECTION_FAILED(subject, short, **data)
    if status is not None:
        return UNEXPECTED(
            subject, f"HTTP {status} {err_code}: {_scrub(message, sensitive)}", **data
        )
    return UNEXPECTED(subject, f"{type(error).__name__}: {short}", **data)


def _network_finding(
    subject: str, text: str, types: set[str], short: str, data: dict[str, Any]
) -> Finding | None:
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return TLS_UNTRUSTED(subject, short, **data)
    tunnel = re.search(r"Tunnel connection failed: (\d{3})", text)
    if tunnel and tunnel.group(1) in ("502", "503", "504"):
        return HOST_NOT_FOUND(
            subject, f"the proxy could not reach the host (HTTP {tunnel.group(1)}): {short}", **data
        )
    if tunnel or "Unable to connect to proxy" in text or "ProxyError" in types:
        return PROXY_FAILED(subject, short, **data)
    if "NameResolutionError" in types or re.search(
        r"Failed to resolve|Name or service not known|getaddrinfo failed|"
        r"nodename nor servname|Temporary failure in name resolution|No address associated",
        text,
    ):
        return HOST_NOT_FOUND(subject, short, **data)
    if "SSLError" in types or "[SSL" in text:
        return TLS_FAILED(subject, short, **data)
    if types & {
        "ServiceRequestTimeoutError",
        "ServiceResponseTimeoutError",
        "ReadTimeout",
        "ConnectTimeout",
        "TimeoutError",
        "ReadTimeoutError",
        "ConnectTimeoutError",
    } or (re.search(r"timed out|Timeout", text)):
        return TIMED_OUT(subject, short, **data)
    if re.search(
        r"Connection refused|Connection reset|Connection aborted|RemoteDisconnected", text
    ):
        return CONNECTION_FAILED(subject, short, **data)
    return None


def _not_found_detail(secret: str, settings: Settings | None) -> str:
    where = f" in {_host(settings.vault_url)}" if settings and settings.vault_url else ""
    return f"Airflow looks up the secret named exactly {secret!r}; it does not exist{where}"


def _forbidden(subject, inner, message, secret, sensitive, data) -> Finding:
    oid = re.search(r"oid=([0-9a-fA-F-]{36})", message)
    who = f"object id {oid.group(1)}" if oid else "this identity"
    if oid:
        data["object_id"] = oid.group(1)
    target = f"secret {secret!r}" if secret else "the vault"
    if inner == "ForbiddenByRbac":
        action = re.search(r"Action: '([^']+)'", message)
        data["action"] = action.group(1) if action else None
        return FORBIDDEN_BY_RBAC(
            subject,
            f"no role assignment lets {who} read {target}; grant {LEAST_PRIVILEGE_ROLE} at the "
            "vault's scope (not Contributor); a grant made minutes ago may still be propagating",
            model=PermissionModel.RBAC.value,
            **data,
        )
    if inner in ("ForbiddenByPolicy", "AccessDenied"):
        perm = re.search(r"does not have secrets (\w+) permission", message)
        data["permission"] = perm.group(1) if perm else "get"
        return FORBIDDEN_BY_POLICY(
            subject,
            f"no access policy gives {who} secret '{data['permission']}' on {target} "
            f"({inner}); add an access policy with get (and list)",
            model=PermissionModel.ACCESS_POLICY.value,
            **data,
        )
    if inner == "ForbiddenByFirewall":
        address = re.search(r"Client address: ([^\s\\]+)", message)
        data["client_address"] = address.group(1) if address else None
        where = f" from {address.group(1)}" if address else ""
        return FORBIDDEN_BY_FIREWALL(
            subject, f"requests{where} are denied by the vault's network rules", **data
        )
    if inner == "SecretDisabled":
        return SECRET_DISABLED(subject, f"{target} is disabled", **data)
    return FORBIDDEN(subject, f"403 {inner}: {_scrub(message, sensitive)}", **data)


# -- environment ---------------------------------------------------------------------------
@contextlib.contextmanager
def _scoped_environ(updates: Mapping[str, str | None]) -> Iterator[None]:
    """Apply ``updates`` to os.environ under a lock (probes that change it run one at a time).

    Updates that change nothing take no lock: a batch applies its network settings once and
    its probes then run concurrently.
    """
    changes = {k: v for k, v in updates.items() if os.environ.get(k) != v}
    if not changes:
        yield
        return
    with _ENV_LOCK, scoped_environ(changes):
        yield


class CredentialPool:
    """Credentials shared across probes, one per identity, so each identity signs in once.

    Keyed by credential kind, tenant, client id and the secret's fingerprint (never the
    secret). Thread-safe; the Azure credentials themselves cache tokens per instance.
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


def _load_backend_class() -> type:
    """AzureKeyVaultBackend; a first airflow import gets a scratch AIRFLOW_HOME."""
    if "airflow" in sys.modules:
        from airflow.providers.microsoft.azure.secrets.key_vault import AzureKeyVaultBackend

        return AzureKeyVaultBackend
    scratch = tempfile.mkdtemp(prefix="akv-probe-airflow-")
    # Airflow keeps using its home for the life of the process: remove it at exit.
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    with _scoped_environ({"AIRFLOW_HOME": scratch, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}):
        from airflow.providers.microsoft.azure.secrets.key_vault import AzureKeyVaultBackend

    return AzureKeyVaultBackend


# -- the probe -------------------------------------------------------------------------------
def probe(
    settings: Settings,
    *,
    environ: Mapping[str, str] | None = None,
    through_backend: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = 1,
    subscription_id: str | None = None,
    check_roles: bool = True,
    credentials: CredentialPool | None = None,
) -> ProbeResult:
    """Probe one environment live; never raises.

    ``environ`` is the environment to probe with (proxy, CA bundle, AZURE_*, the variable
    named by ``settings.client_secret_env``); it is applied to os.environ for the duration of
    the probe (under a lock) because the SDKs read proxy and CA settings from there. Default:
    the process environment. ``timeout`` bounds each HTTP request, ``retries`` the SDK retries
    (kept small so that a broken environment fails fast). ``subscription_id`` (default
    AZURE_SUBSCRIPTION_ID) enables the ARM checks: permission model and roles beyond need.
    ``credentials`` (a batch's :class:`CredentialPool`) shares one credential, and so one
    token, per identity across probes; the Airflow backend then reads with that credential
    too instead of signing in again from AZURE_* variables, so no AZURE_* change is needed.
    """
    result = ProbeResult(
        name=str(getattr(settings, "name", "") or "default"),
        vault_url=str(getattr(settings, "vault_url", "") or ""),
    )
    run = _Run(settings, result, environ, timeout, retries, subscription_id)
    run.pool = credentials
    try:
        updates = None if environ is None else {k: environ.get(k) for k in NETWORK_VARS}
        with _scoped_environ(updates or {}):
            run.execute(through_backend=through_backend, check_roles=check_roles)
    except Exception as err:  # noqa: BLE001 - the probe reports, it never raises
        result.findings.append(
            UNEXPECTED("probe", f"{type(err).__name__}: {_scrub(str(err), run.sensitive)}")
        )
    finally:
        run.sensitive.clear()
        run.client_secret = ""
    return result


@dataclass
class _Target:
    kind: Kind
    key: str
    name: str
    subject: str
    sdk_fp: str | None = None  # fingerprint of the SDK read
    finding: Finding | None = None  # the SDK read's failure, if any
    backend_fp: str | None = None
    backend_finding: Finding | None = None
    parse_error: str | None = None
    sdk_seconds: float = 0.0
    backend_seconds: float | None = None


class _Run:
    def __init__(self, settings, result, environ, timeout, retries, subscription_id):
        self.settings: Settings = settings
        self.result: ProbeResult = result
        with _ENV_LOCK:  # not mid-way through another probe's temporary changes
            self.env: dict[str, str] = dict(os.environ if environ is None else environ)
        self.timeout = max(0.5, float(timeout))
        self.retries = max(0, int(retries))
        self.subscription_id = subscription_id or self.env.get("AZURE_SUBSCRIPTION_ID", "")
        self.sensitive: list[str] = []  # values to scrub from messages; cleared at the end
        self.credential: Any = None
        self.client_secret = ""
        self.token_ok = False
        self.skip_reads = False
        self.model = PermissionModel.UNKNOWN
        self.pool: CredentialPool | None = None

    # -- helpers
    def add(self, finding: Finding) -> None:
        self.result.findings.append(finding)

    @contextlib.contextmanager
    def timed(self, key: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.result.latencies[key] = time.perf_counter() - started

    def diagnose(self, err: BaseException, subject: str, secret: str | None = None) -> Finding:
        return diagnose(
            err, subject=subject, settings=self.settings, secret=secret, sensitive=self.sensitive
        )

    @property
    def transport_kwargs(self) -> dict[str, Any]:
        return {
            "retry_total": self.retries,
            "retry_backoff_factor": 0.2,
            "retry_backoff_max": 2,
            "connection_timeout": self.timeout,
            "read_timeout": self.timeout,
        }

    # -- steps
    def execute(self, *, through_backend: bool, check_roles: bool) -> None:
        vault_url = self.result.vault_url.strip()
        self.sign_in()
        if not self.reach(vault_url):
            return
        if self.token_ok and not self.skip_reads:
            targets = self.read_with_sdk(vault_url)
            if through_backend and targets:
                self.read_with_backend(targets)
            self.report_targets(targets)
        if check_roles and self.token_ok:
            self.check_roles(vault_url)
        self.result.permission_model = self.model.value

    def build_credential(self) -> Any:
        """The credential (shared per identity when the probe has a pool), or a Finding."""
        made = self._credential_factory()
        if isinstance(made, Finding):
            return made
        key, factory = made
        return self.pool.get(key, factory) if self.pool is not None else factory()

    def _credential_factory(self) -> Finding | tuple[tuple[str, ...], Callable[[], Any]]:
        """(identity key, how to build its credential), or why there is none."""
        s = self.settings
        kind = Credential(getattr(s.credential, "value", s.credential) or "client_secret")
        if kind is Credential.MANAGED_IDENTITY:
            from azure.identity import ManagedIdentityCredential

            client_id = s.managed_identity_client_id or None
            return ("managed_identity", client_id or ""), lambda: ManagedIdentityCredential(
                client_id=client_id, **self.transport_kwargs
            )
        workload = kind is Credential.WORKLOAD_IDENTITY
        tenant = _workload_tenant(s) if workload else s.tenant_id
        client = (s.managed_identity_client_id or s.client_id) if workload else s.client_id
        missing = [n for n, v in (("tenant_id", tenant), ("client_id", client)) if not v]
        if missing:
            return CREDENTIAL_SETTINGS_MISSING("sign-in", f"missing: {', '.join(missing)}")
        if workload:
            from azure.identity import WorkloadIdentityCredential

            token_file = self.env.get("AZURE_FEDERATED_TOKEN_FILE", "")
            if not token_file:
                return CREDENTIAL_UNAVAILABLE(
                    "sign-in", "AZURE_FEDERATED_TOKEN_FILE is not set (no projected token)"
                )
            return (
                "workload_identity",
                tenant,
                client,
                token_file,
            ), lambda: WorkloadIdentityCredential(
                tenant_id=tenant,
                client_id=client,
                token_file_path=token_file,
                **self.transport_kwargs,
            )
        from azure.identity import ClientSecretCredential

        secret = self.env.get(s.client_secret_env or "", "") if s.client_secret_env else ""
        if not secret:
            return SECRET_ENV_MISSING(
                "sign-in", f"environment variable {s.client_secret_env or '(none named)'} is empty"
            )
        self.sensitive.append(secret)
        self.client_secret = secret
        key = ("client_secret", s.tenant_id, s.client_id, fingerprint(secret))
        return key, lambda: ClientSecretCredential(
            s.tenant_id, s.client_id, secret, **self.transport_kwargs
        )

    def sign_in(self) -> None:
        with self.timed("token"):
            try:
                credential = self.build_credential()
                if isinstance(credential, Finding):
                    self.add(credential)
                    return
                token = credential.get_token(VAULT_SCOPE).token
            except Exception as err:  # noqa: BLE001 - every failure becomes a finding
                finding = self.diagnose(err, "sign-in")
                if finding.code == WRONG_SECRET.code and _GUID.match(self.client_secret):
                    finding = WRONG_SECRET(
                        "sign-in",
                        f"{finding.detail}; the configured value is GUID-shaped: that is the "
                        "Secret ID, not its Value",
                        **finding.data,
                    )
                self.add(finding)
                return
        claims = decode_claims(token)
        self.result.claims = {
            "tid": str(claims.get("tid", "")),
            "appid": str(claims.get("appid") or claims.get("azp") or ""),
            "oid": str(claims.get("oid", "")),
        }
        self.credential, self.token_ok = credential, True
        c = self.result.claims
        self.add(
            SIGNED_IN(
                "sign-in",
                f"tenant {c['tid']}, client id {c['appid']}, object id {c['oid']} "
                "(role assignments need the object id)",
                **c,
            )
        )

    def reach(self, vault_url: str) -> bool:
        parts = urlsplit(vault_url) if vault_url else None
        try:
            host = parts.hostname if parts else None
        except ValueError:
            host = None
        if not parts or parts.scheme != "https" or not host:
            self.add(BAD_VAULT_URL("vault_url", f"{vault_url!r} is not an https URL"))
            return False
        from azure.core import PipelineClient
        from azure.core.pipeline.policies import RetryPolicy
        from azure.core.rest import HttpRequest

        base = vault_url.rstrip("/")
        with self.timed("vault"):
            try:
                client = PipelineClient(base, policies=[RetryPolicy(retry_total=0)])
                with client:
                    response = client.send_request(
                        HttpRequest("GET", f"{base}/secrets?api-version=7.5&maxresults=1"),
                        connection_timeout=self.timeout,
                        read_timeout=self.timeout,
                    )
                    status = response.status_code
                    challenge = response.headers.get("WWW-Authenticate", "")
            except Exception as err:  # noqa: BLE001 - every failure becomes a finding
                self.add(self.diagnose(err, f"vault {host}"))
                return True
        found = re.search(r'authorization(?:_uri)?="https://[^/"]+/([^/"]+)', challenge)
        vault_tenant = found.group(1) if found else ""
        if status == 401 and challenge.lower().startswith("bearer"):
            self.add(
                VAULT_REACHABLE(f"vault {host}", f"HTTPS answered; vault tenant {vault_tenant}")
            )
        elif status == 429 or status >= 500:
            self.add(VAULT_REACHABLE(f"vault {host}", f"HTTPS answered {status} (service side)"))
        else:
            self.add(NOT_A_VAULT(f"vault {host}", f"HTTP {status} without a Bearer challenge"))
        token_tenant = self.result.claims.get("tid", "")
        if vault_tenant and token_tenant and vault_tenant.lower() != token_tenant.lower():
            self.add(
                TENANT_MISMATCH(
                    f"vault {host}",
                    f"the vault's tenant is {vault_tenant}; the credential signs in to "
                    f"{token_tenant}",
                    vault_tenant=vault_tenant,
                )
            )
            self.skip_reads = True
        return True

    def targets(self) -> list[_Target]:
        s = self.settings
        wanted = [(Kind.VARIABLE, k) for k in s.variables or []]
        wanted += [(Kind.CONNECTION, k) for k in s.connections or []]
        out = []
        for kind, key in wanted:
            prefix = s.variables_prefix if kind is Kind.VARIABLE else s.connections_prefix
            name = secret_name(prefix, str(key), s.sep)
            if name is None or not is_valid_name(name):
                for finding in check_name(kind, str(key), s):
                    if finding.severity in (Severity.ERROR, Severity.WARNING):
                        self.add(finding)
                continue
            out.append(_Target(kind, str(key), name, f"{kind.value} {key}"))
        if not wanted:
            self.add(NOTHING_TO_READ("secrets", "settings.variables and connections are empty"))
        return out

    def read_with_sdk(self, vault_url: str) -> list[_Target]:
        from azure.core.exceptions import ResourceNotFoundError
        from azure.keyvault.secrets import SecretClient

        targets = self.targets()
        client = SecretClient(vault_url, self.credential, **self.transport_kwargs)
        stopped: Finding | None = None
        for target in targets:
            if stopped is not None:
                target.finding = stopped
                continue
            started = time.perf_counter()
            try:
                value = client.get_secret(target.name).value
                self.sensitive.append(value or "")
                target.sdk_fp = fingerprint(value)
            except ResourceNotFoundError:
                target.finding = SECRET_NOT_FOUND(
                    target.subject,
                    _not_found_detail(target.name, self.settings),
                    secret_name=target.name,
                )
            except Exception as err:  # noqa: BLE001 - every failure becomes a finding
                target.finding = self.diagnose(err, target.subject, target.name)
                model = target.finding.data.get("model")
                if model:
                    self.model = PermissionModel(model)
                if target.finding.code in _STOPS_READS:
                    stopped = target.finding
            target.sdk_seconds = time.perf_counter() - started
            self.result.latencies[f"sdk:{target.name}"] = target.sdk_seconds
        return targets

    def backend_environ(self) -> dict[str, str | None]:
        s = self.settings
        kind = Credential(getattr(s.credential, "value", s.credential) or "client_secret")
        env: dict[str, str | None] = {k: self.env.get(k) for k in AZURE_VARS}
        if kind is Credential.CLIENT_SECRET:
            env.update(
                AZURE_TENANT_ID=s.tenant_id,
                AZURE_CLIENT_ID=s.client_id,
                AZURE_CLIENT_SECRET=self.env.get(s.client_secret_env or "") or None,
                AZURE_TOKEN_CREDENTIALS="environmentcredential",
            )
        elif kind is Credential.MANAGED_IDENTITY:
            env.update(
                AZURE_CLIENT_ID=s.managed_identity_client_id or None,
                AZURE_CLIENT_SECRET=None,
                AZURE_TOKEN_CREDENTIALS="managedidentitycredential",
            )
        else:
            env.update(
                AZURE_TENANT_ID=_workload_tenant(s),
                AZURE_CLIENT_ID=s.managed_identity_client_id or s.client_id,
                AZURE_CLIENT_SECRET=None,
                AZURE_TOKEN_CREDENTIALS="workloadidentitycredential",
            )
        return env

    def build_backend(self) -> Any:
        s = self.settings
        backend_class = _load_backend_class()
        kwargs: dict[str, Any] = {
            "connections_prefix": s.connections_prefix,
            "variables_prefix": s.variables_prefix,
            "config_prefix": s.config_prefix,
            "vault_url": s.vault_url,
            "sep": s.sep,
            **self.transport_kwargs,
        }
        if s.credential == Credential.WORKLOAD_IDENTITY:
            kwargs["managed_identity_client_id"] = s.managed_identity_client_id or s.client_id
            kwargs["workload_identity_tenant_id"] = _workload_tenant(s)
        return backend_class(**kwargs)

    def read_with_backend(self, targets: list[_Target]) -> None:
        eligible = [
            t
            for t in targets
            if t.sdk_fp is not None or (t.finding and t.finding.code == SECRET_NOT_FOUND.code)
        ]
        if not eligible:
            return
        with self.timed("backend:load"):
            try:
                backend = self.build_backend()
            except Exception as err:  # noqa: BLE001 - every failure becomes a finding
                detail = f"{type(err).__name__}: {_scrub(str(err), self.sensitive)}"
                self.add(BACKEND_UNAVAILABLE("AzureKeyVaultBackend", detail))
                return
        if self.pool is not None and self.credential is not None:
            # The provider builds its SecretClient lazily (a cached property): hand it one
            # with this identity's credential, as the backend's own kwargs would configure.
            from azure.keyvault.secrets import SecretClient

            backend.client = SecretClient(
                self.settings.vault_url, self.credential, **self.transport_kwargs
            )
            environ: dict[str, str | None] = {}
        else:
            environ = self.backend_environ()
        with _scoped_environ(environ):
            for target in eligible:
                started = time.perf_counter()
                try:
                    if target.kind is Kind.VARIABLE:
                        value = backend.get_variable(target.key)
                    else:
                        value = backend.get_conn_value(target.key)
                    target.backend_seconds = time.perf_counter() - started
                    target.backend_fp = None if value is None else fingerprint(value)
                    if value is not None:
                        self.sensitive.append(value)
                        target.parse_error = _parse_connection(backend, target, value)
                except Exception as err:  # noqa: BLE001 - every failure becomes a finding
                    target.backend_seconds = time.perf_counter() - started
                    target.backend_finding = self.diagnose(
                        err, f"{target.subject} (Airflow backend)", target.name
                    )
                self.result.latencies[f"backend:{target.name}"] = target.backend_seconds

    def report_targets(self, targets: list[_Target]) -> None:
        reported_stop = False
        for t in targets:
            if t.finding is not None:
                stop = t.finding.code in _STOPS_READS
                if stop and reported_stop:
                    continue
                reported_stop = reported_stop or stop
                skipped = sum(1 for o in targets if o is not t and o.finding is t.finding)
                if skipped:
                    t.finding = t.finding.spec(
                        t.finding.subject,
                        f"{t.finding.detail} ({skipped} further lookups skipped)",
                        **t.finding.data,
                    )
                self.add(t.finding)
                if t.backend_fp is not None:
                    self.add(
                        BACKEND_DISAGREES(
                            t.subject,
                            f"the SDK got {t.finding.code} for {t.name!r}; the backend read a "
                            "value",
                            secret_name=t.name,
                        )
                    )
                continue
            if t.backend_finding is not None:
                self.add(t.backend_finding)
                continue
            if t.backend_seconds is not None and t.backend_fp != t.sdk_fp:
                got = "nothing" if t.backend_fp is None else f"value {t.backend_fp}"
                self.add(
                    BACKEND_DISAGREES(
                        t.subject,
                        f"SDK read {t.sdk_fp} from {t.name!r}; backend read {got}",
                        secret_name=t.name,
                    )
                )
                continue
            if t.parse_error:
                self.add(
                    CONNECTION_UNPARSEABLE(
                        t.subject,
                        f"secret {t.name!r} ({t.sdk_fp}): {t.parse_error}",
                        secret_name=t.name,
                    )
                )
                continue
            via = "SDK and Airflow backend" if t.backend_seconds is not None else "SDK"
            timing = f"{t.sdk_seconds * 1000:.0f} ms"
            if t.backend_seconds is not None:
                timing += f" / {t.backend_seconds * 1000:.0f} ms"
            self.add(
                SECRET_READ(
                    t.subject,
                    f"secret {t.name!r}: {t.sdk_fp} (read through {via}, {timing})",
                    secret_name=t.name,
                    fingerprint=t.sdk_fp,
                )
            )

    def check_roles(self, vault_url: str) -> None:
        if not self.subscription_id:
            self.add(ROLES_NOT_CHECKED("roles", "no subscription id (set AZURE_SUBSCRIPTION_ID)"))
            return
        oid = self.result.claims.get("oid", "")
        kwargs = {"retries": self.retries, "timeout": self.timeout}
        with self.timed("arm"):
            info = find_vault(self.credential, self.subscription_id, vault_url, **kwargs)
            held = (
                roles_held(self.credential, self.subscription_id, info.resource_id, oid, **kwargs)
                if info.found and info.resource_id and oid
                else None
            )
        if info.status == "not_visible":
            self.add(
                LEAST_PRIVILEGE(
                    "roles",
                    f"this identity cannot see vault {info.name} through ARM: no management "
                    "role covers it (the backend needs none)",
                )
            )
            return
        if not info.found:
            detail = info.findings[0].detail if info.findings else "ARM did not answer"
            self.add(ROLES_NOT_CHECKED("roles", detail))
            return
        self.model = info.permission_model
        extra = [r for r in (held or []) if r != LEAST_PRIVILEGE_ROLE]
        policy = info.access_policies.get(oid.lower(), [])
        policy_extra = [p for p in policy if p not in ("get", "list")]
        scope = info.resource_id
        if extra or policy_extra:
            parts = []
            if extra:
                parts.append("roles " + ", ".join(extra))
            if policy_extra:
                parts.append("access-policy secret permissions " + ", ".join(policy_extra))
            note = ""
            if "Key Vault Contributor" in extra:
                note = "; Key Vault Contributor grants no access to secret values"
            self.add(
                BEYOND_LEAST_PRIVILEGE(
                    "roles",
                    f"{' and '.join(parts)} on {scope} ({self.model.value} vault){note}",
                    roles=extra,
                    policy_permissions=policy_extra,
                    model=self.model.value,
                )
            )
        elif held is None:
            self.add(ROLES_NOT_CHECKED("roles", f"role assignments on {scope} are not visible"))
        else:
            self.add(
                LEAST_PRIVILEGE(
                    "roles",
                    f"{', '.join(held) or 'no roles'} on {scope} ({self.model.value} vault)",
                )
            )


def _workload_tenant(settings: Settings) -> str:
    return getattr(settings, "workload_identity_tenant_id", "") or settings.tenant_id


def _parse_connection(backend: Any, target: _Target, value: str) -> str | None:
    """None when Airflow can build a Connection from the value, else the error TYPE only."""
    if target.kind is not Kind.CONNECTION:
        return None
    try:
        backend.deserialize_connection(target.key, value)
    except Exception as err:  # noqa: BLE001 - the message may quote the value: type only
        return f"{type(err).__name__} while parsing"
    return None
