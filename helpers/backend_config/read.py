"""Read a live configuration: the documents (airflow.cfg, JSON, YAML, KEY=value) and the
Settings the backend would see in them.

Each reader returns ``(Settings, findings)`` and never raises:

- :func:`settings_from_environment` — ``AIRFLOW__SECRETS__BACKEND_KWARGS``, the per-key
  ``AIRFLOW__SECRETS__BACKEND_KWARG__<KEY>`` overrides and ``AZURE_*``;
- :func:`settings_from_airflow_cfg` — the ``[secrets]`` section of an ``airflow.cfg``;
- :func:`settings_from_backend_kwargs` — an already parsed ``backend_kwargs`` mapping.

Which credential a configuration selects comes from :mod:`helpers.backend_config.identity`;
value coercion and validation from :mod:`helpers.settings.load`.
"""

from __future__ import annotations

import configparser
import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from helpers.backend_config.identity import (
    CLIENT_SECRET_ENV,
    ENV_OF_KWARG,
    kind_from_env,
    kind_from_kwargs,
    secret_in_kwargs,
)
from helpers.backend_config.kwargs import _TYPO_QUOTES, _line_col, _loads, read_backend_kwargs
from helpers.common.textio import InputError, load_yaml
from helpers.findings import Finding, scrub_findings
from helpers.findings.codes.cfg import CONFIG_UNPARSABLE, ENV_LINE_IGNORED
from helpers.findings.codes.set import (
    AZURE_ENV_PARTIAL,
    KEYVAULT_URL_ENV_ONLY,
    SECRET_ENV_EMPTY,
    WHITESPACE,
    WRONG_TYPE,
)
from helpers.settings import ENV_NAME_RE, Credential, Settings, Target, parse_version, shown
from helpers.settings.checks import check_cache_ttl
from helpers.settings.load import as_bool, coerce_field, coerce_provider_kwargs, normalise
from helpers.settings.schema import FIELDS

__all__ = [
    "PER_KEY_PREFIX",
    "cfg_options",
    "json_document",
    "kwarg_overrides",
    "looks_like_env",
    "env_file_problems",
    "parse_env_file",
    "read_cfg",
    "settings_from_airflow_cfg",
    "settings_from_backend_kwargs",
    "settings_from_environment",
    "yaml_document",
]

KWARGS_VAR = "AIRFLOW__SECRETS__BACKEND_KWARGS"
PER_KEY_PREFIX = "AIRFLOW__SECRETS__BACKEND_KWARG__"


# -- documents -------------------------------------------------------------------------------
def read_cfg(text: object, label: str) -> tuple[configparser.ConfigParser | None, list[Finding]]:
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str):
        return None, [CONFIG_UNPARSABLE(label, f"{label} must be text, not {shown(text)}.")]
    parser = configparser.ConfigParser(strict=False)  # Airflow's parser interpolates: %% is %
    try:
        parser.read_string(text)
    except configparser.Error as err:
        first = (str(err).splitlines() or [type(err).__name__])[0]
        return None, [CONFIG_UNPARSABLE(label, f"{label} cannot be parsed: {first[:200]}")]
    return parser, []


def cfg_options(
    parser: configparser.ConfigParser, sections: tuple[str, ...], label: str = "airflow.cfg"
) -> tuple[dict[tuple[str, str], str], list[Finding]]:
    """The options of some sections, interpolated as Airflow reads them."""
    options: dict[tuple[str, str], str] = {}
    findings: list[Finding] = []
    for section in sections:
        if not parser.has_section(section):
            continue
        for key in parser.options(section):
            try:
                options[(section, key)] = parser.get(section, key)
            except configparser.Error:
                findings.append(
                    CONFIG_UNPARSABLE(
                        f"[{section}] {key}",
                        f"{label}: [{section}] {key} has a lone '%'; Airflow needs '%%' there.",
                    )
                )
    return options, findings


