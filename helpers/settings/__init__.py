"""One declarative schema for a target environment: what the backend needs to know.

Settings hold *references*, never secret values: the client secret is the name of an
environment variable (``client_secret_env``). Loading and validation return findings and
never raise.

Loaders, each returning ``(Settings, findings)``:

- :func:`settings_from_mapping` — keyword arguments, a YAML or JSON document;
- :func:`load_settings` — a YAML or JSON file;
- :func:`settings_from_environment` — ``AIRFLOW__SECRETS__BACKEND_KWARGS``, the per-key
  ``AIRFLOW__SECRETS__BACKEND_KWARG__<KEY>`` overrides and ``AZURE_*``;
- :func:`settings_from_airflow_cfg` — the ``[secrets]`` section of an ``airflow.cfg``;
- :func:`settings_from_backend_kwargs` — an already parsed ``backend_kwargs`` mapping.

:func:`validate_settings` checks a :class:`Settings` built any other way. The single-value
checks (:func:`check_vault_url`, :func:`check_tenant`, :func:`check_guid`,
:func:`check_env_var_name`, :func:`check_prefix`, :func:`check_sep`) are shared with
:mod:`helpers.backend_config.lint`.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from helpers.common.redact import fingerprint
from helpers.findings import Finding
from helpers.findings.codes.set import (
    AZURE_ENV_PARTIAL,
    CREDENTIAL_UNKNOWN,
    ENV_NAME_INVALID,
    GUID_INVALID,
    IDENTITY_MISSING,
    KEYVAULT_URL_ENV_ONLY,
    PLACEHOLDER,
    PREFIX_EMPTY,
    PREFIX_INVALID,
    PREFIX_TRAILING_SEP,
    PROBE_ID_EMPTY,
    SECRET_ENV_EMPTY,
    SECRET_ENV_NOT_SET,
    SECRET_IN_SETTINGS,
    SECRET_VALUE_AS_NAME,
    SEP_INVALID,
    SETTINGS_FILE_UNREADABLE,
    TARGET_UNKNOWN,
    TENANT_INVALID,
    UNKNOWN_KEY,
    VAULT_HOST_UNKNOWN,
    VAULT_NAME_INVALID,
    VAULT_URL_EXTRA_PARTS,
    VAULT_URL_MISSING,
    VAULT_URL_NOT_HTTPS,
    VERSION_INVALID,
    WHITESPACE,
    WRONG_TYPE,
)


class Credential(StrEnum):
    CLIENT_SECRET = "client_secret"  # service principal; secret read from client_secret_env
    MANAGED_IDENTITY = "managed_identity"
    WORKLOAD_IDENTITY = "workload_identity"


class Target(StrEnum):
    ADF = "adf"  # Azure Data Factory "Data workflows" (Airflow 2.x, closed to new instances)
    FABRIC = "fabric"  # Apache Airflow jobs in Microsoft Fabric
    HELM = "helm"  # the official Apache Airflow Helm chart
    COMPOSE = "compose"  # docker compose
    AIRFLOW_CFG = "airflow_cfg"  # an airflow.cfg [secrets] section
    ENV = "env"  # plain environment variables / shell exports


@dataclass
class Settings:
    """A target environment. Prefix ``None`` disables that lookup type (JSON ``null``)."""

    name: str = "default"
    vault_url: str = ""
    tenant_id: str = ""
    client_id: str = ""
    credential: Credential = Credential.CLIENT_SECRET
    client_secret_env: str = "AZURE_CLIENT_SECRET"
    managed_identity_client_id: str = ""
    connections_prefix: str | None = "airflow-connections"
    variables_prefix: str | None = "airflow-variables"
    config_prefix: str | None = None
    sep: str = "-"
    target: Target = Target.ENV
    airflow_version: str | None = None
    provider_version: str | None = None
    variables: list[str] = field(default_factory=lambda: ["sample-variable"])
    connections: list[str] = field(default_factory=list)
    retry_total: int | None = 3
    # Added fields (all optional):
    workload_identity_tenant_id: str = ""
    python_version: str | None = None
    # [secrets] use_cache as configured (None: not known). Matters for parse-time lookups.
    use_cache: bool | None = None
    # Whether the variable named by client_secret_env was set (and non-empty) when loaded
    # from an environment; None when not known. The value itself is never recorded.
    client_secret_set: bool | None = None


# Key Vault DNS suffixes per cloud (public, China, US Government).
VAULT_SUFFIXES: dict[str, str] = {
    "vault.azure.net": "AzureCloud",
    "vault.azure.cn": "AzureChinaCloud",
    "vault.usgovcloudapi.net": "AzureUSGovernment",
}
# What the provider does with a key it does not know: passes it to SecretClient.
PROVIDER_KWARGS = (
    "connections_prefix",
    "variables_prefix",
    "config_prefix",
    "vault_url",
    "sep",
    "tenant_id",
    "client_id",
    "client_secret",
    "managed_identity_client_id",
    "workload_identity_tenant_id",
)
PROVIDER_DEFAULT_PREFIXES = {
    "connections_prefix": "airflow-connections",
    "variables_prefix": "airflow-variables",
    "config_prefix": "airflow-config",
}

GUID_RE = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\Z")
NIL_GUID = "00000000-0000-0000-0000-000000000000"
_DOMAIN_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN_RE = re.compile(rf"(?:{_DOMAIN_LABEL}\.)+[a-z]{{2,63}}\Z")
VAULT_NAME_RE = re.compile(r"[a-zA-Z](?:[a-zA-Z0-9-]{1,22})[a-zA-Z0-9]\Z")
ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
SECRET_NAME_CHARS_RE = re.compile(r"[0-9a-zA-Z-]*\Z")
_PLACEHOLDER_RE = re.compile(
    r"<[^<>]*>|\\<|\{\{?\s*your|(?i:\byour[-_ ]?(?:key[-_ ]?vault|vault|tenant|client))"
    r"|\Ax{8}-x{4}|(?i:\Achange[-_ ]?me\Z)"
)


# -- findings ------------------------------------------------------------------------------

# -- small helpers -------------------------------------------------------------------------


def looks_like_secret(value: object) -> bool:
    """Whether a string looks like a client secret value rather than a name or id."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if "~" in text and len(text) >= 8:
        return True  # Entra client secrets carry a "~" after a short prefix
    if len(text) < 24 or any(c.isspace() for c in text):
        return False
    if GUID_RE.match(text) or text.lower().startswith(("http://", "https://")):
        return False
    classes = sum(
        (
            any(c.islower() for c in text),
            any(c.isupper() for c in text),
            any(c.isdigit() for c in text),
            any(not c.isalnum() for c in text),
        )
    )
    if ENV_NAME_RE.match(text) and text.upper() == text:
        return False  # A_LONG_UPPER_CASE_NAME is a name
    return classes >= 3 or (len(text) >= 40 and classes >= 2)


