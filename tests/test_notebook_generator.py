"""The notebooks have one source (helpers/devtools/notebook_sources.py): every committed
notebook is exactly what the generator writes, outputs and execution counts aside."""

from __future__ import annotations

import pytest

from helpers.cli import main
from helpers.common.paths import NOTEBOOKS_DIR
from helpers.devtools.notebook_sources import NOTEBOOKS, preamble
from helpers.devtools.notebooks import build_notebook, comparable, write_notebooks

REGENERATE = "make notebooks (akv-runbook notebooks)"


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_committed_notebook_is_what_the_generator_writes(name):
    import nbformat

    committed = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    assert comparable(committed) == comparable(build_notebook(name)), (
        f"notebooks/{name}.ipynb differs from its source; edit "
        f"helpers/devtools/notebook_sources.py and run {REGENERATE}"
    )


def test_every_committed_notebook_has_a_source():
    assert sorted(p.stem for p in NOTEBOOKS_DIR.glob("*.ipynb")) == sorted(NOTEBOOKS)


def test_numbered_notebooks_share_one_preamble_with_one_parameters_cell():
    for name, cells in NOTEBOOKS.items():
        tagged = [c for c in cells if "parameters" in c.tags]
        assert len(tagged) == 1, name
        if name[:2].isdigit():
            shared = preamble(name)
            start = cells.index(shared[0])
            got = cells[start : start + len(shared)]
            assert got[0] == shared[0] and got[2:] == shared[2:], name
            assert got[1].source.startswith(shared[1].source), name


def test_widget_cells_are_skipped_by_papermill_and_nbval():
    for name, cells in NOTEBOOKS.items():
        for cell in cells:
            if "widgets." in cell.source and cell.kind == "code":
                assert {"skip-execution", "nbval-skip"} <= set(cell.tags), (name, cell.source)


def test_written_notebooks_are_valid_and_cell_ids_are_stable(tmp_path):
    import nbformat

    first = write_notebooks(notebooks=tmp_path)
    ids = [[c.id for c in nbformat.read(p, as_version=4).cells] for p in first]
    assert main(["notebooks", "--write-only", "--dir", str(tmp_path), "00_start_here"]) == 0
    again = write_notebooks(notebooks=tmp_path)
    for path in again:
        nbformat.validate(nbformat.read(path, as_version=4))
    assert ids == [[c.id for c in nbformat.read(p, as_version=4).cells] for p in again]
    assert all(len(set(cell_ids)) == len(cell_ids) for cell_ids in ids)


def test_unknown_notebook_names_are_refused(capsys):
    assert main(["notebooks", "--write-only", "--dir", "/nonexistent", "no_such_notebook"]) == 2
    assert "unknown notebooks no_such_notebook" in capsys.readouterr().err
