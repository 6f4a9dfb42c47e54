"""Field table for the protobuf bodies kubectl sends: message -> {field number: (JSON name, type, mode)}.

Field numbers are transcribed from the published Kubernetes protobuf definitions:
- core/v1: kubernetes/kubernetes `staging/src/k8s.io/api/core/v1/generated.proto` at commit 0032f46b5dcb
  (master after 1.35: has Container.restartPolicyRules, SecurityContext.ulimits, PodSpec.workloadRef), read
  through the code index; cross-checked against kubernetes/api core/v1 (older, same numbers where present).
- meta/v1: `staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto` (liggitt/kubernetes
  6e27d8188ad6): ObjectMeta, OwnerReference, ManagedFieldsEntry, FieldsV1, LabelSelector, DeleteOptions
  (+ field 6, ignoreStoreReadErrorWithClusterBreakingPotential, added in 1.32), Preconditions.
- runtime.Unknown/TypeMeta (`pkg/runtime/generated.proto`), resource.Quantity {string = 1}
  (`pkg/api/resource/generated.proto`), intstr.IntOrString {type = 1, intVal = 2, strVal = 3}
  (`pkg/util/intstr/generated.proto`), meta Time/MicroTime as Timestamp {seconds = 1, nanos = 2}.
The modes come from the Go JSON tags in core/v1 `types.go` (omitempty, pointers); they decide which zero
values the JSON form shows. tests/sim/unit/test_apiserver_protobuf_kubectl.py checks the table (names, numbers
and modes, with non-zero and with zero values) against real kubectl 1.37.1.

Types: "str", "bool", "i32", "i64", "bytes" (base64 in JSON), "qty" (resource.Quantity -> string), "ios"
(IntOrString -> int or string), "time" (metav1.Time -> RFC 3339), "mtime" (MicroTime), "fv1" (FieldsV1 -> the
JSON it holds), or the name of another message in MESSAGES.
Modes: OE value with omitempty (a zero value is left out), R value without omitempty (always shown, zero if
absent), P pointer (shown whenever present, even if zero), L repeated, M map<string, type>, IN inline (the
message's fields are merged into the parent, as Go's embedded structs with `json:",inline"`).
"""

from __future__ import annotations

OE, R, P, L, M, IN = "OE", "R", "P", "L", "M", "IN"

Field = tuple[str, str, str]

_CONTAINER: dict[int, Field] = {
    1: ("name", "str", R), 2: ("image", "str", OE), 3: ("command", "str", L), 4: ("args", "str", L),
    5: ("workingDir", "str", OE), 6: ("ports", "ContainerPort", L), 19: ("envFrom", "EnvFromSource", L),
    7: ("env", "EnvVar", L), 8: ("resources", "ResourceRequirements", R),
    23: ("resizePolicy", "ContainerResizePolicy", L), 24: ("restartPolicy", "str", P),
    25: ("restartPolicyRules", "ContainerRestartRule", L), 9: ("volumeMounts", "VolumeMount", L),
    21: ("volumeDevices", "VolumeDevice", L), 10: ("livenessProbe", "Probe", P),
    11: ("readinessProbe", "Probe", P), 22: ("startupProbe", "Probe", P), 12: ("lifecycle", "Lifecycle", P),
    13: ("terminationMessagePath", "str", OE), 20: ("terminationMessagePolicy", "str", OE),
    14: ("imagePullPolicy", "str", OE), 15: ("securityContext", "SecurityContext", P),
    16: ("stdin", "bool", OE), 17: ("stdinOnce", "bool", OE), 18: ("tty", "bool", OE),
}

