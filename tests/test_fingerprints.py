"""Fingerprints are keyed with a per-installation random key: stable here, useless elsewhere.

An unkeyed ``sha256`` prefix of a short secret is reversed with a list of likely passwords
(issue 11: ``len=11 sha256=323725e8eff4`` is ``Summer2024!``).
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.common.facts import RUNBOOK_STATE_VAR
from helpers.common.redact import fingerprint, fingerprint_key_file
from helpers.runbook import dag_outcome

PASSWORD = "Summer2024!"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(RUNBOOK_STATE_VAR, str(tmp_path / "state"))
    return tmp_path / "state"


def test_a_dictionary_of_plain_hashes_does_not_reverse_a_fingerprint(home: Path):
    shown = fingerprint(PASSWORD)
    assert shown.startswith("len=11 hmac=")
    assert hashlib.sha256(PASSWORD.encode()).hexdigest()[:12] not in shown
    assert "323725e8eff4" not in shown


def test_the_key_is_random_kept_0600_and_stable_within_an_installation(home: Path):
    first = fingerprint(PASSWORD)
    key = fingerprint_key_file()
    assert key.parent == home
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(key.read_bytes()) == 32
    # Another process of the same installation agrees (a person compares two runs).
    env = {**os.environ, RUNBOOK_STATE_VAR: str(home)}
    code = f"from helpers.common.redact import fingerprint; print(fingerprint({PASSWORD!r}))"
    other = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert other.stdout.strip() == first


def test_two_installations_show_different_fingerprints(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(RUNBOOK_STATE_VAR, str(tmp_path / "one"))
    one = fingerprint(PASSWORD)
    monkeypatch.setenv(RUNBOOK_STATE_VAR, str(tmp_path / "two"))
    assert fingerprint(PASSWORD) != one
    assert fingerprint(PASSWORD).split()[0] == one.split()[0] == "len=11"


@pytest.mark.parametrize("damage", ["short", "readable-by-others"])
def test_a_damaged_or_exposed_key_is_replaced(home: Path, damage: str):
    home.mkdir(parents=True)
    key = home / "fingerprint.key"
    key.write_bytes(b"x" * (5 if damage == "short" else 32))
    key.chmod(0o600 if damage == "short" else 0o644)
    fingerprint(PASSWORD)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_bytes() not in (b"x" * 5, b"x" * 32)


def test_concurrent_first_uses_agree_on_one_key(home: Path):
    env = {**os.environ, RUNBOOK_STATE_VAR: str(home)}
    code = f"from helpers.common.redact import fingerprint; print(fingerprint({PASSWORD!r}))"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    shown = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(shown) == 1
    assert fingerprint(PASSWORD) in shown


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_state_dir_still_gives_fingerprints(tmp_path: Path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    monkeypatch.setenv(RUNBOOK_STATE_VAR, str(locked / "state"))
    assert fingerprint(PASSWORD).startswith("len=11 hmac=")


def test_a_state_dir_under_a_file_still_gives_fingerprints(tmp_path: Path, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv(RUNBOOK_STATE_VAR, str(tmp_path / "file" / "state"))
    assert fingerprint(PASSWORD).startswith("len=11 hmac=")


def test_the_sample_dag_away_from_the_runbook_logs_a_length_only():
    log = "Read sample-variable from Key Vault: len=44\nDagRun Finished: x state=success\n"
    result = dag_outcome(0, log, 3.0)
    assert [f.code for f in result.findings] == ["AKV-RUN-008"]
    assert result.findings[0].data["fingerprint"] == "len=44"
