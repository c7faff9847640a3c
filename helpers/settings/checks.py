"""Single-value checks, each returning ``(normalised value, findings)`` and never raising.

Shared by :mod:`helpers.settings.load`, :mod:`helpers.backend_config` and the widget forms.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from packaging.version import InvalidVersion, Version

from helpers.common.redact import fingerprint
from helpers.findings import Finding
from helpers.findings.codes.cfg import (
    CACHE_OPTION_INVALID,
    CACHE_TTL_DEFEATS_ROTATION,
    CACHE_TTL_NO_EFFECT,
    NO_RETRY_BOUND,
)
from helpers.findings.codes.set import (
    ENV_NAME_INVALID,
    GUID_INVALID,
    PLACEHOLDER,
    PREFIX_EMPTY,
    PREFIX_INVALID,
    PREFIX_TRAILING_SEP,
    SECRET_ENV_EMPTY,
    SECRET_ENV_NOT_SET,
    SECRET_IN_SETTINGS,
    SECRET_VALUE_AS_NAME,
    SEP_INVALID,
    TENANT_INVALID,
    VAULT_HOST_UNKNOWN,
    VAULT_NAME_INVALID,
    VAULT_URL_EXTRA_PARTS,
    VAULT_URL_MISSING,
    VAULT_URL_NOT_HTTPS,
    VERSION_INVALID,
    WHITESPACE,
    WRONG_TYPE,
)
from helpers.settings.schema import (
    CACHE_TTL_ROTATION_MAX,
    CLOUDS,
    DOMAIN_RE,
    ENV_NAME_RE,
    GUID_RE,
    RETRY_TOTAL_DEFAULT,
    RETRY_TOTAL_MAX,
    SECRET_NAME_CHARS_RE,
    VAULT_NAME_RE,
    Credential,
    Settings,
    bad_name_chars,
    is_placeholder,
    looks_like_secret,
    shown,
)

__all__ = [
    "check_cache_ttl",
    "check_env_var_name",
    "check_guid",
    "check_prefix",
    "check_retry_total",
    "check_secret_env",
    "check_sep",
    "check_tenant",
    "check_token_file",
    "check_vault_url",
    "keep_value",
    "parse_version",
    "trim",
]


def trim(value: str, subject: str, findings: list[Finding], *, secret: bool = False) -> str:
    stripped = value.strip()
    if stripped != value:
        what = "the value" if secret else shown(stripped)
        findings.append(WHITESPACE(subject, f"{subject}: surrounding whitespace around {what}."))
    return stripped


def keep_value(text: str) -> str:
    """An invalid value as kept in Settings: dropped when it looks like a secret."""
    return "" if looks_like_secret(text) else text


def check_vault_url(value: object, subject: str = "vault_url") -> tuple[str, list[Finding]]:
    """Normalise a vault URL to ``https://<name>.<suffix>/``; findings when it is not one."""
    findings: list[Finding] = []
    if value is None:
        value = ""
    if not isinstance(value, str):
        return "", [WRONG_TYPE(subject, f"{subject} must be a string, not {shown(value)}.")]
    text = trim(value, subject, findings)
    if not text:
        return "", [*findings, VAULT_URL_MISSING(subject, f"{subject} is empty.")]
    if is_placeholder(text):
        return keep_value(text), [
            *findings,
            PLACEHOLDER(subject, f"{subject} is still a placeholder: {shown(text)}."),
        ]
    if "://" not in text:
        guess = text.strip("/")
        if VAULT_NAME_RE.match(guess) and "--" not in guess:
            guess = f"https://{guess.lower()}.vault.azure.net/"
        elif any(guess.lower().endswith("." + s) for s in CLOUDS):
            guess = f"https://{guess.lower()}/"
        else:
            guess = "https://<vault-name>.vault.azure.net/"
        findings.append(
            VAULT_URL_NOT_HTTPS(
                subject,
                f"{subject} {shown(text)} has no https:// scheme; expected {guess}",
                expected=guess,
            )
        )
        return keep_value(text), findings
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        port = parts.port
    except ValueError as err:
        return keep_value(text), [
            *findings,
            VAULT_URL_NOT_HTTPS(subject, f"{subject} {shown(text)} is not a URL ({err})."),
        ]
    scheme = parts.scheme.lower()
    if scheme != "https":
        fixed = text.replace(parts.scheme + "://", "https://", 1)
        findings.append(
            VAULT_URL_NOT_HTTPS(
                subject,
                f"{subject} uses {scheme or 'no'}://, Key Vault needs https://"
                + (f" — use {shown(fixed)}" if scheme == "http" else ""),
                scheme=scheme,
            )
        )
    if not host:
        findings.append(VAULT_HOST_UNKNOWN(subject, f"{subject} {shown(text)} has no host."))
        return keep_value(text), findings
    suffix = next((s for s in CLOUDS if host == s or host.endswith("." + s)), None)
    if suffix is None:
        hint = ""
        if host.endswith(".managedhsm.azure.net"):
            hint = " That is a Managed HSM, which holds keys only, not secrets."
        elif host.endswith(".azure.net") or host.endswith(".vault.azure.com"):
            hint = " Did you mean <name>.vault.azure.net?"
        findings.append(
            VAULT_HOST_UNKNOWN(
                subject, f"{subject} host {shown(host)} is not a Key Vault host.{hint}", host=host
            )
        )
        return keep_value(text), findings
    name = host[: -len(suffix)].removesuffix(".")  # one dot only: "kv1..vault" is no vault
    if not VAULT_NAME_RE.match(name) or "--" in name:
        findings.append(
            VAULT_NAME_INVALID(
                subject,
                f"vault name {shown(name)} in {subject}: 3-24 letters, digits and hyphens, "
                "starting with a letter, ending with a letter or digit, no '--'.",
                vault_name=name,
            )
        )
        return keep_value(text), findings
    normalised = f"https://{name.lower()}.{suffix}/"
    extras = []
    if parts.path not in ("", "/"):
        extras.append(f"path {shown(parts.path)}")
    if parts.query:
        extras.append("a query string")
    if parts.fragment:
        extras.append("a fragment")
    if port not in (None, 443):
        extras.append(f"port {port}")
    if parts.username or parts.password:
        extras.append("user info")
    if extras:
        looks_secret_id = parts.path.lower().startswith("/secrets/")
        findings.append(
            VAULT_URL_EXTRA_PARTS(
                subject,
                f"{subject} has {', '.join(extras)}"
                + (" (a secret identifier, not the vault URI)" if looks_secret_id else "")
                + f"; use {normalised}",
                expected=normalised,
            )
        )
    return normalised, findings


