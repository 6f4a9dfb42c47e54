"""The protobuf decoder's field table, checked against the real pinned kubectl (1.37.1).

A minimal plain-HTTP fake API server (discovery, GET pod/node, capture of write bodies) runs in a thread;
kubectl copies pods with `kubectl debug --copy-to`, creates node-debugger pods and namespaces, and deletes
with `--replace`, all of which it sends as protobuf. The decoded bodies must equal the JSON kubectl itself
renders for the same objects: `kubectl run --dry-run=client -o json --overrides=POD` prints a pod through the
same Go types (omitempty, pointers, Quantity, IntOrString), which is the oracle for "the JSON form".
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kdbgtest.base import process, tools
from kdbgtest.fixtures import catalog
from kdbgtest.sim.apiserver import defaults, patch, protobuf, protobuf_schema, validation

NS = "ns1"
PROTOBUF = "application/vnd.kubernetes.protobuf"
RESOURCES = [
    {
        "name": "pods",
        "singularName": "pod",
        "namespaced": True,
        "kind": "Pod",
        "shortNames": ["po"],
        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
    },
    {
        "name": "pods/ephemeralcontainers",
        "singularName": "",
        "namespaced": True,
        "kind": "Pod",
        "verbs": ["get", "patch", "update"],
    },
    {"name": "nodes", "singularName": "node", "namespaced": False, "kind": "Node", "verbs": ["get", "list"]},
    {
        "name": "namespaces",
        "singularName": "namespace",
        "namespaced": False,
        "kind": "Namespace",
        "verbs": ["create", "get", "list"],
        "shortNames": ["ns"],
    },
]
DISCOVERY: dict[str, dict[str, Any]] = {
    "/api": {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
    },
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": []},
    "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": RESOURCES},
}
# The container `kubectl debug --copy-to -c dbg --image=busybox --profile=general -- sh` appends.
DEBUG_CONTAINER = {
    "name": "dbg",
    "image": "busybox",
    "command": ["sh"],
    "resources": {},
    "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}},
    "terminationMessagePolicy": "File",
}


@dataclass
class Captured:
    method: str
    path: str
    content_type: str
    body: bytes


@dataclass
class FakeAPIServer:
    """Serves discovery, `pods` (by name) and any node; records every POST/DELETE body."""

    pods: dict[str, dict[str, Any]] = field(default_factory=dict)
    captured: list[Captured] = field(default_factory=list)
    url: str = ""


def _handler(state: FakeAPIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, code: int, obj: dict[str, Any]) -> None:
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path in DISCOVERY:
                return self._send(200, DISCOVERY[path])
            if path.startswith("/api/v1/nodes/"):
                return self._send(200, {"kind": "Node", "apiVersion": "v1", "metadata": {"name": path[14:]}})
            name = path.rsplit("/", 1)[-1]
            if f"/namespaces/{NS}/pods/" in path and name in state.pods:
                return self._send(200, state.pods[name])
            return self._send(
                404,
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Failure",
                    "reason": "NotFound",
                    "code": 404,
                },
            )

        def _capture(self) -> Captured:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            got = Captured(self.command, self.path, self.headers.get("Content-Type", ""), body)
            state.captured.append(got)
            return got

        def do_POST(self) -> None:
            got = self._capture()
            try:
                self._send(201, protobuf.decode_object(got.body) if got.content_type == PROTOBUF else {})
            except protobuf.DecodeError as err:  # shown by kubectl as "Error from server (BadRequest): ..."
                self._send(
                    400,
                    {
                        "kind": "Status",
                        "apiVersion": "v1",
                        "status": "Failure",
                        "message": str(err),
                        "reason": "BadRequest",
                        "code": 400,
                    },
                )

        def do_PATCH(self) -> None:
            """Apply the patch; for the ephemeralcontainers subresource default and validate as the server."""
            got = self._capture()
            name = self.path.split("?")[0].split("/")[6]
            old = state.pods[name]
            new = patch.apply_patch(old, got.body, got.content_type)
            if self.path.split("?")[0].endswith("/ephemeralcontainers"):
                new = validation.drop_non_ephemeral_updates(new, old)
                ecs = new["spec"].get("ephemeralContainers") or []
                new["spec"]["ephemeralContainers"] = [defaults.default_ephemeral_container(ec) for ec in ecs]
                errors = validation.validate_ephemeral_update(old, new)
                if errors:
                    return self._send(422, validation.invalid_status("Pod", name, errors))
            state.pods[name] = new
            return self._send(200, new)

        def do_DELETE(self) -> None:
            self._capture()
            self._send(200, {"kind": "Status", "apiVersion": "v1", "status": "Success"})

    return Handler


@pytest.fixture
def server() -> Iterator[FakeAPIServer]:
    state = FakeAPIServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def kubectl(server: FakeAPIServer, tmp_path: Path) -> Any:
    """Run the pinned kubectl against the fake server; returns its stdout."""
    config = tmp_path / "kubeconfig"
    config.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "c",
                "clusters": [{"name": "f", "cluster": {"server": server.url}}],
                "users": [{"name": "u", "user": {}}],
                "contexts": [{"name": "c", "context": {"cluster": "f", "user": "u", "namespace": NS}}],
            }
        )
    )
    base = [str(tools.pinned_kubectl()), f"--kubeconfig={config}", f"--cache-dir={tmp_path / 'cache'}"]

    def run(*args: str, fails: bool = False) -> str:
        """kubectl's stdout; with `fails`, kubectl must exit 1 and its stderr is returned."""
        done = process.run([*base, *args], timeout=60, check=False)
        assert done.returncode == (1 if fails else 0), (
            f"kubectl {' '.join(args[:3])} ... exited {done.returncode}:\n{done.stderr}"
        )
        return done.stderr if fails else done.stdout

    return run


