"""The committed notebooks, run headless with papermill exactly as a batch run would.

Each notebook runs with the sandbox defaults, then with deliberately broken parameters (a
wrong client secret, a backend without its role, Python-quoted backend_kwargs). Every run
must complete — a broken check becomes findings, never a PapermillExecutionError — and the
machine-readable results (helpers.runbook.collect_results) must carry the right codes and
fixes, with no secret anywhere in the executed notebook.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from helpers import runbook
from helpers import sandbox as sandbox_pkg
from helpers.common.facts import SANDBOX_PORT_VAR, SANDBOX_STATE_VAR
from helpers.common.leaks import notebook_secret_risks, scan_for_secrets
from helpers.common.redact import fingerprint
from helpers.devtools.notebooks import regenerate_notebooks

if TYPE_CHECKING:
    import nbformat

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = ["00_start_here", "01_prerequisites", "02_permissions", "03_airflow_config"]
NAMES += ["04_live_retrieval"]
# 05 measures for minutes: its headless runs are in tests/test_cost_notebook.py.
STATIC_NAMES = [*NAMES, "05_runtime_cost"]
DEFAULT_SCENARIO = Path(sandbox_pkg.__file__).parent / "scenarios" / "default.yaml"
WRONG_SECRET_VAR = "AKV_TEST_NOTEBOOK_WRONG_SECRET"
WIDGET_TAGS = {"skip-execution", "nbval-skip"}


# -- helpers -------------------------------------------------------------------------------
def execute(name: str, out_dir: Path, **parameters) -> nbformat.NotebookNode:
    """papermill, as `make demo` runs it; a kernel that fails to start is retried once."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    parameters.setdefault("fail_on_error", False)  # every step runs, as under `make demo`
    output = out_dir / f"{name}.ipynb"
    for attempt in (1, 2):
        try:
            return pm.execute_notebook(
                str(NOTEBOOKS / f"{name}.ipynb"),
                str(output),
                parameters=parameters,
                kernel_name="python3",
                execution_timeout=240,
                start_timeout=60,
                cwd=str(NOTEBOOKS),
                progress_bar=False,
                store_widget_state=False,
            )
        except PapermillExecutionError:
            raise
        except (RuntimeError, TimeoutError):  # kernel start raced for a port (papermill#511)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def results(nb) -> dict[str, dict]:
    return {r["step"]: r for r in runbook.collect_results(nb)}


def step_codes(result: dict) -> list[str]:
    return [f["code"] for f in result["findings"]]


def finding(result: dict, code: str) -> dict:
    found = [f for f in result["findings"] if f["code"] == code]
    assert found, f"{code} not in {step_codes(result)}"
    return found[0]


def assert_no_secrets(out_dir: Path, sandbox) -> None:
    written = sorted(out_dir.glob("*.ipynb"))
    assert [str(leak) for leak in scan_for_secrets(written, sandbox.secret_values())] == []
    assert [str(risk) for nb in written for risk in notebook_secret_risks(nb)] == []


@pytest.fixture
def sandbox(akv_sandbox, monkeypatch):
    """The kernels reuse the test's sandbox (reset to its scenario), as under `make demo`."""
    monkeypatch.setenv(SANDBOX_PORT_VAR, str(akv_sandbox.port))
    monkeypatch.setenv(SANDBOX_STATE_VAR, str(akv_sandbox.state_dir))
    return akv_sandbox


# -- structure (no kernel) ------------------------------------------------------------------
def load(name: str) -> nbformat.NotebookNode:
    import nbformat

    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


@pytest.mark.parametrize("name", STATIC_NAMES)
def test_one_parameters_cell_then_short_calls_and_tagged_widget_cells(name):
    nb = load(name)
    assert nb.metadata.kernelspec.name == "python3"
    assert "widgets" not in nb.metadata and "papermill" not in nb.metadata
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c for c in code if "parameters" in c.metadata.get("tags", [])] == [code[0]]
    for cell in code[1:]:
        tags = set(cell.metadata.get("tags", []))
        tree = ast.parse(cell.source)
        loops = (ast.FunctionDef, ast.For, ast.While, ast.Try, ast.ClassDef, ast.Lambda)
        assert not [n for n in ast.walk(tree) if isinstance(n, loops)], cell.source
        assert len(tree.body) <= 2, cell.source
        if "widgets." in cell.source:
            assert tags >= WIDGET_TAGS, cell.source
        else:
            assert not tags & WIDGET_TAGS, cell.source


