"""How the real-browser tests drive Debian's chromium through Playwright (never a downloaded
browser): one launch recipe, one skip with its reason printed."""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-proxy-server",  # the pytest process may have the sandbox's HTTPS_PROXY
]
PROXY_VARS = {"https_proxy", "http_proxy", "all_proxy", "no_proxy"}


def sync_api_or_skip() -> ModuleType:
    """``playwright.sync_api``, or skip the test saying what to install."""
    if not Path(CHROMIUM).exists():
        reason = (
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium, as "
            ".ci/run does) to run the real-browser test"
        )
        print(f"SKIPPED: {reason}")
        pytest.skip(reason)
    return pytest.importorskip("playwright.sync_api", reason="python playwright missing")


def launch(playwright: Any) -> Any:
    """Chromium without the sandbox's proxy variables (the pages are on loopback)."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARS}
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=env)
