"""AKV-INV-*: Inventories: the environments a batch check covers."""

from helpers.common.facts import DEFAULT_ENV_TIMEOUT, MAX_ENV_TIMEOUT
from helpers.findings.core import Severity, define

__all__ = [
    "INVENTORY_UNREADABLE",
    "INVENTORY_SHAPE",
    "INVENTORY_UNKNOWN_KEY",
    "DUPLICATE_ENVIRONMENT",
    "ENV_NAME_INVALID",
    "TIMEOUT_INVALID",
    "KWARGS_OVERRIDE_FIELD",
    "INVENTORY_EMPTY",
    "ENV_NOT_IN_INVENTORY",
    "INVENTORY_VERSION",
]

INVENTORY_UNREADABLE = define(
    "AKV-INV-001",
    Severity.ERROR,
    "The inventory file cannot be read",
    """The file is missing, unreadable, or not valid YAML, so no environment was checked.""",
    """Fix the path or the YAML syntax at the position given; `akv-runbook check --inventory
    FILE` re-reads it.""",
)

INVENTORY_SHAPE = define(
    "AKV-INV-002",
    Severity.ERROR,
    "The inventory does not have the expected shape",
    """An inventory is a mapping with an `environments` list (and optional `defaults` and
    `version`); each environment is a mapping of settings with a `name`.""",
    """Restructure the file as in the example in docs/batch.md: `environments:` followed by
    one `- name: ...` mapping per environment.""",
)

INVENTORY_UNKNOWN_KEY = define(
    "AKV-INV-003",
    Severity.ERROR,
    "Unknown key at the top of the inventory",
    """Only `version`, `defaults` and `environments` are read at the top level; anything else
    is most likely a typo for one of them, and the settings under it would be ignored.""",
    """Rename the key (the finding suggests the closest known one) or move the settings into
    `defaults` or an environment.""",
)

DUPLICATE_ENVIRONMENT = define(
    "AKV-INV-004",
    Severity.ERROR,
    "Two environments have the same name",
    """Environment names key the report, the JUnit test suites and the executed notebooks'
    file names; a repeated name would overwrite the evidence of the first.""",
    """Give every environment a unique `name`.""",
)

ENV_NAME_INVALID = define(
    "AKV-INV-005",
    Severity.ERROR,
    "An environment has no usable name",
    """Each environment needs a `name` of letters, digits, `.`, `_` or `-` (up to 64
    characters): it becomes a file name for the executed notebook and a JUnit suite name.""",
    """Set `name:` on the environment, e.g. `team-a-prod`.""",
)

TIMEOUT_INVALID = define(
    "AKV-INV-006",
    Severity.ERROR,
    "An environment's timeout is not a usable number of seconds",
    f"""`timeout` bounds the whole check of one environment; it must be a number of seconds
    above 0 and at most {MAX_ENV_TIMEOUT:.0f}.""",
    f"""Set `timeout:` to a number of seconds, e.g. `timeout: {DEFAULT_ENV_TIMEOUT:.0f}`, or remove
    it to use the default.""",
)

KWARGS_OVERRIDE_FIELD = define(
    "AKV-INV-007",
    Severity.WARNING,
    "backend_kwargs and the environment's own fields disagree",
    """The environment sets a field (vault URL, a prefix, the separator) and its
    `backend_kwargs` sets the same one differently. Airflow's backend uses `backend_kwargs`,
    so the check does too; the environment's field is stale or points elsewhere.""",
    """Make the two agree (or drop the field and keep `backend_kwargs` as the single
    source).""",
)

INVENTORY_EMPTY = define(
    "AKV-INV-008",
    Severity.ERROR,
    "The inventory lists no environments",
    """`environments` is empty, so there is nothing to check; a scheduled check would pass
    without checking anything.""",
    """Add at least one environment under `environments:`.""",
)

ENV_NOT_IN_INVENTORY = define(
    "AKV-INV-009",
    Severity.ERROR,
    "The environment named is not in the inventory",
    """The check notebook (or the self-check DAG) was asked for an environment the inventory
    does not list, so nothing was checked for it.""",
    """Use one of the names the finding lists, or add the environment to the inventory.""",
)

INVENTORY_VERSION = define(
    "AKV-INV-010",
    Severity.ERROR,
    "The inventory's version is not one this runbook reads",
    """`version` names the inventory format; only `1` exists. Any other value (a typo, a
    string, a future format) means the file may not say what this runbook would read.""",
    """Set `version: 1` (unquoted), or remove the key.""",
)
