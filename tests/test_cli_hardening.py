"""Bad input to the CLI ends as a finding (exit 1) or a usage error (exit 2), never a
traceback; report paths are checked before the run; ``--json`` prints only JSON."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import cli
from helpers.batch.fleet import Fleet
from helpers.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def usage_error(capsys, *argv: str) -> str:
    """The command is refused by argparse or by the command itself: exit 2, no traceback."""
    try:
        code = main(list(argv))
    except SystemExit as exit_info:
        code = exit_info.code
    captured = capsys.readouterr()
    assert code == 2, captured
    assert "Traceback" not in captured.out + captured.err
    return captured.err


# -- 1. exit codes of config lint and of unreadable inputs ----------------------------------
def test_lint_of_a_missing_dag_folder_exits_1(tmp_path: Path, capsys):
    code, out, _ = run(capsys, "config", "lint", "--dags", str(tmp_path / "absent"))
    assert code == 1 and "AKV-DAG-004" in out


def test_lint_of_a_dag_with_a_syntax_error_exits_1(tmp_path: Path, capsys):
    (tmp_path / "broken.py").write_text("def (:\n")
    code, out, _ = run(capsys, "config", "lint", "--dags", str(tmp_path), "--json")
    assert code == 1
    assert [f["code"] for f in json.loads(out)["findings"]] == ["AKV-DAG-004"]


def test_lint_of_an_unrecognised_file_kind_exits_1(tmp_path: Path, capsys):
    notes = tmp_path / "some.txt"
    notes.write_text("Remember to rotate the secret on Friday.\n")
    code, out, _ = run(capsys, "config", "lint", str(notes))
    assert code == 1 and "AKV-CFG-021" in out


@pytest.mark.parametrize("flag", ["--settings", "--inventory"])
@pytest.mark.parametrize("kind", ["missing", "directory", "binary"])
def test_an_unreadable_settings_or_inventory_file_exits_2(tmp_path: Path, capsys, flag, kind):
    path = tmp_path / "input.yaml"
    if kind == "directory":
        path.mkdir()
    elif kind == "binary":
        path.write_bytes(b"\xff\xfe\x00garbage\x81")
    code, out, err = run(capsys, "check", flag, str(path))
    assert code == 2, out + err
    assert "AKV-" in out and "Traceback" not in out + err


def test_an_unreadable_settings_file_with_json_is_json_with_exit_code_2(tmp_path, capsys):
    code, out, _ = run(capsys, "check", "--settings", str(tmp_path / "absent.yaml"), "--json")
    payload = json.loads(out)
    assert code == 2 and payload["exit_code"] == 2
    assert [f["code"] for f in payload["findings"]] == ["AKV-SET-024"]


@pytest.mark.parametrize(
    "argv",
    [
        ["config", "render", "--target", "env"],
        ["names", "variable", "x"],
        ["names", "reverse", "--secrets-file", "{names}"],
    ],
)
def test_every_command_taking_settings_exits_2_when_the_file_is_unreadable(
    tmp_path: Path, capsys, argv
):
    names = tmp_path / "names.txt"
    names.write_text("airflow-variables-x\n")
    argv = [a.format(names=names) for a in argv]
    code, out, _ = run(capsys, *argv, "--settings", str(tmp_path / "absent.yaml"))
    assert code == 2 and "AKV-SET-024" in out


def test_the_epilog_documents_exit_2_for_an_unusable_input():
    assert "2 usage error or an input file that cannot be used" in " ".join(cli.EPILOG.split())


# -- 2. report and JUnit paths are checked before the run --------------------------------------
@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    """An inventory that would take a run to check (nothing listens on its vault)."""
    inv = tmp_path / "inv.yaml"
    inv.write_text("environments: [{name: a, vault_url: 'https://a.vault.azure.net/'}]\n")
    return inv


def _bad_report_dir(tmp_path: Path, kind: str) -> Path:
    file = tmp_path / "a-file"
    file.write_text("x")
    if kind == "is a file":
        return file
    if kind == "under a file":
        return file / "report"
    report = tmp_path / "report"
    (report / "report.html").mkdir(parents=True)
    return report


@pytest.mark.parametrize("kind", ["is a file", "under a file", "report.html is a directory"])
@pytest.mark.parametrize("notebooks", [False, True])
def test_a_bad_report_dir_is_a_usage_error_before_the_run(
    tmp_path: Path, inventory: Path, capsys, kind, notebooks
):
    report_dir = _bad_report_dir(tmp_path, kind)
    argv = ["check", "--inventory", str(inventory), "--report-dir", str(report_dir)]
    err = usage_error(capsys, *argv, *(["--notebooks"] if notebooks else []))
    assert "--report-dir" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("where", ["directory", "under a file"])
@pytest.mark.parametrize("inventory_path", [False, True])
def test_a_bad_junit_path_is_a_usage_error_before_the_run(
    tmp_path: Path, inventory: Path, capsys, where, inventory_path
):
    if where == "directory":
        junit = tmp_path
    else:
        (tmp_path / "a-file").write_text("x")
        junit = tmp_path / "a-file" / "junit.xml"
    source = ["--inventory", str(inventory)] if inventory_path else ["--settings", str(inventory)]
    err = usage_error(capsys, "check", *source, "--junit", str(junit))
    assert "--junit" in err and len(err.strip().splitlines()) == 1


def test_a_good_report_dir_is_created_and_written(tmp_path: Path, capsys):
    with Fleet(size=2, broken=0) as fleet:
        report = tmp_path / "new" / "report"
        code, out, _ = run(
            capsys, "check", "--inventory", str(fleet.inventory_path), "--report-dir", str(report)
        )
    assert code == 0, out
    assert {p.name for p in report.iterdir()} >= {"report.html", "report.json", "junit.xml"}


# -- 3. timeouts ---------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "0", "-5", "1e400", "soon"])
@pytest.mark.parametrize("flag", ["--env-timeout", "--timeout"])
def test_a_non_finite_or_non_positive_timeout_is_a_usage_error(
    inventory: Path, capsys, flag, value
):
    err = usage_error(capsys, "check", "--inventory", str(inventory), f"{flag}={value}")
    assert flag in err


@pytest.mark.parametrize("value", ["inf", "nan", "-1"])
def test_grant_wait_must_be_finite(capsys, value):
    assert "--wait" in usage_error(capsys, "grant", f"--wait={value}")


# -- 4. names reverse --secrets-file ---------------------------------------------------------
@pytest.mark.parametrize("kind", ["missing", "directory", "not UTF-8"])
def test_an_unusable_secrets_file_is_a_usage_error(tmp_path: Path, capsys, kind):
    path = tmp_path / "names.txt"
    if kind == "directory":
        path.mkdir()
    elif kind == "not UTF-8":
        path.write_bytes(b"airflow-variables-\xff\xfe\n")
    err = usage_error(
        capsys,
        "names",
        "reverse",
        "--secrets-file",
        str(path),
        "--vault-url",
        "https://kv.vault.azure.net/",
    )
    assert "--secrets-file" in err and len(err.strip().splitlines()) == 1


def test_a_secrets_file_is_read_with_a_bound(tmp_path: Path, capsys):
    err = usage_error(capsys, "names", "reverse", "--secrets-file", "/dev/zero")
    assert "--secrets-file" in err


def test_a_good_secrets_file_still_maps(tmp_path: Path, capsys):
    path = tmp_path / "names.txt"
    path.write_text("airflow-variables-sample-var\nairflow-connections-db\n")
    code, out, _ = run(capsys, "names", "reverse", "--secrets-file", str(path), "--json")
    assert code == 0 and json.loads(out)


# -- 5. --json is only JSON on stdout ------------------------------------------------------------
# In a fresh process: Airflow configures its logging (to stdout) when first imported, which in
# this test session happened long ago; the CLI's own process is where the lines used to leak.
CLI = "import sys; from helpers.cli import main; sys.exit(main(sys.argv[1:]))"


def run_cli_process(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run(
        [sys.executable, "-c", CLI, *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_check_json_through_the_backend_prints_only_json(akv_sandbox, capsys):
    code, out, _ = run(capsys, "check", "--variable", "sample_variable", "--json")
    assert json.loads(out)["exit_code"] == code == 0
    proc = run_cli_process("check", "--variable", "sample_variable", "--json")
    assert json.loads(proc.stdout)["exit_code"] == proc.returncode == 0, proc.stdout[:300]


def test_check_inventory_json_prints_only_json_with_broken_environments(capsys):
    with Fleet(size=12) as fleet:
        code, out, _ = run(capsys, "check", "--inventory", str(fleet.inventory_path), "--json")
        proc = run_cli_process("check", "--inventory", str(fleet.inventory_path), "--json")
    assert code == 1 and json.loads(out)["exit_code"] == 1
    assert json.loads(proc.stdout)["exit_code"] == proc.returncode == 1, proc.stdout[:300]
    assert "empty cryptography key" not in proc.stderr  # and the SDK noise is quieted


def test_json_stdout_keeps_stray_output_off_stdout(capsys):
    from helpers.cli.output import json_stdout, print_json

    with json_stdout():
        print("a stray line")
        logging.getLogger("azure.identity").warning("a warning from the SDK")
        print_json('{"ok": true}')
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"ok": True}
    assert "a stray line" in captured.err


@pytest.mark.parametrize("port", ["99999", "-1", "http", "65536"])
def test_sandbox_start_refuses_a_port_outside_0_65535(port, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["sandbox", "start", "--port", port])
    assert exit_info.value.code == 2
    assert "port" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["sandbox", "start"], ["lab", "--no-browser"]])
def test_a_state_dir_that_is_a_file_is_a_usage_error(command, tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for state_dir in (a_file, a_file / "below"):
        assert main([*command, "--state-dir", str(state_dir)]) == 2
        assert "is not a directory" in capsys.readouterr().err
