"""``akv-runbook cost``: run real Airflow over a DAG folder against a private sandbox and
count, from the sandbox's request log, what parsing and tasks ask of Key Vault.

The measurement, in order:

1. A scratch AIRFLOW_HOME (a copy of a migrated sqlite database kept per Airflow version in
   the runbook's state directory, so only the first run pays for ``airflow db migrate``) and
   an ephemeral sandbox in this process.
2. The deployment's configuration as given (the settings' prefixes, ``use_cache`` and
   ``cache_ttl_seconds``; Airflow's defaults otherwise), in a measuring process
   (:mod:`helpers.cost.driver`): the sandbox is seeded with a placeholder for every secret
   the files name literally; each file is parsed until no new secret is missing (seeding
   each one it reveals), then ``repeats`` times measured; then the sample tasks run.
3. The recommended configuration (``use_cache`` on, the TTL kept or 900 s) in a fresh
   measuring process, as a restarted DAG processor: the same files and the same tasks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from helpers.backend_config.dags import dag_files, dag_lookups
from helpers.backend_config.names import is_valid_name, secret_name
from helpers.backend_config.scratch_airflow import ScratchAirflow
from helpers.common.facts import BACKEND_CLASS
from helpers.common.paths import state_home
from helpers.common.redact import scrub_text
from helpers.common.textio import printable
from helpers.sandbox.runtime import CREDENTIAL_VARS, Sandbox
from helpers.settings import Settings

from .driver import PLACEHOLDERS
from .report import (
    CONFIGS,
    Config,
    CostReport,
    FileCost,
    Forecast,
    TaskCost,
    advice_for,
    count,
    steady_per_parse,
)

__all__ = [
    "DEFAULT_TTL",
    "CostRequest",
    "might_contain_dag",
    "measure_cost",
]

DEFAULT_TTL = 900  # Airflow's [secrets] cache_ttl_seconds default
Progress = Callable[[str, int, int], None]  # (step, done, total)


@dataclass
class CostRequest:
    dags: Path
    settings: Settings | None = None
    forecast: Forecast = Forecast()
    task_samples: int = 1  # files whose first task runs as a sample (0: parsing only)
    repeats: int = 2  # measured parses per file and configuration (the first is cold)
    timeout: float = 120.0  # per parse
    task_timeout: float = 300.0  # per sample task run


def might_contain_dag(path: Path) -> bool:
    """Airflow's default safe-mode heuristic: a file is parsed only if it mentions both
    "airflow" and "dag" (in any case)."""
    try:
        content = path.read_bytes().lower()
    except OSError:
        return True  # Airflow tries it, and reports the import error
    return b"airflow" in content and b"dag" in content


def _configs(settings: Settings | None) -> dict[str, Config]:
    use_cache = bool(settings and settings.use_cache)
    ttl = getattr(settings, "cache_ttl_seconds", None) or DEFAULT_TTL
    return {
        "default": Config(use_cache, int(ttl)),
        "recommended": Config(True, int(ttl) if use_cache else DEFAULT_TTL),
    }


def _kwargs(settings: Settings | None, vault_url: str) -> dict[str, Any]:
    s = settings or Settings()
    return {
        "vault_url": vault_url,
        "variables_prefix": s.variables_prefix,
        "connections_prefix": s.connections_prefix,
        "config_prefix": s.config_prefix,
        "sep": s.sep or "-",
    }


def _template_db(env: dict[str, str]) -> Path:
    """A migrated sqlite database for this Airflow version, made once and copied per run.
    OSError (an unwritable state directory) or RuntimeError (the migration failed)."""
    folder = state_home() / "cost"
    db = folder / f"airflow-{version('apache-airflow')}.db"
    if db.exists():
        return db
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        scratch = ScratchAirflow.create(Path(tmp), {}, base_env=env)
        try:
            done = scratch.airflow("db", "migrate", timeout=600)
        except subprocess.TimeoutExpired:
            raise RuntimeError("airflow db migrate did not finish within 600 s") from None
        if done.returncode != 0:
            lines = (done.stderr or done.stdout or "").strip().splitlines()
            last = printable(lines[-1][:300]) if lines else f"exit status {done.returncode}"
            raise RuntimeError(f"airflow db migrate failed in a scratch home: {last}")
        os.replace(Path(tmp) / "airflow.db", db)  # atomic: a concurrent run sees all or none
    return db


def _base_environment(sandbox: Sandbox) -> dict[str, str]:
    """This process's environment without any Airflow configuration or Azure identity of
    the caller's, plus the sandbox's proxy, CA bundle and principal."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW__", "AIRFLOW_VAR_", "AIRFLOW_CONN_"))
        and k not in CREDENTIAL_VARS
    }
    env.update(sandbox.environment())
    env["AZURE_HTTP_LOGGING_LEVEL"] = "WARNING"
    # Importing Airflow compiles ~1,500 modules: keep their bytecode in the runbook's state
    # directory (never beside the user's sources) even where PYTHONDONTWRITEBYTECODE is set.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(state_home() / "cost" / "pycache")
    return env


