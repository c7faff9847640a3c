"""The notebook-facing API of the guided runbook: every notebook cell is one call into here.

A notebook connects (:func:`connect`), turns its parameters into settings
(:func:`settings_from_params`), then runs steps. Each step returns a :class:`StepResult` (a
:class:`~helpers.findings.Report` with explanatory sections) and **never raises**: a failure
becomes findings, so one broken check never hides the others in a papermill run. The
notebook hands each result to :func:`show`, which renders it as HTML and also emits it in a
machine-readable output (``MIMETYPE``) that :func:`collect_results` reads back out of an
executed notebook.

Steps, by notebook:

- 00: :func:`check_form` (also what the settings form's Check button calls);
- 01: :func:`check_settings`, :func:`check_packages`, :func:`check_azure_env`,
  :func:`check_sign_in`;
- 02: :func:`permissions` -> :class:`Permissions` (detect model, probe, diagnose, grant in
  every form, perform it, least privilege, wait until it takes effect);
- 03: :func:`render_config`, :func:`lint_config`, :func:`naming_rule`;
- 04: :func:`retrieval` -> :class:`Retrieval` (store samples, read through the SDK, the real
  backend, Airflow's ``Variable.get`` in a scratch AIRFLOW_HOME, ``airflow dags test``) and
  :func:`explain_sample_dag`.

Secret values never leave the functions that read them: findings, sections and payloads
carry at most a :func:`helpers.common.redact.fingerprint`. Settings hold the NAME of the variable
with the client secret (``client_secret_env``), never its value.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import functools
import html
import importlib.metadata
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpers.backend_config.names import Kind, describe_mapping, map_names, secret_name_for
from helpers.common.envscope import scoped_environ
from helpers.common.facts import SANDBOX_PORT_VAR, SANDBOX_STATE_VAR
from helpers.common.logs import quiet_sdk_logs
from helpers.common.paths import PROJECT_ROOT
from helpers.common.redact import scrub_text
from helpers.findings import (
    Finding,
    Report,
    Severity,
    has_errors,
    render_html,
    render_text,
    worst,
)
from helpers.findings.codes.run import (
    AIRFLOW_READ,
    AIRFLOW_READ_FAILED,
    DAG_FAILED,
    DAG_SUCCEEDED,
    ENV_DIFFERS,
    ENVIRONMENT_UNAVAILABLE,
    PACKAGE_INSTALLED,
    PACKAGE_MISSING,
    SAMPLE_PRESENT,
    SAMPLE_STORED,
    SKIPPED,
)
from helpers.findings.results import MIMETYPE, collect_results
from helpers.settings import Settings, check_secret_env, settings_from_mapping, shown_env_name

if TYPE_CHECKING:
    from helpers.sandbox import Sandbox, SandboxClient

__all__ = [
    "MIMETYPE",
    "Connection",
    "Permissions",
    "Retrieval",
    "Section",
    "StepResult",
    "check_azure_env",
    "check_form",
    "check_packages",
    "check_settings",
    "check_sign_in",
    "collect_results",
    "connect",
    "explain_sample_dag",
    "lint_config",
    "naming_rule",
    "permissions",
    "regenerate_notebooks",
    "render_config",
    "retrieval",
    "settings_from_params",
    "show",
]

ROOT = PROJECT_ROOT
NOTEBOOKS = ROOT / "notebooks"
# The default scenario's values: what the notebooks' parameters default to.
SANDBOX_DEFAULTS = {
    "vault_url": "https://airflow-sandbox-kv.vault.azure.net/",
    "tenant_id": "5f0c6e2a-3b1d-4c8e-9a7f-0d2b4e6f8a10",
    "client_id": "3c9e1f7a-2d4b-4a6c-8e0f-5b7d9f1a3c42",
}
PACKAGES = {
    "apache-airflow": "Airflow itself",
    "apache-airflow-providers-microsoft-azure": "provides AzureKeyVaultBackend",
    "azure-identity": "signs in (DefaultAzureCredential, ClientSecretCredential)",
    "azure-keyvault-secrets": "reads secrets (SecretClient)",
}
# Notebook parameters that are not settings.
NOTEBOOK_ONLY = frozenset(
    {"environment", "sandbox_scenario", "existing_config", "perform_grant", "run_dag", "principal"}
)
RESULT_MARK = "AKV_RUNBOOK_RESULT "
SAMPLE_DAG = "akv_sample"
SAMPLE_VALUES = {
    Kind.VARIABLE: "sample value stored by the akv-runbook notebook",
    Kind.CONNECTION: '{"conn_type": "http", "host": "api.example.invalid", "port": 443}',
}

# -- findings ------------------------------------------------------------------------------


# -- results -------------------------------------------------------------------------------
# Notebook front ends right-align table cells and may show <pre> in a proportional font.
_CELL_STYLE = "text-align:left;vertical-align:top"
_PRE_STYLE = (
    "font-family:monospace;white-space:pre;overflow-x:auto;background:#f6f8fa;padding:0.5em"
)


def _align_left(table_html: str) -> str:
    return re.sub(r"<(td|th)>", rf'<\1 style="{_CELL_STYLE}">', table_html)


@dataclass
class Section:
    """Explanatory content shown above a step's findings: ``pre`` text, a ``table``, a ``note``."""

    title: str
    body: str | list[list[str]]
    kind: str = "pre"

    def to_html(self) -> str:
        esc = html.escape
        head = f"<h5>{esc(self.title)}</h5>" if self.title else ""
        if self.kind == "table" and isinstance(self.body, list):
            rows = [
                "<tr>" + "".join(f"<{tag}>{esc(str(c))}</{tag}>" for c in row) + "</tr>"
                for tag, row in (("th" if i == 0 else "td", r) for i, r in enumerate(self.body))
            ]
            return _align_left(f'{head}<table class="akv-section">{"".join(rows)}</table>')
        if self.kind == "note":
            return f"{head}<p>{esc(str(self.body))}</p>"
        return f'{head}<pre style="{_PRE_STYLE}">{esc(str(self.body))}</pre>'

    def to_text(self) -> str:
        if self.kind == "table" and isinstance(self.body, list):
            widths = [max(len(str(r[i])) for r in self.body) for i in range(len(self.body[0]))]
            lines = [
                "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True))
                for r in self.body
            ]
            body = "\n".join(line.rstrip() for line in lines)
        else:
            body = str(self.body)
        return f"-- {self.title} --\n{body}" if self.title else body


