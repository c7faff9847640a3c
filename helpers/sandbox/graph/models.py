"""Microsoft Graph's directory objects, as a read-only view over the sandbox's Entra ID.

Each app of the directory is an application object and its service principal (``id`` = the
scenario's ``object_id``, ``appId`` = its ``client_id``). Every call authenticates the bearer
token (a Graph-audience token the sandbox's Entra ID signed), sees only the token's tenant
and needs an application permission (the token's ``roles`` claim) that allows the read.
``$filter`` takes the OData subset principal lookups use (see ``parse_filter``).
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..entra.models import App, Directory, bearer_token
from . import exceptions as exc

__all__ = [
    "AUDIENCES",
    "DIRECTORY_READ",
    "DirectoryObject",
    "Graph",
    "KINDS",
    "MAX_IDS",
    "READ_ALL",
    "QUERY_OPTIONS",
    "application_object_id",
    "check_query_options",
    "get_by_ids_body",
    "page",
    "parse_filter",
    "select",
    "unknown_resource",
]

AUDIENCES = (
    "https://graph.microsoft.com",
    "https://graph.microsoft.com/",
    "00000003-0000-0000-c000-000000000000",
)
# Application permissions (the token's `roles`) that allow reading apps and principals, and
# the ones getByIds needs (it may return any kind of directory object).
DIRECTORY_READ = frozenset({"Directory.Read.All", "Directory.ReadWrite.All"})
READ_ALL = DIRECTORY_READ | {"Application.Read.All", "Application.ReadWrite.All"}
KINDS = (
    "servicePrincipal",
    "application",
    "user",
    "group",
    "device",
    "directoryObjectPartnerReference",
)
MAX_IDS = 1000
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\Z")
_APP_NAMESPACE = uuid.UUID("0e3d5b1a-6a43-4b39-9d7e-5f1b0c2a7e11")


def application_object_id(app: App) -> str:
    """The application object's id: stable per app, distinct from the service principal's."""
    return str(uuid.uuid5(_APP_NAMESPACE, app.client_id.lower()))


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


@dataclass(frozen=True)
class DirectoryObject:
    """A service principal or an application, as Graph's JSON properties."""

    kind: str  # "servicePrincipal" | "application"
    properties: dict[str, Any]

    @property
    def id(self) -> str:
        return self.properties["id"]


def _service_principal(app: App) -> DirectoryObject:
    return DirectoryObject(
        "servicePrincipal",
        {
            "id": app.object_id,
            "deletedDateTime": None,
            "accountEnabled": True,
            "appDisplayName": app.name,
            "appId": app.client_id,
            "appOwnerOrganizationId": app.tenant_id,
            "appRoleAssignmentRequired": False,
            "displayName": app.name,
            "servicePrincipalNames": [app.client_id],
            # A managed identity is a service principal without an application object.
            "servicePrincipalType": "ManagedIdentity" if app.managed else "Application",
            "signInAudience": "AzureADMyOrg",
            "tags": [],
            "alternativeNames": [],
            "appRoles": [],
            "keyCredentials": [],
            "passwordCredentials": [],
            "oauth2PermissionScopes": [],
            "replyUrls": [],
        },
    )


def _application(app: App) -> DirectoryObject:
    return DirectoryObject(
        "application",
        {
            "id": application_object_id(app),
            "deletedDateTime": None,
            "appId": app.client_id,
            "displayName": app.name,
            "identifierUris": [],
            "publisherDomain": None,
            "signInAudience": "AzureADMyOrg",
            "tags": [],
            "keyCredentials": [],
            "passwordCredentials": [
                {"keyId": s.key_id, "displayName": None, "hint": None} for s in app.secrets
            ],
        },
    )


# -- $filter ------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<punct>[(),:])|(?P<word>[A-Za-z_][A-Za-z0-9_./]*)"
    r"|(?P<num>-?\d+))"
)
Predicate = Callable[[dict[str, Any]], bool]


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        found = _TOKEN.match(text, pos)
        if found is None or found.end() == pos:
            raise exc.InvalidFilter(f"Syntax error at position {pos} in '{_clip(text)}'.")
        kind = found.lastgroup or ""
        value = found.group(kind)
        out.append((kind, value[1:-1].replace("''", "'") if kind == "str" else value))
        pos = found.end()
    return out


