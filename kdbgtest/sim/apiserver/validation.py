"""The pod validation rules of the API server that debugging touches, with the real messages.

Ported from Kubernetes `pkg/apis/core/validation/validation.go` (ValidatePodCreate, ValidatePodUpdate,
ValidatePodEphemeralContainersUpdate, validateContainers, validateEphemeralContainers, ValidateVolumes,
ValidateVolumeMounts, validateContainerPorts, ValidateEnv) and the registry's
`dropNonEphemeralContainerUpdates`.
Pods are validated as stored, i.e. after `defaults.default_pod`. Errors come out in the order Kubernetes
produces them. Diffs in "may not change/be changed" messages are a simple path diff, not go-cmp's output.
"""

from __future__ import annotations

import copy
from typing import Any

from kdbgtest.base.k8s import Obj
from kdbgtest.sim.apiserver import fielderrors as fe
from kdbgtest.sim.apiserver.fielderrors import FieldError, invalid_status

__all__ = [
    "FieldError",
    "drop_non_ephemeral_updates",
    "invalid_status",
    "validate_ephemeral_update",
    "validate_pod_create",
    "validate_pod_update",
]


UPDATABLE_SPEC_FIELDS = ",".join(
    [
        "`spec.containers[*].image`",
        "`spec.initContainers[*].image`",
        "`spec.activeDeadlineSeconds`",
        "`spec.tolerations` (only additions to existing tolerations)",
        "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
    ]
)
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
EPHEMERAL_FORBIDDEN_TEXT = "cannot be set for an Ephemeral Container"
# fmt: off
# EphemeralContainerCommon fields in Go struct order, and those outside `allowedEphemeralContainerFields`.
_CONTAINER_FIELDS = [
    "name", "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources",
    "resizePolicy", "restartPolicy", "restartPolicyRules", "volumeMounts", "volumeDevices", "livenessProbe",
    "readinessProbe", "startupProbe", "lifecycle", "terminationMessagePath", "terminationMessagePolicy",
    "imagePullPolicy", "securityContext", "stdin", "stdinOnce", "tty"
]
_EPHEMERAL_FORBIDDEN = {
    "ports", "resources", "resizePolicy", "restartPolicy", "restartPolicyRules", "livenessProbe",
    "readinessProbe", "startupProbe", "lifecycle"
}
# VolumeSource members in the order validateVolumeSource checks them (the first one set counts).
_VOLUME_SOURCES = [
    "emptyDir", "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret", "nfs",
    "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "flocker",
    "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume", "quobyte", "azureDisk",
    "photonPersistentDisk", "projected", "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral",
    "image"
]
# fmt: on


def validate_pod_create(pod: Obj) -> list[FieldError]:
    """ValidatePodCreate: metadata and spec, and no ephemeral containers on create."""
    errors = _metadata_and_spec(pod)
    spec = pod.get("spec") or {}
    if spec.get("ephemeralContainers"):
        errors.append(fe.forbidden("spec.ephemeralContainers", "cannot be set on create"))
    if spec.get("nodeName") and spec.get("schedulingGates"):
        errors.append(fe.forbidden("spec.nodeName", "cannot be set until all schedulingGates have been cleared"))
    return errors


def validate_pod_update(old: Obj, new: Obj) -> list[FieldError]:
    """ValidatePodUpdate: only images, activeDeadlineSeconds, tolerations (additions) and a grace period of 1
    may change; anything else is `spec: Forbidden: pod updates may not change fields other than ...`."""
    errors = _metadata_update(old, new) + _metadata_and_spec(new)
    old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
    for key in ("containers", "initContainers"):
        olds, news = old_spec.get(key) or [], new_spec.get(key) or []
        if len(olds) != len(news):
            return [*errors, fe.forbidden(f"spec.{key}", "pod updates may not add or remove containers")]
        errors += [fe.required(f"spec.{key}[{i}].image") for i, c in enumerate(news) if not c.get("image")]
    errors += _deadline_update(old_spec.get("activeDeadlineSeconds"), new_spec.get("activeDeadlineSeconds"))
    errors += _tolerations_update(old_spec.get("tolerations") or [], new_spec.get("tolerations") or [])
    munged = _munge_updatable(old_spec, new_spec)
    if munged != old_spec:
        detail = f"pod updates may not change fields other than {UPDATABLE_SPEC_FIELDS}\n"
        errors.append(fe.forbidden("spec", detail + _diff("core.PodSpec", old_spec, munged)))
    return errors


