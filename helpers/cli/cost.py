"""`akv-runbook cost`: what the Key Vault backend costs per DAG parse and per task run,
measured with real Airflow against a private sandbox (helpers/cost)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from helpers.cli.argtypes import _count, _non_negative, _path, _positive_float, _positive_int
from helpers.cli.commands import _unusable_settings, resolve_settings
from helpers.cli.output import print_json
from helpers.cli.progress import progress_bar, stderr_is_tty
from helpers.common.logs import quiet_sdk_logs
from helpers.common.textio import printable
from helpers.cost import CostReport, CostRequest, Forecast, measure_cost
from helpers.findings import exit_code, render_text, to_json

__all__ = ["add_cost_command", "cmd_cost", "cost_table"]

DESCRIPTION = """\
Parse every DAG file of a folder with Airflow's own DAG processor against a private, offline
sandbox, run a sample task, and count from the sandbox's request log the Key Vault GETs and
token requests each parse and each task run makes — under the deployment's configuration
(--settings: prefixes, use_cache, cache_ttl_seconds; Airflow's defaults otherwise) and under
the configuration the runbook recommends ([secrets] use_cache on). Then forecast GETs per 10 s
per vault for the parse interval, DAG processors and task volume given, against Key Vault's
limit of 4,000 per 10 s.

Secrets the DAGs ask for are seeded into the sandbox with placeholder values; nothing reaches
Azure. Each measuring process imports Airflow: expect about a minute plus a second per file.

exit 0: no error finding (a file that did not parse in the sandbox is a warning: its counts
are a lower bound); 1: an error finding (forecast over the limit, an incomplete
measurement); 2: usage error."""

EPILOG = """\
examples:
  akv-runbook cost --dags dags/
  akv-runbook cost --dags dags/ --settings prod.yaml --parse-interval 60 --dag-processors 2
  akv-runbook cost --dags dags/ --task-runs-per-hour 5000 --json > cost.json
  akv-runbook cost --dags dags/ --task-samples 0        # parsing only (faster)

JSON: default.vault_gets_per_parse and recommended.vault_gets_per_parse are the folder's
totals per parse (every file once, steady state); files[] and tasks[] hold each measured step.
Findings: akv-runbook findings AKV-COST-001 (docs/findings.md)."""


def add_cost_command(sub: Any) -> None:
    cost = sub.add_parser(
        "cost",
        help="measure Key Vault GETs and token requests per DAG parse and per task run",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cost.add_argument("--dags", required=True, type=_path, metavar="DIR", help="the DAG folder")
    cost.add_argument(
        "--settings",
        type=_path,
        metavar="FILE",
        help="the deployment's settings YAML (prefixes, use_cache, cache_ttl_seconds); "
        "default: this environment's AIRFLOW__SECRETS__* if set",
    )
    cost.add_argument(
        "--parse-interval",
        type=_positive_float,
        default=30.0,
        metavar="S",
        help="[dag_processor] min_file_process_interval in seconds (default 30)",
    )
    cost.add_argument(
        "--dag-processors",
        type=_positive_int,
        default=1,
        metavar="N",
        help="DAG processors parsing the folder, each with its own cache (default 1)",
    )
    cost.add_argument(
        "--task-runs-per-hour",
        type=_non_negative,
        default=0.0,
        metavar="N",
        help="task runs per hour reading this vault, for the forecast (default 0)",
    )
    cost.add_argument(
        "--task-samples",
        type=_count,
        default=1,
        metavar="N",
        help="files whose first task is run and measured (default 1; 0: parsing only)",
    )
    cost.add_argument(
        "--timeout",
        type=_positive_float,
        default=120.0,
        metavar="S",
        help="seconds one parse may take (default 120)",
    )
    cost.add_argument("--json", action="store_true", help="print only JSON on stdout")
    cost.add_argument("--no-progress", action="store_true", help="no progress bar")
    cost.set_defaults(func=cmd_cost)


def cmd_cost(args: argparse.Namespace) -> int:
    quiet_sdk_logs()
    folder = Path(args.dags)
    if not folder.is_dir():
        print(f"akv-runbook: --dags {printable(args.dags)}: not a folder", file=sys.stderr)
        return 2
    # --settings, else the environment's AIRFLOW__SECRETS__* (only prefixes, sep and the
    # cache settings matter here: the measurement always runs against a private sandbox).
    settings, findings = resolve_settings(args)
    if (code := _unusable_settings(findings, args)) is not None:
        return code
    request = CostRequest(
        folder,
        settings,
        Forecast(args.parse_interval, args.dag_processors, args.task_runs_per_hour),
        task_samples=args.task_samples,
        timeout=args.timeout,
    )
    show = stderr_is_tty() and not args.no_progress and not args.json
    bar = progress_bar(None, "measuring", "step") if show else None

    def progress(step: str, done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.set_postfix_str(step, refresh=True)

    try:
        report = measure_cost(request, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print_json(to_json(report.findings, **report.to_json()))
    else:
        print(cost_table(report))
        print()
        print(render_text(report.findings, title=f"cost of {report.dags_folder}"))
    return exit_code(report.findings)


def _text_table(rows: list[list[str]], *, total_row: bool = False) -> list[str]:
    """Rows as aligned text: the first column left, the others right; a rule under the
    header (and above a total row)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    rule = "  ".join("-" * w for w in widths)
    lines.insert(1, rule)
    if total_row:
        lines.insert(len(lines) - 1, rule)
    return lines


def cost_table(report: CostReport) -> str:
    """The per-file table, the sample tasks, the forecast and the configurations, as text."""
    lines = _text_table(report.file_rows(), total_row=True)
    if report.tasks:
        lines += ["", *_text_table(report.task_rows())]
    return "\n".join([*lines, "", report.forecast_text(), report.configs_text()])
