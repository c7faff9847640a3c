"""The one source of the notebooks: every cell of notebooks/*.ipynb, as Python data.

``make notebooks`` writes each notebook from here (:mod:`helpers.devtools.notebooks`) and then
executes it; edit the notebooks here, never their JSON. The six cells every numbered notebook
starts with (parameters, connect, settings) are written once, in :func:`preamble`
(:mod:`helpers.devtools.notebook_preamble`); notebook 05's cells are in
:mod:`helpers.devtools.notebook_sources_cost`.

Cell tags that matter: ``parameters`` (papermill injects its values after that cell),
``skip-execution`` + ``nbval-skip`` (widget-only cells: papermill and nbval skip them,
JupyterLab runs them), ``nbval-check-output`` (deterministic outputs that nbval compares).
"""

# ruff: noqa: E501 - markdown tables and prose lines are kept as the notebooks show them

from __future__ import annotations

from helpers.devtools.notebook_preamble import Cell, code, md, preamble
from helpers.devtools.notebook_sources_cost import RUNTIME_COST

__all__ = ["NOTEBOOKS", "Cell", "code", "md", "preamble"]


START_HERE = [
    md(
        """\
# Start here: Airflow's Azure Key Vault secrets backend, checked step by step

Airflow can read its **Variables** and **Connections** from Azure Key Vault instead of its
own database: the `AzureKeyVaultBackend` of `apache-airflow-providers-microsoft-azure` turns
`Variable.get("sample-variable")` into a request for the secret
`airflow-variables-sample-variable`. Microsoft's guide for Data workflows ("Enable Azure Key
Vault as a Secret Backend" — the *seed document*) sets this up with manual steps. Each of them
can go wrong without an error message: Airflow logs a failing backend once, falls back to its
database and reports the variable as *missing*.

This runbook replaces every manual step with a **checked** one. Each check reports
*findings* — a stable code such as `AKV-PERM-001`, what it means and the fix (catalogue:
`docs/findings.md`).

| The seed document says | The runbook does | Notebook |
|---|---|---|
| Create a service principal; note its client id and secret | signs in as it; shows the tenant, the client id and the **object id** that grants need | 01 |
| Install `apache-airflow-providers-microsoft-azure` | checks the installed provider, `azure-identity` and `azure-keyvault-secrets` against your Airflow | 01 |
| Add `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_CLIENT_SECRET` | checks they are set and agree with your settings (the secret: set or not, never shown) | 01 |
| Assign *Key Vault Contributor* and *Key Vault Secrets User* | detects the vault's permission model, probes a read, grants **only** Key Vault Secrets User (Contributor is not needed) and waits until it takes effect | 02 |
| Add `AIRFLOW__SECRETS__BACKEND` and `AIRFLOW__SECRETS__BACKEND_KWARGS` | renders them for your platform (ADF, Fabric, Helm, compose, airflow.cfg, env), valid JSON by construction, and lints the configuration you already have | 03 |
| Store `sample_var` as `airflow-variables-sample-var` | shows the naming rule on **your** variable and connection ids | 03 |
| Run the sample DAG | reads through the SDK, the real backend and Airflow's `Variable.get`, then runs an Airflow 3 version of the DAG with `airflow dags test` | 04 |"""
    ),
    md(
        """\
## Three ways to use the runbook

1. **Guided onboarding.** Open the notebooks in order in JupyterLab (`make lab`) and *Run
   All*. Every step explains what it does and why; forms (like the one below) let you try
   your own values. Run them against the sandbox first, then against your environment.
2. **Automated environment checks.** The same notebooks run headless with papermill, unchanged:

   ```bash
   papermill notebooks/01_prerequisites.ipynb out.ipynb -k python3 --cwd notebooks \\
       --engine akv-runbook -p environment azure \\
       -r vault_url https://contoso-airflow.vault.azure.net/ -r tenant_id <tenant GUID> \\
       -r client_id <client GUID> -r client_secret_env AIRFLOW_SPN_SECRET
   ```

   (`-r` keeps ids as strings; `--engine akv-runbook` keeps a secret typed as a parameter
   out of `out.ipynb`.) Every step also writes a machine-readable result
   (`application/vnd.akv-runbook.result+json`) that `helpers.runbook.collect_results` reads
   back; `make demo` runs every notebook this way into `reports/<timestamp>/` and prints a
   summary. Headless, a step with an error finding stops the run after showing it and
   papermill exits non-zero (`fail_on_error`); `-p fail_on_error False` runs every step
   whatever it finds. For many environments at once, `akv-runbook check` is the fast
   in-process path.
3. **Training.** Everything runs against the sandbox, so trainees need no Azure
   subscription. Scenario files describe tenants, apps, vaults and grants; the sandbox can
   also inject throttling, expired secrets, closed firewalls and slow role propagation."""
    ),
    md(
        """\
## The sandbox or real Azure

* **`environment = "sandbox"`** (the default) — an offline emulator of Microsoft Entra ID,
  Key Vault and Azure Resource Manager. The *unmodified* Azure SDKs and Airflow reach it with
  the production URLs (`https://<vault>.vault.azure.net`) through a local proxy
  (`HTTPS_PROXY`) and a CA bundle. `make lab` starts one and every kernel reuses it; a kernel
  with none starts its own in the background. The parameter defaults are its default
  scenario: vault `airflow-sandbox-kv` (RBAC), the backend's service principal
  `airflow-backend` holding *Key Vault Secrets User*, and an operator `admin` (Owner) that
  the runbook uses for grants and sample secrets. `sandbox_scenario` points at another
  scenario file (for example one where the backend has no role yet).
* **`environment = "azure"`** — real Azure, with this process's environment. Set `vault_url`,
  `tenant_id` and `client_id` to yours and put the client secret into an environment
  variable before starting Jupyter (or use the form below). On real Azure the runbook reads;
  02 grants access only when the read is forbidden and `perform_grant` is true — as **your
  own** sign-in (`az login`), never as the backend's service principal; 04 never writes to
  your vault (it prints the `az keyvault secret set` commands instead).

**Secrets never go into a notebook.** Parameters name the *environment variable* that holds
the client secret (`client_secret_env`); the form's password field moves the value into this
kernel's environment and clears itself; outputs show at most a length and a short keyed hash
(`len=44 hmac=1a2b3c4d5e6f`: keyed with this installation's random key, so it cannot be
reversed with a list of likely passwords, yet two runs here agree)."""
    ),
    *preamble("00_start_here"),
    md(
        """\
## Check your settings

Fill in the form and click **Check**: it validates each value as you type (the vault URL must
be `https://<name>.vault.azure.net/`, ids must be GUIDs), then signs in as the service
principal and reads the first variable. In the sandbox the defaults already work; with real
Azure, paste the client secret's *Value* (not its Secret ID) into the password field — it is
moved into the variable named on the form and the field is cleared at once."""
    ),
    code(
        """\
values = dict(vault_url=vault_url, tenant_id=tenant_id, client_id=client_id,
              credential=sign_in_with, managed_identity_client_id=settings.managed_identity_client_id,
              client_secret_env=client_secret_env, variables=variables)"""
    ),
    code(
        """\
from helpers import widgets
widgets.settings_form(values)""",
        "skip-execution",
        "nbval-skip",
    ),
    md(
        """\
The form's **Check** runs exactly this call, which is also what a headless run executes
(forms do not run under papermill). Success shows **AKV-AUTH-001** (signed in, with the
object id) and **AKV-SECRET-001** (secret readable — shown as a length and a hash only)."""
    ),
    code('runbook.show("check", runbook.check_form(values))'),
    md(
        """\
## Next

1. [01_prerequisites](01_prerequisites.ipynb) — tenant, vault, service principal, packages,
   the `AZURE_*` variables;
2. [02_permissions](02_permissions.ipynb) — the permission model, the least-privilege grant;
3. [03_airflow_config](03_airflow_config.ipynb) — the overrides for your platform, a lint of
   your configuration, the naming rule;
4. [04_live_retrieval](04_live_retrieval.ipynb) — the values read through the SDK, the
   backend, Airflow's `Variable.get` and the sample DAG;
5. [05_runtime_cost](05_runtime_cost.ipynb) — what the backend costs once it works: vault
   GETs per DAG parse and per task run for your DAG files, measured with real Airflow, the
   forecast against Key Vault's limit and what to change per file."""
    ),
]


