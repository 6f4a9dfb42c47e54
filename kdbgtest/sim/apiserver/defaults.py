"""The defaults the API server applies to a pod on create (and to ephemeral containers on the subresource).

Taken from Kubernetes `pkg/apis/core/v1/defaults.go` (SetDefaults_Pod, SetDefaults_PodSpec,
SetDefaults_Container, SetDefaults_EphemeralContainer, SetDefaults_ContainerPort, SetDefaults_Probe,
SetDefaults_HTTPGetAction, SetDefaults_Volume and the volume-source defaults), plus what the default
admission chain adds on create: Priority (priority 0, preemptionPolicy PreemptLowerPriority),
DefaultTolerationSeconds (not-ready and unreachable NoExecute for 300s) and ServiceAccount (serviceAccountName
"default" and, on create, the projected `kube-api-access-XXXXX` volume mounted read-only in every container at
/var/run/secrets/kubernetes.io/serviceaccount, as a real API server adds it: `service_account_volume`; the sim
node fills it with a placeholder token). Every function returns a new object.
"""

from __future__ import annotations

import copy
import secrets

from kdbgtest.base.k8s import Obj

TOLERATION_SECONDS = 300
SERVICE_ACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
_RAND_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand
_DEFAULT_MODE = 0o644  # secret, configMap, downwardAPI and projected volumes
_NOT_READY = "node.kubernetes.io/not-ready"
_UNREACHABLE = "node.kubernetes.io/unreachable"


def default_pod(pod: Obj) -> Obj:
    """`pod` as the API server stores it after defaulting and the default admission plugins."""
    pod = copy.deepcopy(pod)
    spec = pod.setdefault("spec", {})
    _default_pod_spec(spec)
    for key in ("containers", "initContainers", "ephemeralContainers"):
        if spec.get(key):
            spec[key] = [_default_container(c, spec) for c in spec[key]]
    if spec.get("volumes"):
        spec["volumes"] = [_default_volume(v) for v in spec["volumes"]]
    _admission(spec)
    return pod


def default_ephemeral_container(ec: Obj) -> Obj:
    """SetDefaults_EphemeralContainer: the container defaults, applied to the ephemeral container."""
    return _default_container(ec, {})


def image_pull_policy(image: str) -> str:
    """`Always` for a `:latest` or untagged image (a digest counts as a tag), else `IfNotPresent`."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ("" if "@" in image else "latest")
    return "Always" if tag == "latest" else "IfNotPresent"


def _default_pod_spec(spec: Obj) -> None:
    """SetDefaults_PodSpec and the PodSpec parts of SetDefaults_Pod."""
    for key, value in (
        ("restartPolicy", "Always"),
        ("dnsPolicy", "ClusterFirst"),
        ("schedulerName", "default-scheduler"),
    ):
        if not spec.get(key):
            spec[key] = value
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True


def _default_container(container: Obj, spec: Obj) -> Obj:
    """SetDefaults_Container (+ requests from limits, SetDefaults_Pod; hostNetwork host ports)."""
    c = copy.deepcopy(container)
    if not c.get("imagePullPolicy"):
        c["imagePullPolicy"] = image_pull_policy(c.get("image", ""))
    if not c.get("terminationMessagePath"):
        c["terminationMessagePath"] = "/dev/termination-log"
    if not c.get("terminationMessagePolicy"):
        c["terminationMessagePolicy"] = "File"
    resources = c.setdefault("resources", {})
    if resources.get("limits"):
        resources["requests"] = {**resources["limits"], **(resources.get("requests") or {})}
    for port in c.get("ports") or []:
        if not port.get("protocol"):
            port["protocol"] = "TCP"
        if spec.get("hostNetwork") and not port.get("hostPort"):
            port["hostPort"] = port.get("containerPort", 0)
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        if c.get(key) is not None:
            _default_probe(c[key])
    for handler in ((c.get("lifecycle") or {}).get(k) for k in ("postStart", "preStop")):
        if handler and handler.get("httpGet") is not None:
            _default_http_get(handler["httpGet"])
    return c


def _default_probe(probe: Obj) -> None:
    """SetDefaults_Probe and SetDefaults_HTTPGetAction."""
    for key, value in (
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ):
        if not probe.get(key):
            probe[key] = value
    if probe.get("httpGet") is not None:
        _default_http_get(probe["httpGet"])


def _default_http_get(action: Obj) -> None:
    if not action.get("path"):
        action["path"] = "/"
    if not action.get("scheme"):
        action["scheme"] = "HTTP"


def _default_volume(volume: Obj) -> Obj:
    """SetDefaults_Volume (no source means emptyDir) and the volume-source defaults."""
    v = copy.deepcopy(volume)
    if set(v) <= {"name"}:
        v["emptyDir"] = {}
    if v.get("hostPath") is not None:
        v["hostPath"].setdefault("type", "")
    for key in ("secret", "configMap", "downwardAPI", "projected"):
        if v.get(key) is not None and v[key].get("defaultMode") is None:
            v[key]["defaultMode"] = _DEFAULT_MODE
    for source in (v.get("projected") or {}).get("sources") or []:
        token = source.get("serviceAccountToken")
        if token is not None and token.get("expirationSeconds") is None:
            token["expirationSeconds"] = 3600
    for item in (v.get("downwardAPI") or {}).get("items") or []:
        if item.get("fieldRef") is not None:
            item["fieldRef"].setdefault("apiVersion", "v1")
    return v


def _admission(spec: Obj) -> None:
    """What the admission plugins add on create: Priority, DefaultTolerationSeconds, ServiceAccount."""
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = spec.get("serviceAccount") or "default"
    spec["serviceAccount"] = spec["serviceAccountName"]
    tolerations = spec.get("tolerations") or []
    for key in (_NOT_READY, _UNREACHABLE):
        covered = any(t.get("key", "") in ("", key) and t.get("effect", "") in ("", "NoExecute") for t in tolerations)
        if not covered:
            tolerations.append(
                {
                    "key": key,
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": TOLERATION_SECONDS,
                }
            )
    spec["tolerations"] = tolerations


def service_account_volume(pod: Obj) -> Obj:
    """The ServiceAccount admission plugin on create (mountServiceAccountToken): every (init) container without
    a mount at the token path gets one, of the pod's `kube-api-access-*` volume if it has one, else of a new
    projected volume that is then added; nothing when automounting is off."""
    pod = copy.deepcopy(pod)
    spec = pod["spec"]
    if spec.get("automountServiceAccountToken") is False:
        return pod
    existing = [v["name"] for v in spec.get("volumes") or [] if v.get("name", "").startswith("kube-api-access-")]
    name = existing[0] if existing else "kube-api-access-" + "".join(secrets.choice(_RAND_ALPHABET) for _ in range(5))
    needed = False
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        if not any(m.get("mountPath") == SERVICE_ACCOUNT_MOUNT for m in container.get("volumeMounts") or []):
            mount = {"name": name, "readOnly": True, "mountPath": SERVICE_ACCOUNT_MOUNT}
            container.setdefault("volumeMounts", []).append(mount)
            needed = True
    if needed and not existing:
        namespace_item = {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}, "path": "namespace"}
        sources = [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [namespace_item]}},
        ]
        spec.setdefault("volumes", []).append({"name": name, "projected": {"defaultMode": 420, "sources": sources}})
    return pod
