"""A fleet of sandbox environments, some broken on purpose: for demos, tests and benchmarks.

``Fleet(size=100)`` starts a sandbox whose scenario holds one vault per environment and a
handful of service principals shared between them (so the batch check's token reuse per
identity has something to reuse), writes the matching inventory, and breaks up to ten
environments in ten different ways — each one a mistake the seed document's readers make::

    with Fleet(size=100) as fleet:
        batch = check_inventory(load_inventory(fleet.inventory_path))
        fleet.expected  # {environment name: the finding code its breakage must produce}

Client secrets are minted by the sandbox and handed to the checks the way a deployment
would: in environment variables named by the inventory (``AKV_FLEET_SECRET_03``), never in
the inventory itself.

Environments take turns at the three ways the backend signs in (:data:`CREDENTIALS`): a
service principal's client secret, a user-assigned managed identity (the sandbox's App
Service endpoint: ``IDENTITY_ENDPOINT`` / ``IDENTITY_HEADER`` in the process environment, as
on the host) and workload identity (apps trusting one AKS service account; one projected
token file, ``AZURE_FEDERATED_TOKEN_FILE``, as in a pod). A breakage only a client secret
can have (wrong or expired secret, unknown tenant) keeps its environment on a client secret.
"""

from __future__ import annotations

import json
import secrets
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from helpers.batch.audit import check_inventory_notebooks
from helpers.batch.fast import Progress, check_inventory
from helpers.batch.inventory import load_inventory
from helpers.common.envscope import scoped_environ
from helpers.common.facts import SANDBOX_PORT_VAR, SANDBOX_STATE_VAR
from helpers.common.leaks import scan_for_secrets
from helpers.sandbox import Sandbox
from helpers.sandbox.scenario import Scenario, validate

__all__ = ["BREAKAGES", "CREDENTIALS", "Fleet", "fleet_credentials", "fleet_plan", "run_fleet_demo"]

TENANT_ID = "5f0c6e2a-3b1d-4c8e-9a7f-0d2b4e6f8a10"
TENANT = "sandbox.onmicrosoft.com"
SUBSCRIPTION_ID = "7d3a9c1e-5b2f-4e6d-8c0a-1f3e5d7b9c21"
VARIABLE_SECRET = "airflow-variables-sample-variable"
CONNECTION_SECRET = "airflow-connections-sample-connection"
SECRET_VAR = "AKV_FLEET_SECRET_{:02d}"
WRONG_SECRET_VAR = "AKV_FLEET_WRONG_SECRET"
EXPIRED_SECRET_VAR = "AKV_FLEET_EXPIRED_SECRET"

# breakage -> the finding code the check must report for it
BREAKAGES: dict[str, str] = {
    "wrong-secret": "AKV-AUTH-003",
    "expired-secret": "AKV-AUTH-004",
    "unknown-tenant": "AKV-AUTH-006",
    "missing-role": "AKV-PERM-001",
    "policy-without-get": "AKV-PERM-002",
    "firewall": "AKV-PERM-003",
    "disabled-secret": "AKV-SECRET-003",
    "missing-secret": "AKV-SECRET-002",
    "throttled": "AKV-SVC-001",
    "invalid-backend-kwargs": "AKV-CFG-004",
}


# The credential kinds environments take turns at (settings' spelling).
CREDENTIALS = ("client_secret", "managed_identity", "workload_identity")
# Breakages of a client secret: their environments always sign in with one.
SECRET_BREAKAGES = frozenset({"wrong-secret", "expired-secret", "unknown-tenant"})
AKS_CLUSTER = "fleet-aks"
SERVICE_ACCOUNT = ("airflow", "airflow-worker")  # namespace, service account of every pod


def fleet_credentials(
    plan: list[tuple[str, str | None]], kinds: tuple[str, ...] = CREDENTIALS
) -> list[str]:
    """The credential kind of each environment of ``plan``: round-robin over ``kinds``."""
    kinds = kinds or ("client_secret",)
    return [
        "client_secret" if breakage in SECRET_BREAKAGES else kinds[i % len(kinds)]
        for i, (_, breakage) in enumerate(plan)
    ]