@dataclass
class StepResult(Report):
    """One step's outcome: findings plus sections that explain or show what to copy."""

    sections: list[Section] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def _repr_html_(self) -> str:
        parts = [f"<h4>{html.escape(self.title)}</h4>"] if self.title else []
        parts += [s.to_html() for s in self.sections]
        if self.findings:
            parts.append(_align_left(render_html(self.findings)))
        elif not self.sections:
            parts.append("<p>✓ no problems found</p>")
        return "".join(parts)

    def __str__(self) -> str:
        parts = [self.title] if self.title else []
        parts += [s.to_text() for s in self.sections]
        if self.findings or not self.sections:
            parts.append(render_text(self.findings))
        return "\n".join(parts)

    def __repr__(self) -> str:
        codes = ", ".join(f.code for f in self.findings) or "no findings"
        return f"<StepResult {self.title!r}: {worst(self.findings).value} ({codes})>"

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "data": _jsonable(self.data)}


class Payload(dict):
    """What :func:`show` returns; displays as nothing so a cell ending in show() stays tidy."""

    def _ipython_display_(self) -> None:
        return None


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _findings_of(result: Any) -> list[Finding]:
    if isinstance(result, Finding):
        return [result]
    if isinstance(result, list | tuple):
        return [f for f in result if isinstance(f, Finding)]
    found = getattr(result, "findings", None)
    return list(found) if isinstance(found, list | tuple) else []


# -- state of this kernel ----------------------------------------------------------------------
_STATE: dict[str, Any] = {"notebook": "", "secret_envs": {"AZURE_CLIENT_SECRET"}}
_SANDBOXES: dict[str, Sandbox] = {}  # started in this kernel, by scenario file


def remember_secret_env(name: str) -> None:
    """Redact the value of environment variable ``name`` from this kernel's outputs."""
    _STATE["secret_envs"].add(name.strip())


def _sensitive() -> list[str]:
    """Values that must never appear in an output: client secrets and sandbox secrets."""
    values = [os.environ.get(name, "") for name in _STATE["secret_envs"]]
    for sandbox in _SANDBOXES.values():
        with contextlib.suppress(Exception):
            values += sandbox.secret_values()
    return [v for v in values if v and len(v) >= 4]


_ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")


def _redact(text: str, extra: Iterable[str] = (), limit: int = 600) -> str:
    """Without colour codes, this kernel's secrets and secret-shaped text (lines kept)."""
    return scrub_text(_ANSI_RE.sub("", str(text)), [*_sensitive(), *extra], limit)


def _unexpected(subject: str, err: BaseException) -> Finding:
    from helpers.findings.codes.svc import UNEXPECTED

    return UNEXPECTED(subject, f"{type(err).__name__}: {_redact(str(err), limit=300)}")


