"""The unmodified az CLI for the sandbox tests: a pinned azure-cli in a throw-away virtualenv.

The venv lives in pytest's cache directory (``.pytest_cache/d/az-cli/<pin>-py<ver>``) and is
reused while the pin and the Python version are the same; a clean clone (CI) pays one install
(about a minute). A file lock lets parallel pytest workers share one install. The install is
skipped, with the reason, only when the package index cannot be reached. The project's own
environment and lock are never touched.

``AzCli.run`` runs a command line through bash with nothing but what ``akv-runbook sandbox
env`` prints applied (proxy + CA bundle; the AZURE_* it prints are ignored by az) and a
private ``AZURE_CONFIG_DIR``, so ``~/.azure`` is never read or written.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers.sandbox.runtime import CA_VARS, PROXY_VARS

__all__ = [
    "AZ_CLI_VERSION",
    "AzCli",
    "AzResult",
    "install_az_cli",
]

AZ_CLI_VERSION = "2.91.0"  # the newest azure-cli that installs on Python 3.11 (2026-12)
ROOT = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT = 900
AZ_TIMEOUT = 120
# Not part of `sandbox env`: they only keep az from phoning home or colouring its output.
_QUIET = {
    "AZURE_CORE_COLLECT_TELEMETRY": "0",
    "AZURE_CORE_NO_COLOR": "1",
    "AZURE_CORE_ONLY_SHOW_ERRORS": "1",
}


def _without_sandbox(environ) -> dict[str, str]:
    """The environment minus what the sandbox fixtures apply (proxy and CA bundle), which
    would send pip to the sandbox."""
    return {k: v for k, v in environ.items() if k not in (*PROXY_VARS, *CA_VARS)}


def _index_reachable(python: str) -> str | None:
    """None when pip's index answers, else why not (the skip reason)."""
    env = _without_sandbox(os.environ)
    probe = subprocess.run(
        [python, "-m", "pip", "download", "--no-deps", "-q", "-d", os.devnull + ".d", "pip"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    if probe.returncode == 0:
        return None
    try:
        urllib.request.urlopen("https://pypi.org/simple/azure-cli/", timeout=15).close()
    except OSError as err:
        return f"PyPI is unreachable ({err}); cannot install azure-cli=={AZ_CLI_VERSION}"
    return None


def install_az_cli(cache: Path) -> tuple[Path, float]:
    """The az executable of the pinned azure-cli (installing it when absent) and the seconds
    the install took (0 when reused)."""
    version = f"py{sys.version_info.major}{sys.version_info.minor}"
    venv = cache / f"azure-cli-{AZ_CLI_VERSION}-{version}"
    az = venv / "bin" / "az"
    done = venv / ".installed"
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists() and az.exists():
            return az, 0.0
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        env = _without_sandbox(os.environ)
        pip = subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
            ]
            + [f"azure-cli=={AZ_CLI_VERSION}"],
            capture_output=True,
            text=True,
            env=env,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
        if pip.returncode != 0:
            reason = _index_reachable(str(venv / "bin" / "python"))
            if reason:
                pytest.skip(reason)
            pytest.fail(f"pip install azure-cli=={AZ_CLI_VERSION} failed:\n{pip.stderr[-3000:]}")
        done.write_text(json.dumps({"seconds": round(time.monotonic() - started, 1)}))
        return az, time.monotonic() - started


@dataclass
class AzResult:
    returncode: int
    stdout: str
    stderr: str

    def json(self):
        assert self.returncode == 0, self.stderr[-3000:]
        return json.loads(self.stdout) if self.stdout.strip() else None


class AzCli:
    """``az`` with only the sandbox's `sandbox env` and a private config directory."""

    def __init__(self, az: Path, state_dir: Path, config_dir: Path):
        self.az = az
        self.state_dir = state_dir
        self.config_dir = config_dir
        self.calls = 0

    def environment(self) -> dict[str, str]:
        base = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "TMPDIR") if k in os.environ}
        return {
            **base,
            "HOME": str(self.config_dir.parent),
            "AZURE_CONFIG_DIR": str(self.config_dir),
            "PATH": f"{self.az.parent}:{base.get('PATH', '/usr/bin:/bin')}",
            "PYTHONPATH": str(ROOT),
            **_QUIET,
        }

    def run(self, command: str, *, principal: str = "admin") -> AzResult:
        """``command`` (a shell line starting with ``az``) after ``eval "$(akv-runbook sandbox
        env)"``, run verbatim through bash."""
        self.calls += command.count("az ")
        env_cmd = shlex.join(
            [
                sys.executable,
                "-c",
                "import sys; from helpers.cli import main; sys.exit(main())",
                "sandbox",
                "env",
                "--state-dir",
                str(self.state_dir),
                "--principal",
                principal,
            ]
        )
        script = f'set -e\neval "$({env_cmd})"\n{command}\n'
        done = subprocess.run(
            ["bash", "-c", script],
            capture_output=True,
            text=True,
            env=self.environment(),
            timeout=AZ_TIMEOUT,
            check=False,
            cwd=self.config_dir,
        )
        return AzResult(done.returncode, done.stdout, done.stderr)

    def ok(self, command: str, **kwargs) -> AzResult:
        result = self.run(command, **kwargs)
        assert result.returncode == 0, f"{command}\n{result.stderr[-3000:]}"
        return result