PREREQUISITES = [
    md(
        """\
# 01 · Prerequisites: tenant, vault, service principal, packages

The seed document's prerequisites are an Azure subscription, a Key Vault and a service
principal with its client id and secret, plus the provider package. This notebook checks each
one the way Airflow will use it, before anything is granted or configured:

1. the **settings** themselves (offline: URL shape, GUIDs, the secret variable's *name*);
2. the **installed packages** and their versions against Airflow;
3. the **`AZURE_*` variables** Airflow's backend signs in with;
4. a real **sign-in** as the service principal and the **vault's** answer."""
    ),
    *preamble("01_prerequisites"),
    md(
        """\
## 1 · The settings

What the runbook understood from the parameters. Typical mistakes caught here: a vault *name*
or a secret identifier instead of the vault URL, the app's *display name* or *object id*
instead of its client id, an unreplaced `<your keyvault uri>` placeholder from the seed
document, or the client secret itself pasted where its variable's *name* belongs."""
    ),
    code(
        'runbook.show("settings", runbook.check_settings(settings, problems))', "nbval-check-output"
    ),
    md(
        """\
## 2 · Installed packages

Airflow loads `AzureKeyVaultBackend` from `apache-airflow-providers-microsoft-azure`; the
provider signs in with `azure-identity` and reads with `azure-keyvault-secrets`. Each provider
release needs a minimum Airflow (and Python): the versions are checked against each other, as
the seed document's "Airflow requirements" step never does."""
    ),
    code('runbook.show("packages", runbook.check_packages())'),
    md(
        """\
## 3 · The `AZURE_*` variables

The seed document sets `AZURE_CLIENT_ID`, `AZURE_TENANT_ID` and `AZURE_CLIENT_SECRET` as
environment variables: `DefaultAzureCredential` inside the backend reads them. They must
agree with the settings checked here — otherwise a check passes in this notebook while
Airflow signs in as someone else. The secret is reported as *set* or *not set*, never shown.
`AZURE_KEYVAULT_URL` is a convention of SDK samples only: Airflow reads the vault URL from
`backend_kwargs`."""
    ),
    code('runbook.show("environment", runbook.check_azure_env(settings))'),
    md(
        """\
## 4 · Sign in as the service principal, reach the vault

One token request to Microsoft Entra ID with the client id and secret, exactly as the backend
makes it, decoded to show the **tenant** (`tid`), the **client id** (`appid`) and the service
principal's **object id** (`oid`). Role assignments need the *object id* — the most common
mistake in the next notebook is to use the client id instead. Then one unauthenticated request
to the vault: DNS, proxy, TLS, and the vault's challenge, which names the vault's tenant (a
vault in another tenant than the credential is reported here).

A wrong secret shows as **AKV-AUTH-003** (AADSTS7000215) with the usual cause: the secret's
*ID* was copied instead of its *Value*."""
    ),
    code('runbook.show("sign-in", runbook.check_sign_in(settings))'),
    md(
        """\
## Next

[02_permissions](02_permissions.ipynb): may this service principal read the vault's secrets?"""
    ),
]