def env_name_or_none(value: object) -> str | None:
    """``value`` when it is usable as an environment variable NAME (and does not look like
    the secret itself), else None."""
    text = str(value or "").strip()
    return text if ENV_NAME_RE.match(text) and not looks_like_secret(text) else None


def shown_env_name(value: object) -> str:
    """A variable name as it may be displayed: itself, or a fingerprint when it is not one
    (a mistyped reference may be the secret)."""
    name = env_name_or_none(value)
    return name if name is not None else fingerprint(str(value or ""))


def shown(value: object, limit: int = 80) -> str:
    """A value as it may appear in a finding: quoted, shortened; a fingerprint if secret-like."""
    if not isinstance(value, str):
        return f"a {type(value).__name__}"
    if looks_like_secret(value):
        return f"<secret-like value, {fingerprint(value)}>"
    text = value if len(value) <= limit else value[:limit] + "…"
    return repr(text)


def is_placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER_RE.search(value)) or value.strip() == NIL_GUID


def scrub(findings: Iterable[Finding], secrets: Iterable[str | None]) -> list[Finding]:
    """Replace any occurrence of the given secret values in details and data (belt and braces)."""
    values = sorted({s for s in secrets if isinstance(s, str) and len(s) >= 4}, key=len)[::-1]
    if not values:
        return list(findings)

    def clean(obj: Any) -> Any:
        if isinstance(obj, str):
            for secret in values:
                obj = obj.replace(secret, f"<{fingerprint(secret)}>")
            return obj
        if isinstance(obj, dict):
            return {k: clean(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [clean(v) for v in obj]
        return obj

    return [
        Finding(f.spec, subject=clean(f.subject), detail=clean(f.detail), data=clean(f.data))
        for f in findings
    ]


def suggest(key: str, known: Iterable[str]) -> str | None:
    """The known key a typo most likely meant, or None."""
    lowered = key.lower().replace("-", "_")
    known = list(known)
    if lowered in known and lowered != key:
        return lowered
    match = difflib.get_close_matches(lowered, known, n=1, cutoff=0.75)
    return match[0] if match else None


# -- single-value checks (shared with config_lint) ------------------------------------------


def _trim(value: str, subject: str, findings: list[Finding], *, secret: bool = False) -> str:
    stripped = value.strip()
    if stripped != value:
        what = "the value" if secret else shown(stripped)
        findings.append(WHITESPACE(subject, f"{subject}: surrounding whitespace around {what}."))
    return stripped


def _keep(text: str) -> str:
    """An invalid value as kept in Settings: dropped when it looks like a secret."""
    return "" if looks_like_secret(text) else text


def check_vault_url(value: object, subject: str = "vault_url") -> tuple[str, list[Finding]]:
    """Normalise a vault URL to ``https://<name>.<suffix>/``; findings when it is not one."""
    findings: list[Finding] = []
    if value is None:
        value = ""
    if not isinstance(value, str):
        return "", [WRONG_TYPE(subject, f"{subject} must be a string, not {shown(value)}.")]
    text = _trim(value, subject, findings)
    if not text:
        return "", [*findings, VAULT_URL_MISSING(subject, f"{subject} is empty.")]
    if is_placeholder(text):
        return _keep(text), [
            *findings,
            PLACEHOLDER(subject, f"{subject} is still a placeholder: {shown(text)}."),
        ]
    if "://" not in text:
        guess = text.strip("/")
        if VAULT_NAME_RE.match(guess) and "--" not in guess:
            guess = f"https://{guess.lower()}.vault.azure.net/"
        elif any(guess.lower().endswith("." + s) for s in VAULT_SUFFIXES):
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
        return _keep(text), findings
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        port = parts.port
    except ValueError as err:
        return _keep(text), [
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
        return _keep(text), findings
    suffix = next((s for s in VAULT_SUFFIXES if host == s or host.endswith("." + s)), None)
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
        return _keep(text), findings
    name = host[: -len(suffix)].rstrip(".")
    if not VAULT_NAME_RE.match(name) or "--" in name:
        findings.append(
            VAULT_NAME_INVALID(
                subject,
                f"vault name {shown(name)} in {subject}: 3-24 letters, digits and hyphens, "
                "starting with a letter, ending with a letter or digit, no '--'.",
                vault_name=name,
            )
        )
        return _keep(text), findings
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


def check_tenant(value: object, subject: str = "tenant_id") -> tuple[str, list[Finding]]:
    """A tenant GUID (lower-cased) or a domain; findings when it is neither. Empty is allowed."""
    findings: list[Finding] = []
    if value is None:
        return "", []
    if not isinstance(value, str):
        return "", [WRONG_TYPE(subject, f"{subject} must be a string, not {shown(value)}.")]
    text = _trim(value, subject, findings)
    if not text:
        return "", findings
    if is_placeholder(text):
        findings.append(PLACEHOLDER(subject, f"{subject} is still a placeholder: {shown(text)}."))
        return _keep(text), findings
    if GUID_RE.match(text):
        return text.lower(), findings
    lowered = text.lower()
    if lowered in ("common", "organizations", "consumers"):
        detail = f"{subject} {shown(text)} is a multi-tenant alias; use the tenant's own id."
    elif text.startswith("{") and GUID_RE.match(text.strip("{}")):
        detail = f"{subject} has braces around the GUID; use {shown(text.strip('{}').lower())}."
    elif DOMAIN_RE.match(lowered):
        return lowered, findings
    else:
        detail = f"{subject} {shown(text)} is neither a GUID nor a domain."
    findings.append(TENANT_INVALID(subject, detail))
    return _keep(text), findings


def check_guid(value: object, subject: str = "client_id") -> tuple[str, list[Finding]]:
    """A client id GUID (lower-cased); findings when it is not one. Empty is allowed."""
    findings: list[Finding] = []
    if value is None:
        return "", []
    if not isinstance(value, str):
        return "", [WRONG_TYPE(subject, f"{subject} must be a string, not {shown(value)}.")]
    text = _trim(value, subject, findings)
    if not text:
        return "", findings
    if is_placeholder(text):
        findings.append(PLACEHOLDER(subject, f"{subject} is still a placeholder: {shown(text)}."))
        return _keep(text), findings
    if GUID_RE.match(text):
        return text.lower(), findings
    if looks_like_secret(text):
        detail = f"{subject} holds a secret-like value ({fingerprint(text)}), not a GUID."
    elif text.startswith("{") and GUID_RE.match(text.strip("{}")):
        detail = f"{subject} has braces around the GUID; use {shown(text.strip('{}').lower())}."
    else:
        detail = f"{subject} {shown(text)} is not a GUID."
    findings.append(GUID_INVALID(subject, detail))
    return _keep(text), findings


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
    text = _trim(value, subject, findings, secret=True)
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
    text = _trim(value, subject, findings)
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
        bad = sorted({c for c in built if not (c.isascii() and (c.isalnum() or c == "-"))})
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
    from packaging.version import InvalidVersion, Version

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


# -- building Settings -----------------------------------------------------------------------
_FIELDS = {f.name for f in dataclasses.fields(Settings)}
_STR_FIELDS = (
    "name",
    "vault_url",
    "tenant_id",
    "client_id",
    "client_secret_env",
    "managed_identity_client_id",
    "workload_identity_tenant_id",
)
_PREFIX_FIELDS = ("connections_prefix", "variables_prefix", "config_prefix")
_VERSION_FIELDS = ("airflow_version", "provider_version", "python_version")
_CREDENTIAL_ALIASES = {
    "service_principal": Credential.CLIENT_SECRET,
    "sp": Credential.CLIENT_SECRET,
    "secret": Credential.CLIENT_SECRET,
    "msi": Credential.MANAGED_IDENTITY,
    "managed": Credential.MANAGED_IDENTITY,
    "workload": Credential.WORKLOAD_IDENTITY,
}
_TARGET_ALIASES = {
    "airflow.cfg": Target.AIRFLOW_CFG,
    "cfg": Target.AIRFLOW_CFG,
    "docker_compose": Target.COMPOSE,
    "docker-compose": Target.COMPOSE,
    "helm_chart": Target.HELM,
    "data_factory": Target.ADF,
    "shell": Target.ENV,
    "environment": Target.ENV,
}
_TRUE = ("1", "true", "t", "yes", "y", "on")
_FALSE = ("0", "false", "f", "no", "n", "off")


def _subject(origin: Mapping[str, str], name: str) -> str:
    return origin.get(name, name)


def _enum(value: object, enum: type[StrEnum], aliases: Mapping[str, StrEnum]) -> StrEnum | None:
    if isinstance(value, enum):
        return value
    if not isinstance(value, str):
        return None
    key = value.strip().lower()
    for member in enum:
        if key in (member.value, member.value.replace("_", "-")):
            return member
    return aliases.get(key)


def _as_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError


def _coerce_field(name: str, value: Any, subject: str, findings: list[Finding]) -> Any:
    """The value for a Settings field, or the field's default with a finding."""
    missing = object()

    def wrong(expected: str) -> Any:
        findings.append(
            WRONG_TYPE(subject, f"{subject} must be {expected}, not {shown(value)}.", key=name)
        )
        return missing

    result: Any = missing
    if name in _STR_FIELDS:
        if value is None:
            result = ""
        elif isinstance(value, str):
            result = value
        else:
            result = wrong("a string")
    elif name in _PREFIX_FIELDS:
        result = value if value is None or isinstance(value, str) else wrong("a string or null")
    elif name == "sep":
        result = value if isinstance(value, str) else wrong('a string such as "-"')
    elif name == "credential":
        result = _enum(value, Credential, _CREDENTIAL_ALIASES)
        if result is None:
            findings.append(
                CREDENTIAL_UNKNOWN(subject, f"{subject} {shown(value)} is not a credential mode.")
            )
            result = missing
    elif name == "target":
        result = _enum(value, Target, _TARGET_ALIASES)
        if result is None:
            findings.append(TARGET_UNKNOWN(subject, f"{subject} {shown(value)} is not a target."))
            result = missing
    elif name in _VERSION_FIELDS:
        if value is None or (isinstance(value, str | int) and not isinstance(value, bool)):
            result = None if value is None else str(value)
        else:
            _, found = parse_version(value, subject)
            findings.extend(found)
    elif name in ("variables", "connections"):
        if value is None:
            result = []
        elif isinstance(value, str):
            result = [part for part in value.split(",")] if value.strip() else []
        elif isinstance(value, list | tuple):
            result = []
            for i, item in enumerate(value):
                if isinstance(item, str):
                    result.append(item)
                else:
                    findings.append(
                        WRONG_TYPE(
                            f"{subject}[{i}]",
                            f"{subject}[{i}] must be a string, not {shown(item)}.",
                            key=name,
                        )
                    )
        else:
            result = wrong("a list of strings")
    elif name == "retry_total":
        if value is None:
            result = None
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            result = value
        elif isinstance(value, str) and value.strip().isdigit():
            result = int(value.strip())
        else:
            result = wrong("a non-negative integer or null")
    elif name in ("use_cache", "client_secret_set"):
        if value is None:
            result = None
        else:
            try:
                result = _as_bool(value)
            except ValueError:
                result = wrong("true, false or null")
    return _default(name) if result is missing else result


def _default(name: str) -> Any:
    return getattr(Settings(), name)


def _normalise(
    s: Settings,
    origin: Mapping[str, str] | None = None,
    *,
    require_identity: bool = True,
) -> tuple[Settings, list[Finding]]:
    """Validate every field; return the normalised Settings and the findings."""
    origin = origin or {}
    findings: list[Finding] = []
    changes: dict[str, Any] = {}
    sub = lambda name: _subject(origin, name)  # noqa: E731

    # Enum fields may arrive as plain strings when Settings(...) is built by hand.
    credential = _enum(s.credential, Credential, _CREDENTIAL_ALIASES)
    if credential is None:
        findings.append(
            CREDENTIAL_UNKNOWN(
                sub("credential"), f"credential {shown(s.credential)} is not a credential mode."
            )
        )
        credential = Credential.CLIENT_SECRET
    changes["credential"] = credential
    target = _enum(s.target, Target, _TARGET_ALIASES)
    if target is None:
        findings.append(TARGET_UNKNOWN(sub("target"), f"target {shown(s.target)} is not a target."))
        target = Target.ENV
    changes["target"] = target

    if isinstance(s.name, str):
        changes["name"] = s.name.strip() or "default"
    else:
        findings.append(WRONG_TYPE(sub("name"), f"name must be a string, not {shown(s.name)}."))
        changes["name"] = "default"

    changes["vault_url"], found = check_vault_url(s.vault_url, sub("vault_url"))
    findings += found
    changes["tenant_id"], found = check_tenant(s.tenant_id, sub("tenant_id"))
    findings += found
    changes["workload_identity_tenant_id"], found = check_tenant(
        s.workload_identity_tenant_id, sub("workload_identity_tenant_id")
    )
    findings += found
    changes["client_id"], found = check_guid(s.client_id, sub("client_id"))
    findings += found
    changes["managed_identity_client_id"], found = check_guid(
        s.managed_identity_client_id, sub("managed_identity_client_id")
    )
    findings += found

    secret_env = s.client_secret_env
    # A secret-looking value is reported whatever the mode; an empty name only when a
    # variable must be named (not when the secret sits in backend_kwargs).
    needs_name = credential is Credential.CLIENT_SECRET and (secret_env or require_identity)
    if looks_like_secret(secret_env) or needs_name:
        changes["client_secret_env"], found = check_env_var_name(
            secret_env, sub("client_secret_env")
        )
        findings += found
    elif isinstance(secret_env, str):
        changes["client_secret_env"] = secret_env.strip()

    if credential is Credential.CLIENT_SECRET and require_identity:
        for name, env in (("tenant_id", "AZURE_TENANT_ID"), ("client_id", "AZURE_CLIENT_ID")):
            if not changes[name] and not any(
                f.subject == sub(name) and f.code != WHITESPACE.code for f in findings
            ):
                findings.append(
                    IDENTITY_MISSING(
                        sub(name),
                        f"{sub(name)} is not set; a service principal needs it "
                        f"(in Airflow usually as {env}).",
                    )
                )

    sep, found = check_sep(s.sep, sub("sep"))
    findings += found
    changes["sep"] = sep
    for name in _PREFIX_FIELDS:
        changes[name], found = check_prefix(getattr(s, name), sub(name), sep)
        findings += found

    for name in _VERSION_FIELDS:
        _, found = parse_version(getattr(s, name), sub(name))
        findings += found
        value = getattr(s, name)
        changes[name] = value.strip() if isinstance(value, str) and not found else value

    for name in ("variables", "connections"):
        value = getattr(s, name)
        if not isinstance(value, list | tuple):
            findings.append(
                WRONG_TYPE(sub(name), f"{name} must be a list of strings, not {shown(value)}.")
            )
            changes[name] = []
            continue
        ids: list[str] = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                findings.append(
                    WRONG_TYPE(f"{sub(name)}[{i}]", f"must be a string, not {shown(item)}.")
                )
            elif not item.strip():
                findings.append(PROBE_ID_EMPTY(f"{sub(name)}[{i}]", f"{name}[{i}] is empty."))
            else:
                ids.append(_trim(item, f"{sub(name)}[{i}]", findings))
        changes[name] = ids

    rt = s.retry_total
    if rt is not None and (isinstance(rt, bool) or not isinstance(rt, int) or rt < 0):
        findings.append(
            WRONG_TYPE(
                sub("retry_total"),
                f"retry_total must be a non-negative integer or null, not {shown(rt)}.",
            )
        )
        changes["retry_total"] = 3
    for name in ("use_cache", "client_secret_set"):
        value = getattr(s, name)
        if value is not None and not isinstance(value, bool):
            findings.append(
                WRONG_TYPE(sub(name), f"{name} must be true, false or null, not {shown(value)}.")
            )
            changes[name] = None

    version_subjects = {sub(n) for n in _VERSION_FIELDS}
    versions_ok = not any(
        f.code in (VERSION_INVALID.code, WRONG_TYPE.code) and f.subject in version_subjects
        for f in findings
    )
    if (s.airflow_version or s.provider_version or s.python_version) and versions_ok:
        from helpers.backend_config.lint import lint_versions

        findings += lint_versions(
            changes["airflow_version"], changes["provider_version"], changes["python_version"]
        )
    return dataclasses.replace(s, **changes), findings


def validate_settings(s: Settings) -> list[Finding]:
    """Every problem with a Settings object, as findings (never raises)."""
    try:
        return _normalise(s)[1]
    except Exception as err:  # a last guard: validation must never raise
        return [WRONG_TYPE("settings", f"settings could not be validated ({type(err).__name__}).")]


def settings_from_mapping(data: Mapping[str, Any] | None) -> tuple[Settings, list[Finding]]:
    """Settings from keyword arguments or a parsed YAML/JSON document."""
    findings: list[Finding] = []
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        return Settings(), [
            SETTINGS_FILE_UNREADABLE(
                "settings", f"settings must be a mapping of names to values, not {shown(data)}."
            )
        ]
    values: dict[str, Any] = {}
    secrets: list[str] = []
    for key, value in data.items():
        if not isinstance(key, str):
            findings.append(UNKNOWN_KEY(str(key), f"setting names are strings, not {shown(key)}."))
            continue
        if key == "client_secret":
            if isinstance(value, str):
                secrets.append(value)
            findings.append(
                SECRET_IN_SETTINGS(
                    key,
                    f"client_secret was given ({fingerprint(str(value)) if value else 'empty'}); "
                    "it is ignored — use client_secret_env.",
                )
            )
            continue
        if key not in _FIELDS:
            guess = suggest(key, _FIELDS)
            findings.append(
                UNKNOWN_KEY(
                    key,
                    f"unknown setting {shown(key)}"
                    + (f"; did you mean {guess!r}?" if guess else "."),
                    suggestion=guess,
                )
            )
            continue
        values[key] = _coerce_field(key, value, key, findings)
    try:
        s = Settings(**values)
    except Exception:  # pragma: no cover - every field was coerced above
        s = Settings()
    s, found = _normalise(s)
    return s, scrub(findings + found, secrets)


def load_settings(path: str | Path) -> tuple[Settings, list[Finding]]:
    """Settings from a YAML or JSON file (JSON is YAML; a .json file is parsed as JSON)."""
    import yaml

    try:
        p = Path(path)
    except TypeError:
        return Settings(), [SETTINGS_FILE_UNREADABLE(str(path), f"not a path: {shown(path)}.")]
    subject = str(p)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, ValueError) as err:
        return Settings(), [SETTINGS_FILE_UNREADABLE(subject, f"cannot read {p}: {err}")]
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text) if text.strip() else {}
        else:
            data = yaml.safe_load(text)
    except json.JSONDecodeError as err:
        return Settings(), [
            SETTINGS_FILE_UNREADABLE(
                subject,
                f"{p.name}: invalid JSON at line {err.lineno} column {err.colno}: {err.msg}",
            )
        ]
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or type(err).__name__
        return Settings(), [
            SETTINGS_FILE_UNREADABLE(subject, f"{p.name}: invalid YAML{where}: {problem}")
        ]
    except RecursionError:
        return Settings(), [SETTINGS_FILE_UNREADABLE(subject, f"{p.name} is nested too deeply.")]
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        return Settings(), [
            SETTINGS_FILE_UNREADABLE(
                subject, f"{p.name}: the top level is {shown(data)}, not a mapping of settings."
            )
        ]
    return settings_from_mapping(data)


def settings_from_backend_kwargs(
    kwargs: Mapping[str, Any],
    *,
    subject: str = "backend_kwargs",
    origins: Mapping[str, str] | None = None,
    require_identity: bool = False,
) -> tuple[Settings, list[Finding]]:
    """Settings as the provider would see these backend kwargs (its defaults where absent).

    Only value findings are returned; structural ones (a secret in the kwargs, unknown keys,
    half-set credentials) are :func:`helpers.backend_config.lint.lint_backend_kwargs`'s. ``origins``
    names where each key came from (finding subjects); default ``<subject>.<key>``.
    """
    findings: list[Finding] = []
    if not isinstance(kwargs, Mapping):
        return Settings(), [
            WRONG_TYPE(subject, f"{subject} must be a mapping, not {shown(kwargs)}.")
        ]
    origin = {k: f"{subject}.{k}" for k in _FIELDS} | dict(origins or {})
    values: dict[str, Any] = {
        "config_prefix": PROVIDER_DEFAULT_PREFIXES["config_prefix"],
        "retry_total": None,
    }
    for key in (*PROVIDER_KWARGS, "retry_total"):
        if key not in kwargs or key == "client_secret":
            continue
        values[key] = _coerce_field(key, kwargs[key], origin[key], findings)
    secret = kwargs.get("client_secret")
    if values.get("workload_identity_tenant_id") and values.get("managed_identity_client_id"):
        values["credential"] = Credential.WORKLOAD_IDENTITY
    elif values.get("managed_identity_client_id") and not secret:
        values["credential"] = Credential.MANAGED_IDENTITY
    if secret:
        values["credential"] = Credential.CLIENT_SECRET
        values["client_secret_env"] = ""
        values["client_secret_set"] = True
    s, found = _normalise(Settings(**values), origin, require_identity=require_identity)
    return s, scrub(findings + found, [secret] if isinstance(secret, str) else [])


def _kwarg_overrides(environ: Mapping[str, str], prefix: str) -> dict[str, str]:
    return {
        k[len(prefix) :].lower(): v
        for k, v in environ.items()
        if isinstance(k, str) and k.startswith(prefix) and k[len(prefix) :]
    }


def settings_from_environment(environ: Mapping[str, str]) -> tuple[Settings, list[Finding]]:
    """Settings from a process environment, as Airflow and azure-identity would read it.

    Reads ``AIRFLOW__SECRETS__BACKEND_KWARGS`` (JSON), the per-key
    ``AIRFLOW__SECRETS__BACKEND_KWARG__<KEY>`` overrides (Airflow 3.3; raw strings that win
    over the JSON), ``AZURE_TENANT_ID`` / ``AZURE_CLIENT_ID``, whether ``AZURE_CLIENT_SECRET``
    is set (never its value) and ``AZURE_KEYVAULT_URL`` as a fallback vault URL.
    """
    from helpers.backend_config.lint import parse_backend_kwargs

    if not isinstance(environ, Mapping):
        return Settings(), [
            WRONG_TYPE("environment", f"the environment must be a mapping, not {shown(environ)}.")
        ]
    env = {k: v for k, v in environ.items() if isinstance(k, str)}
    findings: list[Finding] = []
    for k, v in env.items():
        if not isinstance(v, str) and v is not None:
            findings.append(WRONG_TYPE(k, f"{k} must be a string, not {shown(v)}."))
    env = {k: v for k, v in env.items() if isinstance(v, str)}
    secret_values = [env.get("AZURE_CLIENT_SECRET")]

    kwargs_name = "AIRFLOW__SECRETS__BACKEND_KWARGS"
    kwargs: dict[str, Any] = {}
    if kwargs_name in env:
        parsed, found = parse_backend_kwargs(env[kwargs_name], subject=kwargs_name, repair=True)
        findings += found
        kwargs = dict(parsed or {})
    overrides = _kwarg_overrides(env, "AIRFLOW__SECRETS__BACKEND_KWARG__")
    kwargs.update(overrides)
    secret_values.append(kwargs.get("client_secret"))

    origin = {k: f"{kwargs_name}.{k}" for k in _FIELDS}
    for key in overrides:
        origin[key] = f"AIRFLOW__SECRETS__BACKEND_KWARG__{key.upper()}"
    values: dict[str, Any] = {
        "config_prefix": PROVIDER_DEFAULT_PREFIXES["config_prefix"],
        "retry_total": None,
    }
    for key in (*PROVIDER_KWARGS, "retry_total"):
        if key in kwargs and key != "client_secret":
            values[key] = _coerce_field(key, kwargs[key], origin[key], findings)

    backend_configured = bool(env.get("AIRFLOW__SECRETS__BACKEND", "").strip())
    if not values.get("vault_url") and env.get("AZURE_KEYVAULT_URL", "").strip():
        values["vault_url"] = env["AZURE_KEYVAULT_URL"]
        origin["vault_url"] = "AZURE_KEYVAULT_URL"
        if backend_configured:
            findings.append(
                KEYVAULT_URL_ENV_ONLY(
                    "AZURE_KEYVAULT_URL",
                    "the vault URL comes from AZURE_KEYVAULT_URL, which the backend does not "
                    "read; backend_kwargs has no vault_url.",
                )
            )

    # The provider uses tenant_id/client_id/client_secret kwargs only as a complete trio;
    # otherwise DefaultAzureCredential reads AZURE_* (the kwargs are ignored).
    secret_in_kwargs = all(kwargs.get(k) for k in ("tenant_id", "client_id", "client_secret"))
    if not secret_in_kwargs:
        for key, env_name in (("tenant_id", "AZURE_TENANT_ID"), ("client_id", "AZURE_CLIENT_ID")):
            values[key] = env.get(env_name, "")
            origin[key] = env_name
    secret_env = "AZURE_CLIENT_SECRET"
    has_secret_var = secret_env in env
    federated = bool(env.get("AZURE_FEDERATED_TOKEN_FILE", "").strip())
    if secret_in_kwargs:
        values["credential"] = Credential.CLIENT_SECRET
        values["client_secret_env"] = ""
        values["client_secret_set"] = True
    elif has_secret_var:
        values["credential"] = Credential.CLIENT_SECRET
        values["client_secret_env"] = secret_env
        values["client_secret_set"] = bool(env[secret_env])
        if not env[secret_env]:
            findings.append(SECRET_ENV_EMPTY(secret_env, f"{secret_env} is set but empty."))
        elif not env[secret_env].strip():
            findings.append(SECRET_ENV_EMPTY(secret_env, f"{secret_env} holds only whitespace."))
        elif env[secret_env].strip() != env[secret_env]:
            findings.append(
                WHITESPACE(secret_env, f"{secret_env}: surrounding whitespace around the value.")
            )
    elif federated or values.get("workload_identity_tenant_id"):
        values["credential"] = Credential.WORKLOAD_IDENTITY
    else:
        values["credential"] = Credential.MANAGED_IDENTITY
        if not values.get("managed_identity_client_id") and env.get("AZURE_CLIENT_ID"):
            values["managed_identity_client_id"] = env["AZURE_CLIENT_ID"]
            origin["managed_identity_client_id"] = "AZURE_CLIENT_ID"
        if env.get("AZURE_TENANT_ID") and env.get("AZURE_CLIENT_ID"):
            findings.append(
                AZURE_ENV_PARTIAL(
                    "AZURE_CLIENT_SECRET",
                    "AZURE_TENANT_ID and AZURE_CLIENT_ID are set, AZURE_CLIENT_SECRET is not.",
                )
            )
    if "AIRFLOW__SECRETS__USE_CACHE" in env:
        try:
            values["use_cache"] = _as_bool(env["AIRFLOW__SECRETS__USE_CACHE"])
        except ValueError:
            findings.append(
                WRONG_TYPE(
                    "AIRFLOW__SECRETS__USE_CACHE",
                    f"AIRFLOW__SECRETS__USE_CACHE {shown(env['AIRFLOW__SECRETS__USE_CACHE'])} "
                    "is not a boolean.",
                )
            )
    values["target"] = Target.ENV
    # A secret inside the kwargs names no variable; lint_backend_kwargs checks that trio.
    require = values["credential"] is Credential.CLIENT_SECRET and not secret_in_kwargs
    s, found = _normalise(Settings(**values), origin, require_identity=require)
    return s, scrub(findings + found, secret_values)


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


def settings_from_airflow_cfg(text: str) -> tuple[Settings, list[Finding]]:
    """Settings from the ``[secrets]`` section of an airflow.cfg (backend_kwargs, use_cache)."""
    from helpers.backend_config.lint import _read_cfg, cfg_options, parse_backend_kwargs

    if not isinstance(text, str | bytes):
        return Settings(), [
            WRONG_TYPE("airflow.cfg", f"airflow.cfg text must be a string, not {shown(text)}.")
        ]
    parser, unparsable = _read_cfg(text, "airflow.cfg")
    if parser is None:
        return Settings(target=Target.AIRFLOW_CFG), unparsable
    options, findings = cfg_options(parser, ("secrets",))
    kwargs: dict[str, Any] = {}
    subject = "[secrets] backend_kwargs"
    if ("secrets", "backend_kwargs") in options:
        parsed, found = parse_backend_kwargs(
            options[("secrets", "backend_kwargs")], subject=subject, repair=True
        )
        findings += found
        kwargs = dict(parsed or {})
    s, found = settings_from_backend_kwargs(kwargs, subject=subject)
    findings += found
    changes: dict[str, Any] = {"target": Target.AIRFLOW_CFG}
    if ("secrets", "use_cache") in options:
        try:
            changes["use_cache"] = _as_bool(options[("secrets", "use_cache")])
        except ValueError:
            findings.append(
                WRONG_TYPE("[secrets] use_cache", "[secrets] use_cache is not a boolean.")
            )
    secret = kwargs.get("client_secret")
    return dataclasses.replace(s, **changes), scrub(
        findings, [secret] if isinstance(secret, str) else []
    )
