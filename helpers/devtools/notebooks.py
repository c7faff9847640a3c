"""``make notebooks``: write notebooks/*.ipynb from their one source, then execute them.

:func:`write_notebooks` turns :data:`helpers.devtools.notebook_sources.NOTEBOOKS` into
notebook files (sources, tags, metadata; no outputs). :func:`regenerate_notebooks` executes
notebooks in place against a fresh sandbox with the audit path's executor
(:func:`helpers.batch.notebook_runs.run_notebooks`) and refuses to write one that fails, has
an error finding or holds a secret value. :func:`build_notebooks` does both: what ``make
notebooks`` (``akv-runbook notebooks``) runs.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpers.batch.notebook_runs import RunStatus, run_notebooks
from helpers.common.facts import SANDBOX_PORT_VAR, SANDBOX_STATE_VAR
from helpers.common.leaks import notebook_secret_risks, scan_for_secrets
from helpers.common.paths import NOTEBOOKS_DIR
from helpers.devtools.notebook_sources import NOTEBOOKS, Cell
from helpers.sandbox import Sandbox
from helpers.training.classroom import CLASS_STATE_VAR, TRAINEE_VAR

if TYPE_CHECKING:
    import nbformat

# nbformat (with jsonschema) takes over a second to import: it loads only when notebooks are
# built, written or tidied, not whenever the CLI starts.

__all__ = [
    "build_notebook",
    "build_notebooks",
    "comparable",
    "regenerate_notebooks",
    "write_notebooks",
]

METADATA: dict[str, Any] = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {
        "codemirror_mode": {"name": "ipython", "version": 3},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "name": "python",
        "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3",
        "version": "3.11.7",
    },
}


def _cell_id(notebook: str, index: int) -> str:
    """Stable ids, so that regenerating changes no cell id."""
    return hashlib.sha256(f"{notebook}:{index}".encode()).hexdigest()[:8]


def _node(cell: Cell, cell_id: str) -> nbformat.NotebookNode:
    import nbformat

    metadata = {"tags": list(cell.tags)}
    if cell.kind == "markdown":
        return nbformat.v4.new_markdown_cell(cell.source, id=cell_id, metadata=metadata)
    return nbformat.v4.new_code_cell(cell.source, id=cell_id, metadata=metadata)


def build_notebook(name: str) -> nbformat.NotebookNode:
    """Notebook ``name`` as its source describes it, without outputs."""
    import nbformat

    cells = [_node(cell, _cell_id(name, i)) for i, cell in enumerate(NOTEBOOKS[name])]
    nb = nbformat.v4.new_notebook(cells=cells, metadata=METADATA)
    nbformat.validate(nb)
    return nb


def write_notebooks(
    names: Iterable[str] | None = None, *, notebooks: Path = NOTEBOOKS_DIR
) -> list[Path]:
    """Write each notebook from its source into ``notebooks`` (outputs are dropped)."""
    import nbformat

    written = []
    for name in names or NOTEBOOKS:
        path = Path(notebooks) / f"{name}.ipynb"
        nbformat.write(build_notebook(name), path)
        written.append(path)
    return written


def comparable(nb: nbformat.NotebookNode) -> dict[str, Any]:
    """What the source decides: everything but outputs, execution counts and the kernel's
    own language_info."""
    return {
        "nbformat": (nb.nbformat, nb.nbformat_minor),
        "metadata": {k: v for k, v in nb.metadata.items() if k != "language_info"},
        "cells": [
            {k: v for k, v in cell.items() if k not in ("outputs", "execution_count")}
            for cell in nb.cells
        ],
    }


def _tidy(path: Path) -> None:
    """Drop run-specific metadata (timings, absolute paths) from an executed notebook."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)


def regenerate_notebooks(
    names: Iterable[str] | None = None, *, timeout: float = 600, notebooks: Path = NOTEBOOKS_DIR
) -> list[Path]:
    """Re-execute the notebooks in ``notebooks`` in place against a fresh sandbox; refuses to
    write a notebook that fails, has an error finding or holds a secret value."""
    wanted = set(names or ())
    chosen = sorted(p for p in Path(notebooks).glob("*.ipynb") if not wanted or p.stem in wanted)
    written: list[Path] = []
    with (
        tempfile.TemporaryDirectory(prefix="akv-runbook-regen-") as tmp,
        Sandbox(state_dir=Path(tmp) / "sandbox", ephemeral=True) as sandbox,
    ):
        env = {SANDBOX_PORT_VAR: str(sandbox.port), SANDBOX_STATE_VAR: str(sandbox.state_dir)}
        # committed outputs are the same from any shell: the exercises notebook outside a
        # class (empty is unset; a class shell would otherwise leak its trainee into them)
        env.update({TRAINEE_VAR: "", CLASS_STATE_VAR: ""})
        summary = run_notebooks(chosen, Path(tmp) / "out", env=env, execution_timeout=int(timeout))
        for run in summary.runs:
            source = run.input
            if run.output is None:
                raise RuntimeError(f"{source.name}: {run.error or 'not executed'}")
            _tidy(run.output)
            found = scan_for_secrets([run.output], sandbox.secret_values())
            found += notebook_secret_risks(run.output)
            if found:
                kinds = ", ".join(sorted({leak.kind for leak in found}))
                raise RuntimeError(f"refusing to write {source.name}: secrets found ({kinds})")
            problems = [run.error] if run.status is RunStatus.FAILED else []
            problems += [
                f"{r['step']}: {f['code']} {f['detail']}"
                for r in run.results
                for f in r["findings"]
                if f["severity"] == "error"
            ]
            if problems:
                kept = Path(tempfile.gettempdir()) / f"akv-runbook-failed-{source.name}"
                shutil.copyfile(run.output, kept)
                raise RuntimeError(f"{source.name} (kept as {kept}): {'; '.join(problems)}")
            shutil.copyfile(run.output, source)
            written.append(source)
    return written


def build_notebooks(
    names: Iterable[str] | None = None, *, timeout: float = 600, notebooks: Path = NOTEBOOKS_DIR
) -> list[Path]:
    """``make notebooks``: write each notebook from its source, then execute it in place."""
    chosen = list(names or NOTEBOOKS)
    write_notebooks(chosen, notebooks=notebooks)
    return regenerate_notebooks(chosen, timeout=timeout, notebooks=notebooks)
