"""Notebook 04's steps: store the samples, read them through every layer, run the sample DAG.

Layers, each checked on its own so a failure points at one: the SDK (SecretClient), Airflow's
AzureKeyVaultBackend in this kernel, Airflow's ``Variable.get`` in a child process whose
AIRFLOW_HOME is scratch, and ``airflow dags test akv_sample``. Only fingerprints leave the
code that reads a value.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.keyvault.secrets import SecretClient

from helpers.backend_config import lint_dags
from helpers.backend_config.names import Kind, secret_name_for
from helpers.backend_config.render import render, secret_placeholder
from helpers.backend_config.scratch_airflow import ScratchAirflow
from helpers.common.envscope import scoped_environ
from helpers.common.logs import quiet_sdk_logs
from helpers.common.paths import DAGS_DIR
from helpers.findings import Finding, Severity, has_errors
from helpers.findings.codes.perm import (
    FORBIDDEN_BY_FIREWALL,
    FORBIDDEN_BY_POLICY,
    FORBIDDEN_BY_RBAC,
)
from helpers.findings.codes.run import (
    AIRFLOW_READ,
    AIRFLOW_READ_FAILED,
    DAG_FAILED,
    DAG_SUCCEEDED,
    SAMPLE_PRESENT,
    SAMPLE_STORED,
    SKIPPED,
)
from helpers.findings.codes.secret import BACKEND_DISAGREES
from helpers.findings.codes.svc import UNEXPECTED
from helpers.probe import AUTHORIZED_CODES, diagnose, probe
from helpers.runbook.config import ids_by_kind
from helpers.runbook.connect import Connection, scratch_dir
from helpers.runbook.results import ANSI_RE, Section, StepResult, never_raises, redact
from helpers.settings import Settings, shown_env_name, vault_name_from_url

__all__ = [
    "SAMPLE_DAG",
    "SEED_DAG_CHANGES",
    "Retrieval",
    "dag_outcome",
    "explain_sample_dag",
    "retrieval",
]

RESULT_MARK = "AKV_RUNBOOK_RESULT "
SAMPLE_DAG = "akv_sample"
SAMPLE_VALUES = {
    Kind.VARIABLE: "sample value stored by the akv-runbook notebook",
    Kind.CONNECTION: '{"conn_type": "http", "host": "api.example.invalid", "port": 443}',
}

_READ_CODE = """
import json
from airflow.sdk import Connection, Variable
from helpers.common.redact import fingerprint
out = []
for kind, key in {targets!r}:
    try:
        if kind == "variable":
            out.append({{"kind": kind, "id": key, "fingerprint": fingerprint(Variable.get(key))}})
        else:
            conn = Connection.get(key)
            out.append({{"kind": kind, "id": key, "conn_type": conn.conn_type}})
    except Exception as err:
        out.append({{"kind": kind, "id": key, "error": type(err).__name__}})
print({mark!r} + json.dumps(out))
"""


def _cause(text: str) -> list[Finding]:
    """The cause Airflow logged, as the probe's finding (only when one is recognised)."""
    for spec, marker in (
        (FORBIDDEN_BY_RBAC, "ForbiddenByRbac"),
        (FORBIDDEN_BY_POLICY, "ForbiddenByPolicy"),
        (FORBIDDEN_BY_FIREWALL, "ForbiddenByFirewall"),
    ):
        if marker in text:
            return [spec("Airflow's log", f"Airflow logged {marker}")]
    tail = text[-20000:]
    finding = diagnose(RuntimeError(redact(tail, limit=20000)), subject="Airflow's log")
    return [] if finding.code == UNEXPECTED.code else [finding]


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in ANSI_RE.sub("", text).splitlines() if ln.strip()]
    meaningful = [ln for ln in lines if re.search(r"Error|error|Exception|failed|Failed", ln)]
    return redact((meaningful or lines or ["(no output)"])[-1], limit=300)


