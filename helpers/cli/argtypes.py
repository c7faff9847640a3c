"""The CLI's argument types: each turns one command-line word into a value or refuses it
with a usage error (argparse's exit 2), never a traceback or a silent default."""

from __future__ import annotations

import argparse
import math

__all__ = [
    "_count",
    "_non_negative",
    "_path",
    "_port",
    "_positive_float",
    "_positive_int",
    "_seconds",
]


def _path(text: str) -> str:
    """A path argument: an empty one would silently mean "not given" (or "."), a NUL byte
    cannot be opened."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path")
    if "\x00" in text:
        raise argparse.ArgumentTypeError("a path cannot hold a NUL byte")
    return text


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive whole number")
    return value


def _int_between(text: str, low: int, high: int, what: str, rule: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{rule}, not {value}")
    return value


def _port(text: str) -> int:
    return _int_between(text, 0, 65535, "a port number", "a port is 0-65535 (0 = any free)")


def _positive_float(text: str) -> float:
    """Seconds: finite and above 0 (``inf``, ``nan``, ``1e400``, 0 and negatives refused)."""
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def _seconds(text: str) -> float:
    """Seconds: finite and 0 or more."""
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds (0 or more)")
    return value


def _count(text: str) -> int:
    """A whole number from 0 to 10,000 (a count of samples, files, processors)."""
    return _int_between(text, 0, 10_000, "a whole number", "a count is 0-10000")


def _non_negative(text: str) -> float:
    """A rate or an amount: finite and 0 or more."""
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number of 0 or more")
    return value