def canonical(kubectl: Any, pod: dict[str, Any]) -> dict[str, Any]:
    """`pod` as kubectl's Go types render it to JSON (unknown fields dropped, zero values per JSON tags)."""
    out = kubectl(
        "run",
        pod["metadata"]["name"],
        "--image=unused",
        "--dry-run=client",
        "-o",
        "json",
        f"--overrides={json.dumps(pod)}",
    )
    rendered: dict[str, Any] = json.loads(out)
    rendered["metadata"].setdefault("labels", {}).pop("run", None)
    if not rendered["metadata"]["labels"]:
        del rendered["metadata"]["labels"]
    return rendered


def differences(got: Any, want: Any, path: str = "") -> list[str]:
    """Paths where two JSON values differ, for readable assertion messages."""
    if isinstance(got, dict) and isinstance(want, dict):
        return [
            d
            for k in sorted(set(got) | set(want), key=str)
            for d in differences(got.get(k, "<absent>"), want.get(k, "<absent>"), f"{path}.{k}")
        ]
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        return [d for i, (g, w) in enumerate(zip(got, want, strict=True)) for d in differences(g, w, f"{path}[{i}]")]
    return [] if got == want else [f"{path}: got {got!r}, want {want!r}"]


def assert_same(got: Any, want: Any) -> None:
    diffs = differences(got, want)
    assert not diffs, "\n".join(diffs)


def posted(server: FakeAPIServer, method: str = "POST") -> list[dict[str, Any]]:
    found = [c for c in server.captured if c.method == method]
    assert found, f"kubectl sent no {method}; saw {[(c.method, c.path) for c in server.captured]}"
    assert all(c.content_type == PROTOBUF for c in found), [c.content_type for c in found]
    return [protobuf.decode_object(c.body) for c in found]


def expected_copy(source: dict[str, Any], name: str) -> dict[str, Any]:
    """What `kubectl debug --copy-to` posts, per kubectl-debug.md section 1(b) with every --keep-* flag."""
    meta = {"name": name, "namespace": NS}
    meta.update({k: source["metadata"][k] for k in ("labels", "annotations") if source["metadata"].get(k)})
    spec = copy.deepcopy(source["spec"])
    spec.pop("ephemeralContainers", None)
    spec["containers"] = [*spec["containers"], DEBUG_CONTAINER]
    spec["shareProcessNamespace"] = True
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec, "status": {}}


