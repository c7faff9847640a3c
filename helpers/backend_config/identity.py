"""The ONE mapping between a credential kind, backend_kwargs and environment variables.

The provider builds its credential from backend_kwargs: ``tenant_id`` + ``client_id`` +
``client_secret`` (all three) give a ClientSecretCredential; ``managed_identity_client_id`` +
``workload_identity_tenant_id`` (both) go to DefaultAzureCredential; anything else leaves
DefaultAzureCredential to read the ``AZURE_*`` environment. Each direction is one function:

- :func:`kind_from_kwargs` / :func:`kind_from_env` — which kind a configuration selects
  (the readers in :mod:`.read`);
- :func:`kind_of` / :func:`identity_of` — the kind and the managed/workload identity a
  :class:`Settings` gives (render, the probe, the vault credentials);
- :func:`kwargs_for` / :func:`env_for` — what a :class:`Settings` renders to (render);
- :func:`env_from_kwargs` / :func:`kwargs_from_env` — the same identity expressed the other
  way; no module needs them yet: they are the public round trip the tests pin the tables
  above against (tests/test_one_home_config.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from helpers.settings import Credential, Settings, parse_credential

__all__ = [
    "CLIENT_SECRET_ENV",
    "ENV_OF_KWARG",
    "FEDERATED_TOKEN_DEFAULT",
    "FEDERATED_TOKEN_FILE",
    "KWARGS_OF",
    "env_for",
    "env_from_kwargs",
    "identity_fields_from_env",
    "identity_of",
    "kind_from_env",
    "kind_from_kwargs",
    "kind_of",
    "kwargs_for",
    "kwargs_from_env",
    "platform_kind",
    "secret_in_kwargs",
]

CLIENT_SECRET_ENV = "AZURE_CLIENT_SECRET"
FEDERATED_TOKEN_FILE = "AZURE_FEDERATED_TOKEN_FILE"
# Where the Azure Workload Identity webhook mounts the service account token on AKS.
FEDERATED_TOKEN_DEFAULT = "/var/run/secrets/azure/tokens/azure-identity-token"
# The backend_kwargs each kind uses (the provider reads them only as a complete set).
KWARGS_OF: dict[Credential, tuple[str, ...]] = {
    Credential.CLIENT_SECRET: ("tenant_id", "client_id", "client_secret"),
    Credential.MANAGED_IDENTITY: ("managed_identity_client_id",),
    Credential.WORKLOAD_IDENTITY: ("managed_identity_client_id", "workload_identity_tenant_id"),
}
# The environment variable azure-identity reads for the same fact.
ENV_OF_KWARG = {
    "tenant_id": "AZURE_TENANT_ID",
    "client_id": "AZURE_CLIENT_ID",
    "client_secret": CLIENT_SECRET_ENV,
    "managed_identity_client_id": "AZURE_CLIENT_ID",
    "workload_identity_tenant_id": "AZURE_TENANT_ID",
}


def kind_of(settings: Settings) -> Credential:
    """The settings' credential kind (a client secret when none is set)."""
    return parse_credential(settings.credential) or Credential.CLIENT_SECRET


def secret_in_kwargs(kwargs: Mapping[str, Any]) -> bool:
    """Whether the kwargs hold the complete service-principal trio (the provider's test)."""
    return all(kwargs.get(k) for k in KWARGS_OF[Credential.CLIENT_SECRET])


def kind_from_kwargs(kwargs: Mapping[str, Any]) -> Credential | None:
    """The kind the kwargs select; None when they leave it to the environment."""
    if kwargs.get("client_secret"):
        return Credential.CLIENT_SECRET
    if kwargs.get("managed_identity_client_id"):
        if kwargs.get("workload_identity_tenant_id"):
            return Credential.WORKLOAD_IDENTITY
        return Credential.MANAGED_IDENTITY
    return None


def kind_from_env(
    environ: Mapping[str, str], kwargs: Mapping[str, Any] | None = None
) -> Credential:
    """The kind DefaultAzureCredential (or the provider, given ``kwargs``) ends up using."""
    kwargs = kwargs or {}
    if secret_in_kwargs(kwargs) or CLIENT_SECRET_ENV in environ:
        return Credential.CLIENT_SECRET
    if str(environ.get(FEDERATED_TOKEN_FILE, "")).strip() or kwargs.get(
        "workload_identity_tenant_id"
    ):
        return Credential.WORKLOAD_IDENTITY
    return Credential.MANAGED_IDENTITY


