"""akv-runbook: all logic of the runbook, in packages by concern (see docs/architecture.md)."""
