"""The CLI as a user meets it: help, sandbox start/env/status in a real child process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.cli import main

AKV = str(Path(sys.executable).with_name("akv-runbook"))


def test_help_teaches_the_sandbox_workflow(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert 'eval "$(akv-runbook sandbox env)"' in out
    assert "demo" in out


def test_unknown_command_is_a_usage_error_with_exit_code_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such-command"])
    assert exit_info.value.code == 2


def test_status_without_a_running_sandbox_exits_1(tmp_path, capsys):
    assert main(["sandbox", "status", "--state-dir", str(tmp_path)]) == 1
    assert "not running" in capsys.readouterr().out
    assert main(["sandbox", "env", "--state-dir", str(tmp_path)]) == 1


def test_start_with_a_broken_scenario_lists_every_problem(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("tenants: [{id: not-a-guid}]\nsubscriptions: []\napps: []\nvaults: []\n")
    assert main(["sandbox", "start", "--scenario", str(bad), "--state-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "tenants[0].id: must be a GUID" in err


def _wait_for(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear")
        time.sleep(0.1)


def test_start_env_status_and_clean_shutdown_on_sigterm(tmp_path):
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    proc = subprocess.Popen(
        [AKV, "sandbox", "start", "--port", "0", "--state-dir", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        _wait_for(state / "server.json")
        exports = subprocess.run(
            [AKV, "sandbox", "env", "--state-dir", str(state)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout
        for key in (
            "HTTPS_PROXY",
            "NO_PROXY",
            "REQUESTS_CA_BUNDLE",
            "SSL_CERT_FILE",
            "NODE_EXTRA_CA_CERTS",
            "AZURE_TENANT_ID",
            "AZURE_CLIENT_ID",
            "AZURE_CLIENT_SECRET",
            "AZURE_SUBSCRIPTION_ID",
            "AZURE_KEYVAULT_URL",
        ):
            assert f"export {key}=" in exports
        assert "export AZURE_TOKEN_CREDENTIALS=EnvironmentCredential" in exports
        admin = subprocess.run(
            [AKV, "sandbox", "env", "--json", "--principal", "admin", "--state-dir", str(state)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout
        assert json.loads(admin)["AZURE_CLIENT_ID"] == "6e2a4c8f-1b3d-4e5f-9a7c-3e5f7a9c1e64"
        status = subprocess.run(
            [AKV, "sandbox", "status", "--json", "--state-dir", str(state)],
            capture_output=True,
            text=True,
            env=env,
        )
        assert status.returncode == 0
        assert json.loads(status.stdout)["running"] is True
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "sandbox listening on 127.0.0.1:" in out
    assert not (state / "server.json").exists()
    assert (state / "state.json").exists()


def test_bundle_from_env_verifies_the_sandbox_for_any_tls_client(akv_sandbox):
    """The exported bundle = public roots + sandbox CA, so other HTTPS traffic still verifies."""
    bundle = Path(os.environ["REQUESTS_CA_BUNDLE"]).read_text()
    assert bundle.count("BEGIN CERTIFICATE") > 100
    assert (akv_sandbox.state_dir / "ca.pem").read_text().strip() in bundle


def test_an_unusable_inventory_with_json_prints_only_json(tmp_path, capsys):
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text('version: 1\nenvironments: "nope"\n', encoding="utf-8")
    assert main(["check", "--inventory", str(inventory), "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["exit_code"] == 2 and out["findings"][0]["code"].startswith("AKV-INV-")
