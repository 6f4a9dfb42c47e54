"""Certificates and kubeconfigs of a local cluster, as hack/local-up-cluster.sh makes them (without cfssl).

One CA signs the API server's serving certificate and every client certificate: the admin (system:masters),
the controller-manager, the scheduler, the kubelet (system:node:<node>) and the API server's client for the
kubelet. A separate key signs service-account tokens. Keys are ECDSA P-256; key files are 0600.

Hand-written on purpose (the sim's throwaway CA uses trustme, kdbgtest/sim/tls.py): the cluster's components
authenticate by exact subjects and usages, which trustme cannot make. Kubernetes reads a client certificate's
organisations as groups, and trustme always writes one (its own "trustme vX" when none is given), so the
controller-manager and scheduler would join a group that hack/local-up-cluster.sh never gives them; it also
marks every certificate for server, client and code signing alike where this CA issues serving and client
certificates separately, and fixes its CA's validity at years 2000-3000 instead of this cluster's 30 days.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kdbgtest.base import named_users

_VALIDITY = datetime.timedelta(days=30)


@dataclass(frozen=True)
class Identity:
    """A client certificate: its file stem, common name (user) and organisations (groups)."""

    stem: str
    user: str
    groups: tuple[str, ...] = ()


def named_identities() -> tuple[Identity, ...]:
    """The named users (kdbgtest.base.named_users), as the sim has them: the admin kubeconfig gets a user and
    context `kdbgtest-alice` ... for each (capability `named-users`)."""
    return tuple(Identity(named_users.kubeconfig_entry(name), name) for name in named_users.NAMES)


def identities(node: str) -> tuple[Identity, ...]:
    return (
        Identity("admin", "kubernetes-admin", ("system:masters",)),
        Identity("controller-manager", "system:kube-controller-manager"),
        Identity("scheduler", "system:kube-scheduler"),
        Identity("kubelet", f"system:node:{node}", ("system:nodes",)),
        Identity("apiserver-kubelet-client", "kube-apiserver", ("system:masters",)),  # may call any kubelet API
        *named_identities(),
    )


class Pki:
    """The files under one cluster's `pki/` directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ca_cert = root / "ca.crt"
        self.ca_key = root / "ca.key"
        self.serving_cert = root / "apiserver.crt"
        self.serving_key = root / "apiserver.key"
        self.sa_key = root / "sa.key"
        self.sa_pub = root / "sa.pub"

    def cert(self, stem: str) -> Path:
        return self.root / f"{stem}.crt"

    def key(self, stem: str) -> Path:
        return self.root / f"{stem}.key"

    def kubeconfig(self, stem: str) -> Path:
        return self.root / f"{stem}.kubeconfig"

    def generate(self, node: str, server: str, sans: Sequence[str]) -> None:
        """Write the CA, the serving certificate for `sans`, every client certificate and their kubeconfigs."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        ca_key = _new_key()
        ca_name = _name("kdbgtest-local-ca")
        ca = _sign(
            _builder(ca_name, ca_name, ca_key)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_usage(ca=True), critical=True),
            ca_key,
        )
        _write(self.ca_cert, _cert_pem(ca))
        _write(self.ca_key, _key_pem(ca_key), secret=True)
        serving_key = _new_key()
        serving = _leaf(ca_name, _name("kube-apiserver"), serving_key, ExtendedKeyUsageOID.SERVER_AUTH)
        serving = serving.add_extension(x509.SubjectAlternativeName(_sans(sans)), critical=False)
        _write(self.serving_cert, _cert_pem(_sign(serving, ca_key)))
        _write(self.serving_key, _key_pem(serving_key), secret=True)
        for identity in identities(node):
            key = _new_key()
            subject = _name(identity.user, identity.groups)
            _write(
                self.cert(identity.stem),
                _cert_pem(_sign(_leaf(ca_name, subject, key, ExtendedKeyUsageOID.CLIENT_AUTH), ca_key)),
            )
            _write(self.key(identity.stem), _key_pem(key), secret=True)
            _write(self.kubeconfig(identity.stem), self.kubeconfig_text(identity, server), secret=True)
        sa_key = _new_key()
        _write(self.sa_key, _key_pem(sa_key), secret=True)
        _write(
            self.sa_pub,
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )

    def kubeconfig_text(
        self, identity: Identity, server: str, cluster: str = "kdbgtest-local", others: Sequence[Identity] = ()
    ) -> str:
        """A kubeconfig naming the files (not embedding them), so it stays valid while the cluster runs; its
        default context is `identity`'s, and each of `others` gets a user and a context named by its stem."""
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster, "cluster": {"server": server, "certificate-authority": str(self.ca_cert)}}],
            "users": [self._user(each) for each in (identity, *others)],
            "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": identity.stem}}]
            + [{"name": each.stem, "context": {"cluster": cluster, "user": each.stem}} for each in others],
            "current-context": cluster,
        }
        return yaml.safe_dump(doc, sort_keys=False)

    def _user(self, identity: Identity) -> dict[str, object]:
        files = {"client-certificate": str(self.cert(identity.stem)), "client-key": str(self.key(identity.stem))}
        return {"name": identity.stem, "user": files}


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common: str, organisations: Sequence[str] = ()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organisations]
    return x509.Name([*attributes, x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _builder(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
    )


def _leaf(
    issuer: x509.Name,
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    usage: x509.ObjectIdentifier,
) -> x509.CertificateBuilder:
    return (
        _builder(subject, issuer, key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not ca,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _sans(names: Sequence[str]) -> list[x509.GeneralName]:
    result: list[x509.GeneralName] = []
    for name in names:
        try:
            result.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            result.append(x509.DNSName(name))
    return result


def _sign(builder: x509.CertificateBuilder, key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    return builder.sign(key, hashes.SHA256())


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write(path: Path, data: bytes | str, *, secret: bool = False) -> None:
    raw = data.encode() if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(raw)
