"""Headless notebook runs (helpers.batch.notebook_runs) on small throwaway notebooks.

One batch (a kernel per notebook, ~3 s each) is shared by most tests: a notebook that raises,
one that sleeps past the timeout, one that emits results, one that reads a parameter and the
environment into a Password widget.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from helpers.batch.notebook_runs import RunStatus, RunSummary, run_notebooks
from helpers.common.leaks import notebook_secret_risks, scan_for_secrets

if TYPE_CHECKING:
    import nbformat

MIMETYPE = "application/vnd.akv-runbook.result+json"
TIMEOUT = 4
PASSWORD = "nbrun-Pa55word-kept-in-the-environment"
GREETING = "hello from the driver's environment"


def payload(step: str, *findings: tuple[str, str]) -> dict:
    severities = [severity for _, severity in findings]
    worst = max(severities, key=("ok", "info", "warning", "error").index, default="ok")
    return {
        "step": step,
        "notebook": "throwaway",
        "ok": worst != "error",
        "worst": worst,
        "findings": [{"code": code, "severity": severity} for code, severity in findings],
    }


def display_result(result: dict) -> str:
    return f"display({{{MIMETYPE!r}: {result!r}, 'text/plain': 'result'}}, raw=True)"


def write_notebook(path: Path, *cells: str, parameters: str | None = None, metadata=None) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.update(metadata or {})
    if parameters is not None:
        nb.cells.append(nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    nb.cells += [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(nb, path)
    return path


SAVED_PASSWORD_STATE = {
    "widgets": {
        "application/vnd.jupyter.widget-state+json": {
            "state": {
                "abc123": {
                    "model_name": "PasswordModel",
                    "model_module": "@jupyter-widgets/controls",
                    "model_module_version": "2.0.0",
                    "state": {"value": PASSWORD},
                }
            },
            "version_major": 2,
            "version_minor": 0,
        }
    }
}


@pytest.fixture(scope="module")
def progress_calls() -> list[tuple[str, RunStatus | None]]:
    return []


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory, progress_calls) -> RunSummary:
    src = tmp_path_factory.mktemp("notebooks")
    notebooks = [
        write_notebook(
            src / "raises.ipynb",
            display_result(payload("before the failure", ("AKV-AUTH-001", "ok"))),
            "raise ValueError('the check broke')",
            display_result(payload("never reached")),
        ),
        write_notebook(src / "sleeps.ipynb", "import time", "time.sleep(60)"),
        write_notebook(
            src / "results.ipynb",
            display_result(payload("sign-in", ("AKV-AUTH-001", "ok"))),
            display_result(payload("read", ("AKV-PERM-001", "error"), ("AKV-NET-001", "warning"))),
        ),
        write_notebook(
            src / "password.ipynb",
            "import os, ipywidgets",
            "print(os.environ['NBRUN_GREETING'], os.getcwd())",
            "pw = ipywidgets.Password(value=os.environ[client_secret_env])\npw",
            parameters='client_secret_env = "AZURE_CLIENT_SECRET"',
            metadata=SAVED_PASSWORD_STATE,  # as if someone saved it from JupyterLab
        ),
    ]
    os.environ.pop("NBRUN_GREETING", None)
    summary = run_notebooks(
        notebooks,
        tmp_path_factory.mktemp("out"),
        parameters={"client_secret_env": "NBRUN_PASSWORD"},
        env={"NBRUN_GREETING": GREETING, "NBRUN_PASSWORD": PASSWORD},
        execution_timeout=TIMEOUT,
        progress=lambda name, run: progress_calls.append((name, run and run.status)),
    )
    return summary


def run_named(summary: RunSummary, name: str):
    return next(run for run in summary.runs if run.name == name)


def executed(summary: RunSummary, name: str) -> nbformat.NotebookNode:
    import nbformat

    return nbformat.read(summary.out_dir / f"{name}.ipynb", as_version=4)


def test_a_failing_notebook_is_recorded_and_the_next_ones_still_run(batch):
    assert [(r.name, r.status) for r in batch.runs] == [
        ("raises", RunStatus.FAILED),
        ("sleeps", RunStatus.FAILED),
        ("results", RunStatus.FINDINGS),
        ("password", RunStatus.OK),
    ]
    raises = run_named(batch, "raises")
    assert raises.error.startswith("ValueError: the check broke (cell In [")
    nb = executed(batch, "raises")
    assert any("papermill-error-cell" in "".join(c.source) for c in nb.cells)  # the banner
    assert not batch.ok


def test_results_are_collected_even_from_a_notebook_that_failed_later(batch):
    results = run_named(batch, "results")
    assert [p["step"] for p in results.results] == ["sign-in", "read"]
    assert results.worst == "error"
    assert results.error_codes == ["AKV-PERM-001"]
    raises = run_named(batch, "raises")
    assert [p["step"] for p in raises.results] == ["before the failure"]


def test_a_cell_running_past_the_timeout_is_interrupted_and_recorded(batch):
    sleeps = run_named(batch, "sleeps")
    assert re.fullmatch(
        rf"cell In \[\d+\] ran longer than {TIMEOUT} s and was interrupted", sleeps.error
    )
    assert sleeps.seconds < 30
    statuses = [
        c.metadata.get("papermill", {}).get("status") for c in executed(batch, "sleeps").cells
    ]
    assert "failed" in statuses


def test_summary_json_and_table(batch):
    data = json.loads((batch.out_dir / "summary.json").read_text())
    assert data == json.loads(json.dumps(batch.to_dict()))
    assert data["ok"] is False
    by_name = {nb["name"]: nb for nb in data["notebooks"]}
    assert by_name["results"]["status"] == "findings"
    assert by_name["results"]["error_codes"] == ["AKV-PERM-001"]
    assert by_name["results"]["output"] == "results.ipynb"
    assert by_name["sleeps"]["worst"] == "ok"

    table = batch.table().splitlines()
    assert table[0].split()[:4] == ["notebook", "status", "seconds", "worst"]
    assert table[1].split()[:2] == ["raises", "failed"]
    assert "AKV-PERM-001" in table[3]
    assert table[-1].startswith("4 notebooks: 1 ok, 1 with error findings, 2 failed in ")


def test_every_notebook_gets_an_executed_copy_and_an_html_export(batch):
    for run in batch.runs:
        assert run.output == batch.out_dir / f"{run.name}.ipynb"
        assert run.html == batch.out_dir / f"{run.name}.html"
        assert run.html.read_text().lstrip().lower().startswith("<!doctype html")
    assert "the check broke" in run_named(batch, "raises").html.read_text()


def test_progress_is_reported_as_each_notebook_starts_and_ends(batch, progress_calls):
    assert progress_calls[:2] == [("raises", None), ("raises", RunStatus.FAILED)]
    assert len(progress_calls) == 2 * len(batch.runs)


def test_env_and_parameters_reach_the_kernel_and_env_is_restored(batch):
    nb = executed(batch, "password")
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert GREETING in printed
    assert str(Path(run_named(batch, "password").input).parent) in printed  # cwd
    assert nb.metadata.papermill.parameters == {"client_secret_env": "NBRUN_PASSWORD"}
    assert "NBRUN_GREETING" not in os.environ


def test_no_widget_state_is_stored_so_a_password_value_never_lands_in_a_report(batch):
    nb = executed(batch, "password")
    assert "widgets" not in nb.metadata  # also the state the input notebook carried
    assert "application/vnd.jupyter.widget-view+json" in nb.cells[-1].outputs[0].data
    assert scan_for_secrets([batch.out_dir], [PASSWORD]) == []
    assert notebook_secret_risks(batch.out_dir / "password.ipynb") == []


def test_a_secret_value_is_refused_as_a_parameter_before_any_kernel_starts(tmp_path):
    nb = write_notebook(tmp_path / "nb.ipynb", "print(1)")
    with pytest.raises(ValueError, match="client_secret") as caught:
        run_notebooks([nb], tmp_path / "out", parameters={"client_secret": "s3cr3t-value!"})
    assert "s3cr3t-value!" not in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_a_failed_kernel_start_is_retried_once(tmp_path, monkeypatch):
    import nbclient

    start = nbclient.NotebookClient.start_new_kernel
    starts = []

    def flaky_start(self, **kwargs):
        starts.append(1)
        if len(starts) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        return start(self, **kwargs)

    monkeypatch.setattr(nbclient.NotebookClient, "start_new_kernel", flaky_start)
    nb = write_notebook(
        tmp_path / "nb.ipynb", display_result(payload("ok", ("AKV-AUTH-001", "ok")))
    )
    summary = run_notebooks([nb], tmp_path / "out")
    [run] = summary.runs
    assert (run.status, run.attempts, len(starts)) == (RunStatus.OK, 2, 2)
    assert [p["step"] for p in run.results] == ["ok"]
    assert summary.ok


def test_a_kernel_that_never_starts_fails_after_one_retry(tmp_path, monkeypatch):
    import nbclient

    def broken_start(self, **kwargs):
        raise RuntimeError("Kernel died before replying to kernel_info")

    monkeypatch.setattr(nbclient.NotebookClient, "start_new_kernel", broken_start)
    nb = write_notebook(tmp_path / "nb.ipynb", "print(1)")
    [run] = run_notebooks([nb], tmp_path / "out").runs
    assert (run.status, run.attempts) == (RunStatus.FAILED, 2)
    assert run.error == "RuntimeError: Kernel died before replying to kernel_info"


def test_an_unknown_kernel_is_not_retried(tmp_path):
    nb = write_notebook(tmp_path / "nb.ipynb", "print(1)")
    [run] = run_notebooks([nb], tmp_path / "out", kernel_name="no-such-kernel").runs
    assert (run.status, run.attempts) == (RunStatus.FAILED, 1)
    assert run.error.startswith("NoSuchKernel")


def test_papermill_gets_a_kernel_a_timeout_a_cwd_and_no_widget_state(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr("papermill.execute_notebook", lambda *a, **kw: calls.append((a, kw)))
    nb = write_notebook(tmp_path / "nb.ipynb", "print(1)")
    run_notebooks([nb], tmp_path / "out", kernel_name="python3", execution_timeout=42)
    [(args, kwargs)] = calls
    assert args == (nb, tmp_path / "out" / "nb.ipynb")
    assert kwargs["store_widget_state"] is False  # nbclient stores it by default
    assert (kwargs["kernel_name"], kwargs["execution_timeout"]) == ("python3", 42)
    assert kwargs["cwd"] == tmp_path
    assert kwargs["progress_bar"] is False
