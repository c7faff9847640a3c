"""All sandbox state in one place, its persistence in the state directory, and its reset.

Files in the state directory (the directory is 0700, files holding keys or secrets 0600):

    ca.pem / ca-key.pem         the sandbox CA (see certs.py)
    ca-bundle.pem               public roots + the sandbox CA, for REQUESTS_CA_BUNDLE
    token-key.pem               RSA key that signs access tokens
    oidc-key.pem                RSA key of the AKS clusters' OIDC issuer (service-account tokens)
    workload-identity/<app>/    projected service-account tokens written by `sandbox env`
    generated.json              client secrets minted for `value: generate`
    state.json                  directory, ARM and vault contents (unless ephemeral)
    control-token               bearer token for the control API
    server.json                 port and pid of the running sandbox (for `sandbox env`)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

from .arm.models import ResourceManager
from .arm.rbac import Authorization
from .certs import make_private_dir
from .entra.models import Directory
from .faults import Faults
from .identity.models import IdentityService
from .keyvault.models import KeyVaultBackend
from .scenario import Scenario, build_state

__all__ = [
    "CREDENTIAL_KINDS",
    "SandboxState",
    "write_private",
]


# `sandbox env --credential KIND`: what the platform of each kind sets in the environment.
CREDENTIAL_KINDS = ("client-secret", "managed-identity", "imds", "workload-identity")


def write_private(path: Path, data: str | bytes) -> None:
    """Atomically write a file only the owner can read."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data.encode() if isinstance(data, str) else data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


