"""Lint an existing Airflow configuration for the Azure Key Vault secrets backend.

Every linter returns ONLY problems (a clean configuration lints to no findings) and never
raises on malformed input. Sources:

- :func:`lint_backend_kwargs` — one ``backend_kwargs`` JSON text;
- :func:`lint_environment` — a process environment (``AIRFLOW__*``, ``AZURE_*``);
- :func:`lint_airflow_cfg` — an ``airflow.cfg``;
- :func:`lint_adf_export` — an ADF / Fabric Airflow environment export (JSON);
- :func:`lint_helm_values` — values for the official Apache Airflow Helm chart;
- :func:`lint_compose` — a docker compose file;
- :func:`lint_versions` — Airflow, provider and Python versions;
- :func:`lint_dags` — DAG files that read variables or connections at parse time;
- :func:`lint_file` — any of the above, by file name and content.

Codes: AKV-CFG-0xx (configuration), AKV-VER-0xx (versions), AKV-DAG-0xx (DAG files); value
problems (a vault URL, a GUID, a prefix) reuse the AKV-SET codes of :mod:`helpers.settings`.
"""

from __future__ import annotations

import ast
import configparser
import difflib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers import settings as st
from helpers.common.facts import BACKEND_CLASS, OLD_BACKEND_CLASS
from helpers.common.redact import fingerprint
from helpers.findings import Finding, unique
from helpers.findings.codes.cfg import (
    BACKEND_NOT_SET,
    BACKEND_OTHER,
    CONFIG_PREFIX_DEFAULT,
    CONFIG_UNPARSABLE,
    DUPLICATE_KEY,
    FILE_KIND_UNKNOWN,
    HELM_KWARGS_MAPPING,
    JSON_INVALID,
    JSON_NOT_OBJECT,
    KWARG_TYPO,
    KWARG_UNKNOWN,
    KWARG_WRONG_JSON_TYPE,
    MI_HALF_SET,
    NO_CREDENTIAL,
    NO_RETRY_BOUND,
    OLD_MODULE_PATH,
    OVERRIDE_REPLACES,
    OVERRIDES_NEED_33,
    PROVIDER_NOT_REQUIRED,
    SECRET_IN_FILE,
    SECRET_IN_KWARGS,
    SINGLE_QUOTES,
    SP_HALF_SET,
    TRAILING_COMMA,
    TYPOGRAPHIC_QUOTES,
    WORKERS_KWARGS_IGNORED,
    WORKERS_KWARGS_MISSING,
    WRAPPED_IN_QUOTES,
)
from helpers.findings.codes.dag import (
    DAG_DEFAULT_HIDES_ERRORS,
    DAG_LOOKUP_CACHE_OFF,
    DAG_LOOKUP_CACHED,
    DAG_TOP_LEVEL_LOOKUP,
    DAG_UNREADABLE,
)
from helpers.findings.codes.ver import (
    PROVIDER_NEEDS_AIRFLOW,
    PROVIDER_NEEDS_PYTHON,
    PROVIDER_SENDS_INVALID_NAMES,
    REAUTH_PER_LOOKUP,
)

__all__ = [
    "cfg_options",
    "lint_adf_export",
    "lint_airflow_cfg",
    "lint_backend_kwargs",
    "lint_compose",
    "lint_dags",
    "lint_environment",
    "lint_file",
    "lint_helm_values",
    "lint_versions",
    "parse_backend_kwargs",
    "parse_env_file",
]


# -- findings: configuration -----------------------------------------------------------------

# -- findings: versions ----------------------------------------------------------------------

# -- findings: DAG files ---------------------------------------------------------------------

# -- helpers ---------------------------------------------------------------------------------
_TYPO_QUOTES = {
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
}
SECRET_CLIENT_OPTIONS = frozenset(
    {
        "api_version",
        "verify_challenge_resource",
        "retry_total",
        "retry_connect",
        "retry_read",
        "retry_status",
        "retry_backoff_factor",
        "retry_backoff_max",
        "retry_mode",
        "retry_on_status_codes",
        "timeout",
        "connection_timeout",
        "read_timeout",
        "connection_verify",
        "connection_cert",
        "connection_data_block_size",
        "proxies",
        "logging_enable",
        "logging_body",
        "user_agent",
        "user_agent_overwrite",
        "headers",
        "permit_redirects",
        "redirect_max",
    }
)
_NUMERIC_OPTIONS = frozenset(
    {
        "retry_total",
        "retry_connect",
        "retry_read",
        "retry_status",
        "retry_backoff_factor",
        "retry_backoff_max",
        "timeout",
        "connection_timeout",
        "read_timeout",
        "redirect_max",
        "connection_data_block_size",
    }
)
_BOOL_OPTIONS = frozenset(
    {"verify_challenge_resource", "logging_enable", "logging_body", "permit_redirects"}
)
_KNOWN_TYPOS = {
    **dict.fromkeys(
        (
            "vault_uri",
            "vaulturl",
            "vaulturi",
            "vault",
            "url",
            "uri",
            "vault_name",
            "keyvault_url",
            "key_vault_url",
            "keyvault_uri",
            "azure_keyvault_url",
            "kv_url",
        ),
        "vault_url",
    ),
    **dict.fromkeys(
        ("variable_prefix", "var_prefix", "vars_prefix", "variables_prefixes", "variable"),
        "variables_prefix",
    ),
    **dict.fromkeys(
        ("connection_prefix", "conn_prefix", "conns_prefix", "connections_prefixes"),
        "connections_prefix",
    ),
    **dict.fromkeys(
        ("configs_prefix", "config_prefixes", "configuration_prefix", "cfg_prefix"),
        "config_prefix",
    ),
    **dict.fromkeys(("separator", "delimiter", "seperator"), "sep"),
    **dict.fromkeys(("tenant", "tenantid", "azure_tenant_id", "directory_id"), "tenant_id"),
    **dict.fromkeys(
        ("client", "clientid", "app_id", "application_id", "azure_client_id"), "client_id"
    ),
    **dict.fromkeys(
        ("secret", "clientsecret", "azure_client_secret", "client_secret_value"), "client_secret"
    ),
    **dict.fromkeys(
        ("managed_identity_id", "msi_client_id", "user_assigned_identity_id", "identity_id"),
        "managed_identity_client_id",
    ),
    **dict.fromkeys(("workload_tenant_id",), "workload_identity_tenant_id"),
    **dict.fromkeys(("retries", "max_retries", "retry", "retry_count"), "retry_total"),
}
_CLIENT_SECRET_IN_TEXT = re.compile(
    r"client_secret[\"'“”‘’]?\s*[:=]\s*[\"'“”‘’]([^\"'“”‘’\s,}]+)", re.IGNORECASE
)
_PYTHON_LITERAL = re.compile(r"\b(None|True|False)\b")
_REFERENCE = re.compile(
    r"^\$\{[^}]*\}?$|^\$[A-Za-z_][A-Za-z0-9_]*$|\{\{.*\}\}|^\$\("
    r"|^<value of \$[A-Za-z_][A-Za-z0-9_]*>$"  # helpers.backend_config.render's secret placeholder
)


