"""DAG parse cost: each of our DAG files, parsed as the DAG processor parses it, against the
cost of ``import airflow.sdk`` alone.

Every sample is a fresh Python process with a scratch AIRFLOW_HOME (nothing cached in
sys.modules, as after a DAG processor's restart): it imports ``DagBag`` (Airflow itself,
not counted), then times ``DagBag(dag_folder=<file>)`` — the file's own imports and its DAG
construction. The reference is a fresh process timing ``import airflow.sdk`` alone. Prints
the median of several samples (min and max beside it) and each file's ratio to the
reference; no targets, nothing fails on a number (tests/test_dag_parse_imports.py checks
the structure: no heavy module imported at parse time).

    .venv/bin/python bench/dag_parse.py                     # dags/*.py, 5 samples each
    .venv/bin/python bench/dag_parse.py --samples 9 other_dag.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from helpers.backend_config.scratch_airflow import ScratchAirflow  # noqa: E402

MARK = "@@DAG-PARSE-BENCH@@"
PARSE = r"""
import json, sys, time
from airflow.dag_processing.dagbag import DagBag

before = set(sys.modules)
clock = time.perf_counter()
bag = DagBag(dag_folder={path!r})
seconds = time.perf_counter() - clock
print({mark!r} + json.dumps({{
    "seconds": seconds,
    "errors": len(bag.import_errors),
    "dags": len(bag.dag_ids),
    "new_modules": len(set(sys.modules) - before),
}}))
"""
IMPORT_SDK = r"""
import json, time
clock = time.perf_counter()
import airflow.sdk
print({mark!r} + json.dumps({{"seconds": time.perf_counter() - clock}}))
"""


def _sample(airflow: ScratchAirflow, code: str) -> dict:
    child = airflow.python(code, timeout=300)
    line = next((ln for ln in child.stdout.splitlines() if ln.startswith(MARK)), None)
    if line is None:
        raise SystemExit((child.stdout + child.stderr)[-2000:])
    return json.loads(line.removeprefix(MARK))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="DAG files (default: dags/*.py)")
    parser.add_argument("--samples", type=int, default=5, help="fresh processes per file")
    args = parser.parse_args(argv)
    files = args.files or sorted((ROOT / "dags").glob("*.py"))
    samples = max(1, args.samples)

    with tempfile.TemporaryDirectory(prefix="akv-bench-dag-parse-") as scratch:
        rows: list[tuple[str, list[float], dict]] = []
        airflow = ScratchAirflow.create(Path(scratch) / "home", {}, dags_folder=ROOT / "dags")
        _sample(airflow, IMPORT_SDK.format(mark=MARK))  # writes airflow.cfg once, not timed
        sdk = [_sample(airflow, IMPORT_SDK.format(mark=MARK))["seconds"] for _ in range(samples)]
        rows.append(("import airflow.sdk (reference)", sdk, {}))
        for path in files:
            code = PARSE.format(path=str(path.resolve()), mark=MARK)
            runs = [_sample(airflow, code) for _ in range(samples)]
            rows.append((path.name, [r["seconds"] for r in runs], runs[-1]))

    reference = statistics.median(sdk)
    print(f"DAG parse time, median of {samples} fresh processes (DagBag on one file)")
    if sys.flags.dont_write_bytecode:
        print(
            "note: PYTHONDONTWRITEBYTECODE is set, so every import compiles from source: absolute "
            "times are inflated, the ratios still compare"
        )
    print(f"{'what':34} {'median':>9} {'min':>9} {'max':>9} {'× sdk':>7}  notes")
    for name, times, info in rows:
        median = statistics.median(times)
        notes = (
            f"{info['dags']} DAG(s), {info['errors']} import error(s), "
            f"{info['new_modules']} modules imported"
            if info
            else ""
        )
        print(
            f"{name:34} {median * 1000:7.0f}ms {min(times) * 1000:7.0f}ms "
            f"{max(times) * 1000:7.0f}ms {median / reference:6.2f}x  {notes}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
