"""Running the sandbox: in the foreground (CLI), in a background thread (Python, tests),
and talking to a running one (the control client)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from helpers.common.facts import SANDBOX_STATE_VAR
from helpers.common.paths import state_home

from .certs import ensure_certificates
from .scenario import Scenario, load_scenario
from .server import SandboxServer, install_uvloop, state_file
from .state import CREDENTIAL_KINDS, SandboxState

__all__ = [
    "CA_VARS",
    "CREDENTIAL_KINDS",
    "CREDENTIAL_VARS",
    "DEFAULT_PORT",
    "PROXY_VARS",
    "Sandbox",
    "SandboxClient",
    "SandboxNotRunning",
    "default_state_dir",
    "proxy_environment",
    "serve_forever",
]

DEFAULT_PORT = 47443
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy")
CA_VARS = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")
# Variables some credential kind sets: switching kinds unsets those the new kind does not
# set, so that a shell is never left with two identities (or an HTTP_PROXY for IMDS).
CREDENTIAL_VARS = (
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TOKEN_CREDENTIALS",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "HTTP_PROXY",
    "http_proxy",
)


class SandboxNotRunning(RuntimeError):
    pass


def default_state_dir() -> Path:
    if os.environ.get(SANDBOX_STATE_VAR):
        return Path(os.environ[SANDBOX_STATE_VAR])
    return state_home() / "sandbox"


def proxy_environment(port: int, bundle: Path) -> dict[str, str]:
    """What a shell needs so that unmodified clients reach the sandbox."""
    proxy = f"http://127.0.0.1:{port}"
    env = {
        "HTTPS_PROXY": proxy,
        "https_proxy": proxy,
        "NO_PROXY": "localhost,127.0.0.1,::1",
        "no_proxy": "localhost,127.0.0.1,::1",
    }
    env.update({var: str(bundle) for var in CA_VARS})
    return env


class SandboxClient:
    """The control API of a running sandbox (reset, seed, faults, status)."""

    def __init__(self, port: int, token: str, host: str = "127.0.0.1"):
        self.port = port
        self.base = f"http://{host}:{port}/_sandbox"
        self.token = token
        # Never route control calls through a proxy, whatever the environment says.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    @classmethod
    def from_state_dir(cls, state_dir: Path | None = None) -> SandboxClient:
        state_dir = Path(state_dir or default_state_dir())
        try:
            info = json.loads(state_file(state_dir).read_text())
            token = (state_dir / "control-token").read_text().strip()
            port = int(info["port"])
            if not 0 < port < 65536:
                raise ValueError(port)
        except (OSError, ValueError, KeyError, TypeError):
            raise SandboxNotRunning(
                f"no sandbox is running with state dir {state_dir} "
                "(start one with: akv-runbook sandbox start)"
            ) from None
        return cls(port, token)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)  # noqa: S310
        req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with self._opener.open(req, timeout=10) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            try:
                detail = json.loads(err.read() or b"{}").get("error", {}).get("message", "")
            except (ValueError, AttributeError):
                detail = "(not a sandbox answer)"
            raise RuntimeError(f"sandbox control {method} {path}: {err.code} {detail}") from None
        except urllib.error.URLError as err:
            raise SandboxNotRunning(f"sandbox not reachable at {self.base}: {err.reason}") from None

    def status(self) -> dict[str, Any]:
        return self.call("GET", "/status")

    def env(self, principal: str | None = None, credential: str | None = None) -> dict[str, str]:
        """The principal's variables for a credential kind (CREDENTIAL_KINDS; default
        client-secret). For workload-identity the sandbox writes the projected token file."""
        query = {"principal": principal, "credential": credential}
        encoded = urllib.parse.urlencode({k: v for k, v in query.items() if v})
        return self.call("GET", "/env" + (f"?{encoded}" if encoded else ""))

    def reset(self) -> None:
        self.call("POST", "/reset", {})

    def seed(self, secrets: dict[str, str], vault: str | None = None) -> None:
        self.call("POST", "/seed", {"vault": vault, "secrets": secrets})

    def mark(self) -> int:
        """The request log's last sequence number: count what happens after it."""
        return int(self.call("GET", "/requests?limit=0")["last"])

    def requests(self, after: int = 0) -> dict[str, Any]:
        """The request log after sequence number ``after``, every page of it: records, next
        (ask after it next time), dropped (records the ring lost before they were read)."""
        records: list[dict[str, Any]] = []
        dropped = 0
        while True:
            page = self.call("GET", f"/requests?after={int(after)}")
            records.extend(page["records"])
            dropped += page["dropped"]
            if not page["records"] or page["next"] >= page["last"]:
                return {"records": records, "next": page["next"], "dropped": dropped}
            after = page["next"]

    def add_fault(self, kind: str, **options: Any) -> dict[str, Any]:
        return self.call("POST", "/faults", {"kind": kind, **options})

    def clear_faults(self) -> None:
        self.call("DELETE", "/faults")

    def set_propagation_delay(self, seconds: float) -> None:
        self.call("POST", "/propagation-delay", {"seconds": seconds})

    def expire_client_secret(self, app: str | None = None) -> None:
        self.call("POST", "/expire-client-secret", {"app": app})

    def disable_secret(self, name: str, vault: str | None = None, *, enable: bool = False):
        self.call("POST", "/disable-secret", {"vault": vault, "name": name, "enable": enable})

    def set_firewall(self, state: str, vault: str | None = None) -> None:
        self.call("POST", "/firewall", {"vault": vault, "state": state})