@pytest.mark.parametrize("name", STATIC_NAMES)
def test_parameters_hold_references_and_default_to_the_sandbox(name):
    import papermill as pm

    found = pm.inspect_notebook(str(NOTEBOOKS / f"{name}.ipynb"))
    defaults = {k: v["default"] for k, v in found.items()}
    assert defaults["environment"] == '"sandbox"'
    assert defaults["client_secret_env"] == '"AZURE_CLIENT_SECRET"'
    assert defaults["vault_url"] == '"https://airflow-sandbox-kv.vault.azure.net/"'
    assert defaults["sandbox_scenario"] == "None"
    extra = {"02_permissions": "perform_grant", "03_airflow_config": "existing_config"}
    extra["04_live_retrieval"] = "run_dag"
    extra["05_runtime_cost"] = "dags_dir"
    if name in extra:
        assert extra[name] in defaults


@pytest.mark.parametrize("name", STATIC_NAMES)
def test_committed_outputs_come_from_a_clean_sandbox_run(name):
    payloads = runbook.collect_results(load(name))
    assert payloads, "regenerate the notebooks: make notebooks"
    assert all(p["ok"] for p in payloads)
    assert {p["notebook"] for p in payloads} == {name}


# -- default parameters ----------------------------------------------------------------------
EXPECTED_STEPS = {
    "00_start_here": ["connect", "check"],
    "01_prerequisites": ["connect", "settings", "packages", "environment", "sign-in"],
    "02_permissions": [
        "connect",
        "permission-model",
        "probe",
        "diagnosis",
        "grant-commands",
        "grant",
        "least-privilege",
        "re-probe",
    ],
    "03_airflow_config": ["connect", "render", "lint", "names"],
    "04_live_retrieval": [
        "connect",
        "store",
        "sdk",
        "backend",
        "variable-get",
        "dag-changes",
        "dag-test",
    ],
}


@pytest.mark.parametrize("name", NAMES)
def test_sandbox_defaults_run_every_step_without_an_error_finding(name, sandbox, tmp_path):
    extra = {"run_dag": False} if name == "04_live_retrieval" else {}
    nb = execute(name, tmp_path, **extra)
    found = results(nb)
    assert list(found) == EXPECTED_STEPS[name]
    assert [s for s, r in found.items() if not r["ok"]] == []
    assert {r["notebook"] for r in found.values()} == {name}
    if name == "00_start_here":
        assert step_codes(found["check"]) == ["AKV-AUTH-001", "AKV-NET-002", "AKV-SECRET-001"]
    if name == "04_live_retrieval":
        assert step_codes(found["variable-get"]) == ["AKV-RUN-006", "AKV-RUN-006"]
        assert step_codes(found["dag-test"]) == ["AKV-RUN-010"]
    assert_no_secrets(tmp_path, sandbox)


@pytest.mark.slow
def test_live_retrieval_runs_the_sample_dag_with_airflow_dags_test(sandbox, tmp_path):
    found = results(execute("04_live_retrieval", tmp_path, run_dag=True))
    dag = finding(found["dag-test"], "AKV-RUN-008")
    # The DAG ran beside the runbook, so it logged the runbook's own keyed fingerprint.
    assert dag["data"]["fingerprint"] == fingerprint("sandbox sample value, read through Key Vault")
    assert all(r["ok"] for r in found.values())
    assert_no_secrets(tmp_path, sandbox)


# -- broken parameters -----------------------------------------------------------------------
@pytest.fixture
def wrong_secret(monkeypatch) -> str:
    """A variable holding a wrong client secret; the kernel inherits the environment."""
    monkeypatch.setenv(WRONG_SECRET_VAR, "wrong-client-secret~0123456789abcdef")
    return WRONG_SECRET_VAR


