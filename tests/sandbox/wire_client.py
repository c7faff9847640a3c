"""Raw-wire helpers for the sandbox's malformed-input tests: a sandbox in a child process
whose stderr is kept (so a test can assert that no traceback reached it), and a client that
sends exact bytes to the proxy, the control API or, through CONNECT + TLS, an emulated host.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ENTRA = "login.microsoftonline.com"
ARM = "management.azure.com"
VAULT_HOST = "airflow-sandbox-kv.vault.azure.net"

_CHILD = """
import sys
from pathlib import Path
from helpers.sandbox.runtime import serve_forever
from helpers.sandbox.scenario import load_scenario
serve_forever(scenario=load_scenario(None), state_dir=Path(sys.argv[1]), port=0,
              ephemeral=True, on_ready=lambda s: print(s.port, flush=True))
"""


class ChildSandbox:
    """``python -c <serve_forever>`` with stdout (the port) and stderr (kept in a file)."""

    def __init__(self, state_dir: Path):
        self.state_dir = state_dir
        self.stderr_path = state_dir.parent / f"{state_dir.name}-stderr.txt"
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self._tokens: dict[str, str] = {}

    def __enter__(self) -> ChildSandbox:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for var in ("HTTPS_PROXY", "https_proxy"):
            env.pop(var, None)
        self._stderr = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(self.state_dir)],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.strip().isdigit(), self.stderr()
        self.port = int(line)
        self.control_token = (self.state_dir / "control-token").read_text().strip()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._stderr.close()

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    @property
    def ca(self) -> Path:
        return self.state_dir / "ca.pem"

    def control(self, method: str, path: str, body: Any = None) -> tuple[int | None, bytes]:
        data = b"" if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.control_token}"}
        return exchange(self, None, request_bytes(method, path, data, headers, host="127.0.0.1"))

    def env(self, principal: str = "admin") -> dict[str, str]:
        status, body = self.control("GET", f"/_sandbox/env?principal={principal}")
        assert status == 200, body
        return json.loads(body.split(b"\r\n\r\n", 1)[1])

    def token(self, resource: str, principal: str = "admin") -> str:
        """A real access token from the sandbox's token endpoint (cached per resource)."""
        key = f"{principal}|{resource}"
        if key not in self._tokens:
            env = self.env(principal)
            form = urllib.parse.urlencode(
                {
                    "grant_type": "client_credentials",
                    "client_id": env["AZURE_CLIENT_ID"],
                    "client_secret": env["AZURE_CLIENT_SECRET"],
                    "scope": f"{resource}/.default",
                }
            ).encode()
            raw = request_bytes(
                "POST",
                f"/{env['AZURE_TENANT_ID']}/oauth2/v2.0/token",
                form,
                {"Content-Type": "application/x-www-form-urlencoded"},
                host=ENTRA,
            )
            status, reply = exchange(self, ENTRA, raw)
            assert status == 200, reply
            self._tokens[key] = json.loads(reply.split(b"\r\n\r\n", 1)[1])["access_token"]
        return self._tokens[key]


def request_bytes(
    method: str,
    target: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    host: str,
) -> bytes:
    """A well-framed HTTP/1.1 request that closes the connection after the answer."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    hdrs = {"Connection": "close", **(headers or {})}
    if body or method in ("PUT", "POST", "PATCH"):
        hdrs.setdefault("Content-Length", str(len(body)))
    lines += [f"{k}: {v}" for k, v in hdrs.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _read_all(sock: socket.socket, deadline: float) -> bytes:
    chunks = []
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError, OSError):
            break
        if not data:
            break
        chunks.append(data)
        reply = b"".join(chunks)
        head, sep, body = reply.partition(b"\r\n\r\n")
        if sep:
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length" and len(body) >= int(value):
                    return reply
    return b"".join(chunks)


def status_of(reply: bytes) -> int | None:
    parts = reply.split(b" ", 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return None


def exchange(
    sandbox: ChildSandbox,
    host: str | None,
    raw: bytes,
    timeout: float = 5.0,
    *,
    half_close: bool = False,
) -> tuple[int | None, bytes]:
    """Send ``raw`` to the control API (host None) or, through CONNECT + TLS, to ``host``;
    return (status, whole reply). Status None: the connection ended without an answer.
    ``half_close``: end the sending side after ``raw`` (plain connections only), as a client
    that has nothing more to say."""
    deadline = time.monotonic() + timeout
    sock = socket.create_connection(("127.0.0.1", sandbox.port), timeout=timeout)
    try:
        if host is not None:
            sock.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
            established = b""
            while b"\r\n\r\n" not in established:
                data = sock.recv(4096)
                if not data:
                    return None, established
                established += data
            if status_of(established) != 200:
                return status_of(established), established
            ctx = ssl.create_default_context(cafile=str(sandbox.ca))
            sock = ctx.wrap_socket(sock, server_hostname=host)
        with contextlib.suppress(OSError):  # the server may answer and close before reading all
            sock.sendall(raw)
            if half_close and host is None:
                sock.shutdown(socket.SHUT_WR)
        reply = _read_all(sock, deadline)
        return status_of(reply), reply
    finally:
        sock.close()
