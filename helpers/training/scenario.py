"""The class's sandbox scenario: one slice per trainee, all in one sandbox.

A trainee ``trainee-07`` gets, in resource group ``rg-trainee-07``:

* ``trainee-07`` — the service principal their Airflow backend signs in as (``class env``);
* ``trainee-07-operator`` — their operator: Owner and Key Vault Administrator on their own
  resource group only (grants, secrets, access policies of their own vaults);
* ``t07-kv`` — their home vault (``AZURE_KEYVAULT_URL``), readable by their backend only;
* ``t07-<exercise>`` — one vault per exercise, built from the exercise's ``vault:`` section;
* ``trainee-07-<exercise>`` — an exercise's own app when it asks for one (``app:``).

The facilitator's app holds Owner and Key Vault Administrator on the subscription; the
class's actions and checks run as it (or as the trainee's identities) over the real wire.
Isolation is the sandbox's real authorization: nobody holds a role outside their slice.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from .exercises import Exercise

__all__ = [
    "CLUSTER",
    "FACILITATOR",
    "SAMPLE_VALUE",
    "SUBSCRIPTION_ID",
    "TENANT",
    "TENANT_ID",
    "app_name",
    "class_scenario",
    "guid",
    "home_vault",
    "new_secret",
    "resource_group",
    "trainee_ids",
    "vault_name",
]

TENANT_ID = "5f0c6e2a-3b1d-4c8e-9a7f-0d2b4e6f8a10"
TENANT = "sandbox.onmicrosoft.com"
SUBSCRIPTION_ID = "7d3a9c1e-5b2f-4e6d-8c0a-1f3e5d7b9c21"
FACILITATOR = "facilitator"
CLUSTER = "class-aks"  # the AKS cluster whose OIDC issuer workload-identity exercises trust
SAMPLE_VALUE = "the value of sample-variable for {trainee}"
MAX_TRAINEES = 99  # the vault names hold two digits


def guid(*parts: object) -> str:
    """A stable GUID per name: the class's principals are the same on every restart."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "akv-class/" + "/".join(map(str, parts))))


def trainee_ids(count: int) -> list[str]:
    if not 1 <= count <= MAX_TRAINEES:
        raise ValueError(f"a class has 1-{MAX_TRAINEES} trainees, not {count}")
    return [f"trainee-{n:02d}" for n in range(1, count + 1)]


def _number(trainee: str) -> str:
    return trainee.rsplit("-", 1)[-1]


def home_vault(trainee: str) -> str:
    return f"t{_number(trainee)}-kv"


def vault_name(trainee: str, exercise: str) -> str:
    return f"t{_number(trainee)}-{exercise}"


def resource_group(trainee: str) -> str:
    return f"rg-{trainee}"


def app_name(trainee: str, who: str, exercise: str | None = None) -> str:
    """The app of ``who`` (backend, operator, identity: the user-assigned managed identity,
    app: an exercise's own) in a trainee's slice."""
    if who == "backend":
        return trainee
    if who == "operator":
        return f"{trainee}-operator"
    if who == "identity":
        return f"{trainee}-identity"
    return f"{trainee}-{exercise}"


def _app(name: str, values: list[tuple[str, str]], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "tenant": TENANT,
        "client_id": guid("app", name),
        "object_id": guid("sp", name),
        "secrets": [{"value": value, "expires": expires} for value, expires in values],
        **extra,
    }


def new_secret() -> str:
    return "cls~" + secrets.token_urlsafe(30)


