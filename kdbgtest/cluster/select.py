"""`--cluster kind|sim|local|kubeconfig|auto`: a registry of provider factories, and the `auto` choice.

auto: the kubeconfig given with `--kubeconfig`/`--context` if any (the KUBECONFIG variable alone does not
count, so a run never lands on whatever cluster a shell happens to point at); else kind when its provider is
installed and usable (kind and docker work); else the offline sim. `--cluster kubeconfig` without
`--kubeconfig` uses KUBECONFIG (its first entry), else ~/.kube/config. `kubeconfig_notice` is the line a run
prints first when KUBECONFIG is set, so nobody wonders which cluster was used. Another provider registers itself with
`register`; `kind` is looked up lazily in `kdbgtest.cluster.kind` (its `provider(request)` and `usable()`).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from kdbgtest.base.errors import ClusterError
from kdbgtest.cluster import base
from kdbgtest.cluster import kubeconfig as kubeconfig_provider

CHOICES = ("auto", "kind", "sim", "local", "kubeconfig")


Factory = Callable[[base.ClusterRequest], base.ClusterProvider]


@dataclass(frozen=True)
class Entry:
    factory: Factory
    usable: Callable[[], bool]  # cheap check for `auto`


def _kubeconfig(request: base.ClusterRequest) -> base.ClusterProvider:
    return kubeconfig_provider.KubeconfigProvider(request.kubeconfig, request.context, request.kubectl)


def _sim(request: base.ClusterRequest) -> base.ClusterProvider:
    from kdbgtest.cluster import sim  # the sim package is large: load it only when a sim is wanted

    return sim.SimProvider(kubectl=request.kubectl)


def _local(request: base.ClusterRequest) -> base.ClusterProvider:
    from kdbgtest.cluster import local  # a real Kubernetes built from upstream: never chosen by `auto`

    return local.LocalProvider(kubectl=request.kubectl)


PROVIDERS: dict[str, Entry] = {
    "kubeconfig": Entry(_kubeconfig, lambda: True),
    "sim": Entry(_sim, lambda: True),
    "local": Entry(_local, lambda: True),
}

LAZY = {"kind": "kdbgtest.cluster.kind"}


def register(name: str, factory: Factory, usable: Callable[[], bool] = lambda: True) -> None:
    """Add (or replace) a provider under `name`."""
    PROVIDERS[name] = Entry(factory, usable)


def _entry(name: str) -> Entry | None:
    if name in PROVIDERS:
        return PROVIDERS[name]
    module_name = LAZY.get(name)
    if module_name is None or importlib.util.find_spec(module_name) is None:
        return None
    module = importlib.import_module(module_name)
    register(name, module.provider, module.usable)
    return PROVIDERS[name]


def choose(request: base.ClusterRequest) -> str:
    """The provider name `request` resolves to."""
    if request.kind != "auto":
        return request.kind
    if request.kubeconfig is not None or request.context is not None:
        return "kubeconfig"
    if request.kind_config is not None:
        return "kind"
    kind = _entry("kind")
    if kind is not None and kind.usable():
        return "kind"
    return "sim"


def provider(request: base.ClusterRequest) -> base.ClusterProvider:
    """The provider for `request`; an unknown or unavailable one is a `ClusterError` that says what to use."""
    name = choose(request)
    entry = _entry(name)
    if entry is None:
        known = sorted({*PROVIDERS, *(n for n in LAZY if _entry(n) is not None)})
        raise ClusterError(
            f"cluster provider '{name}' is not available in this installation; use one of: {', '.join(known)}"
        )
    return entry.factory(request)


def kubeconfig_notice(request: base.ClusterRequest, environ: Mapping[str, str] | None = None) -> str | None:
    """One line about the KUBECONFIG variable when it is set and no `--kubeconfig` is given: that `auto`
    ignores it, or that the run uses it. None when it is not set or does not matter."""
    value = (os.environ if environ is None else environ).get("KUBECONFIG", "")
    entries = [e for e in value.split(os.pathsep) if e]
    if not entries or request.kubeconfig is not None or request.kind not in ("auto", "kubeconfig"):
        return None
    if request.kind == "auto" and request.context is None:
        return (
            f"kdbgtest: KUBECONFIG is set ({value}) but not used: --cluster auto never runs on the cluster your "
            "shell points at; pass --cluster kubeconfig to run there"
        )
    first = f" (its first entry; other files are not merged): {entries[0]}" if len(entries) > 1 else f": {value}"
    return f"kdbgtest: using the kubeconfig from KUBECONFIG{first}"
