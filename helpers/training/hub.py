"""A class on one host with JupyterHub (docs/training.md): what `jupyterhub_config.py` sets.

The hub serves each trainee their own JupyterLab, started with that trainee's environment —
exactly `Classroom.environment`, the same as `akv-runbook class env --trainee …` — so the
exercises notebook's kernel knows who it is. Everything is read from the environment of the
`jupyterhub` process (the names below); nothing here imports JupyterHub, which is an optional
extra (`pip install .[class]`): the hub loads this module, not the other way round.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

from helpers.common.paths import NOTEBOOKS_DIR, PROJECT_ROOT

from .classroom import CLASS_STATE_VAR, ClassError, Classroom, default_class_dir

__all__ = [
    "AUTHENTICATOR_VAR",
    "DEFAULT_HUB_PORT",
    "HUB_IP_VAR",
    "HUB_PORT_VAR",
    "NOTEBOOK",
    "PASSWORD_VAR",
    "configure_hub",
    "hub_dir",
    "trainee_environment",
    "trainee_home",
]

HUB_PORT_VAR = "AKV_HUB_PORT"  # the one public port (the proxy's): trainees open it
HUB_IP_VAR = "AKV_HUB_IP"  # 127.0.0.1 unless the facilitator serves a classroom network
AUTHENTICATOR_VAR = "AKV_HUB_AUTHENTICATOR"  # shared-password (default), dummy, or a class path
PASSWORD_VAR = "AKV_CLASS_PASSWORD"  # the class's shared password (8 characters or more)
DEFAULT_HUB_PORT = 8000
NOTEBOOK = "exercises.ipynb"


def hub_dir(state_dir: Path) -> Path:
    """The hub's own state (its database, cookie secret, pid files), inside the class's."""
    return state_dir / "hub"


def trainee_home(state_dir: Path, trainee: str) -> Path:
    """A trainee's home in the hub: their class work dir (`Classroom.workdir`)."""
    return state_dir / "trainees" / trainee


def trainee_environment(state_dir: Path, trainee: str) -> dict[str, str]:
    """What the trainee's JupyterLab (and so its kernels) starts with: the class env of
    `Classroom.environment`, plus the interpreter and this checkout on PATH / PYTHONPATH
    (JupyterHub passes on nothing of its own environment)."""
    env = Classroom(state_dir).environment(trainee)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.defpath])
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return env


def _free_port(ip: str) -> int:
    with socket.socket() as sock:
        sock.bind((ip, 0))
        return sock.getsockname()[1]


def _pre_spawn_hook(state_dir: Path, spawner: Any) -> None:
    """Before a trainee's server starts: their environment (the sandbox must be running, or
    the spawn fails with the class's 'not running' message) and their copy of the notebook."""
    trainee = spawner.user.name
    spawner.environment = {**spawner.environment, **trainee_environment(state_dir, trainee)}
    home = trainee_home(state_dir, trainee)
    home.mkdir(parents=True, exist_ok=True)
    if not (home / NOTEBOOK).exists():
        shutil.copyfile(NOTEBOOKS_DIR / NOTEBOOK, home / NOTEBOOK)


def configure_hub(c: Any, environ: Mapping[str, str] | None = None) -> Path:
    """Set JupyterHub's config object ``c`` for the class in $AKV_CLASS_STATE_DIR; returns
    that state dir. Raises ClassError when there is no class there."""
    environ = os.environ if environ is None else environ
    state_dir = Path(environ.get(CLASS_STATE_VAR) or default_class_dir()).resolve()
    room = Classroom(state_dir)  # no class there: ClassError, before the hub starts
    hub = hub_dir(state_dir)
    hub.mkdir(parents=True, exist_ok=True, mode=0o700)
    ip = environ.get(HUB_IP_VAR) or "127.0.0.1"
    port = int(environ.get(HUB_PORT_VAR) or DEFAULT_HUB_PORT)
    bindir = Path(sys.executable).parent

    c.JupyterHub.bind_url = f"http://{ip}:{port}"
    # the hub's internal API and the proxy's API stay on loopback, on ports no one else holds
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = _free_port("127.0.0.1")
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{_free_port('127.0.0.1')}"
    c.ConfigurableHTTPProxy.command = [str(bindir / "configurable-http-proxy")]
    c.ConfigurableHTTPProxy.pid_file = str(hub / "proxy.pid")
    c.JupyterHub.db_url = f"sqlite:///{hub / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(hub / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(hub / "jupyterhub.pid")
    c.JupyterHub.cleanup_servers = True

    kind = environ.get(AUTHENTICATOR_VAR) or "shared-password"
    c.JupyterHub.authenticator_class = kind
    c.Authenticator.allowed_users = set(room.trainees)
    if kind == "shared-password":
        password = environ.get(PASSWORD_VAR) or ""
        if len(password) < 8:
            raise ClassError(
                f"set {PASSWORD_VAR} (8 characters or more): the class's shared password, "
                f"or {AUTHENTICATOR_VAR} to another authenticator"
            )
        c.SharedPasswordAuthenticator.user_password = password

    # one OS user for the whole class: each trainee's server runs as the hub's user, in the
    # trainee's own home, with the trainee's own environment (the class's isolation is the
    # sandbox's authorization, not the OS's)
    c.JupyterHub.spawner_class = "simple"
    c.SimpleLocalProcessSpawner.home_dir_template = str(trainee_home(state_dir, "{username}"))
    c.Spawner.cmd = [str(bindir / "jupyterhub-singleuser")]
    c.Spawner.default_url = f"/lab/tree/{NOTEBOOK}"
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        c.Spawner.args = ["--allow-root"]  # a container's class host often runs as root
    c.Spawner.pre_spawn_hook = partial(_pre_spawn_hook, state_dir)
    c.Spawner.start_timeout = 120
    c.Spawner.http_timeout = 90
    return state_dir
