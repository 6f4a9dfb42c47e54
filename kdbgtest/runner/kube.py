"""Thin kubectl helpers for the runner: JSON gets and lists, create from stdin, deletes.

Everything goes through `kdbgtest.base.process.run` with argv lists and a timeout, except the reads of a
client made with a `reads.Reader` (`with_reader`): `get`, `items` and `wait_gone` then look through its
keep-alive connection (a kubectl process costs ~40 ms for a 0.5 ms GET), and ask kubectl only for kinds it
does not know.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from kdbgtest.base import process, waiting
from kdbgtest.base.errors import ClusterError, KdbgtestError, StepTimeout
from kdbgtest.base.k8s import Obj
from kdbgtest.runner import reads

# Timeout for one quick API call (get, list, delete request).
CALL_TIMEOUT = 30.0
# Polling (waits, deletions, `within`): the first pause is short, then each grows by half up to the last.
# Most states on a healthy cluster arrive within a fraction of a second; a fixed 0.5 s lost ~0.25 s per wait.
FIRST_POLL = 0.05
MAX_POLL = 0.5

T = TypeVar("T")


def poll(probe: Callable[[], tuple[bool, T]], *, timeout: float, what: str, describe: Callable[[T], str] = str) -> T:
    """`waiting.wait_for` at the runner's pace: the first pause `FIRST_POLL`, growing up to `MAX_POLL`."""
    return waiting.wait_for(
        probe, timeout=timeout, what=what, interval=FIRST_POLL, max_interval=MAX_POLL, describe=describe
    )


