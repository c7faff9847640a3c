"""Key Vault state and rules: vaults, versioned secrets, soft delete, backups, authorization.

Every operation authenticates (``authenticate``) and authorizes (its ``caller``) in the order
Key Vault does, validates, and returns Python objects; responses.py turns them into
SecretBundle JSON. Handlers run on the sandbox's single event loop, so each operation is
atomic. An operation called without a caller is a trusted call (the control API's seeding).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, TypeVar

from ..arm.rbac import Authorization
from ..entra.models import Directory, bearer_token
from ..http import NOT_JSON
from . import exceptions as exc

__all__ = [
    "AUDIENCES",
    "AccessPolicy",
    "Caller",
    "KeyVaultBackend",
    "MAX_PAGE",
    "MAX_TAGS",
    "MAX_VALUE_BYTES",
    "NAME_RE",
    "OPERATIONS",
    "Page",
    "paginate",
    "SECRET_ACTION",
    "Secret",
    "SecretVersion",
    "Vault",
    "check_name",
]

AUDIENCES = ("https://vault.azure.net", "https://vault.azure.net/")
MAX_PAGE = 25
NAME_RE = re.compile(r"[0-9a-zA-Z-]{1,127}\Z")
MAX_VALUE_BYTES = 25 * 1024
MAX_TAGS = 15
SECRET_ACTION = "Microsoft.KeyVault/vaults/secrets/"

# operation -> (RBAC data action suffix, access-policy secret permission)
OPERATIONS = {
    "get": ("getSecret/action", "get"),
    "set": ("setSecret/action", "set"),
    "update": ("update/action", "set"),
    "list": ("readMetadata/action", "list"),
    "delete": ("delete", "delete"),
    "get_deleted": ("readMetadata/action", "list"),
    "list_deleted": ("readMetadata/action", "list"),
    "purge": ("purge/action", "purge"),
    "recover": ("recover/action", "recover"),
    "backup": ("backup/action", "backup"),
    "restore": ("restore/action", "restore"),
}


@dataclass
class SecretVersion:
    version: str
    value: str
    content_type: str | None = None
    tags: dict[str, str] | None = None
    enabled: bool = True
    nbf: int | None = None
    exp: int | None = None
    created: int = 0
    updated: int = 0


@dataclass
class Secret:
    name: str
    versions: dict[str, SecretVersion] = field(default_factory=dict)  # oldest first
    deleted_date: int | None = None
    scheduled_purge_date: int | None = None

    @property
    def latest(self) -> SecretVersion:
        return next(reversed(self.versions.values()))


@dataclass
class AccessPolicy:
    tenant_id: str
    object_id: str
    secrets: list[str] = field(default_factory=list)

    def grants(self, permission: str) -> bool:
        perms = {p.lower() for p in self.secrets}
        return "all" in perms or permission in perms


@dataclass
class Vault:
    name: str
    tenant_id: str
    subscription_id: str
    resource_group: str
    location: str = "westeurope"
    rbac: bool = True
    firewall_default_action: str = "Allow"  # Allow | Deny
    ip_rules: list[str] = field(default_factory=list)
    soft_delete_retention_days: int = 90
    purge_protection: bool = False
    legacy_access_denied: bool = False  # older access-policy vaults say AccessDenied
    access_policies: list[AccessPolicy] = field(default_factory=list)
    secrets: dict[str, Secret] = field(default_factory=dict)  # by lower-case name
    deleted: dict[str, Secret] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return f"https://{self.name}.vault.azure.net"

    @property
    def resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.KeyVault/vaults/{self.name}"
        )

    @property
    def recovery_level(self) -> str:
        return "Recoverable" if self.purge_protection else "Recoverable+Purgeable"


@dataclass(frozen=True)
class Caller:
    """Who is asking: the claims of an authenticated token, and the client address."""

    claims: dict[str, Any]
    client_ip: str = "127.0.0.1"


T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    """One page of a list operation; ``skiptoken`` continues it (None on the last page)."""

    items: list[T]
    size: int
    skiptoken: str | None = None


def paginate(items: list[T], maxresults: str | None, skiptoken: str | None) -> Page[T]:
    try:
        size = int(maxresults if maxresults is not None else MAX_PAGE)
        start = int(base64.urlsafe_b64decode(skiptoken or "MA==").decode())
    except ValueError as err:
        raise exc.BadParameter("Invalid maxresults or $skiptoken.") from err
    if start < 0:
        raise exc.BadParameter("Invalid $skiptoken.")
    if not 1 <= size <= MAX_PAGE:
        raise exc.BadParameter(f"The value {size} for maxresults is not between 1 and 25.")
    following = None
    if start + size < len(items):
        following = base64.urlsafe_b64encode(str(start + size).encode()).decode()
    return Page(items[start : start + size], size, following)


def _object(body: Any) -> dict[str, Any]:
    if body is NOT_JSON:
        raise exc.BadParameter("The request body is not valid JSON.")
    if not isinstance(body, dict):
        raise exc.BadParameter("The request body must be a JSON object.")
    return body


def _caller(claims: dict[str, Any]) -> str:
    return f"appid={claims.get('appid')};oid={claims.get('oid')};iss={claims.get('iss')}"


def check_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise exc.InvalidName(name)


class KeyVaultBackend:
    def __init__(
        self, authorization: Authorization, directory: Directory, backup_key: bytes = b"sandbox"
    ) -> None:
        self.vaults: dict[str, Vault] = {}
        self.authorization = authorization
        self.directory = directory
        self.backup_key = backup_key

    # -- state ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"vaults": [asdict(v) for v in self.vaults.values()]}

    def load(self, data: dict[str, Any]) -> None:
        self.vaults = {}
        for raw in data.get("vaults", []):
            vault = Vault(
                **{
                    **raw,
                    "access_policies": [AccessPolicy(**p) for p in raw.get("access_policies", [])],
                    "secrets": {k: _secret(s) for k, s in raw.get("secrets", {}).items()},
                    "deleted": {k: _secret(s) for k, s in raw.get("deleted", {}).items()},
                }
            )
            self.vaults[vault.name.lower()] = vault

    def vault_for_host(self, host: str) -> Vault | None:
        if not host.endswith(".vault.azure.net"):
            return None
        return self.vaults.get(host.removesuffix(".vault.azure.net").lower())

    # -- authentication and authorization ------------------------------------------------
    @staticmethod
    def require_api_version(*, api_version: str | None) -> None:
        """Key Vault answers 400 BadParameter to a request without ``api-version``, before it
        looks at the token (any value is accepted: clients pin their own)."""
        if not api_version:
            raise exc.MissingApiVersion()

    def authenticate(self, *, vault: Vault, authorization: str) -> dict[str, Any]:
        """The claims of the request's bearer token, checked as Key Vault checks them."""
        token = bearer_token(authorization)
        if token is None:
            raise exc.Unauthorized(
                vault.tenant_id, "AKV10000: Request is missing a Bearer or PoP token."
            )
        claims = self.directory.verify_signature(token)
        if claims is None:
            raise exc.Unauthorized(
                vault.tenant_id, "[InvalidSignature] Error validating token: 'S2S12005'."
            )
        if claims.get("aud") not in AUDIENCES:
            raise exc.Unauthorized(
                vault.tenant_id,
                f"AKV10022: Invalid audience. Expected https://vault.azure.net, found: "
                f"{claims.get('aud')}.",
            )
        expected_iss = f"https://sts.windows.net/{vault.tenant_id}/"
        if claims.get("iss") != expected_iss:
            raise exc.Unauthorized(
                vault.tenant_id,
                f"AKV10032: Invalid issuer. Expected one of {expected_iss}, "
                f"https://login.microsoftonline.com/{vault.tenant_id}/v2.0, found "
                f"{claims.get('iss')}.",
            )
        now = time.time()
        if claims.get("exp", 0) <= now or claims.get("nbf", 0) > now + 300:
            raise exc.Unauthorized(
                vault.tenant_id, "[TokenExpired] Error validating token: 'S2S12086'."
            )
        return claims

    def _admit(
        self, vault: Vault, caller: Caller | None, operation: str, name: str | None = None
    ) -> None:
        if caller is not None:
            self.authorize(vault, caller.claims, operation, name, caller.client_ip)

    def authorize(
        self,
        vault: Vault,
        claims: dict[str, Any],
        operation: str,
        name: str | None,
        client_ip: str,
    ) -> None:
        """Firewall first, then RBAC or the vault's access policies."""
        if vault.firewall_default_action.lower() == "deny" and client_ip not in vault.ip_rules:
            raise exc.Forbidden(
                "Client address is not authorized and caller is not a trusted service.\r\n"
                f"Client address: {client_ip}\r\nCaller: {_caller(claims)}\r\n"
                f"Vault: {vault.name};location={vault.location}",
                "ForbiddenByFirewall",
            )
        suffix, permission = OPERATIONS[operation]
        oid = str(claims.get("oid", ""))
        if vault.rbac:
            action = SECRET_ACTION + suffix
            resource = vault.resource_id + (f"/secrets/{name}" if name else "")
            if self.authorization.allows(oid, action, resource, data=True):
                return
            raise exc.Forbidden(
                "Caller is not authorized to perform action on resource.\r\n"
                "If role assignments, deny assignments or role definitions were changed "
                "recently, please observe propagation time.\r\n"
                f"Caller: {_caller(claims)}\r\nAction: '{action}'\r\n"
                f"Resource: '{resource.lower()}'\r\nAssignment: (not found)\r\n"
                "DenyAssignmentId: null\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\n"
                f"Vault: {vault.name};location={vault.location}\r\n",
                "ForbiddenByRbac",
            )
        tid = str(claims.get("tid", "")).lower()
        for policy in vault.access_policies:
            if (
                policy.object_id.lower() == oid.lower()
                and policy.tenant_id.lower() == tid
                and policy.grants(permission)
            ):
                return
        raise exc.Forbidden(
            f"The user, group or application '{_caller(claims)}' does not have secrets "
            f"{permission} permission on key vault '{vault.name};location={vault.location}'. "
            "For help resolving this issue, please see "
            "https://go.microsoft.com/fwlink/?linkid=2125287",
            "AccessDenied" if vault.legacy_access_denied else "ForbiddenByPolicy",
        )

    # -- operations (names follow the REST API's operation ids) --------------------------
    def set_secret(
        self, vault: Vault, name: str, body: Any, *, caller: Caller | None = None
    ) -> tuple[Secret, SecretVersion]:
        self._admit(vault, caller, "set", name)
        body = _object(body)
        check_name(name)
        value = body.get("value")
        if not isinstance(value, str):
            raise exc.BadParameter("The parameter 'value' is required and must be a string.")
        if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
            raise exc.BadParameter(
                f"The secret value is too long. The maximum size is {MAX_VALUE_BYTES} bytes."
            )
        key = name.lower()
        if key in vault.deleted:
            raise exc.ObjectIsDeletedButRecoverable(vault.deleted[key].name)
        attrs = _attributes(body.get("attributes"))
        tags = _tags(body.get("tags"))
        now = int(time.time())
        version = SecretVersion(
            version=uuid.uuid4().hex,
            value=value,
            content_type=_content_type(body.get("contentType")),
            tags=tags,
            enabled=attrs.get("enabled", True),
            nbf=attrs.get("nbf"),
            exp=attrs.get("exp"),
            created=now,
            updated=now,
        )
        secret = vault.secrets.get(key)
        if secret is None:
            secret = vault.secrets[key] = Secret(name=name)
        secret.versions[version.version] = version
        return secret, version

    def _active(self, vault: Vault, name: str) -> Secret:
        check_name(name)
        secret = vault.secrets.get(name.lower())
        if secret is None:
            raise exc.SecretNotFound(name)
        return secret

    def _version(self, secret: Secret, version: str | None) -> SecretVersion:
        if not version:
            return secret.latest
        found = secret.versions.get(version.lower())
        if found is None:
            raise exc.SecretNotFound(secret.name, version)
        return found

    def get_secret(
        self, vault: Vault, name: str, version: str | None = None, *, caller: Caller | None = None
    ) -> tuple[Secret, SecretVersion]:
        self._admit(vault, caller, "get", name)
        secret = self._active(vault, name)
        found = self._version(secret, version)
        if not found.enabled:
            raise exc.Forbidden(
                "Operation get is not allowed on a disabled secret.", "SecretDisabled"
            )
        return secret, found

    def update_secret(
        self,
        vault: Vault,
        name: str,
        version: str | None,
        body: Any,
        *,
        caller: Caller | None = None,
    ) -> tuple[Secret, SecretVersion]:
        self._admit(vault, caller, "update", name)
        body = _object(body)
        secret = self._active(vault, name)
        found = self._version(secret, version)
        if "value" in body:
            raise exc.BadParameter("The secret value cannot be changed by an update.")
        attrs = _attributes(body.get("attributes"))
        for attr in ("enabled", "nbf", "exp"):
            if attr in attrs:
                setattr(found, attr, attrs[attr])
        if "contentType" in body:
            found.content_type = _content_type(body["contentType"])
        if "tags" in body:
            found.tags = _tags(body["tags"])
        found.updated = int(time.time())
        return secret, found

    def get_secrets(
        self,
        vault: Vault,
        *,
        caller: Caller | None = None,
        maxresults: str | None = None,
        skiptoken: str | None = None,
    ) -> Page[Secret]:
        self._admit(vault, caller, "list")
        found = sorted(vault.secrets.values(), key=lambda s: s.name.lower())
        return paginate(found, maxresults, skiptoken)

    def get_secret_versions(
        self,
        vault: Vault,
        name: str,
        *,
        caller: Caller | None = None,
        maxresults: str | None = None,
        skiptoken: str | None = None,
    ) -> tuple[Secret, Page[SecretVersion]]:
        self._admit(vault, caller, "list", name)
        secret = self._active(vault, name)
        return secret, paginate(list(secret.versions.values()), maxresults, skiptoken)

    def delete_secret(self, vault: Vault, name: str, *, caller: Caller | None = None) -> Secret:
        self._admit(vault, caller, "delete", name)
        secret = self._active(vault, name)
        now = int(time.time())
        secret.deleted_date = now
        secret.scheduled_purge_date = now + vault.soft_delete_retention_days * 86400
        del vault.secrets[name.lower()]
        vault.deleted[name.lower()] = secret
        return secret

    def get_deleted_secret(
        self, vault: Vault, name: str, *, caller: Caller | None = None
    ) -> Secret:
        self._admit(vault, caller, "get_deleted", name)
        check_name(name)
        secret = vault.deleted.get(name.lower())
        if secret is None:
            raise exc.DeletedSecretNotFound(name)
        return secret

    def get_deleted_secrets(
        self,
        vault: Vault,
        *,
        caller: Caller | None = None,
        maxresults: str | None = None,
        skiptoken: str | None = None,
    ) -> Page[Secret]:
        self._admit(vault, caller, "list_deleted")
        found = sorted(vault.deleted.values(), key=lambda s: s.name.lower())
        return paginate(found, maxresults, skiptoken)

    def purge_deleted_secret(
        self, vault: Vault, name: str, *, caller: Caller | None = None
    ) -> None:
        self._admit(vault, caller, "purge", name)
        self.get_deleted_secret(vault, name)
        if vault.purge_protection:
            raise exc.Forbidden(
                "Operation 'DeletedSecretPurge' is not allowed because purge protection is "
                "enabled for this vault. Key Vault service will automatically purge it after "
                "the retention period has passed.",
                "ForbiddenByPurgeProtection",
            )
        del vault.deleted[name.lower()]

    def recover_deleted_secret(
        self, vault: Vault, name: str, *, caller: Caller | None = None
    ) -> Secret:
        self._admit(vault, caller, "recover", name)
        secret = self.get_deleted_secret(vault, name)
        del vault.deleted[name.lower()]
        secret.deleted_date = secret.scheduled_purge_date = None
        vault.secrets[name.lower()] = secret
        return secret

    def backup_secret(self, vault: Vault, name: str, *, caller: Caller | None = None) -> str:
        self._admit(vault, caller, "backup", name)
        secret = self._active(vault, name)
        payload = json.dumps({"v": 1, "secret": asdict(secret)}).encode()
        mac = hmac.new(self.backup_key, payload, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")

    def restore_secret(self, vault: Vault, body: Any, *, caller: Caller | None = None) -> Secret:
        self._admit(vault, caller, "restore")
        blob = _object(body).get("value")
        if not isinstance(blob, str):
            raise exc.BadParameter("The parameter 'value' (the backup blob) is required.")
        try:
            raw = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
            mac, payload = raw[:32], raw[32:]
            if not hmac.compare_digest(
                mac, hmac.new(self.backup_key, payload, hashlib.sha256).digest()
            ):
                raise ValueError("bad mac")
            secret = _secret(json.loads(payload)["secret"])
        except (ValueError, KeyError, TypeError) as err:
            raise exc.BadParameter("The backup blob is corrupted or invalid.") from err
        key = secret.name.lower()
        if key in vault.deleted:
            raise exc.ObjectIsDeletedButRecoverable(secret.name)
        if key in vault.secrets:
            raise exc.SecretAlreadyExists(secret.name)
        secret.deleted_date = secret.scheduled_purge_date = None
        vault.secrets[key] = secret
        return secret

    def iter_secret_values(self) -> Iterator[str]:
        """Every stored value (for leak scans in tests)."""
        for vault in self.vaults.values():
            for secret in (*vault.secrets.values(), *vault.deleted.values()):
                for version in secret.versions.values():
                    yield version.value


MAX_TAG_NAME, MAX_TAG_VALUE, MAX_CONTENT_TYPE = 512, 256, 255  # the service's own limits


def _tags(tags: Any) -> dict[str, str] | None:
    if tags is None:
        return None
    if not isinstance(tags, dict) or len(tags) > MAX_TAGS:
        raise exc.BadParameter(f"Tags must be an object with at most {MAX_TAGS} entries.")
    for key, value in tags.items():
        if not isinstance(value, str) or len(key) > MAX_TAG_NAME or len(value) > MAX_TAG_VALUE:
            raise exc.BadParameter(
                f"Tag names are at most {MAX_TAG_NAME} characters and tag values strings of at "
                f"most {MAX_TAG_VALUE} characters."
            )
    return dict(tags)


def _content_type(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) > MAX_CONTENT_TYPE):
        raise exc.BadParameter(
            f"The parameter 'contentType' must be a string of at most {MAX_CONTENT_TYPE} "
            "characters."
        )
    return value


def _attributes(raw: Any) -> dict[str, Any]:
    """A secret's attributes as the service checks them: enabled a boolean, nbf/exp epochs."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise exc.BadParameter("The parameter 'attributes' must be an object.")
    if "enabled" in raw and not isinstance(raw["enabled"], bool):
        raise exc.BadParameter("The attribute 'enabled' must be a boolean.")
    for name in ("nbf", "exp"):
        value = raw.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise exc.BadParameter(f"The attribute '{name}' must be a number of seconds.")
    return raw


def _secret(raw: dict[str, Any]) -> Secret:
    versions = {k: SecretVersion(**v) for k, v in raw.get("versions", {}).items()}
    return Secret(**{**raw, "versions": versions})
