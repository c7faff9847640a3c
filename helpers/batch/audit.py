"""The audit path: the check notebook executed once per environment, as evidence.

``akv-runbook check --inventory FILE --notebooks`` runs ``notebooks/check_environment.ipynb``
with papermill for every environment of the inventory, ``workers`` at a time in a process
pool (papermill is not thread-safe). Each run gets only the inventory's path, the
environment's name, sandbox or azure and ``fail_on_error=False`` (the findings are read back
from the notebook; a notebook that raised would read as failed), so no secret can reach a
notebook through papermill; the kernels inherit the environment (proxy, CA bundle, the
variables holding client secrets).

Each environment leaves ``<report dir>/notebooks/<name>.ipynb`` and ``.html``; the findings
are read back from the notebook's machine-readable output into the same
:class:`~helpers.batch.BatchResult` the fast path produces. A kernel that fails to start is
retried once; a cell running longer than the environment's timeout is interrupted; widget
state is never stored.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from helpers.batch.fast import (
    BatchResult,
    EnvironmentResult,
    Progress,
    Status,
    finding_from_dict,
)
from helpers.batch.inventory import Inventory
from helpers.batch.notebook_runs import run_one
from helpers.common.facts import SANDBOX_PORT_VAR
from helpers.common.paths import NOTEBOOKS_DIR
from helpers.findings.codes.batch import NOTEBOOK_FAILED

__all__ = ["CHECK_NOTEBOOK", "check_inventory_notebooks", "default_workers"]

CHECK_NOTEBOOK = NOTEBOOKS_DIR / "check_environment.ipynb"


def default_workers() -> int:
    """Two notebooks per CPU (a kernel start waits as much as it computes), at most 8."""
    return max(1, min(8, 2 * (os.cpu_count() or 1)))


def check_inventory_notebooks(
    inventory: Inventory,
    report_dir: str | Path,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    env_timeout: float | None = None,
    notebook: Path = CHECK_NOTEBOOK,
    kernel_name: str = "python3",
) -> BatchResult:
    """Execute the check notebook per environment; never raises for one environment."""
    report_dir = Path(report_dir)
    out_dir = report_dir / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    started, clock = datetime.now(UTC), time.perf_counter()
    workers = workers or default_workers()
    batch = BatchResult(
        inventory.source,
        "notebooks",
        inventory_findings=list(inventory.findings),
        started=started.isoformat(timespec="seconds"),
        concurrency=workers,
    )
    specs = inventory.environments
    connect = "sandbox" if os.environ.get(SANDBOX_PORT_VAR) else "azure"
    inventory_path = str(Path(inventory.source).resolve())
    by_name: dict[str, EnvironmentResult] = {}
    # forkserver: workers fork from a clean process that imported papermill once, not from
    # this one (which may run a sandbox thread); the environment is handed over explicitly.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["papermill", "nbconvert", "helpers.batch.notebook_runs"])
    with ProcessPoolExecutor(
        max_workers=min(workers, max(1, len(specs))),
        mp_context=context,
        initializer=_init_worker,
        initargs=(dict(os.environ),),
    ) as pool:
        futures = {
            pool.submit(
                _run_environment,
                str(notebook),
                str(out_dir),
                spec.name,
                {
                    "inventory": inventory_path,
                    "env_name": spec.name,
                    "environment": connect,
                    "fail_on_error": False,  # findings are read back, not a failed notebook
                },
                kernel_name,
                max(1, math.ceil(env_timeout or spec.timeout)),
            ): spec
            for spec in specs
        }
        for future in as_completed(futures):
            spec = futures[future]
            try:
                outcome = future.result()
            except Exception as err:  # noqa: BLE001 - a dead worker fails one environment
                outcome = {"status": "failed", "error": f"worker: {type(err).__name__}"}
            result = _result(spec.name, spec.settings.vault_url, outcome, report_dir)
            by_name[spec.name] = result
            if progress is not None:
                progress(result)
    batch.results = [by_name[s.name] for s in specs]
    batch.seconds = time.perf_counter() - clock
    return batch


def _init_worker(environ: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(environ)


def _run_environment(
    notebook: str,
    out_dir: str,
    name: str,
    parameters: dict[str, Any],
    kernel_name: str,
    timeout: int,
) -> dict[str, Any]:
    """In a pool worker: one papermill run; a picklable outcome back."""
    run = run_one(Path(notebook), Path(out_dir), parameters, kernel_name, timeout, name=name)
    return {
        "status": run.status.value,
        "error": run.error,
        "seconds": run.seconds,
        "attempts": run.attempts,
        "output": str(run.output) if run.output else None,
        "html": str(run.html) if run.html else None,
        "results": run.results,
    }


def _result(name: str, vault_url: str, outcome: dict[str, Any], root: Path) -> EnvironmentResult:
    findings = [
        finding_from_dict(f)
        for payload in outcome.get("results") or []
        if payload.get("step") == "check"
        for f in payload.get("findings", [])
    ]
    status = Status.OK
    if outcome.get("status") == "failed":
        status = Status.FAILED
        findings.append(NOTEBOOK_FAILED("notebook", outcome.get("error") or "no result"))

    def rel(path: str | None) -> str | None:
        return os.path.relpath(path, root) if path else None

    return EnvironmentResult(
        name,
        vault_url,
        findings,
        float(outcome.get("seconds") or 0.0),
        status,
        notebook=rel(outcome.get("output")),
        html=rel(outcome.get("html")),
        attempts=int(outcome.get("attempts") or 1),
    ).settle()
