"""The field table (:data:`~helpers.settings.schema.FIELD_SPECS`) with its checks resolved.

The table names each field's single-value check; the check lives in
:mod:`helpers.settings.checks`, which imports the schema, so the name is resolved here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from helpers.findings import Finding
from helpers.settings import checks
from helpers.settings.schema import FIELD_SPECS, FieldSpec

__all__ = ["FieldCheck", "field_check", "field_spec"]

# check(value, subject=<the field's name>, **options) -> (normalised value, findings)
FieldCheck = Callable[..., tuple[Any, list[Finding]]]


def field_spec(name: str) -> FieldSpec:
    """The table's entry for the Settings field ``name`` (KeyError for an unknown field)."""
    return FIELD_SPECS[name]


def field_check(name: str) -> FieldCheck:
    """The single-value check of field ``name``, reporting under the field's own name (or
    the ``subject`` given); keyword ``options`` go to the check (e.g. a prefix's ``sep``).

    LookupError when the table names no check for it, or one checks.py does not define.
    """
    check_name = FIELD_SPECS[name].check
    check = getattr(checks, check_name, None) if check_name else None
    if check_name not in checks.__all__ or not callable(check):
        raise LookupError(f"the field table names no check in helpers.settings.checks for {name}")

    def run(value: object, subject: str = name, **options: Any) -> tuple[Any, list[Finding]]:
        return check(value, subject=subject, **options)

    return run
