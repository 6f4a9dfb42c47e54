"""Pod Security admission: the namespace's `pod-security.kubernetes.io/*` labels decide which level a pod is
held to (enforce: refuse; warn: `Warning` headers; audit: nothing a client sees), on pod create and on the
`ephemeralcontainers` subresource, with upstream's messages (k8s.io/pod-security-admission/policy).

The checks are upstream's, in its order (baseline checks, then the restricted ones at level restricted) and
with its texts: host namespaces, privileged, capabilities (baseline's allowed set; restricted's drop ALL),
hostPath volumes, host ports, allowPrivilegeEscalation, restricted volume types, runAsNonRoot, runAsUser=0,
seccompProfile. Not checked: AppArmor, SELinux options, /proc mount, sysctls, Windows host process, probe and
lifecycle hosts. Every version label (`v1.30`, `latest`) applies the same, newest checks; no exemptions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kdbgtest.base.k8s import Obj
from kdbgtest.sim.apiserver import status

PREFIX = "pod-security.kubernetes.io/"
LEVELS = ("privileged", "baseline", "restricted")
MODES = ("enforce", "warn", "audit")
BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
RESTRICTED_VOLUMES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
        "image",
    }
)

Result = tuple[str, str] | None  # (forbidden reason, detail), or None when allowed
Check = Callable[[Obj], Result]


@dataclass(frozen=True)
class Policy:
    """One mode's level and version, e.g. baseline:latest."""

    level: str
    version: str

    def __str__(self) -> str:
        return f"{self.level}:{self.version}"


def policies(namespace: Obj) -> dict[str, Policy]:
    """The mode -> policy the namespace's labels set (privileged modes left out: they allow everything)."""
    labels = (namespace.get("metadata") or {}).get("labels") or {}
    found: dict[str, Policy] = {}
    for mode in MODES:
        level = labels.get(PREFIX + mode)
        if level in ("baseline", "restricted"):
            found[mode] = Policy(level, labels.get(f"{PREFIX}{mode}-version") or "latest")
    return found


def _quote(items: list[str]) -> str:
    return ", ".join(f'"{i}"' for i in items)


def _plural(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def _containers(spec: Obj) -> Iterator[Obj]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []


def _sc(container: Obj) -> Obj:
    return container.get("securityContext") or {}


def _host_namespaces(spec: Obj) -> Result:
    used = [f"{key}=true" for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key)]
    return ("host namespaces", ", ".join(used)) if used else None


def _privileged(spec: Obj) -> Result:
    bad = [c["name"] for c in _containers(spec) if _sc(c).get("privileged")]
    if not bad:
        return None
    return (
        "privileged",
        f"{_plural('container', 'containers', len(bad))} {_quote(bad)} must not set securityContext.privileged=true",
    )


def _capabilities_baseline(spec: Obj) -> Result:
    bad: list[str] = []
    caps: set[str] = set()
    for c in _containers(spec):
        extra = [cap for cap in (_sc(c).get("capabilities") or {}).get("add") or [] if cap not in BASELINE_CAPABILITIES]
        if extra:
            bad.append(c["name"])
            caps.update(extra)
    if not bad:
        return None
    return (
        "non-default capabilities",
        f"{_plural('container', 'containers', len(bad))} {_quote(bad)} must not "
        f"include {_quote(sorted(caps))} in securityContext.capabilities.add",
    )


def _host_path(spec: Obj) -> Result:
    bad = [v["name"] for v in spec.get("volumes") or [] if "hostPath" in v]
    return ("hostPath volumes", f"{_plural('volume', 'volumes', len(bad))} {_quote(bad)}") if bad else None


def _host_ports(spec: Obj) -> Result:
    bad: list[str] = []
    ports: list[str] = []
    for c in _containers(spec):
        used = [str(p["hostPort"]) for p in c.get("ports") or [] if p.get("hostPort")]
        if used:
            bad.append(c["name"])
            ports += used
    if not bad:
        return None
    return (
        "hostPort",
        f"{_plural('container', 'containers', len(bad))} {_quote(bad)} "
        f"{_plural('uses', 'use', len(bad))} {_plural('hostPort', 'hostPorts', len(ports))} {', '.join(ports)}",
    )


def _seccomp_baseline(spec: Obj) -> Result:
    setters: list[str] = []
    if ((spec.get("securityContext") or {}).get("seccompProfile") or {}).get("type") == "Unconfined":
        setters.append("pod")
    bad = [c["name"] for c in _containers(spec) if (_sc(c).get("seccompProfile") or {}).get("type") == "Unconfined"]
    if bad:
        setters.append(f"{_plural('container', 'containers', len(bad))} {_quote(bad)}")
    if not setters:
        return None
    return "seccompProfile", f'{" and ".join(setters)} must not set securityContext.seccompProfile.type to "Unconfined"'


def _allow_privilege_escalation(spec: Obj) -> Result:
    bad = [c["name"] for c in _containers(spec) if _sc(c).get("allowPrivilegeEscalation") is not False]
    if not bad:
        return None
    return (
        "allowPrivilegeEscalation != false",
        f"{_plural('container', 'containers', len(bad))} {_quote(bad)} "
        "must set securityContext.allowPrivilegeEscalation=false",
    )


