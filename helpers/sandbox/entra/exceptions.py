"""Entra ID (AADSTS) errors, rendered as the token service renders them."""

from __future__ import annotations

import time
import uuid

from ..http import ServiceError

__all__ = [
    "AadError",
    "AssertionExpired",
    "AssertionKeyNotFound",
    "AssertionSignatureInvalid",
    "FederatedCredentialMismatch",
    "MalformedAssertion",
    "ExpiredClientSecret",
    "InvalidClientSecret",
    "InvalidResource",
    "InvalidScope",
    "InvalidTenant",
    "MissingClientSecret",
    "MissingParameter",
    "TemporarilyUnavailable",
    "UnauthorizedClient",
    "UnsupportedGrantType",
]


class AadError(ServiceError):
    error = "invalid_request"
    code = 0

    def __init__(self, description: str):
        super().__init__(description)
        self.description = description

    def payload(self) -> dict:
        trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
        return {
            "error": self.error,
            "error_description": (
                f"AADSTS{self.code}: {self.description} Trace ID: {trace} "
                f"Correlation ID: {corr} Timestamp: {stamp}"
            ),
            "error_codes": [self.code],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": corr,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
        }


class InvalidTenant(AadError):
    status, error, code = 400, "invalid_tenant", 90002

    def __init__(self, tenant: str):
        super().__init__(
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
            "are signing into the correct cloud. Check with your subscription administrator, "
            "this may happen if there are no active subscriptions for the tenant."
        )


class UnauthorizedClient(AadError):
    status, error, code = 400, "unauthorized_client", 700016

    def __init__(self, client_id: str, tenant: str):
        super().__init__(
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{tenant}'. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant. You may have "
            "sent your authentication request to the wrong tenant."
        )


class InvalidClientSecret(AadError):
    status, error, code = 401, "invalid_client", 7000215

    def __init__(self, client_id: str):
        super().__init__(
            "Invalid client secret provided. Ensure the secret being sent in the request is the "
            f"client secret value, not the client secret ID, for a secret added to app "
            f"'{client_id}'."
        )


class ExpiredClientSecret(AadError):
    status, error, code = 401, "invalid_client", 7000222

    def __init__(self, client_id: str):
        super().__init__(
            f"The provided client secret keys for app '{client_id}' are expired. Visit the Azure "
            "portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider "
            "using certificate credentials for added security: https://aka.ms/certCreds."
        )


class MissingClientSecret(AadError):
    status, error, code = 401, "invalid_client", 7000216

    def __init__(self):
        super().__init__(
            "'client_assertion', 'client_secret' or 'request' is required for the "
            "'client_credentials' grant type."
        )


class FederatedCredentialMismatch(AadError):
    """AADSTS70021: no federated identity credential of the app matches the assertion's
    issuer, subject and audience (the text Entra ID sends, with the three claims)."""

    status, error, code = 401, "invalid_client", 70021

    def __init__(self, issuer: str, subject: str, audience: str):
        super().__init__(
            "No matching federated identity record found for presented assertion. "
            f"Assertion Issuer: '{issuer}'. Assertion Subject: '{subject}'. "
            f"Assertion Audience: '{audience}'. "
            "https://docs.microsoft.com/en-us/azure/active-directory/develop/"
            "workload-identity-federation"
        )


class AssertionExpired(AadError):
    status, error, code = 401, "invalid_client", 700024

    def __init__(self, now: str, valid_from: str, expiry: str):
        super().__init__(
            f"Client assertion is not within its valid time range. Current time: {now}, "
            f"assertion valid from {valid_from}, expiry time of assertion {expiry}. Review the "
            "documentation at https://learn.microsoft.com/entra/identity-platform/"
            "certificate-credentials ."
        )


class AssertionKeyNotFound(AadError):
    status, error, code = 401, "invalid_client", 7000272

    def __init__(self, kid: str, issuer: str):
        super().__init__(
            f"The certificate with identifier {kid} used to sign the federated credential "
            f"could not be found in the metadata of identity provider {issuer}. Please validate "
            "that your Identity Provider's metadata exposes the key used to sign the incoming "
            "token."
        )


class AssertionSignatureInvalid(AadError):
    status, error, code = 401, "invalid_client", 50013

    def __init__(self):
        super().__init__(
            "Assertion failed signature validation. [Reason - The provided signature value "
            "did not match the expected signature value.]"
        )


class MalformedAssertion(AadError):
    status, error, code = 400, "invalid_request", 50027

    def __init__(self):
        super().__init__("JWT token is invalid or malformed.")


class MissingParameter(AadError):
    """AADSTS900144: a required form field is absent (also what a JSON or empty body gets)."""

    status, error, code = 400, "invalid_request", 900144

    def __init__(self, name: str):
        super().__init__(f"The request body must contain the following parameter: '{name}'.")


class UnsupportedGrantType(AadError):
    status, error, code = 400, "unsupported_grant_type", 70003

    def __init__(self, grant: str):
        super().__init__(f"The app requested an unsupported grant type '{grant}'.")


class InvalidScope(AadError):
    status, error, code = 400, "invalid_scope", 1002012

    def __init__(self, scope: str):
        super().__init__(
            f"The provided value for scope {scope} is not valid. Client credential flows must "
            "have a scope value with /.default suffixed to the resource identifier "
            "(application ID URI)."
        )


class InvalidResource(AadError):
    status, error, code = 400, "invalid_resource", 500011

    def __init__(self, resource: str, tenant: str):
        super().__init__(
            f"The resource principal named {resource} was not found in the tenant named "
            f"{tenant}. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant. You might "
            "have sent your authentication request to the wrong tenant."
        )


class TemporarilyUnavailable(AadError):
    """AADSTS50196, as the token endpoint answers when throttled or failing (fault injection).

    50196 is Entra's LoopDetected code; its text is the one Entra sends (captured verbatim in
    Azure/azure-sdk-for-net#23324)."""

    error, code = "temporarily_unavailable", 50196

    def __init__(self, status: int, retry_after: int | None = None):
        super().__init__(
            "The server terminated an operation because it encountered a client request loop. "
            "Please contact your app vendor."
        )
        self.status = status
        self.headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}

    def payload(self) -> dict:
        return {
            "error": self.error,
            "error_description": f"AADSTS{self.code}: {self.description}",
            "error_codes": [self.code],
        }