class _Parser:
    """expr := term (('and'|'or') term)*; term := 'not' term | '(' expr ')' | prop op literal
    | startswith(prop, 'x') | prop/any(v: v eq 'x')."""

    def __init__(self, text: str, properties: frozenset[str], kind: str):
        self.text, self.properties, self.kind = text, properties, kind
        self.toks = _tokens(text)
        self.i = 0

    def fail(self, what: str = "") -> exc.InvalidFilter:
        where = f" at token {self.i + 1}" if self.i < len(self.toks) else " at the end"
        return exc.InvalidFilter(f"{what or 'Syntax error'}{where} in '{_clip(self.text)}'.")

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, kind: str, value: str | None = None) -> str:
        tok = self.peek()
        if tok is None or tok[0] != kind or (value is not None and tok[1].lower() != value):
            raise self.fail()
        self.i += 1
        return tok[1]

    def parse(self) -> Predicate:
        if not self.toks:
            raise self.fail("Empty filter")
        pred = self.expr()
        if self.peek() is not None:
            raise self.fail()
        return pred

    def expr(self) -> Predicate:
        pred = self.term()
        while (tok := self.peek()) is not None and tok[0] == "word":
            op = tok[1].lower()
            if op not in ("and", "or"):
                raise self.fail()
            self.i += 1
            left, right = pred, self.term()
            pred = (
                (lambda o, a=left, b=right: a(o) and b(o))
                if op == "and"
                else (lambda o, a=left, b=right: a(o) or b(o))
            )
        return pred

    def prop(self, name: str) -> str:
        if name not in self.properties:
            raise exc.BadRequest(
                f"Property '{_clip(name, 80)}' does not exist as a declared property or "
                "extension property."
            )
        return name

    def literal(self) -> Any:
        tok = self.peek()
        if tok is None:
            raise self.fail()
        self.i += 1
        if tok[0] == "str":
            return tok[1]
        if tok[0] == "word" and tok[1].lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[tok[1].lower()]
        if tok[0] == "num":
            return int(tok[1])
        raise self.fail()

    def term(self) -> Predicate:
        tok = self.peek()
        if tok is None:
            raise self.fail()
        if tok == ("punct", "("):
            self.i += 1
            pred = self.expr()
            self.take("punct", ")")
            return pred
        word = self.take("word")
        if word.lower() == "not":
            inner = self.term()
            return lambda o: not inner(o)
        if word.lower() == "startswith":
            self.take("punct", "(")
            name = self.prop(self.take("word"))
            self.take("punct", ",")
            prefix = self.take("str").lower()
            self.take("punct", ")")
            return lambda o: str(o.get(name) or "").lower().startswith(prefix)
        if word.lower().endswith("/any"):
            name = self.prop(word[: -len("/any")])
            self.take("punct", "(")
            var = self.take("word")
            self.take("punct", ":")
            if self.take("word") != var:
                raise self.fail()
            self.take("word", "eq")
            wanted = self.take("str").lower()
            self.take("punct", ")")
            return lambda o: any(str(v).lower() == wanted for v in o.get(name) or [])
        name = self.prop(word)
        op = self.take("word").lower()
        if op not in ("eq", "ne"):
            raise self.fail(f"Unsupported operator '{_clip(op, 20)}'")
        value = self.literal()

        def equals(o: dict[str, Any]) -> bool:
            have = o.get(name)
            if isinstance(have, str) and isinstance(value, str):
                return have.lower() == value.lower()
            return have == value

        return equals if op == "eq" else (lambda o: not equals(o))


def parse_filter(text: str, properties: frozenset[str], kind: str = "") -> Predicate:
    """A predicate over an object's properties for an OData ``$filter``; Request_BadRequest
    for a syntax error or a property the type does not have."""
    return _Parser(text, properties, kind).parse()


# -- query options, bodies and paths -------------------------------------------------------
QUERY_OPTIONS = frozenset({"$filter", "$select", "$top", "$count", "$orderby", "$search"})
_SEGMENTS = ("serviceprincipals", "applications", "users", "me", "directoryobjects")


def check_query_options(raw: dict[str, list[str]]) -> dict[str, str]:
    """Query options by lower-cased name; a repeated or unknown `$` option is a 400."""
    for name, values in raw.items():
        if len(values) > 1:
            raise exc.BadRequest(f"Query option '{_clip(name, 40)}' was specified more than once.")
        if name.startswith("$") and name.lower() not in QUERY_OPTIONS:
            raise exc.BadRequest(f"Query option '{_clip(name, 40)}' is not supported.")
    return {k.lower(): v[0] for k, v in raw.items()}


