"""Runtime-cost benchmark: vault GETs per parse of a generated DAG folder, default vs
recommended configuration, measured by ``akv-runbook cost`` (real Airflow DAG-processor
parsing against a private sandbox, counted from its request log — nothing computed from the
DAG text).

Generates ``--files`` DAG files (default 20), each with ``--lookups`` (N, default 10)
top-level ``Variable.get`` calls and one task reading two variables, runs
``akv-runbook cost --dags DIR --json`` once, and prints per-parse totals, the ratio, and the
sample task's token requests.

Target: the recommended configuration makes at most N/10 vault GETs per parse of the folder
(for every file once, steady state) compared with N per file under the default — i.e. the
folder's recommended total is at most a tenth of the default's. Exits 1 when it is missed.

    .venv/bin/python bench/dag_cost.py                        # 20 files x 10 lookups
    .venv/bin/python bench/dag_cost.py --files 5 --lookups 4  # a quick look
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AKV_RUNBOOK = Path(sys.executable).with_name("akv-runbook")

TEMPLATE = """
from datetime import datetime
from airflow.sdk import DAG, Variable, task

{lookups}

with DAG("bench_{i:03d}", schedule=None, start_date=datetime(2025, 1, 1)) as dag:
    @task
    def work():
        Variable.get("bench_{i:03d}_0")
        Variable.get("bench_{i:03d}_1")
    work()
"""


def generate(folder: Path, files: int, lookups: int) -> None:
    for i in range(files):
        lines = "\n".join(f'V{j} = Variable.get("bench_{i:03d}_{j}")' for j in range(lookups))
        (folder / f"bench_{i:03d}.py").write_text(
            textwrap.dedent(TEMPLATE).format(i=i, lookups=lines)
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--lookups", type=int, default=10, help="top-level lookups per file (N)")
    parser.add_argument("--parse-interval", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="akv-bench-cost-") as tmp:
        folder = Path(tmp)
        generate(folder, args.files, args.lookups)
        started = time.perf_counter()
        done = subprocess.run(
            [
                str(AKV_RUNBOOK), "cost", "--dags", str(folder), "--json", "--no-progress",
                "--parse-interval", str(args.parse_interval), "--task-samples", "1",
            ],
            capture_output=True, text=True, check=False, cwd=ROOT,
        )  # fmt: skip
        seconds = time.perf_counter() - started
    try:
        data = json.loads(done.stdout)
    except ValueError:
        sys.stderr.write(done.stderr[-2000:])
        return 1
    default = data["default"]["vault_gets_per_parse"]
    recommended = data["recommended"]["vault_gets_per_parse"]
    n, files = args.lookups, args.files
    d, r = data["default"], data["recommended"]
    rows = [
        ("DAG files x top-level lookups", f"{files} x {n}"),
        ("default: vault GETs per parse of the folder", f"{default:g}"),
        ("default: token requests per parse of the folder", f"{d['token_requests_per_parse']:g}"),
        ("recommended: vault GETs per parse of the folder", f"{recommended:g}"),
        ("recommended / default", f"{recommended / default:.4f}" if default else "-"),
        ("target: recommended <= N/10 per file", f"{files * n / 10:g} for the folder"),
        ("forecast GETs per 10 s: default / recommended",
         f"{d['forecast_gets_per_10s']:g} / {r['forecast_gets_per_10s']:g}"),
        ("sample task: GETs / token requests per run on a worker",
         f"{d['vault_gets_per_task_run']} / {d['token_requests_per_task_run']}"),
        ("measurement wall time", f"{seconds:.0f} s"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key.ljust(width)}  {value}")
    exact = default == files * n
    met = exact and recommended <= files * n / 10
    print(
        f"default measured {'exactly' if exact else 'NOT'} N per file; target "
        f"{'met' if met else 'MISSED'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
