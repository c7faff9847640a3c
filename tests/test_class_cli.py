"""`akv-runbook class …` (issue 13): the foreground class, the trainee's commands against it,
`class status --json` in the contract's shape, and a restart that keeps progress."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from helpers.cli import main
from helpers.training import create_class

CLI = [sys.executable, "-c", "import sys; from helpers.cli import main; sys.exit(main())"]
STATES = {"not-started", "in-progress", "passed", "skipped"}


def _start(state_dir: Path, *extra: str) -> tuple[subprocess.Popen, list[str]]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [*CLI, "class", "start", "--port", "0", "--state-dir", str(state_dir), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Ctrl-C"):
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(60) or proc.poll() is not None:
        proc.kill()
        pytest.fail("class start did not come up:\n" + "\n".join(lines))
    return proc, lines


def _stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().out


def _get(url: str, token: str | None = None) -> dict | int:
    """GET from the dashboard (loopback, never through a proxy): the JSON, or the status."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=10) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code


def _assert_status_shape(doc: dict, trainees: int, exercises: list[str]) -> None:
    assert set(doc) == {"class", "exercises", "trainees"}
    assert set(doc["class"]) == {"trainees", "started", "state_dir"}
    assert doc["class"]["trainees"] == trainees and doc["class"]["started"].endswith("Z")
    assert [e["id"] for e in doc["exercises"]] == exercises
    assert all(set(e) == {"id", "title"} and e["title"] for e in doc["exercises"])
    assert [t["id"] for t in doc["trainees"]] == [
        f"trainee-{n:02d}" for n in range(1, trainees + 1)
    ]
    for row in doc["trainees"]:
        assert set(row) == {"id", "last_activity", "exercises"}
        assert list(row["exercises"]) == exercises
        for record in row["exercises"].values():
            assert set(record) == {"state", "hints_used", "checks", "last_check", "stuck_since"}
            assert record["state"] in STATES


def test_class_start_env_check_status_and_a_restart_that_keeps_progress(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = str(tmp_path / "class")
    exercises = ["kv-contributor", "closed-firewall"]
    proc, lines = _start(Path(state), "--trainees", "3", "--exercises", ",".join(exercises))
    try:
        assert "set up" in lines[0]
        assert any("facilitator token:" in line and "facilitator-token" in line for line in lines)
        assert any("class env --trainee trainee-07" in line for line in lines)

        code, out = _run(capsys, "class", "env", "--trainee", "trainee-02", "--state-dir", state)
        assert code == 0
        assert "export AZURE_KEYVAULT_URL=https://t02-kv.vault.azure.net/" in out
        assert "export AKV_CLASS_TRAINEE=trainee-02" in out

        argv = ["class", "check", "--trainee", "trainee-02", "--state-dir", state]
        code, out = _run(capsys, *argv, "--exercise", "kv-contributor", "--json")
        result = json.loads(out)  # nothing but the JSON document
        assert code == 1 and result["passed"] is False and result["hint_number"] == 1
        assert result["findings"][0]["code"] == "AKV-PERM-001"

        code, out = _run(capsys, *argv, "--exercise", "closed-firewall")
        assert code == 1 and out.startswith("FAIL  closed-firewall") and "hint 1 (1/3)" in out

        code, out = _run(
            capsys,
            "class",
            "solve",
            "--trainee",
            "trainee-02",
            "--exercise",
            "closed-firewall",
            "--state-dir",
            state,
        )
        assert code == 0, out
        code, out = _run(capsys, "class", "status", "--state-dir", state, "--json")
        assert code == 0
        _assert_status_shape(json.loads(out), 3, exercises)

        # The facilitator dashboard serves the same document, to the token holder only.
        url = next(ln for ln in lines if ln.startswith("dashboard:")).split()[1].split("?")[0]
        token = (Path(state) / "facilitator-token").read_text().strip()
        assert _get(url + "api/status") == 401
        doc = _get(url + "api/status", token)
        _assert_status_shape(doc, 3, exercises)
        assert doc["trainees"][1]["exercises"]["closed-firewall"]["state"] == "skipped"
    finally:
        assert _stop(proc) == 0

    code, out = _run(capsys, *argv, "--exercise", "kv-contributor")
    assert code == 1 and "not running" in out + capsys.readouterr().err

    proc, lines = _start(Path(state), "--trainees", "3")
    try:
        assert "progress kept" in lines[0]
        code, out = _run(capsys, "class", "status", "--state-dir", state, "--json")
        row = json.loads(out)["trainees"][1]["exercises"]
        assert row["kv-contributor"]["state"] == "in-progress"
        assert row["kv-contributor"]["hints_used"] == 1 and row["kv-contributor"]["checks"] == 1
        assert row["closed-firewall"]["state"] == "skipped"
        # the sandbox kept the fix too: the firewall the solve opened is still open
        code, out = _run(capsys, *argv, "--exercise", "closed-firewall")
        assert code == 0 and out.startswith("PASS"), out
        code, out = _run(capsys, *argv, "--exercise", "kv-contributor")
        assert code == 1 and "hint 2 (2/3)" in out
        code, out = _run(capsys, "class", "status", "--state-dir", state)
        assert code == 0 and "trainee-02" in out and "✗" in out
    finally:
        assert _stop(proc) == 0


def test_class_commands_refuse_an_unknown_trainee_or_exercise_and_a_missing_class(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "none")
    code = main(["class", "status", "--state-dir", missing, "--json"])
    assert code == 1 and capsys.readouterr().out == ""
    create_class(tmp_path / "c", trainees=2, exercises=["kv-contributor"])
    base = ["class", "check", "--state-dir", str(tmp_path / "c")]
    assert main([*base, "--trainee", "trainee-09", "--exercise", "kv-contributor"]) == 2
    assert main([*base, "--trainee", "trainee-01", "--exercise", "nope"]) == 2
    assert "no exercise 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--trainees", "0"], "1-99 trainees"),
        (["--trainees", "100"], "1-99 trainees"),
        (["--trainees", "2", "--exercises", "kv-contributor,nope"], "unknown exercises"),
        (["--trainees", "2", "--scenario", "missing.yaml"], "missing.yaml"),
        (["--trainees", "2", "--scenario", "bad.yaml"], "propagation_delay"),
        (["--trainees", "2", "--state-dir", "a-file"], "a-file"),
    ],
)
def test_class_start_refuses_unusable_input_with_exit_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch, extra: list[str], says: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text("propagation_delay: many\n")
    (tmp_path / "a-file").write_text("")
    state = [] if "--state-dir" in extra else ["--state-dir", str(tmp_path / "class")]
    assert main(["class", "start", "--port", "0", *state, *extra]) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "class").exists()
