"""The one log quieter: the SDKs log every sign-in and Airflow logs its own set-up; the
runbook reports findings instead, so their loggers are raised to ERROR everywhere."""

import logging

__all__ = ["QUIET_LOGGERS", "quiet_sdk_logs"]

QUIET_LOGGERS = ("azure", "msal", "airflow.models.crypto", "akv_runbook.sandbox")


def quiet_sdk_logs() -> None:
    """Only errors from the Azure SDKs, MSAL, Airflow's crypto warning and the sandbox."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
