"""The components of a local cluster: their configuration files and command lines, in start order.

Flags follow hack/local-up-cluster.sh, trimmed to one node: authorization Node,RBAC; Pod Security admission on
(it is on by default); privileged pods allowed (node debugging needs them); everything on 127.0.0.1. The kubelet
runs on this host's cgroup v1 hierarchy (`failCgroupV1: false`), with disk eviction and image GC off (imported
images can never be pulled again), and containerd may not lower OOM scores (the host lacks CAP_SYS_RESOURCE).
Pods get a bridge without a default route: nothing they send leaves the bridge.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from kdbgtest.local import layout as paths
from kdbgtest.local.pins import Pins

CNI_PLUGIN_DIRS = ("/usr/lib/cni", "/opt/cni/bin")


@dataclass(frozen=True)
class Component:
    """One process of the cluster."""

    name: str
    argv: list[str]


def write_configs(where: paths.Layout, pins: Pins, node: paths.Node) -> None:
    """Write containerd's, the CNI's, the kubelet's and the scheduler's configuration files."""
    where.config.mkdir(parents=True, exist_ok=True)
    where.cni_conf.mkdir(parents=True, exist_ok=True)
    where.config_file("containerd.toml").write_text(containerd_toml(where, pins))
    (where.cni_conf / "10-kdbgtest.conflist").write_text(json.dumps(cni_conflist(where), indent=2) + "\n")
    where.config_file("kubelet.yaml").write_text(yaml.safe_dump(kubelet_config(where, node), sort_keys=False))
    where.config_file("scheduler.yaml").write_text(yaml.safe_dump(scheduler_config(where), sort_keys=False))


def control_plane(where: paths.Layout, bin_dir: Path) -> list[Component]:
    pki = where.pki
    return [
        Component(
            "etcd",
            [
                str(bin_dir / "etcd"),
                "--name=kdbgtest",
                f"--data-dir={where.etcd}",
                "--listen-client-urls=http://127.0.0.1:2379",
                "--advertise-client-urls=http://127.0.0.1:2379",
                "--listen-peer-urls=http://127.0.0.1:2380",
                "--initial-advertise-peer-urls=http://127.0.0.1:2380",
                "--initial-cluster=kdbgtest=http://127.0.0.1:2380",
                "--listen-metrics-urls=",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        ),
        Component(
            "kube-apiserver",
            [
                str(bin_dir / "kube-apiserver"),
                "--etcd-servers=http://127.0.0.1:2379",
                "--bind-address=127.0.0.1",
                f"--secure-port={paths.API_PORT}",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_cert}",
                f"--kubelet-client-certificate={pki.cert('apiserver-kubelet-client')}",
                f"--kubelet-client-key={pki.key('apiserver-kubelet-client')}",
                "--kubelet-preferred-address-types=InternalIP,Hostname",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki.sa_pub}",
                f"--service-account-signing-key-file={pki.sa_key}",
                f"--service-cluster-ip-range={paths.SERVICE_SUBNET}",
                "--authorization-mode=Node,RBAC",
                "--allow-privileged=true",
                "--enable-admission-plugins=NodeRestriction",
                "--profiling=false",
            ],
        ),
        Component(
            "kube-controller-manager",
            [
                str(bin_dir / "kube-controller-manager"),
                f"--kubeconfig={pki.kubeconfig('controller-manager')}",
                f"--authentication-kubeconfig={pki.kubeconfig('controller-manager')}",
                f"--authorization-kubeconfig={pki.kubeconfig('controller-manager')}",
                f"--service-account-private-key-file={pki.sa_key}",
                f"--root-ca-file={pki.ca_cert}",
                f"--cluster-signing-cert-file={pki.ca_cert}",
                f"--cluster-signing-key-file={pki.ca_key}",
                "--use-service-account-credentials",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                "--controllers=*",
                "--profiling=false",
            ],
        ),
        Component(
            "kube-scheduler",
            [
                str(bin_dir / "kube-scheduler"),
                f"--config={where.config_file('scheduler.yaml')}",
                f"--authentication-kubeconfig={pki.kubeconfig('scheduler')}",
                f"--authorization-kubeconfig={pki.kubeconfig('scheduler')}",
                "--bind-address=127.0.0.1",
            ],
        ),
    ]


def containerd(where: paths.Layout, bin_dir: Path) -> Component:
    return Component("containerd", [str(bin_dir / "containerd"), f"--config={where.config_file('containerd.toml')}"])


def kubelet(where: paths.Layout, bin_dir: Path, node: paths.Node) -> Component:
    return Component(
        "kubelet",
        [
            str(bin_dir / "kubelet"),
            f"--config={where.config_file('kubelet.yaml')}",
            f"--kubeconfig={where.pki.kubeconfig('kubelet')}",
            f"--root-dir={where.kubelet}",
            f"--hostname-override={node.name}",
            f"--node-ip={node.ip}",
            "--v=1",
        ],
    )


def containerd_toml(where: paths.Layout, pins: Pins) -> str:
    """containerd 2.x configuration (version 3), every path under the cluster's state directory."""
    runtime = "plugins.'io.containerd.cri.v1.runtime'"
    return f"""version = 3
root = "{where.containerd_root}"
state = "{where.containerd_state}"
disabled_plugins = [
  "io.containerd.internal.v1.opt",
  "io.containerd.nri.v1.nri",
  "io.containerd.tracing.processor.v1.otlp",
]

[grpc]
  address = "{where.containerd_socket}"

[ttrpc]
  address = ""

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "registry.k8s.io/pause:{pins.pause}"
  [plugins.'io.containerd.cri.v1.images'.registry]
    config_path = ""

[{runtime}]
  restrict_oom_score_adj = true
  enable_cdi = false
  netns_mounts_under_state_dir = true
  [{runtime}.containerd]
    default_runtime_name = "runc"
    [{runtime}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [{runtime}.containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "/usr/sbin/runc"
  [{runtime}.cni]
    bin_dirs = {json.dumps(list(CNI_PLUGIN_DIRS))}
    conf_dir = "{where.cni_conf}"
    max_conf_num = 1
"""


