"""The unmodified Azure SDK for JavaScript for the sandbox tests: pinned ``@azure/identity`` and
``@azure/keyvault-secrets`` installed with npm into a throw-away directory.

The directory lives in pytest's cache (``.pytest_cache/d/js-sdk/<pins>-node<major>``) and is
reused while the pins and Node's major version are the same; a clean clone pays one
``npm install`` (a few seconds). A file lock lets parallel pytest workers share one install.
The tests are skipped, with the reason, only when node or npm is missing or the npm registry
cannot be reached. ``JsSdk.run`` runs a small script with nothing but the given environment
(what ``akv-runbook sandbox env`` prints) plus PATH and HOME.

The pins are the newest releases that still support Node 20 (``@azure/identity`` 4.14
needs Node 22); transitive packages resolve to the newest versions the pins accept.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers.sandbox.runtime import CA_VARS, PROXY_VARS

__all__ = [
    "JS_PACKAGES",
    "JsResult",
    "JsSdk",
    "install_js_sdk",
]

JS_PACKAGES = {"@azure/identity": "4.13.0", "@azure/keyvault-secrets": "4.10.0"}
INSTALL_TIMEOUT = 300
RUN_TIMEOUT = 60

# Reads one secret with the credential named on the command line and prints one JSON line:
# {"ok": true, "value": ...} or {"ok": false, "name", "message", "statusCode", "code"}.
SCRIPT = r"""
const identity = require("@azure/identity");
const { SecretClient } = require("@azure/keyvault-secrets");

const [kind, name] = process.argv.slice(2);
const env = process.env;

function credential() {
  if (kind === "client-secret") {
    return new identity.ClientSecretCredential(
      env.AZURE_TENANT_ID, env.AZURE_CLIENT_ID, env.AZURE_CLIENT_SECRET);
  }
  if (kind === "managed-identity") {
    return new identity.ManagedIdentityCredential(
      env.AZURE_CLIENT_ID ? { clientId: env.AZURE_CLIENT_ID } : {});
  }
  if (kind === "workload-identity") return new identity.WorkloadIdentityCredential();
  return new identity.DefaultAzureCredential();
}

(async () => {
  const client = new SecretClient(env.AZURE_KEYVAULT_URL, credential(), {
    retryOptions: { maxRetries: 0 },
  });
  try {
    const secret = await client.getSecret(name);
    console.log(JSON.stringify({ ok: true, value: secret.value }));
  } catch (err) {
    console.log(JSON.stringify({
      ok: false, name: err.name, message: String(err.message),
      statusCode: err.statusCode ?? null, code: err.code ?? null,
    }));
  }
})();
"""


def _without_sandbox(environ) -> dict[str, str]:
    """The environment minus the sandbox's proxy and CA bundle, which would send npm to it."""
    return {k: v for k, v in environ.items() if k not in (*PROXY_VARS, *CA_VARS)}


def _registry_unreachable(npm: str, env: dict[str, str]) -> str | None:
    """None when the npm registry answers, else why not (the skip reason)."""
    try:
        registry = (
            subprocess.run(
                [npm, "config", "get", "registry"],
                capture_output=True,
                text=True,
                env=env,
                timeout=30,
                check=False,
            ).stdout.strip()
            or "https://registry.npmjs.org/"
        )
        urllib.request.urlopen(registry.rstrip("/") + "/@azure%2fidentity", timeout=15).close()
    except (OSError, subprocess.SubprocessError) as err:
        return f"the npm registry is unreachable ({err}); cannot install {JS_PACKAGES}"
    return None


def install_js_sdk(cache: Path) -> Path:
    """The directory holding node_modules with the pinned packages (installed when absent)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node or npm is not installed; the JavaScript SDK tests need both")
    major = subprocess.run(
        [node, "-p", "process.versions.node.split('.')[0]"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()
    pins = "-".join(f"{name.split('/')[-1]}-{version}" for name, version in JS_PACKAGES.items())
    folder = cache / f"{pins}-node{major}"
    done = folder / ".installed"
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            (folder / "package.json").write_text(
                json.dumps({"name": "akv-sandbox-js", "private": True, "dependencies": JS_PACKAGES})
            )
            env = _without_sandbox(os.environ)
            started = time.monotonic()
            npm_run = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", "--no-save"],
                capture_output=True,
                text=True,
                env=env,
                cwd=folder,
                timeout=INSTALL_TIMEOUT,
                check=False,
            )
            if npm_run.returncode != 0:
                reason = _registry_unreachable(npm, env)
                if reason:
                    pytest.skip(reason)
                pytest.fail(f"npm install {JS_PACKAGES} failed:\n{npm_run.stderr[-3000:]}")
            done.write_text(json.dumps({"seconds": round(time.monotonic() - started, 1)}))
        (folder / "read_secret.js").write_text(SCRIPT)
    return folder


@dataclass
class JsResult:
    ok: bool
    value: str | None
    name: str | None
    message: str
    status_code: int | None
    code: str | None


class JsSdk:
    """Node with the pinned SDK, run with only the environment it is given."""

    def __init__(self, folder: Path):
        self.folder = folder

    def read_secret(self, kind: str, name: str, env: dict[str, str]) -> JsResult:
        base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
        done = subprocess.run(
            ["node", "read_secret.js", kind, name],
            capture_output=True,
            text=True,
            env={**base, **env},
            cwd=self.folder,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        assert done.returncode == 0 and lines, f"node failed:\n{done.stdout}\n{done.stderr}"
        data = json.loads(lines[-1])
        return JsResult(
            ok=data["ok"],
            value=data.get("value"),
            name=data.get("name"),
            message=data.get("message", ""),
            status_code=data.get("statusCode"),
            code=data.get("code"),
        )
