"""Emulated ARM sliver: urls, responses (wire), models (rules), rbac, exceptions."""

__all__: list[str] = []
