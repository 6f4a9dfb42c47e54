"""`kdbgtest sim up|down|status`: the offline cluster's command line.

The main `kdbgtest` command calls `add_parser`; `python -m kdbgtest.sim.cli` runs the same commands alone.
`up` prints the kubeconfig path on stdout (and nothing else there) once the cluster answers. Starting a name
that is already running is an error that names the running cluster; leftovers of a crashed one are cleaned.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kdbgtest.base import commandline
from kdbgtest.sim.config import DEFAULT_NAME, DEFAULT_VERSION, SimConfig, unknown_gate


def add_parser(subparsers: commandline.Subparsers) -> None:
    """Register `sim` with its `up`, `down` and `status` subcommands (each sets `func`)."""
    sim = subparsers.add_parser("sim", help="run the built-in offline cluster", description=__doc__)
    # A user-caused error is one line on stderr (exit 1); the daemon log's tail, when a cluster did not start,
    # follows indented.
    commands = commandline.Group(sim, "sim", "{up,down,status}", "interrupted")
    up = commands.add(
        "up",
        "start a cluster in the background and print its kubeconfig path",
        run_up,
        _add_identity,
        description="Start a cluster in the background; print its kubeconfig path once it answers. A name "
        "that is already running is refused (stop it first); the remains of a crashed one are cleaned first.",
    )
    up.add_argument("--nodes", type=_positive_int, default=2, help="number of nodes (default 2)")
    up.add_argument("--kubeconfig", type=Path, help="also merge the cluster into this kubeconfig file")
    up.add_argument(
        "--kubernetes-version",
        type=_version,
        default=DEFAULT_VERSION,
        metavar="1.N",
        help=f"version the cluster reports (default {DEFAULT_VERSION})",
    )
    up.add_argument(
        "--feature-gates",
        type=_feature_gates,
        default={},
        metavar="K=V,...",
        help="the gates the sim models, e.g. EphemeralContainers=false (a cluster without ephemeral containers)",
    )
    up.add_argument(
        "--time-scale",
        type=_time_scale,
        default=1.0,
        metavar="F",
        help="scale CrashLoopBackOff delays (0.1: ten times faster)",
    )
    commands.add("down", "stop a cluster and remove everything it made", run_down, _add_identity)
    commands.add("status", "show whether a cluster runs, its endpoint, nodes and pods", run_status, _add_identity)


def run_up(args: argparse.Namespace) -> int:
    from kdbgtest.sim import cluster  # large: imported by the commands, so `kdbgtest --help` stays fast

    config = SimConfig(
        name=args.name,
        nodes=args.nodes,
        kubernetes_version=args.kubernetes_version,
        feature_gates=args.feature_gates,
        state_dir=args.state_dir,
        time_scale=args.time_scale,
    )
    sim = cluster.SimCluster(config, kubeconfig_path=args.kubeconfig)
    path = sim.up()
    if sim.cleaned:
        note = f"cleaned up a crashed earlier run of '{args.name}': {len(sim.cleaned)} leftovers"
        print(note, file=sys.stderr)
    print(path)
    return 0


def run_down(args: argparse.Namespace) -> int:
    from kdbgtest.sim import cluster

    sim = cluster.SimCluster(SimConfig(name=args.name, state_dir=args.state_dir))
    before = sim.state()
    leftovers = sim.down()
    if before == "stopped":
        print(f"sim cluster '{args.name}' is not running", file=sys.stderr)
    elif leftovers:
        print(f"sim cluster '{args.name}' stopped; removed {len(leftovers)} leftovers", file=sys.stderr)
    else:
        print(f"sim cluster '{args.name}' stopped", file=sys.stderr)
    return 0


def run_status(args: argparse.Namespace) -> int:
    """Print the status; exit 0 when the cluster is running, 1 otherwise."""
    from kdbgtest.sim import cluster

    st = cluster.SimCluster(SimConfig(name=args.name, state_dir=args.state_dir)).status()
    print(f"sim cluster '{st.name}': {st.state}" + (f" (pid {st.pid})" if st.pid else ""))
    print(f"state dir:  {st.state_dir}")
    if st.state == "stale":
        print(f"the daemon is gone; clean up with `kdbgtest sim down --name {st.name}`")
    if st.state != "running":
        return 1
    print(f"endpoint:   {st.server}")
    print(f"kubeconfig: {st.kubeconfig}")
    if st.error:
        print(f"error:      {st.error}")
        return 1
    print(f"version:    {st.version}")
    print(f"nodes ({len(st.nodes)}):")
    for node in st.nodes:
        print(f"  {node.name}  {'Ready' if node.ready else 'NotReady'}")
    print(f"pods ({len(st.pods)}):")
    for pod in st.pods:
        print(f"  {pod.namespace}/{pod.name}  {pod.phase}  {pod.node or '<unscheduled>'}")
    return 0


def _add_identity(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", default=DEFAULT_NAME, help=f"cluster name (default {DEFAULT_NAME})")
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="state directory (default $KDBGTEST_SIM_STATE_ROOT/NAME, else /var/lib/kdbgtest/sim/NAME)",
    )


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def _version(text: str) -> str:
    parts = text.removeprefix("v").split(".")
    if len(parts) not in (2, 3) or parts[0] != "1" or not all(p.isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected a Kubernetes version like 1.30, got {text!r}")
    return f"1.{int(parts[1])}"


def _feature_gates(text: str) -> dict[str, bool]:
    gates: dict[str, bool] = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key or value.lower() not in ("true", "false"):
            raise argparse.ArgumentTypeError(f"expected NAME=true|false, got {item!r}")
        gates[key.strip()] = value.lower() == "true"
    problem = unknown_gate(gates)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return gates


def _time_scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a factor in (0, 1], got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    """`python -m kdbgtest.sim.cli sim up ...` (or without the leading `sim`)."""
    args = commandline.standalone_args("sim", add_parser, argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