PERMISSIONS = [
    md(
        """\
# 02 · Permissions: least privilege, granted and verified

The seed document assigns two roles to the service principal: *Key Vault Contributor* and
*Key Vault Secrets User*. The backend only ever **reads** secret values, so one of them is
enough — **Key Vault Secrets User** — and the other is a risk without a benefit: *Key Vault
Contributor* manages the vault resource but grants **no** access to secret values on an RBAC
vault (on an access-policy vault it can even grant itself access).

This notebook:

1. detects the vault's **permission model** (Azure RBAC or vault access policies) through
   Azure Resource Manager;
2. **probes a read** as the backend's service principal;
3. **diagnoses** the result (nothing to do, which grant is missing, or a problem to fix first);
4. shows **the grant in every form** — Azure CLI, PowerShell, Bicep, Terraform — with the
   right scope and *object* id;
5. **performs it** when allowed (`perform_grant`), as the operator: in the sandbox its
   `admin` principal, on real Azure your own sign-in (`az login`);
6. explains **least privilege** against the roles the principal really holds;
7. **re-probes** until the grant takes effect (Azure documents up to 10 minutes)."""
    ),
    *preamble(
        "02_permissions", "perform_grant = True  # make the grant when the read is forbidden"
    ),
    code("perm = runbook.permissions(conn, settings)"),
    md(
        """\
## 1 · The vault's permission model

A vault answers to **either** Azure role assignments (`enableRbacAuthorization = true`, the
recommended model) **or** its own access policies — never both. A role granted on an
access-policy vault never takes effect, and the other way round; so the model decides which
grant is right."""
    ),
    code('runbook.show("permission-model", perm.detect_model())', "nbval-check-output"),
    md(
        """\
## 2 · Probe a read

Sign in as the backend and read each expected secret. A 403 tells exactly why: **AKV-PERM-001**
(no role, `ForbiddenByRbac`), **AKV-PERM-002** (no access policy), **AKV-PERM-003** (the
vault's firewall)."""
    ),
    code('runbook.show("probe", perm.probe_read(), fail=not perform_grant)'),
    md(
        """\
## 3 · Diagnosis

With `perform_grant` a forbidden read does not stop a headless run here: step 5 grants and
step 7 gives the verdict."""
    ),
    code('runbook.show("diagnosis", perm.diagnose(), fail=not perform_grant)'),
    md(
        """\
## 4 · The grant, in every form

Copy the one your team uses. The assignment names the service principal's **object id** (the
`oid` claim from the sign-in) at the **vault's** scope — not the resource group or the
subscription."""
    ),
    code('runbook.show("grant-commands", perm.grant_commands())', "nbval-check-output"),
    md(
        """\
## 5 · Perform the grant

Only when the probe was forbidden and `perform_grant` is true. Granting needs
`Microsoft.Authorization/roleAssignments/write` on the vault (Owner, User Access
Administrator or Key Vault Data Access Administrator); without it the finding says whom to
ask (**AKV-ROLE-003**)."""
    ),
    code('runbook.show("grant", perm.grant(perform=perform_grant))'),
    md(
        """\
## 6 · Least privilege

What the backend's principal holds on the vault, against what it needs. Anything beyond Key
Vault Secrets User (or secret *get, list* on an access-policy vault) is reported as
**AKV-PERM-004**: a leaked Airflow credential should be worth as little as possible."""
    ),
    code('runbook.show("least-privilege", perm.least_privilege())'),
    md(
        """\
## 7 · Re-probe until the grant takes effect

Key Vault honours a new role assignment after a propagation delay. This step probes every two
seconds, for at most a minute, and ends with **AKV-ROLE-007** (access in effect) — or says
what still blocks it."""
    ),
    code('runbook.show("re-probe", perm.wait_for_access(timeout=60))'),
    md(
        """\
## Try it interactively

**Diagnose** runs steps 1–4 and 6; **Grant** runs 5 and 7 — the same calls as above."""
    ),
    code(
        """\
from helpers import widgets
widgets.permissions_form(settings, conn=conn)""",
        "skip-execution",
        "nbval-skip",
    ),
    md(
        """\
## Next

[03_airflow_config](03_airflow_config.ipynb): tell Airflow to use the vault."""
    ),
]