def _is_reference(value: object) -> bool:
    """``${VAR}``, ``$VAR``, ``{{ template }}``, ``$(cmd)``, ``<value of $VAR>``: resolved
    elsewhere, so not linted as a value."""
    return isinstance(value, str) and bool(_REFERENCE.search(value.strip()))


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, col


def _outside_strings(text: str) -> Iterator[int]:
    """Indexes of characters outside double-quoted JSON strings."""
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
            continue
        yield i


def _trailing_commas(text: str) -> list[int]:
    outside = list(_outside_strings(text))
    hits = []
    for n, i in enumerate(outside):
        if text[i] != ",":
            continue
        for j in outside[n + 1 :]:
            if text[j].isspace():
                continue
            if text[j] in "}]":
                hits.append(i)
            break
    return hits


def _remove_at(text: str, indexes: list[int]) -> str:
    for i in sorted(indexes, reverse=True):
        text = text[:i] + text[i + 1 :]
    return text


def _loads(text: str) -> tuple[Any, Exception | None, list[str]]:
    duplicates: list[str] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                duplicates.append(key)
            seen[key] = value
        return seen

    try:
        return json.loads(text, object_pairs_hook=hook), None, duplicates
    except (ValueError, RecursionError) as err:
        return None, err, duplicates


def _as_kwargs(obj: Any) -> dict[str, Any] | None:
    if isinstance(obj, Mapping):
        return {str(k): v for k, v in obj.items()}
    return None


def _repair(text: str) -> dict[str, Any] | None:
    """The object the author meant, if the usual copy-paste damage explains the error."""
    fixed = text.translate(str.maketrans(_TYPO_QUOTES)).strip()
    for _ in range(2):
        if len(fixed) >= 2 and fixed[0] == fixed[-1] and fixed[0] in "'\"":
            inner = fixed[1:-1].strip()
            if inner.startswith("{"):
                fixed = inner
    fixed = _remove_at(fixed, _trailing_commas(fixed))
    obj, err, _ = _loads(fixed)
    if err is None:
        if isinstance(obj, str):
            obj, err, _ = _loads(obj)
        return _as_kwargs(obj) if err is None else None
    try:
        obj = ast.literal_eval(fixed)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return _as_kwargs(obj)


def _diagnose(text: str, err: Exception, subject: str, offset: int) -> list[Finding]:
    """Say what is wrong with backend_kwargs JSON text and where (never echoing values)."""
    findings: list[Finding] = []

    def where(i: int) -> str:
        line, col = _line_col(text, i)
        return f"line {line}, column {col} of the value"

    typos = [i for i, ch in enumerate(text) if ch in _TYPO_QUOTES]
    if typos:
        kinds = "".join(sorted({text[i] for i in typos}))
        findings.append(
            TYPOGRAPHIC_QUOTES(
                subject,
                f"{len(typos)} typographic quote(s) ({kinds}) in {subject}, the first at "
                f"{where(typos[0])}.",
                positions=[_line_col(text, i) for i in typos[:10]],
            )
        )
    straight = text.translate(str.maketrans(_TYPO_QUOTES))
    body = straight.strip()
    if (
        len(body) >= 2
        and body[0] == body[-1]
        and body[0] in "'\""
        and body[1:-1].strip()[:1] == "{"
    ):
        inner = body[1:-1].strip()
        if _loads(inner)[1] is None or _repair(inner) is not None:
            findings.append(
                WRAPPED_IN_QUOTES(
                    subject, f"{subject}: the whole JSON object is wrapped in {body[0]} quotes."
                )
            )
            first, last = offset, offset + len(body) - 1  # blank the wrapper, keep positions
            straight = (
                straight[:first] + " " + straight[first + 1 : last] + " " + straight[last + 1 :]
            )
    outside = set(_outside_strings(straight))
    singles = sorted(i for i in outside if straight[i] == "'")
    literals = [m.start() for m in _PYTHON_LITERAL.finditer(straight) if m.start() in outside]
    if singles or literals:
        what = []
        if singles:
            what.append(f"single quotes (first at {where(singles[0])})")
        if literals:
            what.append(f"Python None/True/False (first at {where(literals[0])})")
        findings.append(SINGLE_QUOTES(subject, f"{subject} uses " + " and ".join(what) + "."))
    commas = _trailing_commas(straight)
    if commas:
        findings.append(
            TRAILING_COMMA(
                subject,
                f"{len(commas)} trailing comma(s) in {subject}, the first at {where(commas[0])}.",
            )
        )
    if findings and _repair(text) is not None:
        return findings
    msg = getattr(err, "msg", None) or type(err).__name__
    pos = getattr(err, "pos", None)
    hint = location = ""
    if isinstance(pos, int):
        pos += offset  # the error position is in the stripped text
        rest = text[pos : pos + 1]
        if msg.startswith("Extra data"):
            hint = " — text after the JSON object (an inline comment? airflow.cfg keeps it)"
        elif rest == "<" or text[pos : pos + 2] == "\\<" or rest == "*":
            hint = " — an unquoted placeholder like <your keyvault uri>: put the real URL in quotes"
        elif rest in ("/", "#"):
            hint = " — JSON has no comments"
        elif rest.isalpha():
            hint = " — a value without quotes?"
        location = f" at {where(pos)}"
    findings.append(
        JSON_INVALID(subject, f"{subject} is not valid JSON: {msg}{location}{hint}.", error=msg)
    )
    return findings


def parse_backend_kwargs(
    text: object, *, subject: str = "backend_kwargs", repair: bool = False
) -> tuple[dict[str, Any] | None, list[Finding]]:
    """Parse backend_kwargs JSON as Airflow does; findings say what is wrong and where.

    Returns ``({}, [])`` for an absent or empty value (Airflow: no kwargs) and ``None`` when
    Airflow would ignore the value — unless ``repair`` is set, in which case the object the
    author evidently meant (typographic quotes straightened, trailing commas dropped, Python
    quoting accepted) is returned alongside the findings.
    """
    if text is None:
        return {}, []
    if isinstance(text, Mapping):
        return _as_kwargs(text), []
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str):
        return None, [
            JSON_NOT_OBJECT(subject, f"{subject} must be JSON text, not {st.shown(text)}.")
        ]
    body = text.strip()
    if not body:
        return {}, []
    offset = len(text) - len(text.lstrip())
    obj, err, duplicates = _loads(body)
    findings = [
        DUPLICATE_KEY(subject, f"{subject} has the key {key!r} more than once.", key=key)
        for key in dict.fromkeys(duplicates)
    ]
    if err is None:
        if isinstance(obj, dict):
            return obj, findings
        if isinstance(obj, str):
            inner, inner_err, _ = _loads(obj.strip())
            if inner_err is None and isinstance(inner, dict):
                findings.append(
                    WRAPPED_IN_QUOTES(
                        subject, f"{subject} is a JSON string holding JSON (quoted twice)."
                    )
                )
                return (inner if repair else None), findings
        kind = {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
            type(obj), "a number"
        )
        findings.append(JSON_NOT_OBJECT(subject, f"{subject} is {kind}, not an object."))
        return None, findings
    findings += _diagnose(text, err, subject, offset)
    return (_repair(body) if repair else None), findings


