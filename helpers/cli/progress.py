"""Progress bars: the only tqdm in the project. Library code reports progress through a
callback; the CLI turns that callback into a bar on stderr."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

from tqdm import tqdm

from helpers.batch import EnvironmentResult, Progress, Status

__all__ = ["batch_progress", "progress_bar", "stderr_is_tty", "wait_progress"]


def stderr_is_tty() -> bool:
    try:
        return bool(sys.stderr and sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


def progress_bar(total: float | None, desc: str, unit: str = "it", **kwargs: Any) -> tqdm:
    """A tqdm bar on stderr: every bar the CLI draws comes from here."""
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, **kwargs)


@contextlib.contextmanager
def batch_progress(total: int, *, enabled: bool = True) -> Iterator[Progress | None]:
    """A bar over ``total`` environments (errors so far, the last one finished), or None."""
    if not enabled:
        yield None
        return
    bar = progress_bar(total, "checking", "env")
    errors = 0

    def report(result: EnvironmentResult) -> None:
        nonlocal errors
        errors += result.status != Status.OK
        bar.set_postfix_str(f"{errors} with errors, last {result.name}")
        bar.update(1)

    try:
        yield report
    finally:
        bar.close()


def wait_progress(timeout: float) -> tuple[Callable[[int, float, str], None], tqdm]:
    """A ``helpers.probe.wait_for_access`` progress callback drawing a bar; close the bar after."""
    bar = progress_bar(round(max(0.0, timeout), 1), "waiting for access", "s")

    def report(attempt: int, elapsed: float, status: str) -> None:
        bar.n = min(round(elapsed, 1), bar.total)
        bar.set_postfix_str(f"probe {attempt}: {status}", refresh=True)

    return report, bar