def _never_raises(title: str) -> Callable[[Callable[..., StepResult]], Callable[..., StepResult]]:
    """A step that fails unexpectedly reports AKV-SVC-003 instead of stopping the notebook."""

    def wrap(fn: Callable[..., StepResult]) -> Callable[..., StepResult]:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> StepResult:
            try:
                return fn(*args, **kwargs)
            except Exception as err:  # noqa: BLE001 - a step reports, it never raises
                return StepResult(title, [_unexpected(title, err)])

        return inner

    return wrap


# -- connect -------------------------------------------------------------------------------
@dataclass
class Connection:
    """Where this kernel's checks run: the sandbox or real Azure (the process environment)."""

    environment: str
    vault_url: str = ""
    tenant_id: str = ""
    client_id: str = ""
    subscription_id: str = ""
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
        from helpers.probe import NETWORK_VARS

        if self.control is None:
            raise RuntimeError(f"no sandbox control API in environment {self.environment!r}")
        env = {k: os.environ[k] for k in NETWORK_VARS if os.environ.get(k)}
        env.update(self.control.env("admin"))
        return env

    def operator_credential(self) -> Any:
        """Who grants and writes: the sandbox's admin, or (real Azure) your own sign-in
        (az login, managed identity) — never the backend's AZURE_CLIENT_SECRET."""
        if self.is_sandbox:
            from azure.identity import ClientSecretCredential

            env = self.admin_environ()
            return ClientSecretCredential(
                env["AZURE_TENANT_ID"], env["AZURE_CLIENT_ID"], env["AZURE_CLIENT_SECRET"]
            )
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential(exclude_environment_credential=True)

    @property
    def operator(self) -> str:
        return "the sandbox's admin principal" if self.is_sandbox else "your own Azure sign-in"

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
) -> Connection:
    """Connect this kernel to the sandbox or to real Azure; never raises.

    ``"sandbox"``: reuse the sandbox whose environment this process already has (``make lab``
    and ``make demo`` set AKV_SANDBOX_PORT), else start one in a background thread of this
    kernel (always so when ``scenario``, a scenario YAML, is given) and apply its environment.
    ``principal`` picks the sandbox identity whose AZURE_* variables the kernel gets (default:
    the backend's). ``"azure"``: use the process environment as it is. ``notebook`` names the
    notebook in every :func:`show` payload.
    """
    if notebook:
        _STATE["notebook"] = str(notebook)
    quiet_sdk_logs()
    kind = str(environment or "").strip().lower()
    if kind == "azure":
        return _connection("azure")
    if kind != "sandbox":
        return Connection(
            kind or "(empty)",
            findings=[
                ENVIRONMENT_UNAVAILABLE("environment", f"{environment!r}: use sandbox or azure")
            ],
        )
    try:
        if scenario is None and os.environ.get(SANDBOX_PORT_VAR):
            control = _reuse_sandbox(principal)
            return _connection("sandbox", control=control)
        sandbox = _start_sandbox(scenario, principal)
        return _connection("sandbox", sandbox=sandbox, control=sandbox.client)
    except Exception as err:  # noqa: BLE001 - reported as a finding
        detail = f"{type(err).__name__}: {_redact(str(err), limit=300)}"
        return Connection("sandbox", findings=[ENVIRONMENT_UNAVAILABLE("sandbox", detail)])


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


def _reuse_sandbox(principal: str | None) -> SandboxClient:
    from helpers.sandbox import SandboxClient, default_state_dir

    state_dir = Path(os.environ.get(SANDBOX_STATE_VAR) or default_state_dir())
    token = (state_dir / "control-token").read_text().strip()
    client = SandboxClient(int(os.environ[SANDBOX_PORT_VAR]), token)
    client.status()  # reachable?
    if principal:
        os.environ.update(client.env(principal))
    return client


def _start_sandbox(scenario: str | os.PathLike[str] | None, principal: str | None) -> Sandbox:
    from helpers.sandbox import Sandbox

    key = str(Path(scenario).resolve()) if scenario else ""
    sandbox = _SANDBOXES.get(key)
    if sandbox is None:
        # Ephemeral: nothing to save, so no stop() at exit (its thread dies with the kernel).
        state_dir = _scratch_dir("kernel")
        sandbox = Sandbox(scenario=scenario, state_dir=state_dir, ephemeral=True).start()
        _SANDBOXES[key] = sandbox
    sandbox.apply_environment(principal)
    return sandbox


_SCRATCH_RE = re.compile(r"akv-runbook-(?:kernel|airflow-home)-(\d+)-")


def _scratch_dir(kind: str) -> str:
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


