"""A class on one host with JupyterHub (issue 13): the committed `jupyterhub_config.py` starts
each trainee's JupyterLab with that trainee's class environment.

A real class (two trainees) and its sandbox (`class start`, as tests/test_class_cli.py does);
the real `jupyterhub -f jupyterhub_config.py` with the Python configurable-http-proxy, the
dummy authenticator and the local-process spawner; each trainee signs in through the login
form, their server is spawned, a kernel is started through their server's REST API and code
run over its websocket prints the kernel's identity: each sees its own trainee id and client
id, never the other's. Someone outside the class cannot sign in.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
import requests
from traitlets.config import Config

from helpers.training import ClassError, Classroom, create_class
from helpers.training.hub import configure_hub
from tests.test_class_cli import _start, _stop

jupyterhub = pytest.importorskip("jupyterhub", reason="JupyterHub is the optional 'class' extra")

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TRAINEES = ("trainee-01", "trainee-02")
PROBE = "import os; print(os.environ['AKV_CLASS_TRAINEE'], os.environ['AZURE_CLIENT_ID'])"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(what: str, probe, timeout: float, hub: subprocess.Popen, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if hub.poll() is not None:
            pytest.fail(f"the hub exited while waiting for {what}:\n{log.read_text()[-4000:]}")
        got = probe()
        if got:
            return got
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-4000:]}")


def _login(base: str, user: str) -> tuple[requests.Session, int]:
    session = requests.Session()
    session.trust_env = False  # loopback, never through a proxy
    page = session.get(f"{base}/hub/login", timeout=10)
    xsrf = re.search(r'name="_xsrf"\s+value="([^"]+)"', page.text).group(1)
    resp = session.post(
        f"{base}/hub/login",
        data={"username": user, "password": "any", "_xsrf": xsrf},
        timeout=30,
        allow_redirects=False,
    )
    return session, resp.status_code


def _lab_ready(session: requests.Session, base: str, user: str):
    def probe():
        try:
            resp = session.get(f"{base}/user/{user}/lab", timeout=20)  # signs in by OAuth
        except requests.RequestException:
            return None
        ok = resp.status_code == 200 and resp.url.startswith(f"{base}/user/{user}/lab")
        return resp if ok else None

    return probe


def _run_in_kernel(session: requests.Session, base: str, user: str, code: str) -> str:
    xsrf = session.cookies.get("_xsrf", path=f"/user/{user}/")
    resp = session.post(
        f"{base}/user/{user}/api/kernels",
        json={"name": "python3"},
        headers={"X-XSRFToken": xsrf or ""},
        timeout=30,
    )
    assert resp.status_code == 201, resp.text
    kernel = resp.json()["id"]
    import websocket  # websocket-client: only this test speaks the kernel protocol

    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    ws_url = base.replace("http", "ws", 1) + f"/user/{user}/api/kernels/{kernel}/channels"
    sock = websocket.create_connection(ws_url, cookie=cookie, timeout=30)
    try:
        msg_id = uuid.uuid4().hex
        sock.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "username": user,
                        "session": uuid.uuid4().hex,
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": {"code": code, "silent": False},
                    "channel": "shell",
                }
            )
        )
        # The reply (shell channel) may overtake the output (iopub): done when both the
        # reply and iopub's "idle" for this request have arrived.
        out: list[str] = []
        replied = idle = False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            msg = json.loads(sock.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "stream":
                out.append(msg["content"]["text"])
            elif kind == "error":
                pytest.fail("\n".join(msg["content"]["traceback"]))
            elif kind == "execute_reply":
                replied = True
            elif kind == "status" and msg["content"].get("execution_state") == "idle":
                idle = True
            if replied and idle:
                return "".join(out)
        pytest.fail("the kernel did not answer in time")
    finally:
        sock.close()


def _stop_hub(hub: subprocess.Popen) -> None:
    try:
        spawned = psutil.Process(hub.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        spawned = []
    hub.send_signal(signal.SIGTERM)  # the hub stops the trainees' servers and its proxy
    try:
        hub.wait(30)
    except subprocess.TimeoutExpired:
        hub.kill()
        hub.wait(10)
    for proc in spawned:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()


def test_each_trainee_kernel_in_jupyterhub_sees_only_its_own_identity(tmp_path: Path) -> None:
    state = tmp_path / "class"
    proc, _ = _start(state, "--trainees", "2", "--exercises", "kv-contributor")
    hub = None
    try:
        room = Classroom(state)
        client_ids = {t: room.environment(t)["AZURE_CLIENT_ID"] for t in TRAINEES}
        assert len(set(client_ids.values())) == 2
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "AKV_CLASS_STATE_DIR": str(state),
            "AKV_HUB_PORT": str(port),
            "AKV_HUB_AUTHENTICATOR": "dummy",
        }
        log = tmp_path / "hub.log"
        with open(log, "w") as sink:
            hub = subprocess.Popen(
                [str(BIN / "jupyterhub"), "-f", str(ROOT / "jupyterhub_config.py")],
                cwd=tmp_path,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

        def up():
            try:
                return requests.get(f"{base}/hub/api", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        _wait("the hub", up, 60, hub, log)
        assert (state / "hub" / "jupyterhub.sqlite").exists()

        # outside the class: refused at the login form
        assert _login(base, "mallory")[1] == 403

        logins = {t: _login(base, t) for t in TRAINEES}
        assert {status for _, status in logins.values()} == {302}
        sessions = {t: session for t, (session, _) in logins.items()}
        for trainee, session in sessions.items():
            session.get(f"{base}/hub/spawn/{trainee}", timeout=30)
        for trainee, session in sessions.items():
            _wait(f"{trainee}'s server", _lab_ready(session, base, trainee), 60, hub, log)

        for trainee, session in sessions.items():
            seen = _run_in_kernel(session, base, trainee, PROBE).split()
            other = next(t for t in TRAINEES if t != trainee)
            assert seen == [trainee, client_ids[trainee]]
            assert other not in seen and client_ids[other] not in seen
        assert (state / "trainees" / "trainee-01" / "exercises.ipynb").exists()
    finally:
        if hub is not None:
            _stop_hub(hub)
        assert _stop(proc) == 0


def test_the_config_admits_only_the_class_and_keeps_its_state_in_the_class_dir(
    tmp_path: Path,
) -> None:
    create_class(tmp_path / "c", trainees=3, exercises=["kv-contributor"])
    env = {"AKV_CLASS_STATE_DIR": str(tmp_path / "c"), "AKV_HUB_PORT": "8123"}
    with pytest.raises(ClassError, match="AKV_CLASS_PASSWORD"):  # no open door by default
        configure_hub(Config(), {**env, "AKV_CLASS_PASSWORD": "short"})
    c = Config()
    state = configure_hub(c, {**env, "AKV_CLASS_PASSWORD": "class-password"})
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8123"
    assert c.JupyterHub.authenticator_class == "shared-password"
    assert c.SharedPasswordAuthenticator.user_password == "class-password"
    assert c.Authenticator.allowed_users == {"trainee-01", "trainee-02", "trainee-03"}
    assert c.JupyterHub.db_url == f"sqlite:///{state / 'hub' / 'jupyterhub.sqlite'}"
    assert Path(c.JupyterHub.cookie_secret_file).parent == state / "hub"
    assert c.JupyterHub.spawner_class == "simple"
    with pytest.raises(ClassError, match="no class"):
        configure_hub(Config(), {"AKV_CLASS_STATE_DIR": str(tmp_path / "none")})
