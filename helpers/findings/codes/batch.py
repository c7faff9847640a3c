"""AKV-BATCH-*: Batch runs: timeouts, notebooks that did not finish."""

from helpers.findings.core import Severity, define

__all__ = [
    "ENV_TIMED_OUT",
    "NOTEBOOK_FAILED",
    "NOT_CHECKED_LIVE",
]

ENV_TIMED_OUT = define(
    "AKV-BATCH-001",
    Severity.ERROR,
    "The environment's check did not finish within its timeout",
    """The check of this environment was still waiting when its time ran out: a vault or
    sign-in endpoint that does not answer, a proxy that holds connections open, or a long
    throttling back-off. The other environments were not held up.""",
    """Run `akv-runbook check --settings` for this environment alone to see which step hangs
    (each finding shows its latency), or raise its `timeout:` in the inventory.""",
)

NOTEBOOK_FAILED = define(
    "AKV-BATCH-002",
    Severity.ERROR,
    "The check notebook did not run to the end",
    """The audit path executes the check notebook for this environment with papermill; the
    kernel did not start (even on the retry), a cell raised, or the execution timeout
    interrupted it, so its findings are missing or incomplete. The executed notebook, when
    there is one, shows where it stopped.""",
    """Open the environment's executed notebook (or its HTML) in the report directory; the
    failing cell carries the error. Re-run with the fast path to compare.""",
)

NOT_CHECKED_LIVE = define(
    "AKV-BATCH-003",
    Severity.INFO,
    "The live check was skipped: the settings have errors",
    """Signing in and reading with settings that are already known to be wrong would only
    produce follow-on errors, so this environment was checked offline only.""",
    """Fix the settings findings listed for this environment; the next run checks it live.""",
)
