"""Load benchmark for the facilitator dashboard: /api/view for a class of 30 under polling.

Serves the real dashboard app (uvicorn, in a thread) over a fake class of N trainees × M
exercises whose status document changes on every read, then drives C keep-alive clients
that fetch ``/api/view`` back to back with the bearer token for S seconds, and prints
p50 / p95 / p99 latency and requests per second. One open dashboard polls every 2 s, so a
class needs about 0.5 request/s per open tab; the target is p95 ≤ 50 ms at 8 clients on a
2-core machine, with ``--status-ms`` adding what the real ``Classroom.status()`` costs.
Traffic goes only to 127.0.0.1; the run stops by itself.

    .venv/bin/python bench/class_dashboard_load.py
    .venv/bin/python bench/class_dashboard_load.py --clients 16 --seconds 5 --status-ms 20
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from helpers.training.dashboard import create_app, new_token, start_dashboard  # noqa: E402

STATES = ("not-started", "in-progress", "passed", "skipped")


def fake_status(trainees: int, exercises: int, delay_s: float):
    ids = [f"exercise-{n:02d}" for n in range(1, exercises + 1)]
    reads = [0]

    def status() -> dict:
        reads[0] += 1
        time.sleep(delay_s)
        now = datetime.now(UTC)
        people = []
        for t in range(trainees):
            cells = {}
            for e, ex in enumerate(ids):
                state = STATES[(t + e + reads[0] // 50) % 4]
                since = (now - timedelta(minutes=t + e)).isoformat(timespec="seconds")
                cells[ex] = {
                    "state": state,
                    "hints_used": (t * e) % 4,
                    "checks": t + e,
                    "last_check": since,
                    "stuck_since": since if state == "in-progress" else None,
                }
            people.append({"id": f"trainee-{t + 1:02d}", "last_activity": None, "exercises": cells})
        return {
            "class": {"trainees": trainees, "started": now.isoformat(), "state_dir": "/tmp/x"},
            "exercises": [{"id": ex, "title": f"Exercise {ex}"} for ex in ids],
            "trainees": people,
        }

    return status


def client(port: int, token: str, until: float, out: list[float], errors: list[int]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {token}"}
    while time.monotonic() < until:
        start = time.perf_counter()
        conn.request("GET", "/api/view", headers=headers)
        answer = conn.getresponse()
        answer.read()
        out.append(time.perf_counter() - start)
        if answer.status != 200:
            errors.append(answer.status)
    conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainees", type=int, default=30)
    parser.add_argument("--exercises", type=int, default=9)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--status-ms", type=float, default=0.0)
    args = parser.parse_args(argv)

    token = new_token()
    status = fake_status(args.trainees, args.exercises, args.status_ms / 1000)
    app = create_app(status_source=status, reset=lambda t, e: None, token=token)
    latencies: list[float] = []
    errors: list[int] = []
    with start_dashboard(app) as handle:
        until = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=client, args=(handle.port, token, until, latencies, errors))
            for _ in range(args.clients)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(args.seconds + 30)
        elapsed = time.monotonic() - started
    if not latencies:
        print("no request completed")
        return 1
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"/api/view, {args.trainees} trainees × {args.exercises} exercises, "
        f"{args.clients} clients, {elapsed:.1f} s: {len(latencies)} requests "
        f"({len(latencies) / elapsed:.0f}/s), {len(errors)} errors"
    )
    print(
        f"latency p50 {cuts[49] * 1000:.1f} ms · p95 {cuts[94] * 1000:.1f} ms · "
        f"p99 {cuts[98] * 1000:.1f} ms"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
