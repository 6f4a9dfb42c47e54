"""The versions the sim's components run, changed in place while the cluster runs (an upgrade).

The daemon creates one `ComponentVersions` from `SimConfig.kubernetes_version`; the API server reads the
kube-apiserver's version at each request, the node agents the kubelet's (one version for every node).
`PUT /kdbgtest/v1/components/{component}` sets one; subscribers hear of each change (a node re-posts its
status, as a restarted kubelet would). The sim has no controller-manager or scheduler of its own: their
versions are only recorded and reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kdbgtest.sim.config import SimConfig

APISERVER = "kube-apiserver"
CONTROLLER_MANAGER = "kube-controller-manager"
SCHEDULER = "kube-scheduler"
KUBELET = "kubelet"
COMPONENTS = (APISERVER, CONTROLLER_MANAGER, SCHEDULER, KUBELET)
_VERSION = re.compile(r"^1\.(0|[1-9][0-9]{0,2})$")

Listener = Callable[[str, str], None]  # (component, new version)


class UnknownComponent(LookupError):
    """A component name the sim does not run."""


class InvalidVersion(ValueError):
    """A version that is not a Kubernetes minor version `1.N`."""


class ComponentVersions:
    """The running version ("1.N") of each component; every one starts at the cluster's configured version."""

    def __init__(self, config: SimConfig) -> None:
        self._config = config
        self._versions = dict.fromkeys(COMPONENTS, config.kubernetes_version)
        self._listeners: list[Listener] = []

    def version(self, component: str) -> str:
        return self._versions[_known(component)]

    def minor(self, component: str) -> int:
        return int(self.version(component).split(".")[1])

    def feature(self, component: str, gate: str) -> bool:
        """Whether `gate` is on for `component`: as configured, else the default for the version it runs."""
        return self._config.feature(gate, self.minor(component))

    def as_dict(self) -> dict[str, str]:
        return dict(self._versions)

    def set(self, component: str, version: str) -> None:
        """Run `version` of `component` from now on; UnknownComponent or InvalidVersion if it cannot."""
        _known(component)
        if not _VERSION.match(version):
            raise InvalidVersion(f"invalid version {version!r} for {component}: expected a version like 1.36")
        if self._versions[component] == version:
            return
        self._versions[component] = version
        for listener in list(self._listeners):
            listener(component, version)

    def subscribe(self, listener: Listener) -> None:
        """Call `listener(component, version)` after each change (in the caller's thread: the event loop)."""
        self._listeners.append(listener)


def _known(component: str) -> str:
    if component not in COMPONENTS:
        raise UnknownComponent(f"unknown component {component!r}: the sim runs {', '.join(COMPONENTS)}")
    return component
