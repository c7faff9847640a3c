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
from .dashboard import (
    DEFAULT_HOST,
    DashboardHandle,
    create_app,
    is_loopback,
    new_token,
    results_csv,
    start_dashboard,
    stuck_longest,
)
from .exercises import EXERCISES_DIR, Exercise, ExerciseError, load_exercises
from .scenario import home_vault, trainee_ids, vault_name

__all__ = [
    "DEFAULT_HOST",
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
    "DashboardHandle",
    "create_app",
    "create_class",
    "default_class_dir",
    "home_vault",
    "is_loopback",
    "new_token",
    "results_csv",
    "start_dashboard",
    "stuck_longest",
    "load_exercises",
    "trainee_ids",
    "vault_name",
]
