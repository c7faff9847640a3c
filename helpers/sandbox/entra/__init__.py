"""Emulated Entra ID token service: urls, responses (wire), models (rules), exceptions."""

__all__: list[str] = []