def select(obj: DirectoryObject, wanted: str | None) -> dict[str, Any]:
    """The object's properties, or only `id` and the `$select`ed ones."""
    if wanted is None:
        return dict(obj.properties)
    names = [s.strip() for s in wanted.split(",") if s.strip()]
    for name in names:
        if name not in obj.properties:
            raise exc.BadRequest(
                f"Could not find a property named '{_clip(name, 80)}' on type "
                f"'microsoft.graph.{obj.kind}'."
            )
    return {"id": obj.id, **{n: obj.properties[n] for n in names}}


def page(objects: list[DirectoryObject], top: str | None) -> list[DirectoryObject]:
    if top is None:
        return objects
    if not top.isdigit() or not 1 <= int(top) <= 999:
        raise exc.BadRequest(
            f"Invalid page size specified: '{_clip(top, 20)}'. Must be between 1 and 999 inclusive."
        )
    return objects[: int(top)]


def get_by_ids_body(body: Any, *, not_json: Any, content_type: str) -> dict[str, Any]:
    """The getByIds body as a dict with only `ids` and `types`, else Graph's 400."""
    if body is not_json or (content_type and "json" not in content_type.lower()):
        raise exc.ODataBadRequest(
            "Unable to read JSON request payload. Please ensure Content-Type header is set "
            "and payload is of valid JSON format."
        )
    if not isinstance(body, dict):
        raise exc.BadRequest("Invalid request: the body must be a JSON object with 'ids'.")
    unknown = sorted(set(body) - {"ids", "types"})
    if unknown:
        raise exc.BadRequest(
            f"The property '{_clip(unknown[0], 80)}' does not exist on type "
            "'microsoft.graph.directoryObject'."
        )
    return body


def unknown_resource(path: str) -> None:
    """A path no handler serves: a bad version, a write to a read-only collection (the
    sandbox's Graph is read-only, as it is for a caller holding only read permissions), or
    an unknown segment."""
    version, _, rest = path.lstrip("/").partition("/")
    if version != "v1.0":
        raise exc.ODataBadRequest(f"Invalid version: {_clip(version, 20)}")
    segment = rest.split("/")[0].split("(")[0] if rest else ""
    if segment.lower() in _SEGMENTS:
        raise exc.AuthorizationRequestDenied()
    raise exc.UnknownSegment(_clip(segment, 80))


# -- the service --------------------------------------------------------------------------
_SP_PROPS = frozenset(_service_principal(App("x", "t", "c", "o")).properties)
_APP_PROPS = frozenset(_application(App("x", "t", "c", "o")).properties)
_USER_PROPS = frozenset({"id", "displayName", "userPrincipalName", "mail", "accountEnabled"})