AIRFLOW_CONFIG = [
    md(
        """\
# 03 · Airflow configuration: render, lint, name

The seed document's configuration is two overrides and three environment variables:

```
AIRFLOW__SECRETS__BACKEND = airflow.providers.microsoft.azure.secrets.key_vault.AzureKeyVaultBackend
AIRFLOW__SECRETS__BACKEND_KWARGS = {"connections_prefix": "airflow-connections", "variables_prefix": "airflow-variables", "vault_url": <your keyvault uri>}
```

Typed by hand, `backend_kwargs` is where things silently break: single or curly quotes, a
trailing comma, an unquoted URL, a misspelt key. Airflow does not stop on any of them — it
logs one warning, ignores the whole value and builds the backend with `vault_url=""`.

This notebook:

1. **renders** the overrides for your platform (`target`: ADF, Fabric, Helm, compose,
   airflow.cfg or plain environment variables) — valid JSON by construction, with bounded
   retries and `config_prefix: null` so Airflow's own configuration is not looked up in the
   vault;
2. **lints** an existing configuration (`existing_config`: pasted text or a file path — or,
   when empty, the rendered one);
3. shows the **naming rule** on your own variable and connection ids."""
    ),
    *preamble(
        "03_airflow_config",
        'existing_config = ""  # a configuration to lint: pasted text or a path (empty: the rendered one)',
    ),
    md(
        """\
## 1 · The overrides for your target

Ready to copy. The client secret is never written out: a placeholder or a reference to the
variable that holds it stands in its place."""
    ),
    code('runbook.show("render", runbook.render_config(settings, target))', "nbval-check-output"),
    md(
        """\
## 2 · Lint a configuration

Paste what your deployment has today into `existing_config` — a `backend_kwargs` value, an
`airflow.cfg`, Helm values, a compose file, `KEY=value` lines or an ADF/Fabric export — and
every problem Airflow would silently ignore is listed with its fix. With nothing pasted, the
rendered configuration above is linted: it must come out clean."""
    ),
    code(
        """\
runbook.show("lint", runbook.lint_config(existing_config, settings, target))""",
        "nbval-check-output",
    ),
    md(
        """\
## 3 · The naming rule, on your ids

The backend requests the secret named `prefix + sep + id`, after turning every `_` in it into
the separator — the seed's example: variable `sample_var` is stored as
`airflow-variables-sample-var`. Key Vault names allow only letters, digits and `-` (up to 127
characters) and ignore case: ids that break the rule are skipped by the provider without a
request, and two ids can land on the same secret."""
    ),
    code('runbook.show("names", runbook.naming_rule(settings))', "nbval-check-output"),
    md("## Try it interactively"),
    code(
        """\
from helpers import widgets
widgets.config_form(settings, target=target)""",
        "skip-execution",
        "nbval-skip",
    ),
    code("widgets.names_form(settings)", "skip-execution", "nbval-skip"),
    md(
        """\
## Next

[04_live_retrieval](04_live_retrieval.ipynb): read the values through Airflow itself."""
    ),
]


