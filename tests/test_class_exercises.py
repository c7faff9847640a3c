"""Every exercise (issue 13): its check fails on the broken state with hint 1, the reference
solution makes it pass, reset restores the broken state, and one trainee's fix never changes
another's result — against a real class sandbox, through the real SDKs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from helpers.sandbox import Sandbox, load_scenario
from helpers.training import (
    ACTIONS,
    CHECKS,
    Classroom,
    ExerciseError,
    create_class,
    load_exercises,
)
from helpers.training.exercises import load_exercise
from helpers.training.scenario import SUBSCRIPTION_ID, guid
from helpers.training.wire import ARM

EXERCISES = [e.id for e in load_exercises(actions=set(ACTIONS), checks=set(CHECKS))]


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Classroom]:
    classroom = create_class(tmp_path_factory.mktemp("class"), trainees=2)
    sandbox = Sandbox(
        scenario=load_scenario(classroom.scenario_path), state_dir=classroom.sandbox_dir
    )
    sandbox.start()
    try:
        classroom.set_up()
        yield classroom
    finally:
        sandbox.stop()


def test_at_least_eight_exercises_ship() -> None:
    assert len(EXERCISES) >= 8
    assert {
        "kv-contributor",
        "kwargs-quotes",
        "variables-prefix",
        "underscore-name",
        "policy-without-get",
        "expired-secret",
        "closed-firewall",
        "airflow3-dag",
    } <= set(EXERCISES)


def _codes(result) -> list[str]:
    return [f.code for f in result.findings]


@pytest.mark.parametrize("exercise", EXERCISES)
def test_exercise_breaks_hints_solves_resets_and_stays_in_its_slice(
    room: Classroom, exercise: str
) -> None:
    me, other = "trainee-01", "trainee-02"
    hints = room.exercise(exercise).hints

    broken = room.check(me, exercise)
    assert not broken.passed and broken.findings
    assert (broken.hint, broken.hint_number) == (hints[0], 1)
    theirs = room.check(other, exercise)
    assert not theirs.passed
    record = room.status()["trainees"][0]["exercises"][exercise]
    assert record["state"] == "in-progress" and record["stuck_since"] and record["checks"] == 1

    again = room.check(me, exercise)  # each failing check reveals the next hint
    assert (again.hint, again.hint_number) == (hints[1], 2)

    fixed = room.solve(me, exercise)
    assert fixed.passed, _codes(fixed)
    assert room.check(me, exercise).passed
    assert _codes(room.check(other, exercise)) == _codes(theirs)  # their slice is untouched
    record = room.status()["trainees"][0]["exercises"][exercise]
    assert record["state"] == "skipped" and record["stuck_since"] is None

    room.reset(me, exercise)
    restored = room.check(me, exercise)
    assert not restored.passed and _codes(restored) == _codes(broken)
    assert restored.hint_number == 1  # reset starts the hints over
    room.reset(me, exercise)
    room.reset(other, exercise)


def test_passing_by_ones_own_fix_is_recorded_as_passed(room: Classroom) -> None:
    """The trainee's operator fixes kv-contributor over ARM; another trainee's vault refuses it."""
    operator = "trainee-01-operator"
    secret = room.client_secrets()[operator]
    wire = room.wire
    token = wire.credential(guid("app", operator), secret).get_token(f"{ARM}/.default").token

    def put(trainee: str, vault: str) -> int:
        scope = wire.vault_id(trainee, vault)
        body = {
            "properties": {
                "roleDefinitionId": f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft."
                "Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6",
                "principalId": guid("sp", trainee),
                "principalType": "ServicePrincipal",
            }
        }
        url = f"{ARM}{scope}/providers/Microsoft.Authorization/roleAssignments/{guid('ra', scope)}"
        return requests.put(
            url,
            params={"api-version": "2022-04-01"},
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=15,
            proxies=wire.transport["proxies"],
            verify=wire.transport["connection_verify"],
        ).status_code

    assert put("trainee-02", "t02-kv-contributor") == 403
    assert put("trainee-01", "t01-kv-contributor") == 201
    assert not room.check("trainee-01", "kv-contributor").passed  # Contributor is still held
    wire.remove_role(
        wire.vault_id("trainee-01", "t01-kv-contributor"),
        guid("sp", "trainee-01"),
        "Key Vault Contributor",
    )
    assert room.check("trainee-01", "kv-contributor").passed
    assert room.status()["trainees"][0]["exercises"]["kv-contributor"]["state"] == "passed"
    room.reset("trainee-01", "kv-contributor")


def test_a_workload_token_of_another_trainees_namespace_does_not_sign_in(room: Classroom) -> None:
    work = room.workdir("trainee-01", "workload-subject") / "workload.env"
    room.solve("trainee-01", "workload-subject")
    assert room.check("trainee-01", "workload-subject").passed
    work.write_text(
        work.read_text().replace("POD_NAMESPACE=trainee-01", "POD_NAMESPACE=trainee-02")
    )
    assert _codes(room.check("trainee-01", "workload-subject")) == ["AKV-AUTH-012"]
    room.reset("trainee-01", "workload-subject")


def test_an_exercise_file_with_an_unknown_action_is_refused(tmp_path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(
        "id: x\ntitle: X\nstory: s\nhints: [a, b]\ncheck: [{backend_reads: {variable: v}}]\n"
        "setup: [{grant_everything: {}}]\n"
    )
    with pytest.raises(ExerciseError, match="unknown action 'grant_everything'"):
        load_exercise(path, actions=set(ACTIONS), checks=set(CHECKS))


def test_a_deleted_work_file_fails_the_check_with_its_own_finding(room: Classroom) -> None:
    (room.workdir("trainee-02", "kwargs-comma") / "backend_kwargs.json").unlink()
    assert _codes(room.check("trainee-02", "kwargs-comma")) == ["AKV-TRAIN-007"]
    room.reset("trainee-02", "kwargs-comma")
    assert _codes(room.check("trainee-02", "kwargs-comma")) == ["AKV-CFG-004"]