class Sandbox:
    """The sandbox in a background thread of this process.

    As a context manager it also applies the environment (proxy, CA bundle and the
    principal's AZURE_* variables) to ``os.environ`` and restores it on exit::

        with Sandbox(ephemeral=True) as sb:
            SecretClient(os.environ["AZURE_KEYVAULT_URL"], DefaultAzureCredential())
    """

    def __init__(
        self,
        *,
        scenario: str | Path | Scenario | None = None,
        state_dir: str | Path | None = None,
        port: int = 0,
        ephemeral: bool = False,
        principal: str | None = None,
        credential: str | None = None,
    ):
        self.scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        self.state_dir = Path(state_dir) if state_dir else default_state_dir()
        self.requested_port = port
        self.ephemeral = ephemeral
        self.principal = principal
        self.credential = credential
        self.server: SandboxServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._saved_env: dict[str, str | None] = {}

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> Sandbox:
        certs = ensure_certificates(self.state_dir)
        self.state = SandboxState(self.scenario, self.state_dir, ephemeral=self.ephemeral)
        self.server = SandboxServer(self.state, certs, port=self.requested_port)
        self.certs = certs
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = install_uvloop()()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                loop.run_until_complete(self.server.start())
            except BaseException as err:  # noqa: BLE001 - reported to the starting thread
                failure.append(err)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.server.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="akv-sandbox", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> Sandbox:
        self.start()
        self.apply_environment()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.restore_environment()
        self.stop()

    # -- environment ---------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self.server is not None, "start the sandbox first"
        return self.server.port

    @property
    def ca_bundle(self) -> Path:
        return self.certs.bundle

    @property
    def client(self) -> SandboxClient:
        return SandboxClient(self.port, self.state.control_token)

    def environment(
        self, principal: str | None = None, credential: str | None = None
    ) -> dict[str, str]:
        env = proxy_environment(self.port, self.ca_bundle)
        env.update(self.client.env(principal or self.principal, credential or self.credential))
        return env

    def apply_environment(
        self, principal: str | None = None, credential: str | None = None
    ) -> dict[str, str]:
        """Apply the environment of ``credential`` (default: the sandbox's, else
        client-secret) to os.environ, unsetting the other kinds' variables."""
        env = self.environment(principal, credential)
        for key in CREDENTIAL_VARS:
            if key not in env and key in os.environ:
                self._saved_env.setdefault(key, os.environ.get(key))
                del os.environ[key]
        for key, value in env.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        return env

    def restore_environment(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def secret_values(self) -> list[str]:
        return self.state.secret_values()


def serve_forever(
    *, scenario: Scenario, state_dir: Path, port: int, ephemeral: bool, on_ready=None
) -> None:
    """Run in the foreground until Ctrl-C or SIGTERM, then shut down cleanly."""
    certs = ensure_certificates(state_dir)
    state = SandboxState(scenario, state_dir, ephemeral=ephemeral)
    server = SandboxServer(state, certs, port=port)
    loop = install_uvloop()()
    asyncio.set_event_loop(loop)
    stopping = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)

    async def main() -> None:
        await server.start()
        if on_ready:
            on_ready(server)
        await stopping.wait()
        await server.stop()

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
