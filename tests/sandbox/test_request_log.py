"""The sandbox's request log (GET /_sandbox/requests): what `akv-runbook cost` counts.

Driven by the real SecretClient and DefaultAzureCredential through the proxy, as in use.
"""

from __future__ import annotations

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient

from helpers.sandbox.requestlog import RequestLog
from tests.conftest import SAMPLE, vault_url


def test_a_secret_read_is_logged_with_its_token_and_challenge(akv_sandbox):
    client = akv_sandbox.client
    mark = client.mark()
    secrets = SecretClient(vault_url(), DefaultAzureCredential())
    assert secrets.get_secret(SAMPLE).value
    with pytest.raises(ResourceNotFoundError):
        secrets.get_secret("no-such-secret")
    page = client.requests(mark)
    records = page["records"]
    assert page["dropped"] == 0
    assert page["next"] == records[-1]["seq"] == client.mark()
    ops = [(r["service"], r["operation"], r["status"], r["name"]) for r in records]
    # A new credential asks for a token; a 401 challenge is sent only by a process that has
    # not met this vault yet (the SDK caches challenges per process).
    assert ("entra", "token", 200, "") in ops
    assert {o for o in ops if o[2] == 401} <= {("keyvault", "get_secret", 401, SAMPLE)}
    gets = [o for o in ops if o[1] == "get_secret" and o[2] != 401]
    assert gets == [
        ("keyvault", "get_secret", 200, SAMPLE),
        ("keyvault", "get_secret", 404, "no-such-secret"),
    ]
    assert all(
        r["host"].endswith(".vault.azure.net") for r in records if r["service"] == "keyvault"
    )
    # Nothing after the last record.
    assert client.requests(page["next"])["records"] == []


def test_the_log_never_holds_a_value_or_a_token(akv_sandbox):
    client = akv_sandbox.client
    mark = client.mark()
    value = SecretClient(vault_url(), DefaultAzureCredential()).get_secret(SAMPLE).value
    text = str(client.requests(mark))
    assert value not in text
    assert "eyJ" not in text  # no JWT
    assert akv_sandbox.environment()["AZURE_CLIENT_SECRET"] not in text


def test_the_ring_reports_what_a_slow_reader_lost():
    log = RequestLog(capacity=3)
    for i in range(5):
        log.add("keyvault", "kv.vault.azure.net", "get_secret", 200, f"s{i}")
    page = log.after(0)
    assert [r["name"] for r in page["records"]] == ["s2", "s3", "s4"]
    assert page["dropped"] == 2 and page["next"] == 5 == page["last"]
    assert log.after(5)["records"] == [] and log.after(5)["dropped"] == 0
    assert [r["name"] for r in log.after(3, limit=1)["records"]] == ["s3"]


@pytest.mark.parametrize("query", ["after=-1", "after=x", "limit=1e3", "after=" + "9" * 13])
def test_bad_numbers_are_400(akv_sandbox, query):
    with pytest.raises(RuntimeError, match="400"):
        akv_sandbox.client.call("GET", f"/requests?{query}")
