"""The sandbox is a local tool: never an open proxy, loopback only, keys private, no secrets
in its logs."""

from __future__ import annotations

import logging
import os
import socket
import stat

import psutil
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient

from tests.conftest import SAMPLE, vault_url


def _raw(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        return sock.recv(4096)


@pytest.mark.parametrize(
    "target",
    [
        "example.com:443",
        "login.microsoftonline.com:80",
        "management.azure.com:22",
        "graph.windows.net:443",
        "127.0.0.1:22",
        "evil.vault.azure.net.example.com:443",
    ],
)
def test_connect_to_any_other_host_or_port_is_refused(akv_sandbox, target):
    reply = _raw(akv_sandbox.port, f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    assert reply.startswith(b"HTTP/1.1 403 ")


def test_absolute_form_requests_are_refused_it_is_not_an_open_proxy(akv_sandbox):
    reply = _raw(akv_sandbox.port, b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 403 ")


def test_connect_to_an_unknown_vault_fails_like_a_dns_miss(akv_sandbox):
    target = "no-such-vault.vault.azure.net:443"
    reply = _raw(akv_sandbox.port, f"CONNECT {target} HTTP/1.1\r\n\r\n".encode())
    assert reply.startswith(b"HTTP/1.1 502 ")


def test_listens_on_loopback_only(akv_sandbox):
    listening = [
        c.laddr
        for c in psutil.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == akv_sandbox.port
    ]
    assert listening and all(addr.ip == "127.0.0.1" for addr in listening)
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family == socket.AF_INET and not addr.address.startswith("127."):
                with pytest.raises(OSError):
                    socket.create_connection((addr.address, akv_sandbox.port), timeout=1).close()


def test_keys_and_state_are_private_to_the_owner(akv_sandbox):
    state = akv_sandbox.state_dir
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700
    for name in ("ca-key.pem", "leaf-key.pem", "token-key.pem", "control-token", "generated.json"):
        assert stat.S_IMODE(os.stat(state / name).st_mode) == 0o600, name


def test_no_client_secret_or_secret_value_in_sandbox_logs_at_any_level(akv_sandbox, caplog):
    caplog.set_level(logging.DEBUG, logger="akv_runbook")
    env = akv_sandbox.client.env("admin")
    admin = ClientSecretCredential(
        env["AZURE_TENANT_ID"], env["AZURE_CLIENT_ID"], env["AZURE_CLIENT_SECRET"]
    )
    client = SecretClient(vault_url(), admin)
    client.set_secret("leak-canary", "canary-value-7f3a9")
    assert client.get_secret(SAMPLE).value
    wrong = ClientSecretCredential(env["AZURE_TENANT_ID"], env["AZURE_CLIENT_ID"], "wrong-secret-x")
    with pytest.raises(ClientAuthenticationError):
        SecretClient(vault_url(), wrong).get_secret(SAMPLE)
    sandbox_log = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith("akv_runbook")
    )
    assert "GET" in sandbox_log  # the DEBUG request log was on
    for value in [*akv_sandbox.secret_values(), "wrong-secret-x"]:
        assert value not in sandbox_log


@pytest.mark.parametrize(
    "head",
    [
        b"POST /_sandbox/reset HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        b"POST /_sandbox/reset HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST /_sandbox/reset HTTP/1.1\r\nContent-Length: 1_0\r\n\r\n0123456789",
        b"POST /_sandbox/reset HTTP/1.1\r\nContent-Length: +2\r\n\r\n{}",
        b"POST /_sandbox/reset HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\n{}\r\n",
        b"POST /_sandbox/reset HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"NONSENSE\r\n\r\n",
    ],
)
def test_malformed_requests_get_400_not_a_dropped_connection(akv_sandbox, head):
    assert _raw(akv_sandbox.port, head).startswith(b"HTTP/1.1 400 ")