@dataclass(frozen=True)
class Kubectl:
    """The kubectl binary and the cluster it talks to."""

    path: Path
    kubeconfig: Path
    context: str | None = None
    reader: reads.Reader | None = field(default=None, compare=False, repr=False)
    impersonate: tuple[str, ...] = ()  # `--as=USER`, `--as-group=G`: every command acts as that user

    def acting_as(self, flags: Sequence[str]) -> Kubectl:
        """This client acting as another user (kubectl `--as` flags); its reads go through kubectl (the
        keep-alive reader is the kubeconfig user's own)."""
        return replace(self, reader=None, impersonate=tuple(flags))

    def with_reader(self) -> Kubectl:
        """This client, reading through a keep-alive connection of its own (close it with `close`); itself
        (every read through kubectl) when the kubernetes client cannot load a kubeconfig kubectl can use
        (an empty file kubectl fills from flags, an auth plugin the client lacks, ...)."""
        try:
            return replace(self, reader=reads.Reader(self.kubeconfig, self.context))
        except reads.Unreadable:
            return self

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()

    def argv(self, args: Sequence[str], namespace: str | None = None) -> list[str]:
        """Full argv: kubectl, the cluster flags, `-n namespace` if given, then `args`."""
        base = [str(self.path), "--kubeconfig", str(self.kubeconfig)]
        if self.context:
            base += ["--context", self.context]
        base += self.impersonate
        if namespace:
            base += ["-n", namespace]
        return [*base, *args]

    def run(
        self,
        args: Sequence[str],
        *,
        namespace: str | None = None,
        timeout: float = CALL_TIMEOUT,
        stdin: str | None = None,
        check: bool = True,
    ) -> process.Completed:
        """Run kubectl; with `check`, a non-zero exit raises `CommandFailed`."""
        return process.run(self.argv(args, namespace), timeout=timeout, stdin=stdin, check=check)

    def get(self, ref: str, *, namespace: str | None = None, timeout: float = CALL_TIMEOUT) -> Obj | None:
        """Object `ref` (KIND/NAME) as JSON, or None if it does not exist."""
        if self.reader is not None:
            try:
                return self.reader.get(ref, namespace=namespace, timeout=timeout)
            except reads.Unsupported:
                pass
        done = self.run(["get", ref, "-o", "json", "--ignore-not-found"], namespace=namespace, timeout=timeout)
        return _parse(done) if done.stdout.strip() else None

    def wait_gone(
        self,
        ref: str,
        *,
        label: str,
        timeout: float,
        namespace: str | None = None,
        state: Callable[[Obj], str] | None = None,
    ) -> str | None:
        """Poll until `ref` (KIND/NAME) no longer exists: None once gone, else a sentence starting with `label`
        (e.g. "pod ns/x") that says what was last seen (`state(obj)`, default "still there")."""

        kind, _, name = ref.partition("/")
        if self.reader is not None and reads.known(kind):

            def judge(obj: Obj | None) -> tuple[bool, str]:
                if obj is None:
                    return True, "gone"
                return False, state(obj) if state else "still there"

            try:
                self.reader.watch_one(kind, name, namespace, judge, timeout=timeout, what=f"{label} to be deleted")
            except StepTimeout as exc:
                return f"{label}: {exc}"
            return None

        def gone() -> tuple[bool, str]:
            try:
                obj = self.get(ref, namespace=namespace)
            except KdbgtestError as exc:
                return False, f"kubectl failed: {exc}"
            if obj is None:
                return True, "gone"
            return False, state(obj) if state else "still there"

        try:
            poll(gone, timeout=timeout, what=f"{label} to be deleted")
        except StepTimeout as exc:
            return f"{label}: {exc}"
        return None

    def items(
        self,
        kind: str,
        *,
        namespace: str | None = None,
        all_namespaces: bool = False,
        labels: str | None = None,
        fields: str | None = None,
        timeout: float = CALL_TIMEOUT,
    ) -> list[Obj]:
        """Items of a list of `kind` in `namespace` (or all namespaces), filtered by label/field selectors."""
        if self.reader is not None and (namespace or all_namespaces or reads.cluster_scoped(kind)):
            try:
                return self.reader.items(kind, namespace=namespace, labels=labels, fields=fields, timeout=timeout)
            except reads.Unsupported:
                pass
        args = ["get", kind, "-o", "json"]
        if all_namespaces:
            args.append("--all-namespaces")
        if labels:
            args += ["-l", labels]
        if fields:
            args += ["--field-selector", fields]
        items = _parse(self.run(args, namespace=namespace, timeout=timeout)).get("items") or []
        return [item for item in items if isinstance(item, dict)]

    def create_all(
        self, manifests: list[Obj], *, namespace: str, timeout: float, check: bool = True
    ) -> process.Completed:
        """`kubectl create -f -` with the manifests on stdin (fixtures and `apply` steps).

        `create`, not `apply`: the objects look as a user's `kubectl create`/`kubectl run` makes them, without
        the `kubectl.kubernetes.io/last-applied-configuration` annotation client-side apply adds (server-side
        apply would avoid it too, but needs the server to implement it, which the offline cluster does not).
        An object that already exists is refused (AlreadyExists), as it would be for a user."""
        stdin = manifest_stream(manifests)
        return self.run(["create", "-f", "-"], namespace=namespace, timeout=timeout, stdin=stdin, check=check)

    def create(self, manifest: Obj, *, timeout: float = CALL_TIMEOUT) -> None:
        """Create the run's own `manifest` (its namespace): fails if the object exists. Through the reader's
        connection for a kind it knows, else `kubectl create -f -`."""
        kind = str(manifest.get("kind", "")).lower()
        if self.reader is not None and reads.cluster_scoped(kind):
            self.reader.create(kind, manifest, timeout=timeout)
            return
        self.run(["create", "-f", "-"], timeout=timeout, stdin=manifest_stream([manifest]))

    def delete(self, ref: str, *, namespace: str | None = None, grace: int | None = None) -> None:
        """Start deleting the harness's own object `ref` (KIND/NAME: the run's namespace, a debug step's pod);
        nothing if it is not there. Through the reader's connection for a kind it knows, else kubectl."""
        kind, _, name = ref.partition("/")
        if self.reader is not None and reads.known(kind):
            self.reader.delete(ref, namespace=namespace, grace=grace)
            return
        grace_flag = [f"--grace-period={grace}"] if grace is not None else []
        self.run(["delete", kind, name, "--ignore-not-found", "--wait=false", *grace_flag], namespace=namespace)

    def version(self, *, timeout: float = CALL_TIMEOUT) -> Obj:
        """`kubectl version -o json`: clientVersion and serverVersion."""
        return _parse(self.run(["version", "-o", "json"], timeout=timeout))

    def client_version(self, *, timeout: float = CALL_TIMEOUT) -> str:
        """kubectl's own version, e.g. `v1.37.1`."""
        data = _parse(self.run(["version", "--client", "-o", "json"], timeout=timeout))
        return str((data.get("clientVersion") or {}).get("gitVersion", "unknown"))


def _parse(done: process.Completed) -> Obj:
    try:
        data = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise ClusterError(
            f"`{' '.join(done.argv[-4:])}` printed something that is not JSON ({exc}); "
            f"first line: {done.stdout.strip()[:120]!r}"
        ) from None
    if not isinstance(data, dict):
        raise ClusterError(f"`{' '.join(done.argv[-4:])}` printed JSON that is not an object")
    return data


def manifest_stream(manifests: Sequence[Obj]) -> str:
    """A YAML stream whose documents are JSON: every string stays a string for kubectl's parser.

    PyYAML would write a string such as the run id `50349e59` unquoted, and kubectl's YAML reader takes that
    for a number (5.0349e63), so a label value would be rejected.
    """
    return "".join(f"---\n{json.dumps(manifest)}\n" for manifest in manifests)
