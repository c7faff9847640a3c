"""The exercises notebook (issue 13): the trainee's seat in a class, the exercises' stories
and the **Check my work** form.

The trainee and the class come from the kernel's environment — ``AKV_CLASS_TRAINEE`` and
``AKV_CLASS_STATE_DIR``, which ``akv-runbook class env`` sets in the shell that starts
JupyterLab — never from anything typed. Every check is :meth:`Classroom.check`, the one
``class check`` and the dashboard use: a failing check reveals the next hint (hint 1, hint 2,
…, the solution). Outside a class the notebook shows AKV-TRAIN-008 (how to join), never a
traceback. The form's buttons and the notebook's headless cell call the same :class:`Seat`
methods; like every form, results reach ``output`` (see :mod:`helpers.widgets`).
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as widgets

from helpers.findings import Finding
from helpers.findings.codes.train import CLASS_UNAVAILABLE, NOT_IN_CLASS
from helpers.runbook import Section, StepResult
from helpers.training import (
    ACTIONS,
    CHECKS,
    CLASS_STATE_VAR,
    TRAINEE_VAR,
    CheckResult,
    ClassError,
    Classroom,
    Exercise,
    ExerciseError,
    default_class_dir,
    load_exercises,
)
from helpers.widgets import Form

__all__ = ["JOIN", "ExerciseForm", "Seat", "exercise_form", "join_class"]

JOIN = 'eval "$(akv-runbook class env --trainee trainee-NN)"'
_HOW_TO_JOIN = (
    f"join a class in a shell with `{JOIN}` (your trainee id from the facilitator), then start "
    "JupyterLab from that shell"
)


@dataclass
class Seat:
    """A trainee's place in a class; ``room`` is None when this kernel is in none (``problem``
    says why when the environment names a class that cannot be opened)."""

    trainee: str = ""
    room: Classroom | None = None
    problem: str = ""

    @property
    def exercises(self) -> list[Exercise]:
        """The class's exercises; outside a class, the ones the package ships."""
        if self.room is not None:
            return list(self.room.exercises.values())
        return load_exercises(actions=set(ACTIONS), checks=set(CHECKS))

    def _absent(self) -> Finding:
        if not self.trainee:
            return NOT_IN_CLASS("this kernel", f"{TRAINEE_VAR} is not set: {_HOW_TO_JOIN}")
        return CLASS_UNAVAILABLE(self.trainee, self.problem)

    def describe(self) -> StepResult:
        """Who this kernel checks as, and the trainee's progress in each exercise."""
        if self.room is None:
            return StepResult("Your class", [self._absent()])
        mine = next(t for t in self.room.status()["trainees"] if t["id"] == self.trainee)
        rows = [["exercise", "title", "state", "hints used", "checks"]]
        for ex in self.exercises:
            done = mine["exercises"][ex.id]
            rows.append([ex.id, ex.title, done["state"], done["hints_used"], done["checks"]])
        who = (
            f"You are {self.trainee} (from {TRAINEE_VAR} in this kernel's environment), "
            f"in the class of {self.room.state_dir}."
        )
        return StepResult(
            "Your class", [], sections=[Section("", who, "note"), Section("", rows, "table")]
        )

    def stories(self, exercise: str = "") -> StepResult:
        """Each exercise's story (only ``exercise``'s when one is named)."""
        chosen = [e for e in self.exercises if not exercise or e.id == exercise]
        sections = [Section(f"{e.id} · {e.title}", e.story, "note") for e in chosen]
        if not sections:
            sections = [Section("", f"No exercise {exercise!r} here.", "note")]
        return StepResult("The exercises", [], sections=sections)

    def check(self, exercise: str) -> StepResult:
        """Check my work: :meth:`Classroom.check`, PASS or FAIL, its findings, the next hint."""
        title = f"Check my work · {exercise}" if exercise else "Check my work"
        if not exercise:
            note = "No exercise chosen: pick one in the form above (headless: -p exercise ID)."
            return StepResult(title, [], sections=[Section("", note, "note")])
        if self.room is None:
            absent = self._absent()
            if not self.trainee:  # a named exercise and no class: nothing was checked
                absent = CLASS_UNAVAILABLE(exercise, f"this kernel is in no class: {_HOW_TO_JOIN}")
            return StepResult(title, [absent])
        return _shown(title, self.trainee, exercise, self.room.check(self.trainee, exercise))

    def reset(self, exercise: str) -> StepResult:
        """Restore the exercise's broken state; its hints start again at hint 1."""
        title = f"Reset · {exercise}"
        if self.room is None:
            return StepResult(title, [self._absent()])
        try:
            self.room.reset(self.trainee, exercise)
        except (ClassError, RuntimeError, OSError) as err:
            return StepResult(title, [CLASS_UNAVAILABLE(self.trainee, str(err)[:300])])
        note = f"{exercise} is back in its broken state; your hints start again at hint 1."
        return StepResult(title, [], sections=[Section("", note, "note")])


