"""Building and validating Settings: coercion driven by the field table, then one validation
pass (:func:`normalise`) that every loader ends with.

- :func:`settings_from_mapping` — keyword arguments, a YAML or JSON document;
- :func:`load_settings` — a YAML or JSON file;
- :func:`validate_settings` — a :class:`Settings` built any other way.

The readers of a live configuration (environment, airflow.cfg, backend_kwargs) are in
:mod:`helpers.backend_config.read`; they use :func:`coerce_provider_kwargs` and
:func:`normalise` from here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from helpers.common.redact import fingerprint
from helpers.common.textio import InputError, load_json, load_yaml, read_text
from helpers.findings import Finding, scrub_findings
from helpers.findings.codes.set import (
    CREDENTIAL_UNKNOWN,
    IDENTITY_MISSING,
    PROBE_ID_EMPTY,
    SECRET_IN_SETTINGS,
    SETTINGS_FILE_UNREADABLE,
    TARGET_UNKNOWN,
    UNKNOWN_KEY,
    VERSION_INVALID,
    WHITESPACE,
    WRONG_TYPE,
)
from helpers.settings.checks import (
    parse_version,
    trim,
)
from helpers.settings.compat import lint_versions
from helpers.settings.fields import field_check
from helpers.settings.schema import (
    FIELD_KINDS,
    FIELD_SPECS,
    FIELDS,
    PROVIDER_DEFAULT_PREFIXES,
    PROVIDER_KWARGS,
    Credential,
    Settings,
    Target,
    fields_of,
    looks_like_secret,
    parse_credential,
    parse_target,
    shown,
    suggest,
)

__all__ = [
    "as_bool",
    "coerce_field",
    "coerce_provider_kwargs",
    "load_settings",
    "normalise",
    "settings_from_mapping",
    "validate_settings",
]

_TRUE = ("1", "true", "t", "yes", "y", "on")
_FALSE = ("0", "false", "f", "no", "n", "off")


def as_bool(value: object) -> bool | None:
    """A boolean as Airflow reads one (``"yes"``, ``"0"``…); ValueError when it is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError


def coerce_field(name: str, value: Any, subject: str, findings: list[Finding]) -> Any:
    """The value for a Settings field, or the field's default with a finding."""
    missing = object()
    kind = FIELD_KINDS[name]

    def wrong(expected: str) -> Any:
        findings.append(
            WRONG_TYPE(subject, f"{subject} must be {expected}, not {shown(value)}.", key=name)
        )
        return missing

    result: Any = missing
    if kind == "text":
        if value is None:
            result = ""
        elif isinstance(value, str):
            result = value
        else:
            result = wrong("a string")
    elif kind == "prefix":
        result = value if value is None or isinstance(value, str) else wrong("a string or null")
    elif kind == "sep":
        result = value if isinstance(value, str) else wrong('a string such as "-"')
    elif kind == "credential":
        result = parse_credential(value)
        if result is None:
            findings.append(
                CREDENTIAL_UNKNOWN(subject, f"{subject} {shown(value)} is not a credential mode.")
            )
            result = missing
    elif kind == "target":
        result = parse_target(value)
        if result is None:
            findings.append(TARGET_UNKNOWN(subject, f"{subject} {shown(value)} is not a target."))
            result = missing
    elif kind == "version":
        if value is None or (isinstance(value, str | int) and not isinstance(value, bool)):
            result = None if value is None else str(value)
        else:
            _, found = parse_version(value, subject)
            findings.extend(found)
    elif kind == "ids":
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
    elif kind == "count":
        if value is None:
            result = None
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            result = value
        elif isinstance(value, str) and value.strip().isdigit():
            result = int(value.strip())
        else:
            result = wrong("a non-negative integer or null")
    elif kind == "flag":
        if value is None:
            result = None
        else:
            try:
                result = as_bool(value)
            except ValueError:
                result = wrong("true, false or null")
    return _default(name) if result is missing else result


def coerce_provider_kwargs(
    kwargs: Mapping[str, Any], origin: Mapping[str, str], findings: list[Finding]
) -> dict[str, Any]:
    """Settings field values for the provider kwargs present (the provider's defaults else).

    ``client_secret`` is never copied: Settings hold references, not values.
    """
    values: dict[str, Any] = {
        "config_prefix": PROVIDER_DEFAULT_PREFIXES["config_prefix"],
        "retry_total": None,
    }
    for key in (*PROVIDER_KWARGS, "retry_total"):
        if key in kwargs and key != "client_secret":
            values[key] = coerce_field(key, kwargs[key], origin.get(key, key), findings)
    return values


def _default(name: str) -> Any:
    return getattr(Settings(), name)