# -- settings --------------------------------------------------------------------------------
def _id_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part for part in re.split(r"[,\s]+", value) if part]
    return value


def settings_from_params(**params: Any) -> tuple[Settings, list[Finding]]:
    """Settings from notebook parameters (vault_url, tenant_id, client_id, client_secret_env,
    variables, connections, target, ...). Notebook-only parameters (environment,
    sandbox_scenario, existing_config, perform_grant, run_dag) are ignored; ``variables`` and
    ``connections`` may be comma-separated strings. Never raises."""
    values: dict[str, Any] = {}
    for key, value in params.items():
        if key in NOTEBOOK_ONLY:
            continue
        values[key] = _id_list(value) if key in ("variables", "connections") else value
    if "name" not in values and params.get("environment"):
        values["name"] = str(params["environment"])
    try:
        settings, findings = settings_from_mapping(values)
    except Exception as err:  # noqa: BLE001 - settings_from_mapping already never raises
        return Settings(), [_unexpected("settings", err)]
    if isinstance(settings.client_secret_env, str) and settings.client_secret_env:
        remember_secret_env(settings.client_secret_env)
    return settings, findings


def _settings_table(settings: Settings) -> list[list[str]]:
    return [
        ["setting", "value"],
        ["vault_url", settings.vault_url or "(not set)"],
        ["tenant_id", settings.tenant_id or "(not set)"],
        ["client_id", settings.client_id or "(not set)"],
        [
            "client_secret_env",
            f"{shown_env_name(settings.client_secret_env)} (the NAME of the variable)",
        ],
        ["variables", ", ".join(settings.variables) or "(none)"],
        ["connections", ", ".join(settings.connections) or "(none)"],
        ["target", str(getattr(settings.target, "value", settings.target))],
    ]


@_never_raises("Settings")
def check_settings(settings: Settings, findings: Iterable[Finding] = ()) -> StepResult:
    """The settings as the runbook understood them, and every problem with them (offline)."""
    return StepResult("Settings", list(findings), [Section("", _settings_table(settings), "table")])


@_never_raises("Check")
def check_form(values: Mapping[str, Any]) -> StepResult:
    """What 00's Check button and the headless path both run: validate the values, then sign
    in and read the first variable (or connection). Success shows AKV-AUTH-001 and
    AKV-SECRET-001. A ``client_secret`` value in ``values`` is refused, never used."""
    from helpers.probe import probe

    settings, problems = settings_from_params(**dict(values or {}))
    problems = problems + check_secret_env(settings, os.environ)
    title = f"Check: {settings.vault_url or '(no vault URL)'}"
    if has_errors(problems):
        return StepResult(title, problems)
    quick = dataclasses.replace(
        settings,
        variables=settings.variables[:1],
        connections=[] if settings.variables else settings.connections[:1],
    )
    result = probe(quick, through_backend=False, check_roles=False, timeout=10)
    return StepResult(title, problems + result.findings, data={"claims": result.claims})


# -- 01 prerequisites -------------------------------------------------------------------------
def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


@_never_raises("Installed packages")
def check_packages() -> StepResult:
    """azure-identity, azure-keyvault-secrets and the provider, against the Airflow version."""
    from helpers.backend_config import lint_versions

    versions = {name: _version(name) for name in PACKAGES}
    python = ".".join(str(p) for p in sys.version_info[:3])
    rows = [["package", "version", "why"]]
    findings: list[Finding] = []
    for name, why in PACKAGES.items():
        rows.append([name, versions[name] or "not installed", why])
        if versions[name]:
            findings.append(PACKAGE_INSTALLED(name, f"{name} {versions[name]}"))
        else:
            findings.append(PACKAGE_MISSING(name, f"{name} is not installed in {sys.prefix}"))
    rows.append(["python", python, "the interpreter"])
    findings += lint_versions(
        versions["apache-airflow"], versions["apache-airflow-providers-microsoft-azure"], python
    )
    data = {"versions": versions, "python": python}
    return StepResult("Installed packages", findings, [Section("", rows, "table")], data)


