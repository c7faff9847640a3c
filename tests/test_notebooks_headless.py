"""The notebooks under the real papermill command line: exit codes and secret parameters.

Run headless, a step with an error finding stops the notebook (``fail_on_error``, on by
default when the kernel is driven by nbclient) so that papermill exits non-zero; a healthy
run exits 0; the command in notebooks/README.md works as written; a secret-like parameter
stops the notebook with AKV-SET-010 and, with ``--engine akv-runbook``, never reaches the
output notebook. The canary sweep over every notebook is in tests/test_notebook_canary.py.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from helpers.common.facts import SANDBOX_PORT_VAR, SANDBOX_STATE_VAR
from helpers.common.papermill_engine import ENGINE_NAME
from helpers.findings.results import collect_results

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
PAPERMILL = Path(sys.executable).parent / "papermill"
# Until the package is re-installed, the engine's entry point may not be registered: the
# papermill CLI is then run with the engine registered in-process (the same CLI function).
SHIM = (
    "import sys; from helpers.common.papermill_engine import register; register(); "
    "from papermill.cli import papermill; sys.argv[0] = 'papermill'; papermill()"
)
RUN_TIMEOUT = 240


def papermill_argv(args: list[str]) -> list[str]:
    """``papermill ARGS`` as a user types it (args[0] is not "papermill")."""
    registered = any(ep.name == ENGINE_NAME for ep in entry_points(group="papermill.engine"))
    if "--engine" in args and not registered:
        return [sys.executable, "-c", SHIM, *args]
    return [str(PAPERMILL), *args]


def run_papermill(args: list[str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        papermill_argv(args),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def error_outputs(nb_path: Path) -> list[dict]:
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    return [
        out
        for cell in nb["cells"]
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]


def codes(nb_path: Path) -> dict[str, list[str]]:
    return {r["step"]: [f["code"] for f in r["findings"]] for r in collect_results(nb_path)}


@pytest.fixture
def sandbox(akv_sandbox, monkeypatch):
    """The kernels reuse the test's sandbox (reset to its scenario), as under `make demo`."""
    monkeypatch.setenv(SANDBOX_PORT_VAR, str(akv_sandbox.port))
    monkeypatch.setenv(SANDBOX_STATE_VAR, str(akv_sandbox.state_dir))
    return akv_sandbox


@pytest.mark.timeout(300)
def test_papermill_exits_non_zero_when_a_setting_is_broken(sandbox, tmp_path):
    out = tmp_path / "out.ipynb"
    run = run_papermill(
        ["notebooks/01_prerequisites.ipynb", str(out), "-k", "python3", "--cwd", "notebooks"]
        + ["-r", "tenant_id", "not-a-tenant"]
    )
    assert run.returncode != 0, run.stdout + run.stderr
    found = codes(out)
    assert list(found) == ["connect", "settings"]  # stopped after the failing step
    assert any(c.startswith("AKV-SET") for c in found["settings"])
    [error] = error_outputs(out)
    assert error["ename"] == "FindingsError"
    # A short summary (code, cause, fix), not a traceback.
    assert not any('File "' in line or "Traceback" in line for line in error["traceback"])
    assert len(error["traceback"]) <= 7
    assert any(line.startswith("  fix: ") for line in error["traceback"])
    assert "FindingsError: 1 error finding(s): AKV-SET" in run.stderr