# -- the kwargs themselves -------------------------------------------------------------------
_KNOWN_KWARGS = (*st.PROVIDER_KWARGS, *sorted(SECRET_CLIENT_OPTIONS))


def _kwargs_findings(
    kwargs: Mapping[str, Any],
    origins: Mapping[str, str],
    *,
    per_key: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Value and structure findings for the effective kwargs (JSON merged with per-key)."""
    per_key = per_key or {}
    findings: list[Finding] = []

    def sub(key: str) -> str:
        return origins.get(key, key)

    value_kwargs = dict(kwargs)
    for key, value in per_key.items():
        if key in st.PROVIDER_DEFAULT_PREFIXES and value.strip().lower() in ("", "null", "none"):
            findings.append(
                KWARG_WRONG_JSON_TYPE(
                    sub(key),
                    f"{sub(key)}={value.strip()!r} is a string: the prefix becomes "
                    f"{value.strip()!r}, the lookup is not disabled. Put "
                    f'"{key}": null in the backend_kwargs JSON.',
                )
            )
            value_kwargs.pop(key, None)
    for key in sorted(_NUMERIC_OPTIONS | _BOOL_OPTIONS):
        value = kwargs.get(key)
        if isinstance(value, str):
            value_kwargs.pop(key, None)
            where = "per-key variables are raw strings" if key in per_key else "quoted in JSON"
            want = "a JSON number" if key in _NUMERIC_OPTIONS else "JSON true/false"
            findings.append(
                KWARG_WRONG_JSON_TYPE(
                    sub(key),
                    f"{sub(key)} is the string {st.shown(value)} ({where}); "
                    f"SecretClient needs {want}.",
                )
            )
    _, found = st.settings_from_backend_kwargs(value_kwargs, origins=origins)
    findings += found

    secret = kwargs.get("client_secret")
    has = {k: bool(kwargs.get(k)) for k in ("tenant_id", "client_id", "client_secret")}
    if secret:
        findings.append(
            SECRET_IN_KWARGS(
                sub("client_secret"),
                f"{sub('client_secret')} holds a secret value "
                f"({fingerprint(secret) if isinstance(secret, str) else 'not a string'}).",
            )
        )
    if any(has.values()) and not all(has.values()):
        present = [k for k, v in has.items() if v]
        missing = [k for k, v in has.items() if not v]
        findings.append(
            SP_HALF_SET(
                sub(present[0]),
                f"backend_kwargs sets {', '.join(present)} but not {', '.join(missing)}: the "
                "provider ignores them and uses DefaultAzureCredential.",
                present=present,
                missing=missing,
            )
        )
    mi, wi = (
        bool(kwargs.get("managed_identity_client_id")),
        bool(kwargs.get("workload_identity_tenant_id")),
    )
    if mi != wi:
        given, other = (
            ("managed_identity_client_id", "workload_identity_tenant_id")
            if mi
            else ("workload_identity_tenant_id", "managed_identity_client_id")
        )
        findings.append(
            MI_HALF_SET(sub(given), f"{given} is set without {other}, so it is ignored.")
        )
    for key in kwargs:
        if key in st.PROVIDER_KWARGS or key in SECRET_CLIENT_OPTIONS:
            continue
        lowered = key.lower().replace("-", "_")
        guess = _KNOWN_TYPOS.get(lowered) or st.suggest(key, _KNOWN_KWARGS)
        if guess and guess not in kwargs:
            findings.append(
                KWARG_TYPO(
                    sub(key),
                    f"unknown key {st.shown(key)} — did you mean {guess!r}?",
                    key=key,
                    suggestion=guess,
                )
            )
        else:
            findings.append(
                KWARG_UNKNOWN(
                    sub(key), f"unknown key {st.shown(key)} is passed to SecretClient.", key=key
                )
            )
    if "config_prefix" not in kwargs:
        findings.append(
            CONFIG_PREFIX_DEFAULT(
                sub("config_prefix"), 'config_prefix is absent, so it is "airflow-config".'
            )
        )
    if "retry_total" not in kwargs:
        findings.append(NO_RETRY_BOUND(sub("retry_total"), "retry_total is not set."))
    return findings


def _secrets_in(kwargs: Mapping[str, Any] | None, text: object = None) -> list[str]:
    found: list[str] = []
    if kwargs and isinstance(kwargs.get("client_secret"), str):
        found.append(kwargs["client_secret"])
    if isinstance(text, str):
        found += _CLIENT_SECRET_IN_TEXT.findall(text)
    return found


def lint_backend_kwargs(
    text: object, *, subject: str = "backend_kwargs"
) -> tuple[dict[str, Any] | None, list[Finding]]:
    """Lint one backend_kwargs value: ``(what Airflow gets or None, findings)``.

    When the JSON is broken, Airflow gets nothing (None); the findings then also cover the
    content the author evidently meant, so every problem can be fixed in one pass.
    """
    parsed, findings = parse_backend_kwargs(text, subject=subject)
    content = parsed
    if parsed is None and isinstance(text, str | bytes):
        content, _ = parse_backend_kwargs(text, subject=subject, repair=True)
    if content is not None:
        origins = {k: f"{subject}.{k}" for k in {*content, *st.PROVIDER_KWARGS, "retry_total"}}
        findings += _kwargs_findings(content, origins)
    return parsed, st.scrub(findings, _secrets_in(content, text))


# -- effective configuration views ------------------------------------------------------------
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


_CLASS_PATH = re.compile(r"[A-Za-z_][\w.]*")


def _check_backend(value: str | None, subject: str) -> tuple[list[Finding], bool]:
    """Findings for a backend class path, and whether the kwargs are worth linting."""
    if value is None or not value.strip():
        return [BACKEND_NOT_SET(subject, f"{subject} is not set.")], True
    findings: list[Finding] = []
    text = value.strip()
    if text != value:
        findings.append(st.WHITESPACE(subject, f"{subject}: surrounding whitespace."))
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        findings.append(WRAPPED_IN_QUOTES(subject, f"{subject} is wrapped in {text[0]} quotes."))
        text = text[1:-1].strip()
    if text == BACKEND_CLASS:
        return findings, True
    if ".azure_key_vault." in text or text == OLD_BACKEND_CLASS:
        findings.append(
            OLD_MODULE_PATH(
                subject, f"{subject} uses ...secrets.azure_key_vault; use {BACKEND_CLASS}."
            )
        )
        return findings, True
    ratio = difflib.SequenceMatcher(None, text.lower(), BACKEND_CLASS.lower()).ratio()
    if ratio >= 0.8 or text.lower().endswith("azurekeyvaultbackend"):
        findings.append(
            BACKEND_OTHER(subject, f"{subject} {st.shown(text)} is not exactly {BACKEND_CLASS}.")
        )
        return findings, True
    # Only a class path is echoed: a value pasted into the wrong option may be the kwargs
    # JSON, client secret and all.
    what = (
        st.shown(text) if _CLASS_PATH.fullmatch(text) else f"not a class path ({fingerprint(text)})"
    )
    findings.append(
        BACKEND_OTHER(subject, f"{subject} is {what}, not the Azure Key Vault backend.")
    )
    return findings, False


def _text_absent(view: _View, env_prefix: str, kwargs_key: str) -> bool:
    """Whether neither the kwargs nor any per-key override is set in this view."""
    name = env_prefix + kwargs_key.upper()
    per_key = name.replace("_KWARGS", "_KWARG") + "__"
    return not any(k == name or k.startswith(per_key) for k in (*view.env, *view.opaque))


def _lint_block(
    view: _View, section: str, backend_key: str, kwargs_key: str, *, required: bool
) -> tuple[list[Finding], dict[str, Any], list[str]]:
    """Backend path + kwargs (+ per-key overrides) of one section: findings, kwargs, secrets."""
    env_prefix = f"AIRFLOW__{section.upper()}__"
    backend_subject, backend, backend_opaque = view.get(
        env_prefix + backend_key.upper(), section, backend_key
    )
    findings: list[Finding] = []
    lint_kwargs = True
    if view.backend_elsewhere and not backend and _text_absent(view, env_prefix, kwargs_key):
        required = False
    if not backend_opaque and (required or backend):
        found, lint_kwargs = _check_backend(backend, backend_subject)
        findings += found
    kwargs_subject, text, kwargs_opaque = view.get(
        env_prefix + kwargs_key.upper(), section, kwargs_key
    )
    per_key_prefix = f"{env_prefix}{kwargs_key.upper().replace('_KWARGS', '_KWARG')}__"
    per_key = st._kwarg_overrides(view.env, per_key_prefix)
    per_key_opaque = {
        n[len(per_key_prefix) :].lower() for n in view.opaque if n.startswith(per_key_prefix)
    }
    secrets = _secrets_in(None, text)
    if not lint_kwargs or kwargs_opaque:
        return findings, {}, secrets
    parsed, found = parse_backend_kwargs(text, subject=kwargs_subject)
    findings += found
    json_kwargs = parsed
    if parsed is None:
        json_kwargs, _ = parse_backend_kwargs(text, subject=kwargs_subject, repair=True)
    merged: dict[str, Any] = dict(json_kwargs or {})
    origins = {k: f"{kwargs_subject}.{k}" for k in (*merged, *st.PROVIDER_KWARGS, "retry_total")}
    if view.airflow_version and (per_key or per_key_opaque):
        version, _ = st.parse_version(view.airflow_version, "airflow_version")
        if version is not None and version.release[:2] < (3, 3):
            names = sorted(per_key_prefix + k.upper() for k in {*per_key, *per_key_opaque})
            findings.append(
                OVERRIDES_NEED_33(
                    names[0],
                    f"Airflow {view.airflow_version} ignores {', '.join(names)}.",
                    variables=names,
                )
            )
            per_key, per_key_opaque = {}, set()  # that Airflow never reads them
    for key, value in per_key.items():
        name = per_key_prefix + key.upper()
        if key in merged and merged[key] != value:
            findings.append(
                OVERRIDE_REPLACES(name, f"{name} replaces {kwargs_subject}'s {key!r}.", key=key)
            )
        merged[key] = value
        origins[key] = name
    for key in per_key_opaque:
        merged.setdefault(key, "")
        origins[key] = per_key_prefix + key.upper()
    if json_kwargs is None and not per_key:
        return findings, merged, secrets + _secrets_in(merged)
    if text is None and not per_key and not per_key_opaque:
        if not (backend_opaque or (backend and backend.strip())) or not lint_kwargs:
            return findings, merged, secrets  # nothing configured: BACKEND_NOT_SET says it
        findings.append(
            st.VAULT_URL_MISSING(
                kwargs_subject, f'{kwargs_subject} is not set, so the backend gets vault_url="".'
            )
        )
        return findings, merged, secrets
    content = {k: v for k, v in merged.items() if k not in per_key_opaque}
    found = _kwargs_findings(content, origins, per_key=per_key)
    opaque_subjects = {origins[key] for key in per_key_opaque}  # set, value unknown
    found = [f for f in found if f.subject not in opaque_subjects]
    if "config_prefix" in per_key_opaque:
        found = [f for f in found if f.code != CONFIG_PREFIX_DEFAULT.code]
    if "retry_total" in per_key_opaque:
        found = [f for f in found if f.code != NO_RETRY_BOUND.code]
    findings += found
    return findings, merged, secrets + _secrets_in(merged)


def _identity_findings(
    view: _View, kwargs: Mapping[str, Any], *, backend_configured: bool
) -> list[Finding]:
    findings: list[Finding] = []
    env = view.env
    for name, check in (("AZURE_TENANT_ID", st.check_tenant), ("AZURE_CLIENT_ID", st.check_guid)):
        if name in env and name not in view.opaque:
            value = env[name]
            if not value.strip():
                findings.append(st.IDENTITY_MISSING(name, f"{name} is set but empty."))
            else:
                findings += check(value, name)[1]
    secret_name = "AZURE_CLIENT_SECRET"
    if secret_name in env and secret_name not in view.opaque:
        value = env[secret_name]
        if not value.strip():
            findings.append(st.SECRET_ENV_EMPTY(secret_name, f"{secret_name} is set but empty."))
        elif value.strip() != value:
            findings.append(
                st.WHITESPACE(
                    secret_name, f"{secret_name}: surrounding whitespace around the value."
                )
            )
    sp_in_kwargs = all(kwargs.get(k) for k in ("tenant_id", "client_id", "client_secret"))
    if sp_in_kwargs or view.more_env:
        return findings
    has = {n: view.has(n) for n in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", secret_name)}
    other = any(
        view.has(n)
        for n in ("AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME")
    )
    if has[secret_name] or (secret_name in env and secret_name not in view.opaque):
        for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID"):
            if name not in env and name not in view.opaque:
                findings.append(
                    st.IDENTITY_MISSING(
                        name,
                        f"{secret_name} is set but {name} is not, so the secret is never used.",
                    )
                )
    elif has["AZURE_TENANT_ID"] and has["AZURE_CLIENT_ID"] and not other:
        findings.append(
            st.AZURE_ENV_PARTIAL(
                secret_name,
                "AZURE_TENANT_ID and AZURE_CLIENT_ID are set, AZURE_CLIENT_SECRET is not.",
            )
        )
    elif (
        backend_configured
        and not any(has.values())
        and not other
        and not (
            kwargs.get("managed_identity_client_id") or kwargs.get("workload_identity_tenant_id")
        )
    ):
        findings.append(
            NO_CREDENTIAL(
                view.label,
                "no AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_CLIENT_SECRET and no credential "
                "in backend_kwargs.",
            )
        )
    return findings


def _lint_view(view: _View) -> list[Finding]:
    findings, kwargs, secrets = _lint_block(
        view, "secrets", "backend", "backend_kwargs", required=True
    )
    _, backend, backend_opaque = view.get("AIRFLOW__SECRETS__BACKEND", "secrets", "backend")
    if view.identity:
        configured = backend_opaque or bool(backend and backend.strip())
        findings += _identity_findings(view, kwargs, backend_configured=configured)
    w_subject, w_backend, w_opaque = view.get(
        "AIRFLOW__WORKERS__SECRETS_BACKEND", "workers", "secrets_backend"
    )
    kw_subject, w_kwargs, kw_opaque = view.get(
        "AIRFLOW__WORKERS__SECRETS_BACKEND_KWARGS", "workers", "secrets_backend_kwargs"
    )
    w_prefix = "AIRFLOW__WORKERS__SECRETS_BACKEND_KWARG__"
    # per-key overrides count whether their value is visible or opaque (e.g. valueFrom)
    w_per_key = bool(st._kwarg_overrides(view.env, w_prefix)) or any(
        k.startswith(w_prefix) for k in view.opaque
    )
    if w_opaque or (w_backend and w_backend.strip()):
        if w_kwargs is None and not kw_opaque and not w_per_key:
            findings += _check_backend(w_backend, w_subject)[0] if w_backend else []
            findings.append(
                WORKERS_KWARGS_MISSING(
                    w_subject,
                    f"{w_subject} is set but {kw_subject} is not: tasks get no kwargs.",
                )
            )
        else:
            found, _, w_secrets = _lint_block(
                view, "workers", "secrets_backend", "secrets_backend_kwargs", required=False
            )
            findings += found
            secrets += w_secrets
    elif (w_kwargs is not None and w_kwargs.strip()) or w_per_key or kw_opaque:
        findings.append(
            WORKERS_KWARGS_IGNORED(kw_subject, f"{kw_subject} is set without {w_subject}.")
        )
    secrets.append(view.env.get("AZURE_CLIENT_SECRET"))
    return st.scrub(unique(findings), secrets)


def _string_env(
    items: Mapping[Any, Any],
    findings: list[Finding],
    where: str,
    *,
    unescape_dollars: bool = False,
    strict: bool = False,
) -> tuple[dict[str, str], set[str]]:
    """Known values and reference-only names from a mapping of variables."""
    env: dict[str, str] = {}
    opaque: set[str] = set()
    for key, value in items.items():
        if not isinstance(key, str):
            continue
        if value is None or _is_reference(value):
            opaque.add(key)
        elif isinstance(value, str):
            env[key] = value.replace("$$", "$") if unescape_dollars else value
        elif strict:  # a process environment holds strings only
            findings.append(
                st.WRONG_TYPE(f"{key}", f"{key} must be a string, not {st.shown(value)}.")
            )
        elif isinstance(value, bool):
            env[key] = str(value).lower()
        elif isinstance(value, int | float):
            env[key] = str(value)
        elif isinstance(value, Mapping | list) and key.endswith("_KWARGS"):
            env[key] = json.dumps(value)
        else:
            findings.append(
                st.WRONG_TYPE(f"{where}.{key}", f"{key} must be a string, not {st.shown(value)}.")
            )
    return env, opaque


def lint_environment(environ: Mapping[str, str], *, fragment: bool = False) -> list[Finding]:
    """Lint a process environment: backend path, kwargs (JSON and per-key), AZURE_*, workers.

    ``fragment``: the variables are only part of the environment (a .env file of credentials),
    so an absent backend is not reported when nothing in them configures it.
    """
    if not isinstance(environ, Mapping):
        return [st.WRONG_TYPE("environment", f"expected a mapping, not {st.shown(environ)}.")]
    findings: list[Finding] = []
    env, opaque = _string_env(environ, findings, "environment", strict=True)
    opaque -= {k for k in opaque if environ.get(k) is None}  # None: simply not set
    view = _View("environment", env=env, opaque=opaque, backend_elsewhere=fragment)
    return findings + _lint_view(view)


def _read_cfg(text: object, label: str) -> tuple[configparser.ConfigParser | None, list[Finding]]:
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str):
        return None, [CONFIG_UNPARSABLE(label, f"{label} must be text, not {st.shown(text)}.")]
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


def lint_airflow_cfg(text: str) -> list[Finding]:
    """Lint the [secrets] and [workers] sections of an airflow.cfg."""
    parser, findings = _read_cfg(text, "airflow.cfg")
    if parser is None:
        return findings
    cfg, findings = cfg_options(parser, ("secrets", "workers"))
    view = _View("airflow.cfg", cfg=cfg, identity=False)
    return findings + _lint_view(view)


# -- ADF / Fabric export ------------------------------------------------------------------------
_PROVIDER_REQ = re.compile(
    r"^\s*apache[-_.]airflow[-_.]providers[-_.]microsoft[-_.]azure\s*(?:\[[^\]]*\])?\s*"
    r"(?:(==|>=|~=|<=|<|>|!=)\s*([0-9][0-9A-Za-z.\-+]*))?",
    re.IGNORECASE,
)


def _find_key(obj: Any, key: str, depth: int = 0) -> Any:
    if depth > 8:
        return None
    if isinstance(obj, Mapping):
        if key in obj:
            return obj[key]
        for value in obj.values():
            found = _find_key(value, key, depth + 1)
            if found is not None:
                return found
    elif isinstance(obj, list):
        for value in obj:
            found = _find_key(value, key, depth + 1)
            if found is not None:
                return found
    return None


def _json_document(text: object, label: str) -> tuple[Any, list[Finding]]:
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8-sig", errors="replace")
    if not isinstance(text, str):
        return None, [CONFIG_UNPARSABLE(label, f"{label} must be text, not {st.shown(text)}.")]
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


def lint_adf_export(text: str) -> list[Finding]:
    """Lint an ADF Data workflows / Fabric Airflow environment export (JSON).

    Accepted shapes: ``{"airflowProperties": {"airflowConfigurationOverrides": {...},
    "environmentVariables": {...}, "airflowRequirements": [...], "airflowVersion": ...}}``,
    the ARM resource (``properties.typeProperties.airflowProperties`` with
    ``airflowEnvironmentVariables``), or a flat ``{"AIRFLOW__SECRETS__BACKEND": ...}`` object.
    """
    label = "ADF export"
    doc, findings = _json_document(text, label)
    if findings:
        return findings
    if not isinstance(doc, Mapping):
        return [
            CONFIG_UNPARSABLE(label, f"the export's top level is {st.shown(doc)}, not an object.")
        ]
    props = _find_key(doc, "airflowProperties")
    flat = not isinstance(props, Mapping)
    if flat:
        props = {"environmentVariables": doc}
    overrides = props.get("airflowConfigurationOverrides") or {}
    variables = props.get("environmentVariables") or props.get("airflowEnvironmentVariables") or {}
    merged: dict[Any, Any] = {}
    for name, part in (
        ("environmentVariables", variables),
        ("airflowConfigurationOverrides", overrides),
    ):
        if isinstance(part, Mapping):
            merged.update(part)
        else:
            findings.append(
                st.WRONG_TYPE(
                    name, f"{name} must be an object of name: value, not {st.shown(part)}."
                )
            )
    env, opaque = _string_env(merged, findings, label)
    version = props.get("airflowVersion")
    view = _View(
        label,
        env=env,
        opaque=opaque,
        airflow_version=version if isinstance(version, str) else None,
    )
    findings += _lint_view(view)
    secret = env.get("AZURE_CLIENT_SECRET")
    if secret and secret.strip():
        findings.append(
            SECRET_IN_FILE(
                "AZURE_CLIENT_SECRET",
                f"the export holds AZURE_CLIENT_SECRET ({fingerprint(secret)}).",
            )
        )
    if not flat:
        findings += _adf_requirements(props)
    return st.scrub(findings, [secret, *_secrets_in(None, text)])


def _adf_requirements(props: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    reqs = props.get("airflowRequirements")
    if isinstance(reqs, str):
        reqs = [r for r in reqs.split(",")]
    if not isinstance(reqs, list):
        reqs = []
    provider_version = None
    listed = False
    for req in reqs:
        if not isinstance(req, str):
            continue
        m = _PROVIDER_REQ.match(req)
        if m:
            listed = True
            if m.group(1) == "==":
                provider_version = m.group(2)
    if not listed:
        findings.append(
            PROVIDER_NOT_REQUIRED(
                "airflowRequirements",
                "airflowRequirements does not list apache-airflow-providers-microsoft-azure.",
            )
        )
    airflow_version = props.get("airflowVersion")
    python_version = props.get("pythonVersion")
    if airflow_version or provider_version:
        findings += lint_versions(
            airflow_version if isinstance(airflow_version, str) else None,
            provider_version,
            python_version if isinstance(python_version, str) else None,
        )
    return findings


# -- Helm values -------------------------------------------------------------------------------
def _yaml_document(text: object, label: str) -> tuple[Any, list[Finding]]:
    import yaml

    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8-sig", errors="replace")
    if not isinstance(text, str):
        return None, [CONFIG_UNPARSABLE(label, f"{label} must be text, not {st.shown(text)}.")]
    try:
        return yaml.safe_load(text), []
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or type(err).__name__
        return None, [CONFIG_UNPARSABLE(label, f"{label} is not valid YAML{where}: {problem}.")]
    except RecursionError:
        return None, [CONFIG_UNPARSABLE(label, f"{label} is nested too deeply.")]


def _helm_env_list(items: Any, where: str, view: _View, findings: list[Finding]) -> None:
    if items is None:
        return
    if isinstance(items, str):
        import yaml

        try:
            items = yaml.safe_load(items)
        except yaml.YAMLError:
            view.more_env = True  # templated; cannot tell what it sets
            return
    if not isinstance(items, list):
        findings.append(st.WRONG_TYPE(where, f"{where} must be a list of {{name, value}}."))
        return
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            findings.append(st.WRONG_TYPE(where, f"{where} entries need a name: {st.shown(item)}."))
            continue
        name = item["name"]
        if "valueFrom" in item or _is_reference(item.get("value")):
            view.opaque.add(name)
            view.env.pop(name, None)
        else:
            value = item.get("value")
            view.env[name] = "" if value is None else str(value)


def lint_helm_values(text: str) -> list[Finding]:
    """Lint values for the official Apache Airflow Helm chart.

    Reads ``env: [{name, value | valueFrom}]``, ``secret: [{envName, secretName, secretKey}]``,
    ``extraEnv`` (a YAML string or list), ``extraEnvFrom`` and ``config.secrets`` /
    ``config.workers``.
    """
    label = "Helm values"
    doc, findings = _yaml_document(text, label)
    if findings:
        return findings
    if doc is None:
        doc = {}
    if not isinstance(doc, Mapping):
        return [
            CONFIG_UNPARSABLE(label, f"the values' top level is {st.shown(doc)}, not a mapping.")
        ]
    view = _View(label)
    _helm_env_list(doc.get("env"), "env", view, findings)
    _helm_env_list(doc.get("extraEnv"), "extraEnv", view, findings)
    secrets = doc.get("secret")
    if isinstance(secrets, list):
        for item in secrets:
            if isinstance(item, Mapping) and isinstance(item.get("envName"), str):
                view.opaque.add(item["envName"])
    if doc.get("extraEnvFrom"):
        view.more_env = True
    config = doc.get("config")
    if isinstance(config, Mapping):
        for section in ("secrets", "workers"):
            options = config.get(section)
            if not isinstance(options, Mapping):
                continue
            for key, value in options.items():
                key = str(key)
                if isinstance(value, Mapping) and key.endswith("kwargs"):
                    findings.append(
                        HELM_KWARGS_MAPPING(
                            f"config.{section}.{key}",
                            f"config.{section}.{key} is a YAML mapping; write it as a JSON string.",
                        )
                    )
                    value = json.dumps(value)
                elif isinstance(value, bool):
                    value = str(value)
                elif value is None:
                    continue
                view.cfg[(section, key)] = value if isinstance(value, str) else str(value)
    found = _lint_view(view)
    # Subjects from config: say where they live in the values file.
    findings += [
        _resubject(f, "[secrets] ", "config.secrets.")
        if f.subject.startswith("[secrets] ")
        else _resubject(f, "[workers] ", "config.workers.")
        for f in found
    ]
    secret = view.env.get("AZURE_CLIENT_SECRET")
    if secret and secret.strip():
        findings.append(
            SECRET_IN_FILE(
                "env.AZURE_CLIENT_SECRET",
                f"env sets AZURE_CLIENT_SECRET in clear text ({fingerprint(secret)}).",
            )
        )
    return st.scrub(findings, [secret, *_secrets_in(None, text)])


def _resubject(f: Finding, old: str, new: str) -> Finding:
    if not f.subject.startswith(old):
        return f
    return Finding(f.spec, subject=new + f.subject[len(old) :], detail=f.detail, data=f.data)


# -- docker compose ------------------------------------------------------------------------------
def lint_compose(text: str) -> list[Finding]:
    """Lint a docker compose file: each service's ``environment`` (list or mapping)."""
    label = "compose"
    doc, findings = _yaml_document(text, label)
    if findings:
        return findings
    if not isinstance(doc, Mapping) or not isinstance(doc.get("services"), Mapping):
        return [CONFIG_UNPARSABLE(label, "no services: mapping at the top level.")]
    groups: dict[tuple, list[str]] = {}
    views: dict[tuple, _View] = {}
    for name, service in doc["services"].items():
        if not isinstance(service, Mapping):
            continue
        raw = service.get("environment") or {}
        items: dict[Any, Any] = {}
        if isinstance(raw, list):
            for entry in raw:
                if not isinstance(entry, str):
                    findings.append(
                        st.WRONG_TYPE(f"services.{name}.environment", f"entry {st.shown(entry)}.")
                    )
                    continue
                key, eq, value = entry.partition("=")
                items[key.strip()] = value if eq else None
        elif isinstance(raw, Mapping):
            items = dict(raw)
        else:
            findings.append(
                st.WRONG_TYPE(f"services.{name}.environment", "must be a list or a mapping.")
            )
            continue
        env, opaque = _string_env(
            items, findings, f"services.{name}.environment", unescape_dollars=True
        )
        image = str(service.get("image") or "")
        relevant = any(k.startswith(("AIRFLOW__", "AZURE_")) for k in (*env, *opaque))
        if not relevant and "airflow" not in image.lower():
            continue
        key = (tuple(sorted(env.items())), tuple(sorted(opaque)), bool(service.get("env_file")))
        groups.setdefault(key, []).append(str(name))
        views[key] = _View("", env=env, opaque=opaque, more_env=bool(service.get("env_file")))
    if not groups:
        return findings + [BACKEND_NOT_SET("compose", "no service sets AIRFLOW__SECRETS__BACKEND.")]
    secrets: list[str | None] = []
    for key, names in groups.items():
        view = views[key]
        view.label = f"services[{', '.join(names)}]"
        prefix = view.label + "."
        findings += [
            Finding(f.spec, subject=prefix + f.subject, detail=f.detail, data=f.data)
            for f in _lint_view(view)
        ]
        secret = view.env.get("AZURE_CLIENT_SECRET")
        secrets.append(secret)
        if secret and secret.strip():
            findings.append(
                SECRET_IN_FILE(
                    prefix + "AZURE_CLIENT_SECRET",
                    f"environment sets AZURE_CLIENT_SECRET in clear text ({fingerprint(secret)}).",
                )
            )
    return st.scrub(findings, [*secrets, *_secrets_in(None, text)])


# -- versions ------------------------------------------------------------------------------------
# Known floors: (first provider release with the floor, minimum Airflow). A provider between two
# rows is held to the lower row, so the table never reports a false incompatibility.
_PROVIDER_AIRFLOW_FLOOR = (
    ("10.0.1", "2.7.0"),  # Airflow 2.6.3 (ADF Data workflows) caps the provider at 10.0.0
    ("12.8.1", "2.10.0"),
    ("12.10.1", "2.11.0"),
    ("15.0.0", "2.11.0"),
)
_PROVIDER_PYTHON_FLOOR = (("15.0.0", "3.11"),)
_REAUTH_FIXED = "3.3.2"
_NAME_CHECK_SINCE = "13.3.0"


def lint_versions(
    airflow_version: str | None,
    provider_version: str | None,
    python_version: str | None = None,
) -> list[Finding]:
    """Airflow / provider / Python compatibility for the Key Vault backend."""
    from packaging.version import Version

    findings: list[Finding] = []
    airflow, found = st.parse_version(airflow_version, "airflow_version")
    findings += found
    provider, found = st.parse_version(provider_version, "provider_version")
    findings += found
    python, found = st.parse_version(python_version, "python_version")
    findings += found
    if provider is not None and airflow is not None:
        base = Version(airflow.base_version)
        floor = None
        for first, minimum in _PROVIDER_AIRFLOW_FLOOR:
            if provider >= Version(first):
                floor = Version(minimum)
        if floor is not None and base < floor:
            newest = next(
                (first for first, minimum in _PROVIDER_AIRFLOW_FLOOR if base < Version(minimum)),
                None,
            )
            advice = (
                f"; Airflow {airflow} can use provider 10.0.0 at most"
                if newest == "10.0.1"
                else f"; use a provider older than {newest}"
                if newest
                else ""
            )
            findings.append(
                PROVIDER_NEEDS_AIRFLOW(
                    "provider_version",
                    f"provider {provider} needs Airflow >= {floor}, not {airflow}{advice}.",
                    airflow=str(airflow),
                    provider=str(provider),
                    minimum=str(floor),
                )
            )
    if provider is not None and python is not None:
        for first, minimum in _PROVIDER_PYTHON_FLOOR:
            if provider >= Version(first) and python < Version(minimum):
                findings.append(
                    PROVIDER_NEEDS_PYTHON(
                        "python_version",
                        f"provider {provider} needs Python >= {minimum}, not {python}.",
                    )
                )
    if airflow is not None and Version("3.0.0") <= Version(airflow.base_version) < Version(
        _REAUTH_FIXED
    ):
        findings.append(
            REAUTH_PER_LOOKUP(
                "airflow_version", f"Airflow {airflow} builds a new credential per lookup."
            )
        )
    if provider is not None and provider < Version(_NAME_CHECK_SINCE):
        findings.append(
            PROVIDER_SENDS_INVALID_NAMES(
                "provider_version", f"provider {provider} does not skip invalid names."
            )
        )
    return findings


# -- DAG files -----------------------------------------------------------------------------------
_VARIABLE_METHODS = {"get", "get_variable_from_secrets"}
_CONNECTION_METHODS = {"get_connection", "get_connection_from_secrets", "get"}


@dataclass
class _Lookup:
    kind: str  # "variable" | "connection"
    line: int
    key: str | None
    call: str
    parse_time: bool
    has_default: bool


class _LookupFinder(ast.NodeVisitor):
    """Variable / connection lookups, and whether each runs when the file is parsed."""

    def __init__(self) -> None:
        self.lookups: list[_Lookup] = []
        self.variable_names = {"Variable"}
        self.connection_names = {"Connection", "BaseHook"}
        self.dag_decorators = {"dag"}
        self._parse_time = True

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if (node.module or "").startswith("airflow"):
            for alias in node.names:
                local = alias.asname or alias.name
                if alias.name == "Variable":
                    self.variable_names.add(local)
                elif alias.name in ("Connection", "BaseHook"):
                    self.connection_names.add(local)
                elif alias.name == "dag":
                    self.dag_decorators.add(local)

    def _visit_in(self, nodes: list[ast.AST], parse_time: bool) -> None:
        saved, self._parse_time = self._parse_time, parse_time
        for n in nodes:
            self.visit(n)
        self._parse_time = saved

    def _is_dag_decorator(self, node: ast.expr) -> bool:
        target = node.func if isinstance(node, ast.Call) else node
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        return name in self.dag_decorators

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        args = node.args
        self._visit_in(
            [*node.decorator_list, *args.defaults, *[d for d in args.kw_defaults if d]],
            self._parse_time,
        )
        body_runs_at_parse = self._parse_time and any(
            self._is_dag_decorator(d) for d in node.decorator_list
        )
        self._visit_in(list(node.body), body_runs_at_parse)

    visit_AsyncFunctionDef = visit_FunctionDef  # noqa: N815

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        main_guard = (
            isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name)
            and test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
        )
        self._visit_in([test], self._parse_time)
        self._visit_in(list(node.body), self._parse_time and not main_guard)
        self._visit_in(list(node.orelse), self._parse_time)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_in([*node.args.defaults], self._parse_time)
        self._visit_in([node.body], False)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            owner = func.value
            owner_name = (
                owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            )
            kind = None
            if owner_name in self.variable_names and func.attr in _VARIABLE_METHODS:
                kind = "variable"
            elif func.attr in _CONNECTION_METHODS and (
                owner_name in self.connection_names
                or (owner_name.endswith("Hook") and func.attr == "get_connection")
            ):
                kind = "connection"
            if kind:
                key = None
                if node.args and isinstance(node.args[0], ast.Constant):
                    key = node.args[0].value if isinstance(node.args[0].value, str) else None
                for kw in node.keywords:
                    if kw.arg in ("key", "conn_id") and isinstance(kw.value, ast.Constant):
                        key = kw.value.value if isinstance(kw.value.value, str) else key
                has_default = kind == "variable" and (
                    len(node.args) >= 2
                    or any(kw.arg in ("default", "default_var") for kw in node.keywords)
                )
                self.lookups.append(
                    _Lookup(
                        kind,
                        node.lineno,
                        key,
                        f"{owner_name}.{func.attr}",
                        self._parse_time,
                        has_default,
                    )
                )
        self.generic_visit(node)


