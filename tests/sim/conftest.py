"""Shared helpers for the sim's tests: throwaway TLS credentials, a kubeconfig pointing at a test server."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest

from kdbgtest.sim import kubeconfig, tls


@dataclass(frozen=True)
class ServerTLS:
    """A fresh CA + server certificate for 127.0.0.1, the files written under `directory`, and a token."""

    directory: Path
    creds: tls.Credentials

    @property
    def token(self) -> str:
        return self.creds.token

    def server_context(self) -> ssl.SSLContext:
        cert, key = self.directory / "server.crt", self.directory / "server.key"
        cert.write_bytes(self.creds.cert_pem)
        key.write_bytes(self.creds.key_pem)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        return context

    def kubeconfig(self, server: str, path: Path, name: str = "test") -> Path:
        """Write a kubeconfig (bearer token, CA data) for `server` at `path` and return it."""
        kubeconfig.write(path, kubeconfig.build(name, server, self.creds.ca_pem, self.creds.token))
        return path


def make_test_tls(directory: Path) -> ServerTLS:
    """Throwaway credentials for one test server (never reused across test sessions)."""
    directory.mkdir(parents=True, exist_ok=True)
    return ServerTLS(directory, tls.generate("test"))


@pytest.fixture(scope="module")
def test_tls(tmp_path_factory: pytest.TempPathFactory) -> ServerTLS:
    """Throwaway TLS credentials and token for a test API server (one set per test module)."""
    return make_test_tls(tmp_path_factory.mktemp("tls"))
