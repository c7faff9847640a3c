"""Load benchmark for the sandbox: secret GETs through the HTTPS-intercepting proxy.

Starts an ephemeral sandbox in its own process (so that the load generator and the server
do not share a GIL), signs in as the ``airflow-backend`` principal with the real
azure-identity ``ClientSecretCredential`` (through the proxy), then drives concurrent
keep-alive clients, each doing what the Azure SDK does for a secret read:

    CONNECT airflow-sandbox-kv.vault.azure.net:443   (once per connection)
    TLS handshake, verified against the sandbox CA bundle
    GET /secrets/airflow-variables-sample-variable/?api-version=2026-04-01   (repeated)
    Authorization: Bearer <real token>

Token validation and RBAC authorization run on every request, as always. The load
generator is raw asyncio streams (uvloop when available) in one or more processes, so the
server is the bottleneck. Traffic goes only to 127.0.0.1; the run stops by itself.

Key Vault's published limit is 4,000 GET transactions per vault per 10 s (400/s); the
sandbox targets 4x that (1,600 GET/s) on a 2-core machine.

    .venv/bin/python bench/sandbox_load.py
    .venv/bin/python bench/sandbox_load.py --seconds 5 --connections 32 --processes 2
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import signal
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

VAULT_HOST = "airflow-sandbox-kv.vault.azure.net"
SECRET = "airflow-variables-sample-variable"
PATH = f"/secrets/{SECRET}/?api-version=2026-04-01"
PRINCIPAL = "airflow-backend"
AKV_LIMIT_PER_S = 4000 / 10  # published: 4,000 GET transactions per vault per 10 s
TARGET_PER_S = 4 * AKV_LIMIT_PER_S


# -- the sandbox, in its own process ------------------------------------------------------
def _run_sandbox(state_dir: str, conn) -> None:
    """Child process: serve until SIGTERM; report port, control token and CA bundle."""
    from helpers.sandbox.runtime import serve_forever
    from helpers.sandbox.scenario import load_scenario

    def ready(server) -> None:
        conn.send((server.port, server.state.control_token, str(server.certs.bundle)))
        conn.close()

    serve_forever(
        scenario=load_scenario(None),
        state_dir=Path(state_dir),
        port=0,
        ephemeral=True,
        on_ready=ready,
    )


def _get_token(port: int, control_token: str, bundle: str) -> str:
    """A real access token for the backend principal, fetched through the proxy."""
    from azure.identity import ClientSecretCredential

    from helpers.sandbox.runtime import SandboxClient, proxy_environment

    env = proxy_environment(port, Path(bundle))
    env.update(SandboxClient(port, control_token).env(PRINCIPAL))
    os.environ.update(env)
    credential = ClientSecretCredential(
        env["AZURE_TENANT_ID"], env["AZURE_CLIENT_ID"], env["AZURE_CLIENT_SECRET"]
    )
    try:
        return credential.get_token("https://vault.azure.net/.default").token
    finally:
        credential.close()


# -- the load generator -------------------------------------------------------------------
async def _open(port: int, ctx: ssl.SSLContext):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"CONNECT {VAULT_HOST}:443 HTTP/1.1\r\nHost: {VAULT_HOST}:443\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"CONNECT refused: {head[:80]!r}")
    await writer.start_tls(ctx, server_hostname=VAULT_HOST)
    return reader, writer


async def _one(reader, writer, request: bytes) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at < 0:
        raise RuntimeError("response without Content-Length")
    end = lower.find(b"\r\n", at + 2)
    length = int(lower[at + 17 : end])
    return status, await reader.readexactly(length) if length else b""


async def _client(port, ctx, request, start_at, stop_at, latencies, errors) -> None:
    reader, writer = await _open(port, ctx)
    try:
        # Warm up the connection before the measured window (handshake already done).
        status, body = await _one(reader, writer, request)
        if status != 200 or b'"value":"sandbox sample value' not in body:
            errors.append(f"warm-up request: HTTP {status} {body[:200]!r}")
        await asyncio.sleep(max(0.0, start_at - time.time()))
        clock = time.perf_counter
        while time.time() < stop_at:
            t0 = clock()
            try:
                status, _ = await _one(reader, writer, request)
            except (OSError, asyncio.IncompleteReadError, ValueError, RuntimeError) as err:
                errors.append(repr(err))
                writer.close()
                reader, writer = await _open(port, ctx)
                continue
            if status == 200:
                latencies.append(clock() - t0)
            else:
                errors.append(f"HTTP {status}")
    finally:
        writer.close()


async def _load(port, bundle, token, connections, start_at, stop_at):
    ctx = ssl.create_default_context(cafile=bundle)
    request = (
        f"GET {PATH} HTTP/1.1\r\nHost: {VAULT_HOST}\r\n"
        "Accept: application/json\r\nUser-Agent: sandbox-load/1.0\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    errors: list[str] = []
    results = await asyncio.gather(
        *(
            _client(port, ctx, request, start_at, stop_at, latencies, errors)
            for _ in range(connections)
        ),
        return_exceptions=True,
    )
    errors.extend(repr(r) for r in results if isinstance(r, BaseException))
    return latencies, errors


def _run_load(port, bundle, token, connections, start_at, stop_at, out) -> None:
    """One load-generator process; sends (latencies, errors) back."""
    try:
        import uvloop

        new_loop = uvloop.new_event_loop
    except ImportError:  # pragma: no cover
        new_loop = asyncio.new_event_loop
    loop = new_loop()
    try:
        out.send(
            loop.run_until_complete(_load(port, bundle, token, connections, start_at, stop_at))
        )
    finally:
        loop.close()
        out.close()


# -- main ---------------------------------------------------------------------------------
def _cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of a process (Linux /proc), or None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(
            "Benchmark the sandbox: concurrent keep-alive secret GETs through its HTTPS "
            "proxy, with real tokens (signature, audience, issuer, expiry and RBAC checked "
            "on every request). Reports requests/s, p50/p99 latency and the ratio to Key "
            f"Vault's per-vault limit ({AKV_LIMIT_PER_S:.0f} GET/s); target "
            f">= {TARGET_PER_S:.0f} GET/s."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured load duration")
    parser.add_argument(
        "--connections", type=int, default=16, help="concurrent keep-alive connections in total"
    )
    parser.add_argument(
        "--processes", type=int, default=1, help="load-generator processes (share connections)"
    )
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.connections < 1 or args.processes < 1:
        parser.error("--seconds must be > 0, --connections and --processes >= 1")
    processes = min(args.processes, args.connections)

    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as state_dir:
        parent, child = ctx.Pipe(duplex=False)
        server = ctx.Process(target=_run_sandbox, args=(state_dir, child), daemon=True)
        server.start()
        child.close()
        try:
            if not parent.poll(60):
                raise SystemExit("the sandbox did not start within 60 s")
            port, control_token, bundle = parent.recv()
            token = _get_token(port, control_token, bundle)
            print(
                f"sandbox pid {server.pid} on 127.0.0.1:{port}; {args.connections} connections "
                f"from {processes} process(es); {args.seconds:g} s of load"
            )
            start_at = time.time() + 2.0  # connect + warm up before the window opens
            stop_at = start_at + args.seconds
            pipes, workers = [], []
            for i in range(processes):
                share = args.connections // processes + (i < args.connections % processes)
                recv, send = ctx.Pipe(duplex=False)
                worker = ctx.Process(
                    target=_run_load,
                    args=(port, bundle, token, share, start_at, stop_at, send),
                    daemon=True,
                )
                worker.start()
                send.close()
                pipes.append(recv)
                workers.append(worker)
            time.sleep(max(0.0, start_at - time.time()))
            cpu_before = _cpu_seconds(server.pid), [_cpu_seconds(w.pid) for w in workers]
            time.sleep(max(0.0, stop_at - time.time()))
            cpu_after = _cpu_seconds(server.pid), [_cpu_seconds(w.pid) for w in workers]
            latencies: list[float] = []
            errors: list[str] = []
            for recv, worker in zip(pipes, workers, strict=True):
                if not recv.poll(args.seconds + 60):
                    errors.append(f"load process {worker.pid} did not report")
                    worker.kill()
                    continue
                lats, errs = recv.recv()
                latencies.extend(lats)
                errors.extend(errs)
                worker.join(10)
        finally:
            if server.pid is not None and server.is_alive():
                os.kill(server.pid, signal.SIGTERM)
            server.join(10)
            if server.is_alive():
                server.kill()

    latencies.sort()
    rate = len(latencies) / args.seconds
    ratio = rate / AKV_LIMIT_PER_S
    print(f"requests:     {len(latencies)} OK in {args.seconds:g} s")
    print(f"requests/s:   {rate:,.0f}")
    print(
        f"latency ms:   p50 {_percentile(latencies, 0.50) * 1000:.2f}  "
        f"p99 {_percentile(latencies, 0.99) * 1000:.2f}  "
        f"mean {statistics.fmean(latencies) * 1000 if latencies else float('nan'):.2f}"
    )
    print(f"errors:       {len(errors)}")
    if cpu_before[0] is not None and cpu_after[0] is not None and latencies:
        server_cpu = cpu_after[0] - cpu_before[0]
        load_cpu = sum(
            (a or 0.0) - (b or 0.0) for a, b in zip(cpu_after[1], cpu_before[1], strict=True)
        )
        print(
            f"server CPU:   {server_cpu:.2f} s in {args.seconds:g} s "
            f"({server_cpu / args.seconds:.0%} of one core), "
            f"{server_cpu / len(latencies) * 1e6:.0f} us per request; "
            f"load generator {load_cpu / args.seconds:.0%}"
        )
    for err in sorted(set(errors))[:5]:
        print(f"  {errors.count(err)} x {err}")
    print(
        f"vs Key Vault: {ratio:.1f}x the per-vault limit of {AKV_LIMIT_PER_S:.0f} GET/s "
        f"(4,000 per 10 s)"
    )
    met = rate >= TARGET_PER_S and not errors
    verdict = "MET" if met else "NOT MET"
    print(f"target:       >= {TARGET_PER_S:,.0f} GET/s (4x) with no errors: {verdict}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
