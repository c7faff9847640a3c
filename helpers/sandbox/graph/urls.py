"""Paths served on graph.microsoft.com (method, regex, handler in responses.py).

Matched case-insensitively, as Graph matches segment names. The last rows catch every other
path, so an unknown segment gets Graph's own 400 (after authentication, as Graph does).
"""

__all__ = [
    "ALT_KEY",
    "ID",
    "URLS",
    "V1",
]

V1 = r"/v1\.0"
ID = r"(?P<ident>[^/()]+)"
ALT_KEY = r"\(appId='(?P<app_id>[^']*)'\)"

URLS = [
    ("GET", rf"{V1}/servicePrincipals/?", "list_service_principals"),
    ("GET", rf"{V1}/servicePrincipals{ALT_KEY}", "get_service_principal_by_app_id"),
    ("GET", rf"{V1}/servicePrincipals/{ID}", "get_service_principal"),
    ("GET", rf"{V1}/applications/?", "list_applications"),
    ("GET", rf"{V1}/applications{ALT_KEY}", "get_application_by_app_id"),
    ("GET", rf"{V1}/applications/{ID}", "get_application"),
    ("GET", rf"{V1}/users/?", "list_users"),
    ("GET", rf"{V1}/users/{ID}", "get_user"),
    ("GET", rf"{V1}/me", "me"),
    ("POST", rf"{V1}/directoryObjects/(?:microsoft\.graph\.)?getByIds", "get_by_ids"),
    *[
        (method, r"(?P<path>/.*)", "unknown_resource")
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
    ],
]
