"""Concurrency and latency through the proxy: correctness checks, not benchmarks.

Many real SecretClients set and get the same few secrets at once: nothing is lost or
mixed up. Keep-alive requests through the proxy have no 40 ms Nagle/delayed-ACK floor
(bench/sandbox_load.py measures throughput).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import defaultdict

import pytest
import requests
from azure.keyvault.secrets import SecretClient

from tests.conftest import SAMPLE, vault_url

THREADS = 8
ROUNDS = 12
NAMES = ("concurrency-a", "concurrency-b", "concurrency-c")
VAULT_HOST = "airflow-sandbox-kv.vault.azure.net"
API = "api-version=2026-04-01"


def test_concurrent_sets_and_gets_of_the_same_secrets_lose_nothing(akv_sandbox, admin_credential):
    written: dict[str, dict[str, str]] = defaultdict(dict)  # name -> version -> value
    read: list[tuple[str, str | None, str | None]] = []  # (name, version, value) seen by gets
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)
    with SecretClient(vault_url(), admin_credential) as client:
        for name in NAMES:
            written[name][client.set_secret(name, "initial").properties.version] = "initial"

    def worker(index: int) -> None:
        client = SecretClient(vault_url(), admin_credential)
        try:
            start.wait(30)
            for i in range(ROUNDS):
                name = NAMES[(index + i) % len(NAMES)]
                value = f"thread-{index}-round-{i}"
                secret = client.set_secret(name, value)
                with lock:
                    written[name][secret.properties.version] = value
                got = client.get_secret(NAMES[(index + 2 * i + 1) % len(NAMES)])
                with lock:
                    read.append((got.name, got.properties.version, got.value))
        except BaseException as err:  # noqa: BLE001 - reported by the test below
            with lock:
                errors.append(err)
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads), "a client thread hung"
    assert errors == []

    assert sum(len(v) for v in written.values()) == THREADS * ROUNDS + len(NAMES)
    with SecretClient(vault_url(), admin_credential) as client:
        for name in NAMES:
            listed = [p.version for p in client.list_properties_of_secret_versions(name)]
            assert len(listed) == len(written[name]), f"{name}: version count differs"
            assert set(listed) == set(written[name]), f"versions of {name} lost or invented"
            latest = client.get_secret(name)
            assert written[name][latest.properties.version] == latest.value
            for version, value in list(written[name].items())[:4]:
                assert client.get_secret(name, version).value == value
    for name, version, value in read:
        # A get that raced a set sees a version some set wrote, with that set's value.
        assert written[name][version] == value


def _bearer(credential) -> dict[str, str]:
    return {
        "Authorization": "Bearer " + credential.get_token("https://vault.azure.net/.default").token
    }


@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", None), ("PUT", {"value": "v" * 2000})],
    ids=["get", "put-with-body"],
)
def test_keep_alive_requests_through_the_proxy_have_no_40ms_floor(
    akv_sandbox, admin_credential, method, body
):
    """PUT is where the stall bit: urllib3 sends head and body separately, Nagle on."""
    url = f"https://{VAULT_HOST}/secrets/{SAMPLE if method == 'GET' else 'latency-probe'}?{API}"
    headers = _bearer(admin_credential)
    connections_before = akv_sandbox.server.info["connections"]
    latencies = []
    with requests.Session() as session:
        for _ in range(50):
            started = time.perf_counter()
            response = session.request(method, url, json=body, headers=headers, timeout=10)
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
    assert statistics.median(latencies) < 0.020, f"median {statistics.median(latencies):.3f} s"
    # One CONNECT tunnel carried all 50 requests (keep-alive inside the tunnel).
    assert akv_sandbox.server.info["connections"] - connections_before == 1