def readme_command() -> list[str]:
    """The papermill command of notebooks/README.md, as a shell would split it."""
    text = (NOTEBOOKS / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "no ```bash block in notebooks/README.md"
    command = block.group(1).replace("\\\n", " ")
    assert command.lstrip().startswith("papermill ")
    return shlex.split(command.replace("<", "'<").replace(">", ">'"))


@pytest.mark.timeout(300)
def test_the_readme_command_works_as_written(sandbox, tmp_path, monkeypatch):
    """Run from the repository root with the sandbox standing in for Azure (a shell after
    `akv-runbook sandbox env`): only the placeholders and the example vault are filled in."""
    argv = readme_command()
    assert argv[:3] == ["papermill", "notebooks/01_prerequisites.ipynb", "out.ipynb"]
    assert argv[argv.index("--engine") : argv.index("--engine") + 2] == ["--engine", ENGINE_NAME]
    fill = {
        "<tenant GUID>": os.environ["AZURE_TENANT_ID"],
        "<client GUID>": os.environ["AZURE_CLIENT_ID"],
        "https://contoso-airflow.vault.azure.net/": os.environ["AZURE_KEYVAULT_URL"],
        "out.ipynb": str(tmp_path / "out.ipynb"),
    }
    args = [fill.get(a, a) for a in argv[1:]]
    monkeypatch.setenv("AIRFLOW_SPN_SECRET", os.environ["AZURE_CLIENT_SECRET"])
    run = run_papermill(args)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    found = codes(tmp_path / "out.ipynb")
    assert list(found) == ["connect", "settings", "packages", "environment", "sign-in"]
    assert "AKV-AUTH-001" in found["sign-in"]
    assert os.environ["AZURE_CLIENT_SECRET"] not in (tmp_path / "out.ipynb").read_text()


@pytest.mark.timeout(120)
def test_a_kernel_tells_a_program_from_a_front_end_by_allow_stdin():
    """nbclient (papermill, nbconvert, nbval) executes with allow_stdin=False; JupyterLab
    and other front ends with True: that is what ``fail_on_error=None`` goes by."""
    from jupyter_client.manager import start_new_kernel

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    km, kc = start_new_kernel(kernel_name="python3", env=env, startup_timeout=60)
    try:
        seen = {}
        for allow_stdin in (False, True):
            lines: list[str] = []
            kc.execute_interactive(
                "from helpers.runbook import headless; print(headless())",
                allow_stdin=allow_stdin,
                output_hook=lambda msg, lines=lines: lines.append(msg["content"].get("text", "")),
                timeout=60,
            )
            seen[allow_stdin] = "".join(lines).strip()
        assert seen == {False: "True", True: "False"}
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_the_engine_replaces_secret_like_values_and_names_and_keeps_the_rest(tmp_path):
    from helpers.common.papermill_engine import is_scrubbed, scrub_parameters

    canary = "abc8Q~0123456789abcdefghijklmnopqrstuv"
    scenario = tmp_path / "a_long_scenario_file_name_0123.yaml"
    scenario.write_text("{}")
    clean, names = scrub_parameters(
        {
            "client_secret_env": canary,
            "variables": ["sample-variable", canary],
            "vault_url": "https://airflow-sandbox-kv.vault.azure.net/",
            "tenant_id": "4f1c2b9e-0d3a-4c5e-9f7a-1b2c3d4e5f60",
            "sandbox_scenario": str(scenario),  # a path that exists is not a secret
            "env_name": "fleet-004-expired-secret",  # nor a name of short words
            "run_dag": True,
            canary.replace("~", "x"): "1",  # a secret-like NAME
        }
    )
    assert canary not in json.dumps(clean) and canary.replace("~", "x") not in json.dumps(clean)
    assert names == ["client_secret_env", "variables", "secret_like_name_7"]
    assert is_scrubbed(clean["client_secret_env"]) and is_scrubbed(clean["variables"][1])
    assert clean["variables"][0] == "sample-variable"
    assert clean["sandbox_scenario"] == str(scenario) and clean["run_dag"] is True
    assert clean["env_name"] == "fleet-004-expired-secret"


def test_a_failing_step_reads_as_codes_causes_and_fixes_without_the_secret():
    from helpers.findings.codes.set import SECRET_VALUE_AS_NAME
    from helpers.runbook import FindingsError, raise_for_findings

    finding = SECRET_VALUE_AS_NAME("parameter x", "parameter x holds what looks like a secret")
    with pytest.raises(FindingsError) as caught:
        raise_for_findings([finding], enabled=True, step="parameters")
    lines = caught.value._render_traceback_()
    assert lines[0].startswith("FindingsError: 1 error finding(s): AKV-SET-010")
    assert lines[1].startswith("AKV-SET-010 A name or a notebook parameter holds")
    assert lines[2].startswith("  fix: Put the secret in an environment variable")
    assert raise_for_findings([finding], enabled=False) == "1 error finding(s)"
