"""The exercises notebook (issue 13): Check my work in JupyterLab and headless.

A real class (one trainee, one exercise) in a real sandbox: the form's button handler is
called in-process and its Output read (FAIL with hint 1 on the broken state, PASS after the
reference solve); the trainee comes from the environment; outside a class the form and the
notebook show AKV-TRAIN-008 instead of a traceback; papermill runs exercises.ipynb with
``-p exercise kv-contributor`` in the trainee's environment and exits non-zero on the broken
state, 0 after the solve.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.findings.results import collect_results
from helpers.sandbox import Sandbox, load_scenario
from helpers.training import CLASS_STATE_VAR, TRAINEE_VAR, Classroom, create_class
from helpers.widgets_class import JOIN, ExerciseForm, Seat, exercise_form, join_class
from tests.test_notebooks_headless import NOTEBOOKS, run_papermill

EXERCISE = "kv-contributor"
ME = "trainee-01"


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Classroom]:
    classroom = create_class(tmp_path_factory.mktemp("class"), trainees=1, exercises=[EXERCISE])
    sandbox = Sandbox(
        scenario=load_scenario(classroom.scenario_path), state_dir=classroom.sandbox_dir
    )
    sandbox.start()
    try:
        classroom.set_up()
        yield classroom
    finally:
        sandbox.stop()


def output_text(form: ExerciseForm) -> str:
    return "\n".join(
        "\n".join(str(v) for v in out.get("data", {}).values()) for out in form.output.outputs
    )


def test_the_trainee_comes_from_the_environment(
    room: Classroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TRAINEE_VAR, ME)
    monkeypatch.setenv(CLASS_STATE_VAR, str(room.state_dir))
    seat = join_class()
    assert seat.trainee == ME and seat.room is not None
    assert seat.room.state_dir == room.state_dir
    described = str(seat.describe())
    assert ME in described and EXERCISE in described and "not-started" in described
    stranger = join_class({TRAINEE_VAR: "trainee-99", CLASS_STATE_VAR: str(room.state_dir)})
    assert stranger.room is None
    assert [f.code for f in stranger.describe().findings] == ["AKV-TRAIN-006"]


def test_outside_a_class_the_form_and_the_check_say_how_to_join(tmp_path: Path) -> None:
    seat = join_class({})
    assert seat == Seat()
    form = exercise_form(seat)
    assert form.check_button.disabled and form.reset_button.disabled
    shown = output_text(form)
    assert "AKV-TRAIN-008" in shown and JOIN in shown and "Traceback" not in shown
    assert EXERCISE in dict(form.picker.options).values()  # the shipped exercises
    assert [f.code for f in seat.check(EXERCISE).findings] == ["AKV-TRAIN-006"]
    assert JOIN in seat.check(EXERCISE).findings[0].detail
    assert seat.check("").findings == []  # nothing chosen: nothing checked
    gone = join_class({TRAINEE_VAR: ME, CLASS_STATE_VAR: str(tmp_path / "none")})
    assert [f.code for f in gone.describe().findings] == ["AKV-TRAIN-006"]


def test_check_my_work_fails_with_hint_one_then_passes_after_the_solve(room: Classroom) -> None:
    hints = room.exercise(EXERCISE).hints
    form = exercise_form(join_class({TRAINEE_VAR: ME, CLASS_STATE_VAR: str(room.state_dir)}))
    assert form.picker.value == EXERCISE and room.exercise(EXERCISE).title in form.story.value

    form.check_button.click()
    shown = output_text(form)
    assert "FAIL" in shown and "Hint 1 of" in shown and "Traceback" not in shown
    assert json.dumps(hints[0])[1:-1][:40] in json.dumps(shown)
    assert room.status()["trainees"][0]["exercises"][EXERCISE]["hints_used"] == 1

    form.reset_button.click()  # asks first; Cancel leaves everything as it was
    assert form.confirm.layout.display == "flex"
    form.cancel_button.click()
    assert form.confirm.layout.display == "none"

    room.solve(ME, EXERCISE)
    form.check_button.click()
    shown = output_text(form)
    assert "PASS" in shown and "AKV-TRAIN-001" in shown and "Hint" not in shown

    form.reset_button.click()
    form.confirm_button.click()  # confirmed: broken again, hints from the start
    assert "broken state" in output_text(form)
    record = room.status()["trainees"][0]["exercises"][EXERCISE]
    assert record["state"] == "not-started" and record["hints_used"] == 0


def test_papermill_fails_on_the_broken_state_and_passes_after_the_solve(
    room: Classroom, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    room.reset(ME, EXERCISE)
    monkeypatch.setenv(TRAINEE_VAR, ME)
    monkeypatch.setenv(CLASS_STATE_VAR, str(room.state_dir))
    runs = []
    for name in ("broken", "solved"):
        out = tmp_path / f"{name}.ipynb"
        args = [str(NOTEBOOKS / "exercises.ipynb"), str(out), "-k", "python3"]
        runs.append((run_papermill([*args, "-p", "exercise", EXERCISE]), out))
        if name == "broken":
            room.solve(ME, EXERCISE)
    (broken, broken_nb), (solved, solved_nb) = runs
    assert broken.returncode != 0, broken.stderr[-2000:]
    assert solved.returncode == 0, solved.stderr[-2000:]
    check = {r["step"]: r for r in collect_results(broken_nb)}["check"]
    assert not check["ok"] and "AKV-TRAIN-001" not in json.dumps(check)
    check = {r["step"]: r for r in collect_results(solved_nb)}["check"]
    assert check["ok"] and [f["code"] for f in check["findings"]] == ["AKV-TRAIN-001"]
