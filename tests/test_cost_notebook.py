"""Notebook 05 (runtime cost, issue 14): headless under papermill, with its chart.

Two real measurements at most (each imports Airflow in child processes, about two minutes):
the example folder with the defaults, executed once for every assertion about its output
(exit 0, the results, the chart in nbconvert's HTML, no secret), and a parsing-only run
forced over Key Vault's limit, which must stop with AKV-COST-001 and a non-zero exit. The
chart, the table and the parameter checks are also tested directly on a hand-built report,
without Airflow or a kernel.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.common.facts import SANDBOX_PORT_VAR, SANDBOX_STATE_VAR
from helpers.common.leaks import notebook_secret_risks, scan_for_secrets
from helpers.cost import Config, CostReport, FileCost, Forecast, StepCount, TaskCost
from helpers.findings.results import collect_results
from helpers.runbook.cost import (
    EXAMPLE_DAGS,
    RuntimeCost,
    cost_chart_png,
    cost_chart_svg,
    cost_parameters,
    runtime_cost,
)
from helpers.sandbox import Sandbox
from tests.test_notebooks_headless import NOTEBOOKS, ROOT, papermill_argv

NOTEBOOK = NOTEBOOKS / "05_runtime_cost.ipynb"
EXAMPLE_FILES = sorted(p.name for p in EXAMPLE_DAGS.glob("*.py"))
RUN_TIMEOUT = 900  # two measuring processes plus a kernel; about three minutes here
STEPS = ["connect", "cost-table", "runtime-cost"]


def run_papermill(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The papermill CLI as a user types it, with the akv-runbook engine."""
    argv = [str(NOTEBOOK), str(out), "-k", "python3", "--cwd", "notebooks"]
    argv += ["--engine", "akv-runbook", *args]
    return subprocess.run(
        papermill_argv(argv),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


@pytest.fixture(scope="module")
def sandbox(akv_sandbox_session: Sandbox) -> Iterator[Sandbox]:
    """The kernels reuse the session's sandbox for `connect` (as under `make demo`); the
    measurement itself starts its own private one."""
    sandbox = akv_sandbox_session
    sandbox.client.reset()
    with pytest.MonkeyPatch.context() as mp:
        sandbox.apply_environment()
        mp.setenv(SANDBOX_PORT_VAR, str(sandbox.port))
        mp.setenv(SANDBOX_STATE_VAR, str(sandbox.state_dir))
        yield sandbox


@pytest.fixture(scope="module")
def example_run(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory):
    """05 with its defaults (the example folder), headless: one measurement for all the
    assertions below."""
    out = tmp_path_factory.mktemp("cost-notebook") / "05_runtime_cost.ipynb"
    return out, run_papermill(out)


def results(path: Path) -> dict[str, dict]:
    return {r["step"]: r for r in collect_results(path)}


def svg_images(html_text: str) -> list[str]:
    """Every SVG in nbconvert's HTML: inline markup, or (nbconvert 7) an <img> whose src is
    a base64 data URI."""
    inline = re.findall(r"<svg\b.*?</svg>", html_text, re.S)
    encoded = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html_text)
    return inline + [base64.b64decode(e).decode("utf-8") for e in encoded]


# -- the notebook, headless ------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(RUN_TIMEOUT + 60)
def test_the_example_folder_runs_headless_to_the_end(example_run):
    out, run = example_run
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    found = results(out)
    assert list(found) == STEPS
    assert all(r["ok"] for r in found.values())
    codes = [f["code"] for f in found["runtime-cost"]["findings"]]
    # the two files with top-level lookups, and the forecast (well under the limit)
    assert codes.count("AKV-COST-003") == 2 and codes[-1] == "AKV-COST-008"
    subjects = {f["subject"] for f in found["runtime-cost"]["findings"]}
    assert {"top_level_lookups.py", "loop_of_lookups.py"} <= subjects


@pytest.mark.slow
@pytest.mark.timeout(RUN_TIMEOUT + 60)
def test_the_executed_notebooks_html_holds_the_chart_with_every_file(example_run):
    import nbformat
    from nbconvert import HTMLExporter

    out, run = example_run
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    body, _ = HTMLExporter().from_notebook_node(nbformat.read(out, as_version=4))
    charts = [s for s in svg_images(body) if "Key Vault reads per DAG file parse" in s]
    assert len(charts) == 1, "no chart in the HTML"
    [chart] = charts
    assert chart.startswith("<svg")
    for name in EXAMPLE_FILES:
        assert name in chart, name
    # the table the chart summarises is there too, with the advice
    assert "recommended GETs/parse" in body and "Move the lookup(s) at line" in body


@pytest.mark.slow
@pytest.mark.timeout(RUN_TIMEOUT + 60)
def test_the_executed_notebook_holds_no_secret(example_run, sandbox):
    out, _ = example_run
    assert [str(leak) for leak in scan_for_secrets([out], sandbox.secret_values())] == []
    assert [str(risk) for risk in notebook_secret_risks(out)] == []