def validate_ephemeral_update(old: Obj, new: Obj) -> list[FieldError]:
    """ValidatePodEphemeralContainersUpdate, on the pod `drop_non_ephemeral_updates` produced: the whole pod
    is valid, and existing ephemeral containers are neither removed nor changed."""
    errors = _metadata_update(old, new) + _metadata_and_spec(new)
    if MIRROR_ANNOTATION in ((old.get("metadata") or {}).get("annotations") or {}):
        return [fe.forbidden("", "static pods do not support ephemeral containers")]
    news = {ec.get("name"): ec for ec in (new.get("spec") or {}).get("ephemeralContainers") or []}
    for ec in (old.get("spec") or {}).get("ephemeralContainers") or []:
        name = ec.get("name")
        if name not in news:
            errors.append(
                fe.forbidden(
                    "spec.ephemeralContainers",
                    f"existing ephemeral containers {_q(name)} may not be removed\n",
                )
            )
        elif news[name] != ec:
            diff = _diff("core.EphemeralContainer", ec, news[name])
            errors.append(
                fe.forbidden(
                    "spec.ephemeralContainers",
                    f"existing ephemeral containers {_q(name)} may not be changed\n{diff}",
                )
            )
    return errors


def drop_non_ephemeral_updates(new: Obj, old: Obj) -> Obj:
    """The registry's dropNonEphemeralContainerUpdates, for PUT/PATCH of pods/ephemeralcontainers: `old` with only
    the ephemeral containers taken from `new`; every other change sent to the subresource is ignored. (Upstream
    also copies name, namespace, resourceVersion and uid; the caller checks the name against the URL and takes the
    resourceVersion itself.)"""
    pod = copy.deepcopy(old)
    spec = pod.setdefault("spec", {})
    spec["ephemeralContainers"] = copy.deepcopy((new.get("spec") or {}).get("ephemeralContainers") or [])
    if not spec["ephemeralContainers"]:
        del spec["ephemeralContainers"]
    return pod


# --- metadata


def _metadata_and_spec(pod: Obj) -> list[FieldError]:
    meta = pod.get("metadata") or {}
    errors: list[FieldError] = []
    if not meta.get("name"):
        errors.append(fe.required("metadata.name", "name or generateName is required"))
    else:
        errors += [fe.invalid("metadata.name", meta["name"], m) for m in fe.dns1123_subdomain(meta["name"])]
    if not meta.get("namespace"):
        errors.append(fe.required("metadata.namespace"))
    return errors + _spec(pod.get("spec") or {})


def _metadata_update(old: Obj, new: Obj) -> list[FieldError]:
    old_meta, new_meta = old.get("metadata") or {}, new.get("metadata") or {}
    return [
        fe.invalid(f"metadata.{key}", new_meta.get(key, ""), "field is immutable")
        for key in ("name", "namespace", "uid")
        if old_meta.get(key) and new_meta.get(key) != old_meta.get(key)
    ]


# --- spec


def _spec(spec: Obj) -> list[FieldError]:
    """ValidatePodSpec, for the fields debugging uses."""
    volumes, errors = _volumes(spec.get("volumes") or [])
    containers, inits = spec.get("containers") or [], spec.get("initContainers") or []
    errors += _containers(containers, volumes)
    errors += _init_containers(inits, containers, volumes)
    errors += _ephemeral_containers(spec.get("ephemeralContainers") or [], containers + inits, volumes)
    errors += _enum("spec.restartPolicy", spec.get("restartPolicy", ""), ["Always", "OnFailure", "Never"])
    dns = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
    errors += _enum("spec.dnsPolicy", spec.get("dnsPolicy", ""), dns)
    if spec.get("shareProcessNamespace") and spec.get("hostPID"):
        errors.append(
            fe.invalid("spec.shareProcessNamespace", True, "ShareProcessNamespace and HostPID cannot both be enabled")
        )
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and not 1 <= deadline <= 2**31 - 1:
        errors.append(fe.invalid("spec.activeDeadlineSeconds", deadline, "must be between 1 and 2147483647, inclusive"))
    return errors


def _volumes(volumes: list[Obj]) -> tuple[set[str], list[FieldError]]:
    """ValidateVolumes: the names of the valid volumes, and the errors (a bad volume is not mountable)."""
    names: set[str] = set()
    errors: list[FieldError] = []
    for i, volume in enumerate(volumes):
        path, name = f"spec.volumes[{i}]", volume.get("name", "")
        found = _volume_source(volume, path)
        if not name:
            found.append(fe.required(f"{path}.name"))
        else:
            found += [fe.invalid(f"{path}.name", name, m) for m in fe.dns1123_label(name)]
        if name in names:
            found.append(fe.duplicate(f"{path}.name", name))
        if found:
            errors += found
        else:
            names.add(name)
    return names, errors


