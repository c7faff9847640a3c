"""`akv-runbook cost` (issue 14): what parsing and tasks cost, measured with real Airflow
against a private sandbox and counted from its request log.

One real measurement (module fixture, ~1-2 min) of a small folder: a file with three
top-level lookups, a file whose lookups are all inside a task, a file that does not parse.
Everything else is the counting and forecast rules on hand-made records.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers.cost import (
    GETS_PER_10S_LIMIT,
    Config,
    CostReport,
    FileCost,
    Forecast,
    StepCount,
    TaskCost,
    count,
)
from helpers.cost.driver import PLACEHOLDERS
from helpers.cost.measure import _configs, _known_names, might_contain_dag
from helpers.cost.report import steady_per_parse
from helpers.settings import Settings

TOP_LEVEL = """
from datetime import datetime
from airflow.sdk import DAG, Variable, task

REGION = Variable.get("cost_region")
BUCKET = Variable.get("cost_bucket")
TEAM = Variable.get("cost_team", default="data")

with DAG("top_level", schedule=None, start_date=datetime(2025, 1, 1)) as dag:
    @task
    def read_four():
        for key in ("cost_region", "cost_bucket", "cost_team", "cost_region"):
            Variable.get(key)
    read_four()
"""

IN_TASK = """
from datetime import datetime
from airflow.sdk import DAG, Variable, task

with DAG("in_task", schedule=None, start_date=datetime(2025, 1, 1)) as dag:
    @task
    def read():
        Variable.get("cost_region")
    read()
"""

DYNAMIC = """
from datetime import datetime
from airflow.sdk import DAG, Variable, task

TABLES = Variable.get("cost_tables", deserialize_json=True)

with DAG("dynamic", schedule=None, start_date=datetime(2025, 1, 1)) as dag:
    for table in TABLES:
        task(task_id=f"load_{table}")(lambda: None)()
