"""The settings schema: the enums with their ONE alias table each, the Settings dataclass and
the ONE field table that drives coercion (:mod:`helpers.settings.load`), validation and the
widget forms; plus the small text helpers every finding uses to show a value safely.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from helpers.common.facts import ENV_NAME_RE, GUID_RE
from helpers.common.redact import fingerprint, looks_like_secret

__all__ = [
    "CACHE_TTL_DEFAULT",
    "CACHE_TTL_ROTATION_MAX",
    "CLOUDS",
    "CREDENTIAL_ALIASES",
    "DOMAIN_RE",
    "ENV_NAME_RE",
    "FIELDS",
    "FIELD_KINDS",
    "FIELD_SPECS",
    "GUID_RE",
    "NIL_GUID",
    "PROVIDER_DEFAULT_PREFIXES",
    "PROVIDER_KWARGS",
    "RETRY_TOTAL_DEFAULT",
    "RETRY_TOTAL_MAX",
    "SECRET_NAME_CHARS_RE",
    "TARGET_ALIASES",
    "TARGET_LABELS",
    "VAULT_NAME_RE",
    "VAULT_SUFFIXES",
    "Cloud",
    "Credential",
    "FieldSpec",
    "Settings",
    "Target",
    "accepted_names",
    "bad_name_chars",
    "cloud_of",
    "fields_of",
    "parse_enum",
    "env_name_or_none",
    "is_placeholder",
    "looks_like_secret",
    "parse_credential",
    "parse_target",
    "shown",
    "shown_env_name",
    "suggest",
    "vault_host_parts",
    "vault_name_from_url",
]


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
    # None named: the probe checks read access without assuming a secret exists.
    variables: list[str] = field(default_factory=list)
    connections: list[str] = field(default_factory=list)
    retry_total: int | None = 3
    # Added fields (all optional):
    workload_identity_tenant_id: str = ""
    # The workload identity token file; "" = AZURE_FEDERATED_TOKEN_FILE (the webhook sets it).
    federated_token_file: str = ""
    python_version: str | None = None
    # [secrets] use_cache as configured (None: not known). Matters for parse-time lookups.
    use_cache: bool | None = None
    # [secrets] cache_ttl_seconds (None: not set; Airflow's default CACHE_TTL_DEFAULT applies).
    cache_ttl_seconds: int | None = None
    # Whether the variable named by client_secret_env was set (and non-empty) when loaded
    # from an environment; None when not known. The value itself is never recorded.
    client_secret_set: bool | None = None


# The ONE alias table per enum. Besides these, every member's value is accepted in any case
# and with "-" for "_" (see parse_enum).
CREDENTIAL_ALIASES: dict[str, Credential] = {
    "service_principal": Credential.CLIENT_SECRET,
    "sp": Credential.CLIENT_SECRET,
    "secret": Credential.CLIENT_SECRET,
    "msi": Credential.MANAGED_IDENTITY,
    "managed": Credential.MANAGED_IDENTITY,
    "workload": Credential.WORKLOAD_IDENTITY,
}
TARGET_ALIASES: dict[str, Target] = {
    "airflow.cfg": Target.AIRFLOW_CFG,
    "cfg": Target.AIRFLOW_CFG,
    "docker_compose": Target.COMPOSE,
    "docker-compose": Target.COMPOSE,
    "helm_chart": Target.HELM,
    "data_factory": Target.ADF,
    "shell": Target.ENV,
    "environment": Target.ENV,
}
_ALIASES: dict[type[StrEnum], Mapping[str, StrEnum]] = {
    Credential: CREDENTIAL_ALIASES,
    Target: TARGET_ALIASES,
}


def parse_enum(value: object, enum: type[StrEnum]) -> StrEnum | None:
    """The member ``value`` names (its value, with "-" for "_", or an alias), else None."""
    if isinstance(value, enum):
        return value
    if not isinstance(value, str):
        return None
    key = value.strip().lower()
    for member in enum:
        if key in (member.value, member.value.replace("_", "-")):
            return member
    return _ALIASES.get(enum, {}).get(key)


def parse_target(value: object) -> Target | None:
    return parse_enum(value, Target)  # type: ignore[return-value]


def parse_credential(value: object) -> Credential | None:
    return parse_enum(value, Credential)  # type: ignore[return-value]


def accepted_names(enum: type[StrEnum]) -> list[str]:
    """Every spelling :func:`parse_enum` accepts for ``enum`` (values first, then aliases)."""
    names = [m.value for m in enum]
    names += [m.value.replace("_", "-") for m in enum if "_" in m.value]
    return names + [a for a in _ALIASES.get(enum, {}) if a not in names]


# The order the target dropdown offers them in, with the label each is shown under.
TARGET_LABELS: dict[Target, str] = {
    Target.ENV: "Environment variables",
    Target.AIRFLOW_CFG: "airflow.cfg",
    Target.HELM: "Helm chart values",
    Target.COMPOSE: "docker compose",
    Target.FABRIC: "Microsoft Fabric",
    Target.ADF: "Azure Data Factory",
}
assert set(TARGET_LABELS) == set(Target), "every target has a label"


@dataclass(frozen=True)
class FieldSpec:
    """One Settings field. ``kind`` drives coercion and validation; a form shows the field
    under ``label`` with ``placeholder`` and ``help`` (its tooltip), offers ``choices``
    (label, value) for an enum, and validates a typed value with ``check``: the name of a
    function in :mod:`helpers.settings.checks` (resolved by :mod:`helpers.settings.fields`,
    since checks imports this module)."""

    kind: str
    label: str = ""
    placeholder: str = ""
    help: str = ""
    check: str | None = None
    choices: tuple[tuple[str, str], ...] = ()


# The ONE field table. Coercion (load.coerce_field), validation (load.normalise) and the
# widget forms (helpers.widgets) all read it; adding or renaming a field happens here.
FIELD_SPECS: dict[str, FieldSpec] = {
    "name": FieldSpec("text"),
    "vault_url": FieldSpec(
        "text",
        label="Vault URL",
        placeholder="https://<vault-name>.vault.azure.net/",
        help='The vault\'s "Vault URI" from its Overview page in the Azure portal.',
        check="check_vault_url",
    ),
    "tenant_id": FieldSpec(
        "text",
        label="Tenant ID",
        placeholder="Directory (tenant) ID, a GUID",
        help='"Directory (tenant) ID" from the app registration\'s Overview page.',
        check="check_tenant",
    ),
    "client_id": FieldSpec(
        "text",
        label="Client ID",
        placeholder="Application (client) ID, a GUID",
        help='"Application (client) ID" from the app registration\'s Overview page '
        "(not its object id).",
        check="check_guid",
    ),
    "credential": FieldSpec("credential"),
    "client_secret_env": FieldSpec(
        "text",
        label="Secret variable",
        placeholder="AZURE_CLIENT_SECRET",
        help="The NAME of the environment variable that holds the client secret "
        "(Airflow reads AZURE_CLIENT_SECRET). Never the secret itself.",
        check="check_env_var_name",
    ),
    "managed_identity_client_id": FieldSpec("text", check="check_guid"),
    "connections_prefix": FieldSpec(
        "prefix",
        label="Connections prefix",
        help="backend_kwargs connections_prefix",
        check="check_prefix",
    ),
    "variables_prefix": FieldSpec(
        "prefix",
        label="Variables prefix",
        help="backend_kwargs variables_prefix",
        check="check_prefix",
    ),
    "config_prefix": FieldSpec("prefix", check="check_prefix"),
    "sep": FieldSpec(
        "sep", label="Separator", help="backend_kwargs sep (default '-')", check="check_sep"
    ),
    "target": FieldSpec(
        "target",
        label="Target",
        help="Where Airflow runs: the overrides are rendered in that platform's form.",
        choices=tuple((label, t.value) for t, label in TARGET_LABELS.items()),
    ),
    "airflow_version": FieldSpec("version", check="parse_version"),
    "provider_version": FieldSpec("version", check="parse_version"),
    "variables": FieldSpec(
        "ids", label="Variables", help="Variable ids your DAGs read, comma-separated"
    ),
    "connections": FieldSpec(
        "ids", label="Connections", help="Connection ids your DAGs use, comma-separated"
    ),
    "retry_total": FieldSpec("count", check="check_retry_total"),
    "workload_identity_tenant_id": FieldSpec("text", check="check_tenant"),
    "federated_token_file": FieldSpec(
        "text",
        label="Token file",
        placeholder="/var/run/secrets/azure/tokens/azure-identity-token",
        help="Workload identity: the projected service-account token's path (default: "
        "AZURE_FEDERATED_TOKEN_FILE, which the AKS webhook sets).",
        check="check_token_file",
    ),
    "python_version": FieldSpec("version", check="parse_version"),
    "use_cache": FieldSpec(
        "flag",
        label="Secrets cache",
        help="[secrets] use_cache: caches lookups made while parsing DAG files (never in tasks).",
    ),
    "cache_ttl_seconds": FieldSpec(
        "count",
        label="Cache TTL (s)",
        placeholder="900",
        help="[secrets] cache_ttl_seconds: how long DAG parsing may reuse a cached value "
        "(a rotated secret is served stale that long). Needs use_cache.",
        check="check_cache_ttl",
    ),
    "client_secret_set": FieldSpec("flag"),
}
# Each field's kind, as coercion and validation dispatch on it.
FIELD_KINDS: dict[str, str] = {name: spec.kind for name, spec in FIELD_SPECS.items()}
FIELDS = tuple(f.name for f in dataclasses.fields(Settings))
assert set(FIELDS) == set(FIELD_SPECS), "every Settings field has a spec"


def fields_of(kind: str) -> tuple[str, ...]:
    return tuple(name for name in FIELDS if FIELD_KINDS[name] == kind)


@dataclass(frozen=True)
class Cloud:
    """One Azure cloud as a vault URL reveals it: its name and its Entra authority host."""

    name: str
    authority_host: str
    sovereign: bool = False  # azure-identity defaults to the public cloud's authority


# The ONE cloud table: Key Vault DNS suffix -> its cloud (public, China, US Government).
# The vault URL check, the role commands and the renderer's AZURE_AUTHORITY_HOST read it.
CLOUDS: dict[str, Cloud] = {
    "vault.azure.net": Cloud("AzureCloud", "https://login.microsoftonline.com"),
    "vault.azure.cn": Cloud("AzureChinaCloud", "https://login.chinacloudapi.cn", sovereign=True),
    "vault.usgovcloudapi.net": Cloud(
        "AzureUSGovernment", "https://login.microsoftonline.us", sovereign=True
    ),
}
# Suffix -> cloud name (a view of CLOUDS).
VAULT_SUFFIXES: dict[str, str] = {suffix: cloud.name for suffix, cloud in CLOUDS.items()}
# retry_total: rendered when a value is unusable; more than the bound only stretches a stall.
RETRY_TOTAL_DEFAULT = 3
RETRY_TOTAL_MAX = 10  # azure-core's own default
# [secrets] cache_ttl_seconds: Airflow's default, and the longest TTL the runbook accepts
# without AKV-CFG-035 — past an hour, DAG parsing serves a rotated secret's old value too long.
CACHE_TTL_DEFAULT = 900
CACHE_TTL_ROTATION_MAX = 3600
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

NIL_GUID = "00000000-0000-0000-0000-000000000000"
_DOMAIN_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN_RE = re.compile(rf"(?:{_DOMAIN_LABEL}\.)+[a-z]{{2,63}}\Z")
VAULT_NAME_RE = re.compile(r"[a-zA-Z](?:[a-zA-Z0-9-]{1,22})[a-zA-Z0-9]\Z")
SECRET_NAME_CHARS_RE = re.compile(r"[0-9a-zA-Z-]*\Z")
_PLACEHOLDER_RE = re.compile(
    r"<[^<>]*>|\\<|\{\{?\s*your|(?i:\byour[-_ ]?(?:key[-_ ]?vault|vault|tenant|client))"
    r"|\Ax{8}-x{4}|(?i:\Achange[-_ ]?me\Z)"
)


# -- showing values safely ----------------------------------------------------------------


def bad_name_chars(text: str) -> list[str]:
    """The characters of ``text`` a Key Vault secret name cannot hold (only 0-9a-zA-Z-)."""
    return sorted({c for c in text if not (c.isascii() and (c.isalnum() or c == "-"))})


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


def shown(value: object, limit: int = 80, *, quote: bool = True) -> str:
    """The one way a value a person typed is shown anywhere (findings, tables, reports):
    shortened, quoted unless ``quote=False``, and only a fingerprint if it looks like a
    secret — a secret pasted into the wrong field is never echoed."""
    if not isinstance(value, str):
        return f"a {type(value).__name__}"
    if looks_like_secret(value):
        return f"<secret-like value, {fingerprint(value)}>"
    text = value if len(value) <= limit else value[:limit] + "…"
    return repr(text) if quote else text


def is_placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER_RE.search(value)) or value.strip() == NIL_GUID


def suggest(key: str, known: Iterable[str]) -> str | None:
    """The known key a typo most likely meant, or None."""
    lowered = key.lower().replace("-", "_")
    known = list(known)
    if lowered in known and lowered != key:
        return lowered
    match = difflib.get_close_matches(lowered, known, n=1, cutoff=0.75)
    return match[0] if match else None


# -- vault URLs ---------------------------------------------------------------------------
def vault_host_parts(vault_url: object) -> tuple[str, str] | None:
    """(vault name, DNS suffix) of a vault URL (scheme optional), lower-cased; None when its
    host is not ``<name>.<a suffix of CLOUDS>``."""
    text = str(vault_url or "").strip()
    if "://" not in text:
        text = "//" + text
    try:
        host = (urlsplit(text).hostname or "").lower()
    except ValueError:
        return None
    name, _, suffix = host.partition(".")
    return (name, suffix) if name and suffix in CLOUDS else None


def vault_name_from_url(vault_url: object) -> str | None:
    """``https://my-kv.vault.azure.net/`` -> ``my-kv`` (None when it is not a vault URL)."""
    parts = vault_host_parts(vault_url)
    return parts[0] if parts else None


def cloud_of(vault_url: object) -> Cloud | None:
    """The cloud a vault URL lives in (None when it is not a vault URL)."""
    parts = vault_host_parts(vault_url)
    return CLOUDS[parts[1]] if parts else None