def _opening(value: object, subject: str, findings: list[Finding]) -> tuple[str, bool]:
    """What every identifier check does first: the trimmed text, and whether the check is
    already over (absent, not a string, empty, or still a placeholder)."""
    if value is None:
        return "", True
    if not isinstance(value, str):
        findings.append(WRONG_TYPE(subject, f"{subject} must be a string, not {shown(value)}."))
        return "", True
    text = trim(value, subject, findings)
    if not text:
        return "", True
    if is_placeholder(text):
        findings.append(PLACEHOLDER(subject, f"{subject} is still a placeholder: {shown(text)}."))
        return keep_value(text), True
    return text, False


def check_tenant(value: object, subject: str = "tenant_id") -> tuple[str, list[Finding]]:
    """A tenant GUID (lower-cased); findings for anything else, a domain name included (Key
    Vault's challenge names the GUID, see AKV-SET-007). Empty is allowed."""
    findings: list[Finding] = []
    text, done = _opening(value, subject, findings)
    if done:
        return text, findings
    if GUID_RE.match(text):
        return text.lower(), findings
    lowered = text.lower()
    if lowered in ("common", "organizations", "consumers"):
        detail = f"{subject} {shown(text)} is a multi-tenant alias; use the tenant's own id."
    elif text.startswith("{") and GUID_RE.match(text.strip("{}")):
        detail = f"{subject} has braces around the GUID; use {shown(text.strip('{}').lower())}."
    elif DOMAIN_RE.match(lowered):
        # Entra ID issues a token for a domain authority, but Key Vault's challenge names the
        # tenant by GUID and azure-identity compares tenant ids literally (AKV-AUTH-007).
        detail = (
            f"{subject} {shown(text)} is a domain name: sign-in accepts it, but Key Vault's "
            "challenge names the tenant by its GUID and the credential refuses a token for a "
            "tenant id it was not configured with, so the backend reads nothing (AKV-AUTH-007); "
            "use the directory's GUID."
        )
        findings.append(TENANT_INVALID(subject, detail, domain=lowered))
        return lowered, findings
    else:
        detail = f"{subject} {shown(text)} is neither a GUID nor a domain."
    findings.append(TENANT_INVALID(subject, detail))
    return keep_value(text), findings


def check_guid(value: object, subject: str = "client_id") -> tuple[str, list[Finding]]:
    """A client id GUID (lower-cased); findings when it is not one. Empty is allowed."""
    findings: list[Finding] = []
    text, done = _opening(value, subject, findings)
    if done:
        return text, findings
    if GUID_RE.match(text):
        return text.lower(), findings
    if looks_like_secret(text):
        detail = f"{subject} holds a secret-like value ({fingerprint(text)}), not a GUID."
    elif text.startswith("{") and GUID_RE.match(text.strip("{}")):
        detail = f"{subject} has braces around the GUID; use {shown(text.strip('{}').lower())}."
    else:
        detail = f"{subject} {shown(text)} is not a GUID."
    findings.append(GUID_INVALID(subject, detail))
    return keep_value(text), findings