"""

BROKEN = """
from airflow.sdk import DAG, Variable
# Not a literal key, so not seeded: the sandbox's own stored value is read.
raise RuntimeError("broken on purpose, holding " + Variable.get("sample" + "_variable"))
"""
SAMPLE_VALUE = "sandbox sample value, read through Key Vault"  # the default scenario's


def _rec(service: str, operation: str, status: int = 200, name: str = "") -> dict:
    return {"service": service, "operation": operation, "status": status, "name": name}


# -- counting and forecasting rules (no Airflow) ----------------------------------------------
def test_count_separates_gets_challenges_tokens_and_the_rest():
    records = [
        _rec("keyvault", "get_secret", 401, "a"),
        _rec("entra", "openid_configuration"),
        _rec("entra", "token"),
        _rec("keyvault", "get_secret", 200, "a"),
        _rec("keyvault", "get_secret", 404, "b"),
        _rec("imds", "imds_token"),
        _rec("app_service", "app_service_token"),
    ]
    assert count(records) == StepCount(2, 1, 3, 1, ("a", "b"))


def test_a_cached_parse_is_amortised_over_the_ttl():
    parses = [StepCount(vault_gets=10), StepCount(vault_gets=0)]
    off, on = Config(False, 900), Config(True, 900)
    assert steady_per_parse(parses, off, 30, "vault_gets") == 5  # the mean: what was measured
    assert steady_per_parse(parses, on, 30, "vault_gets") == pytest.approx(10 / 30)
    # A TTL shorter than the interval refetches on every parse.
    assert steady_per_parse(parses, Config(True, 10), 30, "vault_gets") == 10


def _report(gets_per_parse: float, forecast: Forecast, rec: float = 0.0) -> CostReport:
    report = CostReport(
        "dags", forecast, {"default": Config(False, 900), "recommended": Config(True, 900)}
    )
    f = FileCost("a.py", dags={"a": ["t"]})
    f.per_parse = {
        "default": {"vault_gets": gets_per_parse, "token_requests": 1},
        "recommended": {"vault_gets": rec, "token_requests": 0},
    }
    report.files.append(f)
    return report


@pytest.mark.parametrize(
    ("gets", "code", "severity"),
    [
        (100, "AKV-COST-008", "ok"),
        (3000, "AKV-COST-002", "warning"),
        (9000, "AKV-COST-001", "error"),
    ],
)
def test_the_forecast_finding_follows_the_limit(gets, code, severity):
    # 1 DAG processor, a 10 s interval: the forecast is the per-parse count itself.
    report = _report(gets, Forecast(parse_interval=10))
    found = {f.code: f for f in report.judge()}
    assert code in found and found[code].severity.value == severity
    assert report.gets_per_10s("default") == gets
    assert "AKV-COST-003" in found  # the file reads the vault when parsed


def test_the_forecast_multiplies_processors_interval_and_task_volume():
    report = _report(6, Forecast(parse_interval=30, dag_processors=2, task_runs_per_hour=3600))
    task = TaskCost("a.py", "a", "t", runs={"default": StepCount(vault_gets=4, token_requests=1)})
    task.worker_parse = StepCount(vault_gets=6, token_requests=1)
    report.tasks.append(task)
    assert task.on_worker("default") == 10 and task.on_worker("default", "token_requests") == 1
    # A task that reads nothing itself still signs in on a worker when its file's parse reads.
    quiet = TaskCost("a.py", "a", "q", runs={"default": StepCount()})
    quiet.worker_parse = StepCount(vault_gets=6, token_requests=1)
    assert quiet.on_worker("default", "token_requests") == 1
    # parsing: 2 processors x 6 GETs every 30 s = 4 per 10 s; tasks: 10 runs per 10 s x 10.
    assert report.gets_per_10s("default") == pytest.approx(4 + 100)
    assert GETS_PER_10S_LIMIT == 4000


def test_configs_keep_the_deployments_cache_settings():
    assert _configs(None)["default"] == Config(False, 900)
    assert _configs(None)["recommended"] == Config(True, 900)
    assert _configs(Settings(use_cache=True))["default"] == Config(True, 900)


def test_literal_names_are_seeded_by_the_naming_rule_json_ones_with_an_object():
    lookups = [
        {"kind": "variable", "key": "my_var", "json": False},
        {"kind": "variable", "key": "tables", "json": True},
        {"kind": "connection", "key": "warehouse", "json": False},
        {"kind": "variable", "key": None, "json": False},  # built at run time: discovered
        {"kind": "variable", "key": "has.dot", "json": False},  # never sent by the provider
    ]
    kwargs = {"variables_prefix": "airflow-variables", "connections_prefix": "conns", "sep": "-"}
    seeds = _known_names(lookups, kwargs)
    assert seeds == {
        "airflow-variables-my-var": "1",
        "airflow-variables-tables": "{}",
        "conns-warehouse": PLACEHOLDERS["connections"],
    }


def test_airflows_heuristic_skips_files_without_dag_or_airflow(tmp_path: Path):
    (tmp_path / "util.py").write_text("X = 1\n")
    (tmp_path / "d.py").write_text("from airflow.sdk import DAG\n")
    assert not might_contain_dag(tmp_path / "util.py")
    assert might_contain_dag(tmp_path / "d.py")


# -- the CLI --------------------------------------------------------------------------------
def _cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("akv-runbook")), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["cost"],
        ["cost", "--dags", "/no/such/folder"],
        ["cost", "--dags", ""],
        ["cost", "--dags", ".", "--parse-interval", "0"],
        ["cost", "--dags", ".", "--dag-processors", "-1"],
        ["cost", "--dags", ".", "--task-runs-per-hour", "nan"],
        ["cost", "--dags", ".", "--task-samples", "100000"],
    ],
)
def test_usage_errors_exit_2_without_a_traceback(args):
    from helpers.cli import main

    with pytest.raises(SystemExit) as raised:
        code = main(args)
        raise SystemExit(code)
    assert raised.value.code == 2


def test_an_unreadable_settings_file_exits_2(tmp_path: Path, capsys):
    from helpers.cli import main

    code = main(["cost", "--dags", str(tmp_path), "--settings", str(tmp_path / "absent.yaml")])
    assert code == 2 and "AKV-SET-024" in capsys.readouterr().out


def test_an_empty_folder_is_a_warning_not_a_measurement(tmp_path: Path, capsys):
    from helpers.cli import main

    (tmp_path / "util.py").write_text("X = 1\n")
    assert main(["cost", "--dags", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [f["code"] for f in data["findings"]] == ["AKV-COST-007"]
    assert data["default"]["vault_gets_per_parse"] == 0


def test_airflow_that_cannot_be_set_up_is_a_finding_not_a_traceback(tmp_path, monkeypatch, capsys):
    from helpers.cli import main

    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("AKV_RUNBOOK_STATE_DIR", str(blocker / "state"))  # cannot be created
    (tmp_path / "d.py").write_text("from airflow.sdk import DAG\n")
    assert main(["cost", "--dags", str(tmp_path), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [f["code"] for f in data["findings"]] == ["AKV-COST-005"]
    assert "Airflow could not be set up" in data["findings"][0]["detail"]


def test_help_explains_the_measurement_and_the_json_keys(capsys):
    from helpers.cli import main

    with pytest.raises(SystemExit):
        main(["cost", "--help"])
    text = capsys.readouterr().out
    assert "default.vault_gets_per_parse" in text and "recommended.vault_gets_per_parse" in text
    assert "--parse-interval" in text and "exit 0" in text


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, dict]:
    folder = tmp_path_factory.mktemp("dags")
    files = {
        "top_level.py": TOP_LEVEL,
        "in_task.py": IN_TASK,
        "dynamic.py": DYNAMIC,
        "broken.py": BROKEN,
    }
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    (folder / "helpers_not_a_dag.py").write_text("X = 1\n")
    done = _cli(
        "cost", "--dags", str(folder), "--json", "--task-samples", "2",
        "--task-runs-per-hour", "100000000",
    )  # fmt: skip
    return done, json.loads(done.stdout)


def test_json_is_all_stdout_and_the_keys_the_issue_names_are_there(measured):
    done, data = measured
    assert done.stdout.lstrip().startswith("{")
    assert SAMPLE_VALUE not in done.stdout and SAMPLE_VALUE not in done.stderr
    # top_level 3, dynamic 1, broken 1 (before it raises): measured, not computed
    assert data["default"]["vault_gets_per_parse"] == 3 + 1 + 1
    assert data["recommended"]["vault_gets_per_parse"] <= 5 / 10
    assert data["default"]["use_cache"] is False and data["recommended"]["use_cache"] is True


def test_each_file_is_measured_per_parse(measured):
    _, data = measured
    files = {f["file"]: f for f in data["files"]}
    assert set(files) == {"top_level.py", "in_task.py", "dynamic.py", "broken.py"}  # not util
    # A JSON variable driving DAG generation is seeded with {}: the file parses.
    assert files["dynamic.py"]["error"] == "" and files["dynamic.py"]["default"]["vault_gets"] == 1
    top = files["top_level.py"]
    assert [p["vault_gets"] for p in top["default"]["parses"]] == [3, 3]
    assert [p["token_requests"] for p in top["default"]["parses"]] == [1, 1]  # a new process each
    assert [p["vault_gets"] for p in top["recommended"]["parses"]] == [3, 0]  # cold, then cached
    assert top["top_level_lookup_lines"] == [5, 6, 7]
    assert "line 5, 6, 7" in top["advice"]
    assert files["in_task.py"]["default"]["vault_gets"] == 0
    assert "broken on purpose" in files["broken.py"]["error"]
    # The error text is the user's code talking: a sandbox secret value in it is redacted.
    assert "[redacted]" in files["broken.py"]["error"]


def test_a_task_run_signs_in_once_and_the_cache_does_not_reach_it(measured):
    _, data = measured
    tasks = {t["task_id"]: t for t in data["tasks"]}
    four = tasks["read_four"]
    for config in ("default", "recommended"):
        # Four lookups in one task process: one token request (3.3.2 builds the backend once).
        assert four[config]["vault_gets"] == 4
        assert four[config]["token_requests"] == 1
        # On a worker the task's process parses the file first: 3 more GETs, same token.
        assert four[config]["vault_gets_on_worker"] == 7
    assert data["default"]["token_requests_per_task_run"] == 1


def test_findings_and_exit_code(measured):
    done, data = measured
    codes = [f["code"] for f in data["findings"]]
    assert "AKV-COST-001" in codes  # 10^8 task runs per hour is over any vault's limit
    assert "AKV-COST-003" in codes and "AKV-COST-004" in codes and "AKV-COST-006" in codes
    broken = next(f for f in data["findings"] if f["code"] == "AKV-COST-004")
    assert broken["severity"] == "warning"  # a lower bound, not a failed check
    assert done.returncode == 1 == data["exit_code"]
    assert "Traceback" not in done.stderr