def class_scenario(
    trainees: list[str], exercises: list[Exercise], client_secrets: dict[str, str]
) -> dict[str, Any]:
    """The scenario document. ``client_secrets`` (app name -> value, and ``<app>#expired``)
    is filled for apps it lacks, so that a restart keeps every identity's secret."""

    def secret(key: str) -> str:
        return client_secrets.setdefault(key, new_secret())

    current = "2099-12-31"
    apps = [
        _app(
            FACILITATOR, [(secret(FACILITATOR), current)], graph_permissions=["Directory.Read.All"]
        )
    ]
    groups = [{"name": "rg-class", "location": "westeurope"}]
    vaults: list[dict[str, Any]] = []
    identities: list[dict[str, Any]] = []
    roles: list[dict[str, Any]] = [
        {"principal": FACILITATOR, "role": "Owner", "scope": "subscription"},
        {"principal": FACILITATOR, "role": "Key Vault Administrator", "scope": "subscription"},
    ]
    for trainee in trainees:
        backend, operator = app_name(trainee, "backend"), app_name(trainee, "operator")
        apps.append(_app(backend, [(secret(backend), current)]))
        apps.append(_app(operator, [(secret(operator), current)]))
        identity = app_name(trainee, "identity")
        identities.append(
            {
                "name": identity,
                "type": "user_assigned",
                "tenant": TENANT,
                "client_id": guid("app", identity),
                "object_id": guid("sp", identity),
            }
        )
        group = resource_group(trainee)
        groups.append({"name": group, "location": "westeurope"})
        for role in ("Owner", "Key Vault Administrator"):
            roles.append({"principal": operator, "role": role, "scope": f"resource_group:{group}"})
        home = home_vault(trainee)
        home_secrets = {"airflow-variables-sample-variable": SAMPLE_VALUE.format(trainee=trainee)}
        vaults.append(
            {
                "name": home,
                "resource_group": group,
                "permission_model": "rbac",
                "firewall": "open",
                "secrets": home_secrets,
            }
        )
        for reader in (backend, identity):
            roles.append(
                {"principal": reader, "role": "Key Vault Secrets User", "scope": f"vault:{home}"}
            )
        for exercise in exercises:
            names = {"backend": backend, "operator": operator}
            if exercise.app is not None:
                own = app_name(trainee, "app", exercise.id)
                names["app"] = own
                values = [(secret(own), current)]
                if exercise.app.get("expired_secret"):
                    values.insert(0, (secret(own + "#expired"), "2020-01-01"))
                extra = {}
                if federated := exercise.app.get("federated"):
                    # the subject names the trainee's namespace: a token minted for another
                    # trainee's pods never signs in as this app
                    account = federated.get("service_account", "airflow-worker")
                    extra["federated_credentials"] = [
                        {
                            "name": account,
                            "issuer": f"aks:{CLUSTER}",
                            "subject": f"system:serviceaccount:{trainee}:{account}",
                            "audiences": ["api://AzureADTokenExchange"],
                        }
                    ]
                apps.append(_app(own, values, **extra))
                # the rotated secret, as a platform team would leave it for the trainee
                home_secrets[f"{exercise.id}-client-secret"] = secret(own)
            vaults.append(_exercise_vault(trainee, exercise, names, roles))
    clusters = [
        {"name": CLUSTER, "tenant": TENANT, "location": "westeurope", "oidc_id": guid("aks")}
    ]
    federated = any(e.app and e.app.get("federated") for e in exercises)
    return {
        **({"aks_clusters": clusters} if federated else {}),
        "name": f"class-{len(trainees)}",
        "tenants": [{"id": TENANT_ID, "domain": TENANT}],
        "subscriptions": [
            {
                "id": SUBSCRIPTION_ID,
                "tenant": TENANT,
                "name": "Class subscription",
                "resource_groups": groups,
            }
        ],
        "apps": apps,
        "managed_identities": identities,
        "default_principal": app_name(trainees[0], "backend"),
        "default_vault": home_vault(trainees[0]),
        "vaults": vaults,
        "role_assignments": roles,
    }


def _exercise_vault(
    trainee: str, exercise: Exercise, names: dict[str, str], roles: list[dict[str, Any]]
) -> dict[str, Any]:
    spec = exercise.vault
    name = vault_name(trainee, exercise.id)
    vault: dict[str, Any] = {
        "name": name,
        "resource_group": resource_group(trainee),
        "permission_model": spec.get("permission_model", "rbac"),
        "firewall": spec.get("firewall", "open"),
        "secrets": dict(
            spec.get("secrets") or {"airflow-variables-sample-variable": f"{exercise.id} value"}
        ),
    }
    if vault["permission_model"] == "access_policy":
        vault["access_policies"] = [
            {"principal": names[p["to"]], "secrets": list(p.get("secrets") or [])}
            for p in spec.get("access_policies") or []
        ] + [
            {"principal": FACILITATOR, "secrets": ["all"]},
            {"principal": names["operator"], "secrets": ["all"]},
        ]
    for entry in spec.get("roles") or []:
        roles.append(
            {"principal": names[entry["to"]], "role": entry["role"], "scope": f"vault:{name}"}
        )
    return vault
