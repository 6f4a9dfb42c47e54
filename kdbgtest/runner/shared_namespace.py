"""`--namespace NS`: scenarios run one after another in a namespace that exists already (on clusters where the
user may not create namespaces), and cleanup removes only what the run created there.

Everything a fixture or an `apply` step creates gets the run's labels (`app.kubernetes.io/managed-by=kdbgtest`,
`kdbgtest.io/run-id`, `kdbgtest.io/scenario`, see `namespace.labels`), and cleanup deletes exactly the objects
of the applied kinds that carry this scenario run's labels, then waits until they are gone (so the next scenario
starts from a clean namespace). Pods that debug steps create (copies, node debuggers) are tracked by name as in
a namespace of its own (`cleanup.Tracker`). Objects made by plain `kubectl` steps (`kubectl run`, `create`)
cannot be told apart from other people's and are not removed: create them with `apply`, or delete them in
`finally`. Failure artifacts cover the labelled pods and the tracked ones, never the other pods there.
"""

from __future__ import annotations

import copy
import dataclasses
import shlex
from dataclasses import dataclass, field

from kdbgtest.base.errors import ClusterError, KdbgtestError, StepTimeout
from kdbgtest.base.k8s import Obj
from kdbgtest.runner import cleanup, kube, namespace


@dataclass
class SharedNamespace:
    """One scenario run's share of the namespace `name`: its labels and the kinds it applied."""

    name: str
    labels: dict[str, str]
    kinds: list[str] = field(default_factory=list)  # resource types to clean up, e.g. `pod`, `deployment.apps`

    @property
    def selector(self) -> str:
        return ",".join(f"{key}={value}" for key, value in sorted(self.labels.items()))

    def check(self, client: kube.Kubectl) -> None:
        """ClusterError unless the namespace exists (a user who may not read namespaces is taken at their word)."""
        try:
            found = client.get(f"namespace/{self.name}")
        except KdbgtestError as exc:
            if "Forbidden" in str(exc):
                return
            raise ClusterError(f"cannot look up namespace {self.name}: {exc}") from None
        if found is None:
            raise ClusterError(f"namespace {self.name} (--namespace) does not exist; create it first or pick another")

    def adopt(self, manifests: list[Obj]) -> list[Obj]:
        """The manifests with the run's labels added, their kinds remembered for cleanup."""
        labelled = []
        for manifest in manifests:
            item = copy.deepcopy(manifest)
            metadata = item.setdefault("metadata", {})
            metadata["labels"] = {**(metadata.get("labels") or {}), **self.labels}
            kind = resource_type(item)
            if kind and kind not in self.kinds:
                self.kinds.append(kind)
            labelled.append(item)
        return labelled

    def removal_commands(self, client: kube.Kubectl) -> list[str]:
        """The kubectl command that removes what this run created here (printed with --keep)."""
        if not self.kinds:
            return []
        args = ["delete", ",".join(self.kinds), "-l", self.selector, "--ignore-not-found"]
        return [shlex.join(client.argv(args, self.name))]

    def remove(self, client: kube.Kubectl, *, timeout: float) -> tuple[list[str], list[str]]:
        """Delete the labelled objects and wait until they are gone: (what was removed, problems)."""
        if not self.kinds:
            return [], []
        kinds = ",".join(self.kinds)
        try:
            done = client.run(
                ["delete", kinds, "-l", self.selector, "--ignore-not-found", "--wait=false", "-o", "name"],
                namespace=self.name,
            )
        except KdbgtestError as exc:
            return [], [f"objects labelled {self.selector} in namespace {self.name}: delete failed: {exc}"]
        removed = [f"{line} in namespace {self.name}" for line in done.stdout.split()]
        problem = self._wait_gone(client, kinds, timeout)
        return removed, [problem] if problem else []

    def _wait_gone(self, client: kube.Kubectl, kinds: str, timeout: float) -> str | None:
        def left() -> tuple[bool, str]:
            try:
                done = client.run(["get", kinds, "-l", self.selector, "-o", "name"], namespace=self.name)
            except KdbgtestError as exc:
                return False, f"kubectl failed: {exc}"
            names = done.stdout.split()
            return not names, ", ".join(names) or "nothing"

        try:
            kube.poll(
                left,
                timeout=timeout,
                what=f"the run's objects in namespace {self.name} to be deleted",
                describe=lambda names: f"still there: {names}",
            )
        except StepTimeout as exc:
            return str(exc)
        return None


def for_run(name: str, scenario: str, run_id: str) -> SharedNamespace:
    return SharedNamespace(name, namespace.labels(scenario, run_id))


def resource_type(manifest: Obj) -> str:
    """`pod`, `deployment.apps`: what `kubectl delete TYPE -l ...` needs for the manifest's kind."""
    kind = str(manifest.get("kind") or "").lower()
    group = str(manifest.get("apiVersion") or "").rpartition("/")[0]
    if not kind:
        return ""
    return f"{kind}.{group}" if group else kind


def finish_cleanup(
    report: cleanup.Report, share: SharedNamespace, client: kube.Kubectl, *, keep: bool, timeout: float
) -> cleanup.Report:
    """The tracker's cleanup `report` completed with this run's labelled objects (removed, or with --keep
    the command that removes them)."""
    if keep:
        commands = [line.strip() for line in report.hint.splitlines()[1:]] + share.removal_commands(client)
        hint = "kept for inspection; remove with:\n" + "\n".join(f"  {c}" for c in commands) if commands else ""
        return dataclasses.replace(report, hint=hint)
    removed, problems = share.remove(client, timeout=timeout)
    return dataclasses.replace(report, removed=[*report.removed, *removed], problems=[*report.problems, *problems])
