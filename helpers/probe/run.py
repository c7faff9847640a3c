"""The live check of one environment: sign in, reach the vault, read, roles — as findings.

:func:`probe` runs these steps against one environment, times each one and turns every
outcome into findings:

1. **sign-in** — a token for Key Vault from the configured credential
   (:func:`helpers.vault.credentials.backend_credential`), with its claims decoded without
   verification: tenant, client id and the service principal's OBJECT id;
2. **vault** — one unauthenticated request: DNS, proxy, TLS and the vault's challenge (which
   names the vault's tenant);
3. **secrets** — each expected variable and connection, read through the SDK's
   ``SecretClient`` and through the real ``AzureKeyVaultBackend`` (only fingerprints kept).
   When the settings name none, read access itself is checked: a name that cannot exist is
   read, and Key Vault's 404 SecretNotFound proves the identity may read secrets (a missing
   permission answers 403 whether or not the secret exists) — no secret is assumed to exist;
4. **roles** — through ARM when this identity can see the vault: the permission model and
   :func:`helpers.roles.least_privilege`.

It never raises: an unexpected exception becomes AKV-SVC-003 with its type and a scrubbed
message. Secret values never leave this module; at most a fingerprint.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from azure.core import PipelineClient
from azure.core.exceptions import ResourceNotFoundError
from azure.core.pipeline.policies import RetryPolicy
from azure.core.rest import HttpRequest
from azure.keyvault.secrets import SecretClient

from helpers.backend_config.names import Kind, check_name, is_valid_name, secret_name
from helpers.common.redact import fingerprint
from helpers.findings import Finding, Severity
from helpers.findings.codes.auth import (
    SIGN_IN_FAILED,
    SIGNED_IN,
    TENANT_MISMATCH,
    TOKEN_REJECTED,
    WRONG_SECRET,
)
from helpers.findings.codes.net import (
    CONNECTION_FAILED,
    HOST_NOT_FOUND,
    NOT_A_VAULT,
    PROXY_FAILED,
    TIMED_OUT,
    TLS_FAILED,
    TLS_UNTRUSTED,
    VAULT_REACHABLE,
)
from helpers.findings.codes.perm import FORBIDDEN_BY_FIREWALL, ROLES_NOT_CHECKED
from helpers.findings.codes.secret import (
    BACKEND_DISAGREES,
    CONNECTION_UNPARSEABLE,
    NOTHING_TO_READ,
    SECRET_NOT_FOUND,
    SECRET_READ,
)
from helpers.findings.codes.set import VAULT_URL_MISSING, VAULT_URL_NOT_HTTPS
from helpers.findings.codes.svc import BACKEND_UNAVAILABLE, SERVICE_ERROR, THROTTLED, UNEXPECTED
from helpers.probe.backend import backend_environ, build_backend, parse_connection
from helpers.probe.result import ProbeResult
from helpers.roles import PermissionModel, find_vault, least_privilege, roles_held
from helpers.settings import GUID_RE as _GUID
from helpers.settings import Settings
from helpers.vault.credentials import (
    ENV_LOCK,
    NETWORK_VARS,
    VAULT_SCOPE,
    CredentialPool,
    backend_credential,
    decode_claims,
    locked_environ,
    transport_kwargs,
)
from helpers.vault.diagnose import diagnose, not_found_detail, scrub_detail

__all__ = ["ACCESS_CHECK_KEY", "DEFAULT_TIMEOUT", "STOPS_READS", "probe"]

DEFAULT_TIMEOUT = 10.0
# With nothing named to read, the probe reads ACCESS_CHECK_KEY-<random hex>: a name that no
# vault holds, so a 404 SecretNotFound shows that this identity may read secrets.
ACCESS_CHECK_KEY = "akv-runbook-access-check"
# Failures after which further reads of the same vault are skipped.
STOPS_READS = frozenset(
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
        with locked_environ(updates or {}):
            run.execute(through_backend=through_backend, check_roles=check_roles)
    except Exception as err:  # noqa: BLE001 - the probe reports, it never raises
        result.findings.append(
            UNEXPECTED("probe", f"{type(err).__name__}: {scrub_detail(str(err), run.sensitive)}")
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
    absent: bool = False  # the access check's name, certain not to exist
    via_backend: bool = True  # whether the Airflow backend can look the name up


class _Run:
    def __init__(self, settings, result, environ, timeout, retries, subscription_id):
        self.settings: Settings = settings
        self.result: ProbeResult = result
        with ENV_LOCK:  # not mid-way through another probe's temporary changes
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
        return transport_kwargs(self.retries, self.timeout)

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
        plan = backend_credential(
            self.settings, self.env, retries=self.retries, timeout=self.timeout
        )
        if isinstance(plan, Finding):
            return plan
        if plan.secret:
            self.sensitive.append(plan.secret)
            self.client_secret = plan.secret
        return self.pool.get(plan.key, plan.build) if self.pool is not None else plan.build()

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
        if not vault_url:
            self.add(VAULT_URL_MISSING("vault_url", "no vault URL to probe"))
            return False
        if not parts or parts.scheme != "https" or not host:
            self.add(VAULT_URL_NOT_HTTPS("vault_url", f"{vault_url!r} is not an https URL"))
            return False
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
            out.append(self.access_target())
        return out

    def access_target(self) -> _Target:
        """A name certain not to exist, read to prove read access when nothing is named: as a
        variable (or connection) through the configured prefix when that gives a valid name, so
        that the Airflow backend makes the same request; otherwise bare, through the SDK only."""
        s = self.settings
        key = f"{ACCESS_CHECK_KEY}-{secrets.token_hex(8)}"
        for kind, prefix in (
            (Kind.VARIABLE, s.variables_prefix),
            (Kind.CONNECTION, s.connections_prefix),
        ):
            name = None if prefix is None else secret_name(prefix, key, s.sep)
            if name is not None and is_valid_name(name):
                return _Target(kind, key, name, "read access", absent=True)
        return _Target(Kind.VARIABLE, key, key, "read access", absent=True, via_backend=False)

    def read_with_sdk(self, vault_url: str) -> list[_Target]:
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
                    not_found_detail(target.name, self.settings),
                    secret_name=target.name,
                )
            except Exception as err:  # noqa: BLE001 - every failure becomes a finding
                target.finding = self.diagnose(err, target.subject, target.name)
                model = target.finding.data.get("model")
                if model:
                    self.model = PermissionModel(model)
                if target.finding.code in STOPS_READS:
                    stopped = target.finding
            target.sdk_seconds = time.perf_counter() - started
            self.result.latencies[f"sdk:{target.name}"] = target.sdk_seconds
        return targets

    def read_with_backend(self, targets: list[_Target]) -> None:
        eligible = [
            t
            for t in targets
            if t.via_backend
            and (t.sdk_fp is not None or (t.finding and t.finding.code == SECRET_NOT_FOUND.code))
        ]
        if not eligible:
            return
        with self.timed("backend:load"):
            try:
                backend = build_backend(self.settings, self.transport_kwargs)
            except Exception as err:  # noqa: BLE001 - every failure becomes a finding
                detail = f"{type(err).__name__}: {scrub_detail(str(err), self.sensitive)}"
                self.add(BACKEND_UNAVAILABLE("AzureKeyVaultBackend", detail))
                return
        if self.pool is not None and self.credential is not None:
            # The provider builds its SecretClient lazily (a cached property): hand it one
            # with this identity's credential, as the backend's own kwargs would configure.
            backend.client = SecretClient(
                self.settings.vault_url, self.credential, **self.transport_kwargs
            )
            environ: dict[str, str | None] = {}
        else:
            environ = backend_environ(self.settings, self.env)
        with locked_environ(environ):
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
                        target.parse_error = parse_connection(
                            backend, target.kind, target.key, value
                        )
                except Exception as err:  # noqa: BLE001 - every failure becomes a finding
                    target.backend_seconds = time.perf_counter() - started
                    target.backend_finding = self.diagnose(
                        err, f"{target.subject} (Airflow backend)", target.name
                    )
                self.result.latencies[f"backend:{target.name}"] = target.backend_seconds

    def report_targets(self, targets: list[_Target]) -> None:
        reported_stop = False
        for t in targets:
            if t.absent:
                self.report_access(t)
                continue
            if t.finding is not None:
                stop = t.finding.code in STOPS_READS
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

    def report_access(self, t: _Target) -> None:
        """The access check's outcome: 404 (or, against the odds, a value) proves read access;
        anything else is the failure it is, with the context of the read added."""
        if t.finding is not None and t.finding.code != SECRET_NOT_FOUND.code:
            self.add(
                t.finding.spec(
                    t.finding.subject,
                    f"{t.finding.detail} (reading {t.name!r}, a name that does not exist, to "
                    "check read access; if access is granted per secret, name the variables "
                    "and connections to read)",
                    **t.finding.data,
                )
            )
            return
        if t.backend_finding is not None:
            self.add(t.backend_finding)
            return
        via = "the SDK and Airflow's backend" if t.backend_seconds is not None else "the SDK"
        self.add(
            NOTHING_TO_READ(
                "secrets",
                f"no variables or connections named: read access checked instead — {t.name!r}, "
                f"a name that does not exist, answered 404 SecretNotFound through {via} (a "
                "missing permission answers 403); name the variables and connections your DAGs "
                "use to check that they exist",
                secret_name=t.name,
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
            self.add(least_privilege(model=self.model, scope=f"vault {info.name}", visible=False))
            return
        if not info.found:
            detail = info.findings[0].detail if info.findings else "ARM did not answer"
            self.add(ROLES_NOT_CHECKED("roles", detail))
            return
        self.model = info.permission_model
        policy = info.access_policies.get(oid.lower(), [])
        self.add(
            least_privilege(
                model=self.model, scope=info.resource_id or info.name, held=held, policy=policy
            )
        )
