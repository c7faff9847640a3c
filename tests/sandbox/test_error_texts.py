"""The sandbox's error texts, each pinned to a real response captured in public (issue 12).

Every case builds the sandbox's exception with the identifiers of a public capture and checks
that it reproduces that capture's text exactly (code, and status where the capture shows it).
The source of each case is its id; docs/sandbox-parity.md lists the same sources. No sandbox
is started: these are the exception classes the services raise.
"""

from __future__ import annotations

import pytest

from helpers.sandbox.arm import exceptions as arm
from helpers.sandbox.entra import exceptions as entra
from helpers.sandbox.graph import exceptions as graph
from helpers.sandbox.identity import exceptions as identity
from helpers.sandbox.keyvault import exceptions as kv

TENANT = "b388b808-0ec9-4a09-a414-a7cbbd8b7e9b"

# (source, exception, AADSTS code, OAuth error, description as captured)
ENTRA = [
    (
        "Azure/azure-cli#22145",
        entra.InvalidTenant("2b0623dd-90fa-4c5c-bee8-8dc18bd4d948"),
        90002,
        "invalid_tenant",
        "Tenant '2b0623dd-90fa-4c5c-bee8-8dc18bd4d948' not found. Check to make sure you have "
        "the correct tenant ID and are signing into the correct cloud. Check with your "
        "subscription administrator, this may happen if there are no active subscriptions for "
        "the tenant.",
    ),
    (
        "OfficeDev/microsoft-teams-apps-company-communicator#267",
        entra.UnauthorizedClient(
            "3bd1b8f2-452b-4ac3-a11d-12345e32e2f0", "a0343913-a606-4477-8d29-12345eb4cb08"
        ),
        700016,
        "unauthorized_client",
        "Application with identifier '3bd1b8f2-452b-4ac3-a11d-12345e32e2f0' was not found in "
        "the directory 'a0343913-a606-4477-8d29-12345eb4cb08'. This can happen if the "
        "application has not been installed by the administrator of the tenant or consented to "
        "by any user in the tenant. You may have sent your authentication request to the wrong "
        "tenant.",
    ),
    (
        "Azure/sap-automation#418",
        entra.InvalidClientSecret("4d856d1f-8648-456c-9bb2-f36273bbe4e3"),
        7000215,
        "invalid_client",
        "Invalid client secret provided. Ensure the secret being sent in the request is the "
        "client secret value, not the client secret ID, for a secret added to app "
        "'4d856d1f-8648-456c-9bb2-f36273bbe4e3'.",
    ),
    (
        "dotnet/sign#849",
        entra.ExpiredClientSecret("ccc25fb8-d83b-4225-b4b7-5f31bfb007be"),
        7000222,
        "invalid_client",
        "The provided client secret keys for app 'ccc25fb8-d83b-4225-b4b7-5f31bfb007be' are "
        "expired. Visit the Azure portal to create new keys for your app: "
        "https://aka.ms/NewClientSecret, or consider using certificate credentials for added "
        "security: https://aka.ms/certCreds.",
    ),
    (
        "stephaneey/azure-apim-extension#138",
        entra.MissingClientSecret(),
        7000216,
        "invalid_client",
        "'client_assertion', 'client_secret' or 'request' is required for the "
        "'client_credentials' grant type.",
    ),
    (
        "external-secrets/external-secrets#2783",
        entra.FederatedCredentialMismatch(
            "https://eastus.oic.prod-aks.azure.com/c90ea95b-aead-4931-b72e-f3e703fc342b/"
            "85ee619b-d637-4610-bacd-d4c64ff20348/",
            "system:serviceaccount:external-secrets:external-secrets",
            "api://AzureADTokenExchange",
        ),
        70021,
        "invalid_client",
        "No matching federated identity record found for presented assertion. Assertion "
        "Issuer: 'https://eastus.oic.prod-aks.azure.com/c90ea95b-aead-4931-b72e-f3e703fc342b/"
        "85ee619b-d637-4610-bacd-d4c64ff20348/'. Assertion Subject: "
        "'system:serviceaccount:external-secrets:external-secrets'. Assertion Audience: "
        "'api://AzureADTokenExchange'. "
        "https://docs.microsoft.com/en-us/azure/active-directory/develop/"
        "workload-identity-federation",
    ),
    (
        "AzureAD/microsoft-authentication-library-for-java#984",
        entra.AssertionExpired(
            "2025-08-29T05:47:32.1501147Z",
            "1970-01-01T00:00:00.0000000Z",
            "2025-08-29T00:30:05.0000000Z",
        ),
        700024,
        "invalid_client",
        "Client assertion is not within its valid time range. Current time: "
        "2025-08-29T05:47:32.1501147Z, assertion valid from 1970-01-01T00:00:00.0000000Z, expiry "
        "time of assertion 2025-08-29T00:30:05.0000000Z. Review the documentation at "
        "https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
    ),
    (
        "Azure/azure-workload-identity#1232",
        entra.AssertionKeyNotFound(
            "DFA184AB5E2B3F6529B8CFCE195305014236E297", "https://oidc.svasys.com"
        ),
        7000272,
        "invalid_client",
        "The certificate with identifier DFA184AB5E2B3F6529B8CFCE195305014236E297 used to sign "
        "the federated credential could not be found in the metadata of identity provider "
        "https://oidc.svasys.com. Please validate that your Identity Provider's metadata exposes "
        "the key used to sign the incoming token.",
    ),
    (
        "FriedrichWeinmann/MiniGraph#4",
        entra.MalformedAssertion(),
        50027,
        "invalid_request",
        "JWT token is invalid or malformed.",
    ),
    (
        "MicrosoftDocs/azure-docs#43780",
        entra.MissingParameter("grant_type"),
        900144,
        "invalid_request",
        "The request body must contain the following parameter: 'grant_type'.",
    ),
    (
        "AzureAD/microsoft-authentication-library-for-dotnet#3023",
        entra.UnsupportedGrantType("authorization_code"),
        70003,
        "unsupported_grant_type",
        "The app requested an unsupported grant type 'authorization_code'.",
    ),
    (
        "microsoftgraph/msgraph-sdk-python#181",
        entra.InvalidScope("User.Read"),
        1002012,
        "invalid_scope",
        "The provided value for scope User.Read is not valid. Client credential flows must have "
        "a scope value with /.default suffixed to the resource identifier (application ID URI).",
    ),
    (
        "Azure/azure-cli#16850",
        entra.InvalidResource("https://management.azure.com", TENANT),
        500011,
        "invalid_resource",
        f"The resource principal named https://management.azure.com was not found in the tenant "
        f"named {TENANT}. This can happen if the application has not been installed by the "
        "administrator of the tenant or consented to by any user in the tenant. You might have "
        "sent your authentication request to the wrong tenant.",
    ),
    (
        "Azure/azure-sdk-for-net#23324",
        entra.TemporarilyUnavailable(429),
        50196,
        "temporarily_unavailable",
        "The server terminated an operation because it encountered a client request loop. "
        "Please contact your app vendor.",
    ),
]


