"""Progress bars: the only tqdm in the project. Library code reports progress through a
callback; the CLI turns that callback into a bar on stderr when stderr is a terminal."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from tqdm import tqdm

from helpers.batch import EnvironmentResult, Progress, Status

__all__ = ["batch_progress", "stderr_is_tty"]


def stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def batch_progress(total: int, *, enabled: bool = True) -> Iterator[Progress | None]:
    """A bar over ``total`` environments (errors so far, the last one finished), or None."""
    if not enabled:
        yield None
        return
    bar = tqdm(total=total, unit="env", desc="checking", file=sys.stderr)
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
