"""The result protocol between notebooks and automation.

A notebook step displays its findings with the runbook's ``show()``, which adds a
``MIMETYPE`` output; batch runs, ``make notebooks`` and the tests read those outputs back
from an executed notebook with :func:`collect_results`.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import nbformat

__all__ = ["MIMETYPE", "collect_results"]

MIMETYPE = "application/vnd.akv-runbook.result+json"


def collect_results(nb: nbformat.NotebookNode | str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every payload :func:`show` emitted in an executed notebook (a node or a path), in order."""
    if isinstance(nb, str | os.PathLike):
        import nbformat  # with jsonschema, over a second to import: only to read a file

        nb = nbformat.read(os.fspath(nb), as_version=4)
    out: list[dict[str, Any]] = []
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            value = output.get("data", {}).get(MIMETYPE)
            if isinstance(value, str):
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            if isinstance(value, Mapping):
                out.append(dict(value))
    return out
