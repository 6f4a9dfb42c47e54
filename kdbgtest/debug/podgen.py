"""What `kubectl debug` (1.37) builds, as pure functions over JSON objects: the ephemeral container and its
patch, the pod copy, the node debugging pod, and the lines kubectl prints on the way (debug.go).

Each builder takes the `DebugAction`, the object kubectl would have fetched (pod or node name) and a `Printed`
that collects what kubectl prints before its request. kubectl's own flag checks (`Validate`) are `check`;
they raise `Refused` with kubectl's message, printed by the driver as `error: MESSAGE` with exit code 1.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field

from kdbgtest.base import k8s
from kdbgtest.base.k8s import Obj
from kdbgtest.debug import merge, profiles
from kdbgtest.scenario import model

NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery util/rand: no vowels, no look-alikes
NODE_CONTAINER = "debugger"
MANAGED_BY = {"app.kubernetes.io/managed-by": "kubectl-debug"}
_CUSTOM_FORBIDDEN = ("name", "command", "image", "lifecycle", "volumeDevices")
_RNG = random.SystemRandom()


class Refused(Exception):
    """kubectl refuses the invocation before any request; the message is kubectl's."""


@dataclass
class Printed:
    """Lines kubectl prints (without newlines), in order, on each stream."""

    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)


def suffix(length: int = 5) -> str:
    """`length` random characters from kubectl's name alphabet."""
    return "".join(_RNG.choice(NAME_CHARS) for _ in range(length))


def profile_of(action: model.DebugAction) -> str:
    return action.profile or profiles.DEFAULT_PROFILE


def tty_of(action: model.DebugAction) -> bool:
    """`-t`: the driver asks for a TTY exactly when kubectl's argv has `-t` (argv.py)."""
    return action.interactive if action.tty is None else action.tty


def attaches(action: model.DebugAction) -> bool:
    """kubectl attaches when `--attach` says so, by default iff `-i`."""
    return action.interactive if action.attach is None else action.attach


def keep_flags(action: model.DebugAction) -> profiles.KeepFlags:
    given = {
        "labels": action.keep_labels,
        "annotations": action.keep_annotations,
        "liveness": action.keep_liveness,
        "readiness": action.keep_readiness,
        "startup": action.keep_startup,
        "init_containers": action.keep_init_containers,
    }
    return profiles.KeepFlags(**{k: v for k, v in given.items() if v is not None})


# -- kubectl's Validate ----------------------------------------------------------------------------------


def check(action: model.DebugAction, out: Printed) -> None:
    """kubectl's flag checks, in its order; prints the `--target` and legacy-profile lines as it does."""
    args = bool(action.command)
    if action.attach and action.image is None and action.container is None:
        raise Refused("you must specify --container or create a new container using --image in order to attach.")
    if action.copy_to:
        if action.image is None and not action.set_image and not args:
            raise Refused("you must specify --image, --set-image or command arguments.")
        if args and action.container is None and action.image is None:
            raise Refused("you must specify an existing container or a new image when specifying args.")
    else:
        for flag, used in (
            ("--replace", action.replace),
            ("--same-node", action.same_node),
            ("--set-image", bool(action.set_image)),
        ):
            if used:
                raise Refused(f"{flag} may only be used with --copy-to.")
        if action.image is None:
            raise Refused("you must specify --image when not using --copy-to.")
    if action.target:
        if action.copy_to:
            raise Refused("--target is incompatible with --copy-to. Use --share-processes instead.")
        if not action.quiet:
            out.stdout.append(
                f'Targeting container "{action.target}". If you don\'t see processes from this container it '
                "may be because the container runtime doesn't support this feature."
            )
    if tty_of(action) and not action.interactive:
        raise Refused("-i/--stdin is required for containers with -t/--tty=true")
    if action.custom is not None and any(action.custom.get(k) for k in _CUSTOM_FORBIDDEN):
        raise Refused("name, command, image, lifecycle and volume devices are not modifiable via custom profile")
    if profile_of(action) == "legacy":
        out.stderr.append(
            "--profile=legacy is deprecated and planned to be removed in v1.39. It is recommended to specify "
            'other profile, for example "--profile=general".'
        )