def check_token_file(
    value: object, subject: str = "federated_token_file"
) -> tuple[str, list[Finding]]:
    """The PATH of the workload identity token file (empty: AZURE_FEDERATED_TOKEN_FILE, as the
    webhook sets it). A pasted token is reported and dropped, never shown."""
    findings: list[Finding] = []
    text, done = _opening(value, subject, findings)
    if done:
        return text, findings
    jwt = text.startswith("eyJ") and text.count(".") == 2
    if jwt or (looks_like_secret(text) and not re.search(r"[/\\]", text)):
        detail = (
            f"{subject} holds a token-like value ({fingerprint(text)}), not a path; name the "
            "file the webhook mounts, e.g. /var/run/secrets/azure/tokens/azure-identity-token."
        )
        return "", [*findings, SECRET_IN_SETTINGS(subject, detail)]
    return text, findings


def check_env_var_name(
    value: object, subject: str = "client_secret_env"
) -> tuple[str, list[Finding]]:
    """An environment variable NAME; a secret-like value is reported and never shown."""
    findings: list[Finding] = []
    if value is None:
        value = ""
    if not isinstance(value, str):
        return "", [WRONG_TYPE(subject, f"{subject} must be a string, not {shown(value)}.")]
    if looks_like_secret(value):
        return "", [
            SECRET_VALUE_AS_NAME(
                subject,
                f"{subject} looks like a secret value ({fingerprint(value)}); pass the name "
                "of the environment variable that holds it, e.g. AZURE_CLIENT_SECRET.",
            )
        ]
    text = trim(value, subject, findings, secret=True)
    if not text:
        return "", [
            *findings,
            ENV_NAME_INVALID(
                subject, f"{subject} is empty; name the variable, e.g. AZURE_CLIENT_SECRET."
            ),
        ]
    if not ENV_NAME_RE.match(text):
        if GUID_RE.match(text):
            why = "it is a GUID (a client secret's ID?), not a variable name"
        else:
            why = "only letters, digits and '_' are allowed, not starting with a digit"
        findings.append(
            ENV_NAME_INVALID(subject, f"{subject} ({fingerprint(text)}) is not a name: {why}.")
        )
    return text, findings


def check_prefix(
    value: object, subject: str = "variables_prefix", sep: str = "-"
) -> tuple[str | None, list[Finding]]:
    """A secret-name prefix (None disables the lookup type); findings for unusable ones."""
    findings: list[Finding] = []
    if value is None:
        return None, []
    if not isinstance(value, str):
        return None, [
            WRONG_TYPE(subject, f"{subject} must be a string or null, not {shown(value)}.")
        ]
    text = trim(value, subject, findings)
    if text == "":
        if value == "":
            findings.append(
                PREFIX_EMPTY(subject, f'{subject} is "": the id is looked up as the secret name.')
            )
        return text, findings
    if text.lower() in ("null", "none"):
        findings.append(
            PREFIX_INVALID(
                subject,
                f"{subject} is the string {shown(text)}, not null: secrets are looked up as "
                f"{text}{sep}<id>. Use JSON null (YAML ~ or null) to disable the lookup.",
            )
        )
        return text, findings
    effective = text.rstrip(sep) if sep else text
    built = effective.replace("_", sep) if sep else effective
    if not SECRET_NAME_CHARS_RE.match(built):
        bad = bad_name_chars(built)
        findings.append(
            PREFIX_INVALID(
                subject,
                f"{subject} {shown(text)} has characters Key Vault names cannot hold: "
                + " ".join(repr(c) for c in bad),
                invalid_characters=bad,
            )
        )
    elif len(built) + len(sep) >= 127:
        findings.append(
            PREFIX_INVALID(
                subject,
                f"{subject} is {len(built)} characters: no room for an id within 127.",
            )
        )
    if sep and effective != text:
        findings.append(
            PREFIX_TRAILING_SEP(
                subject,
                f"{subject} {shown(text)} behaves as {shown(effective)}.",
                effective=effective,
            )
        )
    return text, findings


def check_sep(value: object, subject: str = "sep") -> tuple[str, list[Finding]]:
    if not isinstance(value, str):
        return "-", [WRONG_TYPE(subject, f"{subject} must be a string, not {shown(value)}.")]
    if value == "":
        return value, [SEP_INVALID(subject, f"{subject} is empty.")]
    if not SECRET_NAME_CHARS_RE.match(value):
        return value, [
            SEP_INVALID(subject, f"{subject} {shown(value)} is not allowed in Key Vault names.")
        ]
    return value, []


