"""Parsing our DAG files imports nothing heavy.

A DAG processor parses every file every 30 s: a module imported at a DAG file's top level
(papermill with nbclient, nbformat and jupyter_client; the Azure SDKs; the runbook's own
``helpers``, which stand on them) costs that import on every parse, in every processor. Each
file is parsed here as the DAG processor does (``DagBag`` on that file) in a fresh process
with a scratch AIRFLOW_HOME, and the heavy modules must not be in ``sys.modules`` afterwards.
Structural, not timed: bench/dag_parse.py prints the times.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.backend_config.scratch_airflow import ScratchAirflow

ROOT = Path(__file__).resolve().parent.parent
DAG_FILES = sorted((ROOT / "dags").glob("*.py"))
MARK = "@@DAG-PARSE-IMPORTS@@"
# Top-level packages, and Airflow modules that pull them in (the papermill operator imports
# papermill; the Azure provider's secrets/hooks import the Azure SDKs).
HEAVY = (
    "papermill",
    "nbclient",
    "nbformat",
    "jupyter_client",
    "scrapbook",
    "IPython",
    "azure",
    "msal",
    "helpers",
    "airflow.providers.papermill.operators",
    "airflow.providers.microsoft.azure.secrets",
    "airflow.providers.microsoft.azure.hooks",
)

PARSE = r"""
import json, sys
from airflow.dag_processing.dagbag import DagBag

heavy = {heavy!r}
bag = DagBag(dag_folder={path!r})
loaded = sorted(
    m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy)
)
print({mark!r} + json.dumps({{
    "dag_ids": sorted(bag.dag_ids),
    "import_errors": {{str(k): str(v)[-500:] for k, v in bag.import_errors.items()}},
    "heavy": loaded,
}}))
"""


def _parse(path: Path, home: Path) -> dict:
    airflow = ScratchAirflow.create(home, {}, dags_folder=path.parent)
    child = airflow.python(PARSE.format(heavy=HEAVY, path=str(path), mark=MARK), timeout=180)
    line = next((ln for ln in child.stdout.splitlines() if ln.startswith(MARK)), None)
    assert line, (child.stdout + child.stderr)[-3000:]
    return json.loads(line.removeprefix(MARK))


def test_there_are_dag_files():
    assert {p.name for p in DAG_FILES} >= {"akv_sample.py", "akv_selfcheck.py"}


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_parsing_a_dag_file_imports_nothing_heavy(path, tmp_path):
    out = _parse(path, tmp_path / "airflow-home")
    assert out["import_errors"] == {}
    assert out["dag_ids"], f"{path.name} defines no DAG"
    roots = sorted({m.split(".")[0] for m in out["heavy"]})
    assert out["heavy"] == [], f"{path.name} imports at parse time: {roots}"


def test_the_check_sees_a_top_level_papermill_import(tmp_path):
    """The control: the same check flags a DAG file that imports papermill at the top."""
    dags = tmp_path / "dags"
    dags.mkdir()
    bad = dags / "heavy_dag.py"
    bad.write_text(
        "import papermill  # noqa: F401\n"
        "from datetime import datetime\n"
        "from airflow.sdk import DAG\n"
        "with DAG('heavy_dag', schedule=None, start_date=datetime(2025, 1, 1)):\n"
        "    pass\n",
        encoding="utf-8",
    )
    out = _parse(bad, tmp_path / "airflow-home")
    assert out["dag_ids"] == ["heavy_dag"]
    assert "papermill" in out["heavy"]
