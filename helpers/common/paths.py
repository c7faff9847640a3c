"""Where the project's own files are (the checkout that holds helpers/) and where this
installation keeps its state (the sandbox's state, the fingerprint key)."""

import os
from pathlib import Path

from helpers.common.facts import RUNBOOK_STATE_VAR

__all__ = ["DAGS_DIR", "NOTEBOOKS_DIR", "PROJECT_ROOT", "state_home"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
DAGS_DIR = PROJECT_ROOT / "dags"


def state_home() -> Path:
    """$AKV_RUNBOOK_STATE_DIR, else $XDG_STATE_HOME/akv-runbook (~/.local/state/akv-runbook)."""
    if os.environ.get(RUNBOOK_STATE_VAR):
        return Path(os.environ[RUNBOOK_STATE_VAR])
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "akv-runbook"