class SandboxState:
    def __init__(self, scenario: Scenario, state_dir: Path, *, ephemeral: bool = False):
        self.scenario = scenario
        self.state_dir = state_dir
        self.ephemeral = ephemeral
        self.directory = Directory()
        self.keyvault = KeyVaultBackend(Authorization(), self.directory)
        self.arm = ResourceManager(self.directory, self.keyvault)
        self.identity = IdentityService(self.directory)
        self.faults = Faults()
        self.dirty = False
        make_private_dir(state_dir)
        self._load_keys()
        generated = self._read_json("generated.json")
        self.generated: dict[str, str] = (
            {str(k): str(v) for k, v in generated.items()} if isinstance(generated, dict) else {}
        )
        saved = None if ephemeral else self._read_json("state.json")
        if not (isinstance(saved, dict) and saved.get("scenario") == scenario.source):
            self.reset()
            return
        try:
            self._apply(saved)
        except (KeyError, TypeError, ValueError, AttributeError):  # a state.json of another shape
            self.reset()

    # -- files ---------------------------------------------------------------------------
    def _read_json(self, name: str) -> Any:
        path = self.state_dir / name
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # unreadable, not UTF-8 or not JSON: as if absent
            return None

    def _load_keys(self) -> None:
        key_path = self.state_dir / "token-key.pem"
        try:
            self.directory.load_key_pem(key_path.read_bytes())
        except (OSError, ValueError, TypeError):  # absent or damaged: tokens get a new key
            write_private(key_path, self.directory.key_pem())
        token_path = self.state_dir / "control-token"
        try:
            self.control_token = token_path.read_text(encoding="ascii").strip()
        except (OSError, ValueError):
            self.control_token = ""
        if not self.control_token:
            self.control_token = secrets.token_urlsafe(32)
            write_private(token_path, self.control_token)
        oidc_path = self.state_dir / "oidc-key.pem"
        try:
            self.identity.load_key_pem(oidc_path.read_bytes())
        except (OSError, ValueError, TypeError):
            write_private(oidc_path, self.identity.key_pem())
        self.identity.header_secret = (
            hmac.new(self.control_token.encode(), b"IDENTITY_HEADER", hashlib.sha256)
            .hexdigest()[:32]
            .upper()
        )
        self.keyvault.backup_key = self.directory.key_pem()[-64:]

    # -- state ---------------------------------------------------------------------------
    def _apply(self, data: dict[str, Any]) -> None:
        self.directory.load(data["directory"])
        self.arm.load(data["arm"])
        self.keyvault.load(data["keyvault"])
        self.identity.load(data.get("identity") or {})

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.source,
            "directory": self.directory.to_dict(),
            "arm": self.arm.to_dict(),
            "keyvault": self.keyvault.to_dict(),
            "identity": self.identity.to_dict(),
        }

    def reset(self) -> None:
        """Back to the scenario as loaded; minted client secrets stay the same."""
        before = dict(self.generated)
        self._apply(build_state(self.scenario, self.generated))
        if self.generated != before or not (self.state_dir / "generated.json").exists():
            write_private(self.state_dir / "generated.json", json.dumps(self.generated))
        self.faults.clear()
        self.dirty = True
        self.save()

    def save(self) -> None:
        if self.dirty and not self.ephemeral:
            write_private(self.state_dir / "state.json", json.dumps(self.to_dict()))
        self.dirty = False

    # -- lookups used by the CLI and the Python API ---------------------------------------
    def environment(
        self, principal: str | None = None, credential: str = "client-secret", *, port: int = 0
    ) -> dict[str, str]:
        """What a shell needs besides the proxy: the principal's variables for ``credential``
        (KeyError: no such principal for that kind; ValueError: no such kind)."""
        if credential != "client-secret":
            return self._identity_environment(credential, principal, port)
        app = self.directory.app_by_name(principal or self.scenario.default_principal)
        if app.managed:
            raise KeyError(app.name)
        vault = self.keyvault.vaults[self.scenario.default_vault.lower()]
        secret = next(s for s in app.secrets if not s.expired(0)) if app.secrets else None
        return {
            "AZURE_TENANT_ID": app.tenant_id,
            "AZURE_CLIENT_ID": app.client_id,
            "AZURE_CLIENT_SECRET": secret.value if secret else "",
            "AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential",
            "AZURE_SUBSCRIPTION_ID": vault.subscription_id,
            "AZURE_KEYVAULT_URL": vault.uri + "/",
        }

    def _identity_environment(self, credential: str, principal: str | None, port: int):
        if credential not in CREDENTIAL_KINDS:
            raise ValueError(credential)
        vault = self.keyvault.vaults[self.scenario.default_vault.lower()]
        env = {
            "AZURE_SUBSCRIPTION_ID": vault.subscription_id,
            "AZURE_KEYVAULT_URL": vault.uri + "/",
        }
        if credential == "workload-identity":
            candidates = [a for a in self.directory.apps.values() if a.federated_credentials]
            app = self.directory.app_by_name(principal) if principal else None
            app = app or next((a for a in candidates if self._projects(a)), None)
            if app is None:
                raise KeyError("workload-identity")
            cluster, namespace, account, audience = self.identity.federated_subject(app)
            token = self.identity.service_account_token(
                cluster=cluster, namespace=namespace, service_account=account, audience=audience
            )
            folder = self.state_dir / "workload-identity" / app.name
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_private(folder / "azure-identity-token", token)
            return {
                "AZURE_CLIENT_ID": app.client_id,
                "AZURE_TENANT_ID": app.tenant_id,
                "AZURE_FEDERATED_TOKEN_FILE": str(folder / "azure-identity-token"),
                "AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com/",
                "AZURE_TOKEN_CREDENTIALS": "WorkloadIdentityCredential",
                **env,
            }
        identities = self.identity.host_identities()
        if principal:
            mi = self.directory.app_by_name(principal)
            if not mi.managed:
                raise KeyError(principal)
        else:
            users = [m for m in identities if m.kind == "user_assigned"]
            if not identities:
                raise KeyError("managed-identity")
            mi = (users or identities)[0]
        if mi.kind == "user_assigned":
            env["AZURE_CLIENT_ID"] = mi.client_id
        env["AZURE_TOKEN_CREDENTIALS"] = "ManagedIdentityCredential"
        if credential == "imds":
            proxy = f"http://127.0.0.1:{port}"
            return {"HTTP_PROXY": proxy, "http_proxy": proxy, **env}
        return {
            "IDENTITY_ENDPOINT": f"http://127.0.0.1:{port}/msi/token",
            "IDENTITY_HEADER": self.identity.header_secret,
            **env,
        }

    def _projects(self, app) -> bool:
        try:
            self.identity.federated_subject(app)
        except KeyError:
            return False
        return True

    def secret_values(self) -> list[str]:
        """Every client secret and stored secret value: what a leak scan looks for."""
        values = [s.value for app in self.directory.apps.values() for s in app.secrets]
        values.append(self.identity.header_secret)
        values.extend(self.keyvault.iter_secret_values())
        return values
