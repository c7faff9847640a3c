"""Showing a secret without showing it: lengths and keyed fingerprints only."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from helpers.common.facts import ENV_NAME_RE, GUID_RE
from helpers.common.paths import state_home

__all__ = [
    "SECRETISH",
    "fingerprint",
    "fingerprint_key_file",
    "looks_like_secret",
    "scrub_data",
    "scrub_text",
]

_KEY_BYTES = 32
_keys: dict[Path, bytes] = {}


def fingerprint(value: str | bytes | None) -> str:
    """``len=44 hmac=1a2b3c4d5e6f`` — enough to compare two values, never enough to leak one.

    The hash is keyed (HMAC-SHA256) with this installation's random key, so a dictionary of
    likely passwords cannot reverse it; two runs on the same installation still agree.
    """
    if value is None:
        return "absent"
    raw = value.encode("utf-8") if isinstance(value, str) else value
    digest = hmac.new(_key(), raw, hashlib.sha256).hexdigest()[:12]
    return f"len={len(raw)} hmac={digest}"


def fingerprint_key_file() -> Path:
    """Where this installation's fingerprint key lives (mode 0600, made on first use)."""
    return state_home() / "fingerprint.key"


def _key() -> bytes:
    path = fingerprint_key_file()
    if path not in _keys:
        _keys[path] = _read_key(path) or _new_key(path)
    return _keys[path]


def _read_key(path: Path) -> bytes | None:
    """The key, if the file holds one that nobody else can read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(f.fileno()).st_mode
        key = f.read(_KEY_BYTES + 1)
    return key if len(key) == _KEY_BYTES and not mode & 0o077 else None


def _new_key(path: Path) -> bytes:
    """A fresh key, saved atomically (a concurrent process either wins or reads ours).

    A damaged or readable-by-others key is replaced. Where nothing can be saved (a read-only
    home), the key lives for this process only: fingerprints still hide values, but two runs
    no longer agree."""
    key = secrets.token_bytes(_KEY_BYTES)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        try:
            os.link(tmp, path)
        except FileExistsError:
            theirs = _read_key(path)
            if theirs:
                return theirs
            os.replace(tmp, path)
    except OSError:
        return key
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return key


# Words (lower-case, Capitalised or digits) joined by . _ -: how names are written; random
# text almost never splits into such words (aB3dE5…: "B3" is not one). At least one joint:
# a single run such as abc8Qx0123456789abcdef… is a key, not a name.
_WORDS = r"(?:[A-Z]?[a-z]++|[0-9]++)++"  # possessive: no backtracking on long text
_WORDY_NAME_RE = re.compile(rf"{_WORDS}(?:[-_.]{_WORDS})+\Z")


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
    if _WORDY_NAME_RE.match(text):
        return False  # fleet-016-expired-secret, PythonVirtualenvOperator.cache_key are names
    return classes >= 3 or (len(text) >= 40 and classes >= 2)


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