def _capabilities_restricted(spec: Obj) -> Result:
    missing: list[str] = []
    adding: list[str] = []
    caps: set[str] = set()
    for c in _containers(spec):
        capabilities = _sc(c).get("capabilities")
        if capabilities is None:
            missing.append(c["name"])
            continue
        if "ALL" not in (capabilities.get("drop") or []):
            missing.append(c["name"])
        extra = [cap for cap in capabilities.get("add") or [] if cap != "NET_BIND_SERVICE"]
        if extra:
            adding.append(c["name"])
            caps.update(extra)
    details = []
    if missing:
        details.append(
            f"{_plural('container', 'containers', len(missing))} {_quote(missing)} must set "
            'securityContext.capabilities.drop=["ALL"]'
        )
    if adding:
        details.append(
            f"{_plural('container', 'containers', len(adding))} {_quote(adding)} must not include "
            f"{_quote(sorted(caps))} in securityContext.capabilities.add"
        )
    return ("unrestricted capabilities", "; ".join(details)) if details else None


def _restricted_volumes(spec: Obj) -> Result:
    bad: list[str] = []
    kinds: set[str] = set()
    for volume in spec.get("volumes") or []:
        kind = next((k for k in volume if k != "name"), "")
        if kind and kind not in RESTRICTED_VOLUMES:
            bad.append(volume["name"])
            kinds.add(kind)
    if not bad:
        return None
    many = len(bad) != 1
    return (
        "restricted volume types",
        f"{_plural('volume', 'volumes', len(bad))} {_quote(bad)} "
        f"{'use' if many else 'uses'} {_plural('restricted volume type', 'restricted volume types', len(kinds))} "
        f"{_quote(sorted(kinds))}",
    )


def _explicit_and_implicit(spec: Obj, key: str, good: Callable[[object], bool]) -> tuple[list[str], list[str], bool]:
    """(explicitly bad setters: "pod", `containers "a"`; implicitly bad containers; pod level set well)."""
    setters: list[str] = []
    pod_value = (spec.get("securityContext") or {}).get(key)
    pod_good = pod_value is not None and good(pod_value)
    if pod_value is not None and not pod_good:
        setters.append("pod")
    explicit: list[str] = []
    implicit: list[str] = []
    for c in _containers(spec):
        value = _sc(c).get(key)
        if value is not None and not good(value):
            explicit.append(c["name"])
        elif value is None and not pod_good:
            implicit.append(c["name"])
    if explicit:
        setters.append(f"{_plural('container', 'containers', len(explicit))} {_quote(explicit)}")
    return setters, implicit, pod_good


def _run_as_non_root(spec: Obj) -> Result:
    setters, implicit, _ = _explicit_and_implicit(spec, "runAsNonRoot", lambda v: v is True)
    if setters:
        return "runAsNonRoot != true", f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false"
    if implicit:
        return (
            "runAsNonRoot != true",
            f"pod or {_plural('container', 'containers', len(implicit))} "
            f"{_quote(implicit)} must set securityContext.runAsNonRoot=true",
        )
    return None


def _run_as_user(spec: Obj) -> Result:
    setters: list[str] = []
    if (spec.get("securityContext") or {}).get("runAsUser") == 0:
        setters.append("pod")
    bad = [c["name"] for c in _containers(spec) if _sc(c).get("runAsUser") == 0]
    if bad:
        setters.append(f"{_plural('container', 'containers', len(bad))} {_quote(bad)}")
    return ("runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0") if setters else None


def _seccomp_restricted(spec: Obj) -> Result:
    def valid(profile: object) -> bool:
        return isinstance(profile, dict) and profile.get("type") in ("RuntimeDefault", "Localhost")

    setters, implicit, _ = _explicit_and_implicit(spec, "seccompProfile", valid)
    if setters:
        values: set[str] = set()
        pod = (spec.get("securityContext") or {}).get("seccompProfile")
        for profile in [pod, *(_sc(c).get("seccompProfile") for c in _containers(spec))]:
            if profile is not None and not valid(profile):
                values.add(str(profile.get("type", "")))
        return (
            "seccompProfile",
            f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to {_quote(sorted(values))}",
        )
    if implicit:
        return (
            "seccompProfile",
            f"pod or {_plural('container', 'containers', len(implicit))} {_quote(implicit)} "
            'must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"',
        )
    return None


# Upstream's registration order (file order), split as its registry evaluates them.
BASELINE: tuple[Check, ...] = (_host_namespaces, _host_ports, _privileged, _seccomp_baseline)
BASELINE_ONLY: tuple[Check, ...] = (_capabilities_baseline, _host_path)  # "Overlap": restricted has stricter ones
RESTRICTED: tuple[Check, ...] = (
    _allow_privilege_escalation,
    _capabilities_restricted,
    _restricted_volumes,
    _run_as_non_root,
    _run_as_user,
    _seccomp_restricted,
)


def evaluate(level: str, spec: Obj) -> str:
    """The forbidden reasons with details (`host namespaces (hostNetwork=true), ...`), or "" if allowed."""
    if level == "privileged":
        return ""
    checks = BASELINE + (BASELINE_ONLY if level == "baseline" else RESTRICTED)
    found = [result for result in (check(spec) for check in checks) if result is not None]
    return ", ".join(f"{reason} ({detail})" if detail else reason for reason, detail in found)


def admit(namespace: Obj | None, pod: Obj) -> list[str]:
    """Admit `pod` (being created, or given new ephemeral containers) into `namespace`: ApiError 403 if the
    enforce level refuses it, else the warnings the warn level has (for `Warning` headers)."""
    if namespace is None:
        return []
    modes = policies(namespace)
    spec = pod.get("spec") or {}
    name = (pod.get("metadata") or {}).get("name") or ""
    enforce = modes.get("enforce")
    if enforce is not None:
        why = evaluate(enforce.level, spec)
        if why:
            raise status.forbidden("pods", name, f'violates PodSecurity "{enforce}": {why}')
    warn = modes.get("warn")
    if warn is not None:
        why = evaluate(warn.level, spec)
        if why:
            return [f'would violate PodSecurity "{warn}": {why}']
    return []
