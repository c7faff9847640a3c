"""Showing a secret without showing it: lengths and short fingerprints only."""

from __future__ import annotations

import hashlib


def fingerprint(value: str | bytes | None) -> str:
    """``len=44 sha256=1a2b3c4d5e6f`` — enough to compare two values, never enough to leak one."""
    if value is None:
        return "absent"
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return f"len={len(raw)} sha256={hashlib.sha256(raw).hexdigest()[:12]}"