def _volume_source(volume: Obj, path: str) -> list[FieldError]:
    sources = [s for s in _VOLUME_SOURCES if volume.get(s) is not None]
    if not sources:
        return [fe.required(path, "must specify a volume type")]
    errors = [fe.forbidden(f"{path}.{s}", "may not specify more than 1 volume type") for s in sources[1:]]
    if sources[0] == "hostPath":
        host_path = volume["hostPath"].get("path", "")
        if not host_path:
            errors.insert(0, fe.required(f"{path}.hostPath.path"))
        elif ".." in host_path.split("/"):
            errors.insert(0, fe.invalid(f"{path}.hostPath.path", host_path, "must not contain '..'"))
    return errors


def _containers(containers: list[Obj], volumes: set[str]) -> list[FieldError]:
    """validateContainers: at least one; names unique; restartPolicy only on init containers."""
    if not containers:
        return [fe.required("spec.containers")]
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, container in enumerate(containers):
        path = f"spec.containers[{i}]"
        errors += _container_common(container, volumes, path)
        if container.get("name") in seen:
            errors.append(fe.duplicate(f"{path}.name", container["name"]))
        seen.add(container.get("name", ""))
        if container.get("restartPolicy") is not None:
            errors.append(fe.forbidden(f"{path}.restartPolicy", "may not be set for non-init containers"))
    return errors


def _init_containers(inits: list[Obj], containers: list[Obj], volumes: set[str]) -> list[FieldError]:
    errors: list[FieldError] = []
    seen = {c.get("name", "") for c in containers}
    for i, container in enumerate(inits):
        path = f"spec.initContainers[{i}]"
        errors += _container_common(container, volumes, path)
        if container.get("name") in seen:
            errors.append(fe.duplicate(f"{path}.name", container["name"]))
        elif container.get("name"):
            seen.add(container["name"])
    return errors


def _ephemeral_containers(ecs: list[Obj], others: list[Obj], volumes: set[str]) -> list[FieldError]:
    """validateEphemeralContainers: common checks, unique names across every container list, an existing
    non-ephemeral target, the field allow-list, and no subPath/subPathExpr mounts."""
    errors: list[FieldError] = []
    other_names = {c.get("name", "") for c in others}
    all_names = set(other_names)
    for i, ec in enumerate(ecs):
        path = f"spec.ephemeralContainers[{i}]"
        errors += _container_common(ec, volumes, path)
        if ec.get("name") in all_names:
            errors.append(fe.duplicate(f"{path}.name", ec.get("name", "")))
        else:
            all_names.add(ec.get("name", ""))
        target = ec.get("targetContainerName", "")
        if target and target not in other_names:
            errors.append(fe.not_found(f"{path}.targetContainerName", target))
        errors += [
            fe.forbidden(f"{path}.{f}", EPHEMERAL_FORBIDDEN_TEXT)
            for f in _CONTAINER_FIELDS
            if f in _EPHEMERAL_FORBIDDEN and ec.get(f) not in (None, {}, [], "")
        ]
        for j, mount in enumerate(ec.get("volumeMounts") or []):
            errors += [
                fe.forbidden(f"{path}.volumeMounts[{j}].{key}", EPHEMERAL_FORBIDDEN_TEXT)
                for key in ("subPath", "subPathExpr")
                if mount.get(key)
            ]
    return errors


def _container_common(container: Obj, volumes: set[str], path: str) -> list[FieldError]:
    """validateContainerCommon: name, image, terminationMessagePolicy, ports, env, mounts, imagePullPolicy."""
    errors: list[FieldError] = []
    name = container.get("name", "")
    if not name:
        errors.append(fe.required(f"{path}.name"))
    else:
        errors += [fe.invalid(f"{path}.name", name, m) for m in fe.dns1123_label(name)]
    if not container.get("image"):
        errors.append(fe.required(f"{path}.image"))
    policies = ["File", "FallbackToLogsOnError"]
    errors += _enum(f"{path}.terminationMessagePolicy", container.get("terminationMessagePolicy", ""), policies)
    errors += _ports(container.get("ports") or [], f"{path}.ports")
    errors += _env(container.get("env") or [], f"{path}.env")
    errors += _mounts(container.get("volumeMounts") or [], volumes, f"{path}.volumeMounts")
    pull = ["Always", "IfNotPresent", "Never"]
    errors += _enum(f"{path}.imagePullPolicy", container.get("imagePullPolicy", ""), pull)
    return errors


