"""Load benchmark for a class: 30 trainees checking, reading hints, resetting and reading vaults.

Starts a real class (``akv-runbook class start --trainees N`` as a subprocess, in a temporary
state dir), so that its sandbox (and dashboard) run in a process of their own whose CPU is
measured apart from the clients'. Then N simulated trainees work for S seconds, spread over
W client processes (threads inside each, so the GIL of one client process never throttles
all trainees). Each trainee works through the class's exercises, one at a time, drawing each
step at random, with an exponential think time (mean ``--think`` seconds) between steps:

    check      ``Classroom.check`` from a fresh ``Classroom`` (what ``class check`` does:
               it reads class.json, signs in, runs the exercise's checks, records progress);
               with ``--cli``, a new ``akv-runbook class check --json`` process each time,
               as from a trainee's shell (Python start-up and imports included)
    hint       reads the hint the last check revealed (a fresh ``Classroom``, as the CLI)
    read       reads the trainee's own home vault with the real SDK as their backend
    solve      the reference fix (rarely: a trainee who gives up); the next check passes
               and the trainee moves on to the next exercise
    reset      puts the exercise back to its broken state (rarely)

It prints p50 / p95 / p99 / max of "check my work" (overall and per exercise), the other
steps' latencies, one open dashboard tab's ``/api/view`` polls (every 2 s), counts and
errors, the CPU of the class's process (sandbox + dashboard) and of the clients, the
machine's total CPU (others' work shows there), and PASS/FAIL against the target: check
p95 ≤ 1 s. Traffic goes only to 127.0.0.1; the run stops by itself.

    .venv/bin/python bench/class_load.py
    .venv/bin/python bench/class_load.py --trainees 30 --seconds 60 --think 1
    .venv/bin/python bench/class_load.py --cli --think 10   # checks from trainees' shells
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import psutil

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from helpers.common.logs import quiet_sdk_logs  # noqa: E402
from helpers.training import Classroom  # noqa: E402
from helpers.training.scenario import app_name, guid, home_vault  # noqa: E402

TARGET_P95_S = 1.0
CLI = [sys.executable, "-c", "import sys; from helpers.cli import main; sys.exit(main())"]
# step → weight; a check is what a trainee does most, a solve or a reset is rare
MIX = {"check": 50, "hint": 15, "read": 25, "solve": 4, "reset": 6}
POLL_S = 2.0  # the dashboard page's polling interval (dashboard_page.POLL_MS)
UNAVAILABLE = "AKV-TRAIN-006"  # the class or its sandbox failed the check, not the trainee


# -- the class, in its own process --------------------------------------------------------
def start_class(
    state_dir: Path, trainees: int, exercises: str | None
) -> tuple[subprocess.Popen, str]:
    """The running ``class start`` and its dashboard's address (without the token)."""
    argv = [*CLI, "class", "start", "--trainees", str(trainees), "--port", "0"]
    argv += ["--state-dir", str(state_dir)] + (["--exercises", exercises] if exercises else [])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Ctrl-C"):
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(600) or proc.poll() is not None:
        proc.kill()
        raise SystemExit("class start did not come up:\n" + "\n".join(lines))
    url = next(line.split()[1] for line in lines if line.startswith("dashboard:"))
    return proc, url.split("?", 1)[0]


