"""The cells of notebook 05 (runtime cost): part of the notebooks' one source.

:data:`helpers.devtools.notebook_sources.NOTEBOOKS` lists this notebook beside the others;
its first cells are the shared :func:`helpers.devtools.notebook_preamble.preamble`.
"""

# ruff: noqa: E501 - markdown tables and prose lines are kept as the notebooks show them

from __future__ import annotations

from helpers.devtools.notebook_preamble import code, md, preamble

__all__ = ["COST_PARAMETERS", "RUNTIME_COST"]

COST_PARAMETERS = (
    'dags_dir = ""  # the DAG folder to measure; empty: docs/examples/cost-dags (four small example DAG files)',
    "use_cache = None  # your deployment's [secrets] use_cache; None: Airflow's default (off)",
    "parse_interval = 30.0  # [dag_processor] min_file_process_interval, in seconds",
    "dag_processors = 1  # DAG processors parsing the folder (each parses every file, each with its own cache)",
    "task_runs_per_hour = 0.0  # task runs per hour in this deployment that read this vault (for the forecast)",
    "task_samples = 1  # files whose first task is run and measured (0: parsing only, faster)",
)

RUNTIME_COST = [
    md(
        """\
# 05 · Runtime cost: what Key Vault reads cost per DAG parse and per task run

Notebooks 01–04 prove that the backend **works**. This one shows what it **costs** once it
does: every `Variable.get` and connection lookup that reaches the backend is a secret GET on
the vault, and Key Vault serves at most **4,000 GETs per 10 seconds per vault**. Past that it
answers 429, the backend retries, parsing slows down, DAGs time out and disappear from the UI
and tasks fail their lookups (apache/airflow#29486).

**What is measured, and how.** Nothing here reads your code and guesses. Airflow's own DAG
processor parses each file of `dags_dir` — the parsing child it forks for every file, as
`airflow dag-processor` does — in a scratch `AIRFLOW_HOME` whose backend points at a
**private, offline sandbox**; then the first task of the files that read the vault most runs
as `airflow dags test` runs it. The sandbox logs every request it serves (service, operation,
secret name, status — never a value), and the counts below are read from that log around
each step: vault GETs and token requests per parse of each file, and per task run. Each
secret the DAGs ask for is seeded with a placeholder value, so nothing reaches Azure and no
real secret is needed.

Everything is measured twice, each time in a fresh Airflow process: with **your
configuration** (`use_cache` from the parameters or settings; Airflow's default is off) and
with the **recommended** one (`[secrets] use_cache = True`, `cache_ttl_seconds` 900 or
yours). The measurement takes a minute or two: each configuration imports Airflow."""
    ),
    *preamble("05_runtime_cost", *COST_PARAMETERS),
    md(
        """\
## 1 · Measure

`dags_dir` names your DAG folder (empty: the four example files in `docs/examples/cost-dags`:
one with several top-level lookups, one that looks up the same values inside its task, one
that uses a template, one that builds a DAG per team with a lookup each). The settings above
give the backend's prefixes; `use_cache` the deployment's cache setting. A value out of range
is reported as **AKV-SET-020** and nothing is measured."""
    ),
    code(
        """\
cost = runbook.runtime_cost(dags_dir, settings, use_cache=use_cache, parse_interval=parse_interval,
                            dag_processors=dag_processors, task_runs_per_hour=task_runs_per_hour,
                            task_samples=task_samples)"""
    ),
    md(
        """\
## 2 · Per DAG file

One row per file the DAG processor parses: vault GETs and token requests **per parse**, with
your configuration and with the recommended one, and what to do about the file. Token
requests count too: each parse runs in a new process, which signs in again before its first
GET.

**Why a top-level lookup costs so much.** Code at a DAG file's top level runs whenever the
file is parsed, and a file is parsed far more often than its tasks run:

* by **every DAG processor**, once per `min_file_process_interval` (30 s by default) — about
  2,900 parses of each file a day per processor, whether or not anything is scheduled;
* and again **on the worker, before every task run**: the task process parses the DAG file to
  find its task, so each run of each task of the file pays the file's top-level lookups on
  top of its own. The sample-task rows show it: *GETs per run on a worker* includes *its
  file's parse*.

A lookup inside the task callable, or a template such as `{{ var.value.reports_bucket }}`,
runs only when the task runs: parsing reads nothing, each task run reads once."""
    ),
    code('runbook.show("cost-table", cost.table())'),
    md(
        """\
## 3 · The chart

Vault GETs per parse of each file, your configuration against the recommended one. Files at
zero need nothing; a long bar is a file whose top-level lookups the vault pays for on every
parse."""
    ),
    code("cost.chart()"),
    md(
        """\
## 4 · Forecast and findings

The forecast multiplies the measured counts by your deployment's numbers: every DAG
processor parses every file once per `parse_interval`, plus `task_runs_per_hour` task runs at
the sample tasks' mean cost on a worker:

GETs per 10 s = `dag_processors` × (the folder's GETs per parse) × 10 / `parse_interval` +
`task_runs_per_hour` / 360 × (GETs per task run)

**AKV-COST-001** (an error: headless, the run stops here) when it exceeds Key Vault's 4,000
per 10 s; **AKV-COST-002** above half of it (other readers share the vault's limit);
**AKV-COST-003** for each file whose parsing reads the vault.

**What `use_cache` does — and does not do.** `[secrets] use_cache = True` keeps the values
that **parsing** looked up in the DAG processor's memory for `cache_ttl_seconds` (900 by
default): one parse in every TTL asks the vault, the others are answered from the cache —
that is the recommended column. It does **not** reach task execution: a task's lookups, and
the parse of its file on the worker, always go to the vault (**AKV-COST-006** says so when a
sample task read the same with the cache on as off). Each DAG processor keeps its own cache.
And the TTL is a trade-off with **rotation**: after a secret is rotated in the vault, code at
parse time may keep the old value for up to `cache_ttl_seconds`; tasks read the new one at
once. Pick a TTL shorter than the overlap your rotation allows between the old and the new
value."""
    ),
    code('runbook.show("runtime-cost", cost.result())'),
    md(
        """\
## What to do, per file

* **Top-level lookups** (the advice names their lines): move them into the task callable or
  a template (`{{ var.value.name }}`, `{{ conn.my_conn.host }}`, `{{ var.json.name.key }}`).
  Parsing then reads nothing, and each task run reads once — on the worker, where the value
  is used.
* **A value that must be known at parse time** (a schedule, the list of DAGs to build): set
  `AIRFLOW__SECRETS__USE_CACHE=True` with a `cache_ttl_seconds` your rotation allows — or,
  if it is not a secret, make it a constant or a file shipped with the DAGs: with a secrets
  backend configured, even a variable held in the metadata database or in an `AIRFLOW_VAR_*`
  environment variable is asked of the vault first.
* **Lookups inside tasks**: nothing to change; budget one GET per lookup per task run.
* **Over or near the limit** even so: a longer `[dag_processor] min_file_process_interval`
  divides parse-time reads; fewer DAG processors reading the same vault, or a vault per
  deployment, share the limit less.

Measure again after a change: `akv-runbook cost --dags <folder>` runs the same measurement
from a shell (`--json` for a pipeline), and this notebook runs headless with papermill like
the others:

```bash
papermill notebooks/05_runtime_cost.ipynb out.ipynb -k python3 --cwd notebooks \\
    --engine akv-runbook -r dags_dir /path/to/dags -p parse_interval 30 -p dag_processors 2
```

Back to [00_start_here](00_start_here.ipynb)."""
    ),
]