@_never_raises("AZURE_* variables")
def check_azure_env(settings: Settings, environ: Mapping[str, str] | None = None) -> StepResult:
    """The AZURE_* variables Airflow's backend signs in with, next to the settings."""
    env = os.environ if environ is None else environ
    secret_env = str(settings.client_secret_env or "AZURE_CLIENT_SECRET").strip()
    wanted = {
        "AZURE_TENANT_ID": settings.tenant_id,
        "AZURE_CLIENT_ID": settings.client_id,
        "AZURE_CLIENT_SECRET": None,
        secret_env: None,
        "AZURE_SUBSCRIPTION_ID": None,
        "AZURE_KEYVAULT_URL": settings.vault_url,
        "AZURE_AUTHORITY_HOST": None,
        "AZURE_TOKEN_CREDENTIALS": None,
    }
    rows = [["variable", "value", "used by"]]
    used_by = {
        "AZURE_TENANT_ID": "the backend's sign-in",
        "AZURE_CLIENT_ID": "the backend's sign-in",
        "AZURE_CLIENT_SECRET": "the backend's sign-in",
        "AZURE_SUBSCRIPTION_ID": "the runbook's ARM checks (permission model, roles)",
        "AZURE_KEYVAULT_URL": "SDK samples only — Airflow reads vault_url from backend_kwargs",
        "AZURE_AUTHORITY_HOST": "sovereign clouds only",
        "AZURE_TOKEN_CREDENTIALS": "DefaultAzureCredential: which credential to try",
    }
    findings = list(check_secret_env(settings, env))
    for name, expected in wanted.items():
        value = env.get(name)
        secret = name in ("AZURE_CLIENT_SECRET", secret_env)
        shown = "(not set)" if not value else "set (value hidden)" if secret else value
        label = shown_env_name(name)
        rows.append(
            [label, shown, used_by.get(name, "holds the client secret (client_secret_env)")]
        )
        if value and expected and value.strip().rstrip("/") != str(expected).strip().rstrip("/"):
            note = " (the runbook uses vault_url)" if name == "AZURE_KEYVAULT_URL" else ""
            findings.append(
                ENV_DIFFERS(name, f"{name}={value} but the setting is {expected}{note}")
            )
    if secret_env != "AZURE_CLIENT_SECRET" and env.get(secret_env):
        rows.append(
            [
                "note",
                f"Airflow reads AZURE_CLIENT_SECRET; set it from ${secret_env} where Airflow runs",
                "",
            ]
        )
    return StepResult("AZURE_* variables", findings, [Section("", rows, "table")])


_SIGN_IN_AREAS = ("AKV-AUTH-", "AKV-NET-", "AKV-SVC-", "AKV-SET-")


@_never_raises("Sign-in and vault")
def check_sign_in(settings: Settings) -> StepResult:
    """Tenant and service principal (sign-in, with the OBJECT id) and the vault's answer."""
    from helpers.probe import probe

    quiet = dataclasses.replace(settings, variables=[], connections=[])
    result = probe(quiet, through_backend=False, check_roles=False, timeout=10)
    findings = [f for f in result.findings if f.code.startswith(_SIGN_IN_AREAS)]
    sections = []
    if result.claims:
        c = result.claims
        rows = [
            ["claim", "value", "meaning"],
            ["tid", c.get("tid", ""), "tenant the token was issued in"],
            ["appid", c.get("appid", ""), "client (application) id: AZURE_CLIENT_ID"],
            ["oid", c.get("oid", ""), "service principal OBJECT id: what role assignments name"],
        ]
        sections.append(Section("The service principal's token", rows, "table"))
    return StepResult("Sign-in and vault", findings, sections, {"claims": result.claims})


# -- 03 airflow config ---------------------------------------------------------------------
@_never_raises("Configuration")
def render_config(settings: Settings, target: str | None = None) -> StepResult:
    """The overrides for ``target`` (default: the settings' target), ready to copy."""
    from helpers.backend_config.render import render

    rendered = render(settings, target)
    name = rendered.target.value if rendered.target else str(target)
    sections = [Section(file, text) for file, text in rendered.files.items()]
    data = {
        "target": name,
        "backend_kwargs": rendered.backend_kwargs,
        "requirements": rendered.requirements,
    }
    return StepResult(f"Configuration for {name}", list(rendered.findings), sections, data)


_LINT_NAMES = {
    "airflow_cfg": "airflow.cfg",
    "adf": "adf-export.json",
    "fabric": "fabric-export.json",
    "helm": "values.yaml",
    "compose": "docker-compose.yaml",
    "env": "airflow.env",
}


def _lint_text(text: str) -> tuple[str, list[Finding]]:
    from helpers.backend_config import (
        lint_adf_export,
        lint_airflow_cfg,
        lint_backend_kwargs,
        lint_compose,
        lint_environment,
        lint_helm_values,
        parse_env_file,
    )

    stripped = text.strip()
    if re.search(r"^\s*\[[A-Za-z_]+\]\s*$", text, re.MULTILINE):
        return "airflow.cfg", lint_airflow_cfg(text)
    if stripped.startswith(("{", "[")):
        if re.search(r"airflowProperties|\"properties\"", stripped):
            return "ADF / Fabric export", lint_adf_export(text)
        return "backend_kwargs", lint_backend_kwargs(stripped)[1]
    if re.search(r"^services\s*:", text, re.MULTILINE):
        return "docker compose", lint_compose(text)
    if re.search(r"^\s*(export\s+)?[A-Z_][A-Z0-9_]*=", text, re.MULTILINE):
        return "environment", lint_environment(parse_env_file(text), fragment=True)
    return "Helm values", lint_helm_values(text)


