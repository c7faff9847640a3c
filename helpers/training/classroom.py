"""A class: the state directory, its sandbox, and each trainee's progress.

The state directory (``class start --state-dir``) holds everything, so that every command
(``class env/check/reset/solve/status``, the dashboard, a restart) works from it::

    class.json        trainees, exercises, start time and every trainee's progress
    secrets.json      the class's client secrets (0600): a restart keeps every identity
    scenario.yaml     the sandbox scenario: one slice per trainee (0600: holds the secrets)
    sandbox/          the sandbox's state dir (server.json, control-token, CA, vault state)
    trainees/<id>/<exercise>/   the trainee's work files (backend_kwargs, dags, …)
    facilitator-token the dashboard's token (0600)
    class.lock        serialises progress updates between processes

Checks, resets and solves run in the calling process and talk to the running sandbox over
its proxy and control API (the address and token are in ``sandbox/``); progress is written
back to class.json under the lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets as token_source
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from helpers.common.paths import state_home
from helpers.common.textio import InputError, load_yaml, read_text
from helpers.findings import Finding
from helpers.findings.codes.train import CLASS_UNAVAILABLE, EXERCISE_PASSED, WORK_FILE_MISSING
from helpers.sandbox import SandboxClient, SandboxNotRunning, proxy_environment
from helpers.sandbox.scenario import validate
from helpers.sandbox.state import write_private

from .actions import ACTIONS, CHECKS, Slice, run_actions, run_checks
from .exercises import EXERCISES_DIR, Exercise, load_exercises
from .scenario import FACILITATOR, app_name, class_scenario, home_vault, trainee_ids
from .wire import Wire

__all__ = [
    "CLASS_STATE_VAR",
    "TRAINEE_VAR",
    "CheckResult",
    "ClassError",
    "Classroom",
    "create_class",
    "default_class_dir",
    "now_iso",
]

CLASS_FILE = "class.json"
CLASS_STATE_VAR = "AKV_CLASS_STATE_DIR"  # set by `class env`: a trainee's shell finds its class
TRAINEE_VAR = "AKV_CLASS_TRAINEE"
LISTS = ("apps", "vaults", "role_assignments", "managed_identities", "aks_clusters")


class ClassError(RuntimeError):
    """No class in this state dir, no such trainee or exercise, or the class is not running."""


def default_class_dir() -> Path:
    return Path(os.environ.get(CLASS_STATE_VAR) or state_home() / "class")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class CheckResult:
    passed: bool
    findings: list[Finding] = field(default_factory=list)
    hint: str | None = None
    hint_number: int = 0  # 1-based; the last hint is the solution
    hints: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "hint": self.hint,
            "hint_number": self.hint_number,
            "hints": self.hints,
            "findings": [f.to_dict() for f in self.findings],
        }


def _fresh() -> dict[str, Any]:
    return {
        "state": "not-started",
        "hints_used": 0,
        "checks": 0,
        "last_check": None,
        "stuck_since": None,
    }


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """A facilitator's scenario file on top of the class's: lists extend, the rest replaces."""
    merged = dict(base)
    for key, value in extra.items():
        if key in LISTS and isinstance(value, list):
            merged[key] = [*base.get(key, []), *value]
        elif key == "subscriptions" and isinstance(value, list):
            merged[key] = [*base[key], *value]
        else:
            merged[key] = value
    return merged


def create_class(
    state_dir: Path,
    *,
    trainees: int,
    exercises: list[str] | None = None,
    scenario: Path | None = None,
    exercises_dir: Path = EXERCISES_DIR,
) -> Classroom:
    """Write a new class into ``state_dir``, or open the one already there (a restart keeps
    its trainees, exercises and progress: ``trainees``/``exercises`` then must match or be
    left out)."""
    state_dir = Path(state_dir)
    if (state_dir / CLASS_FILE).exists():
        room = Classroom(state_dir, exercises_dir=exercises_dir)
        doc = room.document()
        if trainees and trainees != doc["trainees"]:
            raise ClassError(
                f"{state_dir} holds a class of {doc['trainees']} trainees; use another "
                "--state-dir for a new class"
            )
        return room
    chosen = load_exercises(exercises_dir, exercises, actions=set(ACTIONS), checks=set(CHECKS))
    ids = trainee_ids(trainees)
    client_secrets: dict[str, str] = {}
    data = class_scenario(ids, chosen, client_secrets)
    if scenario is not None:
        try:
            extra = load_yaml(read_text(scenario))
        except InputError as err:
            raise ClassError(f"--scenario {scenario}: {err}") from None
        if not isinstance(extra, dict):
            raise ClassError(f"--scenario {scenario}: a scenario is a mapping")
        data = _merge(data, extra)
    problems = validate(data)
    if problems:
        raise ClassError(f"{scenario or 'the class scenario'}: " + "; ".join(problems[:5]))
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(state_dir / "secrets.json", json.dumps(client_secrets))
    write_private(state_dir / "scenario.yaml", yaml.safe_dump(data, sort_keys=False))
    write_private(state_dir / "facilitator-token", token_source.token_urlsafe(32))
    doc = {
        "version": 1,
        "trainees": trainees,
        "exercises": [e.id for e in chosen],
        # only another folder than the package's: a class survives the project moving
        "exercises_dir": None if exercises_dir == EXERCISES_DIR else str(exercises_dir),
        "started": now_iso(),
        "set_up": False,
        "progress": {
            t: {"last_activity": None, "exercises": {e.id: _fresh() for e in chosen}} for t in ids
        },
    }
    write_private(state_dir / CLASS_FILE, json.dumps(doc, indent=1))
    return Classroom(state_dir, exercises_dir=exercises_dir)


class Classroom:
    """One class's state directory: ``status()``, ``check()``, ``reset()``, ``solve()``."""

    def __init__(self, state_dir: str | Path, *, exercises_dir: Path | None = None):
        self.state_dir = Path(state_dir)
        self.sandbox_dir = self.state_dir / "sandbox"
        self.scenario_path = self.state_dir / "scenario.yaml"
        self.token_path = self.state_dir / "facilitator-token"
        doc = self.document()
        directory = Path(exercises_dir or doc.get("exercises_dir") or EXERCISES_DIR)
        self.exercises = {
            e.id: e
            for e in load_exercises(
                directory, doc["exercises"], actions=set(ACTIONS), checks=set(CHECKS)
            )
        }
        self.trainees = trainee_ids(doc["trainees"])
        self._wire: Wire | None = None

    # -- files ---------------------------------------------------------------------------
    def document(self) -> dict[str, Any]:
        try:
            return json.loads((self.state_dir / CLASS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise ClassError(
                f"no class in {self.state_dir} (the facilitator starts one with: "
                "akv-runbook class start --trainees N)"
            ) from None

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        with open(self.state_dir / "class.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            doc = self.document()
            yield doc
            write_private(self.state_dir / CLASS_FILE, json.dumps(doc, indent=1))

    def client_secrets(self) -> dict[str, str]:
        return json.loads((self.state_dir / "secrets.json").read_text(encoding="utf-8"))

    # -- the running sandbox -------------------------------------------------------------
    @property
    def wire(self) -> Wire:
        if self._wire is None:
            try:
                control = SandboxClient.from_state_dir(self.sandbox_dir)
            except SandboxNotRunning as err:
                raise ClassError(f"the class in {self.state_dir} is not running: {err}") from None
            secret = self.client_secrets()[FACILITATOR]
            # only the sandbox CA: the class talks to nothing else, and loading the public
            # roots on every new connection would cost more than the request
            self._wire = Wire(control, self.sandbox_dir / "ca.pem", secret)
        return self._wire

    def _slice(self, trainee: str, exercise: str) -> Slice:
        if trainee not in self.trainees:
            raise ClassError(
                f"no trainee {trainee!r} in this class ({self.trainees[0]} … {self.trainees[-1]})"
            )
        if exercise not in self.exercises:
            raise ClassError(
                f"no exercise {exercise!r} in this class ({', '.join(self.exercises)})"
            )
        workdir = self.workdir(trainee, exercise)
        workdir.mkdir(parents=True, exist_ok=True)
        return Slice(self.wire, trainee, self.exercises[exercise], workdir, self.client_secrets())

    def workdir(self, trainee: str, exercise: str | None = None) -> Path:
        base = self.state_dir / "trainees" / trainee
        return base / exercise if exercise else base

    def environment(self, trainee: str, credential: str | None = None) -> dict[str, str]:
        """The trainee's shell: proxy, CA bundle, their backend's AZURE_* (the sandbox env
        code path; ``credential`` managed-identity or imds: their user-assigned managed
        identity), their home vault, and their operator as AKV_OPERATOR_* (for
        ``grant --operator-env AKV_OPERATOR``)."""
        if trainee not in self.trainees:
            raise ClassError(f"no trainee {trainee!r} in this class")
        control = self.wire.control
        who = "backend" if credential in (None, "client-secret") else "identity"
        if credential == "workload-identity":
            raise ClassError("workload identity is an exercise's (workload-subject), not a shell's")
        env = {**proxy_environment(control.port, self.sandbox_dir / "ca-bundle.pem")}
        env.update(control.env(app_name(trainee, who), credential))
        env["AZURE_KEYVAULT_URL"] = f"https://{home_vault(trainee)}.vault.azure.net/"
        operator = control.env(app_name(trainee, "operator"))
        for key in ("TENANT_ID", "CLIENT_ID", "CLIENT_SECRET"):
            env[f"AKV_OPERATOR_{key}"] = operator[f"AZURE_{key}"]
        env[TRAINEE_VAR] = trainee
        env[CLASS_STATE_VAR] = str(self.state_dir)
        return env

    # -- the class -----------------------------------------------------------------------
    def set_up(self, progress: Callable[[int, int], None] | None = None) -> bool:
        """Run every exercise's setup in every trainee's slice, once per class (False when
        already done: a restart keeps the trainees' work)."""
        if self.document().get("set_up"):
            return False
        pairs = [(t, e) for t in self.trainees for e in self.exercises]
        done = 0
        with ThreadPoolExecutor(max_workers=4) as pool:
            for _ in pool.map(
                lambda p: run_actions(self._slice(*p), self.exercises[p[1]].setup), pairs
            ):
                done += 1
                if progress:
                    progress(done, len(pairs))
        with self._locked() as doc:
            doc["set_up"] = True
        return True

    def check(self, trainee: str, exercise: str) -> CheckResult:
        """Verify one exercise against the sandbox; a failing check reveals the next hint."""
        try:
            work = self._slice(trainee, exercise)
        except ClassError as err:
            return CheckResult(False, [CLASS_UNAVAILABLE(trainee, str(err))])
        try:
            findings = run_checks(work)
        except FileNotFoundError as err:
            findings = [WORK_FILE_MISSING(exercise, f"no {Path(err.filename or '').name}")]
        except (RuntimeError, OSError) as err:  # the sandbox stopped or refused the class
            return CheckResult(False, [CLASS_UNAVAILABLE(trainee, str(err)[:300])])
        hints = self.exercises[exercise].hints
        stamp = now_iso()
        with self._locked() as doc:
            record = self._record(doc, trainee, exercise, stamp)
            record["checks"] += 1
            record["last_check"] = stamp
            if not findings:
                if record["state"] != "skipped":  # solved for them stays solved for them
                    record["state"] = "passed"
                record["stuck_since"] = None
                return CheckResult(
                    True, [EXERCISE_PASSED(exercise, work.exercise.title)], hints=len(hints)
                )
            if record["state"] in ("not-started", "in-progress"):
                record["state"] = "in-progress"
                record["stuck_since"] = record["stuck_since"] or stamp
            record["hints_used"] = min(len(hints), record["hints_used"] + 1)
            number = record["hints_used"]
        return CheckResult(False, findings, hints[number - 1], number, len(hints))

    def reset(self, trainee: str, exercise: str) -> None:
        work = self._slice(trainee, exercise)
        run_actions(work, work.exercise.reset)
        with self._locked() as doc:
            self._record(doc, trainee, exercise, now_iso()).update(_fresh())

    def solve(self, trainee: str, exercise: str) -> CheckResult:
        """Apply the reference fix; recorded as skipped. Returns the check after it."""
        work = self._slice(trainee, exercise)
        run_actions(work, work.exercise.solve)
        findings = run_checks(work)
        with self._locked() as doc:
            record = self._record(doc, trainee, exercise, now_iso())
            record.update(state="skipped", stuck_since=None)
        return CheckResult(not findings, findings or [EXERCISE_PASSED(exercise, "solved")])

    @staticmethod
    def _record(doc: dict[str, Any], trainee: str, exercise: str, stamp: str) -> dict[str, Any]:
        entry = doc["progress"][trainee]
        entry["last_activity"] = stamp
        return entry["exercises"].setdefault(exercise, _fresh())

    def status(self) -> dict[str, Any]:
        """The class status document (docs/training.md): what ``class status --json``
        prints and the dashboard shows."""
        doc = self.document()
        return {
            "class": {
                "trainees": doc["trainees"],
                "started": doc["started"],
                "state_dir": str(self.state_dir),
            },
            "exercises": [{"id": e.id, "title": e.title} for e in self.exercises.values()],
            "trainees": [
                {
                    "id": t,
                    "last_activity": doc["progress"][t]["last_activity"],
                    "exercises": {
                        e: {**_fresh(), **doc["progress"][t]["exercises"].get(e, {})}
                        for e in self.exercises
                    },
                }
                for t in self.trainees
            ],
        }

    def exercise(self, exercise: str) -> Exercise:
        return self.exercises[exercise]
