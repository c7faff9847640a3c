"""Checking many environments: inventories, the fast in-process path, the papermill audit
path, the notebook runner and the sandbox fleet.

:func:`check_inventory` (:mod:`.fast`) probes every environment of an :class:`Inventory`
(:mod:`.inventory`) from this process; :func:`check_inventory_notebooks` (:mod:`.audit`)
executes the check notebook per environment. Both return a :class:`BatchResult`.
"""

from helpers.batch.fast import (
    BatchResult,
    EnvironmentResult,
    Progress,
    Status,
    check_environment,
    check_inventory,
    finding_from_dict,
)
from helpers.batch.inventory import EnvironmentSpec, Inventory, load_inventory

__all__ = [
    "BatchResult",
    "EnvironmentResult",
    "EnvironmentSpec",
    "Inventory",
    "Progress",
    "Status",
    "check_environment",
    "check_inventory",
    "finding_from_dict",
    "load_inventory",
]