# -- ephemeral -------------------------------------------------------------------------------------------


def ephemeral(action: model.DebugAction, pod: Obj, out: Printed) -> tuple[Obj, Obj]:
    """The ephemeral container kubectl adds to `pod`, and the strategic merge patch it sends for it."""
    name = debug_name(action, pod, out)
    ec: Obj = {"name": name, "image": action.image, "resources": {}, "terminationMessagePolicy": "File"}
    ec.update(_container_fields(action))
    if action.target:
        ec["targetContainerName"] = action.target
    changed = copy.deepcopy(pod)
    changed["spec"]["ephemeralContainers"] = [*(changed["spec"].get("ephemeralContainers") or []), ec]
    profiles.apply(changed, name, "ephemeral", profile_of(action), keep_flags(action))
    if action.custom is not None:
        _custom(changed["spec"]["ephemeralContainers"], name, action.custom)
    ec = changed["spec"]["ephemeralContainers"][-1]
    warn_non_root(ec, pod, out)
    return ec, ephemeral_patch(pod["spec"].get("ephemeralContainers") or [], changed["spec"]["ephemeralContainers"])


def ephemeral_patch(before: list[Obj], after: list[Obj]) -> Obj:
    """kubectl's two-way strategic merge patch between the pod's ephemeral containers before and after."""
    items = [merge.element_diff(old, new, "name") for old, new in zip(before, after, strict=False) if old != new]
    items += [copy.deepcopy(new) for new in after[len(before) :]]
    spec: Obj = {"ephemeralContainers": items}
    if before:
        spec = {"$setElementOrder/ephemeralContainers": [{"name": c["name"]} for c in after], **spec}
    return {"spec": spec}


# -- copy ------------------------------------------------------------------------------------------------


def pod_copy(action: model.DebugAction, pod: Obj, out: Printed) -> tuple[Obj, str]:
    """The copy kubectl creates and the name of its debug container ("" for a `--set-image` only copy)."""
    meta = pod["metadata"]
    copied: Obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": action.copy_to}}
    copied["metadata"]["namespace"] = meta.get("namespace", "")
    for key in ("annotations", "labels"):
        if meta.get(key):
            copied["metadata"][key] = copy.deepcopy(meta[key])
    spec = copied["spec"] = copy.deepcopy(pod["spec"])
    spec.pop("ephemeralContainers", None)
    if action.share_processes is not None:
        spec["shareProcessNamespace"] = action.share_processes
    if not action.same_node:
        spec.pop("nodeName", None)
    for container in spec.get("containers") or []:
        image = action.set_image.get(container["name"], action.set_image.get("*"))
        if image:
            container["image"] = image
    found = _by_name(spec, action.container or "")
    name = action.container or ""
    if found is None:
        if action.image is None:
            if action.set_image:
                return copied, ""
            raise Refused("you must specify image when creating new container")
        name = name or debug_name(action, copied, out)
        found = {"name": name, "terminationMessagePolicy": "File"}
        spec["containers"] = [*(spec.get("containers") or []), found]
    _modify(found, action)
    profiles.apply(copied, found["name"], "copy", profile_of(action), keep_flags(action))
    if action.custom is not None:
        _custom(spec.get("containers") or [], name, action.custom)
    warn_non_root(_by_name(spec, name, ("containers",)), copied, out)
    return copied, name


def _modify(container: Obj, action: model.DebugAction) -> None:
    """An existing or new container of a copy, changed as kubectl changes it."""
    if action.command:
        if action.arguments_only:
            container["args"] = list(action.command)
        else:
            container["command"] = list(action.command)
            container.pop("args", None)
    if action.env:
        container["env"] = _env(action)
    if action.image is not None:
        container["image"] = action.image
    if action.image_pull_policy is not None:
        container["imagePullPolicy"] = action.image_pull_policy
    for key, on in (("stdin", action.interactive), ("tty", tty_of(action))):
        if on:
            container[key] = True
        else:
            container.pop(key, None)


