"""Azure Resource Manager errors, rendered as ARM renders them."""

from __future__ import annotations

from ..http import ServiceError

__all__ = [
    "AUTHORITY",
    "ArmError",
    "AuthenticationFailed",
    "AuthorizationFailed",
    "InjectedFault",
    "InvalidAuthenticationToken",
    "InvalidRequestContent",
    "MissingApiVersion",
    "PrincipalNotFound",
    "ResourceGroupNotFound",
    "ResourceNotFound",
    "RoleAssignmentExists",
    "RoleAssignmentNotFound",
    "RoleAssignmentUpdateNotPermitted",
    "RoleDefinitionDoesNotExist",
    "SubscriptionNotFound",
    "SubscriptionRequestsThrottled",
    "UnsupportedMediaType",
]

AUTHORITY = "https://login.microsoftonline.com/common"


class ArmError(ServiceError):
    code = "BadRequest"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def payload(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


class AuthenticationFailed(ArmError):
    status, code = 401, "AuthenticationFailed"

    def __init__(
        self, message: str = "Authentication failed. The 'Authorization' header is missing."
    ):
        super().__init__(message)
        self.headers = {
            "WWW-Authenticate": (
                f'Bearer authorization_uri="{AUTHORITY}", error="invalid_token", '
                'error_description="The authentication failed because of missing '
                "'Authorization' header.\""
            )
        }


class InvalidAuthenticationToken(ArmError):
    status, code = 401, "InvalidAuthenticationToken"

    def __init__(self, message: str = "The access token is invalid.", code: str | None = None):
        super().__init__(message)
        self.code = code or self.code
        self.headers = {
            "WWW-Authenticate": (
                f'Bearer authorization_uri="{AUTHORITY}", error="invalid_token", '
                'error_description="The access token is invalid."'
            )
        }


class AuthorizationFailed(ArmError):
    status, code = 403, "AuthorizationFailed"

    def __init__(self, oid: str, appid: str, action: str, scope: str):
        super().__init__(
            f"The client '{appid}' with object id '{oid}' does not have authorization to "
            f"perform action '{action}' over scope '{scope}' or the scope is invalid. If access "
            "was recently granted, please refresh your credentials."
        )


class ResourceNotFound(ArmError):
    status, code = 404, "ResourceNotFound"

    def __init__(self, kind: str, name: str, group: str):
        super().__init__(
            f"The Resource '{kind}/{name}' under resource group '{group}' was not found. For "
            "more details please go to https://aka.ms/ARMResourceNotFoundFix"
        )


class ResourceGroupNotFound(ArmError):
    status, code = 404, "ResourceGroupNotFound"

    def __init__(self, group: str):
        super().__init__(f"Resource group '{group}' could not be found.")


class SubscriptionNotFound(ArmError):
    status, code = 404, "SubscriptionNotFound"

    def __init__(self, sub: str):
        super().__init__(f"The subscription '{sub}' could not be found.")


class RoleAssignmentNotFound(ArmError):
    status, code = 404, "RoleAssignmentNotFound"

    def __init__(self, name: str):
        super().__init__(f"The role assignment '{name}' is not found.")


class RoleAssignmentExists(ArmError):
    status, code = 409, "RoleAssignmentExists"

    def __init__(self):
        super().__init__("The role assignment already exists.")


class RoleAssignmentUpdateNotPermitted(ArmError):
    """PUT on an existing assignment name with another scope, role or principal."""

    status, code = 409, "RoleAssignmentUpdateNotPermitted"

    def __init__(self):
        super().__init__(
            "Tenant ID, application ID, principal ID, and scope are not allowed to be updated."
        )


class PrincipalNotFound(ArmError):
    status, code = 400, "PrincipalNotFound"

    def __init__(self, principal: str, tenant: str):
        super().__init__(
            f"Principal {principal.replace('-', '')} does not exist in the directory {tenant}. "
            "Check that you have the correct principal ID. If you are creating this principal "
            "and then immediately assigning a role, this error might be related to a replication "
            "delay. In this case, set the role assignment principalType property to a value, "
            "such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype"
        )


class RoleDefinitionDoesNotExist(ArmError):
    status, code = 400, "RoleDefinitionDoesNotExist"

    def __init__(self, role_id: str):
        super().__init__(f"The specified role definition with ID '{role_id}' does not exist.")


class InvalidRequestContent(ArmError):
    status, code = 400, "InvalidRequestContent"


class UnsupportedMediaType(ArmError):
    status, code = 415, "UnsupportedMediaType"

    def __init__(self, content_type: str):
        super().__init__(
            f"The content media type '{content_type}' is not supported. Only 'application/json' "
            "is supported."
        )


class MissingApiVersion(ArmError):
    status, code = 400, "MissingApiVersionParameter"

    def __init__(self):
        super().__init__(
            "The api-version query parameter (?api-version=) is required for all requests."
        )


class InjectedFault(ArmError):
    """A throttle (429 + Retry-After) of a tenant-level request, or a server error, injected
    through the control API."""

    def __init__(self, status: int, retry_after: int | None = None):
        throttled = status == 429
        super().__init__(
            "The request is being throttled." if throttled else "Injected by the sandbox."
        )
        self.status = status
        self.code = "TooManyRequests" if throttled else "ServerError"
        self.headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}


class SubscriptionRequestsThrottled(ArmError):
    """429 for a subscription's request over ARM's limit, as ARM words it."""

    status, code = 429, "SubscriptionRequestsThrottled"

    def __init__(self, subscription: str, operation: str, retry_after: int):
        super().__init__(
            f"Number of requests for subscription '{subscription}' and operation "
            f"'{operation}' exceeded the backend storage limit. Please try again after "
            f"'{retry_after}' seconds."
        )
        self.headers = {"Retry-After": str(retry_after)}