def poll_dashboard(url: str, token: str, tabs: int, stop: threading.Event, out: list) -> None:
    """``tabs`` open dashboards, each fetching /api/view every 2 s as the page does."""
    where = urlsplit(url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
    headers = {"Authorization": f"Bearer {token}"}
    while not stop.wait(POLL_S / tabs):
        start = time.perf_counter()
        try:
            conn.request("GET", "/api/view", headers=headers)
            answer = conn.getresponse()
            answer.read()
            error = None if answer.status == 200 else f"HTTP {answer.status}"
        except OSError as err:
            conn.close()
            error = f"{type(err).__name__}: {err}"
        out.append(("dashboard", "", time.perf_counter() - start, None, error))
    conn.close()


def stop_class(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


# -- one trainee --------------------------------------------------------------------------
class Trainee:
    def __init__(
        self, state_dir: Path, trainee: str, exercises: list[str], seed: int, cli: bool = False
    ):
        self.state_dir, self.id, self.exercises, self.cli = state_dir, trainee, exercises, cli
        self.rng = random.Random(seed)
        self.current = self.rng.randrange(len(exercises))
        self.hint: str | None = None
        self.home = Classroom(state_dir)  # one for vault reads: a kernel keeps its client
        name = app_name(trainee, "backend")
        credential = self.home.wire.cached_credential(
            guid("app", name), self.home.client_secrets()[name]
        )
        self.vault = self.home.wire.secrets(home_vault(trainee), credential)

    @property
    def exercise(self) -> str:
        return self.exercises[self.current]

    def step(self, kind: str) -> tuple[str, bool | None]:
        """Do one step; ``(what, passed)`` (passed only for a check)."""
        if kind == "check":
            result = self.check()
            if any(f["code"] == UNAVAILABLE for f in result["findings"]):
                raise RuntimeError(f"check unavailable: {result['findings'][0]['detail']}")
            self.hint = result["hint"]
            if result["passed"]:
                self.current = (self.current + 1) % len(self.exercises)
            return f"check {self.exercise}", result["passed"]
        if kind == "hint":
            hints = Classroom(self.state_dir).exercise(self.exercise).hints
            self.hint = self.hint or hints[0]
            return "hint", None
        if kind == "read":
            self.vault.get_secret("airflow-variables-sample-variable")
            return "read", None
        if kind == "solve":
            Classroom(self.state_dir).solve(self.id, self.exercise)
            return "solve", None
        Classroom(self.state_dir).reset(self.id, self.exercise)
        return "reset", None

    def check(self) -> dict:
        """``class check``: in this process, as the notebook's button and the CLI's code do, or
        (``--cli``) as a trainee's shell does: a new ``akv-runbook`` process each time."""
        if not self.cli:
            return Classroom(self.state_dir).check(self.id, self.exercise).to_dict()
        argv = [*CLI, "class", "check", "--trainee", self.id, "--exercise", self.exercise]
        done = subprocess.run(
            [*argv, "--state-dir", str(self.state_dir), "--json"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        if done.returncode not in (0, 1):
            raise RuntimeError(f"class check exit {done.returncode}: {done.stderr[-200:]}")
        return json.loads(done.stdout)

    def run(self, until: float, think: float, out: list) -> None:
        kinds, weights = list(MIX), list(MIX.values())
        while True:
            pause = self.rng.expovariate(1 / think) if think > 0 else 0.0
            if time.monotonic() + pause >= until:
                return
            time.sleep(pause)
            kind = self.rng.choices(kinds, weights)[0]
            exercise = self.exercise
            start = time.perf_counter()
            try:
                what, passed = self.step(kind)
                out.append((kind, exercise, time.perf_counter() - start, passed, None))
            except Exception as err:  # noqa: BLE001 - a benchmark counts every failure
                detail = f"{type(err).__name__}: {str(err)[:200]}"
                out.append((kind, exercise, time.perf_counter() - start, None, detail))


def _cpu() -> float:
    """This process's CPU and that of its finished children (the ``--cli`` checks)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def client_process(
    state_dir: str,
    trainees: list[str],
    exercises: list[str],
    ready,
    go,
    seconds: float,
    think: float,
    seed: int,
    cli: bool,
    queue,
) -> None:
    """A client process: its trainees as threads; sends back samples and its own CPU."""
    try:
        quiet_sdk_logs()
        people = [
            Trainee(Path(state_dir), t, exercises, seed * 1000 + n, cli)
            for n, t in enumerate(trainees)
        ]
        out: list = []
        ready.put(os.getpid())
        go.wait(120)
        cpu0 = _cpu()
        until = time.monotonic() + seconds
        threads = [
            threading.Thread(target=p.run, args=(until, think, out), daemon=True) for p in people
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(seconds + 120)
        queue.put((out, _cpu() - cpu0, None))
    except Exception:  # noqa: BLE001 - report it to the parent rather than hang it
        ready.put(os.getpid())
        queue.put(([], 0.0, traceback.format_exc()))


# -- the report ---------------------------------------------------------------------------
def cuts(values: list[float]) -> str:
    if len(values) < 2:
        return f"n={len(values)}" + (f" {values[0] * 1000:.0f} ms" if values else "")
    q = statistics.quantiles(values, n=100, method="inclusive")
    return (
        f"n={len(values):>5}  p50 {q[49] * 1000:6.0f} ms  p95 {q[94] * 1000:6.0f} ms  "
        f"p99 {q[98] * 1000:6.0f} ms  max {max(values) * 1000:6.0f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainees", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--think", type=float, default=2.0, help="mean think time, s (0: none)")
    parser.add_argument("--clients", type=int, default=3, help="client processes")
    parser.add_argument("--exercises", help="comma-separated ids (default: all)")
    parser.add_argument(
        "--dashboards", type=int, default=1, help="open dashboard tabs polling (default 1)"
    )
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--cli",
        action="store_true",
        help="each check runs `akv-runbook class check` as a new process, as from a shell",
    )
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="akv-class-bench-"))
    state_dir = tmp / "class"
    started = time.monotonic()
    proc, url = start_class(state_dir, args.trainees, args.exercises)
    setup_s = time.monotonic() - started
    try:
        room = Classroom(state_dir)
        exercises, trainees = list(room.exercises), room.trainees
        print(
            f"class of {len(trainees)} trainees × {len(exercises)} exercises up in "
            f"{setup_s:.1f} s (class start, set-up of every slice included)"
        )
        sandbox = psutil.Process(proc.pid)
        groups = [trainees[n :: args.clients] for n in range(args.clients)]
        ctx = mp.get_context("spawn")
        queue, ready, go = ctx.Queue(), ctx.Queue(), ctx.Event()
        workers = [
            ctx.Process(
                target=client_process,
                args=(
                    str(state_dir),
                    group,
                    exercises,
                    ready,
                    go,
                    args.seconds,
                    args.think,
                    args.seed + n,
                    args.cli,
                    queue,
                ),
            )
            for n, group in enumerate(groups)
            if group
        ]
        for worker in workers:
            worker.start()
        for _ in workers:  # clients import and sign in before the clock starts
            ready.get(timeout=300)
        token = (state_dir / "facilitator-token").read_text().strip()
        polls: list = []
        stop = threading.Event()
        poller = threading.Thread(
            target=poll_dashboard, args=(url, token, args.dashboards, stop, polls), daemon=True
        )
        cpu0, wall0 = sandbox.cpu_times(), time.monotonic()
        psutil.cpu_percent()
        go.set()
        if args.dashboards > 0:
            poller.start()
        results = [queue.get(timeout=args.seconds + 300) for _ in workers]
        cpu1, wall = sandbox.cpu_times(), time.monotonic() - wall0
        machine = psutil.cpu_percent()
        stop.set()
        if poller.is_alive():
            poller.join(15)
        for worker in workers:
            worker.join(30)
    finally:
        stop_class(proc)
        shutil.rmtree(tmp, ignore_errors=True)

    steps = [s for out, _, _ in results for s in out]
    samples = steps + polls
    crashed = [err for _, _, err in results if err]
    client_cpu = sum(c for _, c, _ in results)
    sandbox_cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    by_kind: dict[str, list[float]] = defaultdict(list)
    by_exercise: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    passed = failed = 0
    for kind, exercise, latency, ok, error in samples:
        if error:
            errors[f"{kind}: {error}"] += 1
            continue
        by_kind[kind].append(latency)
        if kind == "check":
            by_exercise[exercise].append(latency)
            passed += bool(ok)
            failed += not ok
    checks = by_kind.get("check", [])
    print(
        f"{len(trainees)} trainees, {len(workers)} client processes, {wall:.1f} s, mean think "
        f"{args.think:g} s, checks {'as akv-runbook processes' if args.cli else 'in process'}, "
        f"{os.cpu_count()} cores: {len(steps)} steps "
        f"({len(steps) / wall:.1f}/s), {sum(errors.values())} errors; {args.dashboards} "
        "dashboard tab(s) polling"
    )
    print(f"check my work   {cuts(checks)}   ({passed} passed, {failed} failed with a hint)")
    for exercise in exercises:
        print(f"  {exercise:<20} {cuts(by_exercise.get(exercise, []))}")
    for kind in ("hint", "read", "solve", "reset", "dashboard"):
        print(f"{kind:<15} {cuts(by_kind.get(kind, []))}")
    for what, count in sorted(errors.items(), key=lambda e: -e[1])[:10]:
        print(f"error ×{count}: {what}")
    for err in crashed:
        print(f"client process failed:\n{err}")
    print(
        f"CPU: class process (sandbox + dashboard) {sandbox_cpu / wall * 100:.0f} % of one core, "
        f"clients {client_cpu / wall * 100:.0f} %, whole machine {machine:.0f} % of "
        f"{os.cpu_count()} cores (other users' work included)"
    )
    if not checks:
        print("FAIL: no check completed")
        return 1
    p95 = statistics.quantiles(checks, n=100, method="inclusive")[94]
    verdict = "PASS" if p95 <= TARGET_P95_S and not errors and not crashed else "FAIL"
    print(
        f"{verdict}: check p95 {p95 * 1000:.0f} ms (target ≤ {TARGET_P95_S * 1000:.0f} ms), "
        f"{sum(errors.values())} errors"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
