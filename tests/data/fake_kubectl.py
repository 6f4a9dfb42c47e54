"""A stand-in `kubectl` for the runner's unit tests: records every argv and keeps a tiny object store.

State lives in the directory named by $FAKE_KUBECTL_DIR:
- calls.jsonl   one {"argv": [...], "stdin": text or null} per invocation (argv without the program)
- state.json    the objects: {"objects": {"NS|Kind|name": obj}} ("" namespace for cluster-scoped kinds)
- config.json   optional behaviour: {
    "pod_status": {"<pod>": <status>},       status given to a pod when applied (default: all running)
    "events": [<Event>],                      what `get events` lists (filtered by field selector)
    "sticky_namespaces": true,                a deleted namespace stays Terminating forever
    "rules": [{"match": ["word", ...], "exit": 1, "stdout": "", "stderr": "", "sigint_parent": false,
               "delay": 0, "continue": false}]  first rule whose words all appear in argv answers instead
                                              (with "continue", it then does what it normally does;
                                              "signal_parent": "SIGTERM" sends kdbgtest that signal)
  }
Supported: create/apply -f -, get (KIND/NAME, KIND, -o json|yaml|wide, --ignore-not-found, -l,
--field-selector, -A, --raw), delete, describe, logs [--previous], version, debug (ephemeral and node/NAME,
non-interactive).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import yaml

STATE = Path(os.environ["FAKE_KUBECTL_DIR"])
KINDS = {
    "pod": "Pod",
    "pods": "Pod",
    "po": "Pod",
    "namespace": "Namespace",
    "namespaces": "Namespace",
    "ns": "Namespace",
    "node": "Node",
    "nodes": "Node",
    "no": "Node",
    "event": "Event",
    "events": "Event",
    "ev": "Event",
}
CLUSTER_SCOPED = {"Namespace", "Node"}
VALUE_FLAGS = {
    "--kubeconfig",
    "--context",
    "-n",
    "--namespace",
    "-o",
    "--output",
    "-l",
    "--selector",
    "--field-selector",
    "-c",
    "--container",
    "-f",
    "--filename",
    "--image",
    "--sort-by",
    "--raw",
    "--timeout",
    "--grace-period",
}
DEFAULT_NODES = ["kdbg-worker", "kdbg-control-plane"]


def load(name: str, default: Any) -> Any:
    path = STATE / name
    return json.loads(path.read_text()) if path.exists() else default


def parse(argv: list[str]) -> tuple[list[str], dict[str, Any]]:
    """Positional words and flags; `--flag=value` and `--flag value` both work; the last value wins."""
    words: list[str] = []
    flags: dict[str, Any] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            flags["--"] = argv[i + 1 :]
            break
        if arg.startswith("-") and "=" in arg:
            key, value = arg.split("=", 1)
            flags[key] = value
        elif arg in VALUE_FLAGS:
            flags[arg] = argv[i + 1]
            i += 1
        elif arg.startswith("-"):
            flags[arg] = True
        else:
            words.append(arg)
        i += 1
    for short, long in (
        ("-n", "--namespace"),
        ("-o", "--output"),
        ("-l", "--selector"),
        ("-c", "--container"),
        ("-A", "--all-namespaces"),
        ("-f", "--filename"),
    ):
        if short in flags:
            flags[long] = flags.pop(short)
    return words, flags


def key(ns: str, kind: str, name: str) -> str:
    return f"{'' if kind in CLUSTER_SCOPED else ns}|{kind}|{name}"


def running_status(pod: dict[str, Any]) -> dict[str, Any]:
    statuses = [
        {"name": c["name"], "ready": True, "restartCount": 0, "state": {"running": {}}}
        for c in pod.get("spec", {}).get("containers", [])
    ]
    return {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": statuses,
    }


class Fake:
    def __init__(self, flags: dict[str, Any]) -> None:
        self.flags = flags
        self.ns = flags.get("--namespace", "default")
        self.config = load("config.json", {})
        self.objects: dict[str, Any] = load("state.json", {"objects": {}})["objects"]
        for node in self.config.get("nodes", DEFAULT_NODES):
            self.objects.setdefault(
                key("", "Node", node),
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {
                        "name": node,
                        "labels": ({"node-role.kubernetes.io/control-plane": ""} if "control-plane" in node else {}),
                    },
                    "spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}
                    if "control-plane" in node
                    else {},
                    "status": {"conditions": [{"type": "Ready", "status": "True"}]},
                },
            )
        self.objects.setdefault(
            key("", "Namespace", "default"),
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "default"},
                "status": {"phase": "Active"},
            },
        )

    def save(self) -> None:
        (STATE / "state.json").write_text(json.dumps({"objects": self.objects}, indent=1))

    def store(self, obj: dict[str, Any]) -> str:
        kind, name = obj["kind"], obj["metadata"]["name"]
        ns = obj["metadata"].get("namespace") or self.ns
        if kind not in CLUSTER_SCOPED:
            if key("", "Namespace", ns) not in self.objects:
                fail(f'Error from server (NotFound): namespaces "{ns}" not found')
            obj["metadata"]["namespace"] = ns
        obj["metadata"].setdefault("uid", f"uid-{random.randrange(10**9)}")
        if kind == "Pod":
            obj["status"] = self.config.get("pod_status", {}).get(name) or running_status(obj)
        if kind == "Namespace":
            obj["status"] = {"phase": "Active"}
        k = key(ns, kind, name)
        verb = "configured" if k in self.objects else "created"
        self.objects[k] = obj
        return f"{kind.lower()}/{name} {verb}"

    def find(self, kind: str, ns: str | None) -> list[dict[str, Any]]:
        found = []
        for k, obj in self.objects.items():
            o_ns, o_kind, _ = k.split("|")
            if o_kind == kind and (ns is None or kind in CLUSTER_SCOPED or o_ns == ns):
                found.append(obj)
        return found


def fail(message: str, code: int = 1) -> None:
    print(message, file=sys.stderr)
    sys.exit(code)


def selected(obj: dict[str, Any], labels: str | None, fields: str | None) -> bool:
    for term in (labels or "").split(","):
        if term:
            name, _, value = term.partition("=")
            if obj["metadata"].get("labels", {}).get(name) != value:
                return False
    for term in (fields or "").split(","):
        if term:
            path, _, value = term.partition("=")
            current: Any = obj
            for part in path.split("."):
                current = current.get(part) if isinstance(current, dict) else None
            if str(current) != value:
                return False
    return True


def cmd_get(fake: Fake, words: list[str]) -> None:
    flags = fake.flags
    if "--raw" in flags:
        print(json.dumps(fake.config.get("raw", {}).get(flags["--raw"], {"resources": []})))
        return
    target = words[1]
    kind_word, _, name = target.partition("/")
    if not name and len(words) > 2:
        name = words[2]
    if kind_word.lower() not in KINDS:  # as kubectl says it for a resource the server does not serve
        fail(f'error: the server doesn\'t have a resource type "{kind_word}"')
    kind = KINDS[kind_word.lower()]
    ns = None if flags.get("--all-namespaces") else fake.ns
    if kind == "Event":
        items = [e for e in fake.config.get("events", []) if selected(e, None, flags.get("--field-selector"))]
    else:
        items = [o for o in fake.find(kind, ns) if selected(o, flags.get("--selector"), flags.get("--field-selector"))]
    if name:
        match = [o for o in items if o["metadata"]["name"] == name]
        if not match:
            if flags.get("--ignore-not-found"):
                return
            fail(f'Error from server (NotFound): {kind.lower()}s "{name}" not found')
        output(match[0], flags.get("--output"))
    else:
        output({"apiVersion": "v1", "kind": "List", "items": items}, flags.get("--output"))


def output(obj: dict[str, Any], fmt: str | None) -> None:
    if fmt == "json":
        print(json.dumps(obj, indent=2))
    elif fmt == "yaml":
        print(yaml.safe_dump(obj))
    else:
        items = obj.get("items", [obj])
        print("NAME")
        for item in items:
            print(item.get("metadata", {}).get("name", item.get("reason", "?")))


def cmd_delete(fake: Fake, words: list[str]) -> None:
    kind_word, _, name = words[1].partition("/")
    name = name or words[2]
    kind = KINDS[kind_word.lower()]
    k = key(fake.ns, kind, name)
    if k not in fake.objects:
        if fake.flags.get("--ignore-not-found"):
            return
        fail(f'Error from server (NotFound): {kind.lower()}s "{name}" not found')
    if kind == "Namespace" and fake.config.get("sticky_namespaces"):
        fake.objects[k]["status"] = {"phase": "Terminating"}
    else:
        del fake.objects[k]
        if kind == "Namespace":
            for other in [o for o in fake.objects if o.startswith(f"{name}|")]:
                del fake.objects[other]
    print(f'{kind.lower()} "{name}" deleted')


def cmd_debug(fake: Fake, words: list[str]) -> None:
    target = words[1]
    suffix = "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
    if target.startswith("node/"):
        node = target.split("/", 1)[1]
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"node-debugger-{node}-{suffix}",
                "labels": {"app.kubernetes.io/managed-by": "kubectl-debug"},
            },
            "spec": {
                "nodeName": node,
                "containers": [{"name": "debugger", "image": fake.flags.get("--image")}],
            },
        }
        fake.store(pod)
        print(f"Creating debugging pod {pod['metadata']['name']} with container debugger on node {node}.")
        return
    k = key(fake.ns, "Pod", target)
    if k not in fake.objects:
        fail(f'Error from server (NotFound): pods "{target}" not found')
    name = fake.flags.get("--container") or f"debugger-{suffix}"
    pod = fake.objects[k]
    pod["spec"].setdefault("ephemeralContainers", []).append({"name": name, "image": fake.flags.get("--image")})
    pod["status"].setdefault("ephemeralContainerStatuses", []).append(
        {"name": name, "restartCount": 0, "state": {"running": {}}}
    )
    if "--container" not in fake.flags:
        print(f"Defaulting debug container name to {name}.")


def main() -> None:
    argv = sys.argv[1:]
    words, flags = parse(argv)
    stdin = sys.stdin.read() if flags.get("--filename") == "-" else None
    with (STATE / "calls.jsonl").open("a") as calls:
        calls.write(json.dumps({"argv": argv, "stdin": stdin}) + "\n")
    fake = Fake(flags)
    for rule in fake.config.get("rules", []):
        if all(word in argv for word in rule["match"]):
            if rule.get("sigint_parent"):
                os.kill(os.getppid(), signal.SIGINT)
            if rule.get("signal_parent"):  # a signal name, e.g. "SIGTERM"
                os.kill(os.getppid(), signal.Signals[rule["signal_parent"]])
            threading.Event().wait(rule.get("delay", 0))
            if rule.get("continue"):
                break  # then behave as usual
            sys.stdout.write(rule.get("stdout", ""))
            sys.stderr.write(rule.get("stderr", ""))
            sys.exit(rule.get("exit", 0))
    verb = words[0] if words else ""
    if verb in ("create", "apply"):
        docs = [d for d in yaml.safe_load_all(stdin or "") if d]
        for doc in docs:
            print(fake.store(doc))
    elif verb == "get":
        cmd_get(fake, words)
    elif verb == "delete":
        cmd_delete(fake, words)
    elif verb == "describe":
        print(f"Name:         {words[2]}\nNamespace:    {fake.ns}\nStatus:       Running")
    elif verb == "logs":
        if flags.get("--previous"):
            fail(
                f'Error from server (BadRequest): previous terminated container "{flags.get("--container")}" '
                f'in pod "{words[1]}" not found'
            )
        print(f"log line of {words[1]}/{flags.get('--container')}")
    elif verb == "version":
        version = {"clientVersion": {"gitVersion": "v1.37.1", "major": "1", "minor": "37"}}
        if not flags.get("--client"):
            version["serverVersion"] = fake.config.get("server_version", {"gitVersion": "v1.34.0", "minor": "34"})
        print(json.dumps(version))
    elif verb == "debug":
        cmd_debug(fake, words)
    else:
        fail(f"fake kubectl: unsupported command {argv}", 2)
    fake.save()


if __name__ == "__main__":
    main()
