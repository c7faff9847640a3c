"""A canary secret in every string parameter of every notebook, through the papermill CLI.

One papermill run per notebook, with the canary in all its string (and list) parameters at
once. With ``--engine akv-runbook`` the canary must appear nowhere: not in any file written
(the output notebook, anything else under the run's directory), not on stdout or stderr;
the notebook stops with AKV-SET-010 and papermill exits non-zero. Plain papermill (no
engine) cannot be kept from writing the value into the output notebook's parameters cell and
metadata: the notebook still stops with AKV-SET-010, echoes it in no output and no log, and
the finding says where the value is and what to do.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from helpers.findings.results import collect_results
from tests.test_notebooks_headless import NOTEBOOKS, run_papermill

CANARY = f"cAnary8Q~{secrets.token_hex(12)}Zz"  # shaped like an Entra client secret
BOOLEAN = {"fail_on_error", "perform_grant", "run_dag"}
NAMES = ["00_start_here", "01_prerequisites", "02_permissions", "03_airflow_config"]
NAMES += ["04_live_retrieval", "05_runtime_cost", "check_environment"]


def string_parameters(name: str) -> list[str]:
    import papermill as pm

    found = pm.inspect_notebook(str(NOTEBOOKS / f"{name}.ipynb"))
    return [p for p in found if p not in BOOLEAN]


def canary_args(name: str) -> list[str]:
    args = []
    for parameter in string_parameters(name):
        args += ["-r", parameter, CANARY]
    return args


def files_holding(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


def assert_stopped_with_set_010(run, output: Path) -> None:
    assert run.returncode != 0, (run.stdout + run.stderr)[-2000:]
    [result] = collect_results(output)
    assert result["step"] == "parameters"
    assert {f["code"] for f in result["findings"]} == {"AKV-SET-010"}
    assert "AKV-SET-010" in run.stderr
    assert CANARY not in run.stdout and CANARY not in run.stderr


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", [n for n in NAMES if n != "00_start_here"])
def test_a_canary_in_every_parameter_reaches_no_file_and_no_log(name, tmp_path):
    out = tmp_path / "run" / f"{name}.ipynb"
    out.parent.mkdir()
    args = [f"notebooks/{name}.ipynb", str(out), "-k", "python3", "--cwd", "notebooks"]
    run = run_papermill([*args, "--engine", "akv-runbook", *canary_args(name)])
    assert_stopped_with_set_010(run, out)
    assert files_holding(tmp_path, CANARY) == []
    assert files_holding(NOTEBOOKS, CANARY) == []
    nb = json.loads(out.read_text(encoding="utf-8"))
    parameters = nb["metadata"]["papermill"]["parameters"]
    assert set(parameters) == set(string_parameters(name))
    assert all(v.startswith("<removed by the akv-runbook engine") for v in parameters.values())


@pytest.mark.timeout(300)
def test_plain_papermill_stops_on_a_canary_and_echoes_it_in_no_output(tmp_path):
    """Without the engine, papermill itself writes the value into the output notebook (its
    parameters cell and metadata) before any cell runs; the kernel stops, says so, and shows
    the value nowhere else."""
    name = "00_start_here"
    out = tmp_path / f"{name}.ipynb"
    args = [f"notebooks/{name}.ipynb", str(out), "-k", "python3", "--cwd", "notebooks"]
    run = run_papermill([*args, *canary_args(name)])
    assert_stopped_with_set_010(run, out)
    nb = json.loads(out.read_text(encoding="utf-8"))
    outputs = json.dumps([c.get("outputs", []) for c in nb["cells"]])
    assert CANARY not in outputs
    details = [f["detail"] for r in collect_results(out) for f in r["findings"]]
    assert len(details) == len(string_parameters(name))  # one finding per parameter
    for detail in details:
        assert "delete that file and rotate the secret" in detail
        assert "--engine akv-runbook" in detail
