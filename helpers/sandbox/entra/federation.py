"""Workload identity federation: checking a ``client_assertion`` against an app's federated
identity credentials, in the order Entra ID reports the problems.

Entra ID trusts an assertion when one of the app's federated credentials names its issuer,
its subject and one of its audiences exactly (case-sensitive), the issuer's published JWKS
holds the key that signed it (RS256), and it is within its validity time. The issuer's
keys come from ``issuer_keys`` (the sandbox's OIDC issuers register theirs).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import jwt

from . import exceptions as exc

__all__ = [
    "JWT_BEARER",
    "MAX_ASSERTION_CHARS",
    "check_assertion",
]

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Projected service-account tokens are 1-2 KB; anything this large is not one.
MAX_ASSERTION_CHARS = 16 * 1024


def _entra_time(seconds: float | None) -> str:
    """A time as Entra ID writes it in AADSTS700024 (seven fractional digits, Z)."""
    stamp = dt.datetime.fromtimestamp(seconds or 0, dt.UTC)
    return f"{stamp:%Y-%m-%dT%H:%M:%S}.{stamp.microsecond:06d}0Z"


def _unverified(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if not assertion or len(assertion) > MAX_ASSERTION_CHARS or assertion.count(".") != 2:
        raise exc.MalformedAssertion()
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError, UnicodeError):
        raise exc.MalformedAssertion() from None
    if not isinstance(claims, dict) or header.get("alg") != "RS256":
        raise exc.MalformedAssertion()
    if not isinstance(claims.get("iss"), str) or not isinstance(claims.get("sub"), str):
        raise exc.MalformedAssertion()
    for name in ("exp", "nbf", "iat"):
        value = claims.get(name)
        if (name == "exp" or value is not None) and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            raise exc.MalformedAssertion()
    return header, claims


def _audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list):
        return [a for a in aud if isinstance(a, str)]
    return []


def check_assertion(
    federated_credentials: list[Any],
    assertion: str,
    assertion_type: str,
    *,
    now: float,
    issuer_keys: Callable[[str], dict[str, Any] | None],
) -> None:
    """Return when the assertion signs the app in; raise the AADSTS error otherwise."""
    if assertion_type != JWT_BEARER or not assertion:
        raise exc.MissingClientSecret()
    header, claims = _unverified(assertion)
    issuer, subject, audiences = claims["iss"], claims["sub"], _audiences(claims)
    mismatch = exc.FederatedCredentialMismatch(issuer, subject, ", ".join(audiences))
    if not any(f.issuer == issuer for f in federated_credentials):
        raise mismatch
    kid = str(header.get("kid") or "")
    keys = issuer_keys(issuer) or {}
    if kid not in keys:
        raise exc.AssertionKeyNotFound(kid, issuer)
    try:
        jwt.decode(
            assertion,
            keys[kid],
            algorithms=["RS256"],
            options={"verify_aud": False, "verify_exp": False, "verify_nbf": False},
        )
    except jwt.InvalidSignatureError:
        raise exc.AssertionSignatureInvalid() from None
    except jwt.PyJWTError:
        raise exc.MalformedAssertion() from None
    nbf = claims.get("nbf")
    if claims["exp"] <= now or (nbf is not None and nbf > now + 300):
        raise exc.AssertionExpired(_entra_time(now), _entra_time(nbf), _entra_time(claims["exp"]))
    for fic in federated_credentials:
        if fic.issuer == issuer and fic.subject == subject and set(fic.audiences) & set(audiences):
            return
    raise mismatch
