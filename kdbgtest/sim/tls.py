"""Per-cluster credentials: a CA, a server certificate for 127.0.0.1/localhost signed by it, a bearer token.

kubectl only sends credentials over TLS, so the sim serves HTTPS with these. Keys are ECDSA P-256 (fast to
generate, accepted by kubectl and the Python client). Files are written with mode 0600.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = datetime.timedelta(days=365)
_FILES = ("ca.crt", "server.crt", "server.key", "token")


@dataclass(frozen=True)
class Credentials:
    """PEM-encoded CA certificate, server certificate and key, and the bearer token clients must send."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes
    token: str


def generate(cluster: str, host: str = "127.0.0.1") -> Credentials:
    """New CA and server certificate (SANs: `host`, 127.0.0.1, localhost) and a random token for `cluster`."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"kdbg-sim-{cluster}-ca")])
    ca_cert = _builder(ca_name, ca_name, ca_key.public_key())
    ca_cert = ca_cert.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    ca_cert = ca_cert.add_extension(_usage(cert_sign=True), critical=True)
    ca = ca_cert.sign(ca_key, hashes.SHA256())

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"kdbg-sim-{cluster}-apiserver")])
    server = _builder(name, ca_name, key.public_key())
    server = server.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    server = server.add_extension(_usage(cert_sign=False), critical=True)
    server = server.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    server = server.add_extension(x509.SubjectAlternativeName(_sans(host)), critical=False)
    cert = server.sign(ca_key, hashes.SHA256())

    return Credentials(
        ca_pem=ca.public_bytes(serialization.Encoding.PEM),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        token=secrets.token_urlsafe(32),
    )


def write(creds: Credentials, directory: Path) -> None:
    """Store `creds` in `directory` (created 0700) as ca.crt, server.crt, server.key and token (each 0600)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    contents = (creds.ca_pem, creds.cert_pem, creds.key_pem, creds.token.encode())
    for filename, data in zip(_FILES, contents, strict=True):
        path = directory / filename
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)


def read(directory: Path) -> Credentials:
    """Credentials previously stored with `write`."""
    ca, cert, key, token = ((directory / f).read_bytes() for f in _FILES)
    return Credentials(ca_pem=ca, cert_pem=cert, key_pem=key, token=token.decode().strip())


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
    )


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not cert_sign,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _sans(host: str) -> list[x509.GeneralName]:
    ips = {"127.0.0.1", host}
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    for ip in sorted(ips):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(ip)))
        except ValueError:
            names.append(x509.DNSName(ip))
    return names