def _shown(title: str, trainee: str, exercise: str, result: CheckResult) -> StepResult:
    sections = [Section("", "PASS" if result.passed else "FAIL", "note")]
    if result.hint:
        label = (
            "The solution"
            if result.hint_number == result.hints
            else f"Hint {result.hint_number} of {result.hints - 1} (then the solution)"
        )
        sections.append(Section(label, result.hint, "note"))
    data = {"trainee": trainee, "exercise": exercise, **result.to_dict()}
    data.pop("findings")
    return StepResult(title, list(result.findings), sections=sections, data=data)


def join_class(environ: Mapping[str, str] | None = None) -> Seat:
    """The seat that this kernel's environment names (``class env`` set it); never raises."""
    env = os.environ if environ is None else environ
    trainee = (env.get(TRAINEE_VAR) or "").strip()
    if not trainee:
        return Seat()
    state = (env.get(CLASS_STATE_VAR) or "").strip()
    directory = Path(state) if state else default_class_dir()
    try:
        room = Classroom(directory)
    except (ClassError, ExerciseError, OSError, ValueError) as err:
        return Seat(trainee, None, f"{CLASS_STATE_VAR}={directory}: {err}")
    if trainee not in room.trainees:
        return Seat(trainee, None, f"no trainee {trainee!r} in the class in {directory}")
    return Seat(trainee, room)


class ExerciseForm(Form):
    """An exercise picker, its story, **Check my work** and **Reset** (after a confirmation)."""

    title = "Check my work"

    def __init__(self, seat: Seat, exercise: str = ""):
        self.seat = seat
        self.stories = {e.id: e for e in seat.exercises}
        options = [(f"{e.id} · {e.title}", e.id) for e in self.stories.values()]
        self.picker = widgets.Dropdown(
            options=options,
            value=exercise if exercise in self.stories else (options[0][1] if options else None),
            description="Exercise",
            layout=widgets.Layout(width="40em"),
        )
        self.story = widgets.HTML()
        self.check_button = widgets.Button(
            description="Check my work",
            icon="check",
            button_style="primary",
            tooltip="Verify against the class's sandbox; a failing check shows the next hint",
        )
        self.reset_button = widgets.Button(
            description="Reset", icon="undo", tooltip="Restore this exercise's broken state"
        )
        self.confirm_button = widgets.Button(description="Yes, reset", button_style="danger")
        self.cancel_button = widgets.Button(description="Cancel")
        self.confirm = widgets.HBox(
            [
                widgets.HTML("Reset undoes your work on this exercise and its hints. Sure?"),
                self.confirm_button,
                self.cancel_button,
            ],
            layout=widgets.Layout(display="none"),
        )
        who = (
            f"Checking as <b>{html.escape(seat.trainee)}</b> (from this kernel's environment)"
            if seat.room is not None
            else "Not in a class: the buttons need one (see below)."
        )
        super().__init__(
            [
                widgets.HTML(who),
                self.picker,
                self.story,
                widgets.HBox([self.check_button, self.reset_button]),
                self.confirm,
            ]
        )
        self.picker.observe(self._show_story, names="value")
        self.check_button.on_click(self._on_check)
        self.reset_button.on_click(self._on_reset)
        self.confirm_button.on_click(self._on_confirm)
        self.cancel_button.on_click(self._on_cancel)
        self._show_story()
        if seat.room is None:
            self.check_button.disabled = self.reset_button.disabled = True
            self.run(None, seat.describe)

    def _show_story(self, _change: object = None) -> None:
        chosen = self.stories.get(self.picker.value)
        self.story.value = (
            f"<p><b>{html.escape(chosen.title)}</b></p><p>{html.escape(chosen.story)}</p>"
            if chosen
            else ""
        )

    def _on_check(self, button: widgets.Button) -> None:
        self.run(button, lambda: self.seat.check(self.picker.value), "Checking…")

    def _on_reset(self, _button: widgets.Button) -> None:
        self.confirm.layout.display = "flex"

    def _on_cancel(self, _button: widgets.Button) -> None:
        self.confirm.layout.display = "none"

    def _on_confirm(self, button: widgets.Button) -> None:
        self.confirm.layout.display = "none"
        self.run(button, lambda: self.seat.reset(self.picker.value), "Resetting…")


def exercise_form(seat: Seat | None = None, exercise: str = "") -> ExerciseForm:
    """The Check my work form for this kernel's seat (:func:`join_class` when not given)."""
    return ExerciseForm(seat if seat is not None else join_class(), exercise)
