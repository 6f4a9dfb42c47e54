"""`kdbgtest local`: a real single-node Kubernetes, built from the upstream Go modules of pinned releases.

kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, etcd and containerd are compiled from the Go
module proxy (`build`), started on this host as plain processes the way `hack/local-up-cluster.sh` does (`cluster`)
and removed without a trace. It is the oracle the offline sim is checked against. Like `kdbgtest.sim`, this
package depends on nothing above `kdbgtest.base`; `kdbgtest.cluster.local` makes it a cluster provider.

Modules: `pins` (which versions, from `clusters/local/`), `build` (go build into a per-version cache), `pki`
(certificates and kubeconfigs), `configs` (component configuration files), `images` (image archives built from
local binaries), `host` (what the cluster changes on the host, and undoing it), `procs` (the component
processes), `cluster` (up, down, status) and `cli` (`kdbgtest local build|up|down|status`).
"""
