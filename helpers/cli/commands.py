"""The engine's CLI commands: settings in, one engine call, findings out, exit code back.

Each ``cmd_*`` takes the parsed argparse namespace and returns an exit code: 0 when no
error-level finding, 1 when there is one, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from azure.keyvault.secrets import SecretClient

from helpers.backend_config import (
    lint_dags,
    lint_environment,
    lint_file,
    settings_from_environment,
)
from helpers.backend_config.identity import identity_fields_from_env
from helpers.backend_config.names import describe_mapping, map_names, name_findings, reverse
from helpers.backend_config.render import render
from helpers.batch import check_inventory, load_inventory
from helpers.batch.audit import check_inventory_notebooks
from helpers.cli.argtypes import _path, _positive_float, _positive_int, _seconds
from helpers.cli.output import print_json
from helpers.cli.progress import batch_progress, stderr_is_tty, wait_progress
from helpers.common.logs import quiet_sdk_logs
from helpers.common.redact import fingerprint
from helpers.common.textio import InputError, read_text
from helpers.findings import Finding, exit_code, render_text, to_json, to_junit, unique
from helpers.findings.codes.set import SECRET_IN_SETTINGS, SETTINGS_FILE_UNREADABLE
from helpers.probe import diagnose, probe, wait_for_access
from helpers.probe import probe as live_probe
from helpers.roles import LEAST_PRIVILEGE_ROLE, PermissionModel, plan_grant
from helpers.settings import (
    Credential,
    Settings,
    Target,
    accepted_names,
    check_guid,
    load_settings,
    looks_like_secret,
    settings_from_mapping,
)
from helpers.vault import environment_credential
from helpers.vault.credentials import (
    OPERATOR_CHOICES,
    OPERATOR_LABELS,
    Operator,
    operator_credential,
)

__all__ = [
    "OVERRIDES",
    "add_engine_commands",
    "add_settings_arguments",
    "cmd_check",
    "cmd_check_inventory",
    "cmd_config_lint",
    "cmd_config_render",
    "cmd_grant",
    "cmd_names",
    "cmd_names_reverse",
    "output_path_error",
    "resolve_settings",
]

# A list of secret names is small; anything past this is the wrong file (or /dev/zero).
SECRETS_FILE_LIMIT = 8 * 1024 * 1024
# The only settings that shape a secret name.
NAMING_FIELDS = ("variables_prefix", "connections_prefix", "config_prefix", "sep")
# What --report-dir gets written (BatchResult.write).
REPORT_FILES = ("report.html", "report.json", "junit.xml")

# flag dest -> Settings field, for flags that override the settings source
OVERRIDES = {
    "vault_url": "vault_url",
    "tenant_id": "tenant_id",
    "client_id": "client_id",
    "client_secret_env": "client_secret_env",
    "credential": "credential",
    "variables": "variables",
    "connections": "connections",
}


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "environment to check",
        "Settings come from --settings FILE, else from this process's environment "
        "(AIRFLOW__SECRETS__BACKEND, AIRFLOW__SECRETS__BACKEND_KWARGS, AZURE_*); the flags "
        "below override either. The client secret is never a flag: name the environment "
        "variable that holds it.",
    )
    group.add_argument("--settings", type=_path, metavar="FILE", help="settings YAML or JSON")
    group.add_argument("--vault-url", metavar="URL", help="https://<vault>.vault.azure.net/")
    group.add_argument("--tenant-id", metavar="ID", help="tenant GUID or domain")
    group.add_argument("--client-id", metavar="GUID", help="the app's client (application) id")
    group.add_argument(
        "--client-secret-env",
        metavar="NAME",
        help="environment variable holding the client secret (default AZURE_CLIENT_SECRET)",
    )
    group.add_argument(
        "--credential",
        choices=accepted_names(Credential),
        metavar="KIND",
        help="how the backend signs in: " + ", ".join(c.value for c in Credential),
    )
    group.add_argument(
        "--variable",
        dest="variables",
        action="append",
        metavar="KEY",
        help="Airflow variable to read and require (repeatable); with no --variable or "
        "--connection, read access is checked with a name that does not exist",
    )
    group.add_argument(
        "--connection",
        dest="connections",
        action="append",
        metavar="ID",
        help="Airflow connection to read (repeatable)",
    )


def resolve_settings(args: argparse.Namespace) -> tuple[Settings, list[Finding]]:
    if getattr(args, "settings", None):
        settings, findings = load_settings(args.settings)
    elif any(key.startswith("AIRFLOW__SECRETS__BACKEND") for key in os.environ):
        settings, findings = settings_from_environment(os.environ)
    else:  # nothing configured yet: the runbook's least-privilege defaults + AZURE_*
        known = {
            "vault_url": "AZURE_KEYVAULT_URL",
            "tenant_id": "AZURE_TENANT_ID",
            "client_id": "AZURE_CLIENT_ID",
        }
        values = {field: os.environ[var] for field, var in known.items() if os.environ.get(var)}
        # A managed or workload identity the platform announces (IDENTITY_ENDPOINT, the
        # webhook's AZURE_FEDERATED_TOKEN_FILE) is the identity to check, not a client secret.
        values.update(identity_fields_from_env(os.environ))
        settings, findings = settings_from_mapping(values)
    overrides = {
        field: getattr(args, dest)
        for dest, field in OVERRIDES.items()
        if getattr(args, dest, None) not in (None, [])
    }
    if overrides:
        base = {k: v for k, v in dataclasses.asdict(settings).items() if v is not None}
        settings, findings = settings_from_mapping({**base, **overrides})
    return settings, unique(findings)


def _emit(findings: list[Finding], args: argparse.Namespace, title: str, **extra: Any) -> int:
    if getattr(args, "json", False):
        print_json(to_json(findings, **extra))
    else:
        print(render_text(findings, title=title, colour=sys.stdout.isatty()))
    return exit_code(findings)


def _unusable_settings(findings: list[Finding], args: argparse.Namespace) -> int | None:
    """Exit 2 with the finding printed when the --settings file itself cannot be used (the
    same as an unusable inventory); None when the settings can be worked with."""
    broken = [f for f in findings if f.code == SETTINGS_FILE_UNREADABLE.code]
    if not broken:
        return None
    if getattr(args, "json", False):
        print_json(json.dumps(json.loads(to_json(broken)) | {"exit_code": 2}, indent=2))
    else:
        print(render_text(broken, title=f"settings {args.settings}", colour=sys.stdout.isatty()))
    return 2


def _usage_error(message: str) -> int:
    print(f"akv-runbook: {message}", file=sys.stderr)
    return 2


def output_path_error(flag: str, path: Path, *, directory: bool) -> str | None:
    """Why ``path`` cannot be written (one line naming ``flag``), or None when it can.

    Checked before a run starts so that a bad path never costs the run's results. A report
    directory is created here (it would be at the end anyway); a file's folder must exist.
    """
    shown = f"{flag} {path}"
    if "\x00" in str(path):  # pathlib's is_dir/exists say False to it; open() raises ValueError
        return f"{flag}: a path cannot hold a NUL byte"
    try:
        if directory:
            if path.exists() and not path.is_dir():
                return f"{shown}: is a file, not a directory"
            ancestor = next(p for p in (path, *path.parents) if p.exists())
            if not ancestor.is_dir():
                return f"{shown}: {ancestor} is a file, not a directory"
            for name in REPORT_FILES:
                if (path / name).is_dir():
                    return f"{shown}: {path / name} is a directory"
            path.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=path, prefix=".akv-runbook-"):
                pass
            return None
        if path.is_dir():
            return f"{shown}: is a directory, not a file"
        folder = path.parent
        if not folder.is_dir():
            return f"{shown}: the folder {folder} does not exist or is not a directory"
        if not os.access(folder, os.W_OK | os.X_OK) or (
            path.exists() and not os.access(path, os.W_OK)
        ):
            return f"{shown}: not writable"
    except (OSError, ValueError) as err:
        return f"{shown}: cannot write there: {getattr(err, 'strerror', None) or err}"
    return None


# -- check -------------------------------------------------------------------------------
def cmd_check(args: argparse.Namespace) -> int:
    quiet_sdk_logs()
    if args.inventory:
        return cmd_check_inventory(args)
    if args.notebooks:
        print("--notebooks needs --inventory FILE", file=sys.stderr)
        return 2
    if args.junit and (error := output_path_error("--junit", Path(args.junit), directory=False)):
        return _usage_error(error)
    settings, findings = resolve_settings(args)
    if (code := _unusable_settings(findings, args)) is not None:
        return code
    title = f"{settings.name}: {settings.vault_url or '(no vault URL)'}"
    result = None
    if exit_code(findings) == 0:
        result = probe(settings, through_backend=not args.no_backend, timeout=args.timeout)
        findings = findings + result.findings
    unwritten = None  # checked before the run; this is a race with something else
    if args.junit:
        try:
            Path(args.junit).write_text(to_junit({settings.name: findings}), encoding="utf-8")
        except OSError as err:
            unwritten = f"--junit {args.junit}: cannot write: {err.strerror or err}"
    extra: dict[str, Any] = {"environment": settings.name, "vault_url": settings.vault_url}
    if result is not None:
        extra.update(
            claims=result.claims,
            latencies=result.latencies,
            permission_model=result.permission_model,
        )
    code = _emit(findings, args, title, **extra)
    if result is not None and not args.json:
        timings = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in result.latencies.items())
        if timings:
            print(f"latency: {timings}")
    return code if unwritten is None else _usage_error(unwritten)


def cmd_check_inventory(args: argparse.Namespace) -> int:
    """Every environment of an inventory: the fast path, or ``--notebooks`` (audit)."""

    given = [f"--{flag.replace('_', '-')}" for flag in OVERRIDES if getattr(args, flag, None)]
    if args.settings or given:
        flags = ", ".join(["--settings"] * bool(args.settings) + given)
        print(f"{flags}: not with --inventory (each environment sets its own)", file=sys.stderr)
        return 2
    inventory = load_inventory(args.inventory)
    progress = sys.stderr.isatty() and not args.no_progress and not args.json
    if not inventory.usable:
        if args.json:
            payload = json.loads(to_json(inventory.findings)) | {"exit_code": 2}
            print_json(json.dumps(payload, indent=2))
        else:
            print(render_text(inventory.findings, title=f"inventory {args.inventory}"))
        return 2
    report_dir: Path | None = None
    if args.report_dir or args.notebooks:
        report_dir = Path(args.report_dir) if args.report_dir else _timestamped(Path("reports"))
        if error := output_path_error("--report-dir", report_dir, directory=True):
            return _usage_error(error)
    if args.junit and (error := output_path_error("--junit", Path(args.junit), directory=False)):
        return _usage_error(error)
    if args.notebooks and report_dir is not None:
        with batch_progress(len(inventory.environments), enabled=progress) as report:
            batch = check_inventory_notebooks(
                inventory,
                report_dir,
                workers=args.workers,
                progress=report,
                env_timeout=args.env_timeout,
            )
    else:
        with batch_progress(len(inventory.environments), enabled=progress) as report:
            batch = check_inventory(
                inventory,
                concurrency=args.concurrency,
                progress=report,
                env_timeout=args.env_timeout,
                request_timeout=args.timeout,
            )
    unwritten = []  # checked before the run; this is a race with something else
    try:
        if report_dir is not None:
            batch.write(report_dir)
    except OSError as err:
        unwritten.append(f"--report-dir {report_dir}: cannot write: {err.strerror or err}")
    try:
        if args.junit:
            Path(args.junit).write_text(batch.to_junit(), encoding="utf-8")
    except OSError as err:
        unwritten.append(f"--junit {args.junit}: cannot write: {err.strerror or err}")
    for message in unwritten:
        print(f"akv-runbook: {message}", file=sys.stderr)
    if args.json:
        print_json(json.dumps(batch.to_dict(), indent=2))
    else:
        print(batch.table())
        if report_dir is not None and not unwritten:
            print(f"report: {report_dir}/report.html (also report.json, junit.xml)")
    return 2 if unwritten else batch.exit_code


def _timestamped(root: Path) -> Path:
    return root / datetime.now(UTC).strftime("check-%Y%m%d-%H%M%S")


# -- config ------------------------------------------------------------------------------
def cmd_config_render(args: argparse.Namespace) -> int:
    settings, findings = resolve_settings(args)
    if (code := _unusable_settings(findings, args)) is not None:
        return code
    rendered = render(settings, args.target, include_client_secret=args.include_client_secret)
    findings = findings + rendered.findings
    if args.json:
        # every finding, the settings' included (they set the exit code too)
        every = {"findings": [f.to_dict() for f in findings], "exit_code": exit_code(findings)}
        print_json(json.dumps(rendered.to_dict() | every, indent=2))
        return exit_code(findings)
    print(str(rendered))
    if findings:
        print(render_text(findings, title="findings", colour=sys.stdout.isatty()))
    return exit_code(findings)


def cmd_config_lint(args: argparse.Namespace) -> int:
    findings: list[Finding] = []
    checked = []
    if args.env:
        findings += lint_environment(os.environ)
        checked.append("environment")
    if args.dags:
        findings += lint_dags(Path(args.dags), use_cache=args.use_cache)
        checked.append(f"DAG folder {args.dags}")
    for path in args.files:
        findings += lint_file(Path(path))
        checked.append(path)
    if not checked:
        print("akv-runbook config lint: give a FILE, --env or --dags DIR", file=sys.stderr)
        return 2
    return _emit(unique(findings), args, "lint: " + ", ".join(checked))


# -- names -------------------------------------------------------------------------------
def cmd_names(args: argparse.Namespace) -> int:
    settings, findings = resolve_settings(args)
    if (code := _unusable_settings(findings, args)) is not None:
        return code
    # Only the prefixes and the separator shape a name; a missing vault URL or identity
    # is check's business, not a reason for this command to fail.
    findings = [f for f in findings if f.subject.rsplit(".", 1)[-1] in NAMING_FIELDS]
    ids = [i for i in args.ids if not looks_like_secret(i)]
    findings += [  # the same rule as for a settings file's variables and connections
        SECRET_IN_SETTINGS(
            f"{args.kind} id",
            f"an id holds a secret-like value ({fingerprint(i)}); it is not mapped.",
        )
        for i in args.ids
        if looks_like_secret(i)
    ]
    findings = findings + name_findings(args.kind, ids, settings)
    if args.json:
        mappings = [dataclasses.asdict(m) for m in map_names(args.kind, ids, settings)]
        print_json(to_json(findings, mappings=mappings))
        return exit_code(findings)
    print(describe_mapping(args.kind, ids, settings))
    if findings:
        print(render_text(findings, colour=sys.stdout.isatty()))
    return exit_code(findings)


def cmd_names_reverse(args: argparse.Namespace) -> int:
    if args.secrets_file:
        names_or_error = _read_secrets_file(args.secrets_file)
        if isinstance(names_or_error, str):
            return _usage_error(names_or_error)
    settings, findings = resolve_settings(args)
    if (code := _unusable_settings(findings, args)) is not None:
        return code
    if args.secrets_file:  # only the naming settings matter, as for `names variable`
        names = names_or_error
        findings = [f for f in findings if f.subject.rsplit(".", 1)[-1] in NAMING_FIELDS]
    else:
        names, more = _list_secret_names(settings)
        findings = findings + more
    mapping = reverse(names, settings)
    if args.json:
        print_json(json.dumps(mapping.to_dict() | {"exit_code": exit_code(findings)}, indent=2))
    else:
        print(mapping.describe())
        if findings:
            print(render_text(findings, colour=sys.stdout.isatty()))
    return exit_code(findings)


def _read_secrets_file(path: str) -> list[str] | str:
    """The names in ``path`` (whitespace-separated), or why it cannot be used (one line)."""
    try:
        return read_text(path, limit=SECRETS_FILE_LIMIT).split()
    except InputError as err:
        return f"--secrets-file {path}: {err}"


def _list_secret_names(settings: Settings) -> tuple[list[str], list[Finding]]:
    """Names (never values) of the vault's secrets, read with the environment's credential."""
    try:
        client = SecretClient(settings.vault_url, environment_credential(), retry_total=1)
        return [p.name for p in client.list_properties_of_secrets() if p.name], []
    except Exception as err:  # noqa: BLE001 - every failure is a finding
        return [], [diagnose(err, subject=settings.vault_url, settings=settings)]


# -- grant -------------------------------------------------------------------------------
def _grant_operator(args: argparse.Namespace) -> Operator | Finding:
    """Who grants: exactly what the flags name (never this shell's AZURE_* by default)."""
    if args.operator_env:
        return operator_credential(env_prefix=args.operator_env)
    return operator_credential(args.operator)


def cmd_grant(args: argparse.Namespace) -> int:
    quiet_sdk_logs()
    settings, findings = resolve_settings(args)
    if (code := _unusable_settings(findings, args)) is not None:
        return code
    subscription, found = check_guid(
        args.subscription_id or os.environ.get("AZURE_SUBSCRIPTION_ID", ""), "subscription_id"
    )
    findings += found
    if found:  # never carried on (it may be a pasted secret), as in an inventory
        subscription = ""
    backend = live_probe(settings, through_backend=False, check_roles=False)
    plan = plan_grant(
        settings,
        backend=backend,
        operator=_grant_operator(args),
        subscription_id=subscription,
        role=args.role,
        model=args.model,
        object_id=args.object_id,
        vault_resource_id=args.vault_resource_id,
        perform=args.perform,
    )
    if not plan.object_id:  # why the backend's sign-in could not tell its object id
        findings += [f for f in backend.findings if f.severity.value == "error"]
    findings += plan.findings
    if not args.json:
        for kind, text in plan.commands.items():
            print(f"# ---- {kind} ----\n{text.rstrip()}\n")
    if plan.granted:
        report, bar = (
            wait_progress(args.wait) if stderr_is_tty() and not args.json else (None, None)
        )
        try:
            findings += wait_for_access(settings, timeout=args.wait, progress=report)
        finally:
            if bar is not None:
                bar.close()
    if args.json:
        print_json(
            to_json(
                findings,
                commands=plan.commands,
                object_id=plan.object_id,
                vault_resource_id=plan.vault_resource_id,
                operator=plan.operator,
            )
        )
        return exit_code(findings)
    if findings:
        print(render_text(findings, title="grant", colour=sys.stdout.isatty()))
    return exit_code(findings)


def add_engine_commands(sub: Any) -> None:
    """Register check, config, names, grant on the top-level subparsers."""
    fmt = argparse.RawDescriptionHelpFormatter

    check = sub.add_parser(
        "check",
        help="check one environment live: sign-in, vault, each secret, roles",
        formatter_class=fmt,
        description="Sign in as the backend would, reach the vault, read each expected "
        "variable and connection through the SDK and through Airflow's own "
        "AzureKeyVaultBackend, and report findings.\n\nWith --inventory FILE: every "
        "environment of the inventory (docs/batch.md), concurrently from this process (the "
        "fast path), or with --notebooks by executing the check notebook once per "
        "environment (the audit path: an executed notebook per environment as evidence)."
        "\n\nexit 0: no error finding; 1: at least one (in any environment); 2: usage "
        "error, or a settings file, inventory or report path that cannot be used.",
        epilog="examples:\n  akv-runbook check                       # from this environment\n"
        "  akv-runbook check --settings prod.yaml --junit report.xml\n"
        "  akv-runbook check --vault-url https://kv.vault.azure.net/ --variable sample_var\n"
        "  akv-runbook check --inventory fleet.yaml --report-dir reports/nightly\n"
        "  akv-runbook check --inventory fleet.yaml --notebooks --workers 4",
    )
    add_settings_arguments(check)
    check.add_argument(
        "--no-backend",
        action="store_true",
        help="read through the SDK only, not through AzureKeyVaultBackend",
    )
    check.add_argument(
        "--timeout", type=_positive_float, default=10.0, help="seconds per HTTP request"
    )
    check.add_argument("--junit", type=_path, metavar="FILE", help="also write JUnit XML")
    check.add_argument("--json", action="store_true", help="print JSON")
    batch = check.add_argument_group("many environments")
    batch.add_argument(
        "--inventory", type=_path, metavar="FILE", help="inventory YAML: check each environment"
    )
    batch.add_argument(
        "--report-dir",
        type=_path,
        metavar="DIR",
        help="write report.html, report.json and junit.xml there (--notebooks: also each "
        "executed notebook and its HTML; default reports/check-<UTC time>)",
    )
    batch.add_argument(
        "--concurrency",
        type=_positive_int,
        default=8,
        metavar="N",
        help="environments checked at once on the fast path (default 8)",
    )
    batch.add_argument(
        "--env-timeout",
        type=_positive_float,
        metavar="SECONDS",
        help="bound for each environment's whole check (default: its inventory timeout, 60)",
    )
    batch.add_argument(
        "--notebooks",
        action="store_true",
        help="audit path: execute the check notebook per environment with papermill",
    )
    batch.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        metavar="N",
        help="notebook processes at once with --notebooks (default: 2 per CPU, at most 8)",
    )
    batch.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    check.set_defaults(func=cmd_check)

    config = sub.add_parser("config", help="render or lint Airflow's secrets configuration")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    render = config_sub.add_parser(
        "render",
        help="print the exact overrides for a target, ready to copy",
        description="Render backend + backend_kwargs (valid JSON by construction, config_prefix "
        "null, bounded retries) and the AZURE_* variables for a target. The client secret is "
        "never printed.",
    )
    add_settings_arguments(render)
    render.add_argument(
        "--target",
        choices=accepted_names(Target),
        metavar="TARGET",
        help="one of " + ", ".join(t.value for t in Target) + " (default: the settings' target)",
    )
    render.add_argument(
        "--include-client-secret",
        action="store_true",
        help="put a reference to the secret into backend_kwargs (not advised)",
    )
    render.add_argument("--json", action="store_true", help="print JSON")
    render.set_defaults(func=cmd_config_render)
    lint = config_sub.add_parser(
        "lint",
        help="find what Airflow would silently get wrong in an existing configuration",
        description="Lint airflow.cfg, an ADF/Fabric JSON export, Helm values, a compose file "
        "or a .env file; the process environment (--env); or a DAG folder (--dags).",
    )
    lint.add_argument("files", nargs="*", type=_path, metavar="FILE")
    lint.add_argument("--env", action="store_true", help="lint this process's environment")
    lint.add_argument(
        "--dags", type=_path, metavar="DIR", help="lint DAG files for parse-time lookups"
    )
    lint.add_argument(
        "--use-cache",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="whether [secrets] use_cache is on (for --dags)",
    )
    lint.add_argument("--json", action="store_true", help="print JSON")
    lint.set_defaults(func=cmd_config_lint)

    names = sub.add_parser(
        "names", help="Airflow id <-> Key Vault secret name, as the provider maps them"
    )
    names_sub = names.add_subparsers(dest="names_command", metavar="KIND", required=True)
    for kind in ("variable", "connection", "config"):
        p = names_sub.add_parser(kind, help=f"secret names for {kind} ids")
        p.add_argument("ids", nargs="+", metavar="ID")
        add_settings_arguments(p)
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(func=cmd_names, kind=kind)
    rev = names_sub.add_parser("reverse", help="list a vault's secrets as Airflow ids")
    add_settings_arguments(rev)
    rev.add_argument(
        "--secrets-file",
        type=_path,
        metavar="FILE",
        help="secret names, one per line (default: list the vault live)",
    )
    rev.add_argument("--json", action="store_true", help="print JSON")
    rev.set_defaults(func=cmd_names_reverse)

    grant = sub.add_parser(
        "grant",
        help="show (and with --perform, make) the least-privilege grant",
        description="Print the grant as az CLI, PowerShell, Bicep and Terraform for the vault's "
        "permission model. The grantee is always the backend identity of the settings. With "
        "--perform, make it through ARM as the operator named by --operator or --operator-env "
        "(never this shell's AZURE_* by default: that is the backend's identity), then re-probe "
        "until it takes effect. A grant to the operator itself is refused; a grant when reads "
        "already work is a no-op.",
    )
    add_settings_arguments(grant)
    grant.add_argument(
        "--object-id",
        metavar="GUID",
        help="service principal OBJECT id (default: learned by signing in)",
    )
    grant.add_argument("--role", default=LEAST_PRIVILEGE_ROLE, help="role to grant")
    grant.add_argument(
        "--model",
        choices=PermissionModel.accepted_names(),
        metavar="MODEL",
        help="permission model: one of "
        + ", ".join(m.value for m in PermissionModel if m is not PermissionModel.UNKNOWN)
        + " (default: read through ARM)",
    )
    grant.add_argument("--subscription-id", metavar="GUID", help="default: AZURE_SUBSCRIPTION_ID")
    grant.add_argument("--vault-resource-id", metavar="ID", help="default: found through ARM")
    grant.add_argument(
        "--operator",
        choices=OPERATOR_CHOICES,
        help="who grants: "
        + ", ".join(f"{name} ({label})" for name, label in OPERATOR_LABELS.items())
        + "; signed-in never uses AZURE_*",
    )
    grant.add_argument(
        "--operator-env",
        metavar="PREFIX",
        help="grant as PREFIX_TENANT_ID / PREFIX_CLIENT_ID / PREFIX_CLIENT_SECRET "
        "(AZURE names this shell's AZURE_* explicitly)",
    )
    grant.add_argument("--perform", action="store_true", help="make the grant through ARM")
    grant.add_argument(
        "--wait", type=_seconds, default=60.0, help="seconds to wait for the grant to take effect"
    )
    grant.add_argument("--json", action="store_true", help="print JSON")
    grant.set_defaults(func=cmd_grant)
