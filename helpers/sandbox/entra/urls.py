"""Paths served on login.microsoftonline.com (method, regex, handler in responses.py)."""

__all__ = [
    "TENANT",
    "URLS",
]

TENANT = r"(?P<tenant>[^/]+)"

URLS = [
    ("GET", r"/common/discovery/instance", "instance_discovery"),
    ("GET", rf"/{TENANT}/v2\.0/\.well-known/openid-configuration", "openid_configuration"),
    ("GET", rf"/{TENANT}/\.well-known/openid-configuration", "openid_configuration"),
    ("GET", rf"/{TENANT}/discovery/(?:v2\.0/)?keys", "keys"),
    ("POST", rf"/{TENANT}/oauth2/v2\.0/token", "token"),
]