def debug_copy(kubectl: Any, server: FakeAPIServer, source: dict[str, Any]) -> dict[str, Any]:
    server.pods[source["metadata"]["name"]] = source
    kubectl(
        "debug",
        source["metadata"]["name"],
        "--copy-to=the-copy",
        "--image=busybox",
        "-c",
        "dbg",
        "--same-node",
        "--share-processes",
        "--profile=general",
        "--keep-labels",
        "--keep-annotations",
        "--keep-liveness",
        "--keep-readiness",
        "--keep-startup",
        "--",
        "sh",
    )
    (body,) = posted(server)
    return body


# --- a pod with every field of the table set, generated from the table itself


class _Values:
    """Distinct non-zero values (or zero values) for each scalar type."""

    def __init__(self, zero: bool) -> None:
        self.zero, self.n = zero, 0

    def scalar(self, typ: str) -> Any:
        self.n += 1
        if typ == "str":
            return "" if self.zero else f"v{self.n}"
        if typ in ("i32", "i64"):
            return 0 if self.zero else self.n
        if typ == "bool":
            return not self.zero
        if typ == "qty":
            return "0" if self.zero else f"{self.n}Mi"
        if typ == "ios":
            return 0 if self.zero else (self.n if self.n % 2 else f"p{self.n}")
        raise AssertionError(f"no test value for type {typ}")


def generate(message: str, values: _Values) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for number, (name, typ, mode) in protobuf_schema.MESSAGES[message].items():
        if (message, number) in protobuf_schema.NEWER_THAN_KUBECTL:
            continue
        one = (
            (lambda t=typ: generate(t, values)) if typ in protobuf_schema.MESSAGES else (lambda t=typ: values.scalar(t))
        )
        if mode == protobuf_schema.IN:
            out.update(one())
        elif mode == protobuf_schema.L:
            out[name] = [one()]
        elif mode == protobuf_schema.M:
            out[name] = {"k": one()}
        else:
            out[name] = one()
    return out


def kitchen_sink(zero: bool) -> dict[str, Any]:
    meta = {"name": "sink", "namespace": NS, "labels": {"l": "v"}, "annotations": {"a": "v"}}
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": generate("PodSpec", _Values(zero))}


def fixture_pods() -> list[dict[str, Any]]:
    pods = []
    for fixture in catalog.FIXTURES.values():
        for manifest in fixture.render(fixture.defaults):
            if manifest["kind"] == "Pod":
                # securityContext as the API server defaults it: kubectl 1.37.1 panics on a copy without one
                # (debug.go:647 displayWarning dereferences spec.securityContext).
                spec = {"securityContext": {}, **manifest["spec"]}
                pods.append({**manifest, "metadata": {**manifest["metadata"], "namespace": NS}, "spec": spec})
    return pods


# --- tests


def test_kitchen_sink_field_names_are_what_kubectl_knows(kubectl: Any) -> None:
    """Every JSON name in the table survives kubectl's typed decoding (unknown names would be dropped)."""
    sink = kitchen_sink(zero=False)
    rendered = canonical(kubectl, sink)
    assert_same(rendered["spec"], sink["spec"])


@pytest.mark.parametrize("zero", [False, True], ids=["values", "zero-values"])
def test_copy_of_kitchen_sink_decodes_to_kubectls_json(kubectl: Any, server: FakeAPIServer, zero: bool) -> None:
    source = canonical(kubectl, kitchen_sink(zero))
    assert_same(debug_copy(kubectl, server, source), expected_copy(source, "the-copy"))


@pytest.mark.parametrize("pod", fixture_pods(), ids=lambda p: p["metadata"]["name"])
def test_copy_of_every_fixture_decodes_to_kubectls_json(
    kubectl: Any, server: FakeAPIServer, pod: dict[str, Any]
) -> None:
    source = canonical(kubectl, pod)
    assert_same(debug_copy(kubectl, server, source), expected_copy(source, "the-copy"))


