"""Notebook 05's steps: what the Key Vault backend costs at run time, per DAG file.

:func:`runtime_cost` measures a DAG folder with :func:`helpers.cost.measure_cost` (real
Airflow parsing against a private sandbox, counted from its request log) under the
deployment's configuration and the recommended one. The :class:`RuntimeCost` it returns
shows the measurement in three parts, in the order the notebook displays them:
:meth:`RuntimeCost.table` (one row per DAG file and per sample task, as a step result),
:meth:`RuntimeCost.chart` (a grouped bar chart, inline SVG with a PNG fallback) and
:meth:`RuntimeCost.result` (the forecast line and every AKV-COST-* finding: the step that
stops a headless run on an error, e.g. a forecast over Key Vault's limit).

:func:`cost_chart_svg` and :func:`cost_chart_png` are pure (a report in, the chart out), so
the chart is tested without Airflow or a kernel. matplotlib (with the Agg backend, no pyplot
and no global state) is imported inside them: it is a heavy optional dependency.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.common.paths import PROJECT_ROOT
from helpers.common.textio import printable
from helpers.cost import (
    CONFIGS,
    CostReport,
    CostRequest,
    Forecast,
    measure_cost,
)
from helpers.cost.report import format_count
from helpers.findings import Finding
from helpers.findings.codes.set import WRONG_TYPE
from helpers.runbook.results import Section, StepResult, unexpected
from helpers.settings import Settings
from helpers.settings.load import as_bool

__all__ = [
    "EXAMPLE_DAGS",
    "Chart",
    "RuntimeCost",
    "cost_chart_png",
    "cost_chart_svg",
    "cost_parameters",
    "runtime_cost",
]

# The notebook's default folder: four small Airflow 3 DAG files, two of which read Key Vault
# at the top level, so the chart shows what the recommendations change.
EXAMPLE_DAGS = PROJECT_ROOT / "docs" / "examples" / "cost-dags"
_COLOURS = {"default": "#c0504d", "recommended": "#4f81bd"}
_LABELS = {
    "default": "your configuration",
    "recommended": "recommended ([secrets] use_cache on)",
}


def _file_label(name: str, error: str = "") -> str:
    return printable(name)[:80] + (" (did not parse)" if error else "")


# -- the chart (pure: a report in, SVG or PNG out) ----------------------------------------
def _figure(report: CostReport) -> Any:
    """A grouped horizontal bar chart: per DAG file, vault GETs per parse in the
    configuration measured and in the recommended one, each bar annotated with its value."""
    # matplotlib is a heavy optional dependency: imported only when a chart is drawn. The
    # Figure is built without pyplot (no global state) on the non-interactive Agg canvas.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    files = list(reversed(report.files))  # barh draws bottom-up: the first file on top
    height = 0.38
    fig = Figure(figsize=(8.0, 1.4 + 0.75 * max(1, len(files))), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    top = 0.0
    for offset, config in zip((height / 2, -height / 2), CONFIGS, strict=True):
        values = [f.per_parse.get(config, {}).get("vault_gets", 0.0) for f in files]
        top = max([top, *values])
        bars = ax.barh(
            [i + offset for i in range(len(files))],
            values,
            height=height,
            color=_COLOURS[config],
            label=_LABELS[config],
        )
        ax.bar_label(bars, labels=[format_count(v) for v in values], padding=3, fontsize=9)
    ax.set_yticks(range(len(files)), [_file_label(f.file, f.error) for f in files])
    ax.set_xlim(0, max(1.0, top) * 1.18)  # room for the value labels
    ax.set_xlabel("Key Vault GETs per parse of the file (steady state)")
    ax.set_ylabel("DAG file")
    ax.set_title(
        "Key Vault reads per DAG file parse: your configuration vs recommended", fontsize=11
    )
    fig.legend(loc="outside lower center", ncols=2, fontsize=9, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    return fig


def cost_chart_svg(report: CostReport) -> str:
    """The chart as SVG text. Texts stay text (file names are searchable and selectable),
    element ids are salted with a constant and the date is left out: the same report
    gives the same SVG."""
    # matplotlib is a heavy optional dependency (see _figure).
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "akv-runbook"}):
        buffer = io.StringIO()
        _figure(report).savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # inline in HTML: without the XML prolog and DOCTYPE


def cost_chart_png(report: CostReport, dpi: int = 80) -> bytes:
    """The same chart as PNG: what JupyterLab shows for a notebook it does not trust (it
    renders no untrusted SVG), e.g. the committed outputs before anyone runs a cell."""
    buffer = io.BytesIO()
    _figure(report).savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


@dataclass
class Chart:
    """A displayable chart: inline SVG (JupyterLab after a run, nbconvert HTML), a PNG for
    untrusted notebooks, and a line of text elsewhere."""

    report: CostReport | None

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        if self.report is None or not self.report.files:
            return {"text/plain": "(no chart: nothing was measured)"}
        names = ", ".join(printable(f.file) for f in self.report.files)
        return {
            "image/svg+xml": cost_chart_svg(self.report),
            "image/png": base64.b64encode(cost_chart_png(self.report)).decode("ascii"),
            "text/plain": f"<chart: Key Vault GETs per parse of {names}>",
        }


# -- parameters ----------------------------------------------------------------------------
def cost_parameters(
    parse_interval: Any, dag_processors: Any, task_runs_per_hour: Any, task_samples: Any
) -> tuple[Forecast, int, list[Finding]]:
    """The notebook's numeric parameters as a forecast and a sample count, or AKV-SET-020
    for each value out of range (papermill's -p may pass a string, a float or an int)."""
    problems: list[Finding] = []

    def number(name: str, value: Any, least: float, strict: bool, whole: bool) -> float:
        try:
            got = float(value)
        except (TypeError, ValueError):
            got = math.nan
        bad = not math.isfinite(got) or (got <= least if strict else got < least)
        if whole and not bad:
            bad = not got.is_integer()
        if bad:
            kind = "a whole number" if whole else "a number"
            bound = f"{'above' if strict else 'at least'} {least:g}"
            shown = printable(repr(value))[:40]
            problems.append(
                WRONG_TYPE(f"parameter {name}", f"{name} must be {kind} {bound}, not {shown}.")
            )
            return least + (1 if strict else 0)
        return got

    forecast = Forecast(
        number("parse_interval", parse_interval, 0, True, False),
        int(number("dag_processors", dag_processors, 1, False, True)),
        number("task_runs_per_hour", task_runs_per_hour, 0, False, False),
    )
    samples = int(number("task_samples", task_samples, 0, False, True))
    return forecast, samples, problems


# -- the measurement --------------------------------------------------------------------------
@dataclass
class RuntimeCost:
    """A measurement of one DAG folder (or the findings that stopped it), shown in parts."""

    folder: Path
    report: CostReport | None = None
    problems: list[Finding] = field(default_factory=list)  # before or instead of a report
    seconds: float = 0.0

    def table(self) -> StepResult:
        """One row per DAG file (GETs and token requests per parse, both configurations,
        the advice), the folder's total, then one row per sample task on a worker."""
        title = f"Runtime cost of {printable(self.folder.name or str(self.folder))}"
        report = self.report
        if report is None or not report.files:
            return StepResult(title, [], [Section("", "Nothing was measured: see below.", "note")])
        rows = report.file_rows()
        advice = ["advice", *(f.advice for f in report.files), ""]
        rows = [[*row, note] for row, note in zip(rows, advice, strict=True)]
        sections = [Section("Per DAG file (steady state per parse)", rows, "table")]
        if report.tasks:
            sections.append(
                Section(
                    "Sample tasks (the worker parses the file, then runs the task)",
                    report.task_rows(),
                    "table",
                )
            )
        data = report.to_json()
        totals = {c: {k: v for k, v in data[c].items()} for c in CONFIGS}
        return StepResult(title, [], sections, {"totals": totals})

    def chart(self) -> Chart:
        """Vault GETs per parse, per DAG file, your configuration vs recommended."""
        return Chart(self.report)

    def result(self) -> StepResult:
        """The forecast line and the findings (AKV-COST-*): the step whose error stops a
        headless run (``fail_on_error``)."""
        report = self.report
        if report is None:
            return StepResult("Runtime cost: not measured", list(self.problems))
        data = report.to_json()
        line, configs = report.forecast_text(), report.configs_text()
        sections = [Section("", line, "note"), Section("", configs, "note")]
        findings = list(self.problems) + list(report.findings)
        summary = {k: v for k, v in data.items() if k not in ("files", "tasks")}
        return StepResult("Runtime cost: forecast and findings", findings, sections, summary)


def _notebook_progress() -> Callable[[str, int, int], None] | None:
    """In a kernel, one output line that follows the measurement's steps; else None."""
    # IPython is only there in a kernel; the rest of the runbook works without it.
    from IPython import get_ipython
    from IPython.display import display

    if get_ipython() is None:
        return None
    handle = display({"text/plain": "measuring: starting"}, raw=True, display_id=True)

    def tell(step: str, done: int, total: int) -> None:
        if handle is not None:
            handle.update({"text/plain": f"measuring ({done}/{total}): {step}"}, raw=True)

    return tell


def runtime_cost(
    dags_dir: str | Path = "",
    settings: Settings | None = None,
    *,
    use_cache: bool | None = None,
    parse_interval: Any = 30.0,
    dag_processors: Any = 1,
    task_runs_per_hour: Any = 0.0,
    task_samples: Any = 1,
    progress: Callable[[str, int, int], None] | None = None,
) -> RuntimeCost:
    """Measure ``dags_dir`` (empty: :data:`EXAMPLE_DAGS`) with ``settings``' prefixes and
    ``use_cache`` (the parameter, when given, overrides the settings'). Takes a minute or
    two: each configuration runs in a fresh process that imports Airflow. Never raises: a
    bad parameter is AKV-SET-020, an unexpected failure AKV-SVC-003."""
    folder = Path(str(dags_dir).strip() or EXAMPLE_DAGS).expanduser()
    forecast, samples, problems = cost_parameters(
        parse_interval, dag_processors, task_runs_per_hour, task_samples
    )
    if not folder.is_dir():
        shown = printable(str(folder))[:200]
        problems.append(
            WRONG_TYPE(
                "parameter dags_dir", f"dags_dir must be a folder of DAG files; {shown} is not one."
            )
        )
    if problems:
        return RuntimeCost(folder, problems=problems)
    if use_cache is not None and use_cache != "":
        try:
            cache = bool(as_bool(use_cache))
        except ValueError:
            shown = printable(repr(use_cache))[:40]
            problems = [
                WRONG_TYPE(
                    "parameter use_cache", f"use_cache must be True, False or None, not {shown}."
                )
            ]
            return RuntimeCost(folder, problems=problems)
        settings = dataclasses.replace(settings or Settings(), use_cache=cache)
    started = time.monotonic()
    try:
        tell = progress or _notebook_progress()
        report = measure_cost(
            CostRequest(folder, settings, forecast, task_samples=samples), progress=tell
        )
    except Exception as err:  # noqa: BLE001 - a step reports, it never raises
        return RuntimeCost(folder, problems=[unexpected("runtime cost", err)])
    return RuntimeCost(folder, report, seconds=round(time.monotonic() - started, 1))
