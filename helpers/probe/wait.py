"""Wait for a grant to take effect: re-probe with a bounded wait until reads stop answering 403.

Progress is reported through a callback, ``progress(attempt, elapsed_seconds, status)``; the
CLI turns it into a progress bar (``helpers.cli.progress``); a notebook passes none or its own.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping

from helpers.findings import Finding
from helpers.findings.codes.role import ACCESS_IN_EFFECT, CANNOT_CONFIRM, NOT_YET_IN_EFFECT
from helpers.probe.run import probe
from helpers.roles import AUTHORIZED_CODES, FORBIDDEN_CODES
from helpers.settings import Settings
from helpers.vault.credentials import CredentialPool

__all__ = ["Progress", "wait_for_access"]

Progress = Callable[[int, float, str], None]


def wait_for_access(
    settings: Settings,
    *,
    environ: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    interval: float = 2.0,
    progress: Progress | None = None,
    request_timeout: float = 10.0,
) -> list[Finding]:
    """Re-probe until reads stop answering 403, for at most ``timeout`` seconds.

    ``progress(attempt, elapsed_seconds, status)`` is called after every probe. Returns the
    last probe's findings plus AKV-ROLE-007 (in effect), AKV-ROLE-008 (still 403 at the
    deadline) or AKV-ROLE-013 (the probe failed for a reason waiting does not fix).
    """
    timeout = max(0.0, float(timeout))
    interval = max(0.05, float(interval))
    started = time.monotonic()
    attempt = 0
    credentials = CredentialPool()  # sign in once, not on every attempt
    subject = settings.vault_url or settings.name
    while True:
        attempt += 1
        result = probe(
            settings,
            environ=environ,
            through_backend=False,
            check_roles=False,
            timeout=request_timeout,
            credentials=credentials,
        )
        elapsed = time.monotonic() - started
        forbidden = [f for f in result.findings if f.code in FORBIDDEN_CODES]
        read = [f for f in result.findings if f.code in AUTHORIZED_CODES]
        if forbidden:
            status = f"{forbidden[0].code} {forbidden[0].title}: waiting for propagation"
        elif read:
            status = "access in effect"
        else:
            status = "probe failed for another reason"
        if progress is not None:
            with contextlib.suppress(Exception):  # a broken callback must not stop the wait
                progress(attempt, elapsed, status)
        if not forbidden and read:
            return [
                *result.findings,
                ACCESS_IN_EFFECT(subject, f"after {elapsed:.1f} s ({attempt} probes)"),
            ]
        if not forbidden:
            return [*result.findings, CANNOT_CONFIRM(subject, f"after {attempt} probes")]
        if elapsed + interval > timeout:
            return [
                *result.findings,
                NOT_YET_IN_EFFECT(
                    subject,
                    f"still {forbidden[0].code} after {elapsed:.1f} s ({attempt} probes)",
                ),
            ]
        time.sleep(interval)
