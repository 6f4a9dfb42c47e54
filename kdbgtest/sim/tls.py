"""Per-cluster credentials: a CA, a server certificate for 127.0.0.1/localhost signed by it, a bearer token.

kubectl only sends credentials over TLS, so the sim serves HTTPS with these. trustme makes the CA and the
certificate (ECDSA P-256 keys, accepted by kubectl and the Python client). The server certificate is valid from
five minutes ago for a year; the CA's key is never stored, so trustme's long-lived CA can sign nothing else.
Files are written with mode 0600.
"""

from __future__ import annotations

import datetime
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import trustme

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
    """New CA and server certificate (SANs: localhost, 127.0.0.1 and `host`) and a random token for `cluster`."""
    ca = trustme.CA(organization_name="kdbgtest", organization_unit_name=f"kdbg-sim-{cluster}-ca")
    now = datetime.datetime.now(datetime.UTC)
    server = ca.issue_cert(
        *dict.fromkeys(["localhost", "127.0.0.1", host]),
        common_name=f"kdbg-sim-{cluster}-apiserver",
        organization_name="kdbgtest",
        organization_unit_name=f"kdbg-sim-{cluster}",
        not_before=now - datetime.timedelta(minutes=5),
        not_after=now + _VALIDITY,
    )
    return Credentials(
        ca_pem=ca.cert_pem.bytes(),
        cert_pem=server.cert_chain_pems[0].bytes(),
        key_pem=server.private_key_pem.bytes(),
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
