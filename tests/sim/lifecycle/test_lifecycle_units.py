"""Fast checks of the sim lifecycle's pieces: credentials, kubeconfig merging, state detection."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from kdbgtest.base import waiting
from kdbgtest.base.errors import ClusterError
from kdbgtest.sim import kubeconfig, state, tls
from kdbgtest.sim.config import SimConfig

ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}


def test_server_certificate_verifies_against_the_cluster_ca_for_127_0_0_1_and_localhost(
    tmp_path: Path,
) -> None:
    creds = tls.generate("demo")
    tls.write(creds, tmp_path / "tls")
    assert tls.read(tmp_path / "tls") == creds
    assert oct((tmp_path / "tls" / "server.key").stat().st_mode & 0o777) == "0o600"
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(tmp_path / "tls" / "server.crt", tmp_path / "tls" / "server.key")
    for host in ("127.0.0.1", "localhost"):
        assert _handshake(server_ctx, ssl.create_default_context(cadata=creds.ca_pem.decode()), host)
    other_ca = tls.generate("other").ca_pem.decode()
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(server_ctx, ssl.create_default_context(cadata=other_ca), "127.0.0.1")
    assert creds.token != tls.generate("demo").token


def _handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, host: str) -> bool:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server_ctx.wrap_socket(conn, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            pass

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            client_ctx.wrap_socket(raw, server_hostname=host),
        ):
            return True
    finally:
        thread.join(5)
        listener.close()


def test_kubeconfig_merge_keeps_other_entries_and_remove_takes_only_the_sims(tmp_path: Path) -> None:
    path = tmp_path / "config"
    other = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "prod", "cluster": {"server": "https://prod:6443"}}],
        "users": [{"name": "me", "user": {"token": "secret"}}],
        "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "me"}}],
        "current-context": "prod",
    }
    path.write_text(yaml.safe_dump(other))
    sim = kubeconfig.build("demo", "https://127.0.0.1:1234", b"CA", "tok")
    assert kubeconfig.merge(path, sim) is False
    merged = kubeconfig.load(path)
    named = ["kdbgtest-alice", "kdbgtest-bob", "kdbgtest-carol"]  # the sim's named users (kdbgtest.sim.users)
    assert [c["name"] for c in merged["contexts"]] == ["prod", "kdbg-sim-demo", *named]
    assert merged["current-context"] == "kdbg-sim-demo"
    assert merged["users"][1] == {"name": "kdbg-sim-demo", "user": {"token": "tok"}}
    kubeconfig.merge(path, kubeconfig.build("demo", "https://127.0.0.1:999", b"CA", "tok2"))
    assert len(kubeconfig.load(path)["clusters"]) == 2  # replaced, not duplicated
    kubeconfig.remove(path, "demo", delete_if_empty=True)
    assert kubeconfig.load(path) == {**other, "current-context": ""}


def test_kubeconfig_created_by_the_sim_is_deleted_when_its_entries_go(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config"
    assert kubeconfig.merge(path, kubeconfig.build("demo", "https://127.0.0.1:1", b"CA", "t")) is True
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    kubeconfig.remove(path, "demo", delete_if_empty=True)
    assert not path.exists()


def test_unreadable_kubeconfig_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("- just\n- a list\n")
    with pytest.raises(ClusterError, match="is not a YAML mapping"):
        kubeconfig.merge(path, kubeconfig.build("demo", "https://127.0.0.1:1", b"CA", "t"))


def test_daemon_pid_is_none_for_a_dead_a_foreign_or_a_reused_pid(tmp_path: Path) -> None:
    paths = state.StateDir(tmp_path)
    assert paths.daemon_pid() is None  # no pidfile
    paths.write_pid(os.getpid())  # alive, but not a daemon of this state dir
    assert paths.daemon_pid() is None
    fake = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()", state.DAEMON_MODULE, str(tmp_path)],
        stdin=subprocess.PIPE,
    )
    try:
        paths.write_pid(fake.pid)
        # (polled: once, under heavy load, the child's /proc entry was not yet readable right after Popen)
        waiting.wait_for(lambda: (paths.daemon_pid() == fake.pid, paths.daemon_pid()), timeout=5, what="pid")
        pid, started = paths.pidfile.read_text().split()
        paths.pidfile.write_text(f"{pid} {int(started) - 1}\n")  # same pid, another start time: reused
        assert paths.daemon_pid() is None
        paths.write_pid(fake.pid)
    finally:
        fake.communicate(b"", timeout=10)
    assert paths.daemon_pid() is None  # exited


def test_config_round_trips_through_the_state_dir(tmp_path: Path) -> None:
    config = SimConfig(
        name="x",
        nodes=3,
        kubernetes_version="1.22",
        feature_gates={"EphemeralContainers": False},
        state_dir=tmp_path,
        time_scale=0.1,
    )
    paths = state.StateDir(tmp_path)
    paths.write_config(config)
    assert paths.read_config() == config


def test_exclusive_lock_blocks_a_second_holder_until_released(tmp_path: Path) -> None:
    with state.exclusive(tmp_path, timeout=1):
        code = "import sys; from pathlib import Path; from kdbgtest.sim import state\n" + (
            "with state.exclusive(Path(sys.argv[1]), timeout=0.3): print('got it')"
        )
        blocked = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=ENV)
        assert blocked.returncode == 1
        assert f"timed out after 0.3s waiting for the lock on {tmp_path}" in blocked.stderr
    free = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=ENV)
    assert (free.returncode, free.stdout) == (0, "got it\n")
    assert list(tmp_path.iterdir()) == []  # no lock file left behind


def test_merge_refuses_a_yaml_file_that_is_not_a_kubeconfig(tmp_path: Path) -> None:
    path = tmp_path / "values.yaml"
    path.write_text("replicas: 3\nimage: nginx\n")
    with pytest.raises(ClusterError, match=r"does not look like a kubeconfig .*keys \['image', 'replicas'\]"):
        kubeconfig.merge(path, kubeconfig.build("demo", "https://127.0.0.1:1", b"CA", "t"))
    assert path.read_text() == "replicas: 3\nimage: nginx\n"
