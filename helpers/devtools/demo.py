"""`make demo`: the seed document's setup, end to end, against the offline sandbox.

Each step prints what it did. Secret values never leave the child process that reads them:
only lengths and short fingerprints are shown.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from helpers.backend_config import settings_from_environment
from helpers.backend_config.names import secret_name
from helpers.backend_config.scratch_airflow import BACKEND, ScratchAirflow, seed_overrides
from helpers.common.redact import fingerprint, scrub_text
from helpers.findings import Finding
from helpers.sandbox import Sandbox
from helpers.vault.credentials import VAULT_SCOPE, backend_credential, identify

__all__ = [
    "READ_VARIABLE",
    "VARIABLE",
    "run_demo",
]

VARIABLE = "sample-variable"
READ_VARIABLE = """
import json, time
from airflow.sdk import Variable
from helpers.backend_config import settings_from_environment
from helpers.common.redact import fingerprint, scrub_text
from helpers.findings import Finding
from helpers.vault.credentials import VAULT_SCOPE, backend_credential, identify
started = time.perf_counter()
value = Variable.get({key!r})
print("AKV_DEMO_RESULT " + json.dumps({{"fingerprint": fingerprint(value),
      "seconds": round(time.perf_counter() - started, 2)}}))
"""


def run_demo(echo: Callable[[str], None], workdir: Path | None = None) -> int:
    """Run the demo; returns a process exit code (0 when Airflow read the variable).

    Scratch files (sandbox state, AIRFLOW_HOME) go to ``workdir`` if given, else to a
    temporary directory removed afterwards.
    """
    if workdir is not None:
        return _run(echo, Path(workdir))
    with tempfile.TemporaryDirectory(prefix="akv-demo-") as tmp:
        return _run(echo, Path(tmp))


def _run(echo: Callable[[str], None], root: Path) -> int:
    echo("akv-runbook demo: the seed document's Key Vault setup, run against the offline sandbox\n")
    with Sandbox(state_dir=root / "sandbox", ephemeral=True) as sandbox:
        env = sandbox.environment()
        vault_url = env["AZURE_KEYVAULT_URL"]
        status = sandbox.client.status()
        vault = status["vaults"][sandbox.scenario.default_vault]
        echo(f"[1/5] Sandbox listening on 127.0.0.1:{sandbox.port} (state {root / 'sandbox'})")
        echo(
            f"      vault {vault_url} ({vault['permission_model']}), CA bundle {sandbox.ca_bundle}"
        )

        settings, _ = settings_from_environment(env)  # what the backend reads from AZURE_*
        plan = backend_credential(settings, env)
        if isinstance(plan, Finding):
            echo(f"      FAILED: {plan.code} {plan.title}: {plan.detail}")
            return 1
        claims = identify(plan.build(), VAULT_SCOPE)
        echo("[2/5] Service principal signed in with client credentials (azure-identity)")
        echo(f"      tenant {claims['tid']}  client id {claims['appid']}")
        echo(f"      object id {claims['oid']}  <- role assignments name this one")

        overrides = seed_overrides(vault_url)
        echo("[3/5] Configuration overrides, exactly as the seed document writes them:")
        echo(f"      AIRFLOW__SECRETS__BACKEND={BACKEND}")
        echo(
            "      AIRFLOW__SECRETS__BACKEND_KWARGS="
            + overrides["AIRFLOW__SECRETS__BACKEND_KWARGS"]
        )
        echo(f"      AZURE_TENANT_ID={env['AZURE_TENANT_ID']}")
        echo(f"      AZURE_CLIENT_ID={env['AZURE_CLIENT_ID']}")
        echo(f"      AZURE_CLIENT_SECRET=<set, {fingerprint(env['AZURE_CLIENT_SECRET'])}>")

        name = secret_name("airflow-variables", VARIABLE)
        echo(f"[4/5] Naming rule: Variable {VARIABLE!r} is looked up as secret {name!r}")

        echo("[5/5] Airflow reads the variable through AzureKeyVaultBackend (scratch AIRFLOW_HOME)")
        airflow = ScratchAirflow.create(root / "airflow-home", {**env, **overrides})
        started = time.perf_counter()
        result = airflow.python(READ_VARIABLE.format(key=VARIABLE))
        elapsed = time.perf_counter() - started
        line = next(
            (ln for ln in result.stdout.splitlines() if ln.startswith("AKV_DEMO_RESULT ")), None
        )
        if result.returncode != 0 or line is None:
            last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
            echo(f"      FAILED after {elapsed:.1f} s: {scrub_text(last, [plan.secret])}")
            return 1
        read = json.loads(line.removeprefix("AKV_DEMO_RESULT "))
        echo(
            f"      Variable.get({VARIABLE!r}) -> value {read['fingerprint']} "
            f"(lookup {read['seconds']} s, process {elapsed:.1f} s)"
        )
        echo(f"\nDone: Airflow {_airflow_version()} read {VARIABLE!r} from Key Vault, offline.")
        echo("Use the sandbox from any shell: akv-runbook sandbox start, then")
        echo('  eval "$(akv-runbook sandbox env)"')
        return 0


def _airflow_version() -> str:
    from importlib.metadata import version

    return version("apache-airflow")
