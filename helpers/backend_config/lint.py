"""Lint an existing Airflow configuration for the Azure Key Vault secrets backend.

Every linter returns ONLY problems (a clean configuration lints to no findings) and never
raises on malformed input. Here: :func:`lint_backend_kwargs` (one ``backend_kwargs`` value),
:func:`lint_environment` (``AIRFLOW__*``, ``AZURE_*``) and :func:`lint_airflow_cfg`, all
through one effective-configuration view. Whole documents (ADF export, Helm values, compose,
any file) are in :mod:`helpers.backend_config.documents`, versions in
:mod:`helpers.settings.compat`, DAG files in :mod:`helpers.backend_config.dags`.

Besides the backend itself: workers against the API server (``[workers] secrets_backend``
and its kwargs against ``[secrets]``: AKV-CFG-032/033), the secrets cache (``use_cache`` as
Airflow's getboolean reads it, ``cache_ttl_seconds`` through the one TTL rule
:func:`helpers.settings.checks.check_cache_ttl`, cache options under ``[workers]``:
AKV-CFG-034..037) and ``backends_order``, which Airflow 3.3 does not have (AKV-CFG-038).
What a view makes Airflow read (the views, the two sides, use_cache) is in
:mod:`helpers.backend_config.read`.

Codes: AKV-CFG-0xx (configuration); value problems (a vault URL, a GUID, a prefix) reuse the
AKV-SET codes of :mod:`helpers.settings`.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from typing import Any

from helpers import settings as st
from helpers.backend_config.identity import CLIENT_SECRET_ENV, KWARGS_OF, secret_in_kwargs
from helpers.backend_config.kwargs import (
    _BOOL_OPTIONS,
    _KNOWN_TYPOS,
    _NUMERIC_OPTIONS,
    SECRET_CLIENT_OPTIONS,
    _is_reference,
    read_backend_kwargs,
    secrets_in,
)
from helpers.backend_config.read import (
    _before_33,
    _cache_setting,
    _server_side,
    _Side,
    _View,
    _worker_side,
    cfg_options,
    kwarg_overrides,
    read_cfg,
    settings_from_backend_kwargs,
)
from helpers.common.facts import BACKEND_CLASS, OLD_BACKEND_CLASS
from helpers.common.redact import fingerprint
from helpers.findings import Finding, scrub_findings, unique
from helpers.findings.codes.cfg import (
    BACKEND_NOT_SET,
    BACKEND_OTHER,
    BACKENDS_ORDER_UNKNOWN,
    CACHE_FOR_TASKS,
    CACHE_OPTION_INVALID,
    CONFIG_PREFIX_DEFAULT,
    KWARG_TYPO,
    KWARG_UNKNOWN,
    KWARG_WRONG_JSON_TYPE,
    MI_HALF_SET,
    NO_CREDENTIAL,
    NO_RETRY_BOUND,
    OLD_MODULE_PATH,
    OVERRIDE_REPLACES,
    OVERRIDES_NEED_33,
    SECRET_IN_KWARGS,
    SP_HALF_SET,
    WORKERS_DIFFER,
    WORKERS_KWARGS_IGNORED,
    WORKERS_KWARGS_MISSING,
    WORKERS_REPEAT_SECRETS,
    WRAPPED_IN_QUOTES,
)
from helpers.findings.codes.set import (
    AZURE_ENV_PARTIAL,
    IDENTITY_MISSING,
    SECRET_ENV_EMPTY,
    VAULT_URL_MISSING,
    WHITESPACE,
    WRONG_TYPE,
)
from helpers.settings import Credential
from helpers.settings.checks import check_cache_ttl

__all__ = [
    "lint_airflow_cfg",
    "lint_backend_kwargs",
    "lint_environment",
]


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
    _, found = settings_from_backend_kwargs(value_kwargs, origins=origins)
    findings += found

    secret = kwargs.get("client_secret")
    has = {k: bool(kwargs.get(k)) for k in KWARGS_OF[Credential.CLIENT_SECRET]}
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
                    sub(key),
                    f"unknown key {st.shown(key)} is passed to SecretClient.",
                    key=st.shown(key, quote=False),  # data reaches JSON and reports too
                )
            )
    if "config_prefix" not in kwargs:
        findings.append(
            CONFIG_PREFIX_DEFAULT(
                sub("config_prefix"), 'config_prefix is absent, so it is "airflow-config".'
            )
        )
    if "retry_total" not in kwargs:
        # A value present is checked by settings validation above (the same check_retry_total).
        findings += st.check_retry_total(None, sub("retry_total"))[1]
    return findings


def lint_backend_kwargs(
    text: object, *, subject: str = "backend_kwargs"
) -> tuple[dict[str, Any] | None, list[Finding]]:
    """Lint one backend_kwargs value: ``(what Airflow gets or None, findings)``.

    When the JSON is broken, Airflow gets nothing (None); the findings then also cover the
    content the author evidently meant, so every problem can be fixed in one pass.
    """
    parsed, content, findings = read_backend_kwargs(text, subject=subject)
    if content is not None:
        # a key is shown through shown(): an unknown one may be a pasted secret
        origins = {
            k: f"{subject}.{st.shown(k, quote=False)}"
            for k in {*content, *st.PROVIDER_KWARGS, "retry_total"}
        }
        findings += _kwargs_findings(content, origins)
    return parsed, scrub_findings(findings, secrets_in(content, text))


# -- effective configuration views (read.py holds _View and what Airflow reads from it) ----
_CLASS_PATH = re.compile(r"[A-Za-z_][\w.]*")


def _check_backend(value: str | None, subject: str) -> tuple[list[Finding], bool]:
    """Findings for a backend class path, and whether the kwargs are worth linting."""
    if value is None or not value.strip():
        return [BACKEND_NOT_SET(subject, f"{subject} is not set.")], True
    findings: list[Finding] = []
    text = value.strip()
    if text != value:
        findings.append(WHITESPACE(subject, f"{subject}: surrounding whitespace."))
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
    per_key = kwarg_overrides(view.env, per_key_prefix)
    per_key_opaque = {
        n[len(per_key_prefix) :].lower() for n in view.opaque if n.startswith(per_key_prefix)
    }
    secrets = secrets_in(None, text)
    if not lint_kwargs or kwargs_opaque:
        return findings, {}, secrets
    _, json_kwargs, found = read_backend_kwargs(text, subject=kwargs_subject)
    findings += found
    merged: dict[str, Any] = dict(json_kwargs or {})
    origins = {
        k: f"{kwargs_subject}.{st.shown(k, quote=False)}"
        for k in (*merged, *st.PROVIDER_KWARGS, "retry_total")
    }
    if (per_key or per_key_opaque) and _before_33(view):
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
        return findings, merged, secrets + secrets_in(merged)
    if text is None and not per_key and not per_key_opaque:
        if not (backend_opaque or (backend and backend.strip())) or not lint_kwargs:
            return findings, merged, secrets  # nothing configured: BACKEND_NOT_SET says it
        findings.append(
            VAULT_URL_MISSING(
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
    return findings, merged, secrets + secrets_in(merged)


def _identity_findings(
    view: _View, kwargs: Mapping[str, Any], *, backend_configured: bool
) -> list[Finding]:
    findings: list[Finding] = []
    env = view.env
    for name, check in (("AZURE_TENANT_ID", st.check_tenant), ("AZURE_CLIENT_ID", st.check_guid)):
        if name in env and name not in view.opaque:
            value = env[name]
            if not value.strip():
                findings.append(IDENTITY_MISSING(name, f"{name} is set but empty."))
            else:
                findings += check(value, name)[1]
    secret_name = CLIENT_SECRET_ENV
    if secret_name in env and secret_name not in view.opaque:
        value = env[secret_name]
        if not value.strip():
            findings.append(SECRET_ENV_EMPTY(secret_name, f"{secret_name} is set but empty."))
        elif value.strip() != value:
            findings.append(
                WHITESPACE(secret_name, f"{secret_name}: surrounding whitespace around the value.")
            )
    if secret_in_kwargs(kwargs) or view.more_env:
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
                    IDENTITY_MISSING(
                        name,
                        f"{secret_name} is set but {name} is not, so the secret is never used.",
                    )
                )
    elif has["AZURE_TENANT_ID"] and has["AZURE_CLIENT_ID"] and not other:
        findings.append(
            AZURE_ENV_PARTIAL(
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


# -- workers vs the API server ----------------------------------------------------------------
# What a difference between the two readers is judged on (the rest, e.g. retry_total, only
# tunes requests): where they read (vault, names) and who signs in. Absent keys take the
# provider's defaults.
_COMPARED: dict[str, Any] = {"vault_url": "", **st.PROVIDER_DEFAULT_PREFIXES, "sep": "-"}
_IDENTITY_KEYS = (
    "tenant_id",
    "client_id",
    "client_secret",
    "managed_identity_client_id",
    "workload_identity_tenant_id",
)


def _shown_value(value: Any) -> str:
    return "null" if value is None else st.shown(value if isinstance(value, str) else str(value))


def _shown_class(value: str) -> str:
    if not value:
        return "none"
    return (
        st.shown(value, 200)
        if _CLASS_PATH.fullmatch(value)
        else f"not a class path ({fingerprint(value)})"
    )


def _comparable(key: str, value: Any) -> Any:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value)
    return text.strip().lower().rstrip("/") if key == "vault_url" else text


def _differences(worker: _Side, server: _Side) -> list[str]:
    """What differs between the workers' backend and the API server's, each as
    "<key> (<workers'> on workers, <server's> on the API server)"; credentials by name only."""
    if (
        worker.backend is not None
        and server.backend is not None
        and worker.backend != server.backend
    ):
        return [
            f"backend class ({_shown_class(worker.backend)} on workers, "
            f"{_shown_class(server.backend)} on the API server)"
        ]
    if worker.kwargs is None or server.kwargs is None:
        return []
    unknown = worker.unknown | server.unknown
    found = []
    for key, default in _COMPARED.items():
        w, s = worker.kwargs.get(key, default), server.kwargs.get(key, default)
        if key not in unknown and _comparable(key, w) != _comparable(key, s):
            found.append(
                f"{key} ({_shown_value(w)} on workers, {_shown_value(s)} on the API server)"
            )
    identity = [
        k
        for k in _IDENTITY_KEYS
        if k not in unknown
        and _comparable(k, worker.kwargs.get(k) or None)
        != _comparable(k, server.kwargs.get(k) or None)
    ]
    if identity:
        found.append(f"identity ({', '.join(identity)} differ)")
    return found


def _workers_findings(
    subject: str, worker: _Side, server: _Side, *, where: str = "", report_same: bool = True
) -> list[Finding]:
    """AKV-CFG-032 when the workers read elsewhere than the API server, AKV-CFG-033 when
    their own configuration only repeats it."""
    found = _differences(worker, server)
    if found:
        keys = [d.split(" ", 1)[0] for d in found]
        return [
            WORKERS_DIFFER(
                subject,
                f"workers{where} and the API server differ in " + "; ".join(found) + ".",
                keys=keys,
            )
        ]
    same = (
        report_same
        and worker.backend is not None
        and worker.backend == server.backend
        and worker.kwargs is not None
        and worker.kwargs == server.kwargs
        and not (worker.unknown or server.unknown)
    )
    if same:
        return [
            WORKERS_REPEAT_SECRETS(
                subject, f"{subject} and its kwargs repeat [secrets]; workers fall back to it."
            )
        ]
    return []


# -- the secrets cache and options Airflow does not have ---------------------------------------
def _cache_findings(view: _View) -> list[Finding]:
    findings: list[Finding] = []
    subject, use_cache = _cache_setting(view)
    _, value, opaque = view.get("AIRFLOW__SECRETS__USE_CACHE", "secrets", "use_cache")
    if value is not None and not opaque and use_cache is None:
        findings.append(
            CACHE_OPTION_INVALID(subject, f"{subject} {st.shown(value)} is not true/false/t/f/1/0.")
        )
    ttl_subject, ttl, ttl_opaque = view.get(
        "AIRFLOW__SECRETS__CACHE_TTL_SECONDS", "secrets", "cache_ttl_seconds"
    )
    if ttl is not None and not ttl_opaque:
        findings += check_cache_ttl(ttl, ttl_subject, use_cache=use_cache)[1]
    for key in ("use_cache", "cache_ttl_seconds"):
        w_subject, w_value, w_opaque = view.get(f"AIRFLOW__WORKERS__{key.upper()}", "workers", key)
        if w_opaque or w_value is not None:
            findings.append(
                CACHE_FOR_TASKS(
                    w_subject,
                    f"{w_subject} is not an Airflow option; workers never initialise the "
                    "secrets cache.",
                )
            )
    for section in ("secrets", "workers"):
        o_subject, o_value, o_opaque = view.get(
            f"AIRFLOW__{section.upper()}__BACKENDS_ORDER", section, "backends_order"
        )
        if o_opaque or o_value is not None:
            findings.append(
                BACKENDS_ORDER_UNKNOWN(
                    o_subject, f"{o_subject} is ignored: Airflow 3.3 has no such option."
                )
            )
    return findings


def _cache_for_workers_only(view: _View, where: str) -> list[Finding]:
    """AKV-CFG-037 when ``view`` (the environment of workers only: a worker service, the
    chart's workers.env) turns the secrets cache on or sets its TTL; ``where`` names it."""
    subject, use_cache = _cache_setting(view)
    _, ttl, ttl_opaque = view.get(
        "AIRFLOW__SECRETS__CACHE_TTL_SECONDS", "secrets", "cache_ttl_seconds"
    )
    if use_cache:
        return [
            CACHE_FOR_TASKS(
                f"{where}{subject}",
                f"{where}{subject} turns the secrets cache on for workers only; tasks never "
                "use it and the DAG processor does not get it.",
            )
        ]
    if ttl is not None or ttl_opaque:
        return [
            CACHE_FOR_TASKS(
                f"{where}AIRFLOW__SECRETS__CACHE_TTL_SECONDS",
                f"{where}AIRFLOW__SECRETS__CACHE_TTL_SECONDS is set for workers only; tasks "
                "never use the secrets cache.",
            )
        ]
    return []


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
    w_per_key = bool(kwarg_overrides(view.env, w_prefix)) or any(
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
            worker = _worker_side(view)
            if worker is not None:
                findings += _workers_findings(w_subject, worker, _server_side(view))
    elif (w_kwargs is not None and w_kwargs.strip()) or w_per_key or kw_opaque:
        findings.append(
            WORKERS_KWARGS_IGNORED(kw_subject, f"{kw_subject} is set without {w_subject}.")
        )
    findings += _cache_findings(view)
    secrets.append(view.env.get("AZURE_CLIENT_SECRET"))
    return scrub_findings(unique(findings), secrets)


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
            findings.append(WRONG_TYPE(f"{key}", f"{key} must be a string, not {st.shown(value)}."))
        elif isinstance(value, bool):
            env[key] = str(value).lower()
        elif isinstance(value, int | float):
            env[key] = str(value)
        elif isinstance(value, Mapping | list) and key.endswith("_KWARGS"):
            env[key] = json.dumps(value)
        else:
            findings.append(
                WRONG_TYPE(f"{where}.{key}", f"{key} must be a string, not {st.shown(value)}.")
            )
    return env, opaque


def lint_environment(environ: Mapping[str, str], *, fragment: bool = False) -> list[Finding]:
    """Lint a process environment: backend path, kwargs (JSON and per-key), AZURE_*, workers.

    ``fragment``: the variables are only part of the environment (a .env file of credentials),
    so an absent backend is not reported when nothing in them configures it.
    """
    if not isinstance(environ, Mapping):
        return [WRONG_TYPE("environment", f"expected a mapping, not {st.shown(environ)}.")]
    findings: list[Finding] = []
    env, opaque = _string_env(environ, findings, "environment", strict=True)
    opaque -= {k for k in opaque if environ.get(k) is None}  # None: simply not set
    view = _View("environment", env=env, opaque=opaque, backend_elsewhere=fragment)
    return findings + _lint_view(view)


def lint_airflow_cfg(text: str) -> list[Finding]:
    """Lint the [secrets] and [workers] sections of an airflow.cfg."""
    parser, findings = read_cfg(text, "airflow.cfg")
    if parser is None:
        return findings
    cfg, findings = cfg_options(parser, ("secrets", "workers"))
    view = _View("airflow.cfg", cfg=cfg, identity=False)
    return findings + _lint_view(view)
