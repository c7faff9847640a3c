"""Paths of the identity endpoints (method, regex, handler in responses.py)."""

__all__ = [
    "APP_SERVICE_PATH",
    "IMDS_HOST",
    "OIDC_SUFFIX",
    "URLS",
]

IMDS_HOST = "169.254.169.254"
# <region>.oic.prod-aks.azure.com/<tenant>/<oidc id>/: AKS's OIDC issuer hosts.
OIDC_SUFFIX = ".oic.prod-aks.azure.com"
# The App Service / Container Apps endpoint lives on the sandbox's own loopback address, as
# the platform's is a local sidecar (http://127.0.0.1:41741/MSI/token/, localhost:42356...).
APP_SERVICE_PATH = "/msi/token"

_ISSUER = r"/(?P<tenant>[0-9a-fA-F-]{36})/(?P<oidc_id>[0-9a-fA-F-]{36})"

URLS = {
    "imds": [
        ("GET", r"/metadata/identity/oauth2/token", "imds_token"),
    ],
    "app_service": [
        ("GET", APP_SERVICE_PATH + r"/?", "app_service_token"),
    ],
    "oidc": [
        ("GET", _ISSUER + r"/\.well-known/openid-configuration", "openid_configuration"),
        ("GET", _ISSUER + r"/openid/v1/jwks", "jwks"),
    ],
}
