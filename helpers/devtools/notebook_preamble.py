"""The cells every numbered notebook starts with, written once: its parameters, the
connection and the settings (:func:`preamble`), and the cell type both notebook sources
(:mod:`helpers.devtools.notebook_sources`, :mod:`helpers.devtools.notebook_sources_cost`)
build notebooks from.
"""

# ruff: noqa: E501 - the parameters cell's comments are kept as the notebooks show them

from __future__ import annotations

from dataclasses import dataclass

from helpers.runbook import SANDBOX_DEFAULTS

__all__ = ["CONNECT", "PARAMETERS", "SETTINGS", "Cell", "code", "md", "preamble"]


@dataclass(frozen=True)
class Cell:
    """One notebook cell: ``markdown`` or ``code``, its source and its tags."""

    kind: str
    source: str
    tags: tuple[str, ...] = ()


def md(source: str, *tags: str) -> Cell:
    return Cell("markdown", source, tags)


def code(source: str, *tags: str) -> Cell:
    return Cell("code", source, tags)


PARAMETERS = f"""\
# Parameters: papermill's -p / -r override any of these. The defaults run offline against
# the sandbox's default scenario.
environment = "sandbox"  # "sandbox" (offline emulator) or "azure" (this process's environment)
vault_url = "{SANDBOX_DEFAULTS["vault_url"]}"
tenant_id = "{SANDBOX_DEFAULTS["tenant_id"]}"
client_id = "{SANDBOX_DEFAULTS["client_id"]}"
sign_in_with = "client-secret"  # the backend's credential: client-secret | managed-identity | workload-identity (sandbox: also imds)
managed_identity_client_id = ""  # managed/workload identity: its client id; empty: the one the environment selects
client_secret_env = "AZURE_CLIENT_SECRET"  # client-secret only: the NAME of the variable holding the secret
variables = ["sample-variable"]
connections = ["sample-connection"]
target = "env"  # adf | fabric | helm | compose | airflow_cfg | env
sandbox_scenario = None  # a scenario YAML: run against a private sandbox built from it
fail_on_error = None  # stop at a step with an error finding; None: headless (papermill) yes, JupyterLab no"""

CONNECT = """\
## Connect and read the settings

`runbook.start` checks the parameters first: a value that looks like a secret stops the
notebook at once (**AKV-SET-010**; parameters name the variable that holds a secret, never
the secret). It also settles `fail_on_error`: run headless (papermill, nbconvert), a step
whose result has an error finding stops the run after showing it, so that papermill exits
non-zero; in JupyterLab every step runs and you read the findings. `runbook.connect` points this kernel at the sandbox (started by `make lab`, or started here in
the background if none is running) or, with `environment = "azure"`, at real Azure through
this process's environment. `sign_in_with` picks how the backend signs in: a client secret, a
managed identity or workload identity; in the sandbox the kernel's environment is then what
`akv-runbook sandbox env --credential …` prints (for workload identity, a projected token file
whose content is never shown). The settings are built from the parameters above and checked
offline; nothing here needs the client secret itself — only the name of the variable that
holds it, and a managed or workload identity has none at all."""

SETTINGS = """\
settings, problems = runbook.settings_from_params(
    environment=environment, vault_url=vault_url, tenant_id=tenant_id, client_id=client_id,
    credential=sign_in_with, managed_identity_client_id=managed_identity_client_id,
    client_secret_env=client_secret_env, variables=variables, connections=connections,
    target=target, conn=conn,
)"""


def preamble(notebook: str, *extra_parameters: str) -> list[Cell]:
    """The cells every numbered notebook starts with: its parameters (the shared ones plus
    ``extra_parameters``, one line each), the connection and the settings."""
    return [
        md("## Parameters"),
        code("\n".join([PARAMETERS, *extra_parameters]), "parameters"),
        md(CONNECT),
        code(f'from helpers import runbook\nrunbook.start("{notebook}", globals())'),
        code(
            "conn = runbook.connect(environment, scenario=sandbox_scenario, credential=sign_in_with)\n"
            'runbook.show("connect", conn.describe())'
        ),
        code(SETTINGS),
    ]
