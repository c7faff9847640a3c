"""A damaged state directory never stops the sandbox with a traceback: each file that cannot
be used is treated as absent (a new CA, a new token key, the scenario's state), and a state
directory the sandbox did not create keeps its permissions."""

from __future__ import annotations

import json
import os
import stat

import pytest

from helpers.cli import main
from helpers.sandbox import Sandbox, SandboxClient, SandboxNotRunning


def _start_and_read(state_dir):
    with Sandbox(state_dir=state_dir) as sandbox:
        env = sandbox.environment()
        from azure.identity import ClientSecretCredential
        from azure.keyvault.secrets import SecretClient

        credential = ClientSecretCredential(
            env["AZURE_TENANT_ID"], env["AZURE_CLIENT_ID"], env["AZURE_CLIENT_SECRET"]
        )
        client = SecretClient(env["AZURE_KEYVAULT_URL"], credential, retry_total=0)
        return client.get_secret("airflow-variables-sample-variable").value


@pytest.fixture
def used_state_dir(tmp_path):
    state_dir = tmp_path / "state"
    with Sandbox(state_dir=state_dir):
        pass
    return state_dir


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("ca-key.pem", b"garbage"),
        ("ca.pem", b"\x00\xff not a certificate"),
        ("token-key.pem", b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n"),
        ("state.json", b'{"scenario": 1, "directory": []}'),
        ("state.json", b"[1, 2, 3]"),
        ("state.json", b"\xff\xfe not utf-8"),
        ("generated.json", b"[1, 2]"),
        ("control-token", b"\xff\xfe"),
    ],
)
def test_a_damaged_state_file_is_treated_as_absent(used_state_dir, name, content, monkeypatch):
    for var in ("HTTPS_PROXY", "https_proxy", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(var, raising=False)
    (used_state_dir / name).write_bytes(content)
    assert _start_and_read(used_state_dir)


@pytest.mark.parametrize(
    "content", ["", "not json", "[]", '{"port": "x"}', "{}", '{"port": 99999}', "null"]
)
def test_a_malformed_server_json_means_not_running(tmp_path, capsys, content):
    (tmp_path / "server.json").write_text(content)
    (tmp_path / "control-token").write_text("token")
    with pytest.raises(SandboxNotRunning):
        SandboxClient.from_state_dir(tmp_path)
    assert main(["sandbox", "env", "--state-dir", str(tmp_path)]) == 1
    assert "no sandbox is running" in capsys.readouterr().err


def test_an_existing_state_dir_keeps_its_permissions(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)
    with Sandbox(state_dir=shared):
        pass
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
    created = tmp_path / "new" / "state"
    with Sandbox(state_dir=created):
        pass
    assert stat.S_IMODE(created.stat().st_mode) == 0o700
    assert json.loads((created / "generated.json").read_text())
