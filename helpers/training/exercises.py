"""Exercises are data: one YAML file each under ``helpers/training/exercises/``.

Each file names its broken starting state and how to verify, hint, solve and reset it in a
small vocabulary of named actions (:mod:`helpers.training.actions`); see docs/training.md::

    id: kv-contributor
    title: The backend holds only Key Vault Contributor
    story: |
      ...
    vault: {permission_model: rbac, roles: [{role: Key Vault Secrets User, to: backend}]}
    setup: [{remove_role: {role: Key Vault Secrets User, to: backend}}, ...]
    check: [{backend_reads: {variable: sample-variable}}]
    hints: [hint 1, hint 2, the solution]
    solve: [{assign_role: {role: Key Vault Secrets User, to: backend}}]
    reset: [...]          # optional: the setup again
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.common.textio import InputError, load_yaml, read_text

__all__ = [
    "EXERCISES_DIR",
    "Exercise",
    "ExerciseError",
    "load_exercise",
    "load_exercises",
]

EXERCISES_DIR = Path(__file__).with_name("exercises")
# the exercise's vault is named t<NN>-<id>: Key Vault names are 3-24 characters
EXERCISE_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
MAX_ID = 20
KEYS = {"id", "title", "story", "vault", "app", "setup", "check", "hints", "solve", "reset"}
VAULT_KEYS = {"permission_model", "firewall", "secrets", "roles", "access_policies"}
PRINCIPALS = ("backend", "operator", "app")


class ExerciseError(ValueError):
    pass


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    story: str
    vault: dict[str, Any]
    setup: list[dict[str, Any]]
    check: list[dict[str, Any]]
    hints: list[str]
    solve: list[dict[str, Any]]
    reset: list[dict[str, Any]]
    app: dict[str, Any] | None = None
    source: str = field(default="", compare=False)

    @property
    def permission_model(self) -> str:
        return str(self.vault.get("permission_model", "rbac"))


def _steps(data: dict[str, Any], key: str, where: str, known: set[str]) -> list[dict[str, Any]]:
    steps = data.get(key) or []
    if not isinstance(steps, list):
        raise ExerciseError(f"{where}: {key} must be a list of actions")
    for i, step in enumerate(steps):
        if not (isinstance(step, dict) and len(step) == 1):
            raise ExerciseError(f"{where}: {key}[{i}] must be one action: {{name: {{...}}}}")
        ((name, args),) = step.items()
        if name not in known:
            raise ExerciseError(
                f"{where}: {key}[{i}]: unknown action {name!r} (known: {', '.join(sorted(known))})"
            )
        if not isinstance(args, dict | None):
            raise ExerciseError(f"{where}: {key}[{i}].{name}: its arguments must be a mapping")
    return [{name: dict(args or {}) for name, args in step.items()} for step in steps]


_PARSED: dict[tuple[str, int, int, frozenset[str], frozenset[str]], Exercise] = {}


def load_exercise(path: Path, *, actions: set[str], checks: set[str]) -> Exercise:
    """One exercise file; parsed once per process while it is unchanged (every
    ``Classroom()`` loads them all: a fresh one per check would parse 10 YAML files)."""
    try:
        stat = Path(path).stat()
    except OSError:
        return _load_exercise(path, actions=actions, checks=checks)
    key = (str(path), stat.st_mtime_ns, stat.st_size, frozenset(actions), frozenset(checks))
    if key not in _PARSED:
        _PARSED[key] = _load_exercise(path, actions=actions, checks=checks)
    return _PARSED[key]


def _load_exercise(path: Path, *, actions: set[str], checks: set[str]) -> Exercise:
    where = str(path)
    try:
        data = load_yaml(read_text(path))
    except (OSError, InputError) as err:
        raise ExerciseError(f"{where}: {err}") from None
    if not isinstance(data, dict):
        raise ExerciseError(f"{where}: an exercise is a mapping")
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise ExerciseError(f"{where}: unknown keys {unknown} (known: {sorted(KEYS)})")
    ident = str(data.get("id", ""))
    if not EXERCISE_ID.match(ident) or len(ident) > MAX_ID:
        raise ExerciseError(f"{where}: id must be lower-case words joined by '-', ≤ {MAX_ID}")
    for key in ("title", "story"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise ExerciseError(f"{where}: {key} is required text")
    hints = data.get("hints")
    if not (isinstance(hints, list) and len(hints) >= 2 and all(isinstance(h, str) for h in hints)):
        raise ExerciseError(f"{where}: hints: a list of texts (hint 1, hint 2, …, the solution)")
    vault = data.get("vault") or {}
    if not isinstance(vault, dict) or set(vault) - VAULT_KEYS:
        raise ExerciseError(f"{where}: vault: a mapping of {sorted(VAULT_KEYS)}")
    for entry in [*(vault.get("roles") or []), *(vault.get("access_policies") or [])]:
        if not isinstance(entry, dict) or entry.get("to") not in PRINCIPALS:
            raise ExerciseError(
                f"{where}: vault roles/access_policies: 'to' is one of {PRINCIPALS}"
            )
    app = data.get("app")
    if app is not None and not isinstance(app, dict):
        raise ExerciseError(f"{where}: app: a mapping (expired_secret: true)")
    setup = _steps(data, "setup", where, actions)
    check = _steps(data, "check", where, checks)
    if not check:
        raise ExerciseError(f"{where}: check needs at least one check")
    return Exercise(
        id=ident,
        title=data["title"].strip(),
        story=data["story"].strip(),
        vault=vault,
        setup=setup,
        check=check,
        hints=[h.strip() for h in hints],
        solve=_steps(data, "solve", where, actions),
        reset=_steps(data, "reset", where, actions) or setup,
        app=app,
        source=where,
    )


def load_exercises(
    directory: Path = EXERCISES_DIR,
    ids: list[str] | None = None,
    *,
    actions: set[str],
    checks: set[str],
) -> list[Exercise]:
    """Every exercise of ``directory`` (sorted by file name), or those of ``ids`` in order."""
    found = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        exercise = load_exercise(path, actions=actions, checks=checks)
        if exercise.id in found:
            raise ExerciseError(f"{path}: id {exercise.id!r} also in {found[exercise.id].source}")
        found[exercise.id] = exercise
    if ids is None:
        return list(found.values())
    missing = [i for i in ids if i not in found]
    if missing:
        raise ExerciseError(f"unknown exercises {missing} (known: {', '.join(found)})")
    return [found[i] for i in dict.fromkeys(ids)]
