"""The check notebook's step: the whole live check of one environment of an inventory."""

from __future__ import annotations

from helpers.batch import check_environment as check_one
from helpers.runbook.connect import Connection
from helpers.runbook.results import Section, StepResult, never_raises

__all__ = ["check_environment"]


@never_raises("Environment check")
def check_environment(conn: Connection, inventory: str = "", env_name: str = "") -> StepResult:
    """The whole live check of one environment of an inventory (the audit path's cell).

    Without an inventory, the environment this kernel is connected to is checked (the
    sandbox's default vault and backend principal, or the AZURE_* variables on Azure).
    """
    if not conn.ok:
        return StepResult("Environment check", list(conn.findings))
    default = {
        "name": env_name or conn.environment,
        "vault_url": conn.vault_url,
        "tenant_id": conn.tenant_id,
        "client_id": conn.client_id,
        "client_secret_env": "AZURE_CLIENT_SECRET",
        "connections": ["sample-connection"] if conn.is_sandbox else [],
    }
    result = check_one(inventory, env_name, default=default)
    rows = [
        ["", result.name],
        ["inventory", inventory or "(none: this kernel's environment)"],
        ["vault", result.vault_url or "(not set)"],
        ["status", result.status],
        ["seconds", f"{result.seconds:.2f}"],
    ]
    return StepResult(
        f"Environment {result.name}",
        result.findings,
        [Section("", rows, "table")],
        data={"environment": result.name, "status": result.status},
    )
