"""The one log quieter: the SDKs log every sign-in and Airflow logs its own set-up; the
runbook reports findings instead, so their loggers are raised to ERROR everywhere, and what
they still log goes to stderr, never stdout (stdout is for results, e.g. ``--json``)."""

import logging
import sys

__all__ = ["QUIET_LOGGERS", "logs_to_stderr", "quiet_sdk_logs"]

QUIET_LOGGERS = (
    "azure",
    "msal",
    "airflow.models.crypto",
    "airflow._shared.secrets_masker.secrets_masker",
    "akv_runbook.sandbox",
)


def quiet_sdk_logs() -> None:
    """Only errors from the Azure SDKs, MSAL, Airflow's crypto warning and the sandbox; every
    log handler that writes to stdout (Airflow's among them) writes to stderr instead."""
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.ERROR)
        # Importing Airflow (often later, inside a check) resets the level of every logger
        # under "airflow" but keeps their filters.
        if not any(isinstance(f, _ErrorsOnly) for f in logger.filters):
            logger.addFilter(_ErrorsOnly())
    logs_to_stderr()


class _ErrorsOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR


def logs_to_stderr() -> None:
    """Point stdlib stream handlers and structlog's writer (Airflow 3 logs through it) that
    write to stdout at stderr. Idempotent; loggers configured later are not affected."""
    stdout = {id(sys.stdout), id(sys.__stdout__)}
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", ()):
            if isinstance(handler, logging.StreamHandler) and id(handler.stream) in stdout:
                try:
                    handler.setStream(sys.stderr)
                except (AttributeError, ValueError):  # a handler whose stream is a property
                    handler.setLevel(logging.ERROR)
    structlog = sys.modules.get("structlog")
    if structlog is None:
        return
    try:
        factory = structlog.get_config().get("logger_factory")
    except Exception:  # noqa: BLE001 - an unconfigured or foreign structlog: leave it
        return
    writes_text = isinstance(getattr(factory, "cls", None), type) and issubclass(
        factory.cls, structlog.WriteLogger
    )
    if writes_text and (factory.io is None or id(factory.io) in stdout):
        factory.io = sys.stderr  # Airflow's LoggerFactory: None means sys.stdout