def platform_kind(environ: Mapping[str, str]) -> Credential | None:
    """The kind the platform's own variables announce, None when they announce none: the AKS
    webhook's AZURE_FEDERATED_TOKEN_FILE, App Service's IDENTITY_ENDPOINT (or the older
    MSI_ENDPOINT), or AZURE_TOKEN_CREDENTIALS naming one credential. A VM's IMDS sets nothing."""
    chosen = str(environ.get("AZURE_TOKEN_CREDENTIALS", "")).strip().lower()
    if str(environ.get(FEDERATED_TOKEN_FILE, "")).strip() or chosen == "workloadidentitycredential":
        return Credential.WORKLOAD_IDENTITY
    if (
        environ.get("IDENTITY_ENDPOINT")
        or environ.get("MSI_ENDPOINT")
        or chosen == "managedidentitycredential"
    ):
        return Credential.MANAGED_IDENTITY
    if environ.get(CLIENT_SECRET_ENV) or chosen == "environmentcredential":
        return Credential.CLIENT_SECRET
    return None


def identity_fields_from_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Settings fields (credential, ids) for the identity the platform's variables announce;
    {} when they announce none (see :func:`platform_kind`)."""
    kind = platform_kind(environ)
    client = str(environ.get("AZURE_CLIENT_ID", "")).strip()
    tenant = str(environ.get("AZURE_TENANT_ID", "")).strip()
    if kind is Credential.MANAGED_IDENTITY:
        return {"credential": kind.value, "managed_identity_client_id": client}
    if kind is Credential.WORKLOAD_IDENTITY:
        return {"credential": kind.value, "client_id": client, "tenant_id": tenant}
    return {}


def env_from_kwargs(kwargs: Mapping[str, Any]) -> dict[str, str]:
    """The ``AZURE_*`` variables that select the same identity as the kwargs do."""
    kind = kind_from_kwargs(kwargs)
    if kind is None:
        return {}
    env = {ENV_OF_KWARG[k]: str(kwargs[k]) for k in KWARGS_OF[kind] if kwargs.get(k)}
    if kind is Credential.WORKLOAD_IDENTITY:
        env[FEDERATED_TOKEN_FILE] = FEDERATED_TOKEN_DEFAULT
    return env


def kwargs_from_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The backend_kwargs that select the identity the ``AZURE_*`` variables select."""
    kind = kind_from_env(environ)
    return {k: environ[ENV_OF_KWARG[k]] for k in KWARGS_OF[kind] if environ.get(ENV_OF_KWARG[k])}


def identity_of(settings: Settings) -> tuple[str, str]:
    """(client id, tenant id) of a managed or workload identity as the settings give them."""
    identity = str(settings.managed_identity_client_id or settings.client_id or "").strip()
    tenant = str(settings.workload_identity_tenant_id or settings.tenant_id or "").strip()
    return identity, tenant


def kwargs_for(settings: Settings, *, secret: str | None = None) -> dict[str, str]:
    """The credential kwargs the settings render to; a client secret only when ``secret``
    (a reference such as ``${AZURE_CLIENT_SECRET}``) is given."""
    kind = settings.credential
    if kind is Credential.CLIENT_SECRET:
        if secret is None:
            return {}
        return {
            "tenant_id": settings.tenant_id,
            "client_id": settings.client_id,
            "client_secret": secret,
        }
    identity, tenant = identity_of(settings)
    if identity and tenant:
        return {"managed_identity_client_id": identity, "workload_identity_tenant_id": tenant}
    return {}


def env_for(settings: Settings, *, secret: str, in_kwargs: bool = False) -> dict[str, str]:
    """The ``AZURE_*`` variables the settings render to (``secret`` stands for the value)."""
    kind = settings.credential
    if kind is Credential.CLIENT_SECRET:
        if in_kwargs:
            return {}
        return {
            "AZURE_TENANT_ID": settings.tenant_id,
            "AZURE_CLIENT_ID": settings.client_id,
            CLIENT_SECRET_ENV: secret,
        }
    identity, tenant = identity_of(settings)
    if identity and not tenant:
        return {"AZURE_CLIENT_ID": identity}  # a user-assigned identity, selected by env
    return {}
