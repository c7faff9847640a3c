"""One real-browser test: JupyterLab renders 00_start_here's settings form and its Check works.

Playwright drives Debian's chromium (never a downloaded browser) against a throw-away
JupyterLab whose kernels see the sandbox (AKV_SANDBOX_PORT: ``runbook.connect`` reuses it).
The backend's client secret is NOT in the server's environment: only the Password field can
put it into the kernel, so AKV-AUTH-001 on the page proves the whole path. Screenshot:
``test-artifacts/browser/00_start_here.png``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from helpers.common.facts import SANDBOX_PORT_VAR, SANDBOX_STATE_VAR
from helpers.devtools.lab_settings import write_user_settings
from tests.chromium import launch, sync_api_or_skip

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "test-artifacts" / "browser" / "00_start_here.png"
FAILURE_SHOT = SCREENSHOT.with_name("00_start_here-failure.png")
START_HERE = "00_start_here.ipynb"
FALLBACK = "widgets_smoke.ipynb"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_notebooks(target: Path) -> str:
    """Copy notebooks/ to ``target``; return the notebook to open: the real 00_start_here
    when it has a cell calling settings_form, else a notebook that shows the form with the
    sandbox defaults."""
    import nbformat

    shutil.copytree(ROOT / "notebooks", target, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    real = target / START_HERE
    if real.exists():
        nb = nbformat.read(real, as_version=4)
        if any(c.cell_type == "code" and "settings_form" in c.source for c in nb.cells):
            return START_HERE
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Settings form (browser test)"),
        nbformat.v4.new_code_cell(
            "from helpers import runbook, widgets\nwidgets.settings_form(runbook.SANDBOX_DEFAULTS)"
        ),
    ]
    nbformat.write(nb, target / FALLBACK)
    return FALLBACK


def wait_for_server(url: str, token: str, proc: subprocess.Popen, log: Path) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(
        url + "/api/status", headers={"Authorization": f"token {token}"}
    )
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"jupyter lab exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with opener.open(request, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    pytest.fail(f"jupyter lab did not answer within 45 s:\n{log.read_text()[-3000:]}")


def wait_for_kernel(url: str, token: str, notebook: str) -> None:
    """Until the notebook's session has a kernel that answered (execution_state idle)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(
        url + "/api/sessions", headers={"Authorization": f"token {token}"}
    )
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        with opener.open(request, timeout=5) as response:
            sessions = json.load(response)
        if any(
            s.get("path", "").endswith(notebook)
            and (s.get("kernel") or {}).get("execution_state") == "idle"
            for s in sessions
        ):
            return
        time.sleep(0.3)
    pytest.fail(f"no idle kernel for {notebook} within 45 s: {sessions}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # the server shuts its kernels down
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session, started below
            proc.wait(timeout=5)


@pytest.mark.timeout(180)
def test_start_here_form_checks_the_sandbox_in_jupyterlab(akv_sandbox, tmp_path):
    sync_api = sync_api_or_skip()

    secret = akv_sandbox.environment()["AZURE_CLIENT_SECRET"]
    notebook = prepare_notebooks(tmp_path / "notebooks")
    settings_dir = tmp_path / "lab-user-settings"
    write_user_settings(settings_dir)  # news and update checks off, widget state not saved
    env = {**os.environ, **akv_sandbox.environment()}
    env.pop("AZURE_CLIENT_SECRET")  # only the Password field may bring it into the kernel
    env.update(
        {
            SANDBOX_PORT_VAR: str(akv_sandbox.port),
            SANDBOX_STATE_VAR: str(akv_sandbox.state_dir),
            "JUPYTERLAB_SETTINGS_DIR": str(settings_dir),
            "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
            "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
            "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),
            "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
            "IPYTHONDIR": str(tmp_path / "ipython"),
        }
    )
    port, token = free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "jupyter-lab.log"
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter",
                "lab",
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                f"--port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={tmp_path / 'notebooks'}",
                "--LabApp.extension_manager=readonly",  # never asks PyPI
                *(["--allow-root"] if os.geteuid() == 0 else []),
            ],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_server(base, token, proc, log)
        with sync_api.sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            try:
                page.goto(f"{base}/lab/tree/{notebook}?token={token}")
                page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=30_000)
                wait_for_kernel(base, token, notebook)
                # Run > Run All Cells, as a user would; the form's cell renders the widgets.
                page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
                page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click()
                password = page.locator('.jupyter-widgets input[type="password"]').first
                select_kernel = page.locator(".jp-Dialog button.jp-mod-accept").first
                password.or_(select_kernel).wait_for(state="visible", timeout=60_000)
                if select_kernel.is_visible():  # JupyterLab asks when its kernel list was late
                    select_kernel.click()
                    password.wait_for(state="visible", timeout=60_000)
                password.fill(secret)
                page.locator("button.jupyter-button", has_text="Check").first.click()
                found = page.locator(".widget-output").filter(has_text="AKV-AUTH-001").first
                found.wait_for(timeout=30_000)
                sync_api.expect(password).to_have_value("")
                assert secret not in page.content()

                # The screenshot shows the form cell at the top, without the file browser.
                page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()
                form_cell = page.locator(".jp-Notebook .jp-Cell").filter(has=password).first
                form_cell.evaluate("cell => cell.scrollIntoView({block: 'start'})")
                page.wait_for_timeout(300)  # let the layout settle after the scroll
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                box = form_cell.bounding_box()
                height = min(860, box["y"] + box["height"] + 12) if box else 860
                page.screenshot(
                    path=str(SCREENSHOT), clip={"x": 0, "y": 0, "width": 1280, "height": height}
                )
            except Exception:
                FAILURE_SHOT.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(FAILURE_SHOT))
                print(f"failure screenshot: {FAILURE_SHOT.relative_to(ROOT)}")
                raise
            finally:
                browser.close()
    finally:
        stop(proc)
    print(f"screenshot: {SCREENSHOT.relative_to(ROOT)} ({notebook})")
