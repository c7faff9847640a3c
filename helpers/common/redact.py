"""Showing a secret without showing it: lengths and short fingerprints only."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["SECRETISH", "fingerprint", "scrub_data", "scrub_text"]


def fingerprint(value: str | bytes | None) -> str:
    """``len=44 sha256=1a2b3c4d5e6f`` — enough to compare two values, never enough to leak one."""
    if value is None:
        return "absent"
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return f"len={len(raw)} sha256={hashlib.sha256(raw).hexdigest()[:12]}"


# Secret-shaped text in messages from SDKs, Airflow and services: bearer tokens, key=value
# credentials, passwords in URLs.
SECRETISH = [
    (re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*"), "[token]"),
    (re.compile(r"(?i)\b(client_secret|password|secret|token|sig)=([^&\s'\"]+)"), r"\1=[redacted]"),
    (re.compile(r"(://[^/\s:@]+):[^@\s/]+@"), r"\1:[redacted]@"),
]


def scrub_text(text: str, sensitive: Iterable[str | None] = (), limit: int | None = 400) -> str:
    """``text`` without the ``sensitive`` values (longest first) and secret-shaped parts,
    cut to ``limit`` characters (None: not cut). Line breaks are kept."""
    for value in _longest_first(sensitive):
        text = text.replace(value, "[redacted]")
    for pattern, replacement in SECRETISH:
        text = pattern.sub(replacement, text)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def scrub_data(obj: Any, sensitive: Iterable[str | None]) -> Any:
    """``obj`` (strings, dicts, lists) with every string scrubbed by :func:`scrub_text`."""
    values = _longest_first(sensitive)

    def clean(item: Any) -> Any:
        if isinstance(item, str):
            return scrub_text(item, values, limit=None)
        if isinstance(item, dict):
            return {k: clean(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [clean(v) for v in item]
        return item

    return clean(obj)


def _longest_first(sensitive: Iterable[str | None]) -> list[str]:
    found = {s for s in sensitive if isinstance(s, str) and len(s) >= 4}
    return sorted(found, key=len, reverse=True)