def json_document(text: object, label: str) -> tuple[Any, list[Finding]]:
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8-sig", errors="replace")
    if not isinstance(text, str):
        return None, [CONFIG_UNPARSABLE(label, f"{label} must be text, not {shown(text)}.")]
    obj, err, _ = _loads(text.strip().lstrip("\ufeff"))
    if err is not None:
        pos = getattr(err, "pos", None)
        where = ""
        if isinstance(pos, int):
            line, col = _line_col(text.strip(), pos)
            where = f" at line {line} column {col}"
        msg = getattr(err, "msg", None) or type(err).__name__
        typos = any(ch in _TYPO_QUOTES for ch in text)
        hint = " (typographic quotes in the file)" if typos else ""
        return None, [CONFIG_UNPARSABLE(label, f"{label} is not valid JSON: {msg}{where}{hint}.")]
    return obj, []


def yaml_document(text: object, label: str) -> tuple[Any, list[Finding]]:
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8-sig", errors="replace")
    if not isinstance(text, str):
        return None, [CONFIG_UNPARSABLE(label, f"{label} must be text, not {shown(text)}.")]
    try:
        return load_yaml(text), []
    except InputError as err:
        return None, [
            CONFIG_UNPARSABLE(label, f"{label} is not valid YAML{err.where}: {err.reason}.")
        ]


def env_file_problems(text: str) -> list[Finding]:
    """AKV-CFG-031 for each line :func:`parse_env_file` skips although it is neither blank,
    a comment, ``NAME`` nor ``export NAME``: it sets nothing. The line itself is never shown
    (it may hold a value); a key that looks like a secret only as a fingerprint."""
    if not isinstance(text, str):
        return []
    findings = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, eq, _ = line.partition("=")
        key = key.strip()
        if eq and ENV_NAME_RE.match(key):
            continue
        if not eq and all(ENV_NAME_RE.match(name) for name in key.split()):
            continue  # NAME / export NAME: passed through from the caller
        why = "an empty key" if eq and not key else f"key {shown(key)} is not a variable name"
        findings.append(
            ENV_LINE_IGNORED(f"line {number}", f"line {number}: {why}; it sets nothing.")
        )
    return findings


def parse_env_file(text: str) -> dict[str, str]:
    """``KEY=value`` lines (``export`` allowed, quotes stripped as a shell / compose would).

    ``export NAME`` without a value passes the caller's variable through; it is returned as
    the reference ``${NAME}`` (set, value unknown).
    """
    env: dict[str, str] = {}
    if not isinstance(text, str):
        return env
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exported = line.startswith("export ")
        if exported:
            line = line[len("export ") :].lstrip()
        key, eq, value = line.partition("=")
        key = key.strip()
        if not eq and exported:
            for name in key.split():  # `export NAME`: the value comes from the caller
                if ENV_NAME_RE.match(name):
                    env[name] = "${" + name + "}"
            continue
        if not eq or not ENV_NAME_RE.match(key):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        env[key] = value
    return env


def looks_like_env(text: str) -> bool:
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")
    ]
    return bool(lines) and all(re.match(r"(export\s+)?[A-Za-z_][A-Za-z0-9_]*=", ln) for ln in lines)


def kwarg_overrides(environ: Mapping[str, str], prefix: str) -> dict[str, str]:
    """The per-key ``<prefix><KEY>`` overrides (Airflow 3.3), keyed by lower-case kwarg."""
    return {
        k[len(prefix) :].lower(): v
        for k, v in environ.items()
        if isinstance(k, str) and k.startswith(prefix) and k[len(prefix) :]
    }


