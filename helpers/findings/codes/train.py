"""AKV-TRAIN-*: Training classes: exercise checks and the running class."""

from helpers.findings.core import Severity, define

__all__ = [
    "EXERCISE_PASSED",
    "READ_WRONG_VALUE",
    "KWARGS_IGNORED",
    "NOT_LEAST_PRIVILEGE",
    "SECRET_ABSENT",
    "CLASS_UNAVAILABLE",
    "WORK_FILE_MISSING",
    "NOT_IN_CLASS",
]

EXERCISE_PASSED = define(
    "AKV-TRAIN-001",
    Severity.OK,
    "Exercise check passed",
    "Every check of the exercise passed against the class's sandbox: the vault, its role "
    "assignments and the trainee's configuration files are as the exercise asks.",
    "Nothing to do: move on to the next exercise.",
)

READ_WRONG_VALUE = define(
    "AKV-TRAIN-002",
    Severity.ERROR,
    "The backend read another value",
    "The read went through, but the secret it reached does not hold the value the exercise "
    "stored: the configuration points at another vault or another secret name.",
    "Compare vault_url and the prefixes of backend_kwargs with the exercise's vault; "
    "`akv-runbook names variable KEY` shows the secret name the backend asks for.",
)

KWARGS_IGNORED = define(
    "AKV-TRAIN-003",
    Severity.ERROR,
    "Airflow would ignore this backend_kwargs",
    "The trainee's backend_kwargs file does not parse as a JSON object, so Airflow builds the "
    "backend without it (no vault_url: every lookup fails).",
    "Run `akv-runbook config lint` on the file and fix what it reports.",
)

NOT_LEAST_PRIVILEGE = define(
    "AKV-TRAIN-004",
    Severity.ERROR,
    "Not least privilege",
    "The identity holds roles on the exercise's vault beyond Key Vault Secrets User (or a "
    "management role that grants no secret access, such as Key Vault Contributor).",
    "Keep exactly Key Vault Secrets User on the vault and remove the other assignments "
    "(`az role assignment delete`).",
)

SECRET_ABSENT = define(
    "AKV-TRAIN-005",
    Severity.ERROR,
    "The expected secret is not in the vault",
    "The exercise expects a secret of this name in the trainee's vault; it is absent, "
    "deleted or disabled.",
    "Store it under the name the backend asks for: `akv-runbook names variable KEY`.",
)

CLASS_UNAVAILABLE = define(
    "AKV-TRAIN-006",
    Severity.ERROR,
    "The class is not running",
    "The class's state directory has no running sandbox, or the trainee or exercise is not "
    "part of the class.",
    "Start the class with `akv-runbook class start` (the facilitator), and use the trainee id "
    "and exercise id that `akv-runbook class status` lists.",
)

WORK_FILE_MISSING = define(
    "AKV-TRAIN-007",
    Severity.ERROR,
    "An exercise's work file is missing",
    "The check reads a file of the trainee's work directory for this exercise "
    "(<state-dir>/trainees/<trainee>/<exercise>/) and it is not there.",
    "Restore it with `akv-runbook class reset --exercise ID` (which also restores the broken "
    "state) and fix it again.",
)

NOT_IN_CLASS = define(
    "AKV-TRAIN-008",
    Severity.WARNING,
    "This kernel is not part of a class",
    "The exercises notebook finds the trainee and the class in the kernel's environment "
    "(AKV_CLASS_TRAINEE, AKV_CLASS_STATE_DIR), which `akv-runbook class env` sets in the "
    "trainee's shell; this kernel's environment has neither, so no exercise can be checked.",
    'In a shell: `eval "$(akv-runbook class env --trainee trainee-NN)"` (your trainee id from '
    "the facilitator), then start JupyterLab from that shell (`make lab` or `jupyter lab`) "
    "and reopen this notebook.",
)
