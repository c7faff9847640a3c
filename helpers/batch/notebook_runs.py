"""Headless notebook runs: papermill into a report directory, results collected.

:func:`run_notebooks` executes notebooks one after the other (papermill is not thread-safe),
each into ``<out_dir>/<name>.ipynb`` plus an HTML export, and reads back the machine-readable
results the notebooks emit (:func:`helpers.runbook.collect_results`). A failing notebook is
recorded and the run goes on. :func:`run_demo_notebooks` is ``make demo``: the same against
a sandbox started in this process.

Secrets never travel as parameters (only the names of environment variables do: papermill
writes parameters into the output notebook twice); the kernels inherit them from the
environment. Widget state is never stored, so a ``Password`` value cannot reach a report.
Every run uses the ``akv-runbook`` engine (:mod:`helpers.common.papermill_engine`): a
secret-like parameter value is replaced before the notebook is written or executed.

The runbook's notebooks stop at a step with an error finding when run headless
(``fail_on_error``); ``make demo`` passes ``fail_on_error=False`` so that every step runs and
a notebook with error findings ends as ``findings``, not ``failed``.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpers.common.envscope import scoped_environ
from helpers.common.facts import SANDBOX_PORT_VAR, SANDBOX_STATE_VAR
from helpers.common.leaks import secret_valued_parameters
from helpers.common.papermill_engine import register as register_engine
from helpers.common.paths import NOTEBOOKS_DIR
from helpers.findings import Severity, text_table
from helpers.findings.codes.run import SKIPPED
from helpers.findings.results import collect_results
from helpers.sandbox import Sandbox

if TYPE_CHECKING:
    import nbformat

# papermill, nbconvert and nbformat (with jsonschema) take seconds to import: they load only
# when a notebook is run or read, never when this module is imported.

__all__ = [
    "CREDENTIAL_RUNS",
    "RETRIEVAL",
    "NotebookRun",
    "RunStatus",
    "RunSummary",
    "demo_notebooks",
    "retrieval_by_credential",
    "run_demo_notebooks",
    "run_notebooks",
    "run_one",
]


# `make demo` runs the retrieval notebook again for each credential kind but the default
# (client-secret); the sample DAG (30-40 s) runs only in the default run.
RETRIEVAL = "04_live_retrieval"
CREDENTIAL_RUNS: dict[str, dict[str, Any]] = {
    kind: {"sign_in_with": kind, "run_dag": False}
    for kind in ("managed-identity", "workload-identity")
}

# ipykernel warns on every start that it runs over local TCP; keep the demo's output readable.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]

Progress = Callable[[str, "NotebookRun | None"], None]


class RunStatus(StrEnum):
    OK = "ok"  # ran to the end; no error-level finding
    FINDINGS = "findings"  # ran to the end; reported error-level findings
    FAILED = "failed"  # a cell raised or timed out, or the kernel did not start


@dataclass
class NotebookRun:
    """One executed notebook: where it went, how it ended, what it found."""

    name: str
    input: Path
    status: RunStatus
    seconds: float
    output: Path | None = None  # the executed notebook (with papermill's error banner)
    html: Path | None = None
    results: list[dict[str, Any]] = field(default_factory=list)  # MIMETYPE payloads
    error: str = ""  # why a failed notebook failed
    attempts: int = 1

    @property
    def worst(self) -> Severity:
        severities = [Severity(p["worst"]) for p in self.results if p.get("worst")]
        severities += [Severity(f["severity"]) for f in self._findings()]
        return max(severities, key=lambda s: s.rank, default=Severity.OK)

    @property
    def error_codes(self) -> list[str]:
        codes = (f["code"] for f in self._findings() if f["severity"] == Severity.ERROR)
        return list(dict.fromkeys(codes))

    def _findings(self) -> Iterator[dict[str, Any]]:
        for payload in self.results:
            yield from payload.get("findings", ())

    def to_dict(self, relative_to: Path | None = None) -> dict[str, Any]:
        def rel(path: Path | None) -> str | None:
            if path is None:
                return None
            return str(path.relative_to(relative_to) if relative_to else path)

        return {
            "name": self.name,
            "input": str(self.input),
            "status": self.status.value,
            "seconds": round(self.seconds, 2),
            "worst": self.worst.value,
            "error_codes": self.error_codes,
            "error": self.error,
            "attempts": self.attempts,
            "output": rel(self.output),
            "html": rel(self.html),
            "results": self.results,
        }


@dataclass
class RunSummary:
    """A batch of runs; what ``out_dir/summary.json`` holds."""

    out_dir: Path
    runs: list[NotebookRun]
    started: str  # UTC, ISO 8601
    seconds: float

    @property
    def ok(self) -> bool:
        return all(run.status is RunStatus.OK for run in self.runs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "started": self.started,
            "seconds": round(self.seconds, 2),
            "ok": self.ok,
            "notebooks": [run.to_dict(relative_to=self.out_dir) for run in self.runs],
        }

    def write(self) -> Path:
        path = self.out_dir / "summary.json"
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path

    def table(self) -> str:
        """A plain-text table: one row per notebook, then the totals."""
        rows = [("notebook", "status", "seconds", "worst", "error findings / failure")]
        for run in self.runs:
            detail = "; ".join(filter(None, [run.error, ", ".join(run.error_codes)])) or "-"
            rows.append((run.name, run.status, f"{run.seconds:.1f}", run.worst, detail))
        lines = text_table(rows, right=[2])
        count = {status: sum(run.status is status for run in self.runs) for status in RunStatus}
        lines.append(
            f"{len(self.runs)} notebooks: {count[RunStatus.OK]} ok, "
            f"{count[RunStatus.FINDINGS]} with error findings, {count[RunStatus.FAILED]} failed "
            f"in {self.seconds:.1f} s"
        )
        return "\n".join(lines)


def run_notebooks(
    notebooks: list[Path],
    out_dir: Path,
    *,
    parameters: dict[str, Any] | None = None,
    variants: Mapping[str, Mapping[str, dict[str, Any]]] | None = None,
    env: Mapping[str, str] | None = None,
    kernel_name: str = "python3",
    execution_timeout: int = 600,
    progress: Progress | None = None,
) -> RunSummary:
    """Execute each notebook headless; one failing never stops the others.

    ``parameters`` are injected into every notebook; a secret-looking parameter must hold the
    *name* of an environment variable (``client_secret_env="AZURE_CLIENT_SECRET"``), never a
    value. ``env`` is set in ``os.environ`` for the run (the kernels inherit it) and restored
    afterwards. ``progress(name, None)`` is called as a notebook starts and
    ``progress(name, run)`` when it ends. ``variants`` ({notebook stem: {suffix: extra
    parameters}}) runs a notebook again after the others, once per suffix, into
    ``<stem>-<suffix>.ipynb``. Writes ``out_dir/summary.json``.
    """
    extra = [p for by_suffix in (variants or {}).values() for p in by_suffix.values()]
    bad = [name for p in [parameters or {}, *extra] for name in secret_valued_parameters(p)]
    if bad:
        raise ValueError(
            f"parameters {', '.join(bad)} look like secrets: pass the name of an environment "
            "variable that holds the value, never the value (papermill writes parameters "
            "into the output notebook)"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started, clock = datetime.now(UTC), time.perf_counter()
    runs = []
    jobs = [(Path(nb), Path(nb).stem, parameters) for nb in notebooks]
    jobs += [
        (Path(nb), f"{Path(nb).stem}-{suffix}", {**(parameters or {}), **more})
        for nb in notebooks
        for suffix, more in (variants or {}).get(Path(nb).stem, {}).items()
    ]
    with scoped_environ(env or {}):
        for notebook, name, params in jobs:
            if progress:
                progress(name, None)
            run = run_one(notebook, out_dir, params, kernel_name, execution_timeout, name)
            runs.append(run)
            if progress:
                progress(run.name, run)
    summary = RunSummary(
        out_dir, runs, started.isoformat(timespec="seconds"), time.perf_counter() - clock
    )
    summary.write()
    return summary


def run_one(
    notebook: Path,
    out_dir: Path,
    parameters: dict[str, Any] | None,
    kernel_name: str,
    execution_timeout: int,
    name: str | None = None,
) -> NotebookRun:
    """Execute one notebook into ``out_dir/<name>.ipynb`` (+ .html); retry a failed start."""
    from jupyter_client.kernelspec import NoSuchKernel

    name = name or notebook.stem
    output = out_dir / f"{name}.ipynb"
    clock = time.perf_counter()
    attempts, error = 1, _execute(notebook, output, parameters, kernel_name, execution_timeout)
    # A kernel launch can lose a race for its ports (papermill#511): retry that once.
    if error and not isinstance(error, NoSuchKernel) and not _any_cell_started(output):
        attempts, error = 2, _execute(notebook, output, parameters, kernel_name, execution_timeout)
    seconds = time.perf_counter() - clock

    nb = _read_clean(output) if output.exists() else None
    run = NotebookRun(name, notebook, RunStatus.OK, seconds, attempts=attempts)
    if nb is not None:
        run.output, run.html = output, out_dir / f"{name}.html"
        run.html.write_text(_html(nb), encoding="utf-8")
        run.results = collect_results(nb)
    if error is not None:
        run.status, run.error = RunStatus.FAILED, _describe(error, nb, execution_timeout)
    elif run.error_codes:
        run.status = RunStatus.FINDINGS
    return run


def _execute(
    notebook: Path,
    output: Path,
    parameters: dict[str, Any] | None,
    kernel_name: str,
    execution_timeout: int,
) -> Exception | None:
    """papermill, headless; returns what went wrong instead of raising it."""
    import papermill as pm

    try:
        pm.execute_notebook(
            notebook,
            output,
            parameters=parameters,
            engine_name=register_engine(),
            kernel_name=kernel_name,
            execution_timeout=execution_timeout,
            progress_bar=False,
            log_output=False,
            cwd=notebook.resolve().parent,
            # passed on to nbclient.NotebookClient:
            store_widget_state=False,
            interrupt_on_timeout=True,  # the timed-out cell ends with an error, recorded
            extra_arguments=KERNEL_ARGUMENTS,
        )
    except Exception as err:  # noqa: BLE001 - recorded; the next notebook still runs
        return err
    return None


def _any_cell_started(output: Path) -> bool:
    import nbformat

    if not output.exists():
        return False
    nb = nbformat.read(output, as_version=4)
    return any(c.metadata.get("papermill", {}).get("start_time") for c in nb.cells)


def _read_clean(output: Path) -> nbformat.NotebookNode:
    """The executed notebook, without widget state an input notebook may have carried."""
    import nbformat

    nb = nbformat.read(output, as_version=4)
    if nb.metadata.pop("widgets", None) is not None:
        nbformat.write(nb, output)
    return nb


def _html(nb: nbformat.NotebookNode) -> str:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    return body


def _describe(error: Exception, nb: nbformat.NotebookNode | None, timeout: int) -> str:
    """One line: what ended the notebook (never its parameters)."""
    from papermill.exceptions import PapermillExecutionError

    if not isinstance(error, PapermillExecutionError):
        return _first_line(f"{type(error).__name__}: {error}")
    durations = [
        c.metadata.papermill.get("duration") or 0
        for c in (nb.cells if nb is not None else [])
        if c.metadata.get("papermill", {}).get("exception")
    ]
    where = f"cell In [{error.exec_count}]"
    if error.ename == "KeyboardInterrupt" and max(durations, default=0) >= timeout:
        return f"{where} ran longer than {timeout} s and was interrupted"
    return _first_line(f"{error.ename}: {error.evalue}".rstrip(": ") + f" ({where})")


def _first_line(text: str, limit: int = 200) -> str:
    line = (text.strip().splitlines() or [""])[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"


# -- make demo --------------------------------------------------------------------------------
def demo_notebooks(directory: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The runbook's notebooks, in order: notebooks/0*.ipynb."""
    return sorted(Path(directory).glob("0*.ipynb"))