@pytest.mark.parametrize("name", ["00_start_here", "01_prerequisites", "02_permissions"])
def test_a_wrong_client_secret_is_reported_with_its_fix(name, sandbox, wrong_secret, tmp_path):
    import nbformat

    nb = execute(name, tmp_path, client_secret_env=wrong_secret)
    found = results(nb)
    assert list(found) == EXPECTED_STEPS[name]  # every step ran
    step = {"00_start_here": "check", "01_prerequisites": "sign-in", "02_permissions": "probe"}
    wrong = finding(found[step[name]], "AKV-AUTH-003")
    assert "Value (not the Secret ID)" in wrong["fix"]
    if name == "02_permissions":
        # the one grant workflow (CLI and notebook): no grantee without the backend's sign-in
        assert step_codes(found["grant"]) == ["AKV-ROLE-017"]
        assert step_codes(found["re-probe"])[-1] == "AKV-ROLE-013"
    text = nbformat.writes(nb)
    assert "wrong-client-secret~0123456789abcdef" not in text
    assert_no_secrets(tmp_path, sandbox)


def test_a_wrong_client_secret_shows_in_every_retrieval_layer(sandbox, wrong_secret, tmp_path):
    found = results(
        execute("04_live_retrieval", tmp_path, client_secret_env=wrong_secret, run_dag=False)
    )
    assert list(found) == EXPECTED_STEPS["04_live_retrieval"]
    assert step_codes(found["store"]) == ["AKV-RUN-005", "AKV-RUN-005"]  # the operator still can
    for step in ("sdk", "backend"):
        assert step_codes(found[step])[0] == "AKV-AUTH-003"
    get = step_codes(found["variable-get"])
    assert get[:2] == ["AKV-RUN-007", "AKV-RUN-007"] and "AKV-AUTH-003" in get
    assert "wrong-client-secret" not in (tmp_path / "04_live_retrieval.ipynb").read_text()


@pytest.fixture
def missing_role_scenario(tmp_path) -> Path:
    """The default scenario without the backend's Key Vault Secrets User assignment."""
    doc = yaml.safe_load(DEFAULT_SCENARIO.read_text())
    doc["role_assignments"] = [
        r for r in doc["role_assignments"] if r["principal"] != "airflow-backend"
    ]
    path = tmp_path / "missing-role.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_a_missing_role_is_diagnosed_granted_and_ends_ok(sandbox, missing_role_scenario, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    found = results(execute("02_permissions", out, sandbox_scenario=str(missing_role_scenario)))
    assert list(found) == EXPECTED_STEPS["02_permissions"]
    forbidden = finding(found["probe"], "AKV-PERM-001")
    assert "Key Vault Secrets User" in forbidden["fix"]
    assert "9a1c3e5f-7b2d-4f6a-8c0e-2d4f6b8a0c53" in forbidden["detail"]  # the object id
    assert step_codes(found["diagnosis"])[0] == "AKV-PERM-001"
    assert step_codes(found["grant"]) == ["AKV-ROLE-001"]
    assert step_codes(found["least-privilege"]) == ["AKV-PERM-005"]
    assert step_codes(found["re-probe"])[-1] == "AKV-ROLE-007"
    assert found["re-probe"]["ok"]


def test_python_quoted_backend_kwargs_are_reported_with_their_fix(sandbox, tmp_path):
    pasted = "{'vault_url': 'https://x.vault.azure.net/'}"
    found = results(execute("03_airflow_config", tmp_path, existing_config=pasted))
    assert list(found) == EXPECTED_STEPS["03_airflow_config"]
    quotes = finding(found["lint"], "AKV-CFG-003")
    assert "double quotes" in quotes["fix"]
    assert found["render"]["ok"] and found["names"]["ok"]  # the other checks still ran


# -- regenerating the committed notebooks -----------------------------------------------------
def tiny_notebook(path: Path, source: str) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


def test_regenerate_writes_tidy_notebooks_and_refuses_a_leaking_one(tmp_path):
    import nbformat

    good = tmp_path / "00_good.ipynb"
    leaking = tmp_path / "01_leaking.ipynb"
    tiny_notebook(good, 'from helpers import runbook\nrunbook.show("x", [])')
    tiny_notebook(leaking, 'import os\nprint(os.environ["AZURE_CLIENT_SECRET"])')
    before = leaking.read_text()
    with pytest.raises(RuntimeError, match="refusing to write 01_leaking.ipynb: secrets found"):
        regenerate_notebooks(notebooks=tmp_path, timeout=120)
    assert leaking.read_text() == before
    nb = nbformat.read(good, as_version=4)
    assert "papermill" not in nb.metadata and "papermill" not in nb.cells[0].metadata
    assert [r["step"] for r in runbook.collect_results(nb)] == ["x"]
