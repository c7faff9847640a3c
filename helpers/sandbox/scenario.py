"""Scenario files: the tenants, apps, vaults and grants a sandbox starts with.

A scenario is YAML. ``load_scenario`` validates it completely and raises one
``ScenarioError`` listing every problem with its path (``vaults[0].permission_model: ...``),
so a trainer fixing a file sees all mistakes at once. ``build_state`` turns a validated
scenario into the plain dicts the service models load.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import secrets
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from helpers.common.textio import InputError, load_yaml, read_text

from .arm.models import find_role
from .keyvault.models import MAX_VALUE_BYTES

__all__ = [
    "KEYS",
    "GENERATE",
    "GRAPH_PERMISSIONS",
    "GUID",
    "PERMISSIONS",
    "SECRET_NAME",
    "Scenario",
    "ScenarioError",
    "VAULT_NAME",
    "AKS_ISSUER",
    "MI_TYPES",
    "build_state",
    "default_scenario_path",
    "generate_client_secret",
    "load_scenario",
    "validate",
    "validate_identities",
]

GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
VAULT_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]\Z")
SECRET_NAME = re.compile(r"[0-9a-zA-Z-]{1,127}\Z")
PERMISSIONS = {"get", "list", "set", "delete", "backup", "restore", "recover", "purge", "all"}
GENERATE = "generate"
# Microsoft Graph application permissions an app may hold (the directory reads the sandbox's
# Graph serves; see graph/models.py).
GRAPH_PERMISSIONS = frozenset(
    {"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All"}
    | {"Directory.ReadWrite.All", "User.Read.All"}
)
MAX_SCENARIO_BYTES = 1024 * 1024


class ScenarioError(ValueError):
    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid sandbox scenario {source}:\n{listing}")


@dataclass(frozen=True)
class Scenario:
    name: str
    data: dict[str, Any]
    source: str

    @property
    def default_principal(self) -> str:
        return self.data.get("default_principal") or self.data["apps"][0]["name"]

    @property
    def default_vault(self) -> str:
        return self.data.get("default_vault") or self.data["vaults"][0]["name"]


def default_scenario_path() -> Path:
    return Path(str(resources.files("helpers.sandbox") / "scenarios" / "default.yaml"))


def load_scenario(path: str | Path | None = None) -> Scenario:
    source = Path(path) if path else default_scenario_path()
    try:
        text = read_text(source, limit=MAX_SCENARIO_BYTES)
    except InputError as err:
        raise ScenarioError(str(source), [f"cannot read the file: {err}"]) from None
    try:
        data = load_yaml(text)
    except InputError as err:
        raise ScenarioError(str(source), [f"not valid YAML{err.where}: {err.reason}"]) from None
    problems = validate(data)
    if problems:
        raise ScenarioError(str(source), problems)
    return Scenario(name=data.get("name", source.stem), data=data, source=str(source))


def _expect_list(data: dict, key: str, problems: list[str], *, required: bool = True) -> list:
    value = data.get(key)
    if value is None:
        if required:
            problems.append(f"{key}: required, a list")
        return []
    if not isinstance(value, list):
        problems.append(f"{key}: must be a list")
        return []
    if required and not value:
        problems.append(f"{key}: at least one entry is required")
    return value


# Every key a scenario may use, per level: a typo such as `firewal: closed` is a problem, not
# a silently ignored line (the sandbox would then run with the firewall open).
KEYS: dict[str, frozenset[str]] = {
    "": frozenset(
        {"name", "description", "tenants", "subscriptions", "apps", "vaults"}
        | {"role_assignments", "default_principal", "default_vault"}
        | {"managed_identities", "aks_clusters", "propagation_delay"}
    ),
    "tenants": frozenset({"id", "domain", "name"}),
    "subscriptions": frozenset({"id", "tenant", "name", "resource_groups"}),
    "subscriptions.resource_groups": frozenset({"name", "location"}),
    "apps": frozenset({"name", "tenant", "client_id", "object_id", "secrets"})
    | {"federated_credentials", "graph_permissions"},
    "apps.secrets": frozenset({"value", "expires"}),
    "apps.federated_credentials": frozenset({"name", "issuer", "subject", "audiences"}),
    "managed_identities": frozenset({"name", "type", "tenant", "client_id", "object_id"})
    | {"federated_credentials"},
    "managed_identities.federated_credentials": frozenset(
        {"name", "issuer", "subject", "audiences"}
    ),
    "aks_clusters": frozenset({"name", "tenant", "location", "oidc_id"}),
    "vaults": frozenset(
        {"name", "subscription", "resource_group", "location", "permission_model", "firewall"}
        | {"ip_rules", "legacy_access_denied", "purge_protection", "soft_delete_retention_days"}
        | {"secrets", "access_policies"}
    ),
    "vaults.secrets.*": frozenset({"value", "content_type", "tags", "enabled"}),
    "vaults.access_policies": frozenset({"principal", "secrets"}),
    "role_assignments": frozenset({"principal", "role", "scope"}),
}


def _unknown_keys(data: dict[str, Any]) -> list[str]:
    """Keys no level of a scenario knows, with the closest known key as a hint."""
    problems = []

    def check(obj: Any, level: str, where: str) -> None:
        if not isinstance(obj, dict):
            return
        for key in obj:
            if str(key) not in KEYS[level]:
                close = difflib.get_close_matches(str(key), KEYS[level], n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(f"{where}{'.' if where else ''}{key}: unknown key{hint}")

    check(data, "", "")
    nested = {
        "subscriptions": ("resource_groups",),
        "apps": ("secrets", "federated_credentials"),
        "managed_identities": ("federated_credentials",),
        "vaults": ("access_policies",),
    }
    levels = ("tenants", "subscriptions", "apps", "managed_identities", "aks_clusters")
    for level in (*levels, "vaults", "role_assignments"):
        for i, item in enumerate(
            data.get(level) or [] if isinstance(data.get(level), list) else []
        ):
            check(item, level, f"{level}[{i}]")
            if not isinstance(item, dict):
                continue
            for key in nested.get(level, ()):
                inner = item.get(key)
                for j, sub in enumerate(inner if isinstance(inner, list) else []):
                    check(sub, f"{level}.{key}", f"{level}[{i}].{key}[{j}]")
            if level == "vaults" and isinstance(item.get("secrets"), dict):
                for name, spec in item["secrets"].items():
                    check(spec, "vaults.secrets.*", f"vaults[{i}].secrets.{name}")
    return problems


def validate(data: Any) -> list[str]:  # noqa: C901 - one flat pass keeps every message in view
    if not isinstance(data, dict):
        return ["the document must be a mapping (tenants, subscriptions, apps, vaults, ...)"]
    problems: list[str] = _unknown_keys(data)
    tenants = _expect_list(data, "tenants", problems)
    tenant_keys: set[str] = set()
    for i, t in enumerate(tenants):
        where = f"tenants[{i}]"
        if not isinstance(t, dict):
            problems.append(f"{where}: must be a mapping (id, domain)")
            continue
        if not GUID.match(str(t.get("id", ""))):
            problems.append(f"{where}.id: must be a GUID")
        if not t.get("domain"):
            problems.append(f"{where}.domain: required (e.g. contoso.onmicrosoft.com)")
        # Known even when malformed, so one bad id is one problem, not one per reference.
        tenant_keys |= {str(t.get("id", "")).lower(), str(t.get("domain", "")).lower()} - {""}

    def tenant_ok(value: Any, where: str) -> None:
        if str(value).lower() not in tenant_keys:
            problems.append(f"{where}: unknown tenant {value!r} (use a tenants[].id or .domain)")

    subs = _expect_list(data, "subscriptions", problems)
    groups_of: dict[str, set[str]] = {}  # subscription id -> its resource group names
    first_sub: str | None = None
    for i, s in enumerate(subs):
        where = f"subscriptions[{i}]"
        if not isinstance(s, dict):
            problems.append(f"{where}: must be a mapping (id, tenant, resource_groups)")
            continue
        sub_id = str(s.get("id", "")).lower()
        if not GUID.match(sub_id):
            problems.append(f"{where}.id: must be a GUID")
        elif sub_id in groups_of:
            problems.append(f"{where}.id: duplicate subscription {s['id']!r}")
        first_sub = sub_id if first_sub is None else first_sub
        groups = groups_of.setdefault(sub_id, set())
        tenant_ok(s.get("tenant"), f"{where}.tenant")
        raw_groups = s.get("resource_groups") or []
        if not isinstance(raw_groups, list):
            problems.append(f"{where}.resource_groups: must be a list")
            raw_groups = []
        for j, g in enumerate(raw_groups):
            if not isinstance(g, dict) or not g.get("name"):
                problems.append(f"{where}.resource_groups[{j}].name: required")
            else:
                groups.add(str(g["name"]).lower())
    all_groups = set().union(*groups_of.values()) if groups_of else set()

    apps = _expect_list(data, "apps", problems)
    principals: set[str] = set()
    client_ids: dict[str, str] = {}  # client id -> app name, to explain a classic mistake
    seen: dict[str, set[str]] = {"name": set(), "client_id": set(), "object_id": set()}
    for i, a in enumerate(apps):
        where = f"apps[{i}]"
        if not isinstance(a, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        if not a.get("name"):
            problems.append(f"{where}.name: required")
        for key in ("client_id", "object_id"):
            if not GUID.match(str(a.get(key, ""))):
                problems.append(f"{where}.{key}: must be a GUID")
        for key, known in seen.items():
            value = str(a.get(key, "")).lower()
            if value and value in known:
                problems.append(f"{where}.{key}: duplicate {a[key]!r} (already used by an app)")
            known.add(value)
        if a.get("client_id") and a.get("client_id") == a.get("object_id"):
            problems.append(f"{where}: client_id and object_id must differ (as in Entra ID)")
        tenant_ok(a.get("tenant"), f"{where}.tenant")
        app_secrets = a.get("secrets") or [{}]
        if not isinstance(app_secrets, list):
            problems.append(f"{where}.secrets: a list of mappings (value, expires)")
            app_secrets = []
        for j, sec in enumerate(app_secrets):
            if not isinstance(sec, dict):
                problems.append(f"{where}.secrets[{j}]: must be a mapping (value, expires)")
                continue
            if "expires" in sec and sec["expires"] is not None:
                try:
                    _timestamp(sec["expires"])
                except ValueError:
                    problems.append(f"{where}.secrets[{j}].expires: a date, datetime or null")
        graph = a.get("graph_permissions", [])
        if not isinstance(graph, list) or not set(map(str, graph)) <= GRAPH_PERMISSIONS:
            problems.append(
                f"{where}.graph_permissions: a list of {', '.join(sorted(GRAPH_PERMISSIONS))}"
            )
        principals |= {str(a.get("name", "")).lower(), str(a.get("object_id", "")).lower()}
        client_ids[str(a.get("client_id", "")).lower()] = str(a.get("name", ""))
    problems += validate_identities(data, seen, tenant_keys, principals, client_ids)

    def principal_ok(value: Any, where: str) -> bool:
        ref = str(value or "").lower()
        if ref in principals:
            return True
        hint = ""
        if ref in client_ids:
            hint = (
                f" ({value!r} is the client_id of {client_ids[ref]!r}; grants name the "
                "service principal's object_id, or use the app name)"
            )
        problems.append(f"{where}: must name an app (name or object_id){hint}")
        return False

    vault_names: set[str] = set()
    for i, v in enumerate(_expect_list(data, "vaults", problems)):
        where = f"vaults[{i}]"
        if not isinstance(v, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        name = str(v.get("name", ""))
        if not VAULT_NAME.match(name) or "--" in name:
            problems.append(
                f"{where}.name: {name!r} is not a valid vault name (3-24 letters, digits and "
                "hyphens, starting with a letter)"
            )
        if name.lower() in vault_names:
            problems.append(f"{where}.name: duplicate vault {name!r}")
        vault_names.add(name.lower())
        if v.get("permission_model", "rbac") not in ("rbac", "access_policy"):
            problems.append(f"{where}.permission_model: must be rbac or access_policy")
        if v.get("firewall", "open") not in ("open", "closed"):
            problems.append(f"{where}.firewall: must be open or closed")
        sub_ref = str(v.get("subscription") or first_sub or "").lower()
        if v.get("subscription") and sub_ref not in groups_of:
            problems.append(f"{where}.subscription: unknown {v['subscription']!r}")
        elif v.get("resource_group"):
            if str(v["resource_group"]).lower() not in groups_of.get(sub_ref, set()):
                problems.append(
                    f"{where}.resource_group: unknown {v['resource_group']!r} (not a "
                    "resource group of the vault's subscription)"
                )
        elif sub_ref in groups_of and not groups_of[sub_ref]:
            problems.append(
                f"{where}.resource_group: required (its subscription has no resource groups)"
            )
        days = v.get("soft_delete_retention_days", 90)
        if isinstance(days, bool) or not isinstance(days, int) or not 7 <= days <= 90:
            problems.append(f"{where}.soft_delete_retention_days: an integer from 7 to 90")
        secrets_ = v.get("secrets") or {}
        if not isinstance(secrets_, dict):
            problems.append(f"{where}.secrets: a mapping of secret name to value")
            secrets_ = {}
        for sname, value in secrets_.items():
            if not SECRET_NAME.match(str(sname)):
                problems.append(
                    f"{where}.secrets.{sname}: invalid secret name (1-127 of 0-9 a-z A-Z -)"
                )
            if not isinstance(value, str | dict):
                problems.append(f"{where}.secrets.{sname}: a string, or a mapping with value")
            text = value.get("value", "") if isinstance(value, dict) else value
            if len(str(text).encode("utf-8")) > MAX_VALUE_BYTES:
                problems.append(
                    f"{where}.secrets.{sname}: the value is over Key Vault's limit of "
                    f"{MAX_VALUE_BYTES} bytes"
                )
        for j, p in enumerate(v.get("access_policies") or []):
            pw = f"{where}.access_policies[{j}]"
            if not isinstance(p, dict):
                problems.append(f"{pw}: must be a mapping (principal, secrets)")
                continue
            if not principal_ok(p.get("principal"), f"{pw}.principal"):
                continue
            bad = set(map(str.lower, map(str, p.get("secrets") or []))) - PERMISSIONS
            if bad:
                problems.append(f"{pw}.secrets: unknown permissions {sorted(bad)}")

    for i, r in enumerate(_expect_list(data, "role_assignments", problems, required=False)):
        where = f"role_assignments[{i}]"
        if not isinstance(r, dict):
            problems.append(f"{where}: must be a mapping (principal, role, scope)")
            continue
        principal_ok(r.get("principal"), f"{where}.principal")
        if find_role(str(r.get("role", ""))) is None:
            problems.append(f"{where}.role: unknown built-in role {r.get('role')!r}")
        scope = str(r.get("scope", "subscription"))
        kind, _, ref = scope.partition(":")
        if kind == "vault" and ref.lower() not in vault_names:
            problems.append(f"{where}.scope: unknown vault {ref!r}")
        elif kind == "resource_group" and ref.lower() not in all_groups:
            problems.append(f"{where}.scope: unknown resource group {ref!r}")
        elif scope.startswith("/subscriptions/"):
            if scope.split("/")[2].lower() not in groups_of:
                problems.append(f"{where}.scope: unknown subscription in {scope!r}")
        elif kind not in ("vault", "resource_group", "subscription"):
            problems.append(
                f"{where}.scope: 'subscription', 'resource_group:NAME', 'vault:NAME' or an ARM id"
            )
    for key, known in (("default_principal", principals), ("default_vault", vault_names)):
        if data.get(key) and str(data[key]).lower() not in known:
            problems.append(f"{key}: unknown {data[key]!r}")
    delay = data.get("propagation_delay", 0)
    if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= 3600:
        problems.append("propagation_delay: seconds a new role assignment takes, 0-3600")
    return problems


AKS_ISSUER = "https://{location}.oic.prod-aks.azure.com/{tenant}/{oidc_id}/"
MI_TYPES = ("user_assigned", "system_assigned")


def _federated_problems(item: dict, where: str, clusters: set[str]) -> list[str]:
    problems = []
    fics = item.get("federated_credentials") or []
    if not isinstance(fics, list):
        return [f"{where}.federated_credentials: a list of mappings (issuer, subject, audiences)"]
    for j, f in enumerate(fics):
        fw = f"{where}.federated_credentials[{j}]"
        if not isinstance(f, dict):
            problems.append(f"{fw}: must be a mapping (issuer, subject, audiences)")
            continue
        issuer = str(f.get("issuer", ""))
        kind, _, ref = issuer.partition(":")
        if kind == "aks" and ref.lower() not in clusters:
            problems.append(f"{fw}.issuer: unknown AKS cluster {ref!r} (aks_clusters[].name)")
        elif kind != "aks" and not issuer.startswith("https://"):
            problems.append(f"{fw}.issuer: 'aks:CLUSTER' or an https:// issuer URL")
        if not isinstance(f.get("subject"), str) or not f["subject"]:
            problems.append(f"{fw}.subject: required (e.g. system:serviceaccount:NS:SA)")
        auds = f.get("audiences", ["api://AzureADTokenExchange"])
        if not isinstance(auds, list) or not auds or not all(isinstance(a, str) for a in auds):
            problems.append(f"{fw}.audiences: a non-empty list of strings")
    return problems


def validate_identities(
    data: dict, seen: dict[str, set[str]], tenant_keys: set[str], principals: set[str], client_ids
) -> list[str]:
    """Problems of aks_clusters, managed_identities and every federated credential; adds the
    managed identities to ``principals`` (they hold roles like service principals)."""
    problems: list[str] = []
    clusters: set[str] = set()
    for i, c in enumerate(_expect_list(data, "aks_clusters", problems, required=False)):
        where = f"aks_clusters[{i}]"
        if not isinstance(c, dict) or not c.get("name"):
            problems.append(f"{where}.name: required")
            continue
        clusters.add(str(c["name"]).lower())
        if str(c.get("tenant", "")).lower() not in tenant_keys:
            problems.append(f"{where}.tenant: unknown tenant {c.get('tenant')!r}")
        if not GUID.match(str(c.get("oidc_id", ""))):
            problems.append(f"{where}.oidc_id: must be a GUID (the issuer URL's last segment)")
        if not re.fullmatch(r"[a-z0-9]{2,30}", str(c.get("location", "westeurope"))):
            problems.append(f"{where}.location: an Azure region name such as westeurope")
    for i, a in enumerate(data.get("apps") or [] if isinstance(data.get("apps"), list) else []):
        if isinstance(a, dict):
            problems += _federated_problems(a, f"apps[{i}]", clusters)
    system = 0
    for i, m in enumerate(_expect_list(data, "managed_identities", problems, required=False)):
        where = f"managed_identities[{i}]"
        if not isinstance(m, dict) or not m.get("name"):
            problems.append(f"{where}.name: required")
            continue
        if m.get("type", "user_assigned") not in MI_TYPES:
            problems.append(f"{where}.type: user_assigned or system_assigned")
        system += m.get("type") == "system_assigned"
        for key in ("client_id", "object_id"):
            if not GUID.match(str(m.get(key, ""))):
                problems.append(f"{where}.{key}: must be a GUID")
        for key, known in seen.items():
            value = str(m.get(key, "")).lower()
            if value and value in known:
                problems.append(f"{where}.{key}: duplicate {m[key]!r} (already used)")
            known.add(value)
        if str(m.get("tenant", "")).lower() not in tenant_keys:
            problems.append(f"{where}.tenant: unknown tenant {m.get('tenant')!r}")
        problems += _federated_problems(m, where, clusters)
        principals |= {str(m["name"]).lower(), str(m.get("object_id", "")).lower()}
        client_ids[str(m.get("client_id", "")).lower()] = str(m["name"])
    if system > 1:
        problems.append("managed_identities: at most one system_assigned identity (one host)")
    return problems


def _identity_state(data: dict, tenants: dict[str, str]) -> tuple[list[dict], list[dict]]:
    """The managed identities (as directory principals) and the AKS clusters."""
    clusters = []
    for c in data.get("aks_clusters") or []:
        tenant = tenants[str(c["tenant"]).lower()]
        location = c.get("location", "westeurope")
        oidc_id = str(c["oidc_id"]).lower()
        clusters.append(
            {
                "name": c["name"],
                "tenant_id": tenant,
                "location": location,
                "oidc_id": oidc_id,
                "issuer": AKS_ISSUER.format(location=location, tenant=tenant, oidc_id=oidc_id),
            }
        )
    issuers = {c["name"].lower(): c["issuer"] for c in clusters}
    identities = [
        {
            "name": m["name"],
            "tenant_id": tenants[str(m["tenant"]).lower()],
            "client_id": str(m["client_id"]).lower(),
            "object_id": str(m["object_id"]).lower(),
            "secrets": [],
            "kind": m.get("type", "user_assigned"),
            "federated_credentials": _fics(m, issuers),
        }
        for m in data.get("managed_identities") or []
    ]
    return identities, clusters


def _fics(item: dict, issuers: dict[str, str]) -> list[dict]:
    out = []
    for j, f in enumerate(item.get("federated_credentials") or []):
        issuer = str(f["issuer"])
        if issuer.startswith("aks:"):
            issuer = issuers[issuer[4:].lower()]
        out.append(
            {
                "name": str(f.get("name") or f"fic-{j}"),
                "issuer": issuer,
                "subject": str(f["subject"]),
                "audiences": [str(a) for a in f.get("audiences", ["api://AzureADTokenExchange"])],
            }
        )
    return out


def _timestamp(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).timestamp()
    parsed = dt.datetime.fromisoformat(str(value))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp()


def generate_client_secret() -> str:
    """A value shaped like Entra's: 3 chars, '8Q~', then 34 more."""
    alphabet = string.ascii_letters + string.digits + "~._-"
    head = "".join(secrets.choice(string.ascii_letters) for _ in range(3))
    return head + "8Q~" + "".join(secrets.choice(alphabet) for _ in range(34))


