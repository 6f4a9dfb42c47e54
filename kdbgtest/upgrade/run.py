"""The upgrade, in order:

1. bring the cluster up at `--from` (the local cluster builds both versions first, cached);
2. deploy the witnesses and look at them (`deployed`);
3. run the suite: phase `before` (results in OUT/before/);
4. replace kube-apiserver, then kube-controller-manager, kube-scheduler, then the kubelet (draining the node first
   with `--drain`, uncordoning it after), looking at the witnesses after each;
5. run the suite again: phase `after` (OUT/after/), then look at the witnesses once more (`after the suite`:
   what settled, or not, minutes after the last step);
6. always: take the cluster down (unless `--keep-cluster`).

A signal stops the run where it is, says which component runs which version, and still takes the cluster down.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from kdbgtest.base import interrupt
from kdbgtest.base.errors import KdbgtestError
from kdbgtest.cluster import base, upgradable
from kdbgtest.matrix import model as matrix_model
from kdbgtest.report import json_report
from kdbgtest.runner import engine, events, kube
from kdbgtest.scenario import loader
from kdbgtest.upgrade import skew
from kdbgtest.upgrade.model import PHASES, Phase, Step, Upgrade
from kdbgtest.upgrade.witnesses import Witnesses

RESULTS = "results.json"
ReporterFactory = Callable[[str], Sequence[events.Reporter]]  # phase -> console reporters for it


@dataclasses.dataclass(frozen=True)
class Plan:
    scenarios: Sequence[loader.LoadedScenario]
    options: engine.RunOptions
    out: Path
    drain: bool = False
    keep_cluster: bool = False
    skew: bool = False  # each phase again with kubectl one minor older and newer than the server


def run_upgrade(target: upgradable.Upgradable, plan: Plan, reporters: ReporterFactory) -> Upgrade:
    """Everything above; the returned record is complete even when a step failed (its `error` says which)."""
    result = Upgrade(target.kind, target.from_version, target.to_version, plan.drain)
    began = time.monotonic()
    _say(f"bringing up a {target.kind} cluster at {target.from_version}")
    info = target.up()
    client = engine.kubectl_for(info, plan.options)
    node = info.control_plane or info.nodes[0]
    witnesses = Witnesses(client, plan.out / "witnesses", plan.options.run_id, node, target.node_scratch)
    try:
        _upgrade(target, plan, reporters, result, info, witnesses)
    except KeyboardInterrupt as exc:
        stopped = interrupt.as_interrupted(exc)
        _say(f"{stopped.reason}: stopped; the components run: {_versions(target)}")
        raise
    except KdbgtestError as exc:
        result.error = " ".join(str(exc).split())
        _say(f"the upgrade stopped: {result.error}; the components run: {_versions(target)}")
    finally:
        result.seconds = time.monotonic() - began
        _release(target, witnesses, plan.keep_cluster)
    return result


def _upgrade(
    target: upgradable.Upgradable,
    plan: Plan,
    reporters: ReporterFactory,
    result: Upgrade,
    info: base.ClusterInfo,
    witnesses: Witnesses,
) -> None:
    client = witnesses.client
    started = time.monotonic()
    _say("deploying the witnesses")
    witnesses.deploy()
    result.phases["witnesses"] = time.monotonic() - started
    _checkpoint(result, witnesses, target, "deployed")
    _phases(result, "before", target.from_version, info, plan, reporters)
    for component in upgradable.ORDER:
        drained = component == "kubelet" and plan.drain
        if drained:
            _timed(result, "drain", lambda: _drain(client, _all_nodes(client)))
            result.checks.extend(witnesses.drained("after the drain"))
        before = target.versions().get(component, "?")
        _say(f"upgrading {component}: {before} -> {target.to_version}")
        step_began = time.monotonic()
        try:
            target.replace(component, target.to_version)
        except KdbgtestError as exc:
            result.steps.append(Step(component, before, "", time.monotonic() - step_began, str(exc)))
            raise
        result.steps.append(Step(component, before, target.to_version, time.monotonic() - step_began))
        if drained:
            _timed(result, "uncordon", lambda: [client.run(["uncordon", n], timeout=60) for n in _all_nodes(client)])
        _checkpoint(result, witnesses, target, f"after {component}")
    _phases(result, "after", target.to_version, target.probe(), plan, reporters)
    _checkpoint(result, witnesses, target, "after the suite")  # what settled (or not) minutes later


def _phases(
    result: Upgrade, name: str, version: str, info: base.ClusterInfo, plan: Plan, reporters: ReporterFactory
) -> None:
    """The suite as phase `name`; with `--skew` again with kubectl one minor older and newer (where one exists)."""
    _phase(result, Phase(name, f"{name} ({version})"), info, plan, reporters)
    if not plan.skew:
        return
    default = engine.kubectl_for(info, plan.options).client_version()
    for minor in skew.neighbours(info.minor, int(default.split(".")[1])):
        phase_id, label = f"{name}-kubectl-1.{minor}", f"{name} ({version}), kubectl"
        path = skew.kubectl(minor)
        if path is None:
            result.suite_phases.append(Phase(phase_id, f"{label} 1.{minor}", error=skew.unavailable(minor)))
            _say(f"phase {phase_id}: not run: {skew.unavailable(minor)}")
            continue
        kubectl = skew.client_version(path)
        skewed = dataclasses.replace(plan, options=dataclasses.replace(plan.options, kubectl=path))
        _phase(result, Phase(phase_id, f"{label} {kubectl}", kubectl=kubectl), info, skewed, reporters)


def _phase(result: Upgrade, phase: Phase, info: base.ClusterInfo, plan: Plan, reporters: ReporterFactory) -> None:
    directory = plan.out / phase.id
    (directory / RESULTS).unlink(missing_ok=True)
    options = dataclasses.replace(plan.options, artifacts=(directory / "artifacts").absolute(),
                                  run_id=engine.new_run_id())  # fmt: skip
    writer = json_report.reporter(directory / RESULTS)
    _say(f"phase {phase.id}: the suite on {info.name} (server {info.server_version})")
    result.suite_phases.append(phase)
    began = time.monotonic()
    try:
        engine.run_scenarios(plan.scenarios, info, options, [*reporters(phase.id), writer])
    finally:
        writer.close()
        result.phases[phase.id] = time.monotonic() - began


def _checkpoint(result: Upgrade, witnesses: Witnesses, target: upgradable.Upgradable, name: str) -> None:
    began = time.monotonic()
    result.versions[name] = target.versions()
    found = witnesses.check(name)
    result.checks.extend(found)
    broken = [f"{c.witness} {c.check}" for c in found if not c.ok]
    late = [f"{c.witness} {c.check} after {c.recovered:.1f}s" for c in found if c.recovered is not None]
    _say(f"witnesses {name}: {len(found) - len(broken)}/{len(found)} checks ok"
         + (f"; failed: {', '.join(broken)}" if broken else "")
         + (f"; worked only after a retry: {', '.join(late)}" if late else "")
         + f" ({time.monotonic() - began:.1f}s)")  # fmt: skip


def _all_nodes(client: kube.Kubectl) -> list[str]:
    """Every node, the control plane's too: each one's kubelet is upgraded."""
    listed = client.run(["get", "nodes", "-o", "jsonpath={.items[*].metadata.name}"], timeout=60).stdout
    return listed.split()


def _drain(client: kube.Kubectl, nodes: Sequence[str]) -> None:
    for node in nodes:
        client.run(["drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--force", "--timeout=180s"],
                   timeout=240)  # fmt: skip


def _timed(result: Upgrade, name: str, action: Callable[[], object]) -> None:
    began = time.monotonic()
    action()
    result.steps.append(Step(name, "", "", time.monotonic() - began))


def _release(target: upgradable.Upgradable, witnesses: Witnesses, keep: bool) -> None:
    """Delete the witnesses (gracefully: the node-issue witness removes what it planted on the node), then take
    the cluster down; a signal meanwhile is deferred until both are done."""
    if keep:
        _say(f"--keep-cluster: the {target.kind} cluster is left running ({_versions(target)})")
        return
    with interrupt.shielded() as deferred:
        problem = witnesses.remove()
        if problem:
            _say(problem)
        target.down()
    if deferred:
        raise interrupt.Interrupted(deferred[0])


def _versions(target: upgradable.Upgradable) -> str:
    try:
        found = target.versions()
    except (KdbgtestError, OSError) as exc:
        return f"unknown ({exc})"
    return ", ".join(f"{name} {version}" for name, version in found.items()) or "unknown"


def columns(result: Upgrade) -> list[matrix_model.Column]:
    """The phases that ran as matrix columns (results relative to OUT), ordered so that each neighbour pair is
    one comparison: before's skewed kubectl runs, before, after, after's skewed kubectl runs."""
    ran = [p for p in result.suite_phases if not p.error]
    main = {p.id: p for p in ran if p.id in PHASES}
    order = [p for p in ran if p.id.startswith("before-")]
    order += [main[p] for p in PHASES if p in main]
    order += [p for p in ran if p.id.startswith("after-")]
    return [
        matrix_model.Column(
            id=p.id, label=p.label, provider=result.cluster, source=f"phase {p.id}", results=f"{p.id}/{RESULTS}"
        )
        for p in order
    ]


def _say(message: str) -> None:
    print(f"kdbgtest upgrade: {message}", file=sys.stderr, flush=True)