LIVE_RETRIEVAL = [
    md(
        """\
# 04 · Live retrieval: from the SDK to a running DAG

The seed document ends with a sample DAG that reads `sample-variable`. Between the vault and
that DAG there are four layers, and this notebook checks each one separately, so a failure
points at its layer:

1. **store** the sample variable and connection (sandbox only, as its `admin`; on real Azure
   the `az` commands are shown instead);
2. read them with the **Azure SDK** (`SecretClient`) as the backend's service principal;
3. read them through Airflow's **`AzureKeyVaultBackend`** itself, next to the SDK;
4. read them with Airflow's own **`Variable.get` / `Connection.get`** in a separate process
   whose `AIRFLOW_HOME` is a scratch directory and whose configuration is exactly what
   03 rendered;
5. run the **sample DAG** with `airflow dags test` (about 30–40 s; `run_dag = False` skips it).

Values never leave the code that reads them: every output shows a length and a short hash,
which is enough to see that all layers read the same value."""
    ),
    *preamble(
        "04_live_retrieval",
        "run_dag = True  # run dags/akv_sample.py with `airflow dags test` (about 30-40 s)",
    ),
    code("live = runbook.retrieval(conn, settings)"),
    md(
        """\
## 1 · Store the samples

Under the exact names the backend will request. Existing secrets are left unchanged. The
backend's own principal could not do this — Key Vault Secrets User only reads."""
    ),
    code('runbook.show("store", live.store_samples())'),
    md("## 2 · Through the Azure SDK"),
    code('runbook.show("sdk", live.read_with_sdk())'),
    md(
        """\
## 3 · Through `AzureKeyVaultBackend`

The provider's class, built with the same `backend_kwargs` Airflow would pass it. A
connection value is also parsed the way Airflow parses it (URI or JSON)."""
    ),
    code('runbook.show("backend", live.read_with_backend())'),
    md(
        """\
## 4 · Through Airflow's `Variable.get`

A fresh Python process with a scratch `AIRFLOW_HOME`, configured **only** by the rendered
overrides (no settings leak in from this kernel), calls `Variable.get` and `Connection.get`.
This is the layer that catches configuration mistakes: if `backend_kwargs` were broken,
Airflow would fall back to its database and report the variable as missing."""
    ),
    code('runbook.show("variable-get", live.variable_get())'),
    md(
        """\
## 5 · The sample DAG

`dags/akv_sample.py` is the seed document's DAG, rewritten for Airflow 3:"""
    ),
    code('runbook.show("dag-changes", runbook.explain_sample_dag())', "nbval-check-output"),
    md(
        """\
`airflow db migrate` and then `airflow dags test akv_sample` run in a scratch `AIRFLOW_HOME`
with the rendered configuration; the task reads `sample-variable` through Key Vault and logs
only its length and hash."""
    ),
    code('runbook.show("dag-test", live.run_dag(run=run_dag))'),
    md(
        """\
## Done

The backend is configured, least-privileged, and proven end to end. To keep checking it, run
these notebooks headless with papermill against each environment (see
[00_start_here](00_start_here.ipynb)), or `akv-runbook check --settings <env>.yaml`.

Next: [05_runtime_cost](05_runtime_cost.ipynb) — what Key Vault reads your DAG files cost per
parse and per task run, and whether the vault's limit holds."""
    ),
]