def run_demo_notebooks(
    out_root: Path = Path("reports"),
    *,
    notebooks: list[Path] | None = None,
    echo: Callable[[str], None],
    inspect_sandbox: Callable[[Sandbox], None] | None = None,
) -> int:
    """``make demo``: every notebook headless against a sandbox started in this process.

    Writes ``out_root/<UTC timestamp>/`` (executed notebooks, HTML, summary.json), prints a
    line per notebook, the summary table and the report path. Returns 0 when every notebook
    ran to the end without an error-level finding, else 1. ``inspect_sandbox(sandbox)`` is
    called after the run, before the sandbox stops (the leak test reads its secrets there).
    """

    notebooks = demo_notebooks() if notebooks is None else notebooks
    if not notebooks:
        echo(f"no notebooks to run (looked for {NOTEBOOKS_DIR}/0*.ipynb)")
        return 1
    out_dir = Path(out_root) / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    with (
        tempfile.TemporaryDirectory(prefix="akv-demo-sandbox-") as state_dir,
        Sandbox(state_dir=state_dir, ephemeral=True) as sandbox,
    ):
        echo(
            f"Sandbox on 127.0.0.1:{sandbox.port}; running {len(notebooks)} notebooks "
            f"headless (papermill) into {out_dir}"
        )
        # The notebooks' runbook.connect() reuses this sandbox instead of starting its own.
        env = {SANDBOX_PORT_VAR: str(sandbox.port), SANDBOX_STATE_VAR: state_dir}
        summary = run_notebooks(
            notebooks,
            out_dir,
            parameters={"fail_on_error": False},  # every step runs; findings, not failures
            variants={RETRIEVAL: CREDENTIAL_RUNS},
            env=env,
            progress=_echo_progress(echo),
        )
        if inspect_sandbox:
            inspect_sandbox(sandbox)
    echo("")
    echo(summary.table())
    lines = retrieval_by_credential(summary)
    if lines:
        echo("\nThe retrieval notebook, once per credential kind:")
        for line in lines:
            echo(f"  {line}")
    echo(f"\nReport: {out_dir}  (executed notebooks, HTML, summary.json)")
    return 0 if summary.ok else 1


