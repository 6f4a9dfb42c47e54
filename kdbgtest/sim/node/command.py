"""A container's argv and environment, as the kubelet and containerd build them.

`command` replaces the image ENTRYPOINT and `args` replaces its CMD (containerd `WithProcessArgs`); `$(VAR)`
references in command, args and env values expand against the container's env (`$$` escapes), undefined
references stay as written. Env: HOSTNAME (containerd sets it to the pod's hostname), image env, then the
Kubernetes service variables, then the container's own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Obj = dict[str, Any]

# What the default `kubernetes` service injects into every pod of every namespace.
SERVICE_ENV = {
    "KUBERNETES_SERVICE_HOST": "10.96.0.1",
    "KUBERNETES_SERVICE_PORT": "443",
    "KUBERNETES_SERVICE_PORT_HTTPS": "443",
    "KUBERNETES_PORT": "tcp://10.96.0.1:443",
    "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443",
    "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
    "KUBERNETES_PORT_443_TCP_PORT": "443",
    "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1",
}

# (kind "configmaps"|"secrets", namespace, name) -> the object's data (decoded), None if it does not exist
Lookup = Callable[[str, str, str], dict[str, str] | None]


class ConfigError(Exception):
    """The env or command cannot be built (CreateContainerConfigError)."""


class NoCommand(Exception):
    """Neither the spec nor the image gives a command (containerd: "no command specified")."""


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion (third_party/forked/golang/expansion)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] != "$" or i + 1 >= len(text):
            out.append(text[i])
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(" and (end := text.find(")", i + 2)) != -1:
            name = text[i + 2 : end]
            out.append(env[name] if name in env else text[i : end + 1])
            i = end + 1
        else:
            out.append(text[i : i + 2])
            i += 2
    return "".join(out)


def argv(container: Obj, entrypoint: list[str], cmd: list[str], env: Mapping[str, str]) -> list[str]:
    """The process argv: command/args over the image's entrypoint/cmd, with $(VAR) expanded."""
    command = [expand(c, env) for c in container.get("command") or []]
    args = [expand(a, env) for a in container.get("args") or []]
    if not command:
        if not args:
            args = list(cmd)
        if not (len(entrypoint) == 1 and entrypoint[0] == ""):
            command = list(entrypoint)
    result = command + args
    if not result:
        raise NoCommand("no command specified")
    return result


def environment(
    pod: Obj, container: Obj, image_env: list[str], *, lookup: Lookup | None = None, hostname: str = ""
) -> dict[str, str]:
    """The container's environment, in order: HOSTNAME, image env, service variables, the container's env."""
    env: dict[str, str] = {"HOSTNAME": hostname} if hostname else {}
    for item in image_env:
        key, _, value = item.partition("=")
        env[key] = value
    env.update(SERVICE_ENV)
    spec_env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        spec_env.update(_env_from(pod, source, lookup))
    for var in container.get("env") or []:
        found = _value(pod, var, spec_env, lookup)
        if found is not None:
            spec_env[var["name"]] = found
    env.update(spec_env)
    return env


def _value(pod: Obj, var: Obj, defined: Mapping[str, str], lookup: Lookup | None) -> str | None:
    if "valueFrom" not in var:
        return expand(str(var.get("value", "")), defined)
    source = var["valueFrom"]
    if "fieldRef" in source:
        return field_value(pod, source["fieldRef"]["fieldPath"])
    if "resourceFieldRef" in source:
        return "0"
    for kind, key in (("configmaps", "configMapKeyRef"), ("secrets", "secretKeyRef")):
        if key in source:
            return _key_ref(pod, kind, source[key], lookup)
    return ""


def _key_ref(pod: Obj, kind: str, ref: Obj, lookup: Lookup | None) -> str | None:
    namespace = pod["metadata"].get("namespace", "default")
    data = lookup(kind, namespace, ref["name"]) if lookup else None
    singular = kind[:-1]
    if data is not None and ref["key"] in data:
        return data[ref["key"]]
    if ref.get("optional"):
        return None
    if data is None:
        raise ConfigError(f'{singular} "{ref["name"]}" not found')
    raise ConfigError(f"couldn't find key {ref['key']} in {_title(singular)} {namespace}/{ref['name']}")


def _env_from(pod: Obj, source: Obj, lookup: Lookup | None) -> dict[str, str]:
    prefix = source.get("prefix", "")
    for kind, key in (("configmaps", "configMapRef"), ("secrets", "secretRef")):
        if key in source:
            data = lookup(kind, pod["metadata"].get("namespace", "default"), source[key]["name"]) if lookup else None
            if data is None and not source[key].get("optional"):
                raise ConfigError(f'{kind[:-1]} "{source[key]["name"]}" not found')
            return {prefix + k: v for k, v in (data or {}).items()}
    return {}


def _title(kind: str) -> str:
    return "ConfigMap" if kind == "configmap" else "Secret"


def field_value(pod: Obj, path: str) -> str:
    """A downward-API fieldRef value (metadata.name, status.podIP, metadata.labels['x'], ...)."""
    meta, spec, status = pod.get("metadata", {}), pod.get("spec", {}), pod.get("status", {})
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", "default"),
        "status.podIP": status.get("podIP", ""),
        "status.hostIP": status.get("hostIP", ""),
        "status.podIPs": ",".join(ip["ip"] for ip in status.get("podIPs", [])),
        "status.hostIPs": ",".join(ip["ip"] for ip in status.get("hostIPs", [])),
    }
    if path in simple:
        return str(simple[path])
    for prefix, mapping in (
        ("metadata.labels", meta.get("labels")),
        ("metadata.annotations", meta.get("annotations")),
    ):
        if path.startswith(prefix + "['") and path.endswith("']"):
            return str((mapping or {}).get(path[len(prefix) + 2 : -2], ""))
    return ""
