"""Wire layer of Microsoft Graph: read the request, call the model, serialise OData JSON."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..http import NOT_JSON, Request, Response, request_id
from .models import (
    DirectoryObject,
    Graph,
    check_query_options,
    get_by_ids_body,
    page,
    select,
    unknown_resource,
)

__all__ = [
    "BASE",
    "GraphResponses",
]

BASE = "https://graph.microsoft.com/v1.0"
_CONTENT_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
    "charset=utf-8"
)
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\Z")


def _query(request: Request) -> dict[str, str]:
    """The query options (a repeated one is a 400, as OData says), names lower-cased."""
    raw = parse_qs(urlsplit(request.target).query, keep_blank_values=True)
    return check_query_options(raw)


class GraphResponses:
    def __init__(self, graph: Graph):
        self.graph = graph

    def dispatch(self, request: Request, handler: str, params: dict[str, str]) -> Response:
        client_request_id = request.headers.get("client-request-id", "")
        echo = client_request_id if _GUID.match(client_request_id) else request_id()
        with self.graph.echoing(echo):
            claims = self.graph.authenticate(authorization=request.headers.get("authorization", ""))
            response = getattr(self, handler)(request, claims, **params)
        rid = request_id()
        response.headers.update(
            {
                "request-id": rid,
                "client-request-id": echo,
                "x-ms-request-id": rid,
                "OData-Version": "4.0",
                "x-ms-ags-diagnostic": '{"ServerInfo":{"DataCenter":"Sandbox"}}',
            }
        )
        return response

    # -- serialisation -------------------------------------------------------------------
    @staticmethod
    def _select(request: Request, obj: DirectoryObject) -> dict[str, Any]:
        return select(obj, _query(request).get("$select"))

    def _entity(self, request: Request, collection: str, obj: DirectoryObject) -> Response:
        body = {"@odata.context": f"{BASE}/$metadata#{collection}/$entity"}
        body.update(self._select(request, obj))
        return Response.json(body, headers={"Content-Type": _CONTENT_TYPE})

    def _collection(
        self, request: Request, collection: str, objects: list[DirectoryObject], typed=False
    ) -> Response:
        objects = page(objects, _query(request).get("$top"))
        items = []
        for obj in objects:
            item = {"@odata.type": f"#microsoft.graph.{obj.kind}"} if typed else {}
            item.update(self._select(request, obj))
            items.append(item)
        body = {"@odata.context": f"{BASE}/$metadata#{collection}", "value": items}
        return Response.json(body, headers={"Content-Type": _CONTENT_TYPE})

    @staticmethod
    def _filter(request: Request) -> str | None:
        return _query(request).get("$filter")

    # -- service principals --------------------------------------------------------------
    def list_service_principals(self, request, claims):
        found = self.graph.list_service_principals(claims=claims, filter=self._filter(request))
        return self._collection(request, "servicePrincipals", found)

    def get_service_principal(self, request, claims, ident):
        found = self.graph.get_service_principal(claims=claims, ident=ident)
        return self._entity(request, "servicePrincipals", found)

    def get_service_principal_by_app_id(self, request, claims, app_id):
        found = self.graph.get_service_principal_by_app_id(claims=claims, app_id=app_id)
        return self._entity(request, "servicePrincipals", found)

    # -- applications --------------------------------------------------------------------
    def list_applications(self, request, claims):
        found = self.graph.list_applications(claims=claims, filter=self._filter(request))
        return self._collection(request, "applications", found)

    def get_application(self, request, claims, ident):
        return self._entity(
            request, "applications", self.graph.get_application(claims=claims, ident=ident)
        )

    def get_application_by_app_id(self, request, claims, app_id):
        return self._entity(
            request, "applications", self.graph.get_application(claims=claims, app_id=app_id)
        )

    # -- users ---------------------------------------------------------------------------
    def list_users(self, request, claims):
        found = self.graph.list_users(claims=claims, filter=self._filter(request))
        return self._collection(request, "users", found)

    def get_user(self, request, claims, ident):
        return self._entity(request, "users", self.graph.get_user(claims=claims, ident=ident))

    def me(self, request, claims):
        return self._entity(request, "users", self.graph.me(claims=claims))

    # -- directory objects ---------------------------------------------------------------
    def get_by_ids(self, request, claims):
        body = get_by_ids_body(
            request.json_body(),
            not_json=NOT_JSON,
            content_type=request.headers.get("content-type", ""),
        )
        found = self.graph.get_by_ids(claims=claims, ids=body.get("ids"), types=body.get("types"))
        return self._collection(request, "directoryObjects", found, typed=True)

    # -- anything else -------------------------------------------------------------------
    def unknown_resource(self, request, claims, path):
        unknown_resource(path)