def retrieval_by_credential(summary: RunSummary) -> list[str]:
    """One line per run of the retrieval notebook: its credential kind, how it ended and
    what each layer (SDK, backend, Variable.get, the DAG) reported."""
    kinds = {RETRIEVAL: "client-secret"}
    kinds.update({f"{RETRIEVAL}-{kind}": kind for kind in CREDENTIAL_RUNS})
    lines = []
    for run in summary.runs:
        if run.name not in kinds:
            continue
        steps = {p.get("step"): p for p in run.results}
        layers = []
        for step in ("sdk", "backend", "variable-get", "dag-test"):
            payload = steps.get(step)
            if payload is None:
                continue
            codes = [f["code"] for f in payload.get("findings", ())]
            verdict = "ok" if payload.get("ok") else "error"
            if codes == [SKIPPED.code]:
                layers.append(f"{step} skipped")
                continue
            layers.append(f"{step} {verdict} ({', '.join(dict.fromkeys(codes)) or '-'})")
        detail = "; ".join(layers) or run.error or "no results"
        lines.append(f"{kinds[run.name]:<18} {run.status.value:<8} {detail}")
    return lines


def _echo_progress(echo: Callable[[str], None]) -> Progress:
    def progress(name: str, run: NotebookRun | None) -> None:
        if run is None:
            echo(f"  {name} ...")
        else:
            codes = f" ({', '.join(run.error_codes)})" if run.error_codes else ""
            echo(f"  {name}: {run.status.value}{codes} in {run.seconds:.1f} s")

    return progress
