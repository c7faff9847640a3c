"""Where this kernel's checks run: :func:`connect` to the sandbox or to real Azure.

In the sandbox, a kernel reuses the sandbox whose port and state directory its environment
names (``make lab``, ``make demo``) or starts one in a background thread; scratch
directories it creates are removed at exit, and those of dead kernels on the next start.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.common.facts import SANDBOX_PORT_VAR, SANDBOX_STATE_VAR
from helpers.common.logs import quiet_sdk_logs
from helpers.findings import Finding, has_errors
from helpers.findings.codes.run import ENVIRONMENT_UNAVAILABLE
from helpers.probe import NETWORK_VARS
from helpers.runbook.results import KERNEL, Section, StepResult, redact
from helpers.sandbox import (
    CREDENTIAL_KINDS,
    CREDENTIAL_VARS,
    Sandbox,
    SandboxClient,
    default_state_dir,
)
from helpers.vault.credentials import OPERATOR_LABELS, operator_credential

__all__ = ["DEFAULT_CREDENTIAL", "SANDBOX_DEFAULTS", "Connection", "connect", "scratch_dir"]

# The notebooks' ``credential`` parameter: a kind of `akv-runbook sandbox env --credential`.
DEFAULT_CREDENTIAL = "client-secret"

# The default scenario's values: what the notebooks' parameters default to.
SANDBOX_DEFAULTS = {
    "vault_url": "https://airflow-sandbox-kv.vault.azure.net/",
    "tenant_id": "5f0c6e2a-3b1d-4c8e-9a7f-0d2b4e6f8a10",
    "client_id": "3c9e1f7a-2d4b-4a6c-8e0f-5b7d9f1a3c42",
}


@dataclass
class Connection:
    """Where this kernel's checks run: the sandbox or real Azure (the process environment)."""

    environment: str
    vault_url: str = ""
    tenant_id: str = ""
    client_id: str = ""
    subscription_id: str = ""
    credential: str = DEFAULT_CREDENTIAL
    sandbox: Sandbox | None = None
    control: SandboxClient | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not has_errors(self.findings)

    @property
    def is_sandbox(self) -> bool:
        return self.environment == "sandbox"

    def admin_environ(self) -> dict[str, str]:
        """Sandbox only: the environment of its 'admin' principal (Owner + Key Vault
        Administrator), for performing grants and storing samples. Raises otherwise."""
        if self.control is None:
            raise RuntimeError(f"no sandbox control API in environment {self.environment!r}")
        env = {k: os.environ[k] for k in NETWORK_VARS if os.environ.get(k)}
        env.update(self.control.env("admin"))
        return env

    def operator_credential(self) -> Any:
        """Who grants and writes: the sandbox's admin, or (real Azure) your own sign-in
        (az login, managed identity) — never the backend's AZURE_CLIENT_SECRET."""
        if self.is_sandbox and self.control is None:
            raise RuntimeError(f"no sandbox control API in environment {self.environment!r}")
        chosen = operator_credential(self._operator_choice, control=self.control)
        if isinstance(chosen, Finding):  # the sandbox always exports all three AZURE_* values
            raise RuntimeError(chosen.detail)
        return chosen.credential

    @property
    def operator(self) -> str:
        return OPERATOR_LABELS[self._operator_choice]

    @property
    def _operator_choice(self) -> str:
        return "sandbox-admin" if self.is_sandbox else "signed-in"

    def describe(self) -> StepResult:
        port = getattr(self.control, "port", None)
        if self.is_sandbox:
            where = "the offline sandbox" + (f" (proxy 127.0.0.1:{port})" if port else "")
        elif self.environment == "azure":
            where = "real Azure, with this process's environment"
        else:
            where = f"{self.environment} (unknown)"
        rows = [
            ["", "this kernel"],
            ["environment", where],
            ["vault", self.vault_url or "(not set)"],
            ["tenant", self.tenant_id or "(not set)"],
            ["credential", self.credential],
            ["client id", self.client_id or "(not set)"],
            ["subscription", self.subscription_id or "(not set)"],
            ["grants and samples made by", self.operator],
        ]
        return StepResult("Connection", list(self.findings), [Section("", rows, "table")])

    def _repr_html_(self) -> str:
        return self.describe()._repr_html_()

    def __str__(self) -> str:
        return str(self.describe())


