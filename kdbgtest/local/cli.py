"""`kdbgtest local build|up|down|status|pin`: a real single-node Kubernetes on this host.

`up` builds what is missing (the first build compiles Kubernetes, etcd and containerd from the Go module proxy:
tens of minutes; later ones reuse the cache), starts the cluster in the background and prints the admin
kubeconfig path on stdout once the node is Ready. One local cluster runs per host; `up` while one runs says so;
the remains of a crashed one are removed first. `down` stops it and removes every trace (processes, mounts,
cgroups, the bridge, the iptables rule, changed sysctls).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from kdbgtest.base import commandline
from kdbgtest.local import layout, pins


def add_parser(subparsers: commandline.Subparsers) -> None:
    """Register `local` and its subcommands (each sets `func`)."""
    local = commandline.documented(subparsers, "local", "a real Kubernetes built from upstream, on this host", __doc__)
    commands = commandline.Group(
        local, "local", "{build,up,down,status,pin}", "interrupted (what was started has been removed)"
    )
    build_cmd = commands.add(
        "build", "build the pinned binaries into the cache (once per version)", run_build, _add_version
    )
    build_cmd.add_argument("--force", action="store_true", help="rebuild even if the cache is up to date")
    up = commands.add("up", "start the cluster and print its kubeconfig path", run_up, _add_version, _add_name)
    up.add_argument("--kubeconfig", type=Path, help="also copy the admin kubeconfig to this path")
    commands.add("down", "stop the cluster and remove everything it made", run_down, _add_name)
    commands.add("status", "show whether the cluster runs, and its components", run_status, _add_name)
    pin = commands.add("pin", "(maintainers) write clusters/local/VERSION/ for a new release", run_pin, _add_version)
    pin.add_argument("--etcd", required=True, metavar="vX.Y.Z")
    pin.add_argument("--containerd", required=True, metavar="vX.Y.Z")
    pin.add_argument("--pause", required=True, metavar="X.Y")


def run_build(args: argparse.Namespace) -> int:
    from kdbgtest.local import build

    found = pins.load(args.kubernetes_version, args.pins)
    directory = build.build(found, progress=_say, force=args.force)
    _say(f"cache: {directory} ({build.disk_usage(directory) / 2**20:.0f} MiB)")
    return 0


def run_up(args: argparse.Namespace) -> int:
    from kdbgtest.local import cluster

    local = cluster.LocalCluster(args.name, args.kubernetes_version, pins_root=args.pins, progress=_say)
    started = time.monotonic()
    path = local.up(export=args.kubeconfig)
    if local.cleaned:
        _say(f"removed the remains of a crashed earlier run: {len(local.cleaned)} item(s)")
    _say(f"up in {time.monotonic() - started:.1f}s")
    print(args.kubeconfig or path)
    return 0


def run_down(args: argparse.Namespace) -> int:
    from kdbgtest.local import cluster

    local = cluster.LocalCluster(args.name)
    before = local.state()
    removed = local.down()
    if before == "stopped":
        _say(f"local cluster '{args.name}' is not running; nothing of it is left on this host")
    else:
        _say(f"local cluster '{args.name}' stopped; undone: {', '.join(removed) or 'nothing'}; nothing of it is left")
    return 0


def run_status(args: argparse.Namespace) -> int:
    from kdbgtest.local import cluster

    found = cluster.LocalCluster(args.name).status()
    print(f"local cluster '{found.name}': {found.state}" + (f" ({found.version})" if found.version else ""))
    for name, alive in found.components.items():
        print(f"  {name:<24} {'running' if alive else 'exited':<8} {found.versions.get(name, '')}")
    if found.state == "stale":
        print(f"components died; clean up with `kdbgtest local down --name {found.name}`")
    if found.state != "running":
        return 1
    print(f"kubeconfig: {found.kubeconfig}")
    print(f"nodes: {', '.join(found.nodes) or '(none answered)'}")
    return 0


def run_pin(args: argparse.Namespace) -> int:
    version = pins.normalize(args.kubernetes_version)
    root = (args.pins or pins.default_pins_root()) / version
    root.mkdir(parents=True, exist_ok=True)
    (root / "versions").write_text(
        "# kdbgtest local: the components of one local cluster (written by `kdbgtest local pin`)\n"
        f"kubernetes = {version}\netcd = {args.etcd}\ncontainerd = {args.containerd}\npause = {args.pause}\n"
    )
    found = pins.load(version, args.pins)
    _say(f"writing the wrapper modules under {root} (downloads from the Go module proxy)")
    pins.write_wrappers(found)
    _say(f"pinned {version}; build it with `kdbgtest local build --kubernetes-version {version}`")
    return 0


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _add_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kubernetes-version",
        default=pins.DEFAULT_VERSION,
        metavar="vX.Y.Z",
        help=f"the pinned release to use (default {pins.DEFAULT_VERSION})",
    )
    parser.add_argument("--pins", type=Path, help="the directory of pinned releases (default clusters/local/)")


def _add_name(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", default=layout.DEFAULT_NAME, help=f"cluster name (default {layout.DEFAULT_NAME})")