def parse_version(value: object, subject: str) -> tuple[Any, list[Finding]]:
    """A ``packaging`` Version, or None with a finding (None input: None, no finding)."""

    if value is None or value == "":
        return None, []
    if isinstance(value, bool) or not isinstance(value, str | int):
        hint = ""
        if isinstance(value, float):
            hint = f" (YAML read an unquoted version as the number {value!r}; quote it)"
        return None, [
            WRONG_TYPE(subject, f"{subject} must be a quoted string, not {shown(value)}{hint}.")
        ]
    text = str(value).strip()
    try:
        return Version(text.lstrip("vV")), []
    except InvalidVersion:
        return None, [VERSION_INVALID(subject, f"{subject} {shown(text)} is not a version.")]


def check_retry_total(
    value: object, subject: str = "retry_total", *, report_unset: bool = True
) -> tuple[int | None, list[Finding]]:
    """The ONE retry_total rule (settings validation, backend_kwargs lint and render).

    None (not set) leaves azure-core's own retries: reported unless ``report_unset`` is False
    (a Settings may leave it unbounded on purpose). Anything but a non-negative integer is
    a WRONG_TYPE and becomes the default; more than the bound is reported and kept.
    """
    if value is None:
        if not report_unset:
            return None, []
        return None, [
            NO_RETRY_BOUND(subject, f"{subject} is not set: azure-core retries 10 times.")
        ]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return RETRY_TOTAL_DEFAULT, [
            WRONG_TYPE(
                subject,
                f"{subject} must be a non-negative integer or null, not {shown(value)}; "
                f"{RETRY_TOTAL_DEFAULT} is used.",
            )
        ]
    if value > RETRY_TOTAL_MAX:
        return value, [
            NO_RETRY_BOUND(subject, f"{subject} is {value} retries (at most {RETRY_TOTAL_MAX}).")
        ]
    return value, []


def check_cache_ttl(
    value: object, subject: str = "cache_ttl_seconds", *, use_cache: bool | None = None
) -> tuple[int | None, list[Finding]]:
    """The ONE [secrets] cache_ttl_seconds rule (settings validation, config lint, render).

    The value is read as Airflow's ``conf.getint`` reads it (an int, or text that ``int()``
    or a whole ``float()`` accepts); anything else, or 0 or less, is AKV-CFG-034 and None
    is returned. ``use_cache``: True — a TTL above CACHE_TTL_ROTATION_MAX is AKV-CFG-035;
    False — any TTL is AKV-CFG-036 (no effect); None — not known, neither is reported.
    """
    if value is None:
        return None, []
    ttl: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        ttl = value
    elif isinstance(value, str | float) and not isinstance(value, bool):
        text = str(value)
        try:
            ttl = int(text)
        except ValueError:
            try:
                number = float(text)
                ttl = int(number) if number == int(number) else None
            except (ValueError, OverflowError):
                ttl = None
    if ttl is None or ttl <= 0:
        why = "is not a whole number of seconds" if ttl is None else "is not greater than 0"
        what = str(value) if isinstance(value, int | float) else shown(value)
        return None, [CACHE_OPTION_INVALID(subject, f"{subject} {what} {why}.")]
    if use_cache is True and ttl > CACHE_TTL_ROTATION_MAX:
        return ttl, [
            CACHE_TTL_DEFEATS_ROTATION(
                subject,
                f"{subject} is {ttl} s: DAG parsing may use a rotated secret's old value for "
                f"up to {ttl / 3600:.3g} h (at most {CACHE_TTL_ROTATION_MAX} s advised).",
                ttl_seconds=ttl,
            )
        ]
    if use_cache is False:
        return ttl, [CACHE_TTL_NO_EFFECT(subject, f"{subject} is {ttl} but use_cache is off.")]
    return ttl, []


def check_secret_env(s: Settings, environ: Mapping[str, str]) -> list[Finding]:
    """Whether the variable named by ``client_secret_env`` is set and non-empty.

    Only presence is checked; the value is never read into a finding.
    """
    if s.credential is not Credential.CLIENT_SECRET or not isinstance(environ, Mapping):
        return []
    name = s.client_secret_env
    if not isinstance(name, str) or not ENV_NAME_RE.match(name.strip()):
        return []  # check_env_var_name reports it
    name = name.strip()
    value = environ.get(name)
    if value is None:
        return [SECRET_ENV_NOT_SET(name, f"{name} is not set in this environment.")]
    if not isinstance(value, str) or not value.strip():
        return [SECRET_ENV_EMPTY(name, f"{name} is set but empty.")]
    return []