CHECK_ENVIRONMENT = [
    md(
        """\
# Check one environment

The whole live check of **one environment**: sign in as its backend identity, reach the vault,
read each expected variable and connection through the Azure SDK and through Airflow's own
`AzureKeyVaultBackend`, and look at the roles it holds. The findings are the same as
`akv-runbook check --inventory FILE` reports on its fast path.

This is the notebook the **audit path** (`akv-runbook check --inventory FILE --notebooks`) and
the **self-check DAG** (`dags/akv_selfcheck.py`) execute once per environment, keeping the
executed copy as evidence. Its parameters name an inventory file and an environment in it —
never a secret: client secrets stay in the environment variables the inventory names.
Without an inventory it checks the environment this kernel is connected to (by default the
offline sandbox)."""
    ),
    md("## Parameters"),
    code(
        """\
# Parameters: papermill's -p overrides any of these.
inventory = ""  # path of an inventory YAML (docs/batch.md); empty: this kernel's environment
env_name = ""  # the environment of the inventory to check
environment = "sandbox"  # sandbox (offline emulator) or azure (this process's environment)
fail_on_error = None  # end with an error on an error finding; None: headless yes, JupyterLab no""",
        "parameters",
    ),
    md("## Connect"),
    code('from helpers import runbook\nrunbook.start("check_environment", globals())'),
    code('conn = runbook.connect(environment)\nrunbook.show("connect", conn.describe())'),
    md(
        """\
## The check

Every finding carries its code, the cause in plain language and the fix; `docs/findings.md` has them all."""
    ),
    code(
        """\
check = runbook.check_environment(conn, inventory, env_name)
runbook.show("check", check, fail=False)"""
    ),
    md(
        """\
## Verdict

With `fail_on_error` (by default when run headless; the audit path passes `False`, the self-check DAG `True`) this cell raises when the check found an error, so that the runner (papermill, an Airflow task) fails; the findings above stay in the executed notebook."""
    ),
    code("runbook.raise_for_findings(check, enabled=None)"),
]

EXERCISES = [
    md(
        """\
# Exercises: fix a broken setup, then check your work

Each exercise of your class breaks something in **your own** slice of the class's sandbox —
your service principal, your vaults, your configuration files — the way real deployments
break. Read its story, fix it (with the runbook's notebooks, `akv-runbook`, or by hand), then
click **Check my work**: the check inspects the sandbox itself and, while it fails, shows the
next hint (hint 1, hint 2, then the solution) — the same check as `akv-runbook class check`.

You never type who you are: the trainee and the class come from this kernel's environment,
which `eval "$(akv-runbook class env --trainee trainee-NN)"` sets in the shell that starts
JupyterLab (JupyterHub does it for you). Headless, `-p exercise ID` checks one exercise and
papermill exits non-zero while it fails."""
    ),
    md("## Parameters"),
    code(
        """\
# Parameters: papermill's -p overrides these. Who you are is never a parameter: it comes from
# this kernel's environment (AKV_CLASS_TRAINEE, AKV_CLASS_STATE_DIR, set by `class env`).
exercise = ""  # an exercise id (`akv-runbook class status` lists them); empty: pick one in the form
fail_on_error = None  # stop at a step with an error finding; None: headless (papermill) yes, JupyterLab no""",
        "parameters",
    ),
    md("## Your class"),
    code(
        """\
from helpers import runbook, widgets_class
runbook.start("exercises", globals())
seat = widgets_class.join_class()
runbook.show("class", seat.describe())"""
    ),
    md("## The exercises"),
    code('runbook.show("exercises", seat.stories(exercise))'),
    md("## Check my work"),
    code("widgets_class.exercise_form(seat, exercise)", "skip-execution", "nbval-skip"),
    md(
        """\
The form's **Check my work** runs exactly this call, which is what a headless run executes
for the `exercise` parameter (with none, it checks nothing)."""
    ),
    code('runbook.show("check", seat.check(exercise))'),
]

NOTEBOOKS: dict[str, list[Cell]] = {
    "00_start_here": START_HERE,
    "01_prerequisites": PREREQUISITES,
    "02_permissions": PERMISSIONS,
    "03_airflow_config": AIRFLOW_CONFIG,
    "04_live_retrieval": LIVE_RETRIEVAL,
    "05_runtime_cost": RUNTIME_COST,
    "check_environment": CHECK_ENVIRONMENT,
    "exercises": EXERCISES,
}
