"""Paths served on <vault>.vault.azure.net (method, regex, handler in responses.py)."""

__all__ = [
    "NAME",
    "URLS",
    "VERSION",
]

NAME = r"(?P<name>[^/]+)"
VERSION = r"(?P<version>[^/]*)"

URLS = [
    ("GET", r"/secrets/?", "get_secrets"),
    ("POST", r"/secrets/restore", "restore_secret"),
    ("GET", rf"/secrets/{NAME}/versions", "get_secret_versions"),
    ("POST", rf"/secrets/{NAME}/backup", "backup_secret"),
    ("PUT", rf"/secrets/{NAME}/?", "set_secret"),
    ("DELETE", rf"/secrets/{NAME}/?", "delete_secret"),
    ("GET", rf"/secrets/{NAME}/?", "get_secret"),
    ("GET", rf"/secrets/{NAME}/{VERSION}", "get_secret"),
    ("PATCH", rf"/secrets/{NAME}/?{VERSION}", "update_secret"),
    ("GET", r"/deletedsecrets/?", "get_deleted_secrets"),
    ("GET", rf"/deletedsecrets/{NAME}", "get_deleted_secret"),
    ("DELETE", rf"/deletedsecrets/{NAME}", "purge_deleted_secret"),
    ("POST", rf"/deletedsecrets/{NAME}/recover", "recover_deleted_secret"),
]
