"""The offline cluster's node agents: the kubelet and container runtime of each sim node.

`agent.Node` (one per sim node, made by `agent.create_node`, in the sim's process and event loop) watches the
pods bound to its node through `kdbgtest.sim.contracts.ClusterState`, runs each with a pod worker (`pods.py`:
sandbox, image pull, container start with `runc`, probes, CrashLoopBackOff, termination), writes statuses and
events back, and serves logs, attach and exec through `contracts.NodeRuntime`. A sim node is a sandbox of its own
(root directory, PID namespace, uid mapping; `sandbox.py`, `idmap.py`); images are root filesystems built from
host binaries (`images.py`). This package imports nothing of `kdbgtest.sim.apiserver` (an import-linter
contract; ARCHITECTURE.md maps the modules).
"""