def normalise(
    s: Settings,
    origin: Mapping[str, str] | None = None,
    *,
    require_identity: bool = True,
) -> tuple[Settings, list[Finding]]:
    """Validate every field; return the normalised Settings and the findings."""
    origin = origin or {}
    findings: list[Finding] = []
    changes: dict[str, Any] = {}

    def sub(name: str) -> str:
        return origin.get(name, name)

    # Enum fields may arrive as plain strings when Settings(...) is built by hand.
    credential = parse_credential(s.credential)
    if credential is None:
        findings.append(
            CREDENTIAL_UNKNOWN(
                sub("credential"), f"credential {shown(s.credential)} is not a credential mode."
            )
        )
        credential = Credential.CLIENT_SECRET
    changes["credential"] = credential
    target = parse_target(s.target)
    if target is None:
        findings.append(TARGET_UNKNOWN(sub("target"), f"target {shown(s.target)} is not a target."))
        target = Target.ENV
    changes["target"] = target

    if looks_like_secret(s.name):  # shown as the title, the JSON environment, the JUnit suite
        findings.append(
            SECRET_IN_SETTINGS(
                sub("name"),
                f"name holds a secret-like value ({fingerprint(s.name)}); it is not used. "
                "Name the environment instead, e.g. team-a-prod.",
            )
        )
        changes["name"] = "default"
    elif isinstance(s.name, str):
        changes["name"] = s.name.strip() or "default"
    else:
        findings.append(WRONG_TYPE(sub("name"), f"name must be a string, not {shown(s.name)}."))
        changes["name"] = "default"

    # Every single-value check the field table names, in the table's order (sep first:
    # the prefix checks need it). The table is the one place a field's check is chosen.
    sep = s.sep
    checked_fields = [n for n, spec in FIELD_SPECS.items() if spec.check]
    for name in sorted(checked_fields, key=lambda n: n != "sep"):
        value = getattr(s, name)
        check = field_check(name)
        if name == "client_secret_env":
            # A secret-looking value is reported whatever the mode; an empty name only when
            # a variable must be named (not when the secret sits in backend_kwargs).
            needs = credential is Credential.CLIENT_SECRET and (value or require_identity)
            if not (looks_like_secret(value) or needs):
                if isinstance(value, str):
                    changes[name] = value.strip()
                continue
        options: dict[str, Any] = {}
        if FIELD_KINDS[name] == "prefix":
            options["sep"] = sep
        elif name == "retry_total":
            options["report_unset"] = False  # a Settings may leave it unbounded on purpose
        elif name == "cache_ttl_seconds":
            options["use_cache"] = s.use_cache is True  # unset: Airflow's default, off
        checked, found = check(value, sub(name), **options)
        findings += found
        if FIELD_KINDS[name] == "version":  # kept as text; the check only parses it
            checked = value.strip() if isinstance(value, str) and not found else value
        if name == "sep":
            sep = checked
        changes[name] = checked

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
            elif looks_like_secret(item):  # an id is shown in every check's output
                findings.append(
                    SECRET_IN_SETTINGS(
                        f"{sub(name)}[{i}]",
                        f"{name}[{i}] holds a secret-like value ({fingerprint(item)}); it is "
                        "not looked up. List the Airflow ids, e.g. sample-variable.",
                    )
                )
            else:
                ids.append(trim(item, f"{sub(name)}[{i}]", findings))
        changes[name] = ids

    for name in ("use_cache", "client_secret_set"):
        value = getattr(s, name)
        if value is not None and not isinstance(value, bool):
            findings.append(
                WRONG_TYPE(sub(name), f"{name} must be true, false or null, not {shown(value)}.")
            )
            changes[name] = None

    version_subjects = {sub(n) for n in fields_of("version")}
    versions_ok = not any(
        f.code in (VERSION_INVALID.code, WRONG_TYPE.code) and f.subject in version_subjects
        for f in findings
    )
    if (s.airflow_version or s.provider_version or s.python_version) and versions_ok:
        findings += lint_versions(
            changes["airflow_version"], changes["provider_version"], changes["python_version"]
        )
    return dataclasses.replace(s, **changes), findings


def validate_settings(s: Settings) -> list[Finding]:
    """Every problem with a Settings object, as findings (never raises)."""
    try:
        return normalise(s)[1]
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
            findings.append(
                UNKNOWN_KEY(
                    shown(str(key), quote=False), f"setting names are strings, not {shown(key)}."
                )
            )
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
        if key not in FIELD_KINDS:
            guess = suggest(key, FIELDS)
            findings.append(
                UNKNOWN_KEY(
                    shown(key, quote=False),  # the key itself may be a pasted secret
                    f"unknown setting {shown(key)}"
                    + (f"; did you mean {guess!r}?" if guess else "."),
                    suggestion=guess,
                )
            )
            continue
        values[key] = coerce_field(key, value, key, findings)
    try:
        s = Settings(**values)
    except Exception:  # pragma: no cover - every field was coerced above
        s = Settings()
    s, found = normalise(s)
    return s, scrub_findings(findings + found, secrets)


def load_settings(path: str | Path) -> tuple[Settings, list[Finding]]:
    """Settings from a YAML or JSON file (JSON is YAML; a .json file is parsed as JSON)."""
    try:
        p = Path(path)
    except TypeError:
        return Settings(), [SETTINGS_FILE_UNREADABLE(str(path), f"not a path: {shown(path)}.")]
    subject = str(p)
    try:
        text = read_text(p)
    except InputError as err:
        return Settings(), [SETTINGS_FILE_UNREADABLE(subject, f"cannot read {p}: {err}")]
    try:
        if p.suffix.lower() == ".json":
            data = load_json(text) if text.strip() else {}
        else:
            data = load_yaml(text)
    except InputError as err:
        kind = "JSON" if p.suffix.lower() == ".json" else "YAML"
        return Settings(), [
            SETTINGS_FILE_UNREADABLE(subject, f"{p.name}: invalid {kind}{err.where}: {err.reason}")
        ]
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        return Settings(), [
            SETTINGS_FILE_UNREADABLE(
                subject, f"{p.name}: the top level is {shown(data)}, not a mapping of settings."
            )
        ]
    return settings_from_mapping(data)
