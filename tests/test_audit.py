"""The audit path: the check notebook executed per environment, findings collected back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import cli
from helpers.batch import Status, check_inventory
from helpers.batch.audit import CHECK_NOTEBOOK, check_inventory_notebooks
from helpers.batch.fleet import Fleet
from helpers.batch.inventory import load_inventory
from helpers.common.leaks import notebook_secret_risks, scan_for_secrets

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory):
    """Four environments (two broken) through both paths, for comparison."""
    report_dir = tmp_path_factory.mktemp("audit")
    with Fleet(size=4, broken=2) as fleet:
        inventory = load_inventory(fleet.inventory_path)
        batch = check_inventory_notebooks(inventory, report_dir, workers=2)
        batch.write(report_dir)
        fast = check_inventory(inventory)
        yield fleet, batch, fast, report_dir


def test_each_environment_leaves_an_executed_notebook_and_html(audited):
    fleet, batch, _, report_dir = audited
    for result in batch.results:
        assert (report_dir / result.notebook).is_file(), result.name
        assert (report_dir / result.html).is_file(), result.name
        assert result.notebook == f"notebooks/{result.name}.ipynb"
    assert [r.name for r in batch.results] == list(fleet.expected)


def test_the_notebooks_report_what_the_fast_path_reports(audited):
    fleet, batch, fast, _ = audited
    for audit, quick in zip(batch.results, fast.results, strict=True):
        expected = fleet.expected[audit.name]
        assert audit.error_codes == quick.error_codes, audit.name
        assert (expected in audit.error_codes) if expected else audit.status == Status.OK
    assert batch.exit_code == 1 and batch.mode == "notebooks"


def test_parameters_carry_names_never_secrets(audited):
    fleet, batch, _, report_dir = audited
    for result in batch.results:
        path = report_dir / result.notebook
        assert notebook_secret_risks(path) == []
        nb = json.loads(path.read_text(encoding="utf-8"))
        params = nb["metadata"]["papermill"]["parameters"]
        assert set(params) == {"inventory", "env_name", "environment", "fail_on_error"}
        assert params["fail_on_error"] is False  # findings are read back, not a failure
        assert "widgets" not in nb["metadata"]
    assert scan_for_secrets([report_dir], fleet.secret_values()) == []


def test_the_report_links_each_environment_to_its_notebook(audited):
    _, batch, _, report_dir = audited
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    for result in batch.results:
        assert f'href="{result.html}"' in page


def test_a_kernel_that_cannot_start_is_a_finding(tmp_path: Path):
    with Fleet(size=1, broken=0) as fleet:
        batch = check_inventory_notebooks(
            load_inventory(fleet.inventory_path), tmp_path, workers=1, kernel_name="no-such"
        )
    (result,) = batch.results
    assert result.status == Status.FAILED and result.error_codes == ["AKV-BATCH-002"]
    assert "no-such" in result.findings[-1].detail
    assert batch.exit_code == 1


def test_cli_notebooks_flag(tmp_path: Path, capsys):
    with Fleet(size=1, broken=0) as fleet:
        code = cli.main(
            [
                "check",
                "--inventory",
                str(fleet.inventory_path),
                "--notebooks",
                "--report-dir",
                str(tmp_path),
            ]
        )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "1 environment: 1 ok" in out
    assert (tmp_path / "notebooks" / "fleet-001.ipynb").is_file()
    assert (tmp_path / "junit.xml").is_file()


def test_the_check_notebook_is_parameterised():
    nb = json.loads(CHECK_NOTEBOOK.read_text(encoding="utf-8"))
    (cell,) = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    source = "".join(cell["source"])
    for name in ("inventory", "env_name", "environment", "fail_on_error"):
        assert f"{name} = " in source
