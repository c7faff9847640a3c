"""Key Vault secrets through the async stack: azure.keyvault.secrets.aio + azure.identity.aio.

aiohttp honours HTTPS_PROXY (trust_env) and SSL_CERT_FILE, both applied by the fixture.
pytest-asyncio is not installed: each test drives its coroutine with asyncio.run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.identity.aio import ClientSecretCredential, DefaultAzureCredential
from azure.keyvault.secrets.aio import SecretClient

from tests.conftest import POLICY_VAULT, SAMPLE, vault_url


def inner_code(err: HttpResponseError) -> str | None:
    return ((err.response.json()["error"]).get("innererror") or {}).get("code")


@pytest.fixture(params=["client_secret", "default"])
def run_as_admin(request, akv_sandbox, monkeypatch) -> Callable:
    """Runs ``scenario(client)`` with an async SecretClient for the admin principal."""
    env = akv_sandbox.client.env("admin")
    for key in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"):
        monkeypatch.setenv(key, env[key])

    def run(scenario: Callable[[SecretClient], Awaitable[object]], url: str = vault_url()):
        async def main():
            if request.param == "client_secret":
                credential = ClientSecretCredential(
                    env["AZURE_TENANT_ID"], env["AZURE_CLIENT_ID"], env["AZURE_CLIENT_SECRET"]
                )
            else:
                credential = DefaultAzureCredential()
            async with credential, SecretClient(url, credential) as client:
                return await scenario(client)

        return asyncio.run(main())

    return run


def run_as(sandbox, principal: str, scenario, url: str = vault_url()):
    env = sandbox.client.env(principal)

    async def main():
        credential = ClientSecretCredential(
            env["AZURE_TENANT_ID"], env["AZURE_CLIENT_ID"], env["AZURE_CLIENT_SECRET"]
        )
        async with credential, SecretClient(url, credential) as client:
            return await scenario(client)

    return asyncio.run(main())


def test_async_set_get_and_get_version(run_as_admin):
    async def scenario(client: SecretClient):
        first = await client.set_secret("async-secret", "v1", content_type="text/plain")
        second = await client.set_secret("async-secret", "v2")
        latest = await client.get_secret("async-secret")
        old = await client.get_secret("async-secret", first.properties.version)
        return first, second, latest, old

    first, second, latest, old = run_as_admin(scenario)
    assert first.properties.content_type == "text/plain"
    assert (latest.value, latest.properties.version) == ("v2", second.properties.version)
    assert (old.value, old.properties.version) == ("v1", first.properties.version)


def test_async_list_pages_over_more_than_25(run_as_admin):
    names = {f"async-bulk-{i:02d}" for i in range(30)}

    async def scenario(client: SecretClient):
        await asyncio.gather(*(client.set_secret(n, "v") for n in names))
        listed = [p.name async for p in client.list_properties_of_secrets()]
        page_sizes = []
        async for page in client.list_properties_of_secrets().by_page():
            page_sizes.append(len([p async for p in page]))
        versions = [p async for p in client.list_properties_of_secret_versions(SAMPLE)]
        return listed, page_sizes, versions

    listed, page_sizes, versions = run_as_admin(scenario)
    assert names <= set(listed)
    assert len(listed) == len(set(listed)) == 33
    assert page_sizes == [25, 8]
    assert len(versions) == 1


def test_async_delete_recover_delete_purge(run_as_admin):
    async def scenario(client: SecretClient):
        await client.set_secret("async-doomed", "precious")
        deleted = await client.delete_secret("async-doomed")
        got_deleted = await client.get_deleted_secret("async-doomed")
        listed = [d.name async for d in client.list_deleted_secrets()]
        try:
            await client.set_secret("async-doomed", "reuse")
        except ResourceExistsError as err:
            conflict = err
        recovered = await client.recover_deleted_secret("async-doomed")
        value = (await client.get_secret("async-doomed")).value
        await client.delete_secret("async-doomed")
        await client.purge_deleted_secret("async-doomed")
        try:
            await client.get_deleted_secret("async-doomed")
        except ResourceNotFoundError as err:
            missing = err
        return deleted, got_deleted, listed, conflict, recovered, value, missing

    deleted, got_deleted, listed, conflict, recovered, value, missing = run_as_admin(scenario)
    assert deleted.recovery_id == f"{vault_url()}deletedsecrets/async-doomed"
    assert got_deleted.recovery_id == deleted.recovery_id
    assert listed == ["async-doomed"]
    assert conflict.status_code == 409
    assert inner_code(conflict) == "ObjectIsDeletedButRecoverable"
    assert recovered.name == "async-doomed"
    assert value == "precious"
    assert missing.error.code == "SecretNotFound"


def test_async_missing_secret_raises_ResourceNotFoundError(akv_sandbox):
    async def scenario(client: SecretClient):
        await client.get_secret("no-such-secret")

    with pytest.raises(ResourceNotFoundError) as caught:
        run_as(akv_sandbox, "airflow-backend", scenario)
    assert caught.value.error.code == "SecretNotFound"


def test_async_secrets_user_set_is_403_ForbiddenByRbac(akv_sandbox):
    async def scenario(client: SecretClient):
        value = (await client.get_secret(SAMPLE)).value
        try:
            await client.set_secret("not-allowed", "v")
        except HttpResponseError as err:
            return value, err
        return value, None

    value, err = run_as(akv_sandbox, "airflow-backend", scenario)
    assert value
    assert err is not None and err.status_code == 403
    assert inner_code(err) == "ForbiddenByRbac"


def test_async_access_policy_vault_set_is_403_ForbiddenByPolicy(akv_sandbox):
    async def scenario(client: SecretClient):
        await client.set_secret("not-allowed", "v")

    with pytest.raises(HttpResponseError) as caught:
        run_as(akv_sandbox, "airflow-backend", scenario, vault_url(POLICY_VAULT))
    assert caught.value.status_code == 403
    assert inner_code(caught.value) == "ForbiddenByPolicy"


def test_async_throttling_is_retried_and_succeeds(akv_sandbox):
    akv_sandbox.client.add_fault("throttle", target="keyvault", count=1, retry_after=0)

    async def scenario(client: SecretClient):
        return (await client.get_secret(SAMPLE)).value

    assert run_as(akv_sandbox, "airflow-backend", scenario)
    assert akv_sandbox.client.status()["faults"] == []


def test_async_stack_does_not_need_REQUESTS_CA_BUNDLE(akv_sandbox, monkeypatch):
    # aiohttp trusts through the default SSL context (SSL_CERT_FILE); it builds that context
    # once per process, so only the positive case can be shown in-process.
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)

    async def scenario(client: SecretClient):
        return (await client.get_secret(SAMPLE)).value

    assert run_as(akv_sandbox, "airflow-backend", scenario)