@pytest.mark.slow
@pytest.mark.timeout(RUN_TIMEOUT + 60)
def test_a_forecast_over_the_limit_stops_the_headless_run_with_cost_001(sandbox, tmp_path):
    # 9 GETs per parse of the example folder, every 0.01 s: far past 4,000 per 10 s.
    out = tmp_path / "over.ipynb"
    run = run_papermill(out, "-p", "parse_interval", "0.01", "-p", "task_samples", "0")
    assert run.returncode != 0, (run.stdout + run.stderr)[-3000:]
    assert "AKV-COST-001" in run.stderr
    assert "FindingsError: 1 error finding(s): AKV-COST-001" in run.stderr
    found = results(out)
    assert list(found) == STEPS  # the table and the chart came before the verdict
    over = [f for f in found["runtime-cost"]["findings"] if f["code"] == "AKV-COST-001"]
    assert over and over[0]["severity"] == "error"
    assert not found["runtime-cost"]["ok"]


# -- without Airflow or a kernel ----------------------------------------------------------------
def hand_built() -> CostReport:
    configs = {"default": Config(False, 900), "recommended": Config(True, 900)}
    report = CostReport("/dags", Forecast(30.0, 2, 360.0), configs)
    report.files = [
        FileCost(
            "reads_at_top.py",
            dags={"a": ["t"]},
            lookup_lines=[7, 8],
            per_parse={
                "default": {"vault_gets": 3.0, "token_requests": 1.0},
                "recommended": {"vault_gets": 0.1, "token_requests": 0.0333},
            },
            advice="Move the lookup(s) at line 7, 8 into the task or a template.",
        ),
        FileCost(
            "clean & <tidy>.py",
            dags={"b": ["t"]},
            per_parse={
                "default": {"vault_gets": 0.0, "token_requests": 0.0},
                "recommended": {"vault_gets": 0.0, "token_requests": 0.0},
            },
            advice="Nothing to change: parsing it reads no secret.",
        ),
    ]
    task = TaskCost("reads_at_top.py", "a", "t", worker_parse=StepCount(vault_gets=3))
    task.runs = {"default": StepCount(vault_gets=1, token_requests=1)}
    task.runs["recommended"] = StepCount(vault_gets=1, token_requests=1)
    report.tasks = [task]
    report.judge()
    return report


def test_the_chart_is_svg_naming_each_file_and_the_same_every_time():
    report = hand_built()
    svg = cost_chart_svg(report)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "reads_at_top.py" in svg
    assert "clean &amp; &lt;tidy&gt;.py" in svg  # escaped as XML text, not markup
    assert "Key Vault reads per DAG file parse" in svg and "DAG file" in svg
    assert "0.10" in svg and ">3<" in svg.replace(" ", "")  # the bars' values
    assert svg == cost_chart_svg(report)  # no date, salted ids: stable committed outputs
    assert cost_chart_png(report).startswith(b"\x89PNG")


def test_the_chart_displays_as_svg_with_a_png_fallback_and_text():
    bundle = RuntimeCost(Path("/dags"), hand_built()).chart()._repr_mimebundle_()
    assert set(bundle) == {"image/svg+xml", "image/png", "text/plain"}
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")
    assert "reads_at_top.py" in bundle["text/plain"]
    assert RuntimeCost(Path("/dags")).chart()._repr_mimebundle_() == {
        "text/plain": "(no chart: nothing was measured)"
    }


def test_the_table_and_the_result_show_every_file_the_forecast_and_the_findings():
    cost = RuntimeCost(Path("/dags"), hand_built())
    table = cost.table()
    assert table.findings == []
    rows = table.sections[0].body
    assert rows[1][:7] == ["reads_at_top.py", "1", "3", "1", "0.10", "0.03", rows[1][6]]
    assert rows[-1][0] == "the folder (every file once)"
    html_table = table._repr_html_()
    assert "clean &amp; &lt;tidy&gt;.py" in html_table and "<tidy>" not in html_table
    assert "a.t" in str(table)  # the sample task, with its file's parse on the worker
    result = cost.result()
    codes = [f.code for f in result.findings]
    assert codes == ["AKV-COST-003", "AKV-COST-006", "AKV-COST-008"]
    # 2 processors x 3 GETs x 10 / 30 s + 360 runs/h / 360 x (1 + 3) GETs = 6 per 10 s
    assert "Forecast per vault: 6 GETs per 10 s" in str(result)
    assert result.data["default"]["forecast_gets_per_10s"] == 6.0


def test_bad_parameters_are_set_020_and_nothing_is_measured(tmp_path):
    forecast, samples, problems = cost_parameters("60", 2.0, 0, "3")
    assert (forecast, samples, problems) == (Forecast(60.0, 2, 0.0), 3, [])
    _, _, problems = cost_parameters(0, 1.5, -1, "x")
    assert [p.code for p in problems] == ["AKV-SET-020"] * 4
    assert [p.subject for p in problems] == [
        "parameter parse_interval",
        "parameter dag_processors",
        "parameter task_runs_per_hour",
        "parameter task_samples",
    ]
    cost = runtime_cost(tmp_path / "missing", parse_interval=0)
    assert cost.report is None
    assert [f.code for f in cost.result().findings] == ["AKV-SET-020", "AKV-SET-020"]
    assert "dags_dir must be a folder" in str(cost.result())
    assert runtime_cost(tmp_path, use_cache="maybe").result().findings[0].code == "AKV-SET-020"
    assert "Nothing was measured" in str(cost.table())