def _guid(*parts: object) -> str:
    """A stable GUID per name: the fleet is the same every time it is built."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "akv-fleet/" + "/".join(map(str, parts))))


def fleet_plan(size: int, broken: int | None = None) -> list[tuple[str, str | None]]:
    """``[(environment name, breakage or None)]``: breakages spread evenly through the fleet."""
    if size < 1:
        raise ValueError("a fleet has at least one environment")
    kinds = list(BREAKAGES)[: min(len(BREAKAGES), size if broken is None else broken)]
    step = size / max(1, len(kinds))
    at = {int(i * step + step / 2): kind for i, kind in enumerate(kinds)}
    plan = []
    for i in range(size):
        kind = at.get(i)
        plan.append((f"fleet-{i + 1:03d}" + (f"-{kind}" if kind else ""), kind))
    return plan


def _vault_name(index: int) -> str:
    return f"fleet-kv-{index + 1:03d}"


class Fleet:
    """The sandbox, the inventory and the environment variables of one fleet."""

    def __init__(
        self,
        size: int = 100,
        *,
        broken: int | None = None,
        identities: int = 10,
        directory: str | Path | None = None,
        credentials: tuple[str, ...] = CREDENTIALS,
    ):
        self.plan = fleet_plan(size, broken)
        self.identities = max(1, min(identities, size))
        self.credentials = fleet_credentials(self.plan, credentials)
        self._tmp = None if directory else tempfile.TemporaryDirectory(prefix="akv-fleet-")
        self.directory = Path(directory or self._tmp.name)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.inventory_path = self.directory / "inventory.yaml"
        self.sandbox: Any = None
        self._env_scope: Any = None

    @property
    def expected(self) -> dict[str, str | None]:
        return {name: (BREAKAGES[kind] if kind else None) for name, kind in self.plan}

    # -- what the fleet is made of -------------------------------------------------------
    def app_name(self, index: int) -> str:
        """The principal environment ``index`` signs in as (its kind's, shared in turns)."""
        n = self._identity_number(index)
        prefix = {"managed_identity": "fleet-mi", "workload_identity": "fleet-wi"}
        return f"{prefix.get(self.credentials[index], 'fleet-app')}-{n:02d}"

    def _identity_number(self, index: int) -> int:
        kind = self.credentials[index]
        turn = sum(1 for k in self.credentials[:index] if k == kind)
        return turn % self.identities + 1

    def _used(self, kind: str) -> list[int]:
        """The identity numbers of ``kind`` some environment uses (each is declared)."""
        return sorted(
            {self._identity_number(i) for i, k in enumerate(self.credentials) if k == kind}
        )

    def _identity_data(self) -> dict[str, Any]:
        """Managed identities, workload apps (federated to the pods' service account) and
        the AKS cluster whose OIDC issuer signs the pods' tokens."""
        namespace, account = SERVICE_ACCOUNT
        wi = [
            {
                "name": f"fleet-wi-{n:02d}",
                "tenant": TENANT,
                "client_id": _guid("wi", n),
                "object_id": _guid("wi-sp", n),
                "secrets": [],
                "federated_credentials": [
                    {
                        "name": "airflow-worker",
                        "issuer": f"aks:{AKS_CLUSTER}",
                        "subject": f"system:serviceaccount:{namespace}:{account}",
                        "audiences": ["api://AzureADTokenExchange"],
                    }
                ],
            }
            for n in self._used("workload_identity")
        ]
        mi = [
            {
                "name": f"fleet-mi-{n:02d}",
                "type": "user_assigned",
                "tenant": TENANT,
                "client_id": _guid("mi", n),
                "object_id": _guid("mi-sp", n),
            }
            for n in self._used("managed_identity")
        ]
        data: dict[str, Any] = {"workload_apps": wi}
        if mi:
            data["managed_identities"] = mi
        if wi:
            data["aks_clusters"] = [
                {
                    "name": AKS_CLUSTER,
                    "tenant": TENANT,
                    "location": "westeurope",
                    "oidc_id": _guid("aks", AKS_CLUSTER),
                }
            ]
        return data

    def scenario_data(self) -> dict[str, Any]:
        apps = [
            {
                "name": f"fleet-app-{n + 1:02d}",
                "tenant": TENANT,
                "client_id": _guid("app", n),
                "object_id": _guid("sp", n),
                "secrets": [{"value": "generate", "expires": "2099-12-31"}],
            }
            for n in range(self.identities)
        ]
        identities = self._identity_data()
        apps += identities.pop("workload_apps")
        apps.append(
            {
                "name": "fleet-app-expired",
                "tenant": TENANT,
                "client_id": _guid("app", "expired"),
                "object_id": _guid("sp", "expired"),
                "secrets": [{"value": "generate", "expires": "2020-01-01"}],
            }
        )
        vaults, assignments = [], []
        for i, (_, kind) in enumerate(self.plan):
            vault: dict[str, Any] = {
                "name": _vault_name(i),
                "resource_group": "rg-fleet",
                "permission_model": "rbac",
                "firewall": "closed" if kind == "firewall" else "open",
                "secrets": {
                    VARIABLE_SECRET: f"fleet value {i + 1}",
                    CONNECTION_SECRET: f"postgresql://fleet:pw-{i + 1}@db{i + 1}.internal:5432/x",
                },
            }
            if kind == "missing-secret":
                del vault["secrets"][VARIABLE_SECRET]
            app = "fleet-app-expired" if kind == "expired-secret" else self.app_name(i)
            if kind == "policy-without-get":
                vault["permission_model"] = "access_policy"
                vault["access_policies"] = [{"principal": app, "secrets": ["list"]}]
            elif kind != "missing-role":
                assignments.append(
                    {
                        "principal": app,
                        "role": "Key Vault Secrets User",
                        "scope": f"vault:{_vault_name(i)}",
                    }
                )
            vaults.append(vault)
        return {
            "name": f"fleet-{len(self.plan)}",
            "tenants": [{"id": TENANT_ID, "domain": TENANT}],
            "subscriptions": [
                {
                    "id": SUBSCRIPTION_ID,
                    "tenant": TENANT,
                    "name": "Fleet subscription",
                    "resource_groups": [{"name": "rg-fleet", "location": "westeurope"}],
                }
            ],
            "apps": apps,
            "default_principal": "fleet-app-01",
            "default_vault": _vault_name(0),
            "vaults": vaults,
            "role_assignments": assignments,
            **identities,
        }

    def inventory_data(self) -> dict[str, Any]:
        environments = []
        for i, (name, kind) in enumerate(self.plan):
            url = f"https://{_vault_name(i)}.vault.azure.net/"
            n = self._identity_number(i)
            credential = self.credentials[i]
            env: dict[str, Any] = {"name": name, "vault_url": url}
            # as `akv-runbook config render` writes them: no config lookups, bounded retries
            kwargs: dict[str, Any] = {
                "vault_url": url,
                "connections_prefix": "airflow-connections",
                "variables_prefix": "airflow-variables",
                "config_prefix": None,
                "retry_total": 3,
            }
            if credential == "client_secret":
                env["client_id"] = _guid("app", n - 1)
                env["client_secret_env"] = SECRET_VAR.format(n)
            else:  # no secret anywhere: the platform proves the identity
                short = "mi" if credential == "managed_identity" else "wi"
                env["credential"] = credential
                env["managed_identity_client_id"] = _guid(short, n)
                kwargs["managed_identity_client_id"] = _guid(short, n)
                kwargs["workload_identity_tenant_id"] = TENANT_ID
                if credential == "workload_identity":
                    env["workload_identity_tenant_id"] = TENANT_ID
            env["backend_kwargs"] = json.dumps(kwargs)
            if kind == "wrong-secret":
                env["client_secret_env"] = WRONG_SECRET_VAR
            elif kind == "expired-secret":
                env["client_id"] = _guid("app", "expired")
                env["client_secret_env"] = EXPIRED_SECRET_VAR
            elif kind == "unknown-tenant":
                env["tenant_id"] = _guid("tenant", "nobody")
            elif kind == "invalid-backend-kwargs":
                env["backend_kwargs"] = env["backend_kwargs"][:-1] + ",}"
            environments.append(env)
        return {
            "version": 1,
            "defaults": {
                "tenant_id": TENANT_ID,
                "credential": "client_secret",
                "variables": ["sample-variable"],
                "connections": ["sample-connection"],
                "target": "helm",
                "timeout": 30,
            },
            "environments": environments,
        }

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> Fleet:

        data = self.scenario_data()
        problems = validate(data)
        if problems:  # a bug in this module, not a user error
            raise ValueError("fleet scenario: " + "; ".join(problems))
        scenario = Scenario(data["name"], data, "<fleet>")
        state_dir = self.directory / "sandbox"
        self.sandbox = Sandbox(scenario=scenario, state_dir=state_dir, ephemeral=True).start()
        control = self.sandbox.client
        for i, (_, kind) in enumerate(self.plan):
            if kind == "disabled-secret":
                control.disable_secret(VARIABLE_SECRET, vault=_vault_name(i))
            elif kind == "throttled":
                control.add_fault("throttle", target=f"vault:{_vault_name(i)}", retry_after=1)
        self.inventory_path.write_text(
            "# Generated by helpers.batch.fleet: a sandbox fleet with deliberate breakages.\n"
            + yaml.safe_dump(self.inventory_data(), sort_keys=False),
            encoding="utf-8",
        )
        self._env_scope = scoped_environ(self.environment())
        self._env_scope.__enter__()
        return self

    def environment(self) -> dict[str, str]:
        """Proxy, CA bundle, the sandbox's own variables and each identity's secret."""
        sb = self.sandbox
        env = sb.environment()
        directory = sb.state.directory
        for n in range(self.identities):
            app = directory.app_by_name(f"fleet-app-{n + 1:02d}")
            env[SECRET_VAR.format(n + 1)] = app.secrets[0].value
        env[EXPIRED_SECRET_VAR] = directory.app_by_name("fleet-app-expired").secrets[0].value
        env[WRONG_SECRET_VAR] = "wrong~" + secrets.token_urlsafe(24)
        self._wrong = env[WRONG_SECRET_VAR]
        env.update(self._platform_variables())
        env.update(self.sandbox_variables())
        return env

    def _platform_variables(self) -> dict[str, str]:
        """What the host (managed identity endpoint) and the pod (projected token file) set,
        as `sandbox env --credential` gives them; the identity itself comes from each
        environment's managed_identity_client_id."""
        env: dict[str, str] = {}
        platform = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_FEDERATED_TOKEN_FILE")
        for kind, prefix in (("managed-identity", "fleet-mi"), ("workload-identity", "fleet-wi")):
            used = self._used(kind.replace("-", "_"))
            if used:
                given = self.sandbox.client.env(f"{prefix}-{used[0]:02d}", kind)
                env.update({k: v for k, v in given.items() if k in platform})
        return env

    def secret_values(self) -> list[str]:
        """Every value a leak scan must not find: the sandbox's and the wrong secret."""
        return [*self.sandbox.secret_values(), self._wrong]

    def stop(self) -> None:
        if self._env_scope is not None:
            self._env_scope.__exit__(None, None, None)
            self._env_scope = None
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> Fleet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def sandbox_variables(self) -> dict[str, str]:
        """AKV_SANDBOX_PORT / _STATE_DIR: notebooks' runbook.connect() reuses this sandbox."""

        return {
            SANDBOX_PORT_VAR: str(self.sandbox.port),
            SANDBOX_STATE_VAR: str(self.directory / "sandbox"),
        }


def run_fleet_demo(
    size: int = 100,
    out_root: Path = Path("reports"),
    *,
    notebooks: bool = False,
    echo: Callable[[str], None],
    progress: Progress | None = None,
) -> int:
    """``akv-runbook demo --fleet N``: check a sandbox fleet and verify the outcome.

    The fleet has ten environments broken on purpose, so the check itself exits 1; the demo
    exits 0 when every broken environment got the finding its breakage must produce, no
    healthy one got an error, and a leak scan of the report finds no secret.
    """

    report_dir = Path(out_root) / datetime.now(UTC).strftime("fleet-%Y%m%d-%H%M%S")
    with Fleet(size=size) as fleet:
        path = "audit path: the check notebook per environment" if notebooks else "fast path"
        echo(f"Sandbox fleet of {size} environments on 127.0.0.1:{fleet.sandbox.port}; {path}")
        shares = {kind: fleet.credentials.count(kind) for kind in CREDENTIALS}
        echo(
            "Signing in with: "
            + ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in shares.items() if n)
        )
        inventory = load_inventory(fleet.inventory_path)
        if notebooks:
            batch = check_inventory_notebooks(inventory, report_dir, progress=progress)
        else:
            batch = check_inventory(inventory, progress=progress)
        batch.write(report_dir)
        (report_dir / "inventory.yaml").write_bytes(fleet.inventory_path.read_bytes())
        leaks = scan_for_secrets([report_dir], fleet.secret_values())
        expected = fleet.expected
    echo(batch.table())
    wrong = [
        f"{r.name}: expected {expected[r.name] or 'no error'}, got {r.error_codes or 'none'}"
        for r in batch.results
        if (expected[r.name] not in r.error_codes if expected[r.name] else r.error_codes)
    ]
    echo("")
    for line in wrong:
        echo(f"UNEXPECTED {line}")
    broken = sum(1 for code in expected.values() if code)
    if not wrong:
        echo(
            f"As planned: each of the {broken} broken environments got its finding; "
            f"the {size - broken} healthy ones none."
        )
    echo(f"Leak scan of {report_dir}: {len(leaks)} secret occurrences.")
    echo(f"Report: {report_dir}/report.html (also report.json, junit.xml, inventory.yaml)")
    return 0 if not wrong and not leaks else 1