# -- settings --------------------------------------------------------------------------------
def settings_from_backend_kwargs(
    kwargs: Mapping[str, Any],
    *,
    subject: str = "backend_kwargs",
    origins: Mapping[str, str] | None = None,
    require_identity: bool = False,
) -> tuple[Settings, list[Finding]]:
    """Settings as the provider would see these backend kwargs (its defaults where absent).

    Only value findings are returned; structural ones (a secret in the kwargs, unknown keys,
    half-set credentials) are :func:`helpers.backend_config.lint.lint_backend_kwargs`'s.
    ``origins`` names where each key came from (finding subjects); default ``<subject>.<key>``.
    """
    findings: list[Finding] = []
    if not isinstance(kwargs, Mapping):
        return Settings(), [
            WRONG_TYPE(subject, f"{subject} must be a mapping, not {shown(kwargs)}.")
        ]
    origin = {k: f"{subject}.{k}" for k in FIELDS} | dict(origins or {})
    values = coerce_provider_kwargs(kwargs, origin, findings)
    kind = kind_from_kwargs(kwargs)
    if kind is not None:
        values["credential"] = kind
    secret = kwargs.get("client_secret")
    if kind is Credential.CLIENT_SECRET:
        values["client_secret_env"] = ""
        values["client_secret_set"] = True
    s, found = normalise(Settings(**values), origin, require_identity=require_identity)
    return s, scrub_findings(findings + found, [secret] if isinstance(secret, str) else [])


def settings_from_environment(environ: Mapping[str, str]) -> tuple[Settings, list[Finding]]:
    """Settings from a process environment, as Airflow and azure-identity would read it.

    Reads ``AIRFLOW__SECRETS__BACKEND_KWARGS`` (JSON), the per-key
    ``AIRFLOW__SECRETS__BACKEND_KWARG__<KEY>`` overrides (Airflow 3.3; raw strings that win
    over the JSON), ``AZURE_TENANT_ID`` / ``AZURE_CLIENT_ID``, whether ``AZURE_CLIENT_SECRET``
    is set (never its value), ``AZURE_KEYVAULT_URL`` as a fallback vault URL, and
    ``AIRFLOW__SECRETS__USE_CACHE`` / ``AIRFLOW__SECRETS__CACHE_TTL_SECONDS``.
    """
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
    secret_values = [env.get(CLIENT_SECRET_ENV)]

    kwargs: dict[str, Any] = {}
    if KWARGS_VAR in env:
        _, meant, found = read_backend_kwargs(env[KWARGS_VAR], subject=KWARGS_VAR)
        findings += found
        kwargs = dict(meant or {})
    overrides = kwarg_overrides(env, PER_KEY_PREFIX)
    kwargs.update(overrides)
    secret_values.append(kwargs.get("client_secret"))

    origin = {k: f"{KWARGS_VAR}.{k}" for k in FIELDS}
    for key in overrides:
        origin[key] = f"{PER_KEY_PREFIX}{key.upper()}"
    values = coerce_provider_kwargs(kwargs, origin, findings)

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
    trio = secret_in_kwargs(kwargs)
    if not trio:
        for key in ("tenant_id", "client_id"):
            env_name = ENV_OF_KWARG[key]
            values[key] = env.get(env_name, "")
            origin[key] = env_name
    kind = kind_from_env(env, kwargs)
    values["credential"] = kind
    secret_env = CLIENT_SECRET_ENV
    if trio:
        values["client_secret_env"] = ""
        values["client_secret_set"] = True
    elif kind is Credential.CLIENT_SECRET:
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
    elif kind is Credential.MANAGED_IDENTITY:
        if not values.get("managed_identity_client_id") and env.get("AZURE_CLIENT_ID"):
            values["managed_identity_client_id"] = env["AZURE_CLIENT_ID"]
            origin["managed_identity_client_id"] = "AZURE_CLIENT_ID"
        if env.get("AZURE_TENANT_ID") and env.get("AZURE_CLIENT_ID"):
            findings.append(
                AZURE_ENV_PARTIAL(
                    secret_env,
                    "AZURE_TENANT_ID and AZURE_CLIENT_ID are set, AZURE_CLIENT_SECRET is not.",
                )
            )
    if "AIRFLOW__SECRETS__USE_CACHE" in env:
        try:
            values["use_cache"] = as_bool(env["AIRFLOW__SECRETS__USE_CACHE"])
        except ValueError:
            findings.append(
                WRONG_TYPE(
                    "AIRFLOW__SECRETS__USE_CACHE",
                    f"AIRFLOW__SECRETS__USE_CACHE {shown(env['AIRFLOW__SECRETS__USE_CACHE'])} "
                    "is not a boolean.",
                )
            )
    if "AIRFLOW__SECRETS__CACHE_TTL_SECONDS" in env:
        name = "AIRFLOW__SECRETS__CACHE_TTL_SECONDS"
        values["cache_ttl_seconds"] = coerce_field("cache_ttl_seconds", env[name], name, findings)
        origin["cache_ttl_seconds"] = name
    values["target"] = Target.ENV
    # A secret inside the kwargs names no variable; lint_backend_kwargs checks that trio.
    require = kind is Credential.CLIENT_SECRET and not trio
    s, found = normalise(Settings(**values), origin, require_identity=require)
    return s, scrub_findings(findings + found, secret_values)


