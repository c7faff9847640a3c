"""Exception -> finding: what any error from azure-identity, azure-core or the SDKs means.

:func:`diagnose` never raises; an exception it does not recognise becomes AKV-SVC-003 with
its type and a scrubbed message. Transport problems (DNS, proxy, TLS, timeouts) are told
apart before Entra ID's AADSTS codes, because azure-identity wraps them too; Key Vault and
ARM answers are read from the response body (status, error code, inner error code).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from helpers.common.redact import scrub_text
from helpers.findings import Finding
from helpers.findings.codes.auth import (
    CREDENTIAL_UNAVAILABLE,
    FEDERATED_MISMATCH,
    FEDERATED_TOKEN_EXPIRED,
    FEDERATED_TOKEN_FILE_UNREADABLE,
    FEDERATED_TOKEN_UNTRUSTED,
    MANAGED_IDENTITY_NOT_FOUND,
    MANAGED_IDENTITY_REFUSED,
    MANAGED_IDENTITY_UNREACHABLE,
    SECRET_EXPIRED,
    SIGN_IN_FAILED,
    TENANT_MISMATCH,
    TOKEN_REJECTED,
    UNKNOWN_APP,
    UNKNOWN_TENANT,
    WRONG_SECRET,
)
from helpers.findings.codes.net import (
    CONNECTION_FAILED,
    HOST_NOT_FOUND,
    PROXY_FAILED,
    TIMED_OUT,
    TLS_FAILED,
    TLS_UNTRUSTED,
)
from helpers.findings.codes.perm import (
    FORBIDDEN,
    FORBIDDEN_BY_FIREWALL,
    FORBIDDEN_BY_POLICY,
    FORBIDDEN_BY_RBAC,
)
from helpers.findings.codes.secret import SECRET_DISABLED, SECRET_NOT_FOUND
from helpers.findings.codes.svc import SERVICE_ERROR, THROTTLED, UNEXPECTED
from helpers.settings import GUID_RE as _GUID
from helpers.settings import Settings

__all__ = [
    "diagnose",
    "exception_chain",
    "host_of",
    "not_found_detail",
    "response_error",
    "scrub_detail",
]


def scrub_detail(text: str, sensitive: Iterable[str] = (), limit: int = 400) -> str:
    """One line for a finding's detail: :func:`helpers.common.redact.scrub_text`, folded."""
    folded = " ".join(scrub_text(text, sensitive, limit=sys.maxsize).split())
    return folded if len(folded) <= limit else folded[: limit - 1] + "…"


def exception_chain(error: BaseException) -> list[BaseException]:
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


def response_error(error: BaseException) -> tuple[int | None, str, str, str, Any]:
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


def host_of(url: str) -> str:
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
    chain = exception_chain(error)
    types = {type(e).__name__ for e in chain}
    text = " | ".join(str(e) for e in chain)
    short = scrub_detail(str(error), sensitive)
    data: dict[str, Any] = {"exception": type(error).__name__}
    tenant = settings.tenant_id if settings else ""

    status, err_code, inner, message, headers = response_error(error)
    identity = _identity_source_finding(subject, text, types, short, data, settings)
    if identity is not None:
        return identity
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
    entra = scrub_detail(sentence.group(0), sensitive) if sentence else short
    if code == "7000222":
        return SECRET_EXPIRED(subject, entra, **data)
    if code == "700016":
        return UNKNOWN_APP(subject, entra, **data)
    federated = _federated_finding(subject, code, text, entra, data)
    if federated is not None:
        return federated
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
        return TOKEN_REJECTED(subject, scrub_detail(message or short, sensitive), **data)
    if status == 403:
        return _forbidden(subject, inner or err_code, message, secret, sensitive, data)
    if status == 404:
        if secret:
            return SECRET_NOT_FOUND(subject, not_found_detail(secret, settings), **data)
        return UNEXPECTED(subject, f"404 {err_code}: {scrub_detail(message, sensitive)}", **data)
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
            subject, f"HTTP {status} {err_code}: {scrub_detail(message, sensitive)}", **data
        )
    return UNEXPECTED(subject, f"{type(error).__name__}: {short}", **data)


