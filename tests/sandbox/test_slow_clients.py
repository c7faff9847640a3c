"""Idle and slow sockets cannot starve the sandbox's other clients (issue 11: 19,990 idle
sockets once locked every client out).

The real SDK reaches the sandbox as in production: HTTPS_PROXY, CONNECT, TLS. The idle
sockets sit on the same proxy port, half of them plain, half inside a CONNECT tunnel to the
vault that never starts TLS.
"""

from __future__ import annotations

import contextlib
import resource
import socket
import time

import pytest
from azure.keyvault.secrets import SecretClient

from helpers.sandbox.connections import ConnectionLimiter, default_cap
from tests.conftest import SAMPLE, credential_for, vault_url

IDLE = 1000


def _raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        top = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < wanted:
        pytest.skip(f"needs {wanted} file descriptors")


def _idle_sockets(port: int, count: int) -> list[socket.socket]:
    socks = []
    for i in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if i % 2:
            sock.sendall(b"CONNECT airflow-sandbox-kv.vault.azure.net:443 HTTP/1.1\r\n\r\n")
        socks.append(sock)
    return socks


@contextlib.contextmanager
def _timeouts(sandbox, **values):
    saved = dict(sandbox.server.timeouts)
    sandbox.server.timeouts.update(values)
    try:
        yield
    finally:
        sandbox.server.timeouts.update(saved)


def test_a_real_client_reads_a_secret_within_1s_while_1000_idle_sockets_are_held(akv_sandbox):
    # Both ends of every socket live in this process (the sandbox runs in a thread).
    _raise_fd_limit(4 * IDLE + 512)
    client = SecretClient(vault_url(), credential_for(akv_sandbox, "airflow-backend"))
    socks = _idle_sockets(akv_sandbox.port, IDLE)
    try:
        time.sleep(0.3)  # let the sandbox accept them all
        started = time.perf_counter()
        value = client.get_secret(SAMPLE).value
        elapsed = time.perf_counter() - started
        assert value
        assert elapsed < 1.0, f"read took {elapsed:.2f} s behind {IDLE} idle sockets"
        limiter = akv_sandbox.server.limiter
        assert limiter.open_count("127.0.0.1") <= limiter.max_per_peer
        assert limiter.evicted >= IDLE - limiter.max_per_peer
    finally:
        for sock in socks:
            sock.close()
        client.close()


def test_an_idle_connection_is_closed_after_the_idle_timeout(akv_sandbox):
    with (
        _timeouts(akv_sandbox, idle_timeout=0.3),
        socket.create_connection(("127.0.0.1", akv_sandbox.port), timeout=5) as sock,
    ):
        started = time.monotonic()
        assert sock.recv(100) == b""  # closed without a word, like an idle keep-alive
        assert time.monotonic() - started < 3


def test_a_slowloris_head_gets_408_after_the_head_timeout(akv_sandbox):
    with (
        _timeouts(akv_sandbox, head_timeout=0.3),
        socket.create_connection(("127.0.0.1", akv_sandbox.port), timeout=5) as sock,
    ):
        sock.sendall(b"GET /_sandbox/status HTTP/1.1\r\nX-Slow: ")
        for _ in range(3):
            with contextlib.suppress(OSError):
                sock.sendall(b"a")
            time.sleep(0.2)
        assert sock.recv(100).startswith(b"HTTP/1.1 408 ")


def test_a_body_that_never_arrives_gets_408_after_the_body_timeout(akv_sandbox):
    with (
        _timeouts(akv_sandbox, body_timeout=0.3),
        socket.create_connection(("127.0.0.1", akv_sandbox.port), timeout=5) as sock,
    ):
        sock.sendall(b"POST /_sandbox/seed HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
        assert sock.recv(100).startswith(b"HTTP/1.1 408 ")


def test_the_cap_closes_the_oldest_waiting_connection_never_a_busy_one():
    class Task:
        def __init__(self):
            self.cancelled = False

        def cancel(self):
            self.cancelled = True

    limiter = ConnectionLimiter(2)
    busy, old, new, newest = Task(), Task(), Task(), Task()
    limiter.opened("p", busy)
    limiter.busy("p", busy)
    limiter.opened("p", old)
    limiter.opened("p", new)  # over the cap: the oldest *waiting* one goes
    assert (busy.cancelled, old.cancelled, new.cancelled) == (False, True, False)
    limiter.closed("p", old)
    assert limiter.open_count("p") == 2
    limiter.opened("other-peer", newest)  # another peer has its own cap
    assert not new.cancelled and limiter.open_count() == 3


def test_the_default_cap_leaves_room_under_the_descriptor_limit():
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert 16 <= default_cap() <= 512
    if soft != resource.RLIM_INFINITY:
        assert default_cap() < soft // 2