def settings_from_airflow_cfg(text: str) -> tuple[Settings, list[Finding]]:
    """Settings from the ``[secrets]`` section of an airflow.cfg (backend_kwargs, use_cache,
    cache_ttl_seconds)."""
    if not isinstance(text, str | bytes):
        return Settings(), [
            WRONG_TYPE("airflow.cfg", f"airflow.cfg text must be a string, not {shown(text)}.")
        ]
    parser, unparsable = read_cfg(text, "airflow.cfg")
    if parser is None:
        return Settings(target=Target.AIRFLOW_CFG), unparsable
    options, findings = cfg_options(parser, ("secrets",))
    kwargs: dict[str, Any] = {}
    subject = "[secrets] backend_kwargs"
    if ("secrets", "backend_kwargs") in options:
        _, meant, found = read_backend_kwargs(
            options[("secrets", "backend_kwargs")], subject=subject
        )
        findings += found
        kwargs = dict(meant or {})
    s, found = settings_from_backend_kwargs(kwargs, subject=subject)
    findings += found
    changes: dict[str, Any] = {"target": Target.AIRFLOW_CFG}
    if ("secrets", "use_cache") in options:
        try:
            changes["use_cache"] = as_bool(options[("secrets", "use_cache")])
        except ValueError:
            findings.append(
                WRONG_TYPE("[secrets] use_cache", "[secrets] use_cache is not a boolean.")
            )
    if ("secrets", "cache_ttl_seconds") in options:
        name = "[secrets] cache_ttl_seconds"
        ttl = coerce_field(
            "cache_ttl_seconds", options[("secrets", "cache_ttl_seconds")], name, findings
        )
        use_cache = changes.get("use_cache") is True
        changes["cache_ttl_seconds"], found = check_cache_ttl(ttl, name, use_cache=use_cache)
        findings += found
    secret = kwargs.get("client_secret")
    return dataclasses.replace(s, **changes), scrub_findings(
        findings, [secret] if isinstance(secret, str) else []
    )


# -- effective configuration views -----------------------------------------------------------
@dataclass
class _View:
    """One effective Airflow configuration: environment plus airflow.cfg-style options."""

    label: str
    env: dict[str, str] = field(default_factory=dict)
    opaque: set[str] = field(default_factory=set)  # set, value resolved elsewhere
    cfg: dict[tuple[str, str], str] = field(default_factory=dict)
    identity: bool = True  # AZURE_* are visible here
    backend_elsewhere: bool = False  # a fragment (e.g. a .env of credentials only)
    more_env: bool = False  # env_file / extraEnvFrom: variables may come from elsewhere
    airflow_version: str | None = None

    def get(self, env_name: str, section: str, key: str) -> tuple[str, str | None, bool]:
        """(subject, value, opaque) — the environment wins over the config file."""
        if env_name in self.opaque or f"{env_name}_CMD" in self.env:
            return env_name, None, True
        if env_name in self.env:
            return env_name, self.env[env_name], False
        if (section, key) in self.cfg:
            return f"[{section}] {key}", self.cfg[(section, key)], False
        return env_name, None, False

    def has(self, name: str) -> bool:
        return name in self.opaque or bool(self.env.get(name, "").strip())


