"""The data plane's self-signed certificate authority and server certificate.

Render's external Key Value endpoint speaks TLS with a publicly trusted certificate. The emulator
cannot have one, so it makes its own CA once per data directory and issues a server certificate
for the loopback names from it. Clients trust the CA file (``DataPlane.ca_cert_path``), which stays
the same across emulator restarts: only the server certificate is re-issued when it is missing,
about to expire, or does not cover the host the data plane listens on.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_CA_LIFETIME = datetime.timedelta(days=3650)
# Short enough for clients that cap leaf lifetimes (Apple: 825 days), long enough to be re-issued
# rarely; re-issued automatically when less than _RENEW_BEFORE is left.
_SERVER_LIFETIME = datetime.timedelta(days=800)
_RENEW_BEFORE = datetime.timedelta(days=30)
# Backdated so that a client whose clock is slightly behind still accepts a fresh certificate.
_BACKDATE = datetime.timedelta(hours=1)

_LOOPBACK_NAMES = ("localhost",)
_LOOPBACK_IPS = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class TlsFiles:
    """Where the PEM files live."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path


def ensure_certificates(directory: Path, host: str) -> TlsFiles:
    """Return the CA and a server certificate valid for ``host``, creating what is missing."""
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(
        ca_cert=directory / "ca.pem",
        ca_key=directory / "ca-key.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server-key.pem",
    )
    now = datetime.datetime.now(datetime.UTC)
    ca = _load_pair(files.ca_cert, files.ca_key)
    if ca is None or ca[0].not_valid_after_utc - now < _RENEW_BEFORE:
        ca = _new_ca(now)
        _write(files.ca_key, _key_pem(ca[1]), private=True)
        _write(files.ca_cert, ca[0].public_bytes(serialization.Encoding.PEM), private=False)
        files.server_cert.unlink(missing_ok=True)  # issued by the old CA: no longer trusted
    ca_cert, ca_key = ca
    server = _load_pair(files.server_cert, files.server_key)
    if server is None or not _server_cert_usable(server[0], ca_cert, host, now):
        cert, key = _new_server_cert(ca_cert, ca_key, host, now)
        _write(files.server_key, _key_pem(key), private=True)
        _write(files.server_cert, cert.public_bytes(serialization.Encoding.PEM), private=False)
    return files


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """A server-side TLS context with the data plane's certificate (TLS 1.2+, no renegotiation)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_RENEGOTIATION
    # No TLS 1.3 session tickets: nobody resumes sessions against a local emulator, and unread
    # tickets make a client that writes and hangs up reset the connection instead of closing it.
    context.num_tickets = 0
    context.load_cert_chain(certfile=files.server_cert, keyfile=files.server_key)
    return context


def _load_pair(
    cert_path: Path, key_path: Path
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    """The certificate and its EC key, or None when either is missing, unreadable or mismatched."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        return None
    return cert, key


def _server_cert_usable(
    cert: x509.Certificate, ca_cert: x509.Certificate, host: str, now: datetime.datetime
) -> bool:
    if cert.not_valid_after_utc - now < _RENEW_BEFORE:
        return False
    try:
        cert.verify_directly_issued_by(ca_cert)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False
    wanted = _san_entry(host)
    return any(entry == wanted for entry in names)


def _new_ca(now: datetime.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pulumi-render-kv emulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, "pulumi-render-kv emulator local CA"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
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
    return cert, key


def _new_server_cert(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    host: str,
    now: datetime.datetime,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    entries: list[x509.GeneralName] = []
    for value in (*_LOOPBACK_NAMES, *_LOOPBACK_IPS, host):
        entry = _san_entry(value)
        if entry not in entries:
            entries.append(entry)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _SERVER_LIFETIME)
        .add_extension(x509.SubjectAlternativeName(entries), critical=False)
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        # Python 3.13+ clients verify with VERIFY_X509_STRICT, which requires the AKI.
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _san_entry(value: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        return x509.DNSName(value)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, *, private: bool) -> None:
    """Write atomically (a crash never leaves half a key) and keep private keys owner-only."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
