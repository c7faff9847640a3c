"""Parse backend_kwargs as Airflow does, and say what is wrong with broken JSON and where.

:func:`read_backend_kwargs` parses once and returns both what Airflow gets (None when it
ignores the value) and what the author evidently meant (typographic quotes straightened,
trailing commas dropped, Python quoting accepted), so no caller parses the text twice. The
tables of SecretClient options and usual key typos live here too.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from helpers.findings import Finding
from helpers.findings.codes.cfg import (
    DUPLICATE_KEY,
    JSON_INVALID,
    JSON_NOT_OBJECT,
    SINGLE_QUOTES,
    TRAILING_COMMA,
    TYPOGRAPHIC_QUOTES,
    WRAPPED_IN_QUOTES,
)
from helpers.settings import shown

__all__ = [
    "SECRET_CLIENT_OPTIONS",
    "parse_backend_kwargs",
    "read_backend_kwargs",
    "secrets_in",
]


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


def _diagnose(
    text: str, err: Exception, subject: str, offset: int, *, repaired: bool
) -> list[Finding]:
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
    if findings and repaired:
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


def read_backend_kwargs(
    text: object, *, subject: str = "backend_kwargs"
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, list[Finding]]:
    """Parse backend_kwargs once: ``(what Airflow gets, what the author meant, findings)``.

    Both are ``{}`` for an absent or empty value (Airflow: no kwargs). What Airflow gets is
    None when it would ignore the value; what the author meant is then the object the usual
    copy-paste damage explains (or None when nothing does).
    """
    if text is None:
        return {}, {}, []
    if isinstance(text, Mapping):
        kwargs = _as_kwargs(text)
        return kwargs, kwargs, []
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str):
        return (
            None,
            None,
            [JSON_NOT_OBJECT(subject, f"{subject} must be JSON text, not {shown(text)}.")],
        )
    body = text.strip()
    if not body:
        return {}, {}, []
    offset = len(text) - len(text.lstrip())
    obj, err, duplicates = _loads(body)
    findings = [
        DUPLICATE_KEY(subject, f"{subject} has the key {key!r} more than once.", key=key)
        for key in dict.fromkeys(duplicates)
    ]
    if err is None:
        if isinstance(obj, dict):
            return obj, obj, findings
        if isinstance(obj, str):
            inner, inner_err, _ = _loads(obj.strip())
            if inner_err is None and isinstance(inner, dict):
                findings.append(
                    WRAPPED_IN_QUOTES(
                        subject, f"{subject} is a JSON string holding JSON (quoted twice)."
                    )
                )
                return None, inner, findings
        kind = {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
            type(obj), "a number"
        )
        findings.append(JSON_NOT_OBJECT(subject, f"{subject} is {kind}, not an object."))
        return None, None, findings
    meant = _repair(body)
    findings += _diagnose(text, err, subject, offset, repaired=meant is not None)
    return None, meant, findings


def parse_backend_kwargs(
    text: object, *, subject: str = "backend_kwargs", repair: bool = False
) -> tuple[dict[str, Any] | None, list[Finding]]:
    """Parse backend_kwargs JSON as Airflow does; findings say what is wrong and where.

    Returns ``({}, [])`` for an absent or empty value (Airflow: no kwargs) and ``None`` when
    Airflow would ignore the value — unless ``repair`` is set, in which case the object the
    author evidently meant is returned alongside the findings (see
    :func:`read_backend_kwargs`).
    """
    parsed, meant, findings = read_backend_kwargs(text, subject=subject)
    return (meant if repair else parsed), findings


def secrets_in(kwargs: Mapping[str, Any] | None, text: object = None) -> list[str]:
    """Client secret values in parsed kwargs or raw text (to scrub from findings)."""
    found: list[str] = []
    if kwargs and isinstance(kwargs.get("client_secret"), str):
        found.append(kwargs["client_secret"])
    if isinstance(text, str):
        found += _CLIENT_SECRET_IN_TEXT.findall(text)
    return found
