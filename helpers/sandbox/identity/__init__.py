"""Emulated identity endpoints of Azure hosts: the App Service / Container Apps managed
identity endpoint, IMDS (169.254.169.254, through the proxy) and the AKS OIDC issuer that
signs projected service-account tokens. urls, responses (wire), models (rules), exceptions."""

__all__: list[str] = []
