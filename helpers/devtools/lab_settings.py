"""JupyterLab settings the runbook pins for every user of this environment.

``{sys.prefix}/share/jupyter/lab/settings/overrides.json`` overrides the defaults of every
JupyterLab started from this environment (users can still change them in the Settings
editor). Two are pinned:

- widget state is never saved into notebooks (``saveState: false``): a widget's synced
  values would otherwise land in ``metadata.widgets`` on save;
- no news feed or update check: nothing is fetched from the internet, and no notification
  covers the page (screenshots, trainings offline).

Key names come from the schemas shipped with jupyterlab 4.6 / jupyterlab_widgets 3
(``share/jupyter/lab/schemas/@jupyterlab/apputils-extension/notification.json`` and the
jupyterlab-manager ``plugin.json``).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = [
    "OVERRIDES",
    "overrides_path",
    "pin_widget_state_autosave_off",
    "write_user_settings",
]

OVERRIDES: dict[str, dict[str, Any]] = {
    "@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": False},
    # fetchNews is a string enum in the schema: "true" | "false" | "none".
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def overrides_path(prefix: str | os.PathLike[str] = sys.prefix) -> Path:
    return Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"


def pin_widget_state_autosave_off(prefix: str | os.PathLike[str] = sys.prefix) -> Path:
    """Merge :data:`OVERRIDES` into ``overrides.json`` under ``prefix``; returns its path.

    Other plugins' overrides, and other keys of the same plugins, are kept. An unreadable or
    non-object file is replaced (JupyterLab would ignore it anyway). Idempotent; the write is
    atomic.
    """
    path = overrides_path(prefix)
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = {}
    if not isinstance(current, dict):
        current = {}
    for plugin, values in OVERRIDES.items():
        existing = current.get(plugin)
        current[plugin] = {**(existing if isinstance(existing, dict) else {}), **values}
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=".overrides-", delete=False
    ) as tmp:
        json.dump(current, tmp, indent=2, sort_keys=True)
        tmp.write("\n")
    os.chmod(tmp.name, 0o644)  # every user of the environment reads it
    os.replace(tmp.name, path)
    return path


def write_user_settings(directory: str | os.PathLike[str]) -> list[Path]:
    """Write :data:`OVERRIDES` as user settings into a JupyterLab settings directory (what
    ``JUPYTERLAB_SETTINGS_DIR`` / ``--LabApp.user_settings_dir`` point at), e.g. for a
    throw-away JupyterLab in a test; returns the files written."""
    written = []
    for plugin, values in OVERRIDES.items():
        package, _, name = plugin.partition(":")
        path = Path(directory) / package / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
