"""Run the same scenarios on each cluster of a matrix, one cluster after another.

For each column: start its cluster (the sim or kind provider), run every scenario through the engine with a
JSON reporter writing `<out>/<column>/results.json` and artifacts in `<out>/<column>/artifacts/`, and
release the cluster, always. A cluster that cannot be started (or stopped) is recorded in its column and
the matrix goes on with the next one; Ctrl-C releases the current cluster and stops.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Sequence
from pathlib import Path

from kdbgtest.base import commandline, interrupt
from kdbgtest.base.errors import KdbgtestError
from kdbgtest.cluster import base, select
from kdbgtest.matrix import model
from kdbgtest.matrix.spec import ClusterSpec
from kdbgtest.report import json_report
from kdbgtest.runner import cleanup, engine, events
from kdbgtest.scenario import loader

RESULTS = "results.json"
ARTIFACTS = "artifacts"


def provider_for(spec: ClusterSpec, request: base.ClusterRequest) -> base.ClusterProvider:
    """The provider of one column: a sim of its own, the local real cluster, or kind with the column's config."""
    if spec.local_version is not None:
        from kdbgtest.cluster import local

        return local.LocalProvider(spec.local_version, kubectl=request.kubectl)
    if spec.sim is not None:
        from kdbgtest.cluster import sim  # the sim package is large: load it only when a sim is wanted

        config = spec.sim.config(name=f"kdbgmx-{secrets.token_hex(3)}")
        return sim.SimProvider(config, kubectl=request.kubectl)
    return select.provider(dataclasses.replace(request, kind="kind", kind_config=spec.kind_config))


def run_column(
    spec: ClusterSpec,
    scenarios: Sequence[loader.LoadedScenario],
    out: Path,
    options: engine.RunOptions,
    request: base.ClusterRequest,
    reporters: Sequence[events.Reporter] = (),
) -> model.Column:
    """Run `scenarios` on the cluster of `spec`; the column names its results document (relative to `out`)."""
    directory = out / spec.slug
    results = directory / RESULTS
    results.unlink(missing_ok=True)  # never report an earlier matrix's results as this one's
    column = model.Column(id=spec.slug, label=spec.label, provider=spec.provider, source=spec.source)
    options = dataclasses.replace(options, artifacts=(directory / ARTIFACTS).absolute(), run_id=engine.new_run_id())
    writer = json_report.reporter(results)
    try:
        provider = provider_for(spec, request)
        cluster = provider.acquire()
    except KdbgtestError as exc:
        return dataclasses.replace(column, error=commandline.one_line(exc))
    error = ""
    deferred: list[int] = []
    try:
        engine.run_scenarios(scenarios, cluster, options, [*reporters, writer])
    finally:
        writer.close()
        try:
            with cleanup.shielded() as deferred:  # a signal now would leave the column's cluster half-stopped
                provider.release()
        except KdbgtestError as exc:
            error = f"the results are complete, but releasing the cluster failed: {commandline.one_line(exc)}"
    if deferred:
        raise interrupt.Interrupted(deferred[0])
    return dataclasses.replace(column, results=f"{spec.slug}/{RESULTS}", error=error)
