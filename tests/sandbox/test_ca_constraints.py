"""The sandbox CA can vouch only for the emulated hosts, and only for a short time (issue 11:
it was valid 10 years with no name constraints)."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from helpers.sandbox.certs import CA_DAYS, LEAF_DAYS, ensure_certificates


def _forge(paths, host: str, tmp_path):
    """A leaf for ``host`` signed with the sandbox's own CA key (what a thief could do)."""
    ca_key = serialization.load_pem_private_key(paths.ca_key.read_bytes(), password=None)
    ca = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / f"{host}.pem", tmp_path / f"{host}-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def _tls_server(cert_file, key_file):
    """A one-shot TLS server on 127.0.0.1 presenting the given certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def serve():
        try:
            conn, _ = listener.accept()
            with ctx.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1024)
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        except (OSError, ssl.SSLError):
            pass
        finally:
            listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread


def _verify(paths, host: str, port: int) -> None:
    ctx = ssl.create_default_context(cafile=str(paths.ca_cert))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=host),
    ):
        pass


def test_the_ca_is_name_constrained_critical_and_short_lived(tmp_path):
    paths = ensure_certificates(tmp_path / "state")
    ca = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    permitted = {n.value for n in constraints.value.permitted_subtrees}
    assert "management.azure.com" in permitted and "vault.azure.net" in permitted
    assert ca.not_valid_after_utc - ca.not_valid_before_utc <= dt.timedelta(days=CA_DAYS + 1)
    leaf = x509.load_pem_x509_certificate(paths.leaf_cert.read_bytes())
    assert leaf.not_valid_after_utc <= ca.not_valid_after_utc
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc <= dt.timedelta(days=LEAF_DAYS + 1)


@pytest.mark.parametrize("host", ["example.com", "login.microsoftonline.com.evil.example"])
def test_a_certificate_the_ca_signs_for_another_host_is_rejected_by_python_ssl(host, tmp_path):
    paths = ensure_certificates(tmp_path / "state")
    port, thread = _tls_server(
        *_forge(paths, host, tmp_path),
    )
    with pytest.raises(ssl.SSLCertVerificationError, match="(?i)subtree|name constraint"):
        _verify(paths, host, port)
    thread.join(5)


def test_a_certificate_the_ca_signs_for_localhost_is_rejected_by_requests(tmp_path):
    paths = ensure_certificates(tmp_path / "state")
    port, thread = _tls_server(*_forge(paths, "localhost", tmp_path))
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"https://localhost:{port}/", verify=str(paths.ca_cert), timeout=5)
    thread.join(5)


def test_a_certificate_for_an_emulated_name_still_verifies(tmp_path):
    paths = ensure_certificates(tmp_path / "state")
    port, thread = _tls_server(*_forge(paths, "other.vault.azure.net", tmp_path))
    _verify(paths, "other.vault.azure.net", port)
    thread.join(5)


def test_an_old_unconstrained_ca_or_one_near_expiry_is_replaced(tmp_path):
    state = tmp_path / "state"
    first = ensure_certificates(state).ca_cert.read_bytes()
    assert ensure_certificates(state).ca_cert.read_bytes() == first  # reused while good
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old sandbox CA")])
    for not_after in (now + dt.timedelta(days=3650), now + dt.timedelta(days=LEAF_DAYS - 1)):
        old = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256())
        )
        (state / "ca.pem").write_bytes(old.public_bytes(serialization.Encoding.PEM))
        (state / "ca-key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        renewed = x509.load_pem_x509_certificate(ensure_certificates(state).ca_cert.read_bytes())
        assert renewed.subject != name
        renewed.extensions.get_extension_for_class(x509.NameConstraints)