# Workload identity federation (AADSTS70021 and its newer per-claim split).
_FEDERATED_MISMATCH = {"70021", "700211", "700212", "700213", "7002138"}
_FEDERATED_UNTRUSTED = {"7000272", "50013", "50027", "50166"}


def _federated_finding(
    subject: str, code: str, text: str, entra: str, data: dict[str, Any]
) -> Finding | None:
    if code in _FEDERATED_MISMATCH:
        claims = re.search(
            r"Assertion Issuer: '([^']*)'\. Assertion Subject: '([^']*)'\. "
            r"Assertion Audience: '([^']*)'",
            text,
        )
        if claims:
            data.update(
                assertion_issuer=claims.group(1),
                assertion_subject=claims.group(2),
                assertion_audience=claims.group(3),
            )
            entra = (
                f"AADSTS{code}: no federated credential names issuer {claims.group(1)!r}, "
                f"subject {claims.group(2)!r} and audience {claims.group(3)!r}"
            )
        return FEDERATED_MISMATCH(subject, entra, **data)
    if code == "700024":
        return FEDERATED_TOKEN_EXPIRED(subject, entra, **data)
    if code in _FEDERATED_UNTRUSTED:
        return FEDERATED_TOKEN_UNTRUSTED(subject, entra, **data)
    return None


def _managed_identity_finding(
    subject: str, text: str, short: str, data: dict[str, Any]
) -> Finding | None:
    """IMDS's and the App Service endpoint's own answers (azure-identity reports them as
    CredentialUnavailableError with the endpoint's message)."""
    if "Identity not found" in text or "Unable to load the proper Managed Identity" in text:
        return MANAGED_IDENTITY_NOT_FOUND(subject, short, **data)
    if re.search(
        r"Required metadata header not specified|X-IDENTITY-HEADER|api-version is invalid|"
        r"api-version is missing",
        text,
    ):
        return MANAGED_IDENTITY_REFUSED(subject, short, **data)
    return None


_TOKEN_FILE_ERRORS = {"FileNotFoundError", "PermissionError", "IsADirectoryError"}
_UNREACHABLE = re.compile(r"ManagedIdentityCredential authentication unavailable")


def _identity_source_finding(
    subject: str,
    text: str,
    types: set[str],
    short: str,
    data: dict[str, Any],
    settings: Settings | None,
) -> Finding | None:
    """Failures of the identity's local source, before Entra ID is asked: the workload token
    file (azure-identity reads it on every sign-in) and the managed identity endpoint."""
    if "WorkloadIdentityCredential" in text and (
        types & _TOKEN_FILE_ERRORS
        or re.search(r"No such file or directory|Permission denied|Is a directory", text)
    ):
        return FEDERATED_TOKEN_FILE_UNREADABLE(subject, f"azure-identity: {short}", **data)
    managed = _managed_identity_finding(subject, text, short, data)
    if managed is not None:
        return managed
    chain = "DefaultAzureCredential" in text  # a chain tries MI last-but-one; not its cause
    mi_settings = settings is not None and str(settings.credential) == "managed_identity"
    if _UNREACHABLE.search(text) and (mi_settings or not chain):
        cause = _network_finding(subject, text, types, short, {})
        why = f" ({cause.spec.title.lower()})" if cause is not None else ""
        return MANAGED_IDENTITY_UNREACHABLE(subject, f"azure-identity: {short}{why}", **data)
    return None


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


def not_found_detail(secret: str, settings: Settings | None) -> str:
    where = f" in {host_of(settings.vault_url)}" if settings and settings.vault_url else ""
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
            f"no role assignment lets {who} read {target}; grant Key Vault Secrets User at the "
            "vault's scope (not Contributor); a grant made minutes ago may still be propagating",
            model="rbac",
            **data,
        )
    if inner in ("ForbiddenByPolicy", "AccessDenied"):
        perm = re.search(r"does not have secrets (\w+) permission", message)
        data["permission"] = perm.group(1) if perm else "get"
        return FORBIDDEN_BY_POLICY(
            subject,
            f"no access policy gives {who} secret '{data['permission']}' on {target} "
            f"({inner}); add an access policy with get (and list)",
            model="access_policy",
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
    return FORBIDDEN(subject, f"403 {inner}: {scrub_detail(message, sensitive)}", **data)
