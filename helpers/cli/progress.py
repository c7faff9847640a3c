"""Progress bars: the one tqdm bar factory (only the CLI draws bars; the library calls back)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

__all__ = ["progress_bar", "stderr_is_tty", "wait_progress"]


def stderr_is_tty() -> bool:
    try:
        return bool(sys.stderr and sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


def progress_bar(total: float | None, desc: str, unit: str = "it", **kwargs: Any) -> tqdm:
    """A tqdm bar on stderr: every bar the CLI draws comes from here."""
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, **kwargs)


def wait_progress(timeout: float) -> tuple[Callable[[int, float, str], None], tqdm]:
    """A ``helpers.probe.wait_for_access`` progress callback drawing a bar; close the bar after."""
    bar = progress_bar(round(max(0.0, timeout), 1), "waiting for access", "s")

    def report(attempt: int, elapsed: float, status: str) -> None:
        bar.n = min(round(elapsed, 1), bar.total)
        bar.set_postfix_str(f"probe {attempt}: {status}", refresh=True)

    return report, bar