def test_node_debug_pod_decodes(kubectl: Any, server: FakeAPIServer) -> None:
    out = kubectl("debug", "node/n1", "--image=busybox")
    (pod,) = posted(server)
    name = pod["metadata"]["name"]
    assert re.fullmatch(r"node-debugger-n1-[bcdfghjklmnpqrstvwxz2456789]{5}", name), name
    assert f"Creating debugging pod {name} with container debugger on node n1." in out
    assert server.captured[0].path == f"/api/v1/namespaces/{NS}/pods"
    assert pod == {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "kubectl-debug"}},
        "spec": {
            "volumes": [{"name": "host-root", "hostPath": {"path": "/"}}],
            "containers": [
                {
                    "name": "debugger",
                    "image": "busybox",
                    "resources": {},
                    "volumeMounts": [{"name": "host-root", "mountPath": "/host"}],
                    "terminationMessagePolicy": "File",
                }
            ],
            "restartPolicy": "Never",
            "nodeName": "n1",
            "hostNetwork": True,
            "hostPID": True,
            "hostIPC": True,
            "tolerations": [{"operator": "Exists"}],
        },
        "status": {},
    }


def test_replace_sends_protobuf_delete_options(kubectl: Any, server: FakeAPIServer) -> None:
    source = canonical(kubectl, fixture_pods()[0])
    server.pods[source["metadata"]["name"]] = source
    kubectl("debug", source["metadata"]["name"], "--copy-to=repl", "--replace", "--image=busybox", "-c", "dbg")
    assert [(c.method, c.path) for c in server.captured] == [
        ("POST", f"/api/v1/namespaces/{NS}/pods"),
        ("DELETE", f"/api/v1/namespaces/{NS}/pods/{source['metadata']['name']}"),
    ]
    assert posted(server, "DELETE") == [{"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0}]
    assert posted(server)[0]["metadata"]["name"] == "repl"


def test_create_namespace_decodes(kubectl: Any, server: FakeAPIServer) -> None:
    rendered = json.loads(kubectl("create", "namespace", "team-a", "--dry-run=client", "-o", "json"))
    kubectl("create", "namespace", "team-a")
    assert posted(server) == [rendered]


def test_ephemeral_container_patches_from_kubectl_apply(kubectl: Any, server: FakeAPIServer) -> None:
    """The strategic merge patches kubectl debug sends (with $setElementOrder the second time) append ECs that
    pass the subresource's defaulting and validation; a rejected one comes back as kubectl shows a 422."""
    source = canonical(kubectl, defaults.default_pod(fixture_pods()[0]))
    name = source["metadata"]["name"]
    server.pods[name] = source
    kubectl("debug", name, "--image=busybox", "-c", "dbg1", "--target=app", "--", "sleep", "1d")
    kubectl("debug", name, "--image=busybox:1.36", "-c", "dbg2")
    bodies = [json.loads(c.body) for c in server.captured if c.method == "PATCH"]
    assert [c.path for c in server.captured] == [f"/api/v1/namespaces/{NS}/pods/{name}/ephemeralcontainers"] * 2
    assert "$setElementOrder/ephemeralContainers" in bodies[1]["spec"], bodies[1]
    ecs = server.pods[name]["spec"]["ephemeralContainers"]
    assert [(ec["name"], ec["image"], ec.get("targetContainerName")) for ec in ecs] == [
        ("dbg1", "busybox", "app"),
        ("dbg2", "busybox:1.36", None),
    ]
    assert ecs[0]["command"] == ["sleep", "1d"]
    assert server.pods[name]["spec"]["containers"] == source["spec"]["containers"]
    assert ecs[1]["imagePullPolicy"] == "IfNotPresent" and ecs[0]["imagePullPolicy"] == "Always"
    # Reusing a name: kubectl's two-way patch merges into the existing "dbg1" (merge key `name`), so the
    # server reports a change to it, not a duplicate.
    err = kubectl("debug", name, "--image=busybox", "-c", "dbg1", fails=True)
    assert err.startswith(
        f'The Pod "{name}" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers '
        '"dbg1" may not be changed\n'
    ), err
    assert len(server.pods[name]["spec"]["ephemeralContainers"]) == 2
