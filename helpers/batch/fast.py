"""Checking many environments at once: the fast path, and the reports both paths share.

:func:`check_inventory` is ``akv-runbook check --inventory FILE``: every environment of an
inventory probed from this one process, ``concurrency`` at a time, each bounded by its own
timeout, with one credential (and so one sign-in) per identity. A slow or broken
environment never holds up the others beyond its timeout: a worker that overruns is
abandoned (it is a daemon thread) and replaced.

:class:`BatchResult` is what both paths produce (the audit path, :mod:`helpers.batch.audit`,
collects the same findings from executed notebooks): a summary table, and a report
directory with ``report.html``, ``report.json`` and ``junit.xml`` (one test suite per
environment, one test case per check).
"""

from __future__ import annotations

import functools
import html
import json
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from helpers.batch.inventory import (
    EnvironmentSpec,
    Inventory,
    environment_from_mapping,
    load_inventory,
)
from helpers.common.logs import quiet_sdk_logs
from helpers.findings import (
    Finding,
    FindingSpec,
    Severity,
    catalogue,
    has_errors,
    render_html,
    text_table,
    to_junit,
    worst,
)
from helpers.findings.codes.batch import (
    ENV_TIMED_OUT,
    NOT_CHECKED_LIVE,
)
from helpers.findings.codes.inv import ENV_NOT_IN_INVENTORY
from helpers.findings.codes.svc import UNEXPECTED
from helpers.probe import load_backend_class, probe
from helpers.vault import CredentialPool

__all__ = [
    "DEFAULT_CONCURRENCY",
    "MAX_REQUEST_TIMEOUT",
    "BatchResult",
    "EnvironmentResult",
    "Progress",
    "Status",
    "check_environment",
    "check_inventory",
    "finding_from_dict",
    "offline_result",
]

DEFAULT_CONCURRENCY = 8
MAX_REQUEST_TIMEOUT = 10.0  # seconds per HTTP request inside one environment's check


class Status:
    OK = "ok"  # no error-level finding
    FINDINGS = "findings"  # at least one error-level finding
    TIMEOUT = "timeout"  # did not finish in time (an error finding says so)
    FAILED = "failed"  # audit path: the notebook did not run to the end


@dataclass
class EnvironmentResult:
    name: str
    vault_url: str = ""
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0
    status: str = Status.OK
    notebook: str | None = None  # audit path: the executed notebook, relative to the report
    html: str | None = None
    attempts: int = 1

    @property
    def worst(self) -> Severity:
        return worst(self.findings)

    @property
    def error_codes(self) -> list[str]:
        return list(dict.fromkeys(f.code for f in self.findings if f.severity is Severity.ERROR))

    def settle(self) -> EnvironmentResult:
        if self.status == Status.OK and has_errors(self.findings):
            self.status = Status.FINDINGS
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "vault_url": self.vault_url,
            "status": self.status,
            "worst": self.worst.value,
            "error_codes": self.error_codes,
            "seconds": round(self.seconds, 3),
            "attempts": self.attempts,
            "notebook": self.notebook,
            "html": self.html,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass
class BatchResult:
    inventory: str
    mode: str  # "fast" or "notebooks"
    results: list[EnvironmentResult] = field(default_factory=list)
    inventory_findings: list[Finding] = field(default_factory=list)
    started: str = ""
    seconds: float = 0.0
    identities: int = 0  # distinct credentials used (fast path)
    concurrency: int = 0

    @property
    def exit_code(self) -> int:
        """0 all clean; 1 an error finding anywhere; 2 the inventory itself is unusable."""
        if not self.results and has_errors(self.inventory_findings):
            return 2
        if has_errors(self.inventory_findings) or any(r.status != Status.OK for r in self.results):
            return 1
        return 0

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in (Status.OK, Status.FINDINGS, Status.TIMEOUT, Status.FAILED)}
        for r in self.results:
            out[r.status] += 1
        return out

    def totals_line(self) -> str:
        c = self.counts()
        rate = len(self.results) / self.seconds * 60 if self.seconds else 0.0
        n = len(self.results)
        line = (
            f"{n} environment{'s' * (n != 1)}: {c[Status.OK]} ok, {c[Status.FINDINGS]} with "
            f"error findings, {c[Status.TIMEOUT]} timed out"
        )
        if self.mode == "notebooks":
            line += f", {c[Status.FAILED]} notebooks failed"
        line += f" in {self.seconds:.1f} s ({rate:.0f} environments/min)"
        if self.identities:
            line += f"; {self.identities} identities, each signed in once"
        return line

    def table(self) -> str:
        """Plain text: one row per environment, then the totals."""
        rows = [("environment", "status", "worst", "seconds", "error findings")]
        for r in self.results:
            rows.append(
                (r.name, r.status, r.worst.value, f"{r.seconds:.2f}", ", ".join(r.error_codes))
            )
        lines = text_table(rows, right=[3])
        lines += [f"inventory: {f.code} [{f.subject}] {f.detail}" for f in self.inventory_findings]
        lines.append(self.totals_line())
        return "\n".join(lines)

    # -- reports -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "inventory": self.inventory,
            "mode": self.mode,
            "started": self.started,
            "seconds": round(self.seconds, 3),
            "concurrency": self.concurrency,
            "identities": self.identities,
            "exit_code": self.exit_code,
            "counts": self.counts(),
            "inventory_findings": [f.to_dict() for f in self.inventory_findings],
            "environments": [r.to_dict() for r in self.results],
        }

    def to_junit(self) -> str:
        suites: dict[str, Sequence[Finding]] = {}
        if self.inventory_findings:
            suites["inventory"] = self.inventory_findings
        suites.update({r.name: r.findings for r in self.results})
        return to_junit(suites, name=f"akv-runbook {self.mode} check")

    def to_html(self) -> str:
        esc = html.escape
        rows = []
        for r in self.results:
            link = f' (<a href="{esc(r.html)}">notebook</a>)' if r.html else ""
            rows.append(
                f'<tr class="{esc(r.status)}"><td><a href="#env-{esc(r.name)}">{esc(r.name)}</a>'
                f"{link}</td><td>{esc(r.status)}</td><td>{esc(r.worst.value)}</td>"
                f"<td>{r.seconds:.2f}</td><td>{esc(', '.join(r.error_codes))}</td></tr>"
            )
        sections = [
            f'<section id="env-{esc(r.name)}">'
            + render_html(r.findings, title=f"{r.name}: {r.vault_url or '(no vault URL)'}")
            + "</section>"
            for r in self.results
        ]
        inventory = (
            render_html(self.inventory_findings, title="The inventory file")
            if self.inventory_findings
            else ""
        )
        return _PAGE.format(
            title=esc(f"akv-runbook: {Path(self.inventory).name}"),
            summary=esc(self.totals_line()),
            mode=esc(self.mode),
            started=esc(self.started),
            rows="\n".join(rows),
            inventory=inventory,
            sections="\n".join(sections),
        )

    def write(self, report_dir: str | Path) -> dict[str, Path]:
        out = Path(report_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {
            "html": out / "report.html",
            "json": out / "report.json",
            "junit": out / "junit.xml",
        }
        paths["html"].write_text(self.to_html(), encoding="utf-8")
        paths["json"].write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        paths["junit"].write_text(self.to_junit(), encoding="utf-8")
        return paths


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; max-width: 70em; }}
table.summary {{ border-collapse: collapse; }}
table.summary td, table.summary th {{ border: 1px solid #ccc; padding: 2px 8px; }}
tr.findings td, tr.timeout td, tr.failed td {{ background: #fde8e8; }}
section {{ margin-top: 1.5em; }}
</style></head><body>
<h1>{title}</h1>
<p>{summary}</p>
<p>mode: {mode}; started {started} (UTC)</p>
{inventory}
<table class="summary"><thead><tr><th>environment</th><th>status</th><th>worst</th>
<th>seconds</th><th>error findings</th></tr></thead>
<tbody>
{rows}
</tbody></table>
{sections}
</body></html>
"""


def finding_from_dict(payload: dict[str, Any]) -> Finding:
    """A finding read back from JSON (an executed notebook's output, a report)."""
    spec = catalogue().get(str(payload.get("code", "")))
    if spec is None:  # written by another version of the catalogue: keep what it said
        spec = FindingSpec(
            str(payload.get("code", "")),
            Severity(payload.get("severity", "error")),
            str(payload.get("title", "")),
            str(payload.get("explanation", "")),
            str(payload.get("fix", "")),
        )
    return Finding(
        spec,
        subject=str(payload.get("subject", "")),
        detail=str(payload.get("detail", "")),
        data=dict(payload.get("data") or {}),
    )


def offline_result(spec: EnvironmentSpec) -> EnvironmentResult | None:
    """The result of an environment whose settings are broken (no live check), else None."""
    if spec.checkable:
        return None
    findings = [
        *spec.findings,
        NOT_CHECKED_LIVE("environment", "fix the errors above; nothing was sent to Azure"),
    ]
    return EnvironmentResult(spec.name, spec.settings.vault_url, findings).settle()


# -- the fast path -----------------------------------------------------------------------------
Progress = Callable[[EnvironmentResult], None]


def check_inventory(
    inventory: Inventory,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
    env_timeout: float | None = None,
    request_timeout: float = MAX_REQUEST_TIMEOUT,
) -> BatchResult:
    """Probe every environment of ``inventory`` from this process; never raises.

    The process environment (proxy, CA bundle, the variables named by each environment's
    ``client_secret_env``) is used as it is. ``env_timeout`` overrides each environment's
    own ``timeout``; ``request_timeout`` bounds each HTTP request within it. ``progress`` is
    called with each finished result (the CLI draws its progress bar with it).
    """
    quiet_sdk_logs()
    started, clock = datetime.now(UTC), time.perf_counter()
    batch = BatchResult(
        inventory.source,
        "fast",
        inventory_findings=list(inventory.findings),
        started=started.isoformat(timespec="seconds"),
        concurrency=max(1, int(concurrency)),
    )
    specs = inventory.environments
    if any(s.through_backend and s.checkable for s in specs):
        load_backend_class()  # import Airflow once, here, not racing in the workers
    pool = CredentialPool()
    by_name: dict[str, EnvironmentResult] = {}
    check = functools.partial(_check_one, pool=pool, request_timeout=request_timeout)
    for result in _run_bounded(specs, check, batch.concurrency, env_timeout):
        by_name[result.name] = result
        if progress is not None:
            progress(result)
    batch.results = [by_name[s.name] for s in specs]
    batch.identities = len(pool)
    batch.seconds = time.perf_counter() - clock
    return batch


def check_environment(
    inventory: str | Path | None, env_name: str, *, default: dict[str, Any] | None = None
) -> EnvironmentResult:
    """One environment of an inventory file (the check notebook's cell); never raises.

    Without an inventory, ``default`` (a settings mapping) is the environment checked.
    """

    if not inventory:
        return _check_one(environment_from_mapping(default or {"name": env_name}))
    inv = load_inventory(inventory)
    spec = inv.environment(env_name)
    if spec is None:
        names = ", ".join(e.name for e in inv.environments[:10]) or "none"
        more = ", ..." if len(inv.environments) > 10 else ""
        detail = f"{env_name!r} is not in {inventory} (environments: {names}{more})"
        missing = [] if not inv.usable else [ENV_NOT_IN_INVENTORY("env_name", detail)]
        return EnvironmentResult(env_name or "environment", "", [*inv.findings, *missing]).settle()
    result = _check_one(spec)
    result.findings[:0] = inv.findings
    return result.settle()


def _check_one(
    spec: EnvironmentSpec, pool: Any = None, request_timeout: float = MAX_REQUEST_TIMEOUT
) -> EnvironmentResult:
    offline = offline_result(spec)
    if offline is not None:
        return offline
    clock = time.perf_counter()
    result = probe(
        spec.settings,
        through_backend=spec.through_backend,
        timeout=min(request_timeout, spec.timeout),
        subscription_id=spec.subscription_id or None,
        credentials=pool,
    )
    return EnvironmentResult(
        spec.name,
        spec.settings.vault_url,
        [*spec.findings, *result.findings],
        time.perf_counter() - clock,
    ).settle()


def _run_bounded(
    specs: Sequence[EnvironmentSpec],
    check: Callable[[EnvironmentSpec], EnvironmentResult],
    concurrency: int,
    env_timeout: float | None,
) -> Iterable[EnvironmentResult]:
    """Yield each environment's result as it finishes; overrunning workers are abandoned."""
    todo: queue.SimpleQueue[EnvironmentSpec | None] = queue.SimpleQueue()
    done: queue.SimpleQueue[tuple[str, str, Any]] = queue.SimpleQueue()
    for spec in specs:
        todo.put(spec)

    def worker() -> None:
        while (spec := todo.get()) is not None:
            done.put(("start", spec.name, time.monotonic()))
            try:
                result = check(spec)
            except BaseException as err:  # noqa: BLE001 - a bug here must not lose the batch
                result = EnvironmentResult(
                    spec.name, spec.settings.vault_url, [UNEXPECTED("check", type(err).__name__)]
                ).settle()
            done.put(("done", spec.name, result))

    def spawn() -> None:
        threading.Thread(target=worker, name="akv-check", daemon=True).start()

    workers = min(concurrency, len(specs))
    for _ in range(workers):
        spawn()
    limits = {s.name: env_timeout or s.timeout for s in specs}
    urls = {s.name: s.settings.vault_url for s in specs}
    running: dict[str, float] = {}  # name -> deadline
    finished: set[str] = set()
    while len(finished) < len(specs):
        wait = min(running.values(), default=time.monotonic() + 1.0) - time.monotonic()
        try:
            event, name, value = done.get(timeout=max(0.01, wait))
        except queue.Empty:
            event = ""
        if event == "start":
            running[name] = value + limits[name]
        elif event == "done" and name not in finished:
            running.pop(name, None)
            finished.add(name)
            yield value
        now = time.monotonic()
        for name, deadline in list(running.items()):
            if deadline <= now:
                del running[name]
                finished.add(name)
                spawn()  # keep the concurrency: the overrunning thread is left behind
                yield EnvironmentResult(
                    name,
                    urls[name],
                    [ENV_TIMED_OUT("environment", f"no result after {limits[name]:g} s")],
                    limits[name],
                    Status.TIMEOUT,
                )
    for _ in range(workers + len(specs)):
        todo.put(None)