def build_state(scenario: Scenario, generated: dict[str, str]) -> dict[str, Any]:
    """Plain state dicts for the models. ``generated`` keeps minted client secrets stable."""
    data = scenario.data
    tenants = {}
    for t in data["tenants"]:
        tenants[str(t["id"]).lower()] = t["id"]
        tenants[str(t["domain"]).lower()] = t["id"]
    apps, by_principal = [], {}
    for a in data["apps"]:
        secrets_ = []
        for j, sec in enumerate([{}] if a.get("secrets") is None else a["secrets"]):
            value = sec.get("value", GENERATE)
            if value == GENERATE:
                value = generated.setdefault(f"{a['name']}#{j}", generate_client_secret())
            expires = sec.get("expires")
            secrets_.append(
                {"value": str(value), "expires": None if expires is None else _timestamp(expires)}
            )
        app = {
            "name": a["name"],
            "tenant_id": tenants[str(a["tenant"]).lower()],
            "client_id": str(a["client_id"]).lower(),
            "object_id": str(a["object_id"]).lower(),
            "secrets": secrets_,
            "graph_permissions": [str(p) for p in a.get("graph_permissions") or []],
        }
        apps.append(app)
    identities, clusters = _identity_state(data, tenants)
    issuers = {c["name"].lower(): c["issuer"] for c in clusters}
    for raw, app in zip(data["apps"], apps, strict=True):
        if raw.get("federated_credentials"):
            app["federated_credentials"] = _fics(raw, issuers)
    apps += identities
    for app in apps:
        by_principal[app["name"].lower()] = app
        by_principal[app["object_id"]] = app
    subs = []
    for s in data["subscriptions"]:
        subs.append(
            {
                "id": str(s["id"]).lower(),
                "tenant_id": tenants[str(s["tenant"]).lower()],
                "display_name": s.get("name", "Sandbox subscription"),
                "resource_groups": {
                    str(g["name"]).lower(): {
                        "name": g["name"],
                        "location": g.get("location", "westeurope"),
                    }
                    for g in s.get("resource_groups") or []
                },
            }
        )
    first_sub = subs[0]
    vaults, vault_ids = [], {}
    for v in data["vaults"]:
        sub = next(
            (s for s in subs if s["id"] == str(v.get("subscription", first_sub["id"])).lower()),
            first_sub,
        )
        rg_key = str(v.get("resource_group") or next(iter(sub["resource_groups"]))).lower()
        rg = sub["resource_groups"][rg_key]
        secrets_ = {}
        now = int(dt.datetime.now(dt.UTC).timestamp())
        for raw_name, spec in (v.get("secrets") or {}).items():
            sname = str(raw_name)
            spec = spec if isinstance(spec, dict) else {"value": spec}
            version = secrets.token_hex(16)
            secrets_[sname.lower()] = {
                "name": sname,
                "versions": {
                    version: {
                        "version": version,
                        "value": str(spec.get("value", "")),
                        "content_type": spec.get("content_type"),
                        "tags": spec.get("tags"),
                        "enabled": bool(spec.get("enabled", True)),
                        "created": now,
                        "updated": now,
                    }
                },
            }
        vault = {
            "name": v["name"],
            "tenant_id": sub["tenant_id"],
            "subscription_id": sub["id"],
            "resource_group": rg["name"],
            "location": v.get("location", rg["location"]),
            "rbac": v.get("permission_model", "rbac") == "rbac",
            "firewall_default_action": "Deny" if v.get("firewall") == "closed" else "Allow",
            "ip_rules": list(v.get("ip_rules") or []),
            "soft_delete_retention_days": v.get("soft_delete_retention_days", 90),
            "purge_protection": bool(v.get("purge_protection", False)),
            "legacy_access_denied": bool(v.get("legacy_access_denied", False)),
            "access_policies": [
                {
                    "tenant_id": sub["tenant_id"],
                    "object_id": by_principal[str(p["principal"]).lower()]["object_id"],
                    "secrets": [s.lower() for s in p.get("secrets") or []],
                }
                for p in v.get("access_policies") or []
            ],
            "secrets": secrets_,
            "deleted": {},
        }
        vaults.append(vault)
        vault_ids[v["name"].lower()] = (
            f"/subscriptions/{sub['id']}/resourceGroups/{rg['name']}"
            f"/providers/Microsoft.KeyVault/vaults/{v['name']}"
        )

    assignments = []
    for j, r in enumerate(data.get("role_assignments") or []):
        kind, _, ref = str(r.get("scope", "subscription")).partition(":")
        if kind == "vault":
            scope = vault_ids[ref.lower()]
        elif kind == "resource_group":
            owner = next(s for s in subs if ref.lower() in s["resource_groups"])
            rg_name = owner["resource_groups"][ref.lower()]["name"]
            scope = f"/subscriptions/{owner['id']}/resourceGroups/{rg_name}"
        elif kind == "subscription":
            scope = f"/subscriptions/{first_sub['id']}"
        else:
            scope = str(r["scope"])
        role = find_role(str(r["role"]))
        assert role is not None  # validated
        assignments.append(
            {
                "name": f"00000000-0000-4000-8000-{j:012d}",
                "scope": scope,
                "role_id": role.id,
                "principal_id": by_principal[str(r["principal"]).lower()]["object_id"],
                "principal_type": "ServicePrincipal",
                "created": 0.0,
                "effective_at": 0.0,
                "created_by": "scenario",
            }
        )
    return {
        "directory": {
            "tenants": [{"id": t["id"], "domain": t["domain"]} for t in data["tenants"]],
            "apps": apps,
        },
        "arm": {
            "subscriptions": subs,
            "authorization": {
                "assignments": assignments,
                "propagation_delay": float(data.get("propagation_delay", 0)),
            },
        },
        "keyvault": {"vaults": vaults},
        "identity": {"clusters": clusters},
    }