def connect(
    environment: str = "sandbox",
    *,
    scenario: str | os.PathLike[str] | None = None,
    principal: str | None = None,
    notebook: str | None = None,
    credential: str | None = None,
) -> Connection:
    """Connect this kernel to the sandbox or to real Azure; never raises.

    ``"sandbox"``: reuse the sandbox whose environment this process already has (``make lab``
    and ``make demo`` set AKV_SANDBOX_PORT), else start one in a background thread of this
    kernel (always so when ``scenario``, a scenario YAML, is given) and apply its environment.
    ``principal`` picks the sandbox identity whose AZURE_* variables the kernel gets (default:
    the backend's). ``credential`` (a kind of ``akv-runbook sandbox env --credential``:
    client-secret, managed-identity, imds, workload-identity) sets up the kernel's environment
    as that command does: the sandbox answers it (for workload identity it also writes the
    projected token file), and the other kinds' variables are unset. ``"azure"``: use the
    process environment as it is. ``notebook`` names the notebook in every
    :func:`~helpers.runbook.results.show` payload.
    """
    if notebook:
        KERNEL.notebook = str(notebook)
    quiet_sdk_logs()
    kind = str(environment or "").strip().lower()
    how = str(credential or DEFAULT_CREDENTIAL).strip().lower().replace("_", "-")
    if how not in CREDENTIAL_KINDS:
        choices = ", ".join(CREDENTIAL_KINDS)
        return Connection(
            kind or "(empty)",
            credential=how,
            findings=[ENVIRONMENT_UNAVAILABLE("credential", f"{credential!r}: use {choices}")],
        )
    if kind == "azure":
        return _connection("azure", credential=how)
    if kind != "sandbox":
        return Connection(
            kind or "(empty)",
            findings=[
                ENVIRONMENT_UNAVAILABLE("environment", f"{environment!r}: use sandbox or azure")
            ],
        )
    try:
        if scenario is None and os.environ.get(SANDBOX_PORT_VAR):
            control = _reuse_sandbox(principal, how)
            return _connection("sandbox", control=control, credential=how)
        sandbox = _start_sandbox(scenario, principal, how)
        return _connection("sandbox", sandbox=sandbox, control=sandbox.client, credential=how)
    except Exception as err:  # noqa: BLE001 - reported as a finding
        detail = f"{type(err).__name__}: {redact(str(err), limit=300)}"
        return Connection(
            "sandbox", credential=how, findings=[ENVIRONMENT_UNAVAILABLE("sandbox", detail)]
        )


def _connection(kind: str, **kwargs: Any) -> Connection:
    env = os.environ
    return Connection(
        kind,
        vault_url=env.get("AZURE_KEYVAULT_URL", ""),
        tenant_id=env.get("AZURE_TENANT_ID", ""),
        client_id=env.get("AZURE_CLIENT_ID", ""),
        subscription_id=env.get("AZURE_SUBSCRIPTION_ID", ""),
        **kwargs,
    )


def _reuse_sandbox(principal: str | None, credential: str) -> SandboxClient:
    state_dir = Path(os.environ.get(SANDBOX_STATE_VAR) or default_state_dir())
    token = (state_dir / "control-token").read_text().strip()
    client = SandboxClient(int(os.environ[SANDBOX_PORT_VAR]), token)
    client.status()  # reachable?
    # The inherited environment is kept (make lab, make demo: the backend's client secret;
    # an audit run: whatever its identities need) unless another principal or kind is asked
    # for, or an earlier connect() of this kernel switched kinds.
    if principal or credential != DEFAULT_CREDENTIAL or _SWITCHED:
        env = client.env(principal, credential)
        for key in CREDENTIAL_VARS:
            if key not in env:
                os.environ.pop(key, None)
        os.environ.update(env)
        _SWITCHED[:] = [credential]
    return client


# The kind an earlier connect() of this kernel applied over the inherited environment.
_SWITCHED: list[str] = []


def _start_sandbox(
    scenario: str | os.PathLike[str] | None, principal: str | None, credential: str
) -> Sandbox:
    key = str(Path(scenario).resolve()) if scenario else ""
    sandbox = KERNEL.sandboxes.get(key)
    if sandbox is None:
        # Ephemeral: nothing to save, so no stop() at exit (its thread dies with the kernel).
        state_dir = scratch_dir("kernel")
        sandbox = Sandbox(scenario=scenario, state_dir=state_dir, ephemeral=True).start()
        KERNEL.sandboxes[key] = sandbox
    sandbox.apply_environment(principal, credential)
    return sandbox


_SCRATCH_RE = re.compile(r"akv-runbook-(?:kernel|airflow-home)-(\d+)-")


def scratch_dir(kind: str) -> str:
    """A temp dir for this kernel, removed at exit. A kernel that is killed (nbval, a
    timeout) never runs atexit, so dirs of processes that are gone are removed here."""
    for old in Path(tempfile.gettempdir()).glob("akv-runbook-*-*-*"):
        found = _SCRATCH_RE.match(old.name)
        if found and not _alive(int(found.group(1))):
            shutil.rmtree(old, ignore_errors=True)
    path = tempfile.mkdtemp(prefix=f"akv-runbook-{kind}-{os.getpid()}-")
    atexit.register(shutil.rmtree, path, True)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but not ours
        return True
    return True
