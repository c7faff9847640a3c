"""Wire layer of Microsoft Graph: read the request, call the model, serialise OData JSON."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..http import NOT_JSON, Request, Response, request_id
from . import exceptions as exc
from .models import DirectoryObject, Graph

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
_QUERY_OPTIONS = frozenset({"$filter", "$select", "$top", "$count", "$orderby", "$search"})


def _query(request: Request) -> dict[str, str]:
    """The query options, names as sent (Graph's `$filter` is case-sensitive in name only
    for the `$`); a repeated option is a 400, as OData says."""
    raw = parse_qs(urlsplit(request.target).query, keep_blank_values=True)
    for name, values in raw.items():
        if len(values) > 1:
            raise exc.BadRequest(f"Query option '{name[:40]}' was specified more than once.")
    return {k.lower(): v[0] for k, v in raw.items()}


class GraphResponses:
    def __init__(self, graph: Graph):
        self.graph = graph

    def dispatch(self, request: Request, handler: str, params: dict[str, str]) -> Response:
        client_request_id = request.headers.get("client-request-id", "")
        echo = client_request_id if _GUID.match(client_request_id) else request_id()
        try:
            claims = self.graph.authenticate(authorization=request.headers.get("authorization", ""))
            response = getattr(self, handler)(request, claims, **params)
        except exc.GraphError as err:
            err.echo(echo)
            raise
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
        select = _query(request).get("$select")
        if select is None:
            return dict(obj.properties)
        names = [s.strip() for s in select.split(",") if s.strip()]
        for name in names:
            if name not in obj.properties:
                raise exc.BadRequest(
                    f"Could not find a property named '{name[:80]}' on type "
                    f"'microsoft.graph.{obj.kind}'."
                )
        return {"id": obj.id, **{n: obj.properties[n] for n in names}}

    def _entity(self, request: Request, collection: str, obj: DirectoryObject) -> Response:
        body = {"@odata.context": f"{BASE}/$metadata#{collection}/$entity"}
        body.update(self._select(request, obj))
        return Response.json(body, headers={"Content-Type": _CONTENT_TYPE})

    def _collection(
        self, request: Request, collection: str, objects: list[DirectoryObject], typed=False
    ) -> Response:
        top = _query(request).get("$top")
        if top is not None:
            if not top.isdigit() or not 1 <= int(top) <= 999:
                raise exc.BadRequest(
                    f"Invalid page size specified: '{top[:20]}'. Must be between 1 and 999 "
                    "inclusive."
                )
            objects = objects[: int(top)]
        items = []
        for obj in objects:
            item = {"@odata.type": f"#microsoft.graph.{obj.kind}"} if typed else {}
            item.update(self._select(request, obj))
            items.append(item)
        body = {"@odata.context": f"{BASE}/$metadata#{collection}", "value": items}
        return Response.json(body, headers={"Content-Type": _CONTENT_TYPE})

    def _filter(self, request: Request) -> str | None:
        query = _query(request)
        for name in query:
            if name.startswith("$") and name not in _QUERY_OPTIONS:
                raise exc.BadRequest(f"Query option '{name[:40]}' is not supported.")
        return query.get("$filter")

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
        content_type = request.headers.get("content-type", "")
        body = request.json_body()
        if body is NOT_JSON or (content_type and "json" not in content_type.lower()):
            raise exc.ODataBadRequest(
                "Unable to read JSON request payload. Please ensure Content-Type header is set "
                "and payload is of valid JSON format."
            )
        if not isinstance(body, dict):
            raise exc.BadRequest("Invalid request: the body must be a JSON object with 'ids'.")
        unknown = set(body) - {"ids", "types"}
        if unknown:
            name = sorted(unknown)[0]
            raise exc.BadRequest(
                f"The property '{name[:80]}' does not exist on type "
                "'microsoft.graph.directoryObject'."
            )
        found = self.graph.get_by_ids(claims=claims, ids=body.get("ids"), types=body.get("types"))
        return self._collection(request, "directoryObjects", found, typed=True)

    # -- anything else -------------------------------------------------------------------
    def unknown_resource(self, request, claims, path):
        version, _, rest = path.lstrip("/").partition("/")
        if version != "v1.0":
            raise exc.ODataBadRequest(f"Invalid version: {version[:20]}")
        segment = rest.split("/")[0].split("(")[0] if rest else ""
        known = ("servicePrincipals", "applications", "users", "me", "directoryObjects")
        if segment.lower() in (k.lower() for k in known):
            # A write, or a sub-resource the sandbox does not serve: the sandbox's Graph is
            # read-only, as it is for a caller holding only read permissions.
            raise exc.AuthorizationRequestDenied()
        raise exc.UnknownSegment(segment[:80])
