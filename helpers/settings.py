"""One declarative schema for a target environment: what the backend needs to know.

Settings hold *references*, never secret values: the client secret is the name of an
environment variable (``client_secret_env``). Loading and validation return findings and
never raise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Credential(StrEnum):
    CLIENT_SECRET = "client_secret"  # service principal; secret read from client_secret_env
    MANAGED_IDENTITY = "managed_identity"
    WORKLOAD_IDENTITY = "workload_identity"


class Target(StrEnum):
    ADF = "adf"  # Azure Data Factory "Data workflows" (Airflow 2.x, closed to new instances)
    FABRIC = "fabric"  # Apache Airflow jobs in Microsoft Fabric
    HELM = "helm"  # the official Apache Airflow Helm chart
    COMPOSE = "compose"  # docker compose
    AIRFLOW_CFG = "airflow_cfg"  # an airflow.cfg [secrets] section
    ENV = "env"  # plain environment variables / shell exports


@dataclass
class Settings:
    """A target environment. Prefix ``None`` disables that lookup type (JSON ``null``)."""

    name: str = "default"
    vault_url: str = ""
    tenant_id: str = ""
    client_id: str = ""
    credential: Credential = Credential.CLIENT_SECRET
    client_secret_env: str = "AZURE_CLIENT_SECRET"
    managed_identity_client_id: str = ""
    connections_prefix: str | None = "airflow-connections"
    variables_prefix: str | None = "airflow-variables"
    config_prefix: str | None = None
    sep: str = "-"
    target: Target = Target.ENV
    airflow_version: str | None = None
    provider_version: str | None = None
    variables: list[str] = field(default_factory=lambda: ["sample-variable"])
    connections: list[str] = field(default_factory=list)
    retry_total: int | None = 3