# -- node ------------------------------------------------------------------------------------------------


def node_pod(action: model.DebugAction, node: str, out: Printed) -> Obj:
    """The node debugging pod `node-debugger-NODE-xxxxx` kubectl creates in the current namespace."""
    name = action.container or NODE_CONTAINER
    pod_name = f"node-debugger-{node}-{suffix()}"
    if not action.quiet:
        out.stdout.append(f"Creating debugging pod {pod_name} with container {name} on node {node}.")
    container: Obj = {
        "name": name,
        "image": action.image,
        "resources": {},
        "terminationMessagePolicy": "File",
    }
    container.update(_container_fields(action))
    pod: Obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": pod_name, "labels": dict(MANAGED_BY)},
        "spec": {
            "containers": [container],
            "nodeName": node,
            "restartPolicy": "Never",
            "tolerations": [{"operator": "Exists"}],
        },
    }
    profiles.apply(pod, name, "node", profile_of(action), keep_flags(action))
    if action.custom is not None:
        _custom(pod["spec"]["containers"], name, action.custom)
    return pod


# -- shared pieces ---------------------------------------------------------------------------------------


def container_names(pod: k8s.Pod) -> set[str]:
    return {c["name"] for c in k8s.containers(pod)}


def debug_name(action: model.DebugAction, pod: Obj, out: Printed) -> str:
    """`-c`, or `debugger-xxxxx` regenerated while it collides; prints `Defaulting debug container name`."""
    if action.container:
        return action.container
    taken = container_names(k8s.as_pod(pod))
    name = ""
    while not name or name in taken:
        name = f"debugger-{suffix()}"
    if not action.quiet:
        out.stdout.append(f"Defaulting debug container name to {name}.")
    return name


def warn_non_root(container: Obj | None, pod: Obj, out: Printed) -> None:
    """kubectl's warning when the pod runs as non-root but the profile grants privileges or capabilities."""
    if container is None:
        return
    pod_user = (pod["spec"].get("securityContext") or {}).get("runAsUser")
    context = container.get("securityContext")
    if not pod_user or context is None or context.get("runAsUser") == 0:
        return
    if not context.get("privileged") and not (context.get("capabilities") or {}).get("add"):
        return
    out.stderr.append(
        "Warning: Non-root user is configured for the entire target Pod, and some capabilities granted by "
        'debug profile may not work. Please consider using "--custom" with a custom profile that specifies '
        '"securityContext.runAsUser: 0".'
    )


def _container_fields(action: model.DebugAction) -> Obj:
    """env, pull policy, stdin/tty and command (or args) of a new debug container (Go omits empty values)."""
    fields: Obj = {}
    if action.env:
        fields["env"] = _env(action)
    if action.image_pull_policy is not None:
        fields["imagePullPolicy"] = action.image_pull_policy
    if action.interactive:
        fields["stdin"] = True
    if tty_of(action):
        fields["tty"] = True
    if action.command:
        fields["args" if action.arguments_only else "command"] = list(action.command)
    return fields


def _env(action: model.DebugAction) -> list[Obj]:
    # kubectl's --env is a Go map: its order is random. Sorted here (kubectl_driver passes it sorted too).
    return [{"name": k, "value": v} for k, v in sorted(action.env.items())]


def _by_name(spec: Obj, name: str, kinds: tuple[str, ...] = profiles.ALL_KINDS) -> Obj | None:
    for kind in kinds:
        for container in spec.get(kind) or []:
            if container.get("name") == name:
                return container  # type: ignore[no-any-return]
    return None


def _custom(containers: list[Obj], name: str, custom: Obj) -> None:
    """Merge the custom profile into the container called `name` of `containers` (in place)."""
    for i, container in enumerate(containers):
        if container.get("name") == name:
            containers[i] = merge.merge_container(container, {**custom, "name": name})
            return
    raise Refused(f"unable to find the {name} container in the pod")
