"""Batch benchmark: the fast path vs the audit path vs one papermill CLI run per environment.

Starts a sandbox fleet (helpers.batch.fleet: one vault per environment, ten environments broken in
ten ways, ten shared service principals) and, for each size (default 20, 50 and 100
environments: the first N of the fleet's inventory), measures the wall time of

- fast:  ``akv-runbook check --inventory FILE`` (one process, concurrent probes);
- audit: ``akv-runbook check --inventory FILE --notebooks`` (the check notebook per
  environment, in a process pool);
- naive: ``papermill notebooks/check_environment.ipynb OUT -p inventory FILE -p env_name X``,
  once per environment, one after the other — what a cron job does without this tool.

Every command is a fresh process, so start-up costs count on every path, as they do for a
user. The naive loop is sequential, so its time for the first N environments *is* its time
for N: it runs once over the largest size and is read at each size.

Targets (2 cores): fast at least 20x faster than naive at 100 environments; audit at least
2x. Prints a table and the ratios; exits 1 when a target is missed.

    .venv/bin/python bench/batch_checks.py                    # 20, 50, 100 (about an hour)
    .venv/bin/python bench/batch_checks.py --sizes 5,10       # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from helpers.batch.fleet import Fleet  # noqa: E402

BIN = Path(sys.executable).parent
NOTEBOOK = ROOT / "notebooks" / "check_environment.ipynb"
TARGETS = {"fast": 20.0, "audit": 2.0}


def _subset(inventory: Path, size: int, out: Path) -> Path:
    data = yaml.safe_load(inventory.read_text(encoding="utf-8"))
    data["environments"] = data["environments"][:size]
    out.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return out


def _timed(args: list[str], ok_codes: tuple[int, ...] = (0, 1)) -> float:
    clock = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - clock
    if done.returncode not in ok_codes:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise SystemExit(f"{' '.join(args[:4])} ... exited {done.returncode}:\n" + "\n".join(tail))
    return seconds


def run_fast(inventory: Path, report: Path, concurrency: int) -> float:
    return _timed(
        [
            str(BIN / "akv-runbook"),
            "check",
            "--inventory",
            str(inventory),
            "--report-dir",
            str(report),
            "--concurrency",
            str(concurrency),
            "--no-progress",
        ]
    )


def run_audit(inventory: Path, report: Path, workers: int | None) -> float:
    args = [
        str(BIN / "akv-runbook"),
        "check",
        "--inventory",
        str(inventory),
        "--notebooks",
        "--report-dir",
        str(report),
        "--no-progress",
    ]
    if workers:
        args += ["--workers", str(workers)]
    return _timed(args)


def run_naive(inventory: Path, names: list[str], out: Path, marks: list[int]) -> dict[int, float]:
    """One papermill CLI process per environment, sequentially; elapsed time at each mark."""
    out.mkdir(parents=True, exist_ok=True)
    elapsed, clock = {}, time.perf_counter()
    for i, name in enumerate(names, start=1):
        _timed(
            [
                str(BIN / "papermill"),
                str(NOTEBOOK),
                str(out / f"{name}.ipynb"),
                "-p",
                "inventory",
                str(inventory),
                "-p",
                "env_name",
                name,
                "-p",
                "environment",
                "sandbox",
                "-k",
                "python3",
                "--cwd",
                str(NOTEBOOK.parent),
                "--no-progress-bar",
            ]
        )
        if i in marks:
            elapsed[i] = time.perf_counter() - clock
            print(f"  naive: {i} environments in {elapsed[i]:.1f} s", flush=True)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--sizes", default="20,50,100", help="environment counts, comma-separated")
    parser.add_argument("--concurrency", type=int, default=8, help="fast path concurrency")
    parser.add_argument("--workers", type=int, default=None, help="audit path processes")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    largest = sizes[-1]
    results: dict[int, dict[str, float]] = {n: {} for n in sizes}
    with tempfile.TemporaryDirectory(prefix="akv-bench-") as tmp, Fleet(size=largest) as fleet:
        work = Path(tmp)
        print(
            f"fleet of {largest} sandbox environments (10 broken) on 127.0.0.1:"
            f"{fleet.sandbox.port}; {os.cpu_count()} CPUs",
            flush=True,
        )
        inventories = {n: _subset(fleet.inventory_path, n, work / f"inv-{n}.yaml") for n in sizes}
        for n in sizes:
            results[n]["fast"] = run_fast(inventories[n], work / f"fast-{n}", args.concurrency)
            print(f"  fast:  {n} environments in {results[n]['fast']:.1f} s", flush=True)
            results[n]["audit"] = run_audit(inventories[n], work / f"audit-{n}", args.workers)
            print(f"  audit: {n} environments in {results[n]['audit']:.1f} s", flush=True)
        names = list(fleet.expected)[:largest]
        naive = run_naive(inventories[largest], names, work / "naive", sizes)
        for n in sizes:
            results[n]["naive"] = naive[n]

    print()
    header = (
        f"{'envs':>5} {'fast s':>8} {'audit s':>8} {'naive s':>8} {'fast/min':>9} "
        f"{'audit/min':>9} {'naive/min':>9} {'naive÷fast':>10} {'naive÷audit':>11}"
    )
    print(header)
    for n in sizes:
        r = results[n]
        per_min = {k: n / r[k] * 60 for k in r}
        print(
            f"{n:>5} {r['fast']:>8.1f} {r['audit']:>8.1f} {r['naive']:>8.1f} "
            f"{per_min['fast']:>9.0f} {per_min['audit']:>9.0f} {per_min['naive']:>9.1f} "
            f"{r['naive'] / r['fast']:>9.1f}x {r['naive'] / r['audit']:>10.1f}x"
        )
    top = results[largest]
    verdicts = {path: top["naive"] / top[path] for path in TARGETS}
    missed = [p for p, ratio in verdicts.items() if ratio < TARGETS[p]]
    for path, ratio in verdicts.items():
        mark = "ok" if ratio >= TARGETS[path] else "MISSED"
        print(f"target at {largest}: {path} ≥ {TARGETS[path]:g}x naive: {ratio:.1f}x {mark}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
