"""``--json`` prints only JSON on stdout: while a ``--json`` command runs, ``sys.stdout`` is
stderr, so a stray print or a log handler set up meanwhile (Airflow configures its logging
when first imported, to stdout) writes there; :func:`print_json` alone reaches stdout."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TextIO

from helpers.common.logs import quiet_sdk_logs

__all__ = ["json_stdout", "print_json"]

_REAL_STDOUT: list[TextIO] = []


@contextlib.contextmanager
def json_stdout() -> Iterator[None]:
    """Run a ``--json`` command: SDK logs quieted and routed to stderr, stdout kept for JSON."""
    quiet_sdk_logs()  # before the redirect: it moves what writes to this stdout
    _REAL_STDOUT.append(sys.stdout)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        _REAL_STDOUT.pop()


def print_json(text: str) -> None:
    """The command's JSON document, on the real stdout."""
    out = _REAL_STDOUT[-1] if _REAL_STDOUT else sys.stdout
    print(text, file=out, flush=True)
