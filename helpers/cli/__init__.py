"""`akv-runbook`: each command parses its arguments, makes one API call, renders, exits.

Exit codes: 0 success, 1 the thing checked is not right (or not running), 2 usage error or
an input file (settings, inventory, secrets list) or report path that cannot be used.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from helpers import sandbox as sb
from helpers.batch.fleet import run_fleet_demo
from helpers.batch.notebook_runs import run_demo_notebooks
from helpers.cli.argtypes import _path, _port, _positive_float, _positive_int
from helpers.cli.commands import add_engine_commands, output_path_error
from helpers.cli.cost import add_cost_command
from helpers.cli.output import json_stdout, print_json
from helpers.cli.progress import batch_progress, stderr_is_tty
from helpers.cli.training import add_class_commands
from helpers.common.facts import SANDBOX_PORT_VAR, SANDBOX_STATE_VAR
from helpers.common.paths import NOTEBOOKS_DIR, PROJECT_ROOT
from helpers.devtools.demo import run_demo
from helpers.devtools.lab_settings import pin_widget_state_autosave_off
from helpers.devtools.notebook_sources import NOTEBOOKS
from helpers.devtools.notebooks import build_notebooks, write_notebooks
from helpers.findings import catalogue, catalogue_markdown, resolve, retired_codes
from helpers.sandbox.runtime import serve_forever

__all__ = [
    "EPILOG",
    "FLEET_MAX",
    "build_parser",
    "cmd_demo",
    "cmd_findings",
    "cmd_lab",
    "cmd_sandbox_env",
    "cmd_sandbox_start",
    "cmd_sandbox_status",
    "main",
]

EPILOG = """\
The sandbox is an offline Entra ID + Key Vault + ARM + Microsoft Graph emulator (client
secrets, managed identity, workload identity). Unmodified Azure SDKs (Python, JavaScript),
the az CLI and Airflow's AzureKeyVaultBackend reach it through HTTPS_PROXY and a CA bundle,
with production URLs (https://<vault>.vault.azure.net).

  akv-runbook sandbox start              # foreground; Ctrl-C stops it
  eval "$(akv-runbook sandbox env)"      # in another shell: proxy, CA bundle, AZURE_*
  eval "$(akv-runbook sandbox env --credential workload-identity)"   # or managed-identity
  akv-runbook sandbox status             # is it running, what does it hold
  akv-runbook demo                       # every notebook, headless, into reports/
  akv-runbook demo --fleet 100           # 100 sandbox environments, ten broken, batch-checked
  akv-runbook class start --trainees 30  # a training class: see docs/training.md

Checking a real (or sandbox) environment:

  akv-runbook check [--settings FILE]    # live: sign-in, vault, each secret, roles
  akv-runbook check --inventory FILE     # every environment of an inventory, at once
  akv-runbook config render --target helm
  akv-runbook config lint airflow.cfg    # or --env, or --dags DIR
  akv-runbook names variable sample_var  # -> airflow-variables-sample-var
  akv-runbook grant [--perform]          # least-privilege grant, in every form
  akv-runbook cost --dags DIR            # vault GETs per DAG parse and per task, measured
  akv-runbook findings AKV-PERM-001      # explain a finding

Exit codes: 0 no error finding, 1 at least one error finding, 2 usage error or an input
file that cannot be used (--settings, --inventory, --secrets-file, --report-dir, --junit).
"""


# A sandbox vault per environment: past this the demo only exhausts memory (and range(N)
# of a 26-digit N never ends).
FLEET_MAX = 1000


def _fleet_size(text: str) -> int:
    value = _positive_int(text)
    if value > FLEET_MAX:
        raise argparse.ArgumentTypeError(f"a fleet is 1-{FLEET_MAX} environments, not {text}")
    return value


def _state_dir(args: argparse.Namespace) -> Path:
    return Path(args.state_dir) if args.state_dir else sb.default_state_dir()


def _state_dir_problem(args: argparse.Namespace) -> str | None:
    """Why the state dir cannot be used (a usage error), or None."""
    path = _state_dir(args)
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        return f"akv-runbook: --state-dir {path}: {existing} is not a directory"
    return None


def cmd_sandbox_start(args: argparse.Namespace) -> int:
    if problem := _state_dir_problem(args):
        print(problem, file=sys.stderr)
        return 2
    try:
        scenario = sb.load_scenario(args.scenario)
    except sb.ScenarioError as err:
        print(err, file=sys.stderr)
        return 2
    state_dir = _state_dir(args)

    def ready(server) -> None:
        state_flag = "" if not args.state_dir else f" --state-dir {shlex.quote(str(state_dir))}"
        print(f"sandbox listening on 127.0.0.1:{server.port}  (scenario {scenario.name})")
        print(f"state dir {state_dir}{' (ephemeral)' if args.ephemeral else ''}")
        print("vaults: " + ", ".join(v.uri + "/" for v in server.state.keyvault.vaults.values()))
        print(f'in another shell:  eval "$(akv-runbook sandbox env{state_flag})"')
        print("Ctrl-C to stop", flush=True)

    try:
        serve_forever(
            scenario=scenario,
            state_dir=state_dir,
            port=args.port,
            ephemeral=args.ephemeral,
            on_ready=ready,
        )
    except OSError as err:
        print(f"cannot start the sandbox on port {args.port}: {err.strerror}", file=sys.stderr)
        return 1
    return 0


def cmd_sandbox_env(args: argparse.Namespace) -> int:
    state_dir = _state_dir(args)
    try:
        client = sb.SandboxClient.from_state_dir(state_dir)
        env = client.env(args.principal, args.credential)
    except (sb.SandboxNotRunning, RuntimeError) as err:
        print(f"akv-runbook: {err}", file=sys.stderr)
        return 1
    env = {**sb.proxy_environment(client.port, state_dir / "ca-bundle.pem"), **env}
    if args.json:
        print_json(json.dumps(env, indent=2))
    else:
        stale = [key for key in sb.CREDENTIAL_VARS if key not in env]
        print(f"unset {' '.join(stale)}")
        for key, value in env.items():
            print(f"export {key}={shlex.quote(value)}")
    return 0


def cmd_sandbox_status(args: argparse.Namespace) -> int:
    try:
        status = sb.SandboxClient.from_state_dir(_state_dir(args)).status()
    except (sb.SandboxNotRunning, RuntimeError) as err:
        if args.json:
            print_json(json.dumps({"running": False, "reason": str(err)}))
        else:
            print(f"not running: {err}")
        return 1
    status["running"] = True
    if args.json:
        print_json(json.dumps(status, indent=2))
        return 0
    print(
        f"running on 127.0.0.1:{status['port']} (pid {status['pid']}), "
        f"scenario {status['scenario']}"
    )
    print(f"state dir {status['state_dir']}{' (ephemeral)' if status['ephemeral'] else ''}")
    print(f"requests served {status['requests']}, role assignments {status['role_assignments']}")
    for name, vault in status["vaults"].items():
        print(
            f"  vault {name}: {vault['permission_model']}, firewall {vault['firewall']}, "
            f"{vault['secrets']} secrets ({vault['deleted']} deleted)"
        )
    for fault in status["faults"]:
        print(f"  fault: {fault}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    if not args.quick and (
        error := output_path_error("--reports", Path(args.reports), directory=True)
    ):
        print(f"akv-runbook: {error}", file=sys.stderr)  # before the run, not after it
        return 2
    if args.fleet:
        with batch_progress(args.fleet, enabled=stderr_is_tty()) as report:
            return run_fleet_demo(
                args.fleet,
                Path(args.reports),
                notebooks=args.notebooks,
                echo=print,
                progress=report,
            )
    if args.quick:
        return run_demo(print, workdir=Path(args.workdir) if args.workdir else None)
    return run_demo_notebooks(Path(args.reports), echo=print)


def cmd_lab(args: argparse.Namespace) -> int:
    """JupyterLab whose kernels inherit the sandbox environment."""
    root = PROJECT_ROOT
    if problem := _state_dir_problem(args):
        print(problem, file=sys.stderr)
        return 2
    pin_widget_state_autosave_off()
    with sb.Sandbox(state_dir=_state_dir(args)) as sandbox:
        # Kernels inherit this environment; runbook.connect() reuses this sandbox.
        os.environ[SANDBOX_PORT_VAR] = str(sandbox.port)
        os.environ[SANDBOX_STATE_VAR] = str(sandbox.state_dir)
        print(f"sandbox on 127.0.0.1:{sandbox.port}; starting JupyterLab in {root / 'notebooks'}")
        cmd = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={root / 'notebooks'}"]
        if args.no_browser:
            cmd.append("--no-browser")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")  # containers and training VMs often run as root
        try:
            return subprocess.call(cmd, env=dict(os.environ))
        except KeyboardInterrupt:
            return 0


def cmd_findings(args: argparse.Namespace) -> int:
    specs = catalogue()
    if args.markdown:
        sys.stdout.write(catalogue_markdown())
        return 0
    if args.code:
        code = resolve(args.code.upper())
        spec = specs.get(code)
        if spec is not None and code != args.code.upper() and not args.json:
            now = " or ".join(retired_codes()[args.code.upper()])
            print(f"{args.code.upper()} is a retired code: the same fact is now {now}.\n")
        if spec is None:
            print(
                f"akv-runbook: no finding {args.code!r} (see: akv-runbook findings)",
                file=sys.stderr,
            )
            return 2
        if args.json:
            print_json(json.dumps(spec(subject="").to_dict() | {"subject": None}, indent=2))
        else:
            print(f"{spec.code} ({spec.severity.value}): {spec.title}\n")
            print(f"{spec.explanation}\n\nFix: {spec.fix}\n\nDocs: {spec.docs_link}")
        return 0
    if args.json:
        print_json(json.dumps([spec().to_dict() for spec in specs.values()], indent=2))
        return 0
    for spec in specs.values():
        print(f"{spec.code:<16} {spec.severity.value:<8} {spec.title}")
    return 0


def cmd_notebooks(args: argparse.Namespace) -> int:
    unknown = sorted(set(args.names) - set(NOTEBOOKS))
    if unknown:
        print(
            f"akv-runbook: unknown notebooks {', '.join(unknown)}; known: {', '.join(NOTEBOOKS)}",
            file=sys.stderr,
        )
        return 2
    if args.write_only:
        written = write_notebooks(args.names or None, notebooks=args.dir)
    else:
        written = build_notebooks(args.names or None, timeout=args.timeout, notebooks=args.dir)
    for path in written:
        print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="akv-runbook",
        description="Set up, verify and keep checking Airflow's Azure Key Vault secrets backend.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sandbox = sub.add_parser(
        "sandbox",
        help="run and use the offline Entra ID + Key Vault + ARM + Graph sandbox",
        description="Run the offline sandbox and point shells at it.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", metavar="ACTION", required=True)
    state_help = f"state directory (default: $AKV_SANDBOX_STATE_DIR or {sb.default_state_dir()})"

    start = sandbox_sub.add_parser(
        "start",
        help="run the sandbox in the foreground (Ctrl-C or SIGTERM stops it)",
        description="Run the sandbox in the foreground. It listens on 127.0.0.1 only.",
    )
    start.add_argument(
        "--port",
        type=_port,
        default=sb.DEFAULT_PORT,
        help=f"proxy port on 127.0.0.1 (default {sb.DEFAULT_PORT}; 0 = any free)",
    )
    start.add_argument(
        "--scenario",
        type=_path,
        metavar="FILE",
        help="scenario YAML (default: the seed document's setup)",
    )
    start.add_argument("--state-dir", type=_path, metavar="DIR", help=state_help)
    start.add_argument(
        "--ephemeral",
        action="store_true",
        help="do not keep vault contents and grants across restarts",
    )
    start.set_defaults(func=cmd_sandbox_start)

    env = sandbox_sub.add_parser(
        "env",
        help="print shell exports for the running sandbox",
        description='Print export lines: use as  eval "$(akv-runbook sandbox env)". They set '
        "HTTPS_PROXY, NO_PROXY, the CA bundle variables (REQUESTS_CA_BUNDLE, SSL_CERT_FILE, "
        "CURL_CA_BUNDLE, NODE_EXTRA_CA_CERTS: public roots + the sandbox CA) and the "
        "principal's AZURE_* credentials.",
    )
    env.add_argument(
        "--principal",
        metavar="NAME",
        help="app or managed identity whose credentials to export (default: the Airflow "
        "backend's app; for managed identity the first user-assigned identity; for workload "
        "identity the first app with a federated credential)",
    )
    env.add_argument(
        "--credential",
        choices=sb.CREDENTIAL_KINDS,
        default="client-secret",
        help="what the platform sets: client-secret (AZURE_CLIENT_SECRET), managed-identity "
        "(App Service / Container Apps: IDENTITY_ENDPOINT, IDENTITY_HEADER), imds (VM / AKS "
        "node: HTTP_PROXY routes 169.254.169.254 to the sandbox), workload-identity (AKS "
        "webhook: AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID, "
        "AZURE_AUTHORITY_HOST). Default: client-secret",
    )
    env.add_argument("--state-dir", type=_path, metavar="DIR", help=state_help)
    env.add_argument("--json", action="store_true", help="print a JSON object instead")
    env.set_defaults(func=cmd_sandbox_env)

    status = sandbox_sub.add_parser(
        "status", help="show whether the sandbox runs and what it holds (exit 1 if not running)"
    )
    status.add_argument("--state-dir", type=_path, metavar="DIR", help=state_help)
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=cmd_sandbox_status)

    demo = sub.add_parser(
        "demo",
        help="run the whole runbook headless against a throw-away sandbox",
        description="Start a throw-away sandbox and run every notebook headless with papermill "
        "into REPORTS/<timestamp>/ (executed notebooks + HTML + summary.json), then print a "
        "summary table. Exit 0 when no notebook reports an error finding. --quick instead "
        "configures Airflow exactly as the seed document does and reads sample-variable "
        "through the real AzureKeyVaultBackend (about 10 s).",
    )
    demo.add_argument(
        "--reports",
        type=_path,
        metavar="DIR",
        default="reports",
        help="where report folders go (default: reports/)",
    )
    demo.add_argument(
        "--quick",
        action="store_true",
        help="only the seed document's setup and one read through Airflow",
    )
    demo.add_argument(
        "--workdir", type=_path, metavar="DIR", help="with --quick: keep the scratch files here"
    )
    demo.add_argument(
        "--fleet",
        type=_fleet_size,
        metavar="N",
        help=f"instead: a sandbox fleet of N (1-{FLEET_MAX}) environments, ten broken on "
        "purpose, checked with `check --inventory`; exit 0 when each broken one gets its finding",
    )
    demo.add_argument(
        "--notebooks", action="store_true", help="with --fleet: the audit path (slower)"
    )
    demo.set_defaults(func=cmd_demo)

    add_engine_commands(sub)
    add_class_commands(sub)

    add_cost_command(sub)
    findings = sub.add_parser(
        "findings",
        help="list every finding code, or explain one",
        description="Every problem the runbook reports has a stable code. Without CODE: the "
        "catalogue. With CODE: its explanation and fix.",
    )
    findings.add_argument("code", nargs="?", metavar="CODE", help="e.g. AKV-PERM-001")
    findings.add_argument("--json", action="store_true", help="print JSON")
    findings.add_argument(
        "--markdown",
        action="store_true",
        help="print docs/findings.md (generated from the catalogue)",
    )
    findings.set_defaults(func=cmd_findings)

    notebooks = sub.add_parser(
        "notebooks",
        help="write notebooks/*.ipynb from their one source, then execute them in place",
        description="Write each notebook from helpers/devtools/notebook_sources.py, then "
        "execute it in place against a fresh deterministic sandbox (the committed outputs). "
        "Refuses to write a notebook that fails, reports an error finding or holds a secret.",
    )
    notebooks.add_argument("names", nargs="*", metavar="NAME", help="default: every notebook")
    notebooks.add_argument("--write-only", action="store_true", help="write, do not execute")
    notebooks.add_argument("--timeout", type=_positive_float, default=600, help="seconds per cell")
    notebooks.add_argument(
        "--dir", type=Path, default=NOTEBOOKS_DIR, help="default: the project's notebooks/"
    )
    notebooks.set_defaults(func=cmd_notebooks)

    lab = sub.add_parser("lab", help="JupyterLab with the sandbox environment in its kernels")
    lab.add_argument("--state-dir", type=_path, metavar="DIR", help=state_help)
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")
    lab.set_defaults(func=cmd_lab)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "json", False):  # only the JSON document on stdout; logs to stderr
        with json_stdout():
            return args.func(args)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