class Retrieval:
    """04's steps; each method returns a :class:`StepResult` and never raises."""

    def __init__(self, conn: Connection, settings: Settings):
        self.conn = conn
        self.settings = settings
        self.sdk_fingerprints: dict[str, str] = {}
        self.sdk_authorized: bool | None = None  # None: the SDK step has not run

    def _targets(self) -> list[tuple[Kind, str]]:
        return [(kind, key) for kind, ids in ids_by_kind(self.settings) for key in ids]

    @never_raises("Store the samples")
    def store_samples(self) -> StepResult:
        """Sandbox: store each missing sample as its operator. Real Azure: show the command."""
        if not self.conn.is_sandbox:
            vault = vault_name_from_url(self.settings.vault_url) or "<vault>"
            commands = "\n".join(
                f"az keyvault secret set --vault-name {vault} --name {name} --value '<value>'"
                for kind, key in self._targets()
                if (name := secret_name_for(kind, key, self.settings))
            )
            why = "outside the sandbox the runbook does not write to your vault"
            return StepResult(
                "Store the samples",
                [SKIPPED("samples", why)],
                [Section("Store them yourself", commands or "(no ids)")],
            )
        client = SecretClient(
            self.settings.vault_url, self.conn.operator_credential(), retry_total=1
        )
        findings: list[Finding] = []
        for kind, key in self._targets():
            name = secret_name_for(kind, key, self.settings)
            subject = f"{kind.value} {key}"
            if not name:
                findings.append(SKIPPED(subject, f"{kind.value} lookups are disabled"))
                continue
            try:
                client.get_secret(name)
                findings.append(SAMPLE_PRESENT(subject, f"secret {name!r} exists"))
            except ResourceNotFoundError:
                try:
                    client.set_secret(name, SAMPLE_VALUES[kind])
                    findings.append(SAMPLE_STORED(subject, f"stored secret {name!r}"))
                except Exception as err:  # noqa: BLE001 - a finding
                    findings.append(diagnose(err, subject=subject, settings=self.settings))
            except Exception as err:  # noqa: BLE001 - a finding
                findings.append(diagnose(err, subject=subject, settings=self.settings))
        note = f"Stored as {self.conn.operator}; the backend itself only ever reads."
        return StepResult("Store the samples", findings, [Section("", note, "note")])

    def _remember(self, findings: Iterable[Finding]) -> None:
        for f in findings:
            if f.code == "AKV-SECRET-001" and f.data.get("fingerprint"):
                self.sdk_fingerprints[f.subject] = f.data["fingerprint"]

    @never_raises("Read through the SDK")
    def read_with_sdk(self) -> StepResult:
        """Sign in as the backend and read each secret with azure-keyvault-secrets."""
        result = probe(self.settings, through_backend=False, check_roles=False, timeout=10)
        self._remember(result.findings)
        self.sdk_authorized = any(f.code in AUTHORIZED_CODES for f in result.findings)
        return StepResult("Read through the SDK", list(result.findings))

    @never_raises("Read through AzureKeyVaultBackend")
    def read_with_backend(self) -> StepResult:
        """Read each secret through Airflow's real AzureKeyVaultBackend, next to the SDK."""
        if self.sdk_authorized is not False:  # else the probe stops before the backend
            _import_airflow()
            quiet_sdk_logs()  # importing Airflow configured logging
        result = probe(self.settings, through_backend=True, check_roles=False, timeout=10)
        self._remember(result.findings)
        return StepResult("Read through AzureKeyVaultBackend", list(result.findings))

    def _child_env(self) -> tuple[dict[str, str], list[Finding]]:
        """The rendered configuration as a process environment, the secret filled in."""
        rendered = render(self.settings, "env")
        secret_env = str(self.settings.client_secret_env or "AZURE_CLIENT_SECRET").strip()
        placeholder = secret_placeholder(secret_env)
        env = {
            k: (os.environ.get(secret_env, "") if v == placeholder else v)
            for k, v in rendered.env.items()
        }
        return env, [f for f in rendered.findings if f.severity is Severity.ERROR]

    def _scratch(self, home: Path) -> Any:
        env, problems = self._child_env()
        base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
        return ScratchAirflow.create(home, env, base_env=base), env, problems

    @never_raises("Airflow's Variable.get")
    def variable_get(self) -> StepResult:
        """Airflow's own Variable.get / Connection.get, in a child process whose AIRFLOW_HOME is
        scratch and whose configuration is exactly the rendered overrides. Only fingerprints
        leave the child."""
        targets = [(kind.value, key) for kind, key in self._targets()]
        with tempfile.TemporaryDirectory(prefix="akv-runbook-airflow-") as tmp:
            airflow, env, problems = self._scratch(Path(tmp) / "airflow-home")
            if problems:
                return StepResult("Airflow's Variable.get", problems)
            started = time.perf_counter()
            run = airflow.python(_READ_CODE.format(targets=targets, mark=RESULT_MARK), timeout=180)
            seconds = time.perf_counter() - started
        line = next((ln for ln in run.stdout.splitlines() if ln.startswith(RESULT_MARK)), None)
        secret_note = (
            f"(the client secret, from ${shown_env_name(self.settings.client_secret_env)})"
        )
        applied = [["variable", "value"]] + [
            [k, secret_note if k == "AZURE_CLIENT_SECRET" else v] for k, v in env.items()
        ]
        sections = [Section("Configuration applied in the child process", applied, "table")]
        if line is None:
            detail = f"the child process exited {run.returncode}: {_last_line(run.stderr)}"
            findings = [AIRFLOW_READ_FAILED("Airflow", detail), *_cause(run.stdout + run.stderr)]
            return StepResult("Airflow's Variable.get", findings, sections)
        findings = []
        for item in json.loads(line.removeprefix(RESULT_MARK)):
            subject = f"{item['kind']} {item['id']}"
            call = "Variable.get" if item["kind"] == "variable" else "Connection.get"
            if "error" in item:
                detail = f"{call}({item['id']!r}) raised {item['error']}"
                findings.append(AIRFLOW_READ_FAILED(subject, detail))
                continue
            if item["kind"] == "variable":
                fp = item["fingerprint"]
                same = self.sdk_fingerprints.get(subject)
                agree = "" if same is None else (", same as the SDK read" if same == fp else "")
                if same is not None and same != fp:
                    findings.append(BACKEND_DISAGREES(subject, f"SDK {same}; Variable.get {fp}"))
                    continue
                detail = f"{call}({item['id']!r}) -> {fp}{agree}"
            else:
                detail = f"{call}({item['id']!r}) -> a {item['conn_type']} connection"
            findings.append(AIRFLOW_READ(subject, detail, fingerprint=item.get("fingerprint")))
        if has_errors(findings):
            findings += _cause(run.stdout + run.stderr)
        return StepResult(
            "Airflow's Variable.get", findings, sections, {"seconds": round(seconds, 1)}
        )

    @never_raises("airflow dags test")
    def run_dag(self, run: bool = True, timeout: float = 300) -> StepResult:
        """``airflow db migrate`` then ``airflow dags test akv_sample`` in a scratch
        AIRFLOW_HOME configured by the rendered overrides (about 30-40 s)."""
        if not run:
            detail = "run_dag is False; set it to True to run the DAG (about 30-40 s)"
            return StepResult("airflow dags test", [SKIPPED("dags test", detail)])
        with tempfile.TemporaryDirectory(prefix="akv-runbook-dag-") as tmp:
            airflow, _, problems = self._scratch(Path(tmp) / "airflow-home")
            if problems:
                return StepResult("airflow dags test", problems)
            started = time.perf_counter()
            migrate = airflow.airflow("db", "migrate", timeout=timeout)
            if migrate.returncode != 0:
                detail = f"airflow db migrate exited {migrate.returncode}: "
                return StepResult(
                    "airflow dags test",
                    [DAG_FAILED(SAMPLE_DAG, detail + _last_line(migrate.stderr))],
                )
            test = airflow.airflow("dags", "test", SAMPLE_DAG, timeout=timeout)
            seconds = time.perf_counter() - started
        return dag_outcome(test.returncode, test.stdout + "\n" + test.stderr, seconds)


