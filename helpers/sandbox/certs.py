"""A per-sandbox certificate authority and the leaf certificate for the emulated hosts.

The CA is minted on first start inside the state directory (private keys mode 0600) and
reused on restart, so a CA bundle exported into a shell stays valid. It is valid for
``CA_DAYS`` and name-constrained to the emulated hosts; a start re-mints it when it would not
outlive the next leaf (``LEAF_DAYS``, re-minted at every start), so a long-lived state dir
keeps working and the bundle file, rewritten in place, follows. Nothing here is ever
committed: the state directory is outside the package.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "CA_DAYS",
    "CertPaths",
    "EMULATED_HOSTS",
    "LEAF_DAYS",
    "PERMITTED_DNS",
    "PERMITTED_IP",
    "ensure_certificates",
    "make_private_dir",
]

EMULATED_HOSTS = (
    "login.microsoftonline.com",
    "management.azure.com",
    "graph.microsoft.com",
    "vault.azure.net",
    "*.vault.azure.net",
    "*.oic.prod-aks.azure.com",  # AKS OIDC issuers (workload identity)
)
# The CA may sign for these names only (RFC 5280 name constraints, enforced by OpenSSL and so
# by every Python client): "vault.azure.net" also permits every name under it. A stolen
# ca-key.pem therefore cannot mint a certificate that a shell trusting the bundle would
# accept for any other site.
PERMITTED_DNS = (
    "login.microsoftonline.com",
    "management.azure.com",
    "graph.microsoft.com",
    "vault.azure.net",
    "oic.prod-aks.azure.com",
)
PERMITTED_IP = "127.0.0.1/32"
CA_DAYS = 30
LEAF_DAYS = 14


@dataclass(frozen=True)
class CertPaths:
    ca_cert: Path
    ca_key: Path
    leaf_cert: Path
    leaf_key: Path
    bundle: Path  # public roots + sandbox CA, for REQUESTS_CA_BUNDLE / SSL_CERT_FILE


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o600)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _mint_ca(now: dt.datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "akv-runbook sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"akv-runbook sandbox CA {os.getpid()}"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.NameConstraints(
                permitted_subtrees=[
                    *(x509.DNSName(h) for h in PERMITTED_DNS),
                    x509.IPAddress(ipaddress.ip_network(PERMITTED_IP)),
                ],
                excluded_subtrees=None,
            ),
            critical=True,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _mint_leaf(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, now: dt.datetime
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(h) for h in EMULATED_HOSTS]
    sans.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "login.microsoftonline.com")])
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _still_good(ca_cert: x509.Certificate, now: dt.datetime) -> bool:
    """Reuse a CA only while it outlives the next leaf, and only one minted with today's name
    constraints and the short validity (an older, 10-year unconstrained CA, or one that does
    not permit a host added since, is replaced)."""
    if ca_cert.not_valid_after_utc < now + dt.timedelta(days=LEAF_DAYS + 1):
        return False
    if ca_cert.not_valid_after_utc - ca_cert.not_valid_before_utc > dt.timedelta(days=CA_DAYS + 1):
        return False
    try:
        constraints = ca_cert.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return False
    # A CA minted before a host was added cannot sign for it: re-mint.
    names = {n.value for n in constraints.permitted_subtrees or [] if isinstance(n, x509.DNSName)}
    return names == set(PERMITTED_DNS)


def make_private_dir(path: Path) -> None:
    """Create ``path`` readable by this user only; a directory that already exists is left as
    it is (it may be /tmp or a home directory: never change permissions we did not set)."""
    if not path.exists():
        path.mkdir(parents=True)
        os.chmod(path, 0o700)
    elif not path.is_dir():
        raise NotADirectoryError(f"state dir {path} is not a directory")


def ensure_certificates(state_dir: Path) -> CertPaths:
    """Load the sandbox CA from ``state_dir`` or mint a new one; always (re)write the leaf."""
    make_private_dir(state_dir)
    paths = CertPaths(
        ca_cert=state_dir / "ca.pem",
        ca_key=state_dir / "ca-key.pem",
        leaf_cert=state_dir / "leaf.pem",
        leaf_key=state_dir / "leaf-key.pem",
        bundle=state_dir / "ca-bundle.pem",
    )
    now = dt.datetime.now(dt.UTC)
    ca_key = ca_cert = None
    if paths.ca_cert.exists() and paths.ca_key.exists():
        try:
            ca_cert = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
            loaded = serialization.load_pem_private_key(paths.ca_key.read_bytes(), password=None)
        except (OSError, ValueError, TypeError):  # damaged files: mint a new CA, as when expired
            ca_cert, loaded = None, None
        if (
            ca_cert is not None
            and isinstance(loaded, ec.EllipticCurvePrivateKey)
            and _still_good(ca_cert, now)
        ):
            ca_key = loaded
    if ca_key is None or ca_cert is None:
        ca_key, ca_cert = _mint_ca(now)
        _write_private(paths.ca_key, _key_pem(ca_key))
        paths.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    os.chmod(paths.ca_key, 0o600)
    leaf_key, leaf_cert = _mint_leaf(ca_key, ca_cert, now)
    _write_private(paths.leaf_key, _key_pem(leaf_key))
    paths.leaf_cert.write_bytes(leaf_cert.public_bytes(serialization.Encoding.PEM))
    roots = Path(certifi.where()).read_bytes()
    paths.bundle.write_bytes(roots.rstrip(b"\n") + b"\n" + paths.ca_cert.read_bytes())
    return paths
