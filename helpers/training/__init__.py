"""Training mode: a class of trainees, each with their own slice of one sandbox, working
through exercises that are data (docs/training.md)."""

from .actions import ACTIONS, CHECKS
from .classroom import (
    CLASS_STATE_VAR,
    TRAINEE_VAR,
    CheckResult,
    ClassError,
    Classroom,
    create_class,
    default_class_dir,
)
from .exercises import EXERCISES_DIR, Exercise, ExerciseError, load_exercises
from .scenario import home_vault, trainee_ids, vault_name

__all__ = [
    "ACTIONS",
    "CHECKS",
    "CLASS_STATE_VAR",
    "TRAINEE_VAR",
    "EXERCISES_DIR",
    "CheckResult",
    "ClassError",
    "Classroom",
    "Exercise",
    "ExerciseError",
    "create_class",
    "default_class_dir",
    "home_vault",
    "load_exercises",
    "trainee_ids",
    "vault_name",
]
