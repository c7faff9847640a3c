"""Key Vault data-plane errors, rendered as the service renders them."""

from __future__ import annotations

from ..http import ServiceError

__all__ = [
    "BadParameter",
    "DeletedSecretNotFound",
    "Forbidden",
    "InvalidName",
    "KeyVaultError",
    "MethodNotAllowed",
    "MissingApiVersion",
    "ObjectIsBeingDeleted",
    "ObjectIsDeletedButRecoverable",
    "RESOURCE",
    "SecretAlreadyExists",
    "SecretNotFound",
    "ServiceUnavailable",
    "Throttled",
    "Unauthorized",
]

RESOURCE = "https://vault.azure.net"


class KeyVaultError(ServiceError):
    code = "BadParameter"
    inner: str | None = None

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def payload(self) -> dict:
        # The service leaves innererror out entirely when there is none (e.g. the 401
        # challenge body is exactly {"error":{"code":"Unauthorized","message":"AKV10000: ..."}}).
        error: dict = {"code": self.code, "message": self.message}
        if self.inner:
            error["innererror"] = {"code": self.inner}
        return {"error": error}


class Unauthorized(KeyVaultError):
    """401 with the bearer challenge the SDK needs to find the tenant."""

    status, code = 401, "Unauthorized"

    def __init__(self, tenant_id: str, message: str):
        super().__init__(message)
        self.headers = {
            "WWW-Authenticate": (
                f'Bearer authorization="https://login.microsoftonline.com/{tenant_id}", '
                f'resource="{RESOURCE}"'
            )
        }


class SecretNotFound(KeyVaultError):
    status, code = 404, "SecretNotFound"

    def __init__(self, name: str, version: str | None = None):
        what = f"{name}/{version}" if version else name
        super().__init__(
            f"A secret with (name/id) {what} was not found in this key vault. If you recently "
            "deleted this secret you may be able to recover it using the correct recovery "
            "command. For help resolving this issue, please see "
            "https://go.microsoft.com/fwlink/?linkid=2125182"
        )


class DeletedSecretNotFound(KeyVaultError):
    status, code = 404, "SecretNotFound"

    def __init__(self, name: str):
        super().__init__(f"Deleted Secret not found: {name}")


class ObjectIsDeletedButRecoverable(KeyVaultError):
    status, code, inner = 409, "Conflict", "ObjectIsDeletedButRecoverable"

    def __init__(self, name: str):
        super().__init__(
            f"Secret {name} is currently in a deleted but recoverable state, and its name cannot "
            "be reused; in this state, the secret can only be recovered or purged."
        )


class ObjectIsBeingDeleted(KeyVaultError):
    """A write to a name whose deletion (or purge) is still in progress; the text Key Vault sends
    (Azure/azure-sdk-for-python#19263; the same shape as ObjectIsBeingRecovered's in
    microsoft/AzureTRE#2824)."""

    status, code, inner = 409, "Conflict", "ObjectIsBeingDeleted"

    def __init__(self, name: str):
        super().__init__(
            f"Secret {name} is currently being deleted and cannot be re-created; retry later."
        )


class SecretAlreadyExists(KeyVaultError):
    status, code = 409, "Conflict"

    def __init__(self, name: str):
        super().__init__(
            f"There was a conflict restoring the secret '{name}'. A secret with that name "
            "already exists in this key vault."
        )


class Forbidden(KeyVaultError):
    status, code = 403, "Forbidden"

    def __init__(self, message: str, inner: str):
        super().__init__(message)
        self.inner = inner


class BadParameter(KeyVaultError):
    status, code = 400, "BadParameter"


class InvalidName(BadParameter):
    def __init__(self, name: str):
        super().__init__(f"The request URI contains an invalid name: {name}")


class MissingApiVersion(BadParameter):
    """A data-plane request without ``api-version`` (every SDK, az and Airflow send one)."""

    def __init__(self):
        super().__init__("The request URI contains an invalid or missing api-version.")


class Throttled(KeyVaultError):
    status, code = 429, "Throttled"

    def __init__(self, retry_after: int):
        super().__init__(
            "Request was not processed because too many requests were received. Reason: "
            "VaultRequestTypeLimitReached"
        )
        self.headers = {"Retry-After": str(retry_after)}


class ServiceUnavailable(KeyVaultError):
    code = "ServiceUnavailable"

    def __init__(self, status: int):
        super().__init__("The service is temporarily unavailable. Please retry later.")
        self.status = status


class MethodNotAllowed(KeyVaultError):
    status, code = 405, "MethodNotAllowed"

    def __init__(self, method: str, path: str):
        super().__init__(f"The requested resource does not support http method '{method}'.")
