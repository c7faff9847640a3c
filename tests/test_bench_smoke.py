"""bench/class_load.py stays runnable (issue 13): a tiny class under load for two seconds
prints the check percentiles, the class process's CPU and a verdict, with no errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(120)
def test_class_load_bench_runs_a_small_class_and_prints_its_verdict() -> None:
    argv = ["--trainees", "2", "--seconds", "2", "--exercises", "kv-contributor"]
    argv += ["--clients", "1", "--think", "0.1"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "class_load.py"), *argv],
        capture_output=True,
        text=True,
        timeout=110,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    out = done.stdout
    assert "class of 2 trainees × 1 exercises up" in out, out + done.stderr
    assert "check my work   n=" in out and "p95" in out and "p99" in out
    assert "  kv-contributor " in out
    assert "CPU: class process (sandbox + dashboard)" in out
    assert ", 0 errors;" in out and "error ×" not in out, out
    verdict = out.strip().splitlines()[-1]
    assert verdict.startswith(("PASS: check p95", "FAIL: check p95")), out
    assert done.returncode == (0 if verdict.startswith("PASS") else 1)