@_never_raises("Lint")
def lint_config(
    existing: str = "", settings: Settings | None = None, target: str | None = None
) -> StepResult:
    """Lint an existing configuration: pasted text (backend_kwargs JSON, airflow.cfg, an
    ADF/Fabric export, Helm values, compose, KEY=value lines) or a path to such a file. Empty:
    lint the configuration rendered for ``target`` — it must come out clean."""
    from helpers.backend_config import lint_file
    from helpers.backend_config.render import render

    text = str(existing or "")
    path = Path(text.strip()) if text.strip() and "\n" not in text.strip() else None
    if path is not None and len(str(path)) < 4096 and path.is_file():
        return StepResult(f"Lint: {path.name}", lint_file(path), data={"kind": "file"})
    if text.strip():
        kind, findings = _lint_text(text)
        return StepResult(f"Lint: pasted {kind}", findings, data={"kind": kind})
    rendered = render(settings or Settings(), target)
    findings: list[Finding] = []
    with tempfile.TemporaryDirectory(prefix="akv-runbook-lint-") as tmp:
        for name, content in rendered.files.items():
            if name.endswith(".txt"):
                continue  # the portal instructions: prose, not configuration
            file = Path(tmp) / name
            file.write_text(content, encoding="utf-8")
            findings += lint_file(file)
    name = rendered.target.value if rendered.target else str(target)
    return StepResult(f"Lint: the rendered configuration ({name})", findings, data={"kind": name})


def _ids_by_kind(settings: Settings) -> list[tuple[Kind, list[str]]]:
    return [(Kind.VARIABLE, settings.variables), (Kind.CONNECTION, settings.connections)]


@_never_raises("Naming rule")
def naming_rule(settings: Settings) -> StepResult:
    """Your own variable and connection ids, mapped to the secret names the backend requests."""
    from helpers.backend_config.names import check_names

    pairs = _ids_by_kind(settings)
    mapping = "\n".join(
        part for part in (describe_mapping(kind, ids, settings) for kind, ids in pairs) if part
    )
    rule = (
        "secret name = prefix + sep + id, then every '_' becomes sep. The seed's example: "
        "variable sample_var is stored as airflow-variables-sample-var."
    )
    mappings = [m.to_dict() for kind, ids in pairs for m in map_names(kind, ids, settings)]
    return StepResult(
        "Naming rule",
        check_names(settings),
        [Section("", rule, "note"), Section("Your ids", mapping or "(no ids given)")],
        {"mappings": mappings},
    )


# -- 04 live retrieval ------------------------------------------------------------------------
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
    from helpers.findings.codes.perm import (
        FORBIDDEN_BY_FIREWALL,
        FORBIDDEN_BY_POLICY,
        FORBIDDEN_BY_RBAC,
    )
    from helpers.findings.codes.svc import UNEXPECTED
    from helpers.probe import diagnose

    for spec, marker in (
        (FORBIDDEN_BY_RBAC, "ForbiddenByRbac"),
        (FORBIDDEN_BY_POLICY, "ForbiddenByPolicy"),
        (FORBIDDEN_BY_FIREWALL, "ForbiddenByFirewall"),
    ):
        if marker in text:
            return [spec("Airflow's log", f"Airflow logged {marker}")]
    tail = text[-20000:]
    finding = diagnose(RuntimeError(_redact(tail, limit=20000)), subject="Airflow's log")
    return [] if finding.code == UNEXPECTED.code else [finding]


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in _ANSI_RE.sub("", text).splitlines() if ln.strip()]
    meaningful = [ln for ln in lines if re.search(r"Error|error|Exception|failed|Failed", ln)]
    return _redact((meaningful or lines or ["(no output)"])[-1], limit=300)


