"""Errors of the identity endpoints, each rendered in its endpoint's own body shape.

IMDS answers OAuth2-style ``{"error", "error_description"}`` (and a bare ``{"error": ...,
"newest-versions"}`` for a bad api-version); the App Service / Container Apps endpoint
answers ``{"statusCode", "message", "correlationId"}``. No answer here is a 404, 410, 429 or
5xx: azure-identity retries those from IMDS for up to a minute and a half.
"""

from __future__ import annotations

import uuid

from ..http import ServiceError

__all__ = [
    "AppServiceBadApiVersion",
    "AppServiceError",
    "AppServiceHeaderInvalid",
    "AppServiceInvalidResource",
    "AppServiceMissingResource",
    "AppServiceUnknownIdentity",
    "IMDS_VERSIONS",
    "ImdsBadApiVersion",
    "ImdsError",
    "ImdsIdentityNotFound",
    "ImdsInvalidResource",
    "ImdsMetadataHeaderMissing",
    "ImdsMissingResource",
    "resource_not_found",
]

IMDS_VERSIONS = ["2025-04-07", "2024-07-17", "2024-03-15"]


def resource_not_found(resource: str, tenant: str) -> str:
    return (
        f"AADSTS500011: The resource principal named {resource} was not found in the tenant "
        f"named {tenant}. This can happen if the application has not been installed by the "
        "administrator of the tenant or consented to by any user in the tenant. You might "
        "have sent your authentication request to the wrong tenant."
    )


class ImdsError(ServiceError):
    status = 400
    error = "invalid_request"

    def __init__(self, description: str):
        super().__init__(description)
        self.description = description

    def payload(self) -> dict:
        return {"error": self.error, "error_description": self.description}


class ImdsMetadataHeaderMissing(ImdsError):
    def __init__(self):
        super().__init__("Required metadata header not specified")


class ImdsIdentityNotFound(ImdsError):
    """No identity with the requested id is assigned to the VM, or none at all."""

    def __init__(self):
        super().__init__("Identity not found")


class ImdsMissingResource(ImdsError):
    def __init__(self):
        super().__init__("Required query variable 'resource' is missing")


class ImdsInvalidResource(ImdsError):
    error = "invalid_resource"

    def __init__(self, resource: str, tenant: str):
        super().__init__(resource_not_found(resource, tenant))


class ImdsBadApiVersion(ImdsError):
    def __init__(self):
        super().__init__(
            "Bad request. api-version is invalid or was not specified in the request. For "
            "more information refer to aka.ms/azureimds"
        )

    def payload(self) -> dict:
        return {"error": self.description, "newest-versions": IMDS_VERSIONS}


class AppServiceError(ServiceError):
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def payload(self) -> dict:
        return {
            "statusCode": self.status,
            "message": self.message,
            "correlationId": str(uuid.uuid4()),
        }


class AppServiceUnknownIdentity(AppServiceError):
    def __init__(self):
        super().__init__("Unable to load the proper Managed Identity.")


class AppServiceHeaderInvalid(AppServiceError):
    def __init__(self):
        super().__init__("The X-IDENTITY-HEADER header is missing or invalid.")


class AppServiceBadApiVersion(AppServiceError):
    def __init__(self):
        super().__init__("The api-version is missing or not supported; use 2019-08-01.")


class AppServiceMissingResource(AppServiceError):
    def __init__(self):
        super().__init__("The resource query parameter is required.")


class AppServiceInvalidResource(AppServiceError):
    def __init__(self, resource: str, tenant: str):
        super().__init__(resource_not_found(resource, tenant))