@pytest.mark.parametrize(
    ("err", "code", "error", "description"),
    [case[1:] for case in ENTRA],
    ids=[case[0] for case in ENTRA],
)
def test_entra_error_texts_match_public_captures(err, code, error, description):
    body = err.payload()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: {description}")


# (source, exception, status, code, message as captured)
JSON_ERRORS = [
    (
        "Azure/azure-sdk-for-js#25489",
        kv.SecretNotFound("secret1680785531243"),
        404,
        "SecretNotFound",
        "A secret with (name/id) secret1680785531243 was not found in this key vault. If you "
        "recently deleted this secret you may be able to recover it using the correct recovery "
        "command. For help resolving this issue, please see "
        "https://go.microsoft.com/fwlink/?linkid=2125182",
    ),
    (
        "Azure/azure-sdk-for-net#26027",
        kv.DeletedSecretNotFound("MySecretName"),
        404,
        "SecretNotFound",
        "Deleted Secret not found: MySecretName",
    ),
    (
        "microsoft/AzureKeyVaultExplorer#42",
        kv.ObjectIsDeletedButRecoverable("test2"),
        409,
        "Conflict",
        "Secret test2 is currently in a deleted but recoverable state, and its name cannot be "
        "reused; in this state, the secret can only be recovered or purged.",
    ),
    (
        "Azure/azure-sdk-for-python#19263",
        kv.ObjectIsBeingDeleted("foo"),
        409,
        "Conflict",
        "Secret foo is currently being deleted and cannot be re-created; retry later.",
    ),
    (
        "az-acme/az-acme-cli#14",
        kv.InvalidName("www.domain.tld"),
        400,
        "BadParameter",
        "The request URI contains an invalid name: www.domain.tld",
    ),
    (
        "dotnet/sign#403",
        kv.Throttled(1),
        429,
        "Throttled",
        "Request was not processed because too many requests were received. Reason: "
        "VaultRequestTypeLimitReached",
    ),
    (
        "hashicorp/terraform-provider-azurerm#3612",
        arm.AuthenticationFailed(),
        401,
        "AuthenticationFailed",
        "Authentication failed. The 'Authorization' header is missing.",
    ),
    (
        "Azure/ARO-RP#66",
        arm.AuthorizationFailed(
            "b9bc1545-a684-4e50-9a4d-2e2ee90bed6a",
            "b9bc1545-a684-4e50-9a4d-2e2ee90bed6a",
            "Microsoft.Storage/storageAccounts/write",
            "/subscriptions/225e02bc-43d0-43d1-a01a-17e584a4ef69/resourcegroups/aro-6hwuovvq/"
            "providers/Microsoft.Storage/storageAccounts/clusterixgbq",
        ),
        403,
        "AuthorizationFailed",
        "The client 'b9bc1545-a684-4e50-9a4d-2e2ee90bed6a' with object id "
        "'b9bc1545-a684-4e50-9a4d-2e2ee90bed6a' does not have authorization to perform action "
        "'Microsoft.Storage/storageAccounts/write' over scope "
        "'/subscriptions/225e02bc-43d0-43d1-a01a-17e584a4ef69/resourcegroups/aro-6hwuovvq/"
        "providers/Microsoft.Storage/storageAccounts/clusterixgbq' or the scope is invalid. If "
        "access was recently granted, please refresh your credentials.",
    ),
    (
        "Azure-Samples/azure-search-openai-demo#80",
        arm.ResourceNotFound("Microsoft.Search/searchServices", "gptkb-n5ibctygita4e", "rg-dev"),
        404,
        "ResourceNotFound",
        "The Resource 'Microsoft.Search/searchServices/gptkb-n5ibctygita4e' under resource group "
        "'rg-dev' was not found. For more details please go to "
        "https://aka.ms/ARMResourceNotFoundFix",
    ),
    (
        "hashicorp/terraform-provider-azurerm#15327",
        arm.ResourceGroupNotFound("<rgname>"),
        404,
        "ResourceGroupNotFound",
        "Resource group '<rgname>' could not be found.",
    ),
    (
        "Azure/azure-cli#33657",
        arm.SubscriptionNotFound("c23fa617-d0cf-4c92-a529-5e444a4cc1fa"),
        404,
        "SubscriptionNotFound",
        "The subscription 'c23fa617-d0cf-4c92-a529-5e444a4cc1fa' could not be found.",
    ),
    (
        "Azure-Samples/azure-search-openai-demo#1091",
        arm.RoleAssignmentExists(),
        409,
        "RoleAssignmentExists",
        "The role assignment already exists.",
    ),
    (
        "OfficeDev/microsoft-teams-apps-company-communicator#569",
        arm.RoleAssignmentUpdateNotPermitted(),
        409,
        "RoleAssignmentUpdateNotPermitted",
        "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
    ),
    (
        "Azure/avdaccelerator#76",
        arm.PrincipalNotFound(
            "0f14a80d-42e5-4d57-afe0-46acf9dfae05", "c7cb8e56-3c8d-431c-a94c-866e27a25b45"
        ),
        400,
        "PrincipalNotFound",
        "Principal 0f14a80d42e54d57afe046acf9dfae05 does not exist in the directory "
        "c7cb8e56-3c8d-431c-a94c-866e27a25b45. Check that you have the correct principal ID. If "
        "you are creating this principal and then immediately assigning a role, this error "
        "might be related to a replication delay. In this case, set the role assignment "
        "principalType property to a value, such as ServicePrincipal, User, or Group.  See "
        "https://aka.ms/docs-principaltype",
    ),
    (
        "Azure/azure-cli#26405",
        arm.MissingApiVersion(),
        400,
        "MissingApiVersionParameter",
        "The api-version query parameter (?api-version=) is required for all requests.",
    ),
    (
        "microsoftgraph/msgraph-sdk-powershell#2731",
        graph.InvalidAuthenticationToken(),
        401,
        "InvalidAuthenticationToken",
        "Access token is empty.",
    ),
    (
        "Azure-Samples/ms-identity-python-daemon#8",
        graph.AuthorizationRequestDenied(),
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    ),
    (
        "microsoftgraph/microsoft-graph-docs-contrib#6431",
        graph.ResourceNotFound("8c14a998-3c8d-4c52-ad09-c9032671ea31"),
        404,
        "Request_ResourceNotFound",
        "Resource '8c14a998-3c8d-4c52-ad09-c9032671ea31' does not exist or one of its queried "
        "reference-property objects are not present.",
    ),
    (
        "microsoftgraph/msgraph-beta-sdk-python#764",
        graph.UnknownSegment("auditLog"),
        400,
        "BadRequest",
        "Resource not found for the segment 'auditLog'.",
    ),
]


@pytest.mark.parametrize(
    ("err", "status", "code", "message"),
    [case[1:] for case in JSON_ERRORS],
    ids=[case[0] for case in JSON_ERRORS],
)
def test_key_vault_arm_and_graph_error_texts_match_public_captures(err, status, code, message):
    assert err.status == status
    assert err.payload()["error"]["code"] == code
    assert err.payload()["error"]["message"] == message


def test_managed_identity_error_texts_match_public_captures():
    # Azure/azure-sdk-for-net#46709 and microsoft/CromwellOnAzure#157 (IMDS), #43691 (App Service)
    assert identity.ImdsIdentityNotFound().payload() == {
        "error": "invalid_request",
        "error_description": "Identity not found",
    }
    body = identity.AppServiceUnknownIdentity().payload()
    assert (body["statusCode"], body["message"]) == (
        400,
        "Unable to load the proper Managed Identity.",
    )
