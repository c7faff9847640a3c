"""Counting what a measurement cost, the forecast, and the findings (AKV-COST-*).

Counts come only from the sandbox's request log records the measuring process
(:mod:`helpers.cost.driver`) collected around each step; the one piece of arithmetic is the
steady state of a cached parse and the forecast, both spelled out where they are computed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from helpers.common.textio import printable
from helpers.findings import Finding
from helpers.findings.codes.cost import (
    COST_CACHE_NOT_FOR_TASKS,
    COST_FILE_NOT_PARSED,
    COST_MEASUREMENT_INCOMPLETE,
    COST_NEAR_LIMIT,
    COST_NO_DAG_FILES,
    COST_OVER_LIMIT,
    COST_PARSE_READS_VAULT,
    COST_SUMMARY,
)
from helpers.sandbox.requestlog import TOKEN_OPERATIONS

__all__ = [
    "CONFIGS",
    "GETS_PER_10S_LIMIT",
    "Config",
    "CostReport",
    "FileCost",
    "Forecast",
    "StepCount",
    "TaskCost",
    "advice_for",
    "count",
    "format_count",
    "steady_per_parse",
]

# Key Vault's service limit for secret GETs: 4,000 transactions per 10 s per vault.
GETS_PER_10S_LIMIT = 4000
CONFIGS = ("default", "recommended")


@dataclass(frozen=True)
class StepCount:
    """What one step (a parse of one file, a task run) asked of the sandbox."""

    vault_gets: int = 0  # secret GETs the vault answered with a token (any status but 401)
    challenges: int = 0  # 401 challenges: a new client's first, unauthenticated request
    token_requests: int = 0  # access tokens handed out (Entra, IMDS, App Service)
    other: int = 0  # everything else: discovery documents, ARM...
    names: tuple[str, ...] = ()  # the secret names read

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "names": list(self.names)}


def count(records: list[dict[str, Any]]) -> StepCount:
    """The one counting rule, over request-log records."""
    gets = challenges = tokens = other = 0
    names: set[str] = set()
    for r in records:
        if r["service"] == "keyvault" and r["operation"] == "get_secret":
            if r["status"] == 401:
                challenges += 1
            else:
                gets += 1
                names.add(r["name"])
        elif r["operation"] in TOKEN_OPERATIONS:
            tokens += 1
        else:
            other += 1
    return StepCount(gets, challenges, tokens, other, tuple(sorted(names)))


@dataclass(frozen=True)
class Config:
    """The [secrets] cache settings a measurement ran with."""

    use_cache: bool
    cache_ttl_seconds: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def environment(self) -> dict[str, str]:
        return {
            "AIRFLOW__SECRETS__USE_CACHE": str(self.use_cache),
            "AIRFLOW__SECRETS__CACHE_TTL_SECONDS": str(self.cache_ttl_seconds),
        }


def steady_per_parse(parses: list[StepCount], config: Config, interval: float, what: str):
    """The mean of ``what`` per parse over time. Without the cache every parse is alike: the
    mean of the measured parses. With it, one parse in every ``ttl / interval`` refetches (the
    first, measured cold) and the others are answered from the cache (measured warm)."""
    values = [getattr(p, what) for p in parses]
    if not values:
        return 0.0
    if not config.use_cache or len(values) < 2:
        return sum(values) / len(values)
    cold, warm = values[0], sum(values[1:]) / len(values[1:])
    per_ttl = max(1, math.floor(config.cache_ttl_seconds / max(interval, 1e-9)))
    return (cold + (per_ttl - 1) * warm) / per_ttl


@dataclass
class FileCost:
    file: str
    dags: dict[str, list[str]] = field(default_factory=dict)
    parses: dict[str, list[StepCount]] = field(default_factory=dict)  # config -> parses
    parse_seconds: dict[str, list[float]] = field(default_factory=dict)
    error: str = ""
    seeded: list[str] = field(default_factory=list)
    lookup_lines: list[int] = field(default_factory=list)  # top-level lookups found in the text
    per_parse: dict[str, dict[str, float]] = field(default_factory=dict)  # config -> what -> n
    advice: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "dags": self.dags,
            "error": self.error,
            "seeded_secrets": self.seeded,
            "top_level_lookup_lines": self.lookup_lines,
            "advice": self.advice,
            **{
                config: {
                    **{k: round(v, 4) for k, v in self.per_parse.get(config, {}).items()},
                    "parses": [p.to_json() for p in self.parses.get(config, [])],
                    "parse_seconds": self.parse_seconds.get(config, []),
                }
                for config in CONFIGS
            },
        }


@dataclass
class TaskCost:
    file: str
    dag_id: str
    task_id: str
    runs: dict[str, StepCount] = field(default_factory=dict)  # config -> the task run
    states: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    # A worker's task process parses the task's file before running it, in the same client
    # context as the DAG processor's parsing child and never with the cache: the file's
    # measured uncached parse.
    worker_parse: StepCount | None = None

    def on_worker(self, config: str, what: str = "vault_gets") -> int:
        """``what`` per task run on a worker: the parse of the file plus the task itself.
        Tokens: in one task process the parse and the task share the backend (Airflow 3.3.2
        builds it once per process), so the process signs in where it first reads — during
        the parse when the file reads at its top level, else in the task: the larger of the
        two measured counts, not their sum."""
        body = getattr(self.runs[config], what)
        if self.worker_parse is None:
            return body
        parse = getattr(self.worker_parse, what)
        return max(body, parse) if what == "token_requests" else body + parse

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "dag_id": self.dag_id,
            "task_id": self.task_id,
            "worker_parse": self.worker_parse.to_json() if self.worker_parse else None,
            **{
                config: {
                    **self.runs[config].to_json(),
                    "vault_gets_on_worker": self.on_worker(config),
                    "token_requests_on_worker": self.on_worker(config, "token_requests"),
                    "state": self.states.get(config, ""),
                    "seconds": self.seconds.get(config, 0.0),
                }
                for config in CONFIGS
                if config in self.runs
            },
        }


@dataclass(frozen=True)
class Forecast:
    """The deployment's numbers the forecast multiplies by."""

    parse_interval: float = 30.0  # [dag_processor] min_file_process_interval
    dag_processors: int = 1
    task_runs_per_hour: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CostReport:
    dags_folder: str
    forecast: Forecast
    configs: dict[str, Config]
    files: list[FileCost] = field(default_factory=list)
    tasks: list[TaskCost] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # steps that did not complete

    # -- totals ---------------------------------------------------------------------------
    def per_parse(self, config: str, what: str = "vault_gets") -> float:
        """``what`` per parse of the whole folder (every file once), steady state."""
        return sum(f.per_parse.get(config, {}).get(what, 0.0) for f in self.files)

    def task_gets(self, config: str, what: str = "vault_gets") -> float | None:
        """Mean ``what`` per task run on a worker over the sample tasks (None: none ran)."""
        runs = [t.on_worker(config, what) for t in self.tasks if config in t.runs]
        return sum(runs) / len(runs) if runs else None

    def gets_per_10s(self, config: str) -> float:
        """Forecast secret GETs per 10 s on the vault: every DAG processor parses every file
        once per parse interval, plus the task runs (at the sample tasks' mean)."""
        fc = self.forecast
        parsing = fc.dag_processors * self.per_parse(config) * 10 / max(fc.parse_interval, 1e-9)
        tasks = (fc.task_runs_per_hour / 360) * (self.task_gets(config) or 0.0)
        return parsing + tasks

    def to_json(self) -> dict[str, Any]:
        totals = {}
        for config in CONFIGS:
            totals[config] = {
                **self.configs[config].to_json(),
                "vault_gets_per_parse": round(self.per_parse(config), 4),
                "token_requests_per_parse": round(self.per_parse(config, "token_requests"), 4),
                "vault_gets_per_task_run": _round(self.task_gets(config)),
                "token_requests_per_task_run": _round(self.task_gets(config, "token_requests")),
                "forecast_gets_per_10s": round(self.gets_per_10s(config), 2),
            }
        return {
            "dags_folder": self.dags_folder,
            "limit_gets_per_10s": GETS_PER_10S_LIMIT,
            "forecast": self.forecast.to_json(),
            **totals,
            "files": [f.to_json() for f in self.files],
            "tasks": [t.to_json() for t in self.tasks],
            "problems": self.problems,
        }

    # -- what the CLI and notebook 05 show (rows of text; each front end formats them) ---------
    def file_rows(self) -> list[list[str]]:
        """A header, one row per DAG file, then the folder's total (steady state per parse)."""
        rows = [
            ["DAG file", "DAGs", "GETs/parse", "tokens/parse"]
            + ["recommended GETs/parse", "recommended tokens/parse"]
        ]
        for f in self.files:
            rows.append(
                [printable(f.file) + (" (did not parse)" if f.error else ""), str(len(f.dags))]
                + [
                    format_count(f.per_parse.get(c, {}).get(what))
                    for c in CONFIGS
                    for what in ("vault_gets", "token_requests")
                ]
            )
        rows.append(
            ["the folder (every file once)", str(sum(len(f.dags) for f in self.files))]
            + [
                format_count(self.per_parse(c, what))
                for c in CONFIGS
                for what in ("vault_gets", "token_requests")
            ]
        )
        return rows

    def task_rows(self) -> list[list[str]]:
        """A header and one row per sample task, as it costs on a worker (its file's parse,
        then the task)."""
        rows = [
            ["sample task", "file", "GETs per run on a worker", "of which its file's parse"]
            + ["recommended GETs per run", "tokens per run"]
        ]
        for t in self.tasks:
            ran = {c: c in t.runs for c in CONFIGS}
            rows.append(
                [
                    f"{printable(t.dag_id)}.{printable(t.task_id)}",
                    printable(t.file),
                    format_count(t.on_worker("default")) if ran["default"] else "-",
                    format_count(t.worker_parse.vault_gets) if t.worker_parse else "-",
                    format_count(t.on_worker("recommended")) if ran["recommended"] else "-",
                    format_count(t.on_worker("default", "token_requests"))
                    if ran["default"]
                    else "-",
                ]
            )
        return rows

    def forecast_text(self) -> str:
        fc = self.forecast
        return (
            f"Forecast per vault: {format_count(round(self.gets_per_10s('default'), 2))} GETs "
            f"per 10 s with the deployment's configuration, "
            f"{format_count(round(self.gets_per_10s('recommended'), 2))} with the recommended "
            f"one (Key Vault's limit: {GETS_PER_10S_LIMIT} per 10 s) — {len(self.files)} "
            f"file(s) parsed every {fc.parse_interval:g} s by {fc.dag_processors} DAG "
            f"processor(s), {fc.task_runs_per_hour:g} task run(s) per hour."
        )

    def configs_text(self) -> str:
        d, r = self.configs["default"], self.configs["recommended"]
        return (
            f"The deployment's configuration: use_cache={d.use_cache} (ttl "
            f"{d.cache_ttl_seconds} s); recommended: use_cache={r.use_cache} (ttl "
            f"{r.cache_ttl_seconds} s)."
        )

    # -- findings -------------------------------------------------------------------------
    def judge(self) -> list[Finding]:
        findings: list[Finding] = []
        if not self.files:
            findings.append(COST_NO_DAG_FILES(self.dags_folder, "no DAG file to parse"))
        for f in self.files:
            if f.error:
                findings.append(COST_FILE_NOT_PARSED(f.file, f.error, file=f.file))
            default = f.per_parse.get("default", {})
            gets = default.get("vault_gets", 0.0)
            if gets > 0:
                rec = f.per_parse.get("recommended", {}).get("vault_gets", 0.0)
                findings.append(
                    COST_PARSE_READS_VAULT(
                        f.file,
                        f"{format_count(gets)} vault GET(s) and "
                        f"{format_count(default.get('token_requests', 0))} token request(s) "
                        f"per parse; recommended: {format_count(rec)}. {f.advice}",
                        file=f.file,
                        vault_gets_per_parse=round(gets, 4),
                        recommended_vault_gets_per_parse=round(rec, 4),
                    )
                )
        for t in self.tasks:
            both = [t.runs.get(c) for c in CONFIGS]
            if all(both) and both[0].vault_gets and both[0].vault_gets == both[1].vault_gets:
                findings.append(
                    COST_CACHE_NOT_FOR_TASKS(
                        f"{t.dag_id}.{t.task_id}",
                        f"{both[0].vault_gets} vault GET(s) and {both[0].token_requests} token "
                        "request(s) per run, with the cache on or off",
                    )
                )
        for problem in self.problems:
            findings.append(COST_MEASUREMENT_INCOMPLETE("measurement", problem))
        if self.files:
            forecast = self._forecast_finding()
            if forecast.code != COST_SUMMARY.code or not self.problems:  # no "all clear"
                findings.append(forecast)  # from an incomplete measurement
        self.findings = findings
        return findings

    def _forecast_finding(self) -> Finding:
        now, rec = self.gets_per_10s("default"), self.gets_per_10s("recommended")
        fc = self.forecast
        detail = (
            f"{format_count(now)} GETs per 10 s forecast ({len(self.files)} file(s) every "
            f"{fc.parse_interval:g} s on {fc.dag_processors} DAG processor(s)"
            + (f", {fc.task_runs_per_hour:g} task runs per hour" if fc.task_runs_per_hour else "")
            + f"); recommended configuration: {format_count(rec)}; limit {GETS_PER_10S_LIMIT}"
        )
        data = {"forecast_gets_per_10s": round(now, 2), "recommended": round(rec, 2)}
        if now > GETS_PER_10S_LIMIT:
            return COST_OVER_LIMIT("forecast", detail, **data)
        if now > GETS_PER_10S_LIMIT / 2:
            return COST_NEAR_LIMIT("forecast", detail, **data)
        return COST_SUMMARY("forecast", detail, **data)


def advice_for(f: FileCost) -> str:
    """Which recommendation applies to a file, and why (the report's advice column)."""
    gets = f.per_parse.get("default", {}).get("vault_gets", 0.0)
    if f.error and not gets:
        return "It did not parse against the sandbox: fix the import error first."
    if gets <= 0:
        return "Nothing to change: parsing it reads no secret."
    where = (
        f"the lookup(s) at line {', '.join(map(str, f.lookup_lines))}"
        if f.lookup_lines
        else "its parse-time lookups (made at run time, so no line can be pointed at)"
    )
    return (
        f"Move {where} into the task or a template: parsing then reads nothing and each "
        "task run reads once. Until then [secrets] use_cache brings parsing down to the "
        "recommended figure."
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def format_count(value: float | None) -> str:
    """A count as the tables show it: whole numbers bare, fractions with two decimals."""
    if value is None:
        return "-"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"
