"""A class of 30 (issue 13): every trainee reads their own vault and is refused, with the
sandbox's real 403, on each of the 29 others — through the real azure-keyvault-secrets SDK."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity import ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient

from helpers.common.envscope import scoped_environ
from helpers.sandbox import Sandbox, load_scenario
from helpers.training import Classroom, create_class, home_vault
from helpers.training.scenario import FACILITATOR, SAMPLE_VALUE, guid

TRAINEES = 30


@pytest.fixture(scope="module")
def class30(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Classroom]:
    room = create_class(tmp_path_factory.mktemp("class30"), trainees=TRAINEES)
    sandbox = Sandbox(scenario=load_scenario(room.scenario_path), state_dir=room.sandbox_dir)
    sandbox.start()
    try:
        room.set_up()
        yield room
    finally:
        sandbox.stop()


def test_class_of_30_each_trainee_reads_only_their_own_vault(class30: Classroom) -> None:
    room, secrets = class30, class30.client_secrets()
    wire = room.wire

    def reads(trainee: str) -> list[tuple[str, str, object]]:
        credential = wire.credential(guid("app", trainee), secrets[trainee])
        out = []
        for other in room.trainees:
            client = wire.secrets(home_vault(other), credential)
            try:
                value = client.get_secret("airflow-variables-sample-variable").value
                out.append((trainee, other, value))
            except HttpResponseError as err:
                out.append((trainee, other, (err.status_code, err.error.code if err.error else "")))
        return out

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = [r for rows in pool.map(reads, room.trainees) for r in rows]
    own = [(t, v) for t, o, v in results if t == o]
    cross = [(t, o, v) for t, o, v in results if t != o]
    assert own == [(t, SAMPLE_VALUE.format(trainee=t)) for t in room.trainees]
    assert len(cross) == TRAINEES * (TRAINEES - 1)
    assert {v for _, _, v in cross} == {(403, "Forbidden")}


def test_the_facilitator_is_not_a_trainee_and_trainees_get_their_own_environment(
    class30: Classroom,
) -> None:
    env = class30.environment("trainee-07")
    assert env["AZURE_KEYVAULT_URL"] == "https://t07-kv.vault.azure.net/"
    assert env["AZURE_CLIENT_ID"] == guid("app", "trainee-07")
    assert env["AKV_OPERATOR_CLIENT_ID"] == guid("app", "trainee-07-operator")
    assert env["AZURE_CLIENT_SECRET"] != class30.client_secrets()[FACILITATOR]
    assert Path(env["REQUESTS_CA_BUNDLE"]).is_file()


@pytest.mark.parametrize("credential", ["managed-identity", "imds"])
def test_a_trainees_managed_identity_reads_only_their_own_vault(
    class30: Classroom, credential: str
) -> None:
    env = class30.environment("trainee-03", credential)
    assert env["AZURE_CLIENT_ID"] == guid("app", "trainee-03-identity")
    with scoped_environ(env):
        mi = ManagedIdentityCredential(client_id=env["AZURE_CLIENT_ID"])
        own = SecretClient(env["AZURE_KEYVAULT_URL"], mi, retry_total=0)
        assert own.get_secret("airflow-variables-sample-variable").value == SAMPLE_VALUE.format(
            trainee="trainee-03"
        )
        other = SecretClient("https://t04-kv.vault.azure.net/", mi, retry_total=0)
        with pytest.raises(HttpResponseError) as refused:
            other.get_secret("airflow-variables-sample-variable")
    assert refused.value.status_code == 403


def test_thirty_trainees_checking_at_once_lose_no_progress(class30: Classroom) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda t: class30.check(t, "kwargs-comma"), class30.trainees))
    assert [r.hint_number for r in results] == [1] * TRAINEES
    rows = class30.status()["trainees"]
    assert [row["exercises"]["kwargs-comma"]["checks"] for row in rows] == [1] * TRAINEES
    assert {row["exercises"]["kwargs-comma"]["state"] for row in rows} == {"in-progress"}
