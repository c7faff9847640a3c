"""Emulated Key Vault data plane: urls, responses (wire), models (rules), exceptions."""

__all__: list[str] = []
