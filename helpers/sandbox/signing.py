"""One RS256 signing key as a token issuer holds it: the key id clients look up, the public
JWK they verify with, signing, and the PEM kept in the state directory. Entra's token signer
and the AKS-like OIDC issuer each hold one; they differ only in how the key id is derived."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["SigningKey", "b64url_uint", "sha1_thumbprint", "sha256_key_id"]


def b64url_uint(n: int) -> str:
    """An RSA modulus or exponent as a JWK member (base64url, no padding)."""
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def sha1_thumbprint(der: bytes) -> str:
    """Entra's style: the key id is an x5t-like SHA-1 thumbprint."""
    return base64.urlsafe_b64encode(hashlib.sha1(der).digest()).decode().rstrip("=")  # noqa: S324


def sha256_key_id(der: bytes) -> str:
    """The Kubernetes service-account issuer's style: a SHA-256 digest of the public key."""
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:24]).decode().rstrip("=")


class SigningKey:
    def __init__(self, key_id: Callable[[bytes], str]) -> None:
        self.private: rsa.RSAPrivateKey = rsa.generate_private_key(65537, 2048)
        self._key_id = key_id

    @property
    def public(self) -> rsa.RSAPublicKey:
        return self.private.public_key()

    @property
    def kid(self) -> str:
        der = self.public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return self._key_id(der)

    def jwk(self, **extra: str) -> dict[str, Any]:
        """The public key as a JWKS entry, with the issuer's ``extra`` members."""
        numbers = self.public.public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            **extra,
            "n": b64url_uint(numbers.n),
            "e": b64url_uint(numbers.e),
        }

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": self.kid})

    def pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def load_pem(self, pem: bytes) -> bool:
        """Use the key saved in ``pem``; False (key unchanged) when it is not an RSA key."""
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            return False
        self.private = key
        return True