def measure_cost(request: CostRequest, *, progress: Progress | None = None) -> CostReport:
    """Measure; the report's ``findings`` are judged already."""
    folder = Path(request.dags).resolve()
    configs = _configs(request.settings)
    report = CostReport(str(folder), request.forecast, configs)
    files = [p for p in dag_files(folder) if might_contain_dag(p)] if folder.is_dir() else []
    rel_files = [p.relative_to(folder).as_posix() for p in files]
    if not rel_files:
        report.judge()
        return report
    lookups = dag_lookups(folder)
    lines = _lookup_lines(lookups)
    # Steps: every file parsed, then every sample task run, per configuration.
    total = len(CONFIGS) * (len(rel_files) + min(request.task_samples, len(rel_files)))
    tell = progress or (lambda step, done, total: None)
    count_done = 0
    with tempfile.TemporaryDirectory(prefix="akv-cost-") as work:
        work_dir = Path(work)
        tell("starting the sandbox and Airflow", 0, total)
        sandbox = Sandbox(state_dir=work_dir / "sandbox", ephemeral=True).start()
        results: dict[str, dict[str, Any]] = {}
        try:
            env = _base_environment(sandbox)
            try:
                template = _template_db(env)
            except (OSError, RuntimeError) as err:
                report.problems.append(f"Airflow could not be set up: {printable(str(err))}")
                template = None  # the files are listed, none of them measured
            vault = f"https://{sandbox.state.scenario.default_vault}.vault.azure.net/"
            kwargs = _kwargs(request.settings, vault)
            sandbox.client.seed(_known_names(lookups, kwargs))
            samples: list[dict[str, str]] | None = None
            for config in CONFIGS if template else ():
                label = f"{config} configuration"
                tell(label, count_done, total)

                def step(label: str = label) -> None:
                    nonlocal count_done
                    count_done = min(total, count_done + 1)
                    tell(label, count_done, total)

                result = _run_driver(
                    work_dir / config,
                    template,
                    env,
                    folder,
                    configs[config],
                    kwargs,
                    request,
                    rel_files,
                    sandbox,
                    discover=config == "default",
                    samples=samples,
                    problems=report.problems,
                    on_step=step,
                )
                results[config] = result
                samples = [
                    {k: t[k] for k in ("file", "dag_id", "task_id")} for t in result["tasks"]
                ]
            tell("done", total, total)
            # Parse errors and the measuring processes' last lines are the user's code and
            # Airflow talking: keep the sandbox's client secrets and stored values out of them.
            sensitive = [*sandbox.secret_values(), env.get("AZURE_CLIENT_SECRET")]
        finally:
            sandbox.stop()
    _fill(report, results, rel_files, lines)
    for f in report.files:
        f.error = scrub_text(f.error, sensitive)
    report.problems = [scrub_text(p, sensitive) for p in report.problems]
    report.judge()
    return report


def _run_driver(
    home: Path,
    template: Path,
    env: dict[str, str],
    folder: Path,
    config: Config,
    kwargs: dict[str, Any],
    request: CostRequest,
    files: list[str],
    sandbox: Sandbox,
    *,
    discover: bool,
    samples: list[dict[str, str]] | None,
    problems: list[str],
    on_step: Callable[[], None],
) -> dict[str, Any]:
    home.mkdir(parents=True)
    shutil.copyfile(template, home / "airflow.db")
    overrides = {
        "AIRFLOW__SECRETS__BACKEND": BACKEND_CLASS,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(kwargs),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        **config.environment(),
    }
    scratch = ScratchAirflow.create(home, overrides, base_env=env, dags_folder=folder)
    result_path, request_path, log = home / "result.json", home / "request.json", home / "log"
    body = {
        "files": files,
        "bundle_path": str(folder),
        "repeats": max(1, request.repeats),
        "discover": discover,
        "prefixes": {
            "variables": kwargs["variables_prefix"],
            "connections": kwargs["connections_prefix"],
            "sep": kwargs["sep"],
        },
        "sandbox": {"port": sandbox.port, "token": sandbox.state.control_token},
        "timeout": request.timeout,
        "task_timeout": request.task_timeout,
        "result": str(result_path),
        "log": str(log),
        "progress": str(home / "progress"),
    }
    if samples is None:
        body["task_samples"] = max(0, request.task_samples)
    else:
        body["tasks"] = samples
    request_path.write_text(json.dumps(body))
    request_path.chmod(0o600)
    budget = (
        120
        + len(files) * (body["repeats"] + int(discover)) * request.timeout
        + max(len(samples or []), request.task_samples) * request.task_timeout
    )
    failed, tail = _follow(scratch, request_path, budget, on_step)
    if failed:
        why = printable(tail[:300]) if tail else "no output"
        problems.append(f"the {_config_name(config)} measuring process failed: {why}")
        return {"files": [], "tasks": [], "dropped": 0}
    result = json.loads(result_path.read_text())
    if result.get("dropped"):
        problems.append(
            f"the sandbox's request log lost {result['dropped']} record(s) before they were counted"
        )
    return result


