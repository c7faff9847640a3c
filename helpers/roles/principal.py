"""The grantee's object id from its client id, through Microsoft Graph, as the operator.

A managed identity or a workload identity's app cannot sign in from the operator's shell (the
identity lives on its host; the token file in its pod), so the grant cannot learn its object id
from a token there. Graph can: ``GET /v1.0/servicePrincipals(appId='<client id>')`` — what
``az ad sp show --id <client id>`` calls — answers the service principal, whose ``id`` is the
object id role assignments name. The system-assigned identity has no client id in the settings:
that one still needs ``--object-id``.
"""

from __future__ import annotations

from typing import Any

from azure.core import PipelineClient
from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RetryPolicy
from azure.core.rest import HttpRequest

from helpers.roles.model import is_guid
from helpers.settings import cloud_of

__all__ = ["GRAPH_HOSTS", "object_id_of_client"]

# Microsoft Graph per cloud (by the name settings.CLOUDS gives each vault suffix).
GRAPH_HOSTS = {
    "AzureCloud": "https://graph.microsoft.com",
    "AzureChinaCloud": "https://microsoftgraph.chinacloudapi.cn",
    "AzureUSGovernment": "https://graph.microsoft.us",
}


def object_id_of_client(
    credential: Any, client_id: str, *, vault_url: str = "", timeout: float = 10.0
) -> str:
    """The object id of the service principal with ``client_id`` ("" when Graph does not
    answer one: unknown app, no permission, no network). Never raises."""
    client_id = str(client_id or "").strip()
    if not is_guid(client_id):
        return ""
    cloud = cloud_of(vault_url)
    graph = GRAPH_HOSTS.get(cloud.name if cloud else "AzureCloud", GRAPH_HOSTS["AzureCloud"])
    policies = [
        RetryPolicy(retry_total=1),
        BearerTokenCredentialPolicy(credential, f"{graph}/.default"),
    ]
    url = f"{graph}/v1.0/servicePrincipals(appId='{client_id}')?$select=id,appId"
    try:
        with PipelineClient(graph, policies=policies) as client:
            response = client.send_request(
                HttpRequest("GET", url), connection_timeout=timeout, read_timeout=timeout
            )
            if response.status_code != 200:
                return ""
            body = response.json()
    except Exception:  # noqa: BLE001 - a lookup that fails leaves the object id unknown
        return ""
    oid = str(body.get("id", "")) if isinstance(body, dict) else ""
    same = str(body.get("appId", client_id)).lower() == client_id.lower()
    return oid if is_guid(oid) and same else ""