class Retrieval:
    """04's steps; each method returns a :class:`StepResult` and never raises."""

    def __init__(self, conn: Connection, settings: Settings):
        self.conn = conn
        self.settings = settings
        self.sdk_fingerprints: dict[str, str] = {}
        self.sdk_authorized: bool | None = None  # None: the SDK step has not run

    def _targets(self) -> list[tuple[Kind, str]]:
        return [(kind, key) for kind, ids in _ids_by_kind(self.settings) for key in ids]

    @_never_raises("Store the samples")
    def store_samples(self) -> StepResult:
        """Sandbox: store each missing sample as its operator. Real Azure: show the command."""
        if not self.conn.is_sandbox:
            vault = self.settings.vault_url.split("//")[-1].split(".")[0] or "<vault>"
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
        from azure.core.exceptions import ResourceNotFoundError
        from azure.keyvault.secrets import SecretClient

        from helpers.probe import diagnose

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

    @_never_raises("Read through the SDK")
    def read_with_sdk(self) -> StepResult:
        """Sign in as the backend and read each secret with azure-keyvault-secrets."""
        from helpers.probe import AUTHORIZED_CODES, probe

        result = probe(self.settings, through_backend=False, check_roles=False, timeout=10)
        self._remember(result.findings)
        self.sdk_authorized = any(f.code in AUTHORIZED_CODES for f in result.findings)
        return StepResult("Read through the SDK", list(result.findings))

    @_never_raises("Read through AzureKeyVaultBackend")
    def read_with_backend(self) -> StepResult:
        """Read each secret through Airflow's real AzureKeyVaultBackend, next to the SDK."""
        from helpers.probe import probe

        if self.sdk_authorized is not False:  # else the probe stops before the backend
            _import_airflow()
            quiet_sdk_logs()  # importing Airflow configured logging
        result = probe(self.settings, through_backend=True, check_roles=False, timeout=10)
        self._remember(result.findings)
        return StepResult("Read through AzureKeyVaultBackend", list(result.findings))

    def _child_env(self) -> tuple[dict[str, str], list[Finding]]:
        """The rendered configuration as a process environment, the secret filled in."""
        from helpers.backend_config.render import render, secret_placeholder

        rendered = render(self.settings, "env")
        secret_env = str(self.settings.client_secret_env or "AZURE_CLIENT_SECRET").strip()
        placeholder = secret_placeholder(secret_env)
        env = {
            k: (os.environ.get(secret_env, "") if v == placeholder else v)
            for k, v in rendered.env.items()
        }
        return env, [f for f in rendered.findings if f.severity is Severity.ERROR]

    def _scratch(self, home: Path) -> Any:
        from helpers.backend_config.scratch_airflow import ScratchAirflow

        env, problems = self._child_env()
        base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
        return ScratchAirflow.create(home, env, base_env=base), env, problems

    @_never_raises("Airflow's Variable.get")
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
                    from helpers.findings.codes.secret import BACKEND_DISAGREES

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

    @_never_raises("airflow dags test")
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
    output = _ANSI_RE.sub("", output)
    read = re.search(r"Read sample-variable from Key Vault: (len=\d+ sha256=[0-9a-f]+)", output)
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
    home = _scratch_dir("airflow-home")
    with (
        scoped_environ({"AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}),
        contextlib.suppress(Exception),  # the probe reports AKV-SVC-004 itself
    ):
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
        "logs len=… sha256=… only",
        "Airflow masks secrets in task logs only, not everywhere a value ends up",
    ],
    [
        "Variable.get inside the task",
        "Variable.get inside the task (kept)",
        "at module level it would hit Key Vault on every DAG parse",
    ],
]


# -- the check notebook (one environment of an inventory) --------------------------------------
@_never_raises("Environment check")
def check_environment(conn: Connection, inventory: str = "", env_name: str = "") -> StepResult:
    """The whole live check of one environment of an inventory (the audit path's cell).

    Without an inventory, the environment this kernel is connected to is checked (the
    sandbox's default vault and backend principal, or the AZURE_* variables on Azure).
    """
    from helpers.batch import check_environment as run

    if not conn.ok:
        return StepResult("Environment check", list(conn.findings))
    default = {
        "name": env_name or conn.environment,
        "vault_url": conn.vault_url,
        "tenant_id": conn.tenant_id,
        "client_id": conn.client_id,
        "client_secret_env": "AZURE_CLIENT_SECRET",
        "connections": ["sample-connection"] if conn.is_sandbox else [],
    }
    result = run(inventory, env_name, default=default)
    rows = [
        ["", result.name],
        ["inventory", inventory or "(none: this kernel's environment)"],
        ["vault", result.vault_url or "(not set)"],
        ["status", result.status],
        ["seconds", f"{result.seconds:.2f}"],
    ]
    return StepResult(
        f"Environment {result.name}",
        result.findings,
        [Section("", rows, "table")],
        data={"environment": result.name, "status": result.status},
    )