def dag_outcome(returncode: int, output: str, seconds: float) -> StepResult:
    """Read ``airflow dags test``'s output: did the task read the variable, did the run
    succeed? Only the DAG's own fingerprint line and the run's state are shown."""
    output = ANSI_RE.sub("", output)
    read = re.search(r"Read sample-variable from Key Vault: (len=\d+(?: hmac=[0-9a-f]+)?)", output)
    state = re.search(r"DagRun Finished: .*?\bstate=(\w+)", output)
    lines = []
    if read:
        lines.append(f"task get_variable: Read sample-variable from Key Vault: {read.group(1)}")
    if state:
        lines.append(f"DagRun {SAMPLE_DAG} finished: state={state.group(1)}")
    sections = [Section("From Airflow's output", "\n".join(lines) or "(no task output)")]
    if returncode == 0 and read and state and state.group(1) == "success":
        detail = f"the task read sample-variable: {read.group(1)} (in {seconds:.0f} s)"
        finding = DAG_SUCCEEDED(SAMPLE_DAG, detail, fingerprint=read.group(1))
        return StepResult("airflow dags test", [finding], sections)
    detail = f"exit {returncode}: {_last_line(output)}"
    return StepResult(
        "airflow dags test", [DAG_FAILED(SAMPLE_DAG, detail), *_cause(output)], sections
    )