def _ports(ports: list[Obj], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for i, port in enumerate(ports):
        number = port.get("containerPort", 0)
        if not number:
            errors.append(fe.required(f"{path}[{i}].containerPort"))
        elif not 1 <= number <= 65535:
            errors.append(fe.invalid(f"{path}[{i}].containerPort", number, "must be between 1 and 65535, inclusive"))
        errors += _enum(f"{path}[{i}].protocol", port.get("protocol", ""), ["SCTP", "TCP", "UDP"])
    return errors


def _env(env: list[Obj], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for i, var in enumerate(env):
        name = var.get("name", "")
        if not name:
            errors.append(fe.required(f"{path}[{i}].name"))
        elif "=" in name or not all(32 <= ord(ch) < 127 for ch in name):
            errors.append(
                fe.invalid(
                    f"{path}[{i}].name",
                    name,
                    "a valid environment variable name must consist only of printable ASCII characters other than '='",
                )
            )
    return errors


def _mounts(mounts: list[Obj], volumes: set[str], path: str) -> list[FieldError]:
    """ValidateVolumeMounts: a known volume, a mount path, unique mount paths."""
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, mount in enumerate(mounts):
        name, mount_path = mount.get("name", ""), mount.get("mountPath", "")
        if not name:
            errors.append(fe.required(f"{path}[{i}].name"))
        if name not in volumes:
            errors.append(fe.not_found(f"{path}[{i}].name", name))
        if not mount_path:
            errors.append(fe.required(f"{path}[{i}].mountPath"))
        if mount_path in seen:
            errors.append(fe.invalid(f"{path}[{i}].mountPath", mount_path, "must be unique"))
        seen.add(mount_path)
    return errors


def _enum(path: str, value: str, valid: list[str]) -> list[FieldError]:
    if value in valid:
        return []
    return [fe.required(path)] if value == "" else [fe.not_supported(path, value, valid)]


# --- updates


def _deadline_update(old: int | None, new: int | None) -> list[FieldError]:
    path = "spec.activeDeadlineSeconds"
    if new is not None and old is not None and old < new:
        return [fe.invalid(path, new, "must be less than or equal to previous value")]
    if new is None and old is not None:
        return [fe.invalid(path, None, "must not update from a positive integer to nil value")]
    return []


def _tolerations_update(old: list[Obj], new: list[Obj]) -> list[FieldError]:
    """validateOnlyAddedTolerations: existing tolerations stay (their tolerationSeconds may change)."""

    def same(a: Obj, b: Obj) -> bool:
        return {k: v for k, v in a.items() if k != "tolerationSeconds"} == {
            k: v for k, v in b.items() if k != "tolerationSeconds"
        }

    if all(any(same(o, n) for n in new) for o in old):
        return []
    return [fe.forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds")]


def _munge_updatable(old: Obj, new: Obj) -> Obj:
    """`new` with every field that may be updated reset to its `old` value (ValidatePodUpdate's munging)."""
    munged = copy.deepcopy(new)
    for key in ("containers", "initContainers"):
        for container, previous in zip(munged.get(key) or [], old.get(key) or [], strict=False):
            container["image"] = previous.get("image")
    for key in ("activeDeadlineSeconds", "schedulingGates", "tolerations"):
        munged.pop(key, None)
        if key in old:
            munged[key] = copy.deepcopy(old[key])
    grace = old.get("terminationGracePeriodSeconds")
    if grace is not None and grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = grace
    return munged


def _diff(title: str, old: Any, new: Any) -> str:
    """A readable diff of two JSON values (path, old value, new value), framed like go-cmp's output."""
    lines = [f"  {title}{{"]
    lines += _diff_lines(old, new, "")
    return "\n".join([*lines, "  }", ""])


def _diff_lines(old: Any, new: Any, path: str) -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = list(dict.fromkeys([*old, *new]))
        return [line for k in keys for line in _diff_lines(old.get(k), new.get(k), f"{path}.{k}".lstrip("."))]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            line for i, (o, n) in enumerate(zip(old, new, strict=True)) for line in _diff_lines(o, n, f"{path}[{i}]")
        ]
    if old == new:
        return []
    return [f"- \t{path}: {fe.go_value(old)}", f"+ \t{path}: {fe.go_value(new)}"]


def _q(value: Any) -> str:
    return fe.go_value("" if value is None else str(value))
