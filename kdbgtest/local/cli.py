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
from collections.abc import Callable
from pathlib import Path

from kdbgtest.base.errors import KdbgtestError
from kdbgtest.local import layout, pins

Handler = Callable[[argparse.Namespace], int]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `local` and its subcommands (each sets `func`)."""
    local = subparsers.add_parser(
        "local",
        help="a real Kubernetes built from upstream, on this host",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = local.add_subparsers(dest="local_command", metavar="{build,up,down,status,pin}", required=True)

    build_cmd = commands.add_parser("build", help="build the pinned binaries into the cache (once per version)")
    _add_version(build_cmd)
    build_cmd.add_argument("--force", action="store_true", help="rebuild even if the cache is up to date")
    build_cmd.set_defaults(func=_guarded(run_build))

    up = commands.add_parser("up", help="start the cluster and print its kubeconfig path")
    _add_version(up)
    _add_name(up)
    up.add_argument("--kubeconfig", type=Path, help="also copy the admin kubeconfig to this path")
    up.set_defaults(func=_guarded(run_up))

    down = commands.add_parser("down", help="stop the cluster and remove everything it made")
    _add_name(down)
    down.set_defaults(func=_guarded(run_down))

    status = commands.add_parser("status", help="show whether the cluster runs, and its components")
    _add_name(status)
    status.set_defaults(func=_guarded(run_status))

    pin = commands.add_parser("pin", help="(maintainers) write clusters/local/VERSION/ for a new release")
    _add_version(pin)
    pin.add_argument("--etcd", required=True, metavar="vX.Y.Z")
    pin.add_argument("--containerd", required=True, metavar="vX.Y.Z")
    pin.add_argument("--pause", required=True, metavar="X.Y")
    pin.set_defaults(func=_guarded(run_pin))


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


def _guarded(handler: Handler) -> Handler:
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except KdbgtestError as exc:
            first, *context = str(exc).splitlines() or [type(exc).__name__]
            print(f"kdbgtest local {args.local_command}: error: {first}", file=sys.stderr)
            for line in context:
                print(f"  | {line}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(
                f"kdbgtest local {args.local_command}: interrupted (what was started has been removed)", file=sys.stderr
            )
            return 130

    return run


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
