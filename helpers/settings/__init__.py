"""One declarative schema for a target environment: what the backend needs to know.

Settings hold *references*, never secret values: the client secret is the name of an
environment variable (``client_secret_env``). Loading and validation return findings and
never raise.

- :mod:`.schema` — the enums and their alias tables, :class:`Settings`, the field table
  (:data:`FIELD_SPECS`: kind, label, placeholder, help and check of every field);
- :mod:`.fields` — :func:`field_check`, a field's check as the table names it;
- :mod:`.checks` — single-value checks (vault URL, tenant, GUID, variable name, prefix, sep);
- :mod:`.compat` — the provider / Airflow / Python table (AKV-VER-*);
- :mod:`.load` — :func:`settings_from_mapping`, :func:`load_settings`,
  :func:`validate_settings`.

Settings read from a live configuration (environment, airflow.cfg, backend_kwargs) come from
:mod:`helpers.backend_config.read`; this package imports nothing from ``backend_config``.
"""

from helpers.settings.checks import (
    check_env_var_name,
    check_guid,
    check_prefix,
    check_retry_total,
    check_secret_env,
    check_sep,
    check_tenant,
    check_vault_url,
    parse_version,
)
from helpers.settings.compat import lint_versions
from helpers.settings.fields import field_check
from helpers.settings.load import (
    load_settings,
    settings_from_mapping,
    validate_settings,
)
from helpers.settings.schema import (
    CLOUDS,
    CREDENTIAL_ALIASES,
    DOMAIN_RE,
    ENV_NAME_RE,
    FIELD_KINDS,
    FIELD_SPECS,
    GUID_RE,
    NIL_GUID,
    PROVIDER_DEFAULT_PREFIXES,
    PROVIDER_KWARGS,
    RETRY_TOTAL_DEFAULT,
    RETRY_TOTAL_MAX,
    SECRET_NAME_CHARS_RE,
    TARGET_ALIASES,
    TARGET_LABELS,
    VAULT_NAME_RE,
    VAULT_SUFFIXES,
    Cloud,
    Credential,
    FieldSpec,
    Settings,
    Target,
    accepted_names,
    bad_name_chars,
    cloud_of,
    env_name_or_none,
    is_placeholder,
    looks_like_secret,
    parse_credential,
    parse_enum,
    parse_target,
    shown,
    shown_env_name,
    suggest,
    vault_host_parts,
    vault_name_from_url,
)

__all__ = [
    "CLOUDS",
    "CREDENTIAL_ALIASES",
    "DOMAIN_RE",
    "ENV_NAME_RE",
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
    "check_env_var_name",
    "check_guid",
    "check_prefix",
    "check_retry_total",
    "check_secret_env",
    "check_sep",
    "check_tenant",
    "check_vault_url",
    "cloud_of",
    "env_name_or_none",
    "field_check",
    "is_placeholder",
    "lint_versions",
    "load_settings",
    "looks_like_secret",
    "parse_credential",
    "parse_enum",
    "parse_target",
    "parse_version",
    "settings_from_mapping",
    "shown",
    "shown_env_name",
    "suggest",
    "validate_settings",
    "vault_host_parts",
    "vault_name_from_url",
]