class Graph:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    @staticmethod
    @contextlib.contextmanager
    def echoing(client_request_id: str) -> Iterator[None]:
        """Errors raised inside carry the caller's client-request-id, as Graph's do."""
        try:
            yield
        except exc.GraphError as err:
            err.echo(client_request_id)
            raise

    # -- authentication and authorization ------------------------------------------------
    def authenticate(self, *, authorization: str) -> dict[str, Any]:
        """The caller's claims: a Graph-audience token the sandbox signed, not expired."""
        token = bearer_token(authorization)
        if token is None:
            raise exc.InvalidAuthenticationToken()
        if token.count(".") != 2:
            raise exc.InvalidAuthenticationToken(
                "IDX14100: JWT is not well formed, there are no dots (.)."
                if "." not in token
                else "Access token validation failure."
            )
        claims = self.directory.verify_signature(token)
        if claims is None:
            raise exc.InvalidAuthenticationToken("Access token validation failure.")
        if claims.get("aud") not in AUDIENCES:
            raise exc.InvalidAuthenticationToken(
                "Access token validation failure. Invalid audience."
            )
        if claims.get("exp", 0) <= time.time():
            raise exc.InvalidAuthenticationToken(
                "Lifetime validation failed, the token is expired."
            )
        return claims

    @staticmethod
    def require(claims: dict[str, Any], allowed: frozenset[str]) -> None:
        roles = claims.get("roles")
        if not isinstance(roles, list) or not allowed.intersection(roles):
            raise exc.AuthorizationRequestDenied()

    def _apps(self, claims: dict[str, Any]) -> list[App]:
        tid = claims.get("tid")
        return [a for a in self.directory.apps.values() if a.tenant_id == tid]

    # -- lookups -------------------------------------------------------------------------
    @staticmethod
    def _guid(ident: str) -> str:
        if not _GUID.match(ident):
            raise exc.InvalidObjectIdentifier(_clip(ident))
        return ident.lower()

    @staticmethod
    def _filtered(objects: list[DirectoryObject], flt: str | None, props: frozenset[str]):
        if flt is None:
            return objects
        pred = parse_filter(flt, props)
        return [o for o in objects if pred(o.properties)]

    def list_service_principals(
        self, *, claims: dict[str, Any], filter: str | None = None
    ) -> list[DirectoryObject]:
        self.require(claims, READ_ALL)
        sps = [_service_principal(a) for a in self._apps(claims)]
        return self._filtered(sps, filter, _SP_PROPS)

    def get_service_principal(self, *, claims: dict[str, Any], ident: str) -> DirectoryObject:
        self.require(claims, READ_ALL)
        oid = self._guid(ident)
        for app in self._apps(claims):
            if app.object_id.lower() == oid:
                return _service_principal(app)
        raise exc.ResourceNotFound(ident)

    def get_service_principal_by_app_id(
        self, *, claims: dict[str, Any], app_id: str
    ) -> DirectoryObject:
        self.require(claims, READ_ALL)
        wanted = self._guid(app_id)
        for app in self._apps(claims):
            if app.client_id.lower() == wanted:
                return _service_principal(app)
        raise exc.ResourceNotFound(app_id)

    def list_applications(
        self, *, claims: dict[str, Any], filter: str | None = None
    ) -> list[DirectoryObject]:
        self.require(claims, READ_ALL)
        apps = [_application(a) for a in self._apps(claims) if not a.managed]
        return self._filtered(apps, filter, _APP_PROPS)

    def get_application(
        self, *, claims: dict[str, Any], ident: str | None = None, app_id: str | None = None
    ) -> DirectoryObject:
        self.require(claims, READ_ALL)
        wanted = self._guid(ident if ident is not None else app_id or "")
        for app in self._apps(claims):
            if app.managed:
                continue  # no application object behind a managed identity
            obj = _application(app)
            if wanted == (obj.id if ident is not None else app.client_id.lower()):
                return obj
        raise exc.ResourceNotFound(ident if ident is not None else app_id or "")

    def list_users(self, *, claims: dict[str, Any], filter: str | None = None) -> list[Any]:
        """The sandbox's directory has no users; a filter is still checked."""
        self.require(claims, DIRECTORY_READ | {"User.Read.All", "User.ReadWrite.All"})
        if filter is not None:
            parse_filter(filter, _USER_PROPS)
        return []

    def get_user(self, *, claims: dict[str, Any], ident: str) -> DirectoryObject:
        self.require(claims, DIRECTORY_READ | {"User.Read.All", "User.ReadWrite.All"})
        raise exc.ResourceNotFound(_clip(ident))

    def me(self, *, claims: dict[str, Any]) -> DirectoryObject:
        """Every sandbox token is app-only (client credentials): /me has no user to name."""
        raise exc.BadRequest("/me request is only valid with delegated authentication flow.")

    def get_by_ids(
        self, *, claims: dict[str, Any], ids: Any, types: Any = None
    ) -> list[DirectoryObject]:
        """directoryObjects/getByIds: the objects among ``ids`` (unknown ids are left out)."""
        self.require(claims, DIRECTORY_READ)
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise exc.BadRequest("Invalid request: 'ids' must be an array of strings.")
        if not ids:
            raise exc.BadRequest("Invalid request: 'ids' must not be empty.")
        if len(ids) > MAX_IDS:
            raise exc.BadRequest(f"Invalid request: at most {MAX_IDS} ids are allowed.")
        if types is not None:
            if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
                raise exc.BadRequest("Invalid request: 'types' must be an array of strings.")
            for t in types:
                if (
                    t.removeprefix("microsoft.graph.").removeprefix("#microsoft.graph.")
                    not in KINDS
                ):
                    raise exc.BadRequest(f"Invalid type name '{_clip(t, 80)}'.")
        wanted_ids = [self._guid(i) for i in ids]
        kinds = {t.rsplit(".", 1)[-1] for t in types} if types else set(KINDS)
        objects: dict[str, DirectoryObject] = {}
        for app in self._apps(claims):
            for obj in (_service_principal(app), _application(app)):
                if obj.kind in kinds:
                    objects[obj.id.lower()] = obj
        return [objects[i] for i in dict.fromkeys(wanted_ids) if i in objects]