def _dag_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(
        p
        for p in path.rglob("*.py")
        if not any(
            part.startswith(".") or part == "__pycache__" for part in p.relative_to(path).parts
        )
    )


def lint_dags(folder: Path | str, *, use_cache: bool | None = None) -> list[Finding]:
    """Parse-time (module level) Variable / connection lookups in DAG files.

    ``use_cache`` is ``[secrets] use_cache`` as configured: None (unknown; Airflow's default is
    off) gives AKV-DAG-001, False AKV-DAG-002, True AKV-DAG-003.
    """
    try:
        root = Path(folder)
        exists = root.exists()
    except (TypeError, ValueError, OSError) as err:
        return [DAG_UNREADABLE(str(folder), f"not a path: {type(err).__name__}.")]
    if not exists:
        return [DAG_UNREADABLE(str(root), f"{root} does not exist.")]
    try:
        files = _dag_files(root)
    except OSError as err:
        return [DAG_UNREADABLE(str(root), f"cannot list {root}: {err.strerror or err}.")]
    spec = {None: DAG_TOP_LEVEL_LOOKUP, False: DAG_LOOKUP_CACHE_OFF, True: DAG_LOOKUP_CACHED}.get(
        use_cache, DAG_TOP_LEVEL_LOOKUP
    )
    findings: list[Finding] = []
    base = root if root.is_dir() else root.parent
    for path in files:
        rel = path.relative_to(base).as_posix()
        try:
            source = path.read_bytes()
            tree = ast.parse(source, filename=rel)
        except SyntaxError as err:
            findings.append(
                DAG_UNREADABLE(
                    rel,
                    f"{rel}: syntax error"
                    + (f" at line {err.lineno}" if err.lineno else "")
                    + f": {err.msg}.",
                )
            )
            continue
        except (OSError, ValueError, RecursionError, MemoryError) as err:
            findings.append(DAG_UNREADABLE(rel, f"{rel}: cannot parse ({type(err).__name__})."))
            continue
        finder = _LookupFinder()
        try:
            finder.visit(tree)
        except RecursionError:
            findings.append(DAG_UNREADABLE(rel, f"{rel}: nested too deeply to analyse."))
            continue
        for lookup in finder.lookups:
            what = f"{lookup.call}({lookup.key!r})" if lookup.key else f"{lookup.call}(...)"
            data = {"file": rel, "line": lookup.line, "kind": lookup.kind, "key": lookup.key}
            if lookup.parse_time:
                findings.append(spec(f"{rel}:{lookup.line}", f"{what} runs at parse time.", **data))
            if lookup.has_default:
                findings.append(
                    DAG_DEFAULT_HIDES_ERRORS(
                        f"{rel}:{lookup.line}",
                        f"{what} has a default, so a vault error returns it silently.",
                        **data,
                    )
                )
    return findings