_LOCAL_REF_KEY: dict[int, Field] = {
    1: ("localObjectReference", "LocalObjectReference", IN), 2: ("key", "str", R), 3: ("optional", "bool", P),
}
_LOCAL_REF_OPTIONAL: dict[int, Field] = {
    1: ("localObjectReference", "LocalObjectReference", IN), 2: ("optional", "bool", P),
}
_PROJECTION: dict[int, Field] = {
    1: ("localObjectReference", "LocalObjectReference", IN), 2: ("items", "KeyToPath", L),
    4: ("optional", "bool", P),
}
_AFFINITY_TERMS: dict[int, Field] = {
    1: ("requiredDuringSchedulingIgnoredDuringExecution", "PodAffinityTerm", L),
    2: ("preferredDuringSchedulingIgnoredDuringExecution", "WeightedPodAffinityTerm", L),
}
_PROFILE: dict[int, Field] = {1: ("type", "str", R), 2: ("localhostProfile", "str", P)}
_HANDLER = {1: ("exec", "ExecAction", P), 2: ("httpGet", "HTTPGetAction", P),
3: ("tcpSocket", "TCPSocketAction", P)}
_NAME_ONLY: dict[int, Field] = {1: ("name", "str", R)}
_IP_ONLY: dict[int, Field] = {1: ("ip", "str", R)}

