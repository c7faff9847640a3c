"""Temporarily changing os.environ: the SDKs, Airflow and kernels read it, not arguments."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

__all__ = [
    "scoped_environ",
]


@contextmanager
def scoped_environ(updates: Mapping[str, str | None]) -> Iterator[None]:
    """Apply ``updates`` to os.environ (None removes a key); restore the old values after."""
    saved = {key: os.environ.get(key) for key in updates}
    try:
        for key, value in updates.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