def cni_conflist(where: paths.Layout) -> dict[str, object]:
    """A bridge with host-local addresses and no default route (so pod traffic cannot leave the bridge)."""
    return {
        "cniVersion": "1.0.0",
        "name": "kdbgtest",
        "plugins": [
            {
                "type": "bridge",
                "bridge": paths.BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": paths.POD_SUBNET}]],
                    "dataDir": str(where.cni_data),
                },
            },
            {"type": "loopback"},
        ],
    }


def kubelet_config(where: paths.Layout, node: paths.Node) -> dict[str, object]:
    off = "0%"
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": node.ip,  # the API server reaches the kubelet at the node's InternalIP
        "port": paths.KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "containerRuntimeEndpoint": f"unix://{where.containerd_socket}",
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "cgroupsPerQOS": True,
        "cgroupRoot": f"/{paths.CGROUP_ROOT}",
        "enforceNodeAllocatable": ["pods"],
        "failSwapOn": False,
        "protectKernelDefaults": False,
        "oomScoreAdj": 0,
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": off,
            "nodefs.inodesFree": off,
            "imagefs.available": off,
            "imagefs.inodesFree": off,
        },
        "mergeDefaultEvictionSettings": False,
        "podLogsDir": str(where.pod_logs),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(where.pki.ca_cert)},
        },
        "authorization": {"mode": "Webhook"},
        "clusterDNS": ["10.96.0.10"],
        "clusterDomain": "cluster.local",
        "resolvConf": "",
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "runtimeRequestTimeout": "2m",
        "serializeImagePulls": False,
        "nodeStatusUpdateFrequency": "4s",
        "syncFrequency": "10s",
    }


def scheduler_config(where: paths.Layout) -> dict[str, object]:
    return {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "clientConnection": {"kubeconfig": str(where.pki.kubeconfig("scheduler"))},
        "leaderElection": {"leaderElect": False},
    }