def _before_33(view: _View) -> bool:
    """Whether the view names an Airflow older than 3.3 (which ignores per-key kwargs)."""
    if not view.airflow_version:
        return False
    version, _ = parse_version(view.airflow_version, "airflow_version")
    return version is not None and version.release[:2] < (3, 3)


@dataclass(frozen=True)
class _Side:
    """One reader's backend as far as a view shows it (None: not known from here)."""

    backend: str | None
    kwargs: dict[str, Any] | None
    unknown: frozenset[str] = frozenset()  # per-key overrides set, values not visible


def _unquoted(value: str) -> str:
    text = value.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
    return text


def _side(view: _View, section: str, backend_key: str, kwargs_key: str) -> _Side:
    """The backend class and the kwargs (JSON merged with per-key overrides) one section
    gives, as Airflow builds them (a JSON value Airflow ignores: kwargs unknown)."""
    env_prefix = f"AIRFLOW__{section.upper()}__"
    _, backend, backend_opaque = view.get(env_prefix + backend_key.upper(), section, backend_key)
    subject, text, kwargs_opaque = view.get(env_prefix + kwargs_key.upper(), section, kwargs_key)
    per_key_prefix = f"{env_prefix}{kwargs_key.upper().replace('_KWARGS', '_KWARG')}__"
    per_key = kwarg_overrides(view.env, per_key_prefix)
    unknown = frozenset(
        n[len(per_key_prefix) :].lower() for n in view.opaque if n.startswith(per_key_prefix)
    )
    if _before_33(view):
        per_key, unknown = {}, frozenset()
    kwargs: dict[str, Any] | None = None
    if not kwargs_opaque:
        parsed = read_backend_kwargs(text, subject=subject)[0]
        kwargs = None if parsed is None else {**parsed, **per_key}
    known_backend = None if backend_opaque else _unquoted(backend or "")
    if known_backend == "" and view.backend_elsewhere:
        known_backend = None  # a fragment: the backend may be set elsewhere
    return _Side(known_backend, kwargs, unknown)


def _worker_side(view: _View) -> _Side | None:
    """The workers' own backend, or None when [workers] secrets_backend is unset (they fall
    back to [secrets])."""
    _, backend, opaque = view.get("AIRFLOW__WORKERS__SECRETS_BACKEND", "workers", "secrets_backend")
    if not opaque and not (backend and backend.strip()):
        return None
    return _side(view, "workers", "secrets_backend", "secrets_backend_kwargs")


def _server_side(view: _View) -> _Side:
    return _side(view, "secrets", "backend", "backend_kwargs")


def _airflow_bool(value: str) -> bool | None:
    """A boolean as Airflow's conf.getboolean reads it, None when it raises."""
    text = value.lower().strip().split("#")[0].strip()
    return {"t": True, "true": True, "1": True, "f": False, "false": False, "0": False}.get(text)


def _cache_setting(view: _View) -> tuple[str, bool | None]:
    """``[secrets] use_cache`` in this view: (subject, True/False, or None when not known:
    opaque, unreadable, or unset in a fragment whose rest is elsewhere)."""
    subject, value, opaque = view.get("AIRFLOW__SECRETS__USE_CACHE", "secrets", "use_cache")
    if opaque:
        return subject, None
    if value is None:
        return subject, None if (view.backend_elsewhere or view.more_env) else False
    return subject, _airflow_bool(value)