def _follow(
    scratch: ScratchAirflow, request_path: Path, budget: float, on_step: Callable[[], None]
) -> tuple[bool, str]:
    """Run the measuring process, reporting each step it finishes (a line it appends to its
    progress file); (failed, the last line of its output when it failed)."""
    home = scratch.home
    seen = 0
    with (home / "driver.out").open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
            [sys.executable, "-m", "helpers.cost.driver", str(request_path)],
            env=scratch.env,
            cwd=home,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + budget
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.3)
            seen = _steps(home / "progress", seen, on_step)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            return True, f"did not finish within {budget:g} s"
    _steps(home / "progress", seen, on_step)
    if proc.returncode == 0 and (home / "result.json").exists():
        return False, ""
    lines = (home / "driver.out").read_text(errors="replace").strip().splitlines()
    return True, lines[-1] if lines else f"exit status {proc.returncode}"


def _steps(path: Path, seen: int, on_step: Callable[[], None]) -> int:
    try:
        done = path.read_text().count("\n")
    except OSError:
        return seen
    for _ in range(done - seen):
        on_step()
    return max(seen, done)


def _config_name(config: Config) -> str:
    return f"use_cache={config.use_cache}, cache_ttl_seconds={config.cache_ttl_seconds}"


def _lookup_lines(lookups: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Lines of the parse-time lookups in each file's text (for the advice)."""
    lines: dict[str, set[int]] = {}
    for x in lookups:
        if x["parse_time"]:
            lines.setdefault(str(x["file"]), set()).add(int(x["line"]))
    return {k: sorted(v) for k, v in lines.items()}


def _known_names(lookups: list[dict[str, Any]], kwargs: dict[str, Any]) -> dict[str, str]:
    """Placeholders for every secret a literal key in the files names (the naming rule of
    backend_config.names); what only a parse reveals is seeded by the measuring process."""
    seeds: dict[str, str] = {}
    for x in lookups:
        if not isinstance(x["key"], str):
            continue
        kind = "variables" if x["kind"] == "variable" else "connections"
        name = secret_name(kwargs[f"{kind}_prefix"], x["key"], kwargs["sep"])
        if name and is_valid_name(name):
            seeds[name] = PLACEHOLDERS["json" if x.get("json") else kind]
    return seeds


def _fill(
    report: CostReport,
    results: dict[str, dict[str, Any]],
    files: list[str],
    lines: dict[str, list[int]],
) -> None:
    interval = report.forecast.parse_interval
    by_config = {c: {f["file"]: f for f in results.get(c, {}).get("files", [])} for c in CONFIGS}

    for rel in files:
        cost = FileCost(rel, lookup_lines=lines.get(rel, []))
        for config in CONFIGS:
            entry = by_config[config].get(rel)
            if entry is None:
                continue
            parses = [count(p["records"]) for p in entry["parses"]]
            cost.parses[config] = parses
            cost.parse_seconds[config] = [p["seconds"] for p in entry["parses"]]
            cost.dags = entry["dags"] or cost.dags
            cost.seeded = cost.seeded or entry.get("seeded", [])
            cost.error = cost.error or next((p["error"] for p in entry["parses"] if p["error"]), "")
            cost.per_parse[config] = {
                what: steady_per_parse(parses, report.configs[config], interval, what)
                for what in ("vault_gets", "token_requests")
            }
        cost.advice = advice_for(cost)
        report.files.append(cost)
    tasks: dict[tuple[str, str, str], TaskCost] = {}
    for config in CONFIGS:
        for run in results.get(config, {}).get("tasks", []):
            key = (run["file"], run["dag_id"], run["task_id"])
            task = tasks.setdefault(key, TaskCost(*key))
            parses = next((f.parses.get("default") for f in report.files if f.file == key[0]), [])
            task.worker_parse = parses[0] if parses else None
            task.runs[config] = count(run["records"])
            task.states[config] = run["state"]
            task.seconds[config] = run["seconds"]
    report.tasks = list(tasks.values())
