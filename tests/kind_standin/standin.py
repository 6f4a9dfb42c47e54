"""The commands of the stand-in `kind`, each backed by a kdbgtest offline cluster (`kdbgtest.sim`).

It implements what pytest-kind's `KindCluster` runs, with kind's arguments and, where a caller can see them,
kind's messages and exit codes:

    kind version
    kind get clusters                       one name per line; "No kind clusters found." on stderr if none
    kind get kubeconfig --name N
    kind create cluster --name N --kubeconfig PATH [--config FILE] [--image kindest/node:v1.N.P[@sha256:..]]
    kind load docker-image IMAGE... --name N
    kind delete cluster --name N [--kubeconfig PATH]

`create` starts a sim cluster with as many nodes as the config's `nodes` list (kind's default: one), the
Kubernetes minor of `--image` or of the config's node images (the sim's default version when neither is
given), and the config's `featureGates`; it merges the cluster into `--kubeconfig` like kind does (and
`delete` takes it out again). `load docker-image` succeeds for the images the sim can provide (its built-in
ones; the toolbox and fixture images once `kdbgtest images build` made them) and fails like kind for any other:
`ERROR: image: "x" not present locally`.

Clusters live under $KDBGTEST_KIND_STANDIN_HOME (default /var/tmp/kdbgtest-kind-standin), one sim state
directory per cluster name. `kind version` says it is this stand-in, so reports can say so too.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from kdbgtest.base.errors import KdbgtestError
from kdbgtest.cluster import kindconfig
from kdbgtest.sim import cluster as sim_cluster
from kdbgtest.sim import state
from kdbgtest.sim.config import DEFAULT_VERSION, SimConfig
from kdbgtest.sim.node import images, toolbox

VERSION = "kind v0.0.0-kdbgtest-standin (kind's commands on the kdbgtest offline cluster; not kind)"
HOME_VARIABLE = "KDBGTEST_KIND_STANDIN_HOME"
TIME_SCALE_VARIABLE = "KDBGTEST_KIND_STANDIN_TIME_SCALE"


class KindError(Exception):
    """Printed as kind prints its errors: `ERROR: ...`, exit status 1."""


def home() -> Path:
    return Path(os.environ.get(HOME_VARIABLE) or "/var/tmp/kdbgtest-kind-standin")


def sim_for(name: str) -> sim_cluster.SimCluster:
    return sim_cluster.SimCluster(SimConfig(name=name, state_dir=home() / name))


def running() -> list[str]:
    root = home()
    names = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    return [name for name in names if sim_for(name).state() == "running"]


def get_clusters(_: argparse.Namespace) -> int:
    names = running()
    if not names:
        print("No kind clusters found.", file=sys.stderr)
    for name in names:
        print(name)
    return 0


def get_kubeconfig(args: argparse.Namespace) -> int:
    ready = sim_for(args.name).paths.read_ready() if args.name in running() else None
    if ready is None:
        raise KindError(f'could not locate any control plane nodes for cluster named "{args.name}"')
    sys.stdout.write(Path(ready.kubeconfig).read_text())
    return 0


def _version(args: argparse.Namespace, config: kindconfig.KindConfig | None) -> str:
    tag = args.image or (config.kubernetes_version if config else None)
    if tag is None:
        return DEFAULT_VERSION
    match = kindconfig.TAG.match(tag) or kindconfig.TAG.match(f"kindest/node:v{tag}")
    if match is None:
        raise KindError(f'image "{tag}" is not a kindest/node image this stand-in can map to a version')
    return f"1.{match['minor']}"


def create_cluster(args: argparse.Namespace) -> int:
    if args.name in running():
        raise KindError(f'failed to create cluster: node(s) already exist for a cluster with the name "{args.name}"')
    config = kindconfig.load(Path(args.config)) if args.config else None
    version = _version(args, config)
    print(f'Creating cluster "{args.name}" ...', file=sys.stderr)
    print(f" - Starting an offline cluster with Kubernetes {version} (stand-in) ...", file=sys.stderr)
    sim = sim_cluster.SimCluster(
        SimConfig(
            name=args.name,
            state_dir=home() / args.name,
            nodes=len(config.nodes) if config else 1,
            kubernetes_version=version,
            feature_gates=dict(config.feature_gates) if config else {},
            time_scale=float(os.environ.get(TIME_SCALE_VARIABLE) or 1.0),
        ),
        kubeconfig_path=Path(args.kubeconfig) if args.kubeconfig else None,
    )
    path = sim.up()
    print(f'Set kubectl context to "{sim.config.name}" in {path}', file=sys.stderr)
    return 0


def can_provide(image: str) -> str | None:
    """Why the sim cannot provide `image` (None when it can): built-in images only, a complete toolbox."""
    try:
        ref = images.parse_reference(image)
        if ref.repository in toolbox.REPOSITORIES and toolbox.missing():
            return f"kdbgtest images build has not built {', '.join(toolbox.missing())}"
        images.ImageStore(images.DEFAULT_CACHE, mapped={}).resolve(image)
    except images.ImageUnavailable as exc:
        return str(exc)
    return None


def load_docker_image(args: argparse.Namespace) -> int:
    if args.name not in running():
        raise KindError(f'no nodes found for cluster "{args.name}"')
    nodes = state.StateDir(home() / args.name).read_config().node_names
    for image in args.images:
        reason = can_provide(image)
        if reason is not None:
            print(f"stand-in kind: {reason}", file=sys.stderr)
            raise KindError(f'image: "{image}" not present locally')
        for node in nodes:
            print(f'Image: "{image}" present in the offline cluster for node "{node}"', file=sys.stderr)
    return 0


def delete_cluster(args: argparse.Namespace) -> int:
    print(f'Deleting cluster "{args.name}" ...', file=sys.stderr)
    sim_for(args.name).down()
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="kind", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    commands.add_parser("version").set_defaults(func=lambda _: print(VERSION) or 0)
    get = commands.add_parser("get").add_subparsers(dest="what", required=True)
    get.add_parser("clusters").set_defaults(func=get_clusters)
    kubeconfig = get.add_parser("kubeconfig")
    kubeconfig.add_argument("--name", default="kind")
    kubeconfig.set_defaults(func=get_kubeconfig)
    create = commands.add_parser("create").add_subparsers(dest="what", required=True)
    cluster = create.add_parser("cluster")
    for flag in ("--name", "--kubeconfig", "--config", "--image", "--wait"):
        cluster.add_argument(flag, default="kind" if flag == "--name" else None)
    cluster.set_defaults(func=create_cluster)
    load = commands.add_parser("load").add_subparsers(dest="what", required=True)
    docker_image = load.add_parser("docker-image")
    docker_image.add_argument("images", nargs="+")
    docker_image.add_argument("--name", default="kind")
    docker_image.add_argument("--nodes")
    docker_image.set_defaults(func=load_docker_image)
    delete = commands.add_parser("delete").add_subparsers(dest="what", required=True)
    remove = delete.add_parser("cluster")
    remove.add_argument("--name", default="kind")
    remove.add_argument("--kubeconfig")
    remove.set_defaults(func=delete_cluster)
    return top


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except (KindError, KdbgtestError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    return code