# -- files ---------------------------------------------------------------------------------------
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
                if st.ENV_NAME_RE.match(name):
                    env[name] = "${" + name + "}"
            continue
        if not eq or not st.ENV_NAME_RE.match(key):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        env[key] = value
    return env


def _looks_like_env(text: str) -> bool:
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")
    ]
    return bool(lines) and all(re.match(r"(export\s+)?[A-Za-z_][A-Za-z0-9_]*=", ln) for ln in lines)


def lint_file(path: Path | str) -> list[Finding]:
    """Lint a configuration file (or a DAG folder), detecting its kind by name and content."""
    if not isinstance(path, str | Path) or not str(path).strip():
        return [CONFIG_UNPARSABLE(str(path), f"not a file path: {st.shown(path)}.")]
    try:
        p = Path(path)
        if p.is_dir() or p.suffix == ".py":
            return lint_dags(p)
        raw = p.read_bytes()
    except (OSError, TypeError, ValueError) as err:
        reason = getattr(err, "strerror", None) or type(err).__name__
        return [CONFIG_UNPARSABLE(str(path), f"cannot read {path}: {reason}.")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        return [CONFIG_UNPARSABLE(str(p), f"{p.name} is not UTF-8 text (byte {err.start}).")]
    name, suffix = p.name.lower(), p.suffix.lower()
    stripped = text.lstrip()
    if name == "airflow.cfg" or suffix in (".cfg", ".ini"):
        return lint_airflow_cfg(text)
    if suffix == ".json":
        return lint_adf_export(text)
    if suffix in (".yaml", ".yml"):
        doc, findings = _yaml_document(text, p.name)
        if findings:
            return findings
        if isinstance(doc, Mapping) and "services" in doc:
            return lint_compose(text)
        return lint_helm_values(text)
    if name.startswith(".env") or suffix in (".env", ".sh") or name.endswith(".env"):
        return lint_environment(parse_env_file(text), fragment=True)
    if stripped.startswith("{"):
        return lint_adf_export(text)
    if re.search(r"^\s*\[[A-Za-z_]+\]\s*$", text, re.MULTILINE):
        return lint_airflow_cfg(text)
    if _looks_like_env(text):
        return lint_environment(parse_env_file(text), fragment=True)
    return [FILE_KIND_UNKNOWN(str(p), f"{p.name}: not airflow.cfg, JSON, YAML or KEY=value.")]