def _import_airflow() -> None:
    """Import Airflow's backend once, with a scratch AIRFLOW_HOME removed when the kernel
    exits (importing airflow writes airflow.cfg and logs/ there)."""
    if "airflow" in sys.modules:
        return
    home = scratch_dir("airflow-home")
    with (
        scoped_environ({"AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}),
        contextlib.suppress(Exception),  # the probe reports AKV-SVC-004 itself
    ):
        # Airflow is heavy (seconds) and configures logging on import: only when a step needs it.
        import airflow.providers.microsoft.azure.secrets.key_vault  # noqa: F401


def retrieval(conn: Connection, settings: Settings) -> Retrieval:
    return Retrieval(conn, settings)


SEED_DAG_CHANGES = [
    ["the seed's adf.py", "dags/akv_sample.py", "why"],
    [
        "from airflow.operators.python_operator import PythonOperator",
        "from airflow.providers.standard.operators.python import PythonOperator",
        "python_operator was removed in Airflow 3",
    ],
    [
        "from airflow.models import Variable; from airflow import DAG",
        "from airflow.sdk import DAG, Variable",
        "Airflow 3's task SDK is the public API for DAG authors",
    ],
    ["schedule_interval=timedelta(days=1)", "schedule=timedelta(days=1)", "removed in Airflow 3"],
    ["email, email_on_failure, email_on_retry", "(dropped)", "deprecated default_args"],
    ["retries=1, retry_delay=5 min", "retries=0", "a failed read shows at once in dags test"],
    [
        "logger.info(variable_value)",
        "logs len=… hmac=… only",
        "Airflow masks secrets in task logs only, not everywhere a value ends up",
    ],
    [
        "Variable.get inside the task",
        "Variable.get inside the task (kept)",
        "at module level it would hit Key Vault on every DAG parse",
    ],
]


@never_raises("The sample DAG")
def explain_sample_dag() -> StepResult:
    """What changed from the seed's DAG, and a lint of dags/ for parse-time lookups."""
    return StepResult(
        "The sample DAG",
        lint_dags(DAGS_DIR),
        [Section("What changed from the seed's DAG", SEED_DAG_CHANGES, "table")],
    )