class FindingsError(RuntimeError):
    """Raised on purpose at the end of a check notebook so that its runner (papermill, an
    Airflow task) fails; the findings are in the outputs above."""


def raise_for_findings(result: StepResult, enabled: bool = True) -> str:
    """Raise FindingsError when ``result`` has an error finding and ``enabled``; else a line."""
    codes = [f.code for f in result.findings if f.severity is Severity.ERROR]
    if codes and enabled:
        raise FindingsError(
            f"{len(codes)} error finding(s): {', '.join(dict.fromkeys(codes))} "
            "(details and fixes in the output above)"
        )
    return f"{len(codes)} error finding(s)" if codes else "no error findings"


@_never_raises("The sample DAG")
def explain_sample_dag() -> StepResult:
    """What changed from the seed's DAG, and a lint of dags/ for parse-time lookups."""
    from helpers.backend_config import lint_dags
    from helpers.backend_config.scratch_airflow import DAGS_FOLDER

    return StepResult(
        "The sample DAG",
        lint_dags(DAGS_FOLDER),
        [Section("What changed from the seed's DAG", SEED_DAG_CHANGES, "table")],
    )


# -- show / collect ------------------------------------------------------------------------
def show(step: str, result: Any) -> dict[str, Any]:
    """Display ``result`` as HTML and as a machine-readable output (``MIMETYPE``) in one
    display; returns the payload {step, notebook, ok, worst, findings}. Never a secret."""
    findings = _findings_of(result)
    ok = not has_errors(findings)
    payload = Payload(
        _jsonable(
            {
                "step": str(step),
                "notebook": _STATE["notebook"],
                "ok": ok,
                "worst": worst(findings).value,
                "findings": [f.to_dict() for f in findings],
            }
        )
    )
    repr_html = getattr(result, "_repr_html_", None)
    body = repr_html() if callable(repr_html) else render_html(findings, title=str(step))
    codes = ", ".join(f.code for f in findings if f.severity is not Severity.OK)
    summary = f"{step}: {'OK' if ok else 'ERROR'} ({worst(findings).value}"
    summary += f"; {codes})" if codes else ")"
    from IPython.display import display

    display({"text/html": body, MIMETYPE: dict(payload), "text/plain": summary}, raw=True)
    return payload


# -- regenerate the committed notebooks ----------------------------------------------------------
def _tidy(path: Path) -> None:
    """Drop run-specific metadata (timings, absolute paths) from an executed notebook."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)


def regenerate_notebooks(
    names: Iterable[str] | None = None, *, timeout: float = 600, notebooks: Path = NOTEBOOKS
) -> list[Path]:
    """Re-execute the committed notebooks in place against a fresh sandbox (``make
    notebooks``); refuses to write a notebook that fails or holds a secret value."""
    import papermill as pm

    from helpers.common.leaks import notebook_secret_risks, scan_for_secrets
    from helpers.sandbox import Sandbox

    chosen = sorted(p for p in notebooks.glob("*.ipynb") if not names or p.stem in set(names))
    written: list[Path] = []
    with (
        tempfile.TemporaryDirectory(prefix="akv-runbook-regen-") as tmp,
        Sandbox(state_dir=Path(tmp) / "sandbox", ephemeral=True) as sandbox,
        scoped_environ(
            {SANDBOX_PORT_VAR: str(sandbox.port), SANDBOX_STATE_VAR: str(sandbox.state_dir)}
        ),
    ):
        for source in chosen:
            out = Path(tmp) / source.name
            pm.execute_notebook(
                str(source),
                str(out),
                kernel_name="python3",
                execution_timeout=int(timeout),
                cwd=str(notebooks),
                progress_bar=False,
                store_widget_state=False,
            )
            _tidy(out)
            found = scan_for_secrets([out], sandbox.secret_values())
            found += notebook_secret_risks(out)
            if found:
                kinds = ", ".join(sorted({leak.kind for leak in found}))
                raise RuntimeError(f"refusing to write {source.name}: secrets found ({kinds})")
            problems = [
                f"{r['step']}: {f['code']} {f['detail']}"
                for r in collect_results(out)
                for f in r["findings"]
                if f["severity"] == "error"
            ]
            if problems:
                kept = Path(tempfile.gettempdir()) / f"akv-runbook-failed-{source.name}"
                shutil.copyfile(out, kept)
                raise RuntimeError(f"{source.name} (kept as {kept}): {'; '.join(problems)}")
            shutil.copyfile(out, source)
            written.append(source)
    return written


# 02's steps live in their own module; imported last because they build on the results above.
from helpers.runbook.permissions import (  # noqa: E402
    Permissions,
    permissions,
)
