"""Run real Airflow 3 commands in a throw-away AIRFLOW_HOME, configured like the seed document.

Importing airflow writes ``$AIRFLOW_HOME/airflow.cfg`` and ``logs/``; every call here points
AIRFLOW_HOME at a scratch directory and runs Airflow in a child process, so the caller's
environment and Airflow's import-time configuration never mix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from helpers.common.facts import BACKEND_CLASS as BACKEND
from helpers.common.paths import DAGS_DIR

__all__ = [
    "DAGS_FOLDER",
    "ScratchAirflow",
    "seed_overrides",
]

DAGS_FOLDER = DAGS_DIR


def seed_overrides(vault_url: str) -> dict[str, str]:
    """The two configuration overrides exactly as the seed document writes them."""
    kwargs = {
        "connections_prefix": "airflow-connections",
        "variables_prefix": "airflow-variables",
        "vault_url": vault_url,
    }
    return {
        "AIRFLOW__SECRETS__BACKEND": BACKEND,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(kwargs),
    }


@dataclass
class ScratchAirflow:
    home: Path
    env: dict[str, str]

    @classmethod
    def create(
        cls,
        home: Path,
        overrides: dict[str, str],
        *,
        base_env: dict[str, str] | None = None,
        dags_folder: Path = DAGS_FOLDER,
    ) -> ScratchAirflow:
        home.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ if base_env is None else base_env)
        env.update(
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
                "AZURE_HTTP_LOGGING_LEVEL": "WARNING",
            }
        )
        env.update(overrides)
        return cls(home=home, env=env)

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args,
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def airflow(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return self.run(str(Path(sys.executable).with_name("airflow")), *args, timeout=timeout)

    def python(self, code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return self.run(sys.executable, "-c", code, timeout=timeout)