MESSAGES: dict[str, dict[int, Field]] = {
    # --- objects
    "Pod": {1: ("metadata", "ObjectMeta", R), 2: ("spec", "PodSpec", R), 3: ("status", "PodStatus", R)},
    # authorization/v1 (`kubectl auth can-i`): staging/src/k8s.io/api/authorization/v1/generated.proto
    "SelfSubjectAccessReview": {
        1: ("metadata", "ObjectMeta", R), 2: ("spec", "SelfSubjectAccessReviewSpec", R),
        3: ("status", "SubjectAccessReviewStatus", R),
    },
    "SelfSubjectAccessReviewSpec": {
        1: ("resourceAttributes", "ResourceAttributes", P), 2: ("nonResourceAttributes", "NonResourceAttributes", P),
    },
    "ResourceAttributes": {
        1: ("namespace", "str", OE), 2: ("verb", "str", OE), 3: ("group", "str", OE), 4: ("version", "str", OE),
        5: ("resource", "str", OE), 6: ("subresource", "str", OE), 7: ("name", "str", OE),
    },
    "NonResourceAttributes": {1: ("path", "str", OE), 2: ("verb", "str", OE)},
    "SubjectAccessReviewStatus": {
        1: ("allowed", "bool", R), 4: ("denied", "bool", OE), 2: ("reason", "str", OE),
        3: ("evaluationError", "str", OE),
    },
    "Namespace": {
        1: ("metadata", "ObjectMeta", R), 2: ("spec", "NamespaceSpec", R),
        3: ("status", "NamespaceStatus", R),
    },
    "DeleteOptions": {
        1: ("gracePeriodSeconds", "i64", P), 2: ("preconditions", "Preconditions", P),
        3: ("orphanDependents", "bool", P), 4: ("propagationPolicy", "str", P), 5: ("dryRun", "str", L),
        6: ("ignoreStoreReadErrorWithClusterBreakingPotential", "bool", P),
    },
    "Preconditions": {1: ("uid", "str", P), 2: ("resourceVersion", "str", P)},
    # --- meta/v1
    "ObjectMeta": {
        1: ("name", "str", OE), 2: ("generateName", "str", OE), 3: ("namespace", "str", OE),
        4: ("selfLink", "str", OE), 5: ("uid", "str", OE), 6: ("resourceVersion", "str", OE),
        7: ("generation", "i64", OE), 8: ("creationTimestamp", "time", OE),
        9: ("deletionTimestamp", "time", P),
        10: ("deletionGracePeriodSeconds", "i64", P), 11: ("labels", "str", M), 12: ("annotations", "str", M),
        13: ("ownerReferences", "OwnerReference", L), 14: ("finalizers", "str", L),
        17: ("managedFields", "ManagedFieldsEntry", L),
    },
    "OwnerReference": {
        5: ("apiVersion", "str", R), 1: ("kind", "str", R), 3: ("name", "str", R), 4: ("uid", "str", R),
        6: ("controller", "bool", P), 7: ("blockOwnerDeletion", "bool", P),
    },
    "ManagedFieldsEntry": {
        1: ("manager", "str", OE), 2: ("operation", "str", OE), 3: ("apiVersion", "str", OE),
        4: ("time", "time", P),
        6: ("fieldsType", "str", OE), 7: ("fieldsV1", "fv1", P), 8: ("subresource", "str", OE),
    },
    "LabelSelector": {1: ("matchLabels", "str", M), 2: ("matchExpressions", "LabelSelectorRequirement", L)},
    "LabelSelectorRequirement": {1: ("key", "str", R), 2: ("operator", "str", R), 3: ("values", "str", L)},
    # --- namespace
    "NamespaceSpec": {1: ("finalizers", "str", L)},
    "NamespaceStatus": {1: ("phase", "str", OE), 2: ("conditions", "NamespaceCondition", L)},
    "NamespaceCondition": {
        1: ("type", "str", R), 2: ("status", "str", R), 4: ("lastTransitionTime", "time", OE),
        5: ("reason", "str", OE), 6: ("message", "str", OE),
    },
    # --- pod spec
    "PodSpec": {
        1: ("volumes", "Volume", L), 20: ("initContainers", "Container", L),
        2: ("containers", "Container", L),
        34: ("ephemeralContainers", "EphemeralContainer", L), 3: ("restartPolicy", "str", OE),
        4: ("terminationGracePeriodSeconds", "i64", P), 5: ("activeDeadlineSeconds", "i64", P),
        6: ("dnsPolicy", "str", OE), 7: ("nodeSelector", "str", M), 8: ("serviceAccountName", "str", OE),
        9: ("serviceAccount", "str", OE), 21: ("automountServiceAccountToken", "bool", P),
        10: ("nodeName", "str", OE), 11: ("hostNetwork", "bool", OE), 12: ("hostPID", "bool", OE),
        13: ("hostIPC", "bool", OE), 27: ("shareProcessNamespace", "bool", P),
        14: ("securityContext", "PodSecurityContext", P), 15: ("imagePullSecrets", "LocalObjectReference", L),
        16: ("hostname", "str", OE), 17: ("subdomain", "str", OE), 18: ("affinity", "Affinity", P),
        19: ("schedulerName", "str", OE), 22: ("tolerations", "Toleration", L),
        23: ("hostAliases", "HostAlias", L), 24: ("priorityClassName", "str", OE), 25: ("priority", "i32", P),
        26: ("dnsConfig", "PodDNSConfig", P), 28: ("readinessGates", "PodReadinessGate", L),
        29: ("runtimeClassName", "str", P), 30: ("enableServiceLinks", "bool", P),
        31: ("preemptionPolicy", "str", P), 32: ("overhead", "qty", M),
        33: ("topologySpreadConstraints", "TopologySpreadConstraint", L),
        35: ("setHostnameAsFQDN", "bool", P),
        36: ("os", "PodOS", P), 37: ("hostUsers", "bool", P), 38: ("schedulingGates", "PodSchedulingGate", L),
        39: ("resourceClaims", "PodResourceClaim", L), 40: ("resources", "ResourceRequirements", P),
        41: ("hostnameOverride", "str", P), 42: ("workloadRef", "WorkloadReference", P),
    },
    "Container": _CONTAINER,
    "EphemeralContainerCommon": _CONTAINER,
    "EphemeralContainer": {
        1: ("ephemeralContainerCommon", "EphemeralContainerCommon", IN),
        2: ("targetContainerName", "str", OE),
    },
    "ContainerPort": {
        1: ("name", "str", OE), 2: ("hostPort", "i32", OE), 3: ("containerPort", "i32", R),
        4: ("protocol", "str", OE), 5: ("hostIP", "str", OE),
    },
    "ContainerResizePolicy": {1: ("resourceName", "str", R), 2: ("restartPolicy", "str", R)},
    "ContainerRestartRule": {
        1: ("action", "str", OE), 2: ("exitCodes", "ContainerRestartRuleOnExitCodes", P),
    },
    "ContainerRestartRuleOnExitCodes": {1: ("operator", "str", OE), 2: ("values", "i32", L)},
    "EnvFromSource": {
        1: ("prefix", "str", OE), 2: ("configMapRef", "ConfigMapEnvSource", P),
        3: ("secretRef", "SecretEnvSource", P),
    },
    "ConfigMapEnvSource": _LOCAL_REF_OPTIONAL,
    "SecretEnvSource": _LOCAL_REF_OPTIONAL,
    "LocalObjectReference": {1: ("name", "str", OE)},
    "EnvVar": {1: ("name", "str", R), 2: ("value", "str", OE), 3: ("valueFrom", "EnvVarSource", P)},
    "EnvVarSource": {
        1: ("fieldRef", "ObjectFieldSelector", P), 2: ("resourceFieldRef", "ResourceFieldSelector", P),
        3: ("configMapKeyRef", "ConfigMapKeySelector", P), 4: ("secretKeyRef", "SecretKeySelector", P),
        5: ("fileKeyRef", "FileKeySelector", P),
    },
    "ObjectFieldSelector": {1: ("apiVersion", "str", OE), 2: ("fieldPath", "str", R)},
    "ResourceFieldSelector": {
        1: ("containerName", "str", OE), 2: ("resource", "str", R), 3: ("divisor", "qty", R),
    },
    "ConfigMapKeySelector": _LOCAL_REF_KEY,
    "SecretKeySelector": _LOCAL_REF_KEY,
    "FileKeySelector": {
        1: ("volumeName", "str", R), 2: ("path", "str", R), 3: ("key", "str", R), 4: ("optional", "bool", P),
    },
    "ResourceRequirements": {
        1: ("limits", "qty", M), 2: ("requests", "qty", M), 3: ("claims", "ResourceClaim", L),
    },
    "ResourceClaim": {1: ("name", "str", R), 2: ("request", "str", OE)},
    "VolumeMount": {
        1: ("name", "str", R), 2: ("readOnly", "bool", OE), 7: ("recursiveReadOnly", "str", P),
        3: ("mountPath", "str", R), 4: ("subPath", "str", OE), 5: ("mountPropagation", "str", P),
        6: ("subPathExpr", "str", OE),
    },
    "VolumeDevice": {1: ("name", "str", R), 2: ("devicePath", "str", R)},
    "Probe": {
        1: ("handler", "ProbeHandler", IN), 2: ("initialDelaySeconds", "i32", OE),
        3: ("timeoutSeconds", "i32", OE),
        4: ("periodSeconds", "i32", OE), 5: ("successThreshold", "i32", OE),
        6: ("failureThreshold", "i32", OE),
        7: ("terminationGracePeriodSeconds", "i64", P),
    },
    "ProbeHandler": {**_HANDLER, 4: ("grpc", "GRPCAction", P)},
    "LifecycleHandler": {**_HANDLER, 4: ("sleep", "SleepAction", P)},
    "ExecAction": {1: ("command", "str", L)},
    "HTTPGetAction": {
        1: ("path", "str", OE), 2: ("port", "ios", R), 3: ("host", "str", OE), 4: ("scheme", "str", OE),
        5: ("httpHeaders", "HTTPHeader", L),
    },
    "HTTPHeader": {1: ("name", "str", R), 2: ("value", "str", R)},
    "TCPSocketAction": {1: ("port", "ios", R), 2: ("host", "str", OE)},
    "GRPCAction": {1: ("port", "i32", R), 2: ("service", "str", P)},
    "SleepAction": {1: ("seconds", "i64", R)},
    "Lifecycle": {
        1: ("postStart", "LifecycleHandler", P), 2: ("preStop", "LifecycleHandler", P),
        3: ("stopSignal", "str", P),
    },
    "SecurityContext": {
        1: ("capabilities", "Capabilities", P), 2: ("privileged", "bool", P),
        3: ("seLinuxOptions", "SELinuxOptions", P),
        10: ("windowsOptions", "WindowsSecurityContextOptions", P),
        4: ("runAsUser", "i64", P), 8: ("runAsGroup", "i64", P), 5: ("runAsNonRoot", "bool", P),
        6: ("readOnlyRootFilesystem", "bool", P), 7: ("allowPrivilegeEscalation", "bool", P),
        9: ("procMount", "str", P), 11: ("seccompProfile", "SeccompProfile", P),
        12: ("appArmorProfile", "AppArmorProfile", P), 13: ("ulimits", "Ulimit", L),
    },
    "Ulimit": {1: ("name", "str", R), 2: ("hard", "i64", R), 3: ("soft", "i64", R)},
    "Capabilities": {1: ("add", "str", L), 2: ("drop", "str", L)},
    "SELinuxOptions": {
        1: ("user", "str", OE), 2: ("role", "str", OE), 3: ("type", "str", OE), 4: ("level", "str", OE),
    },
    "WindowsSecurityContextOptions": {
        1: ("gmsaCredentialSpecName", "str", P), 2: ("gmsaCredentialSpec", "str", P),
        3: ("runAsUserName", "str", P), 4: ("hostProcess", "bool", P),
    },
    "SeccompProfile": _PROFILE,
    "AppArmorProfile": _PROFILE,
    "PodSecurityContext": {
        1: ("seLinuxOptions", "SELinuxOptions", P), 8: ("windowsOptions", "WindowsSecurityContextOptions", P),
        2: ("runAsUser", "i64", P), 6: ("runAsGroup", "i64", P), 3: ("runAsNonRoot", "bool", P),
        4: ("supplementalGroups", "i64", L), 12: ("supplementalGroupsPolicy", "str", P),
        5: ("fsGroup", "i64", P), 7: ("sysctls", "Sysctl", L), 9: ("fsGroupChangePolicy", "str", P),
        10: ("seccompProfile", "SeccompProfile", P), 11: ("appArmorProfile", "AppArmorProfile", P),
        13: ("seLinuxChangePolicy", "str", P),
    },
    "Sysctl": {1: ("name", "str", R), 2: ("value", "str", R)},
    "Toleration": {
        1: ("key", "str", OE), 2: ("operator", "str", OE), 3: ("value", "str", OE), 4: ("effect", "str", OE),
        5: ("tolerationSeconds", "i64", P),
    },
    "HostAlias": {1: ("ip", "str", R), 2: ("hostnames", "str", L)},
    "PodDNSConfig": {
        1: ("nameservers", "str", L), 2: ("searches", "str", L), 3: ("options", "PodDNSConfigOption", L),
    },
    "PodDNSConfigOption": {1: ("name", "str", OE), 2: ("value", "str", P)},
    "PodReadinessGate": {1: ("conditionType", "str", R)},
    "PodOS": _NAME_ONLY,
    "PodSchedulingGate": _NAME_ONLY,
    "PodResourceClaim": {
        1: ("name", "str", R), 3: ("resourceClaimName", "str", P), 4: ("resourceClaimTemplateName", "str", P),
    },
    "WorkloadReference": {
        1: ("name", "str", R), 2: ("podGroup", "str", R), 3: ("podGroupReplicaKey", "str", OE),
    },
    "TopologySpreadConstraint": {
        1: ("maxSkew", "i32", R), 2: ("topologyKey", "str", R), 3: ("whenUnsatisfiable", "str", R),
        4: ("labelSelector", "LabelSelector", P), 5: ("minDomains", "i32", P),
        6: ("nodeAffinityPolicy", "str", P), 7: ("nodeTaintsPolicy", "str", P),
        8: ("matchLabelKeys", "str", L),
    },
    # --- affinity
    "Affinity": {
        1: ("nodeAffinity", "NodeAffinity", P), 2: ("podAffinity", "PodAffinity", P),
        3: ("podAntiAffinity", "PodAntiAffinity", P),
    },
    "NodeAffinity": {
        1: ("requiredDuringSchedulingIgnoredDuringExecution", "NodeSelector", P),
        2: ("preferredDuringSchedulingIgnoredDuringExecution", "PreferredSchedulingTerm", L),
    },
    "NodeSelector": {1: ("nodeSelectorTerms", "NodeSelectorTerm", L)},
    "NodeSelectorTerm": {
        1: ("matchExpressions", "NodeSelectorRequirement", L),
        2: ("matchFields", "NodeSelectorRequirement", L),
    },
    "NodeSelectorRequirement": {1: ("key", "str", R), 2: ("operator", "str", R), 3: ("values", "str", L)},
    "PreferredSchedulingTerm": {1: ("weight", "i32", R), 2: ("preference", "NodeSelectorTerm", R)},
    "PodAffinity": _AFFINITY_TERMS,
    "PodAntiAffinity": _AFFINITY_TERMS,
    "PodAffinityTerm": {
        1: ("labelSelector", "LabelSelector", P), 2: ("namespaces", "str", L), 3: ("topologyKey", "str", R),
        4: ("namespaceSelector", "LabelSelector", P), 5: ("matchLabelKeys", "str", L),
        6: ("mismatchLabelKeys", "str", L),
    },
    "WeightedPodAffinityTerm": {1: ("weight", "i32", R), 2: ("podAffinityTerm", "PodAffinityTerm", R)},
    # --- volumes (VolumeSource lists only the common sources; others fail loudly)
    "Volume": {1: ("name", "str", R), 2: ("volumeSource", "VolumeSource", IN)},
    "VolumeSource": {
        1: ("hostPath", "HostPathVolumeSource", P), 2: ("emptyDir", "EmptyDirVolumeSource", P),
        6: ("secret", "SecretVolumeSource", P), 7: ("nfs", "NFSVolumeSource", P),
        10: ("persistentVolumeClaim", "PersistentVolumeClaimVolumeSource", P),
        16: ("downwardAPI", "DownwardAPIVolumeSource", P), 19: ("configMap", "ConfigMapVolumeSource", P),
        26: ("projected", "ProjectedVolumeSource", P), 28: ("csi", "CSIVolumeSource", P),
        30: ("image", "ImageVolumeSource", P),
    },
    "HostPathVolumeSource": {1: ("path", "str", R), 2: ("type", "str", P)},
    "EmptyDirVolumeSource": {1: ("medium", "str", OE), 2: ("sizeLimit", "qty", P)},
    "SecretVolumeSource": {
        1: ("secretName", "str", OE), 2: ("items", "KeyToPath", L), 3: ("defaultMode", "i32", P),
        4: ("optional", "bool", P),
    },
    "ConfigMapVolumeSource": {**_PROJECTION, 3: ("defaultMode", "i32", P)},
    "KeyToPath": {1: ("key", "str", R), 2: ("path", "str", R), 3: ("mode", "i32", P)},
    "NFSVolumeSource": {1: ("server", "str", R), 2: ("path", "str", R), 3: ("readOnly", "bool", OE)},
    "PersistentVolumeClaimVolumeSource": {1: ("claimName", "str", R), 2: ("readOnly", "bool", OE)},
    "DownwardAPIVolumeSource": {1: ("items", "DownwardAPIVolumeFile", L), 2: ("defaultMode", "i32", P)},
    "DownwardAPIVolumeFile": {
        1: ("path", "str", R), 2: ("fieldRef", "ObjectFieldSelector", P),
        3: ("resourceFieldRef", "ResourceFieldSelector", P), 4: ("mode", "i32", P),
    },
    "ProjectedVolumeSource": {1: ("sources", "VolumeProjection", L), 2: ("defaultMode", "i32", P)},
    "VolumeProjection": {
        1: ("secret", "SecretProjection", P), 2: ("downwardAPI", "DownwardAPIProjection", P),
        3: ("configMap", "ConfigMapProjection", P),
        4: ("serviceAccountToken", "ServiceAccountTokenProjection", P),
        5: ("clusterTrustBundle", "ClusterTrustBundleProjection", P),
    },
    "SecretProjection": _PROJECTION,
    "ConfigMapProjection": _PROJECTION,
    "DownwardAPIProjection": {1: ("items", "DownwardAPIVolumeFile", L)},
    "ServiceAccountTokenProjection": {
        1: ("audience", "str", OE), 2: ("expirationSeconds", "i64", P), 3: ("path", "str", R),
    },
    "ClusterTrustBundleProjection": {
        1: ("name", "str", P), 2: ("signerName", "str", P), 3: ("labelSelector", "LabelSelector", P),
        5: ("optional", "bool", P), 4: ("path", "str", R),
    },
    "CSIVolumeSource": {
        1: ("driver", "str", R), 2: ("readOnly", "bool", P), 3: ("fsType", "str", P),
        4: ("volumeAttributes", "str", M), 5: ("nodePublishSecretRef", "LocalObjectReference", P),
    },
    "ImageVolumeSource": {1: ("reference", "str", OE), 2: ("pullPolicy", "str", OE)},
    # --- pod status (kubectl never sends one, but a PUT of a read object may)
    "PodStatus": {
        17: ("observedGeneration", "i64", OE), 1: ("phase", "str", OE), 2: ("conditions", "PodCondition", L),
        3: ("message", "str", OE), 4: ("reason", "str", OE), 11: ("nominatedNodeName", "str", OE),
        5: ("hostIP", "str", OE), 16: ("hostIPs", "HostIP", L), 6: ("podIP", "str", OE),
        12: ("podIPs", "PodIP", L),
        7: ("startTime", "time", P), 10: ("initContainerStatuses", "ContainerStatus", L),
        8: ("containerStatuses", "ContainerStatus", L), 9: ("qosClass", "str", OE),
        13: ("ephemeralContainerStatuses", "ContainerStatus", L), 14: ("resize", "str", OE),
        19: ("allocatedResources", "qty", M), 20: ("resources", "ResourceRequirements", P),
    },
    "PodCondition": {
        1: ("type", "str", R), 7: ("observedGeneration", "i64", OE), 2: ("status", "str", R),
        3: ("lastProbeTime", "time", R), 4: ("lastTransitionTime", "time", R), 5: ("reason", "str", OE),
        6: ("message", "str", OE),
    },
    "HostIP": _IP_ONLY,
    "PodIP": _IP_ONLY,
    "ContainerStatus": {
        1: ("name", "str", R), 2: ("state", "ContainerState", R), 3: ("lastState", "ContainerState", R),
        4: ("ready", "bool", R), 5: ("restartCount", "i32", R), 6: ("image", "str", R),
        7: ("imageID", "str", R),
        8: ("containerID", "str", OE), 9: ("started", "bool", P), 10: ("allocatedResources", "qty", M),
        11: ("resources", "ResourceRequirements", P), 12: ("volumeMounts", "VolumeMountStatus", L),
        13: ("user", "ContainerUser", P), 15: ("stopSignal", "str", P),
    },
    "ContainerState": {
        1: ("waiting", "ContainerStateWaiting", P), 2: ("running", "ContainerStateRunning", P),
        3: ("terminated", "ContainerStateTerminated", P),
    },
    "ContainerStateWaiting": {1: ("reason", "str", OE), 2: ("message", "str", OE)},
    "ContainerStateRunning": {1: ("startedAt", "time", R)},
    "ContainerStateTerminated": {
        1: ("exitCode", "i32", R), 2: ("signal", "i32", OE), 3: ("reason", "str", OE),
        4: ("message", "str", OE),
        5: ("startedAt", "time", R), 6: ("finishedAt", "time", R), 7: ("containerID", "str", OE),
    },
    "VolumeMountStatus": {
        1: ("name", "str", R), 2: ("mountPath", "str", R), 3: ("readOnly", "bool", OE),
        4: ("recursiveReadOnly", "str", P),
    },
    "ContainerUser": {1: ("linux", "LinuxContainerUser", P)},
    "LinuxContainerUser": {1: ("uid", "i64", R), 2: ("gid", "i64", R), 3: ("supplementalGroups", "i64", L)},
}

# Fields newer than kubectl 1.37.1's Go types (it drops them from JSON), so not verified against it.
NEWER_THAN_KUBECTL: set[tuple[str, int]] = {("SecurityContext", 13), ("PodSpec", 42)}

# (apiVersion, kind) of a runtime.Unknown envelope -> the message its `raw` holds.
KINDS: dict[tuple[str, str], str] = {
    ("v1", "Pod"): "Pod",
    ("v1", "Namespace"): "Namespace",
    ("v1", "DeleteOptions"): "DeleteOptions",
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): "SelfSubjectAccessReview",
    ("meta.k8s.io/v1", "DeleteOptions"): "DeleteOptions",
}
